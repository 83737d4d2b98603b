// A built-in eval set, so the Evaluate view works before any dataset is imported: held-out questions
// of the Train view's sample tasks (sample-examples.ts), asked in the same "question\nAnswer:" form
// those examples train on, so a run trained on the samples is tested on unseen instances of its own
// tasks. Two clusters (classification, generation) make the per-cluster chart meaningful.
import type { EvalItem } from '../../state/eval.svelte';

const ask = (id: string, question: string, answer: string, task: string, cluster: string): EvalItem => ({
  id,
  instruction: question,
  prompt: `${question}\nAnswer:`,
  references: [answer],
  task,
  cluster,
});

export const SAMPLE_EVAL_ITEMS: readonly EvalItem[] = [
  ask('parity-6', 'Is 6 even or odd?', 'even', 'parity', 'classification'),
  ask('parity-11', 'Is 11 even or odd?', 'odd', 'parity', 'classification'),
  ask('facts-sun', 'Is the sun cold? Answer yes or no.', 'no', 'facts', 'classification'),
  ask('facts-dogs', 'Can dogs run? Answer yes or no.', 'yes', 'facts', 'classification'),
  ask('sentiment-gift', 'Is this positive or negative? What a lovely gift.', 'positive', 'sentiment', 'classification'),
  ask('sentiment-noise', 'Is this positive or negative? The noise was terrible.', 'negative', 'sentiment', 'classification'),
  ask('repeat-fish', 'Repeat the word: fish', 'fish', 'repeat', 'generation'),
  ask('repeat-lamp', 'Repeat the word: lamp', 'lamp', 'repeat', 'generation'),
  ask('opposite-early', 'What is the opposite of early?', 'late', 'opposite', 'generation'),
  ask('opposite-full', 'What is the opposite of full?', 'empty', 'opposite', 'generation'),
];
