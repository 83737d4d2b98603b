// The IndexedDB store against fake-indexeddb: schema, round trips with exact bytes, all-or-nothing
// writes (asserted by dumping every store before and after a failed write) and quota errors.
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  createDataset,
  deleteDataset,
  deleteExample,
  deleteModel,
  getDataset,
  getExamples,
  getModelFiles,
  isQuotaError,
  listDatasets,
  listModels,
  openHoneDb,
  saveModel,
  StorageQuotaError,
  StorageWriteError,
  StoreNotFoundError,
  updateExample,
  wrapStorageError,
  type ExampleInput,
  type HoneDb,
  type ModelInput,
} from '../../src/core/store';
import { dumpAll } from './store-helpers';

const fixture = (file: string) =>
  new Uint8Array(readFileSync(fileURLToPath(new URL(`../fixtures/hf/tiny-gpt2/${file}`, import.meta.url))));

const opened: HoneDb[] = [];
async function freshDb(): Promise<HoneDb> {
  const db = await openHoneDb({ name: `hone-test-${crypto.randomUUID()}` });
  opened.push(db);
  return db;
}

const gpt2Meta: ModelInput = {
  name: 'tiny-gpt2',
  modelType: 'gpt2',
  family: 'gpt2',
  parameterCount: 44_544,
  architecture: { numLayers: 2, hiddenSize: 32 },
  source: 'tests/fixtures/hf/tiny-gpt2',
};

function gpt2Files(): Map<string, Uint8Array> {
  return new Map([
    ['config.json', fixture('config.json')],
    ['model.safetensors', fixture('model.safetensors')],
    ['tokenizer.json', fixture('tokenizer.json')],
  ]);
}

const examples: ExampleInput[] = [
  { instruction: 'Add 2 and 3.', output: '5', split: 'train', task: 'arithmetic', cluster: 'c1' },
  { instruction: 'Capital of France?', output: 'Paris', split: 'validation', task: 'geography' },
  { instruction: 'Add 4 and 4.', output: '8', split: 'train', task: 'arithmetic', cluster: 'c1' },
  { instruction: 'Say hi.', output: 'hi', tags: ['greeting'] },
  {
    instruction: 'Translate “chat”.',
    conversation: [{ role: 'user', content: 'chat?' }, { role: 'assistant', content: 'cat' }],
    split: 'test',
    negatives: [{ output: 'dog', explanation: 'wrong animal' }],
  },
];

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  for (const db of opened.splice(0)) db.close();
});

describe('schema v1', () => {
  it('has every store with its key path and indexes', async () => {
    const db = await freshDb();
    expect(db.version).toBe(1);
    const layout: Record<string, { keyPath: unknown; indexes: Record<string, unknown> }> = {};
    const tx = db.transaction([...db.objectStoreNames], 'readonly');
    for (const name of db.objectStoreNames) {
      const store = tx.objectStore(name);
      const indexes: Record<string, unknown> = {};
      for (const index of store.indexNames) indexes[index] = store.index(index).keyPath;
      layout[name] = { keyPath: store.keyPath, indexes };
    }
    expect(layout).toEqual({
      models: { keyPath: 'id', indexes: { byCreatedAt: 'createdAt' } },
      modelFiles: { keyPath: ['modelId', 'name'], indexes: {} },
      datasets: { keyPath: 'id', indexes: { byCreatedAt: 'createdAt' } },
      examples: {
        keyPath: 'id',
        indexes: {
          byDataset: ['datasetId', 'position'],
          byDatasetSplit: ['datasetId', 'split', 'position'],
          byDatasetTask: ['datasetId', 'task', 'position'],
          byDatasetCluster: ['datasetId', 'cluster', 'position'],
        },
      },
      runs: { keyPath: 'id', indexes: { byModel: 'modelId', byCreatedAt: 'createdAt' } },
      checkpoints: { keyPath: 'id', indexes: { byRun: ['runId', 'step'], byRunValLoss: ['runId', 'valLoss'] } },
      evaluations: { keyPath: 'id', indexes: { byRun: 'runId', byModel: 'modelId', byCreatedAt: 'createdAt' } },
      ratings: { keyPath: 'id', indexes: { byEvaluation: 'evaluationId' } },
    });
  });
});

