// The data studio's operations on stored datasets (what the worker's data API calls): filtered and
// searched pages with exact totals, validated edits that leave the store untouched when refused,
// export shapes, splits applied in one transaction.
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { createDataset, getDataset, getExamples, openHoneDb, type ExampleInput, type HoneDb } from '../../src/core/store';
import { datasetFacets, editExample, exportDataset, queryExamples, removeDataset, removeExample } from '../../src/core/data/library';
import { splitDataset } from '../../src/core/data/library/split';
import { findDatasetDuplicates } from '../../src/core/data/library/dedup';
import { storedDatasetStats } from '../../src/core/data/library/stats';
import { importText } from '../../src/core/data/import';

const opened: HoneDb[] = [];
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
});

async function freshDb(): Promise<HoneDb> {
  const db = await openHoneDb({ name: `hone-library-${crypto.randomUUID()}` });
  opened.push(db);
  return db;
}

/** 30 examples: tasks cycle math/poem/qa, clusters reasoning (math) and writing (others),
 *  splits train for i < 20, test for 20–24, none after; every 7th mentions "banana". */
function examples(): ExampleInput[] {
  return Array.from({ length: 30 }, (_, i) => {
    const task = ['math', 'poem', 'qa'][i % 3];
    const example: ExampleInput = {
      instruction: `Instruction ${i}${i % 7 === 0 ? ' about a Banana' : ''}`,
      output: `Output ${i}`,
      task,
      cluster: task === 'math' ? 'reasoning' : 'writing',
    };
    if (i < 20) example.split = 'train';
    else if (i < 25) example.split = 'test';
    return example;
  });
}

async function seeded() {
  const db = await freshDb();
  const other = await createDataset(db, { name: 'other', source: 'inline' }, [{ instruction: 'banana elsewhere', output: 'x', task: 'math' }]);
  const dataset = await createDataset(db, { name: 'Mixed set', source: 'inline' }, examples());
  return { db, dataset, other };
}

const positions = (page: { examples: { position: number }[] }) => page.examples.map((e) => e.position);

describe('queryExamples', () => {
  it('pages through all examples with the total', async () => {
    const { db, dataset } = await seeded();
    const page = await queryExamples(db, dataset.id, { offset: 25, limit: 10 });
    expect(page.total).toBe(30);
    expect(positions(page)).toEqual([25, 26, 27, 28, 29]);
  });

  it('one filter uses the index: exact totals and pages', async () => {
    const { db, dataset } = await seeded();
    const math = await queryExamples(db, dataset.id, { task: 'math', offset: 2, limit: 3 });
    expect(math.total).toBe(10);
    expect(positions(math)).toEqual([6, 9, 12]);
    const test = await queryExamples(db, dataset.id, { split: 'test', offset: 0, limit: 100 });
    expect([test.total, positions(test)]).toEqual([5, [20, 21, 22, 23, 24]]);
    const writing = await queryExamples(db, dataset.id, { cluster: 'writing', offset: 18, limit: 5 });
    expect([writing.total, positions(writing)]).toEqual([20, [28, 29]]);
  });

  it('unsplit, combined filters and search scan the dataset (and only it)', async () => {
    const { db, dataset } = await seeded();
    const unsplit = await queryExamples(db, dataset.id, { split: 'unsplit', offset: 0, limit: 100 });
    expect([unsplit.total, positions(unsplit)]).toEqual([5, [25, 26, 27, 28, 29]]);
    const both = await queryExamples(db, dataset.id, { task: 'poem', split: 'train', offset: 1, limit: 2 });
    expect([both.total, positions(both)]).toEqual([7, [4, 7]]);
    const banana = await queryExamples(db, dataset.id, { search: '  BANANA ', offset: 0, limit: 100 });
    expect([banana.total, positions(banana)]).toEqual([5, [0, 7, 14, 21, 28]]);
    const bananaMath = await queryExamples(db, dataset.id, { search: 'banana', task: 'math', offset: 0, limit: 100 });
    expect(positions(bananaMath)).toEqual([0, 21]);
    const byOutput = await queryExamples(db, dataset.id, { search: 'output 1', offset: 0, limit: 3 });
    expect([byOutput.total, positions(byOutput)]).toEqual([11, [1, 10, 11]]);
  });

  it('a search result follows edits and deletions', async () => {
    const { db, dataset } = await seeded();
    const first = await queryExamples(db, dataset.id, { search: 'banana', offset: 0, limit: 100 });
    await editExample(db, first.examples[1].id, { instruction: 'No fruit here' });
    await removeExample(db, first.examples[2].id);
    const again = await queryExamples(db, dataset.id, { search: 'banana', offset: 0, limit: 100 });
    expect(positions(again)).toEqual([0, 21, 28]);
  });

  it('refuses bad arguments and unknown datasets', async () => {
    const { db, dataset } = await seeded();
    await expect(queryExamples(db, dataset.id, { offset: -1, limit: 5 })).rejects.toThrow('queryExamples: offset must be a whole number ≥ 0, got -1.');
    await expect(queryExamples(db, dataset.id, { offset: 0, limit: 5, split: 'dev' as 'test' })).rejects.toThrow('Unknown split “dev”');
    await expect(queryExamples(db, 'nope', { offset: 0, limit: 5 })).rejects.toThrow('No dataset with id “nope”');
  });
});

