// Bad and big input: truncation, wrong types, empty files, a 10 MB field, a 100 MB stream,
// cancellation and the all-or-nothing result.
import { describe, expect, it } from 'vitest';
import { importText } from '../../src/core/data/import';
import { getImporter } from '../../src/core/data/importers/registry';
import type { TextFormatName } from '../../src/core/data/importers/types';
import { chunked } from './data-helpers';

const good = (i: number) => JSON.stringify({ instruction: `task ${i}`, input: '', output: `answer ${i}` });

describe('truncated and malformed JSON', () => {
  it('a JSON array cut inside a record names that record and its line', async () => {
    const text = `[${good(0)},\n  {"instruction": "c", "out`;
    const result = await importText(chunked(text, 5), { format: 'alpaca' });
    expect(result.records).toEqual([]);
    expect(result.errors).toEqual([{ line: 2, message: 'the file ends inside record 1, which starts on line 2: the JSON is truncated (column 28)' }]);
  });

  it('a JSON array cut after a comma says the closing bracket is missing', async () => {
    const result = await importText(`[${good(0)},\n`, { format: 'alpaca' });
    expect(result.errors).toEqual([{ line: 2, message: `the file ends before the array's closing "]": the JSON is truncated (column 1)` }]);
  });

  it('a JSONL file cut mid-line names that line', async () => {
    const result = await importText(`${good(0)}\n${good(1)}\n{"instruction": "c", "out`, { format: 'alpaca' });
    expect(result.errors).toEqual([
      { line: 3, message: 'the JSON ends too early (is the file truncated?) (column 26); JSONL needs one complete JSON object per line' },
    ]);
  });

  it('a truncated SNI task names the line and column where it stops', async () => {
    const result = await importText('{\n  "Definition": ["Do it."],\n  "Instances": [{"input": "a", "output": ["b"]', { format: 'sni' });
    expect(result.errors).toEqual([{ line: 3, message: 'the JSON ends too early (is the file truncated?) (column 47)' }]);
  });

  it('a syntax error inside an array element is located and later records still parsed', async () => {
    const text = `[\n${good(0)},\n{"instruction": "x",\n "output": }\n, ${good(2)}, {"instruction": 5, "output": "y"}]`;
    const result = await importText(chunked(text, 4), { format: 'alpaca' });
    expect(result.errors).toHaveLength(2);
    expect(result.errors[0]).toMatchObject({ record: 1, line: 4 });
    expect(result.errors[0].message).toMatch(/^not valid JSON: Unexpected token/);
    expect(result.errors[1]).toEqual({ record: 3, line: 5, field: 'instruction', message: 'expected a string, got number' });
  });

  it('junk between array elements stops with the line and column', async () => {
    const result = await importText(`[${good(0)}\n ${good(1)}]`, { format: 'alpaca' });
    expect(result.errors).toEqual([{ line: 2, message: 'expected "," or "]" after record 0, found "{" (column 2)' }]);
  });
});

describe('wrong types and missing fields', () => {
  it('names each bad field of each record', async () => {
    const lines = [
      { instruction: ['a'], output: 'b' },
      { instruction: 'a', input: 3, output: null },
      { output: 'b' },
      'just a string',
    ].map((v) => JSON.stringify(v));
    const result = await importText(lines.join('\n'), { format: 'alpaca' });
    expect(result.errors).toEqual([
      { line: 1, field: 'instruction', message: 'expected a string, got array' },
      { line: 2, field: 'input', message: 'expected a string, got number' },
      { line: 2, field: 'output', message: 'expected a string, got null' },
      { line: 3, field: 'instruction', message: 'is missing; every Alpaca record needs "instruction"' },
      { line: 4, message: 'expected a JSON object (one Alpaca record), got string' },
    ]);
  });

  it('returns no records at all when any record is bad', async () => {
    const lines = Array.from({ length: 50 }, (_, i) => good(i));
    lines[37] = '{"instruction": "x"}';
    const result = await importText(lines.join('\n'), { format: 'alpaca' });
    expect(result.records).toEqual([]);
    expect(result.errors).toEqual([{ line: 38, field: 'output', message: 'is missing; every Alpaca record needs "output"' }]);
  });

  it('stops after maxErrors', async () => {
    const result = await importText(Array(10).fill('{}').join('\n'), { format: 'dolly', maxErrors: 3 });
    expect(result.errors.map((e) => e.line)).toEqual([1, 1, 2, undefined]);
    expect(result.errors[3].message).toBe('stopped after 3 errors; the rest of the input was not checked');
  });
});

