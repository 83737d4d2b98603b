// Each importer on realistic samples: exact records out, whatever the chunking, BOM or line endings.
import { describe, expect, it } from 'vitest';
import { importText } from '../../src/core/data/import';
import { getImporter } from '../../src/core/data/importers/registry';
import type { TextFormatName } from '../../src/core/data/importers/types';
import { formatImportError, validateRecord, type InstructionRecord } from '../../src/core/data/record';
import { chunked } from './data-helpers';

/** Imports `text` whole and in 1-, 7- and 4096-character chunks; all must agree. */
async function importAll(text: string, format: TextFormatName, opts: Parameters<typeof importText>[1] = {}) {
  const whole = await importText(text, { ...opts, format });
  for (const size of [1, 7, 4096]) {
    expect(await importText(chunked(text, size), { ...opts, format })).toEqual(whole);
  }
  return whole;
}

const BOM = '\uFEFF';

describe('alpaca', () => {
  const records = [
    { instruction: 'Give three tips for staying healthy.', input: '', output: '1. Eat a balanced diet.\n2. Exercise.\n3. Sleep well.' },
    { instruction: 'Translate to French 🇫🇷', input: 'Good morning, 世界', output: 'Bonjour, 世界 👋' },
    { instruction: 'Spell the word with a combining accent', input: 'cafe\u0301', output: 'cafe\u0301 — "quoted", back\\slash' },
  ];
  const expected: InstructionRecord[] = [
    { instruction: 'Give three tips for staying healthy.', output: '1. Eat a balanced diet.\n2. Exercise.\n3. Sleep well.' },
    { instruction: 'Translate to French 🇫🇷', context: 'Good morning, 世界', output: 'Bonjour, 世界 👋' },
    { instruction: 'Spell the word with a combining accent', context: 'cafe\u0301', output: 'cafe\u0301 — "quoted", back\\slash' },
  ];

  it('reads a pretty-printed JSON array (empty input dropped, Unicode kept exactly)', async () => {
    const result = await importAll(JSON.stringify(records, null, 2), 'alpaca');
    expect(result).toEqual({ format: 'alpaca', records: expected, errors: [] });
    expect(result.records[2].context).toHaveLength(5); // the combining mark is not normalised away
  });

  it('reads JSONL with a BOM, CRLF line ends and blank lines', async () => {
    const text = BOM + records.map((r) => JSON.stringify(r)).join('\r\n\r\n') + '\r\n';
    expect(await importAll(text, 'alpaca')).toEqual({ format: 'alpaca', records: expected, errors: [] });
  });

  it('reads a JSON array with a BOM and CRLF between elements', async () => {
    const text = BOM + '[\r\n' + records.map((r) => JSON.stringify(r)).join(',\r\n') + '\r\n]\r\n';
    expect((await importAll(text, 'alpaca')).records).toEqual(expected);
  });

  it('names the line and field of a wrong type in JSONL', async () => {
    const text = [records[0], records[1], { instruction: 'x', input: '', output: 42 }].map((r) => JSON.stringify(r)).join('\n');
    const result = await importAll(text, 'alpaca');
    expect(result.records).toEqual([]);
    expect(result.errors).toEqual([{ line: 3, field: 'output', message: 'expected a string, got number' }]);
    expect(formatImportError(result.errors[0])).toBe('line 3, field "output": expected a string, got number');
  });

  it('names the record index and line of a missing field in a JSON array', async () => {
    const text = JSON.stringify([records[0], { instruction: 'no output here' }, records[1]], null, 2);
    const result = await importAll(text, 'alpaca');
    expect(result.errors).toEqual([{ record: 1, line: 7, field: 'output', message: 'is missing; every Alpaca record needs "output"' }]);
  });
});

describe('dolly', () => {
  it('maps context/response/category onto context/output/task', async () => {
    const text = [
      { instruction: 'When did Virgin Australia start operating?', context: 'Virgin Australia commenced services on 31 August 2000.', response: '31 August 2000.', category: 'closed_qa' },
      { instruction: 'Which is a species of fish? Tope or Rope', context: '', response: 'Tope', category: 'classification' },
    ].map((r) => JSON.stringify(r)).join('\n');
    expect(await importAll(text, 'dolly')).toEqual({
      format: 'dolly',
      errors: [],
      records: [
        { instruction: 'When did Virgin Australia start operating?', context: 'Virgin Australia commenced services on 31 August 2000.', output: '31 August 2000.', task: 'closed_qa' },
        { instruction: 'Which is a species of fish? Tope or Rope', output: 'Tope', task: 'classification' },
      ],
    });
  });
});

