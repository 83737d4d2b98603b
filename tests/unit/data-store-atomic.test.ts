// Dataset import end to end into IndexedDB (fake-indexeddb), as the worker runs it: bytes in, one
// dataset with all records out, or located errors and a store exactly as it was (every object
// store dumped and compared before and after). Includes a 10 MB field and a 100 MB file.
import 'fake-indexeddb/auto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, openAsBlob, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  createDataset,
  createRun,
  getExamples,
  listDatasets,
  openHoneDb,
  saveModel,
  type HoneDb,
} from '../../src/core/store';
import { byteChunks, decodeChunks, firstInvalidUtf8 } from '../../src/core/data/decode';
import {
  importDatasetFile,
  importHubDataset,
  previewCsvColumns,
  type DatasetImportOutcome,
  type ImportProgress,
} from '../../src/core/data/library/import';
import { dumpAll } from './store-helpers';

const encode = (text: string) => new TextEncoder().encode(text);
const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const alpaca = (i: number) => ({ instruction: `Task ${i}`, input: i % 2 ? `input ${i}` : '', output: `Answer ${i}` });

/** A full garbage collection, for honest memory baselines (vitest runs without --expose-gc). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

const opened: HoneDb[] = [];
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
});

/** A database that already holds a model, a dataset and a run: an import must leave them be. */
async function populatedDb(): Promise<HoneDb> {
  const db = await openHoneDb({ name: `hone-atomic-${crypto.randomUUID()}` });
  opened.push(db);
  await saveModel(
    db,
    { name: 'm', modelType: 'gpt2', family: 'gpt2', parameterCount: 1, architecture: {}, source: 'test' },
    new Map([['config.json', encode('{"model_type":"gpt2"}')]]),
  );
  const existing = await createDataset(db, { name: 'existing', source: 'inline' }, [
    { instruction: 'Keep me', output: 'kept', split: 'train', task: 'keep' },
    { instruction: 'Me too', context: 'ctx', output: 'kept too', tags: ['a'] },
  ]);
  await createRun(db, { modelId: 'm', datasetId: existing.id, method: 'lora', config: { r: 4 } });
  return db;
}

/** Imports `bytes` and asserts that it fails with exactly `errors` and changes nothing stored. */
async function expectRejected(name: string, bytes: Uint8Array, errors: unknown[], opts: Parameters<typeof importDatasetFile>[2] = {}) {
  const db = await populatedDb();
  const before = await dumpAll(db);
  const outcome = await importDatasetFile(db, { name, bytes }, opts);
  expect(outcome.status).toBe('invalid');
  if (outcome.status !== 'invalid') return outcome;
  expect(outcome.errors).toEqual(errors);
  expect(await dumpAll(db)).toEqual(before);
  return outcome;
}