describe('empty input', () => {
  it.each(['alpaca', 'dolly', 'sharegpt', 'messages', 'sni', 'csv', 'text', 'hone'] as TextFormatName[])('%s: an empty or blank file is an error', async (format) => {
    for (const text of ['', '\uFEFF', '\r\n\n  \n']) {
      expect(await importText(text, { format })).toEqual({
        format,
        records: [],
        errors: [{ message: 'no records found: the file is empty or holds only blank lines' }],
      });
    }
  });

  it('auto-detection on an empty file says so', async () => {
    expect(await importText('\uFEFF \n')).toEqual({ format: 'unknown', records: [], errors: [{ message: 'the file is empty: there is nothing to import' }] });
  });
});

describe('a single 10 MB field', () => {
  const big = 'Lorem ipsum 日本 🎉 '.repeat(10 * 1024 * 1024 / 18).slice(0, 10 * 1024 * 1024);
  const cases: [TextFormatName, string][] = [
    ['alpaca', JSON.stringify({ instruction: 'Repeat', input: '', output: big }) + '\n'],
    ['alpaca', `[${JSON.stringify({ instruction: 'Repeat', output: big })}]`],
    ['csv', `instruction,output\r\nRepeat,"${big}"\r\n`],
    ['sni', JSON.stringify({ Definition: 'Repeat', Instances: [{ input: '', output: [big] }] })],
  ];
  it.each(cases)('%s (%#) imports it intact from 64 KB chunks', async (format, text) => {
    const result = await importText(chunked(text, 65536), { format });
    expect(result.errors).toEqual([]);
    expect(result.records).toHaveLength(1);
    expect(result.records[0].output === big).toBe(true);
  });

  it('text: a 10 MB paragraph', async () => {
    const result = await importText(chunked(big, 65536), { format: 'text' });
    expect(result.records.map((r) => r.output === big)).toEqual([true]);
  });
});

/** ~100 MB of JSONL, generated as it is read, in 1 MB chunks cut at arbitrary points. */
const LINES_100MB = 100_000;
async function* hundredMegabytes(): AsyncGenerator<string> {
  const filler = 'x'.repeat(980);
  const chunkSize = 1_000_003; // not a multiple of the line length, so lines straddle chunks
  let pending = '';
  for (let i = 0; i < LINES_100MB; i++) {
    pending += `{"instruction":"Echo ${i}","input":"","output":"${filler}${i}"}\n`;
    if (pending.length >= chunkSize) {
      yield pending.slice(0, chunkSize);
      pending = pending.slice(chunkSize);
    }
  }
  yield pending;
}

describe('a 100 MB JSONL stream', () => {
  it('streams through the importer in bounded memory', async () => {
    const before = process.memoryUsage().heapUsed;
    let peak = before;
    let count = 0;
    let last = '';
    for await (const item of getImporter('alpaca').parse(hundredMegabytes())) {
      if ('error' in item) throw new Error(item.error.message);
      if (++count % 1000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
      last = item.record.instruction;
    }
    expect(count).toBe(LINES_100MB);
    expect(last).toBe(`Echo ${LINES_100MB - 1}`);
    // the records are dropped as they come: growth is a few chunks, not the file
    expect((peak - before) / 2 ** 20).toBeLessThan(80);
  });

  it('importText keeps the records and little else', async () => {
    const before = process.memoryUsage().heapUsed;
    let peak = before;
    let bytes = 0;
    const result = await importText(hundredMegabytes(), {
      format: 'auto',
      fileName: 'big.jsonl',
      onProgress: (b) => {
        bytes = b;
        peak = Math.max(peak, process.memoryUsage().heapUsed);
      },
    });
    expect(result.format).toBe('alpaca');
    expect(result.errors).toEqual([]);
    expect(result.records).toHaveLength(LINES_100MB);
    expect(result.records[54321]).toEqual({ instruction: 'Echo 54321', output: 'x'.repeat(980) + '54321' });
    expect(bytes).toBeGreaterThan(100e6);
    // ~100 MB of kept strings plus per-record overhead; a second copy of the file would exceed this
    expect((peak - before) / 2 ** 20).toBeLessThan(180);
  });
});

describe('cancellation', () => {
  it('rejects with the abort reason once the signal fires mid-stream', async () => {
    const controller = new AbortController();
    const promise = importText(hundredMegabytes(), {
      format: 'alpaca',
      signal: controller.signal,
      onProgress: (bytes) => {
        if (bytes > 5e6) controller.abort();
      },
    });
    await expect(promise).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('rejects at once when already cancelled', async () => {
    await expect(importText(good(0), { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
  });
});