describe('models', () => {
  it('round-trips metadata and the exact file bytes', async () => {
    const db = await freshDb();
    const files = gpt2Files();
    // A view into a larger buffer: only the view's bytes may be stored.
    const padded = new Uint8Array(16);
    padded.set([123, 125], 5);
    files.set('tokenizer_config.json', padded.subarray(5, 7));
    const saved = await saveModel(db, gpt2Meta, files);
    expect(saved.totalBytes).toBe(747 + 178_216 + 21_266 + 2);
    expect(saved.files).toEqual([
      { name: 'config.json', byteLength: 747 },
      { name: 'model.safetensors', byteLength: 178_216 },
      { name: 'tokenizer.json', byteLength: 21_266 },
      { name: 'tokenizer_config.json', byteLength: 2 },
    ]);

    const listed = await listModels(db);
    expect(listed).toEqual([saved]);
    expect(JSON.stringify(listed)).not.toContain('bytes":{');

    const loaded = await getModelFiles(db, saved.id);
    expect([...loaded.keys()].sort()).toEqual([...files.keys()].sort());
    for (const [name, bytes] of files) expect(Buffer.from(loaded.get(name)!).equals(Buffer.from(bytes))).toBe(true);
    expect(new TextDecoder().decode(loaded.get('tokenizer_config.json'))).toBe('{}');
  });

  it('lists newest first and replacing a model drops files the new version lacks', async () => {
    const db = await freshDb();
    const first = await saveModel(db, gpt2Meta, gpt2Files());
    await new Promise((resolve) => setTimeout(resolve, 2));
    const second = await saveModel(db, { ...gpt2Meta, name: 'second' }, new Map([['config.json', fixture('config.json')]]));
    expect((await listModels(db)).map((m) => m.name)).toEqual(['second', 'tiny-gpt2']);

    await saveModel(db, { ...gpt2Meta, id: first.id, name: 'replaced' }, new Map([['config.json', new Uint8Array([1, 2])]]));
    const files = await getModelFiles(db, first.id);
    expect([...files.keys()]).toEqual(['config.json']);
    expect([...files.get('config.json')!]).toEqual([1, 2]);
    expect((await getModelFiles(db, second.id)).get('config.json')!.byteLength).toBe(747);
  });

  it('deleteModel removes the metadata and every file, and nothing of other models', async () => {
    const db = await freshDb();
    const keep = await saveModel(db, { ...gpt2Meta, name: 'keep' }, gpt2Files());
    const before = await dumpAll(db);
    const gone = await saveModel(db, gpt2Meta, gpt2Files());
    await deleteModel(db, gone.id);
    expect(await dumpAll(db)).toEqual(before);
    expect((await listModels(db)).map((m) => m.id)).toEqual([keep.id]);
    await expect(getModelFiles(db, gone.id)).rejects.toThrow(
      `No model with id “${gone.id}” is stored in this browser; it may have been deleted in another tab.`,
    );
    await expect(getModelFiles(db, gone.id)).rejects.toBeInstanceOf(StoreNotFoundError);
  });
});