describe('sharegpt', () => {
  const data = [
    { id: 'a1', conversations: [{ from: 'human', value: 'What is 2+2?' }, { from: 'gpt', value: '4' }] },
    {
      id: 'b2',
      conversations: [
        { from: 'system', value: 'You are terse.' },
        { from: 'human', value: '你好' },
        { from: 'gpt', value: '你好！😊' },
        { from: 'human', value: 'And in Korean?' },
        { from: 'gpt', value: '안녕하세요' },
      ],
    },
    { system: 'Answer in French.', conversations: [{ from: 'user', value: 'Hi' }, { from: 'assistant', value: 'Salut' }] },
  ];

  it('keeps single-turn chats as instruction/output of kind conversation and multi-turn ones as conversations', async () => {
    const result = await importAll(JSON.stringify(data), 'sharegpt');
    expect(result.errors).toEqual([]);
    expect(result.records).toEqual([
      { kind: 'conversation', instruction: 'What is 2+2?', output: '4' },
      {
        instruction: '你好',
        conversation: [
          { role: 'system', content: 'You are terse.' },
          { role: 'user', content: '你好' },
          { role: 'assistant', content: '你好！😊' },
          { role: 'user', content: 'And in Korean?' },
          { role: 'assistant', content: '안녕하세요' },
        ],
      },
      {
        instruction: 'Hi',
        conversation: [
          { role: 'system', content: 'Answer in French.' },
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Salut' },
        ],
      },
    ]);
  });

  it('reports an unknown speaker and a chat with no reply', async () => {
    const bad = [
      { conversations: [{ from: 'human', value: 'q' }, { from: 'function_call', value: '{}' }] },
      { conversations: [{ from: 'human', value: 'q' }] },
    ].map((r) => JSON.stringify(r)).join('\n');
    expect((await importAll(bad, 'sharegpt')).errors).toEqual([
      { line: 1, field: 'conversations[1].from', message: 'expected one of human, user, gpt, assistant, chatgpt, system, got "function_call"' },
      { line: 2, field: 'conversations', message: 'has no assistant turn after the first user turn, so there is nothing to learn' },
    ]);
  });
});

describe('messages', () => {
  it('reads OpenAI chat JSONL, including text content parts', async () => {
    const text = [
      { messages: [{ role: 'user', content: 'Capital of France?' }, { role: 'assistant', content: 'Paris.' }] },
      {
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: [{ type: 'text', text: 'Name a ' }, { type: 'text', text: 'colour.' }] },
          { role: 'assistant', content: 'Blue.' },
          { role: 'user', content: 'Another?' },
          { role: 'assistant', content: 'Red.' },
        ],
      },
    ].map((r) => JSON.stringify(r)).join('\n');
    expect((await importAll(text, 'messages')).records).toEqual([
      { kind: 'conversation', instruction: 'Capital of France?', output: 'Paris.' },
      {
        instruction: 'Name a colour.',
        conversation: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Name a colour.' },
          { role: 'assistant', content: 'Blue.' },
          { role: 'user', content: 'Another?' },
          { role: 'assistant', content: 'Red.' },
        ],
      },
    ]);
  });

  it('refuses tool turns and null content with the field named', async () => {
    const text = JSON.stringify({ messages: [{ role: 'user', content: 'hi' }, { role: 'tool', content: 'x' }, { role: 'assistant', content: null }] });
    expect((await importAll(text, 'messages')).errors).toEqual([
      { line: 1, field: 'messages[1].role', message: 'expected one of system, developer, user, assistant, got "tool"' },
      { line: 1, field: 'messages[2].content', message: 'expected a string, got null' },
    ]);
  });
});