describe('datasetFacets', () => {
  it('counts tasks and clusters, most common first', async () => {
    const { db, dataset } = await seeded();
    expect(await datasetFacets(db, dataset.id)).toEqual({
      tasks: [['math', 10], ['poem', 10], ['qa', 10]],
      clusters: [['writing', 20], ['reasoning', 10]],
    });
  });
});

describe('storedDatasetStats', () => {
  it('counts splits, tasks and clusters and measures lengths in words without a tokenizer', async () => {
    const { db, dataset } = await seeded();
    const stats = await storedDatasetStats(db, dataset.id);
    expect(stats.total).toBe(30);
    expect(stats.splits).toEqual({ train: 20, validation: 0, test: 5, unsplit: 5 });
    // math: i = 0, 3, …, 27 → train for i < 20 (7), test 21, 24 (2), unsplit 27 (1)
    expect(stats.tasks[0]).toEqual({ name: 'math', total: 10, train: 7, validation: 0, test: 2, unsplit: 1 });
    expect(stats.clusters.map((c) => [c.name, c.total])).toEqual([['writing', 20], ['reasoning', 10]]);
    // "Instruction i" + "Output i" is 4 words; the five banana ones have 3 more
    expect(stats.lengths).toMatchObject({ unit: 'words', min: 4, max: 7, mean: 4.5, median: 4, p95: 7 });
    expect(stats.lengths?.buckets[0]).toEqual({ from: 0, to: 16, count: 30 });
    expect(stats.tokenizer).toBeNull();
  });

  it('uses the tokenizer it is given', async () => {
    const { db, dataset } = await seeded();
    const stats = await storedDatasetStats(db, dataset.id, { tokenize: (text) => text.length, tokenizerName: 'chars' });
    // the longest: "Instruction 28 about a Banana" (29) + "\n\n" (2) + "Output 28" (9) = 40 characters
    expect([stats.tokenizer, stats.lengths?.unit, stats.lengths?.max]).toEqual(['chars', 'tokens', 40]);
  });
});