describe('datasets', () => {
  it('creates a dataset with counts and pages its examples in imported order', async () => {
    const db = await freshDb();
    const dataset = await createDataset(db, { name: 'tiny', source: 'inline', licence: 'CC0' }, examples);
    expect(dataset.counts).toEqual({ total: 5, train: 2, validation: 1, test: 1, unsplit: 1 });
    expect(await listDatasets(db)).toEqual([dataset]);

    const all = await getExamples(db, dataset.id);
    expect(all.map((e) => e.instruction)).toEqual(examples.map((e) => e.instruction));
    expect(all.map((e) => e.position)).toEqual([0, 1, 2, 3, 4]);
    expect(all[4]).toEqual({ ...examples[4], id: all[4].id, datasetId: dataset.id, position: 4 });

    expect((await getExamples(db, dataset.id, { offset: 1, limit: 2 })).map((e) => e.position)).toEqual([1, 2]);
    expect((await getExamples(db, dataset.id, { offset: 4, limit: 10 })).map((e) => e.position)).toEqual([4]);
    expect(await getExamples(db, dataset.id, { offset: 9 })).toEqual([]);
    expect((await getExamples(db, dataset.id, { split: 'train' })).map((e) => e.output)).toEqual(['5', '8']);
    expect((await getExamples(db, dataset.id, { split: 'train', offset: 1 })).map((e) => e.output)).toEqual(['8']);
    expect((await getExamples(db, dataset.id, { task: 'geography' })).map((e) => e.output)).toEqual(['Paris']);
    expect((await getExamples(db, dataset.id, { cluster: 'c1', limit: 1 })).map((e) => e.output)).toEqual(['5']);
    await expect(getExamples(db, dataset.id, { split: 'train', task: 'x' })).rejects.toThrow(
      'getExamples filters by one of split, task or cluster at a time; got split and task.',
    );
  });

  it('edits and deletions keep the counts in step', async () => {
    const db = await freshDb();
    const dataset = await createDataset(db, { name: 'tiny', source: 'inline' }, examples);
    const [first, , , unsplit] = await getExamples(db, dataset.id);

    const edited = await updateExample(db, unsplit.id, { split: 'test', output: 'hello' });
    expect(edited).toEqual({ ...unsplit, split: 'test', output: 'hello' });
    expect((await getDataset(db, dataset.id))!.counts).toEqual({ total: 5, train: 2, validation: 1, test: 2, unsplit: 0 });

    const cleared = await updateExample(db, first.id, { split: undefined, cluster: undefined });
    expect('split' in cleared || 'cluster' in cleared).toBe(false);
    expect((await getDataset(db, dataset.id))!.counts).toEqual({ total: 5, train: 1, validation: 1, test: 2, unsplit: 1 });

    await deleteExample(db, first.id);
    expect((await getDataset(db, dataset.id))!.counts).toEqual({ total: 4, train: 1, validation: 1, test: 2, unsplit: 0 });
    expect((await getExamples(db, dataset.id)).map((e) => e.position)).toEqual([1, 2, 3, 4]);
    await expect(updateExample(db, first.id, { output: 'x' })).rejects.toBeInstanceOf(StoreNotFoundError);
    await expect(updateExample(db, unsplit.id, { split: 'dev' as never })).rejects.toThrow(
      `Editing example ${unsplit.id}: split “dev” is not one of train, validation, test; fix it or leave it empty.`,
    );
  });

  it('deleteDataset removes exactly its examples', async () => {
    const db = await freshDb();
    await createDataset(db, { name: 'keep', source: 'inline' }, examples.slice(0, 2));
    const before = await dumpAll(db);
    const gone = await createDataset(db, { name: 'gone', source: 'inline' }, examples);
    await deleteDataset(db, gone.id);
    expect(await dumpAll(db)).toEqual(before);
  });

  it('stores 100,000 examples in one transaction', { timeout: 180_000 }, async () => {
    const db = await freshDb();
    const many: ExampleInput[] = Array.from({ length: 100_000 }, (_, i) => ({
      instruction: `q${i}`,
      output: `a${i}`,
      split: i % 10 === 0 ? 'validation' : 'train',
    }));
    const dataset = await createDataset(db, { name: 'big', source: 'generated' }, many);
    expect(dataset.counts).toEqual({ total: 100_000, train: 90_000, validation: 10_000, test: 0, unsplit: 0 });
    const tail = await getExamples(db, dataset.id, { offset: 99_990, limit: 20 });
    expect(tail.map((e) => e.instruction)).toEqual(Array.from({ length: 10 }, (_, i) => `q${99_990 + i}`));
    expect((await getExamples(db, dataset.id, { split: 'validation', offset: 9_999 }))[0].instruction).toBe('q99990');
  });
});