describe('bad files store nothing and say where', () => {
  it('truncated JSONL: the cut line is named', async () => {
    const text = jsonl([alpaca(0), alpaca(1)]) + '{"instruction": "Task 2", "out';
    const outcome = await expectRejected('cut.jsonl', encode(text), [
      { line: 3, message: 'the JSON ends too early (is the file truncated?) (column 31); JSONL needs one complete JSON object per line' },
    ]);
    if (outcome.status === 'invalid') {
      expect(outcome.message).toBe(
        'Nothing was imported from file cut.jsonl (alpaca): line 3: the JSON ends too early (is the file truncated?) (column 31); JSONL needs one complete JSON object per line',
      );
    }
  });

  it('truncated JSON array: the record and its line are named', async () => {
    const text = JSON.stringify([alpaca(0), alpaca(1)], null, 2).slice(0, -20);
    await expectRejected('cut.json', encode(text), [
      // the cut leaves line 10 as `    "outpu`
      { line: 10, message: 'the file ends inside record 1, which starts on line 7: the JSON is truncated (column 11)' },
    ]);
  });

  it('wrong field types: every bad field with its line', async () => {
    const text = jsonl([alpaca(0), { instruction: 'x', input: 3, output: 'y' }, alpaca(2), { instruction: 'z', output: ['a'] }]);
    await expectRejected('types.jsonl', encode(text), [
      { line: 2, field: 'input', message: 'expected a string, got number' },
      { line: 4, field: 'output', message: 'expected a string, got array' },
    ]);
  });

  it('a missing required field, in a Dolly file among 500 good records', async () => {
    const rows = Array.from({ length: 500 }, (_, i) => ({ instruction: `q${i}`, context: '', response: `r${i}`, category: 'open_qa' }));
    delete (rows[417] as Partial<(typeof rows)[number]>).response;
    await expectRejected('dolly.jsonl', encode(jsonl(rows)), [{ line: 418, field: 'response', message: 'is missing; every Dolly record needs "response"' }]);
  });

  it('a record that is not an object, in a ShareGPT array', async () => {
    const chat = { conversations: [{ from: 'human', value: 'hi' }, { from: 'gpt', value: 'hello' }] };
    await expectRejected('chats.json', encode(JSON.stringify([chat, 42, chat])), [
      { line: 1, record: 1, message: 'expected a JSON object (one ShareGPT record), got number' },
    ]);
  });

  it.each([
    ['an empty file', ''],
    ['a file with only a BOM and blank lines', '\uFEFF\r\n \n'],
  ])('%s', async (_what, text) => {
    await expectRejected('empty.jsonl', encode(text), [{ message: 'the file is empty: there is nothing to import' }]);
  });

  it('an empty file with the format chosen', async () => {
    await expectRejected('empty.jsonl', encode(''), [{ message: 'no records found: the file is empty or holds only blank lines' }], { format: 'alpaca' });
  });

  it('bytes that are not UTF-8: the line of the first bad byte', async () => {
    const good = encode(jsonl([alpaca(0), alpaca(1)]));
    const latin1 = new Uint8Array([...good, ...encode('{"instruction": "caf'), 0xe9, ...encode('", "output": "x"}\n')]);
    await expectRejected('latin1.jsonl', latin1, [
      { line: 3, message: `byte ${good.length + 21} is not valid UTF-8 text; save the file as UTF-8 and import it again` },
    ]);
  });

  it('a CSV mapping naming a column the file lacks', async () => {
    await expectRejected('q.csv', encode('question,answer\r\nWhy?,Because.\r\n'), [
      { line: 1, field: 'reply', message: 'is mapped to "output" but is not a column of the header (columns: "question", "answer")' },
    ], { mapping: { instruction: 'question', output: 'reply' } });
  });

  it('JSON in no known shape, auto-detected', async () => {
    const outcome = await expectRejected('odd.jsonl', encode(jsonl([{ question: 'a', answer: 'b' }])), [
      {
        message:
          'cannot tell which dataset format this JSON is: the first record has the keys "question", "answer"; Hone reads alpaca (instruction/input/output), dolly (instruction/context/response), sharegpt (conversations), messages (messages), sni (Definition/Instances), trl (prompt/completion, text) and hone records; choose the format explicitly',
      },
    ]);
    expect(outcome?.status === 'invalid' && outcome.format).toBe('unknown');
  });
});

