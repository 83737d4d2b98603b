// Augmentation: exact inverted and paraphrased records, what is inherited and what is skipped.
import { describe, expect, it } from 'vitest';
import {
  INVERTED_INSTRUCTION,
  INVERTED_WITH_INPUT_INSTRUCTION,
  invertRecord,
  invertRecords,
  paraphraseRecord,
  paraphraseRecords,
  type AugmentableRecord,
} from '../../src/core/data/augment';
import { Rng } from '../../src/core/rng';

const capital: AugmentableRecord = {
  instruction: 'What is the capital of France?',
  output: 'Paris',
  task: 'open_qa',
  cluster: 'qa',
  split: 'train',
  source: 'dolly',
  tags: ['geo'],
};
const passage: AugmentableRecord = {
  instruction: 'When was the bridge opened?',
  context: 'The bridge opened in 1932 after six years of work.',
  output: '1932',
  task: 'closed_qa',
  split: 'test',
};
const OPEN_QA_STANDARD = ['open_qa/1', 'open_qa/2', 'open_qa/3', 'open_qa/4', 'open_qa/5', 'open_qa/6'];

describe('invertRecord', () => {
  it('turns answer → question around, keeping cluster, split, source and tags', () => {
    expect(invertRecord(capital)).toEqual({
      instruction: 'Write an instruction or question to which the text below is a good response.',
      context: 'Paris',
      output: 'What is the capital of France?',
      task: 'open_qa:inverted',
      cluster: 'qa',
      split: 'train',
      source: 'dolly',
      tags: ['geo', 'inverted'],
    });
    expect(capital.tags).toEqual(['geo']);
    expect(INVERTED_INSTRUCTION).toBe('Write an instruction or question to which the text below is a good response.');
  });

  it('with an input, asks for the input given the task and the answer', () => {
    expect(invertRecord(passage)).toEqual({
      instruction: INVERTED_WITH_INPUT_INSTRUCTION,
      context: 'Task: When was the bridge opened?\n\nAnswer: 1932',
      output: 'The bridge opened in 1932 after six years of work.',
      task: 'closed_qa:inverted',
      split: 'test',
      tags: ['inverted'],
    });
    expect(invertRecord({ instruction: 'Say hi', output: 'hi' })).toEqual({
      instruction: INVERTED_INSTRUCTION,
      context: 'hi',
      output: 'Say hi',
      task: 'inverted',
      tags: ['inverted'],
    });
  });

  it('skips conversations, missing or empty outputs and plain text', () => {
    const records: AugmentableRecord[] = [
      capital,
      { instruction: '', conversation: [{ role: 'user', content: 'hi' }] },
      { instruction: 'No answer yet' },
      { instruction: 'Blank answer', output: '  ' },
      { instruction: '', output: 'Plain pretraining text.' },
      passage,
    ];
    const result = invertRecords(records);
    expect(result.skipped).toEqual([1, 2, 3, 4]);
    expect(result.records.map((r) => r.output)).toEqual(['What is the capital of France?', 'The bridge opened in 1932 after six years of work.']);
  });
});

describe('paraphrase', () => {
  it('re-renders through another template of the task, the prompt becoming the instruction', () => {
    const exclude = OPEN_QA_STANDARD.filter((id) => id !== 'open_qa/2');
    expect(paraphraseRecord(capital, new Rng(1), { exclude })).toEqual({
      instruction: 'Question: What is the capital of France?\n\nAnswer:',
      output: 'Paris',
      task: 'open_qa',
      cluster: 'qa',
      split: 'train',
      source: 'dolly',
      tags: ['geo', 'paraphrase:open_qa/2'],
    });
    expect(paraphraseRecord(passage, new Rng(1), { exclude: ['closed_qa/1', 'closed_qa/2', 'closed_qa/4', 'closed_qa/5', 'closed_qa/6'] })).toEqual({
      instruction: 'Passage: The bridge opened in 1932 after six years of work.\n\nQuestion: When was the bridge opened?\n\nAnswer:',
      output: '1932',
      task: 'closed_qa',
      split: 'test',
      tags: ['paraphrase:closed_qa/3'],
    });
  });

  it('uses the generic set for tasks without their own, and returns undefined when nothing is left', () => {
    const other = { instruction: 'Tell a joke.', output: 'No.', task: 'humour' };
    const generic = ['generic/1', 'generic/2', 'generic/3', 'generic/4', 'generic/5'];
    expect(paraphraseRecord(other, new Rng(4), { exclude: generic })).toEqual({
      instruction: 'Here is a request: Tell a joke.\n\nWrite a helpful reply.',
      output: 'No.',
      task: 'humour',
      tags: ['paraphrase:generic/6'],
    });
    expect(paraphraseRecord(other, new Rng(4), { exclude: [...generic, 'generic/6'] })).toBeUndefined();
    expect(paraphraseRecord({ instruction: 'x' }, new Rng(4))).toBeUndefined();
  });

  it('makes perRecord paraphrases through distinct templates, seeded', () => {
    const a = paraphraseRecords([capital, passage, { instruction: 'no output' }], { seed: 5, perRecord: 3 });
    expect(a.skipped).toEqual([2]);
    expect(a.records.length).toBe(6);
    const ids = a.records.map((r) => r.tags!.at(-1)!.replace('paraphrase:', ''));
    expect(new Set(ids.slice(0, 3)).size).toBe(3);
    expect(ids.slice(0, 3).every((id) => OPEN_QA_STANDARD.includes(id))).toBe(true);
    expect(ids.slice(3).every((id) => id.startsWith('closed_qa/'))).toBe(true);
    expect(paraphraseRecords([capital, passage], { seed: 5, perRecord: 3 }).records).toEqual(a.records);
    expect(paraphraseRecords([capital], { seed: 6, perRecord: 3 }).records).not.toEqual(a.records.slice(0, 3));
    // more than there are: every standard template once
    const all = paraphraseRecords([capital], { seed: 1, perRecord: 50 }).records.map((r) => r.tags!.at(-1));
    expect([...all].sort()).toEqual(OPEN_QA_STANDARD.map((id) => `paraphrase:${id}`));
    expect(() => paraphraseRecords([capital], { seed: 1, perRecord: 0 })).toThrow('paraphraseRecords: perRecord must be a whole number ≥ 1, got 0');
  });
});