describe('editExample', () => {
  it('saves an edit, removes emptied fields and recounts splits', async () => {
    const { db, dataset } = await seeded();
    const [example] = await getExamples(db, dataset.id, { offset: 3, limit: 1 });
    const saved = await editExample(db, example.id, { instruction: 'Edited', context: 'new context', task: '', split: 'validation', tags: ['checked', 'é'] });
    expect(saved).toEqual({
      id: example.id,
      datasetId: dataset.id,
      position: 3,
      instruction: 'Edited',
      context: 'new context',
      output: 'Output 3',
      cluster: 'reasoning',
      split: 'validation',
      tags: ['checked', 'é'],
    });
    expect((await getDataset(db, dataset.id))?.counts).toEqual({ total: 30, train: 19, validation: 1, test: 5, unsplit: 5 });
    const cleared = await editExample(db, example.id, { split: undefined, tags: [] });
    expect(cleared.split).toBeUndefined();
    expect('tags' in cleared).toBe(false);
    expect((await getDataset(db, dataset.id))?.counts).toEqual({ total: 30, train: 19, validation: 0, test: 5, unsplit: 6 });
  });

  it('refuses an invalid edit, naming the example and field, and changes nothing', async () => {
    const { db, dataset } = await seeded();
    const [example] = await getExamples(db, dataset.id, { offset: 4, limit: 1 });
    const before = await db.getAll('examples');
    await expect(editExample(db, example.id, { split: 'dev' as 'test' })).rejects.toThrow(
      'Example 5 was not saved: field "split": expected one of train, validation, test, got "dev".',
    );
    await expect(editExample(db, example.id, { instruction: '', output: '' })).rejects.toThrow(
      'Example 5 was not saved: record has no text: instruction and output are empty and there is no conversation.',
    );
    await expect(editExample(db, example.id, { tags: ['ok', 3 as unknown as string] })).rejects.toThrow('field "tags[1]": expected a string, got number');
    await expect(editExample(db, example.id, { position: 9 } as never)).rejects.toThrow('“position” cannot be edited');
    expect(await db.getAll('examples')).toEqual(before);
  });
});

describe('exportDataset', () => {
  it('writes each shape, in order, and the edit shows', async () => {
    const db = await freshDb();
    const imported = await importText(
      [
        JSON.stringify({ instruction: 'Translate', input: 'Bonjour', output: 'Hello' }),
        JSON.stringify({ instruction: 'Count', input: '', output: '1 2 3' }),
      ].join('\n'),
      { format: 'alpaca' },
    );
    const dataset = await createDataset(db, { name: 'My data / v1', source: 'inline' }, imported.records);
    const [first] = await getExamples(db, dataset.id, { limit: 1 });
    await editExample(db, first.id, { output: 'Hello!' });
    expect(await exportDataset(db, dataset.id, 'alpaca')).toEqual({
      fileName: 'My-data-v1.alpaca.jsonl',
      count: 2,
      text:
        '{"instruction":"Translate","input":"Bonjour","output":"Hello!"}\n' +
        '{"instruction":"Count","input":"","output":"1 2 3"}\n',
    });
    expect((await exportDataset(db, dataset.id, 'messages')).text.split('\n')[0]).toBe(
      '{"messages":[{"role":"user","content":"Translate\\n\\nBonjour"},{"role":"assistant","content":"Hello!"}]}',
    );
    expect((await exportDataset(db, dataset.id, 'sharegpt')).text.split('\n')[1]).toBe(
      '{"conversations":[{"from":"human","value":"Count"},{"from":"gpt","value":"1 2 3"}]}',
    );
  });

  it('a conversation cannot be Alpaca: the export fails naming the example', async () => {
    const db = await freshDb();
    const dataset = await createDataset(db, { name: 'chats', source: 'inline' }, [
      { instruction: 'a', output: 'b' },
      {
        instruction: 'hi',
        conversation: [
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: 'hello' },
          { role: 'user', content: 'bye' },
          { role: 'assistant', content: 'bye!' },
        ],
      },
    ]);
    await expect(exportDataset(db, dataset.id, 'alpaca')).rejects.toThrow(
      '“chats” cannot be exported as Alpaca: example 2 is a conversation of 4 turns; Alpaca holds one instruction and one output, so export it as messages or sharegpt.',
    );
    expect((await exportDataset(db, dataset.id, 'sharegpt')).count).toBe(2);
  });
});

