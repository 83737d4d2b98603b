// TRL's dataset formats (text, messages, prompt/completion standard and conversational) import as
// records that keep their kind, are found by auto-detection, validate, and come back unchanged
// through Hone's own format; and the record fields kinds added are validated.
import { describe, expect, it } from 'vitest';
import { detectFormat } from '../../src/core/data/detect';
import { exportLines } from '../../src/core/data/export';
import { importText } from '../../src/core/data/import';
import { recordKind, validateRecord, type InstructionRecord } from '../../src/core/data/record';
import { chunked } from './data-helpers';

const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

async function importTrl(text: string) {
  const whole = await importText(text, { format: 'trl' });
  expect(await importText(chunked(text, 7), { format: 'trl' })).toEqual(whole);
  return whole;
}

const system = { role: 'system', content: 'You answer in one short sentence.' };
const user = (content: string) => ({ role: 'user', content });
const assistant = (content: string) => ({ role: 'assistant', content });

describe('TRL formats', () => {
  const rows = [
    { text: 'Kwame has 26 apples.' },
    { prompt: 'Say nothing but yes.', completion: ' yes', id: 7 },
    { prompt: [system, user('Who has what? Tomas has 4 coins.')], completion: [assistant('Tomas does.')] },
    { messages: [user('Who has what? Aiko has 25 stars.'), assistant('Aiko does.')] },
    { messages: [system, user('Q1'), assistant('A1'), user('Q2'), assistant('A2')] },
  ];
  const expected: InstructionRecord[] = [
    { kind: 'text', instruction: '', output: 'Kwame has 26 apples.' },
    { kind: 'prompt-completion', instruction: 'Say nothing but yes.', output: ' yes' },
    {
      kind: 'prompt-completion',
      instruction: 'Who has what? Tomas has 4 coins.',
      conversation: [system, user('Who has what? Tomas has 4 coins.'), assistant('Tomas does.')] as InstructionRecord['conversation'],
      promptTurns: 2,
    },
    { kind: 'conversation', instruction: 'Who has what? Aiko has 25 stars.', output: 'Aiko does.' },
    { instruction: 'Q1', conversation: [system, user('Q1'), assistant('A1'), user('Q2'), assistant('A2')] as InstructionRecord['conversation'] },
  ];

  it('imports each shape as a record of its kind (extra columns ignored)', async () => {
    const result = await importTrl(jsonl(rows));
    expect(result).toEqual({ format: 'trl', records: expected, errors: [] });
    expect(result.records.map(recordKind)).toEqual(['text', 'prompt-completion', 'prompt-completion', 'conversation', 'conversation']);
    for (const record of result.records) expect(validateRecord(record)).toEqual([]);
  });

  it('is auto-detected from prompt/completion or text keys', async () => {
    expect(detectFormat(jsonl([rows[1]]))).toBe('trl');
    expect(detectFormat(jsonl([rows[2]]))).toBe('trl');
    expect(detectFormat(jsonl([rows[0]]))).toBe('trl');
    expect((await importText(jsonl(rows.slice(0, 3)))).format).toBe('trl');
  });

  it("round-trips through Hone's own format with kinds and prompt lengths", async () => {
    const back = await importText([...exportLines(expected, 'hone')].join('\n') + '\n', { format: 'hone' });
    expect(back).toEqual({ format: 'hone', records: expected, errors: [] });
  });

  it('names the line and field of what it cannot read', async () => {
    const bad = jsonl([
      { prompt: 'p' },
      { prompt: [user('q')], completion: [user('not an answer')] },
      { text: '  ' },
      { question: 'q', answer: 'a' },
      { prompt: [user('q')], completion: 'a string' },
    ]);
    expect((await importTrl(bad)).errors).toEqual([
      { line: 1, field: 'completion', message: 'is missing; every TRL record needs "completion"' },
      { line: 2, field: 'completion', message: 'has no assistant turn, so there is nothing to learn' },
      { line: 3, field: 'text', message: 'is empty; a language-modeling record needs text to learn' },
      { line: 4, message: 'has none of the keys TRL reads: "text", "messages", or "prompt" with "completion"' },
      { line: 5, field: 'completion', message: 'expected a list of {"role", "content"} turns, got string' },
    ]);
  });
});

describe('record kinds in validation', () => {
  it('accepts the kind fields and SNI demonstrations with inputs', () => {
    const sni: InstructionRecord = {
      kind: 'sni',
      instruction: 'Define.',
      context: 'x',
      output: 'y',
      positives: [{ input: 'a', output: 'b', explanation: 'why' }],
      negatives: [{ input: 'a', output: 'c', explanation: 'wrong' }, { output: 'd' }],
    };
    expect(validateRecord(sni)).toEqual([]);
    expect(validateRecord({ instruction: 'q', output: 'a', templateId: 'generic/4', shots: 2 })).toEqual([]);
  });

  it('reports bad kinds, prompt lengths, shots and demonstrations by field', () => {
    const turns = [user('q'), assistant('a')];
    expect(validateRecord({ instruction: 'q', output: 'a', kind: 'essay' })).toEqual([
      { field: 'kind', message: 'expected one of instruction, text, conversation, prompt-completion, sni, got "essay"' },
    ]);
    expect(validateRecord({ instruction: 'q', conversation: turns, promptTurns: 2 })).toEqual([
      { field: 'promptTurns', message: "expected a whole number from 1 to 1 (the conversation's prompt turns, before the completion), got 2" },
    ]);
    expect(validateRecord({ instruction: 'q', output: 'a', shots: -1 })).toEqual([{ field: 'shots', message: 'expected a whole number ≥ 0, got -1' }]);
    expect(validateRecord({ instruction: 'q', output: 'a', positives: [{ output: 'b' }] })).toEqual([{ field: 'positives[0].input', message: 'expected a string, got undefined' }]);
    expect(validateRecord({ kind: 'text', instruction: 'q', output: 'a' })).toEqual([{ field: 'instruction', message: 'must be "" for a text record (the text is in "output")' }]);
  });

  it('infers the kind of records stored before kinds existed', () => {
    expect(recordKind({ instruction: '' })).toBe('text');
    expect(recordKind({ instruction: 'q' })).toBe('instruction');
    expect(recordKind({ instruction: 'q', conversation: [] })).toBe('conversation');
    expect(recordKind({ instruction: 'd', negatives: [{ output: 'x' }] })).toBe('sni');
    expect(recordKind({ instruction: 'q', conversation: [], promptTurns: 1 })).toBe('prompt-completion');
  });
});
