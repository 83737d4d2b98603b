// Format detection, export round trips, and the CLI import command writing all or nothing.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importCommand } from '../../cli/commands/import';
import { detectFormat, FormatDetectionError } from '../../src/core/data/detect';
import { exportJsonl, ExportError, type ExportShape } from '../../src/core/data/export';
import { importText } from '../../src/core/data/import';
import type { TextFormatName } from '../../src/core/data/importers/types';
import type { InstructionRecord } from '../../src/core/data/record';

const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

describe('detectFormat', () => {
  const alpaca = Array.from({ length: 40 }, (_, i) => ({ instruction: `do ${i}`, input: '', output: `done ${i}` }));
  const cases: [string, string, string | undefined, TextFormatName][] = [
    ['alpaca JSON array, sample cut mid-file', JSON.stringify(alpaca, null, 2).slice(0, 1024), 'alpaca_data.json', 'alpaca'],
    ['alpaca JSONL with a BOM', '\uFEFF' + jsonl(alpaca.slice(0, 3)), 'data.jsonl', 'alpaca'],
    ['dolly JSONL', jsonl([{ instruction: 'q', context: '', response: 'a', category: 'open_qa' }]), undefined, 'dolly'],
    ['sharegpt array', JSON.stringify([{ id: '1', conversations: [{ from: 'human', value: 'hi' }] }]), 'sg.json', 'sharegpt'],
    ['messages JSONL', jsonl([{ messages: [{ role: 'user', content: 'hi' }] }]), 'chat.jsonl', 'messages'],
    [
      'pretty-printed SNI task',
      JSON.stringify({ Contributors: ['A'], Source: ['s'], Categories: ['QA'], Definition: ['Answer.'], 'Positive Examples': [], Instances: [] }, null, 4),
      'task002.json',
      'sni',
    ],
    ['hone records', jsonl([{ instruction: 'q', context: 'c', output: 'a', task: 't' }]), 'out.jsonl', 'hone'],
    ['CSV by extension', 'prompt,answer\nq,a\n', 'data.csv', 'csv'],
    ['TSV by extension', 'prompt\tanswer\nq\ta\n', 'data.tsv', 'csv'],
    ['CSV by header', 'instruction,output\nq,a\n', undefined, 'csv'],
    ['text by extension', '{"looks": "like json"}', 'notes.txt', 'text'],
    ['prose', 'Once upon a time, there was a model.\n\nIt learned.', undefined, 'text'],
  ];
  it.each(cases)('%s', (_name, sample, fileName, expected) => {
    expect(detectFormat(sample, fileName)).toBe(expected);
  });

  it('refuses JSON of an unknown shape, naming its keys', () => {
    expect(() => detectFormat(jsonl([{ question: 'p', answer: 'c' }]), 'x.jsonl')).toThrow(FormatDetectionError);
    expect(() => detectFormat(jsonl([{ question: 'p', answer: 'c' }]))).toThrow(/the first record has the keys "question", "answer"; /);
  });

  it('importText reads a long first line whole before deciding', async () => {
    const long = jsonl([{ instruction: 'x'.repeat(100_000), context: '', response: 'a', category: 'c' }]);
    async function* chunks() {
      for (let i = 0; i < long.length; i += 1000) yield long.slice(i, i + 1000);
    }
    const result = await importText(chunks());
    expect(result.format).toBe('dolly');
    expect(result.records).toEqual([{ instruction: 'x'.repeat(100_000), output: 'a', task: 'c' }]);
  });

  it('importText detects the format itself and reports an unknown shape as an error', async () => {
    expect((await importText(jsonl([{ instruction: 'q', response: 'a' }]))).format).toBe('dolly');
    const unknown = await importText(jsonl([{ question: 'p', answer: 'c' }]));
    expect(unknown.format).toBe('unknown');
    expect(unknown.errors).toHaveLength(1);
    expect(unknown.errors[0].message).toMatch(/^cannot tell which dataset format this JSON is/);
  });
});