describe('good files are stored whole', () => {
  it('stores every record in order, with counts, next to what was there', async () => {
    const db = await populatedDb();
    const before = await dumpAll(db);
    const rows = [alpaca(0), alpaca(1), alpaca(2)];
    const progress: ImportProgress[] = [];
    const outcome = await importDatasetFile(db, { name: 'folder/three.jsonl', bytes: encode('\uFEFF' + jsonl(rows).replace(/\n/g, '\r\n')) }, { onProgress: (p) => progress.push(p) });
    expect(outcome.status).toBe('imported');
    if (outcome.status !== 'imported') return;
    expect(outcome.format).toBe('alpaca');
    expect(outcome.dataset).toMatchObject({ name: 'three', source: 'file folder/three.jsonl (alpaca)', counts: { total: 3, train: 0, validation: 0, test: 0, unsplit: 3 } });
    const stored = await getExamples(db, outcome.dataset.id);
    expect(stored.map(({ id: _id, ...rest }) => rest)).toEqual([
      { datasetId: outcome.dataset.id, position: 0, instruction: 'Task 0', output: 'Answer 0' },
      { datasetId: outcome.dataset.id, position: 1, instruction: 'Task 1', context: 'input 1', output: 'Answer 1' },
      { datasetId: outcome.dataset.id, position: 2, instruction: 'Task 2', output: 'Answer 2' },
    ]);
    const bytes = 3 + jsonl(rows).length + 3;
    expect(progress).toEqual([
      { stage: 'reading', done: bytes, total: bytes },
      { stage: 'saving', done: 0, total: 3 },
      { stage: 'saving', done: 3, total: 3 },
    ]);
    const after = await dumpAll(db);
    expect(after.models).toEqual(before.models);
    expect(after.runs).toEqual(before.runs);
    expect(after.examples).toHaveLength(5);
    expect((await listDatasets(db)).map((d) => d.name)).toEqual(['three', 'existing']);
  });

  it('a CSV with a column mapping, tags and splits', async () => {
    const db = await populatedDb();
    const text = 'prompt\tanswer\tkind\tset\tlabels\nAdd 2+2\t4\tmath\ttrain\t"easy, arithmetic"\nName a colour\tBlue\topen\ttest\t\n';
    const preview = await previewCsvColumns({ name: 'q.tsv', bytes: encode(text) });
    expect(preview).toEqual({
      delimiter: '\t',
      columns: ['prompt', 'answer', 'kind', 'set', 'labels'],
      rows: [['Add 2+2', '4', 'math', 'train', 'easy, arithmetic'], ['Name a colour', 'Blue', 'open', 'test', '']],
      mapping: { instruction: 'prompt', output: 'answer' },
    });
    const mapping = { instruction: 'prompt', output: 'answer', task: 'kind', split: 'set', tags: 'labels' };
    const outcome = await importDatasetFile(db, { name: 'q.tsv', bytes: encode(text) }, { mapping, name: ' Quiz ' });
    if (outcome.status !== 'imported') throw new Error(JSON.stringify(outcome));
    expect(outcome.dataset).toMatchObject({ name: 'Quiz', counts: { total: 2, train: 1, test: 1, validation: 0, unsplit: 0 } });
    expect((await getExamples(db, outcome.dataset.id)).map((e) => [e.instruction, e.output, e.task, e.split, e.tags])).toEqual([
      ['Add 2+2', '4', 'math', 'train', ['easy', 'arithmetic']],
      ['Name a colour', 'Blue', 'open', 'test', undefined],
    ]);
  });

  it('a 10 MB single field arrives intact', async () => {
    const db = await populatedDb();
    const piece = 'Ünïcödé 🎉 long field. '; // 23 UTF-16 units, 30 UTF-8 bytes
    const big = piece.repeat(Math.ceil((10 * 2 ** 20) / piece.length)).slice(0, 10 * 2 ** 20);
    const outcome = await importDatasetFile(db, { name: 'big-field.jsonl', bytes: encode(jsonl([alpaca(0), { instruction: 'Repeat', input: '', output: big }])) });
    if (outcome.status !== 'imported') throw new Error(JSON.stringify(outcome).slice(0, 500));
    const [, stored] = await getExamples(db, outcome.dataset.id);
    expect(stored.output === big).toBe(true);
    expect(stored.output?.length).toBe(10 * 2 ** 20);
  });
});

describe('cancelling', () => {
  it('a cancel during reading stores nothing', async () => {
    const db = await populatedDb();
    const before = await dumpAll(db);
    const controller = new AbortController();
    const text = jsonl(Array.from({ length: 60_000 }, (_, i) => alpaca(i))); // ~3.5 MB: several chunks
    const outcome = await importDatasetFile(db, { name: 'c.jsonl', bytes: encode(text) }, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.stage === 'reading' && p.done >= 2 ** 20) controller.abort();
      },
    });
    expect(outcome).toEqual({ status: 'cancelled' });
    expect(await dumpAll(db)).toEqual(before);
  });

  it('an import cancelled before it starts stores nothing', async () => {
    const db = await populatedDb();
    const before = await dumpAll(db);
    const outcome = await importDatasetFile(db, { name: 'c.jsonl', bytes: encode(jsonl([alpaca(0)])) }, { signal: AbortSignal.abort() });
    expect(outcome).toEqual<DatasetImportOutcome>({ status: 'cancelled' });
    expect(await dumpAll(db)).toEqual(before);
  });
});