describe('splitDataset', () => {
  it('assigns seeded splits in one go, holds clusters out and recounts', async () => {
    const { db, dataset, other } = await seeded();
    const result = await splitDataset(db, dataset.id, { train: 0.8, validation: 0.1, test: 0.1, seed: 7, heldOutClusters: ['reasoning'] });
    // 10 reasoning examples go to test; the other 20 split 16 / 2 / 2
    expect(result.counts).toEqual({ train: 16, validation: 2, test: 12 });
    expect(result.heldOut).toBe(10);
    expect(result.dataset.counts).toEqual({ total: 30, train: 16, validation: 2, test: 12, unsplit: 0 });
    const stored = await getExamples(db, dataset.id);
    expect(stored.filter((e) => e.cluster === 'reasoning').every((e) => e.split === 'test')).toBe(true);
    const again = await splitDataset(db, dataset.id, { train: 0.8, validation: 0.1, test: 0.1, seed: 7, heldOutClusters: ['reasoning'] });
    expect((await getExamples(db, dataset.id)).map((e) => e.split)).toEqual(stored.map((e) => e.split));
    expect(again.dataset.counts).toEqual(result.dataset.counts);
    expect(await getExamples(db, other.id)).toMatchObject([{ instruction: 'banana elsewhere' }]); // untouched, still unsplit
    expect((await getExamples(db, other.id))[0].split).toBeUndefined();
  });

  it('a bad request changes nothing', async () => {
    const { db, dataset } = await seeded();
    const before = await db.getAll('examples');
    await expect(splitDataset(db, dataset.id, { train: 0.8, validation: 0.3, test: 0, seed: 1 })).rejects.toThrow('split fractions must add up to 1');
    await expect(splitDataset(db, dataset.id, { train: 1, validation: 0, test: 0, seed: 1, heldOutClusters: ['poetry'] })).rejects.toThrow(
      'held-out cluster "poetry" has no examples (clusters here: reasoning, writing)',
    );
    expect(await db.getAll('examples')).toEqual(before);
  });
});

describe('findDatasetDuplicates', () => {
  it('groups exact and near duplicates by stored example', async () => {
    const db = await freshDb();
    const poem = 'Write a short poem about the sea, the sky and the small boats that sail home at night';
    const dataset = await createDataset(db, { name: 'dupes', source: 'inline' }, [
      { instruction: poem, output: 'Waves fold over the quiet harbour.' }, // 0
      { instruction: 'Add 2 and 2.', output: '4' }, // 1
      { instruction: `  ${poem.toUpperCase()} `, output: 'waves fold over the  quiet harbour.' }, // 2: exact after normalising
      { instruction: poem, output: 'Waves fold over the quiet harbor.' }, // 3: one shingle of 22 differs → 21/23
      { instruction: 'add 2 AND 2.', output: '4' }, // 4: exact
      { instruction: 'Name a prime number.', output: '7' }, // 5
    ]);
    const stored = await getExamples(db, dataset.id);
    const member = (i: number) => ({ id: stored[i].id, position: i, preview: stored[i].instruction.slice(0, 120) });
    const report = await findDatasetDuplicates(db, dataset.id);
    expect(report.exact).toEqual([
      { examples: [member(0), member(2)], similarity: 1 },
      { examples: [member(1), member(4)], similarity: 1 },
    ]);
    expect(report.near).toEqual([{ examples: [member(0), member(2), member(3)], similarity: 21 / 23 }]);
    expect(report.redundantExact).toBe(2);
  });
});

describe('removeDataset', () => {
  it('removes the dataset and its examples only', async () => {
    const { db, dataset, other } = await seeded();
    await removeDataset(db, dataset.id);
    expect((await db.getAll('datasets')).map((d) => d.id)).toEqual([other.id]);
    expect((await db.getAll('examples')).map((e) => e.datasetId)).toEqual([other.id]);
  });
});