describe('export', () => {
  const simple: InstructionRecord[] = [
    { instruction: 'Translate to German', context: 'Good night 🌙', output: 'Gute Nacht 🌙' },
    { instruction: '列出三种水果', output: '苹果、香蕉、橙子' },
    { instruction: 'Say "hi"\nthen stop', output: 'hi\r\n' },
  ];
  const chats: InstructionRecord[] = [
    // a single-turn chat keeps its kind through the chat shapes (importers/conversation.ts)
    { kind: 'conversation', instruction: 'Hello?', output: 'Hi.' },
    {
      instruction: 'What is e\u0301?',
      conversation: [
        { role: 'system', content: 'Be precise.' },
        { role: 'user', content: 'What is e\u0301?' },
        { role: 'assistant', content: 'An e with a combining acute accent.' },
        { role: 'user', content: 'Thanks' },
        { role: 'assistant', content: '🙂' },
      ],
    },
  ];

  it('writes the Alpaca shape exactly', () => {
    expect(exportJsonl(simple.slice(0, 2), 'alpaca')).toBe(
      '{"instruction":"Translate to German","input":"Good night 🌙","output":"Gute Nacht 🌙"}\n' +
        '{"instruction":"列出三种水果","input":"","output":"苹果、香蕉、橙子"}\n',
    );
  });

  const roundTrips: [ExportShape, TextFormatName, InstructionRecord[]][] = [
    ['alpaca', 'alpaca', simple],
    ['messages', 'messages', chats],
    ['sharegpt', 'sharegpt', chats],
    ['hone', 'hone', [...simple, ...chats, { instruction: 'q', output: 'a', outputs: ['a', 'b'], negatives: [{ output: 'c' }], split: 'validation', tags: ['x'] }]],
  ];
  it.each(roundTrips)('%s export → import gives the same records', async (shape, format, records) => {
    const result = await importText(exportJsonl(records, shape), { format });
    expect(result).toEqual({ format, records, errors: [] });
  });

  it('puts context after the instruction in chat shapes', () => {
    expect(exportJsonl([simple[0]], 'sharegpt')).toBe(
      '{"conversations":[{"from":"human","value":"Translate to German\\n\\nGood night 🌙"},{"from":"gpt","value":"Gute Nacht 🌙"}]}\n',
    );
  });

  it('refuses what a shape cannot hold, naming the record', () => {
    expect(() => exportJsonl(chats, 'alpaca')).toThrow(ExportError);
    expect(() => exportJsonl(chats, 'alpaca')).toThrow(
      'record 1: is a conversation of 5 turns; Alpaca holds one instruction and one output, so export it as messages or sharegpt',
    );
    expect(() => exportJsonl([{ instruction: 'q' }], 'messages')).toThrow('record 0: has no output, so there is no assistant turn to write');
  });
});

describe('importCommand (CLI)', () => {
  it('streams a file and writes Hone records, one per line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hone-data-'));
    const file = join(dir, 'alpaca.jsonl');
    writeFileSync(file, '\uFEFF{"instruction":"a","input":"ctx","output":"b"}\r\n{"instruction":"日本","input":"","output":"🎉"}\r\n');
    const out = join(dir, 'out.jsonl');
    expect(await importCommand({ file, out })).toEqual({ format: 'alpaca', records: 2, errors: [] });
    expect(readFileSync(out, 'utf8')).toBe('{"instruction":"a","context":"ctx","output":"b"}\n{"instruction":"日本","output":"🎉"}\n');
    expect(readdirSync(dir).sort()).toEqual(['alpaca.jsonl', 'out.jsonl']);
    // and that output reads back as Hone records
    expect(await importCommand({ file: out, out: join(dir, 'again.jsonl'), format: 'hone' })).toEqual({ format: 'hone', records: 2, errors: [] });
  });

  it('writes nothing when there are errors, leaving an existing output untouched', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hone-data-'));
    const file = join(dir, 'bad.jsonl');
    writeFileSync(file, '{"instruction":"a","output":"b"}\n{"instruction":"a","output":7}\n');
    const out = join(dir, 'out.jsonl');
    writeFileSync(out, 'previous\n');
    expect(await importCommand({ file, out, format: 'alpaca' })).toEqual({
      format: 'alpaca',
      records: 0,
      errors: [{ line: 2, field: 'output', message: 'expected a string, got number' }],
    });
    expect(readFileSync(out, 'utf8')).toBe('previous\n');
    expect(readdirSync(dir).sort()).toEqual(['bad.jsonl', 'out.jsonl']);
  });

  it('rejects an unknown format and a missing file with plain messages', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hone-data-'));
    await expect(importCommand({ file: join(dir, 'x.json'), out: join(dir, 'o.jsonl'), format: 'parquet' })).rejects.toThrow(
      '--format must be auto or one of alpaca, dolly, sharegpt, messages, sni, trl, csv, text, hone, got "parquet"',
    );
    await expect(importCommand({ file: join(dir, 'missing.json'), out: join(dir, 'o.jsonl') })).rejects.toThrow(`cannot read ${join(dir, 'missing.json')}: no such file`);
    expect(existsSync(join(dir, 'o.jsonl'))).toBe(false);
  });
});
