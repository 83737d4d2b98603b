// A scripted Self-Instruct run for the tests: ten seed tasks, a stub generator that answers each
// prompt kind with crafted text (one candidate per filter), and the decisions that text must get.
import type { GenerateFn, Generated, PromptSettings } from '../../src/core/data/self-instruct/pipeline';
import type { SeedTask } from '../../src/core/data/self-instruct/seed-tasks';

export const SEEDS: SeedTask[] = [
  'Classify the sentiment of the review as positive, negative or mixed.',
  'Give three tips for keeping a houseplant alive while you travel.',
  'Rewrite the sentence in the passive voice.',
  'Tell me whether the number is prime or not prime.',
  'Summarize the paragraph in one sentence.',
  'Write a haiku about the first morning of spring.',
  'Extract every person named in the paragraph.',
  'Sort the words in alphabetical order.',
  'Suggest a name for a bakery that sells gluten-free bread.',
  'Explain the difference between weather and climate to a child.',
].map((instruction) => ({ instruction, instances: [] }));

export const LIMERICK = 'Write a limerick about a cat who learns to swim.';
export const COUPLET = 'Compose a rhyming couplet about autumn leaves falling slowly.';
export const MAMMAL = 'Tell me whether the animal in the sentence is a mammal or a bird.';
export const RAIN = 'Explain the difference between rain and snow for a teenager.';
export const TRANSLATE = 'Translate the phrase into Spanish and Italian: good morning, friends.';
export const TOO_LONG = `Write ${'long '.repeat(149)}story.`; // 151 words

/** The bootstrap generations, in request order. */
export const BOOTSTRAP_TEXTS: Generated[] = [
  [
    ` ${LIMERICK}`,
    '10. Hi there.',
    '11. Describe the image in one sentence.',
    '12. Write a program that prints the first ten prime numbers.',
    '13. - Name three rivers in Europe.',
    '14. Élaborez un plan de voyage pour Paris.',
    '15. Classify the sentiment of the review as positive, negative or mixed.',
  ].join('\n'),
  {
    text: [
      ' Classify the sentiment of each review as positive, negative or mixed.',
      '10. write a limerick about a cat who learns to swim.',
      `11. ${COUPLET}`,
      '12. Explain the difference between rain and snow to a teenager.',
      `13. ${MAMMAL}`,
      `14. ${TOO_LONG}`,
      '15. Explain why the sky looks blue during the day but red at',
    ].join('\n'),
    truncated: true,
  },
  // The run stops at numInstructions = 5: the instruction after RAIN... is never a candidate.
  [` ${RAIN}`, `10. ${TRANSLATE}`, '11. Suggest a healthy snack for children after school.'].join('\n'),
];

const CLASSIFIER_ANSWERS: Record<string, string> = {
  [LIMERICK]: ' No',
  [COUPLET]: ' no',
  [MAMMAL]: ' Yes',
  [RAIN]: ' No',
  [TRANSLATE]: ' Maybe',
};

const INSTANCE_TEXTS: Record<string, Generated> = {
  [LIMERICK]: [
    'Example 1',
    'Output: There once was a cat from Peru who swam the whole lake through.',
    'Example 2',
    'Topic: cat',
    'Output:',
    'Example 3',
    'Input: A cat',
    'Output: A cat',
    'Example 4',
    'Name: Tom',
    'Output: Tom the cat took a dip in the pool:',
    'Example 5',
    'Output: There once was a cat from Peru who swam the whole lake through.',
  ].join('\n'),
  [COUPLET]: ['Example 1', 'Season: autumn', 'Output: Leaves drift down in red and gold.', 'Example 2', 'Season: autumn', 'Output: Golden leaves fall, the year grows old.'].join('\n'),
  [MAMMAL]: {
    text: [
      'Class label: Mammal',
      'Sentence: The whale sang to its calf.',
      'Class label: Bird',
      'Sentence: The robin built a nest.',
      'Class label: Bird',
      'Sentence: The robin built a nest.',
      'Class label: Mammal',
      'Sentence: The bat hung from the ceiling.',
      'Class label: Bird',
      'Sentence: The owl hooted all night.',
      'Class label: Mammal',
      'Sentence: The dog barked at the postman.',
      'Class label: Bird',
      'Sentence: The penguin dived into the sea.',
      'Class label: Mammal',
      'Sentence: The cow',
    ].join('\n'),
    truncated: true,
  },
  [RAIN]: 'Output: Rain is liquid water; snow is frozen water that falls as flakes.',
  [TRANSLATE]: 'Sure, here you go.',
};

export interface StubCall {
  kind: 'bootstrap' | 'classify' | 'instances';
  prompt: string;
  settings: PromptSettings;
}

/** The last "Task: …" line of a prompt: the instruction it asks about. */
function askedInstruction(prompt: string): string {
  const tasks = [...prompt.matchAll(/^Task: (.*)$/gm)];
  return tasks[tasks.length - 1][1];
}

/** A generator that answers from the scripts above and records every call. */
export function stubGenerator(onCall?: (call: StubCall) => void): { generate: GenerateFn; calls: StubCall[] } {
  const calls: StubCall[] = [];
  let bootstraps = 0;
  const generate: GenerateFn = async (prompt, settings) => {
    const kind = prompt.startsWith('Come up with a series of tasks:')
      ? 'bootstrap'
      : prompt.startsWith('Can the following task be regarded')
        ? 'classify'
        : 'instances';
    const call = { kind, prompt, settings } as const;
    calls.push(call);
    onCall?.(call);
    if (kind === 'bootstrap') return BOOTSTRAP_TEXTS[bootstraps++] ?? '';
    const instruction = askedInstruction(prompt);
    const script = kind === 'classify' ? CLASSIFIER_ANSWERS : INSTANCE_TEXTS;
    if (!(instruction in script)) throw new Error(`stub: no ${kind} script for “${instruction}”`);
    return script[instruction];
  };
  return { generate, calls };
}