describe('all-or-nothing writes', () => {
  it('an unstorable value midway leaves every store exactly as it was', async () => {
    const db = await freshDb();
    await saveModel(db, gpt2Meta, gpt2Files());
    await createDataset(db, { name: 'existing', source: 'inline' }, examples);
    const before = await dumpAll(db);
    const broken = [...examples, { instruction: 'x', output: (() => 1) as unknown as string }, ...examples];
    const error = await createDataset(db, { name: 'broken', source: 'inline' }, broken).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageWriteError);
    expect((error as StorageWriteError).reason).toBe('DataCloneError');
    expect((error as Error).message).toMatch(
      /^Saving dataset “broken” \(11 examples\) failed \(DataCloneError: .*\)\. A value in the record cannot be stored .*Nothing was written\.$/,
    );
    expect(await dumpAll(db)).toEqual(before);
  });

  it('a duplicate id midway (a failing request, not a throw) leaves every store as it was', async () => {
    const db = await freshDb();
    await createDataset(db, { name: 'existing', source: 'inline' }, [{ id: 'ex-1', instruction: 'a' }]);
    const before = await dumpAll(db);
    const duplicateWithin = [{ id: 'ex-2', instruction: 'b' }, { instruction: 'c' }, { id: 'ex-2', instruction: 'd' }];
    const within = await createDataset(db, { name: 'dup', source: 'inline' }, duplicateWithin).catch((e: unknown) => e);
    expect((within as StorageWriteError).reason).toBe('ConstraintError');
    expect((within as Error).message).toContain('A record with the same id already exists. Nothing was written.');
    const across = await createDataset(db, { name: 'dup', source: 'inline' }, [{ instruction: 'e' }, { id: 'ex-1', instruction: 'f' }]).catch(
      (e: unknown) => e,
    );
    expect((across as StorageWriteError).reason).toBe('ConstraintError');
    expect(await dumpAll(db)).toEqual(before);
  });
});

describe('quota', () => {
  function failAfter(method: 'add' | 'put', calls: number) {
    const original = IDBObjectStore.prototype[method];
    let count = 0;
    vi.spyOn(IDBObjectStore.prototype, method).mockImplementation(function (this: IDBObjectStore, ...args) {
      count += 1;
      if (count > calls) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return original.apply(this, args as Parameters<typeof original>);
    });
  }

  it('a quota failure midway becomes StorageQuotaError with usage and quota, and nothing is written', async () => {
    const db = await freshDb();
    await createDataset(db, { name: 'existing', source: 'inline' }, examples);
    const before = await dumpAll(db);
    vi.stubGlobal('navigator', { storage: { estimate: async () => ({ usage: 1_940_000_000, quota: 2_000_000_000 }) } });
    failAfter('add', 3);
    const error = await createDataset(db, { name: 'big', source: 'inline' }, examples).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageQuotaError);
    const quota = error as StorageQuotaError;
    expect([quota.usage, quota.quota]).toEqual([1_940_000_000, 2_000_000_000]);
    expect(quota.message).toBe(
      'Browser storage is full: saving dataset “big” (5 examples) was refused (it needed about 1.7 KB). ' +
        'The browser reports 1.9 GB used of 2.0 GB allowed for this site. ' +
        'Delete old runs, checkpoints or models in Hone, or free disk space on this computer, then try again. Nothing was written.',
    );
    vi.restoreAllMocks();
    expect(await dumpAll(db)).toEqual(before);
  });

  it('a model whose second file hits the quota leaves no metadata and no files', async () => {
    const db = await freshDb();
    const before = await dumpAll(db);
    failAfter('put', 2); // the metadata and the first file go through
    const error = await saveModel(db, gpt2Meta, gpt2Files()).catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      'Browser storage is full: saving model “tiny-gpt2” (3 files) was refused (it needed about 200.2 KB). ' +
        'Delete old runs, checkpoints or models in Hone, or free disk space on this computer, then try again. Nothing was written.',
    );
    vi.restoreAllMocks();
    expect(await dumpAll(db)).toEqual(before);
  });

  it('recognises the quota errors browsers raise', async () => {
    expect(isQuotaError(new DOMException('full', 'QuotaExceededError'))).toBe(true);
    expect(isQuotaError({ name: 'NS_ERROR_DOM_QUOTA_REACHED', message: 'x' })).toBe(true);
    expect(isQuotaError(new DOMException('dup', 'ConstraintError'))).toBe(false);
    expect(isQuotaError({ code: 22 })).toBe(false); // not a DOMException: Node codes mean other things
    expect(isQuotaError(new Error('QuotaExceededError'))).toBe(false);
    const wrapped = await wrapStorageError({ name: 'NS_ERROR_DOM_QUOTA_REACHED' }, 'saving run r1');
    expect(wrapped.message).toBe(
      'Browser storage is full: saving run r1 was refused. Delete old runs, checkpoints or models in Hone, ' +
        'or free disk space on this computer, then try again. Nothing was written.',
    );
  });
});