describe('sni', () => {
  const task = {
    Contributors: ['Swaroop Mishra'],
    Source: ['quoref'],
    URL: ['https://allenai.org/data/quoref'],
    Categories: ['Question Generation'],
    Reasoning: [],
    Definition: ['In this task, you are given a passage.', 'Write a question about it.'],
    Input_language: ['English'],
    Domains: ['Wikipedia'],
    'Positive Examples': [{ input: 'Passage: Tom met Ann.', output: 'Who met Ann?', explanation: 'Asks about the passage.' }],
    'Negative Examples': [
      { input: 'Passage: Tom met Ann.', output: 'What is 2+2?', explanation: 'Unrelated to the passage.' },
      { input: 'Passage: Tom met Ann.', output: 'Tom' },
    ],
    Instances: [
      { id: 'task001-1', input: 'Passage: Marie Curie won two Nobel prizes.', output: ['Who won two Nobel prizes?', 'How many Nobel prizes did Marie Curie win?'] },
      { id: 'task001-2', input: 'Passage: 東京は日本の首都です。', output: ['日本の首都は？'] },
    ],
    'Instance License': ['CC BY 4.0'],
  };
  // both kinds of demonstration keep their inputs: SNI's prompt shows them (train/rows)
  const positives = [{ input: 'Passage: Tom met Ann.', output: 'Who met Ann?', explanation: 'Asks about the passage.' }];
  const negatives = [{ input: 'Passage: Tom met Ann.', output: 'What is 2+2?', explanation: 'Unrelated to the passage.' }, { input: 'Passage: Tom met Ann.', output: 'Tom' }];
  const shared = {
    kind: 'sni',
    instruction: 'In this task, you are given a passage.\nWrite a question about it.',
    task: 'task001_quoref_question_generation',
    cluster: 'Question Generation',
    source: 'quoref',
    positives,
    negatives,
  };

  it('makes one record per instance, with output lists, positives and negatives', async () => {
    const result = await importAll(JSON.stringify(task, null, 1), 'sni', { fileName: 'tasks/task001_quoref_question_generation.json' });
    expect(result).toEqual({
      format: 'sni',
      errors: [],
      records: [
        { ...shared, context: 'Passage: Marie Curie won two Nobel prizes.', output: 'Who won two Nobel prizes?', outputs: ['Who won two Nobel prizes?', 'How many Nobel prizes did Marie Curie win?'] },
        { ...shared, context: 'Passage: 東京は日本の首都です。', output: '日本の首都は？', outputs: ['日本の首都は？'] },
      ],
    });
    for (const record of result.records) expect(validateRecord(record)).toEqual([]);
  });

  it('names the instance and field of a bad output list', async () => {
    const bad = { ...task, Instances: [task.Instances[0], { id: 'x', input: 'p', output: [] }, { id: 'y', input: 'p', output: ['ok', 3] }] };
    expect((await importAll(JSON.stringify(bad), 'sni')).errors).toEqual([
      { record: 1, field: 'Instances[1].output', message: 'is an empty list; an instance needs at least one answer' },
      { record: 2, field: 'Instances[2].output[1]', message: 'expected a string, got number' },
    ]);
  });

  it('requires a Definition', async () => {
    const { Definition: _, ...noDefinition } = task;
    expect((await importAll(JSON.stringify(noDefinition), 'sni')).errors).toEqual([
      { field: 'Definition', message: 'is missing; every Super-NaturalInstructions task needs it' },
    ]);
  });
});

describe('text', () => {
  it('splits paragraphs on blank lines into pretraining records', async () => {
    const text = BOM + '\r\nFirst paragraph,\r\n  indented second line.\r\n\r\n \t \r\n\r\nSecond: 日本語 and émoji 🎉\r\n\r\n\r\nThird, no final newline';
    const tags = ['pretraining-text'];
    expect(await importAll(text, 'text')).toEqual({
      format: 'text',
      errors: [],
      records: [
        { instruction: '', output: 'First paragraph,\n  indented second line.', tags },
        { instruction: '', output: 'Second: 日本語 and émoji 🎉', tags },
        { instruction: '', output: 'Third, no final newline', tags },
      ],
    });
  });
});

describe('hone', () => {
  it('reads its own records back and rejects unknown fields', async () => {
    const record: InstructionRecord = {
      instruction: 'Sum', context: '1 2', output: '3', outputs: ['3', 'three'], task: 'add', cluster: 'math', split: 'test',
      source: 'mine', tags: ['a'], negatives: [{ output: '4', explanation: 'off by one' }],
    };
    expect((await importAll(JSON.stringify(record) + '\n', 'hone')).records).toEqual([record]);
    const bad = JSON.stringify({ instruction: 'x', outptu: 'y', split: 'dev' });
    expect((await importAll(bad, 'hone')).errors).toEqual([
      { line: 1, field: 'outptu', message: 'is not a Hone record field (known: instruction, context, output, conversation, task, cluster, split, source, tags, negatives, outputs, kind, promptTurns, positives, templateId, shots)' },
      { line: 1, field: 'split', message: 'expected one of train, validation, test, got "dev"' },
    ]);
  });
});

describe('importers used directly', () => {
  it('stream records and errors from chunks', async () => {
    const items = [];
    for await (const item of getImporter('alpaca').parse(chunked('{"instruction":"a","output":"b"}\n[1]\n', 3))) items.push(item);
    expect(items).toEqual([
      { record: { instruction: 'a', output: 'b' } },
      { error: { line: 2, message: 'expected a JSON object (one Alpaca record), got array' } },
    ]);
  });
});