describe('a 100 MB JSONL file', () => {
  // 10,000 records of ~10 KB: the size that matters for memory is the file's, and fewer records keep
  // fake-indexeddb (whose per-record cost is far above a browser's) within a test's time.
  const RECORDS = 10_000;
  let dir = '';
  let path = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hone-100mb-'));
    path = join(dir, 'big.jsonl');
    const filler = 'y'.repeat(9_950);
    const lines: string[] = [];
    for (let i = 0; i < RECORDS; i++) lines.push(`{"instruction":"Echo ${i}","input":"","output":"${filler}${i}"}\n`);
    writeFileSync(path, lines.join(''));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('imports whole from a file-backed Blob (as a browser File is), in bounded memory, reporting progress', async () => {
    const db = await populatedDb();
    const file = await openAsBlob(path); // read from disk as it is streamed, like a dropped File
    expect(file.size).toBeGreaterThan(100e6);
    // JS heap plus ArrayBuffers: a copy of the file, as a buffer or as strings, would show in one of them
    const used = () => {
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    collectGarbage(); // so earlier tests' garbage does not sit in the baseline
    const base = used();
    let readingPeak = base;
    let peak = base;
    const reading: number[] = [];
    const sample = setInterval(() => (peak = Math.max(peak, used())), 25);
    const start = performance.now();
    let parsedAt = 0;
    const outcome = await importDatasetFile(db, { name: 'big.jsonl', bytes: file }, {
      onProgress: (p) => {
        const now = used();
        peak = Math.max(peak, now);
        if (p.stage === 'reading') {
          reading.push(p.done);
          expect(p.total).toBe(file.size);
          readingPeak = Math.max(readingPeak, now);
        } else if (p.done === 0) parsedAt = performance.now();
      },
    });
    clearInterval(sample);
    const seconds = (performance.now() - start) / 1000;
    if (outcome.status !== 'imported') throw new Error(JSON.stringify(outcome).slice(0, 500));
    expect(outcome.dataset.counts.total).toBe(RECORDS);
    const [last] = await getExamples(db, outcome.dataset.id, { offset: RECORDS - 1 });
    expect(last).toMatchObject({ position: RECORDS - 1, instruction: `Echo ${RECORDS - 1}`, output: `${'y'.repeat(9_950)}${RECORDS - 1}` });
    // about one report per megabyte, rising to the file's size
    expect(reading.length).toBeGreaterThanOrEqual(95);
    expect(reading.every((done, i) => i === 0 || done > reading[i - 1])).toBe(true);
    expect(reading.at(-1)).toBe(file.size);
    const mb = (n: number) => (n - base) / 2 ** 20;
    console.log(
      `100 MB import: ${seconds.toFixed(1)} s (parse ${((parsedAt - start) / 1000).toFixed(1)} s); heap + buffers grew ` +
        `${mb(readingPeak).toFixed(0)} MB while parsing (the records), ${mb(peak).toFixed(0)} MB at the peak (while saving)`,
    );
    // Parsing keeps the records (~the file's text) and a chunk, never the file as one string or
    // buffer; saving adds fake-indexeddb's structured clones (a browser hands those to its backend).
    expect(mb(readingPeak)).toBeLessThan(150);
    expect(mb(peak)).toBeLessThan(300);
  });

  it('with one bad record at the very end stores nothing', async () => {
    const good = readFileSync(path);
    const bytes = new Uint8Array(good.length + 40);
    bytes.set(good);
    bytes.set(encode('{"instruction":"last","output":false}\n'), good.length);
    await expectRejected('big-bad.jsonl', bytes.subarray(0, good.length + 38), [
      { line: RECORDS + 1, field: 'output', message: 'expected a string, got boolean' },
    ]);
  });
});

describe('a Hub dataset through the dataset viewer API', () => {
  // answers /splits and /rows in the documented shapes; row 3 of "me/cut" has a truncated cell
  let server: Server;
  let baseUrl = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const dataset = url.searchParams.get('dataset');
      const send = (body: unknown) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (url.pathname === '/splits') return send({ splits: [{ dataset, config: 'default', split: 'train' }] });
      const offset = Number(url.searchParams.get('offset'));
      const length = Number(url.searchParams.get('length'));
      const rows = [];
      for (let i = offset; i < Math.min(offset + length, 5); i++) {
        const row = { instruction: `Q${i}`, context: '', response: `A${i}`, category: 'open_qa' };
        rows.push({ row_idx: i, row, truncated_cells: dataset === 'me/cut' && i === 3 ? ['response'] : [] });
      }
      send({ features: [], rows, num_rows_total: 5, num_rows_per_page: 100, partial: false });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('stores every row, paged, with its split and source', async () => {
    const db = await populatedDb();
    const progress: ImportProgress[] = [];
    const outcome = await importHubDataset(db, { dataset: 'me/dolly', baseUrl, onProgress: (p) => progress.push(p), pageSize: 2 });
    if (outcome.status !== 'imported') throw new Error(JSON.stringify(outcome));
    expect(outcome.dataset).toMatchObject({ name: 'me/dolly', source: 'Hugging Face Hub me/dolly', counts: { total: 5, train: 5 } });
    expect((await getExamples(db, outcome.dataset.id)).map((e) => [e.instruction, e.output, e.task, e.split, e.source])).toEqual(
      [0, 1, 2, 3, 4].map((i) => [`Q${i}`, `A${i}`, 'open_qa', 'train', 'me/dolly']),
    );
    expect(progress.filter((p) => p.stage === 'reading').map((p) => p.done)).toEqual([2, 4, 5]);
  });

  it('a truncated cell stores nothing and names the row and field', async () => {
    const db = await populatedDb();
    const before = await dumpAll(db);
    const outcome = await importHubDataset(db, { dataset: 'me/cut', baseUrl });
    expect(outcome).toEqual({
      status: 'invalid',
      format: 'hf-viewer',
      errors: [{ record: 3, field: 'response', message: 'was truncated by the dataset viewer (the cell is too large); download the dataset files and import them instead' }],
      message:
        'Nothing was imported from Hugging Face Hub me/cut: record 3, field "response": was truncated by the dataset viewer (the cell is too large); download the dataset files and import them instead',
    });
    expect(await dumpAll(db)).toEqual(before);
  });
});

describe('reading bytes', () => {
  it('a File (Blob) is streamed and gives the same records as its bytes', async () => {
    const text = jsonl(Array.from({ length: 2000 }, (_, i) => alpaca(i))); // ~110 KB: several stream chunks
    const db = await populatedDb();
    const fromBlob = await importDatasetFile(db, { name: 'a.jsonl', bytes: new Blob([text]) });
    const fromBytes = await importDatasetFile(db, { name: 'a.jsonl', bytes: encode(text) });
    if (fromBlob.status !== 'imported' || fromBytes.status !== 'imported') throw new Error('import failed');
    const strip = (examples: { id: string; datasetId: string }[]) => examples.map(({ id: _i, datasetId: _d, ...rest }) => rest);
    expect(fromBlob.dataset.counts.total).toBe(2000);
    expect(strip(await getExamples(db, fromBlob.dataset.id))).toEqual(strip(await getExamples(db, fromBytes.dataset.id)));
  });

  it('locates a bad byte whatever the chunking, also after characters cut between chunks', async () => {
    const good = encode('héllo\nwörld 🎉\n'); // 19 bytes
    const bytes = new Uint8Array([...good, 0xff, 0x78]);
    for (const size of [1, 2, 3, 5, 18, 19, 20, 1024]) {
      const read = async () => {
        for await (const _text of decodeChunks(byteChunks(bytes, size)));
      };
      await expect(read(), `chunks of ${size}`).rejects.toMatchObject({
        error: { line: 3, message: 'byte 20 is not valid UTF-8 text; save the file as UTF-8 and import it again' },
      });
    }
    const cut = encode('ok\n🎉').subarray(0, 5); // ends inside the emoji
    const readCut = async () => {
      for await (const _text of decodeChunks(byteChunks(cut, 2)));
    };
    await expect(readCut()).rejects.toMatchObject({
      error: { line: 2, message: 'the file ends in the middle of a UTF-8 character (byte 4); save the file as UTF-8 and import it again' },
    });
  });
});

describe('firstInvalidUtf8', () => {
  it('finds bad bytes and accepts sequences cut at the end of the range', () => {
    expect(firstInvalidUtf8(encode('héllo 🎉'), 0, 11)).toBe(-1);
    expect(firstInvalidUtf8(new Uint8Array([0x61, 0xc0, 0x80]), 0, 3)).toBe(1); // overlong
    expect(firstInvalidUtf8(new Uint8Array([0x61, 0xed, 0xa0, 0x80]), 0, 4)).toBe(1); // surrogate
    expect(firstInvalidUtf8(new Uint8Array([0x61, 0xf0, 0x9f]), 0, 3)).toBe(-1); // cut off: the next chunk completes it
    expect(firstInvalidUtf8(new Uint8Array([0x61, 0xe2, 0x41]), 0, 3)).toBe(1);
  });
});
