// The dataset-viewer client against a local server that answers the documented shapes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { importHfDataset } from '../../src/core/data/import';

const DATASET = 'databricks/databricks-dolly-15k';
const TOTAL = 250;
const dollyRow = (i: number) => ({ instruction: `Question ${i} — ¿qué?`, context: i % 2 ? `context ${i}` : '', response: `Answer ${i} ✓`, category: i % 3 ? 'open_qa' : 'brainstorming' });

interface Dataset {
  splits: { config: string; split: string }[];
  rows: (split: string, i: number) => Record<string, unknown>;
  total: number;
  truncate?: number;
}

const datasets: Record<string, Dataset> = {
  [DATASET]: { splits: [{ config: 'default', split: 'train' }], rows: (_s, i) => dollyRow(i), total: TOTAL },
  'HuggingFaceH4/chat': {
    splits: [{ config: 'default', split: 'train_sft' }, { config: 'default', split: 'test' }],
    rows: (split, i) => ({ prompt: `p${i}`, messages: [{ role: 'user', content: `${split} ${i}` }, { role: 'assistant', content: `reply ${i}` }] }),
    total: 3,
  },
  'me/truncated': { splits: [{ config: 'default', split: 'train' }], rows: (_s, i) => dollyRow(i), total: 5, truncate: 3 },
  'me/unknown': { splits: [{ config: 'default', split: 'train' }], rows: () => ({ question: 'a', answer: 'b' }), total: 1 },
};

let server: Server;
let base = '';
const requests: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    requests.push(url.pathname + url.search);
    const dataset = datasets[url.searchParams.get('dataset') ?? ''];
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (!dataset) return send(404, { error: "The dataset doesn't exist on the Hub or cannot be accessed." });
    if (url.pathname === '/splits') {
      return send(200, { splits: dataset.splits.map((s) => ({ dataset: url.searchParams.get('dataset'), ...s })), pending: [], failed: [] });
    }
    if (url.pathname === '/rows') {
      const offset = Number(url.searchParams.get('offset'));
      const length = Number(url.searchParams.get('length'));
      if (length > 100) return send(422, { error: 'Parameter "length" must be <= 100' });
      const split = url.searchParams.get('split') ?? '';
      const rows = [];
      for (let i = offset; i < Math.min(offset + length, dataset.total); i++) {
        rows.push({ row_idx: i, row: dataset.rows(split, i), truncated_cells: i === dataset.truncate ? ['response'] : [] });
      }
      return send(200, { features: [], rows, num_rows_total: dataset.total, num_rows_per_page: 100, partial: false });
    }
    send(404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('hf-viewer', () => {
  it('pages through 250 rows, 100 at a time, mapping the Dolly shape', async () => {
    requests.length = 0;
    const progress: [number, number][] = [];
    const result = await importHfDataset({ dataset: DATASET, baseUrl: base + '/', onRows: (done, total) => progress.push([done, total]) });
    expect(result.errors).toEqual([]);
    expect(result.format).toBe('hf-viewer');
    expect(result.records).toHaveLength(TOTAL);
    expect(result.records[0]).toEqual({ instruction: 'Question 0 — ¿qué?', output: 'Answer 0 ✓', task: 'brainstorming', source: DATASET, split: 'train' });
    expect(result.records[249]).toEqual({ instruction: 'Question 249 — ¿qué?', context: 'context 249', output: 'Answer 249 ✓', task: 'brainstorming', source: DATASET, split: 'train' });
    const dataset = encodeURIComponent(DATASET);
    expect(requests).toEqual([
      `/splits?dataset=${dataset}`,
      `/rows?dataset=${dataset}&config=default&split=train&offset=0&length=100`,
      `/rows?dataset=${dataset}&config=default&split=train&offset=100&length=100`,
      `/rows?dataset=${dataset}&config=default&split=train&offset=200&length=100`,
    ]);
    expect(progress).toEqual([[100, 250], [200, 250], [250, 250]]);
  });

  it('honours maxRows and a smaller page size', async () => {
    const result = await importHfDataset({ dataset: DATASET, baseUrl: base, pageSize: 40, maxRows: 90 });
    expect(result.records.map((r) => r.instruction.split(' ')[1])).toEqual(Array.from({ length: 90 }, (_, i) => String(i)));
  });

  it('reads the messages shape and maps the test split', async () => {
    const result = await importHfDataset({ dataset: 'HuggingFaceH4/chat', baseUrl: base, split: 'test' });
    expect(result.records).toEqual([0, 1, 2].map((i) => ({ kind: 'conversation', instruction: `test ${i}`, output: `reply ${i}`, source: 'HuggingFaceH4/chat', split: 'test' })));
    // no train split: the first listed is used, and a Hub-only split name leaves `split` unset
    const first = await importHfDataset({ dataset: 'HuggingFaceH4/chat', baseUrl: base });
    expect(first.records[0]).toEqual({ kind: 'conversation', instruction: 'train_sft 0', output: 'reply 0', source: 'HuggingFaceH4/chat' });
  });

  it('reports truncated cells by row index and field', async () => {
    const result = await importHfDataset({ dataset: 'me/truncated', baseUrl: base });
    expect(result.records).toEqual([]);
    expect(result.errors).toEqual([
      { record: 3, field: 'response', message: 'was truncated by the dataset viewer (the cell is too large); download the dataset files and import them instead' },
    ]);
  });

  it('explains unknown datasets, splits and row shapes', async () => {
    expect((await importHfDataset({ dataset: 'nobody/nothing', baseUrl: base })).errors).toEqual([
      { message: `the dataset viewer answered 404 to ${base}/splits?dataset=nobody%2Fnothing: The dataset doesn't exist on the Hub or cannot be accessed.` },
    ]);
    expect((await importHfDataset({ dataset: DATASET, baseUrl: base, split: 'validation' })).errors).toEqual([
      { message: `dataset "${DATASET}" has no split (any config)/validation (available: default/train)` },
    ]);
    expect((await importHfDataset({ dataset: 'me/unknown', baseUrl: base })).errors).toEqual([
      { message: 'the rows of "me/unknown" have the columns question, answer, which match no format Hone reads (alpaca, dolly, sharegpt, messages, trl, hone)' },
    ]);
  });

  it('uses an injected fetch and passes the abort signal on', async () => {
    const controller = new AbortController();
    const seen: (AbortSignal | undefined)[] = [];
    const fetch = async (url: string, init?: { signal?: AbortSignal }) => {
      seen.push(init?.signal);
      const body = url.includes('/splits')
        ? { splits: [{ dataset: 'x/y', config: 'c', split: 'train' }] }
        : { rows: [{ row_idx: 0, row: { instruction: 'i', input: '', output: 'o' }, truncated_cells: [] }], num_rows_total: 1 };
      return { ok: true, status: 200, text: async () => JSON.stringify(body) };
    };
    const result = await importHfDataset({ dataset: 'x/y', fetch, signal: controller.signal });
    expect(result.records).toEqual([{ instruction: 'i', output: 'o', source: 'x/y', split: 'train' }]);
    expect(seen).toEqual([controller.signal, controller.signal]);
    controller.abort();
    await expect(importHfDataset({ dataset: 'x/y', fetch, signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });
});
