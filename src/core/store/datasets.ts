// Datasets and their examples. A dataset is created with all of its examples in one transaction
// (a 100k-example import either lands whole or not at all), and every edit or deletion of an
// example updates the dataset's counts in the same transaction, so the counts never drift.

import { StoreNotFoundError } from './errors';
import type { DatasetRecord, ExampleRecord, HoneDb, Split } from './schema';
import { approximateBytes, fireDeletes, fireWrites, newId, prefixRange, writeTransaction, type WriteTx } from './transaction';

export type DatasetInput = Omit<DatasetRecord, 'id' | 'createdAt' | 'updatedAt' | 'counts'> & { id?: string };
/** An example as an importer produces it; the store assigns datasetId, position and (unless given) id. */
export type ExampleInput = Omit<ExampleRecord, 'id' | 'datasetId' | 'position'> & { id?: string };
/** Fields an edit may change; a field set to undefined is removed. */
export type ExamplePatch = Partial<Omit<ExampleRecord, 'id' | 'datasetId' | 'position'>>;

export interface ExampleQuery {
  /** at most one of split, task and cluster */
  split?: Split;
  task?: string;
  cluster?: string;
  /** examples to skip, in imported order */
  offset?: number;
  /** most examples to return; all when absent */
  limit?: number;
}

const SPLITS: readonly Split[] = ['train', 'validation', 'test'];

/** The counts a dataset record carries: total, and one per split plus `unsplit`. */
export function tallyExamples(examples: Iterable<Pick<ExampleRecord, 'split'>>): Record<string, number> {
  const counts = emptyCounts();
  for (const example of examples) adjustCounts(counts, example, 1);
  return counts;
}

function emptyCounts(): Record<string, number> {
  return { total: 0, train: 0, validation: 0, test: 0, unsplit: 0 };
}

function adjustCounts(counts: Record<string, number>, example: Pick<ExampleRecord, 'split'>, sign: 1 | -1): void {
  const bucket = example.split ?? 'unsplit';
  counts.total = (counts.total ?? 0) + sign;
  counts[bucket] = (counts[bucket] ?? 0) + sign;
}

function checkSplit(split: unknown, where: string): void {
  if (split !== undefined && !SPLITS.includes(split as Split)) {
    throw new Error(`${where}: split “${String(split)}” is not one of ${SPLITS.join(', ')}; fix it or leave it empty.`);
  }
}

/**
 * Stores a dataset and all of its examples in one transaction: all or nothing. Example ids must be
 * unique across the database (duplicates fail the whole import with a StorageWriteError).
 */
export async function createDataset(
  db: HoneDb,
  meta: DatasetInput,
  examples: readonly ExampleInput[],
): Promise<DatasetRecord> {
  const datasetId = meta.id ?? newId();
  const records: ExampleRecord[] = new Array(examples.length);
  for (let i = 0; i < examples.length; i++) {
    const example = examples[i];
    checkSplit(example.split, `Dataset “${meta.name}”, example ${i + 1}`);
    records[i] = { ...example, id: example.id ?? newId(), datasetId, position: i };
  }
  const now = Date.now();
  const dataset: DatasetRecord = { ...meta, id: datasetId, createdAt: now, updatedAt: now, counts: tallyExamples(records) };
  const what = `saving dataset “${meta.name}” (${examples.length.toLocaleString('en-US')} examples)`;
  await writeTransaction(
    db,
    ['datasets', 'examples'],
    { what, bytes: () => approximateBytes(records) },
    (tx) => {
      fireWrites(tx, 'datasets', 'add', [dataset]);
      fireWrites(tx, 'examples', 'add', records);
    },
  );
  return dataset;
}

/** Every dataset, newest first; reads no examples. */
export async function listDatasets(db: HoneDb): Promise<DatasetRecord[]> {
  const datasets = await db.getAllFromIndex('datasets', 'byCreatedAt');
  return datasets.reverse();
}

export function getDataset(db: HoneDb, id: string): Promise<DatasetRecord | undefined> {
  return db.get('datasets', id);
}

export function getExample(db: HoneDb, id: string): Promise<ExampleRecord | undefined> {
  return db.get('examples', id);
}

/** A page of a dataset's examples in imported order, optionally only one split, task or cluster. */
export async function getExamples(db: HoneDb, datasetId: string, query: ExampleQuery = {}): Promise<ExampleRecord[]> {
  const { split, task, cluster, offset = 0, limit } = query;
  const filters = { split, task, cluster };
  const given = Object.entries(filters).filter(([, value]) => value !== undefined);
  if (given.length > 1) {
    throw new Error(
      `getExamples filters by one of split, task or cluster at a time; got ${given.map(([key]) => key).join(' and ')}.`,
    );
  }
  for (const [name, value] of [['offset', offset], ['limit', limit]] as const) {
    if (value !== undefined && !(Number.isInteger(value) && value >= 0)) {
      throw new Error(`getExamples: ${name} must be a whole number ≥ 0, got ${value}.`);
    }
  }
  checkSplit(split, 'getExamples');
  if (limit === 0) return [];

  const tx = db.transaction('examples', 'readonly');
  const store = tx.store;
  const [index, range] =
    split !== undefined
      ? [store.index('byDatasetSplit'), prefixRange(datasetId, split)]
      : task !== undefined
        ? [store.index('byDatasetTask'), prefixRange(datasetId, task)]
        : cluster !== undefined
          ? [store.index('byDatasetCluster'), prefixRange(datasetId, cluster)]
          : [store.index('byDataset'), prefixRange(datasetId)];

  let page: ExampleRecord[];
  if (offset === 0) {
    page = await index.getAll(range, limit);
  } else {
    // Skip by reading primary keys only, then fetch the page's records. Cheaper than
    // cursor.advance(offset), which some implementations (fake-indexeddb) walk one step at a time.
    const keys = await index.getAllKeys(range, limit === undefined ? undefined : offset + limit);
    const records = await Promise.all(keys.slice(offset).map((key) => store.get(key)));
    page = records.filter((record): record is ExampleRecord => record !== undefined);
  }
  await tx.done;
  return page;
}

/** Edits one example and keeps its dataset's counts and updatedAt in step, in one transaction. */
export async function updateExample(db: HoneDb, id: string, patch: ExamplePatch): Promise<ExampleRecord> {
  checkSplit(patch.split, `Editing example ${id}`);
  return writeTransaction(db, ['datasets', 'examples'], { what: `saving your edit to example ${id}` }, async (tx) => {
    const examples = tx.objectStore('examples');
    const datasets = tx.objectStore('datasets');
    const old = await examples.get(id);
    if (!old) throw new StoreNotFoundError('example', id);
    const dataset = await datasets.get(old.datasetId);
    if (!dataset) throw new StoreNotFoundError('dataset', old.datasetId);
    const updated: ExampleRecord = { ...old, ...patch, id: old.id, datasetId: old.datasetId, position: old.position };
    for (const key of Object.keys(updated) as (keyof ExampleRecord)[]) {
      if (updated[key] === undefined) delete updated[key];
    }
    adjustCounts(dataset.counts, old, -1);
    adjustCounts(dataset.counts, updated, 1);
    dataset.updatedAt = Date.now();
    fireWrites(tx, 'examples', 'put', [updated]);
    fireWrites(tx, 'datasets', 'put', [dataset]);
    return updated;
  });
}

/** Deletes one example and updates its dataset's counts in the same transaction. Unknown ids are a no-op. */
export async function deleteExample(db: HoneDb, id: string): Promise<void> {
  await writeTransaction(db, ['datasets', 'examples'], { what: `deleting example ${id}` }, async (tx) => {
    const old = await tx.objectStore('examples').get(id);
    if (!old) return;
    const dataset = await tx.objectStore('datasets').get(old.datasetId);
    fireDeletes(tx, 'examples', [id]);
    if (dataset) {
      adjustCounts(dataset.counts, old, -1);
      dataset.updatedAt = Date.now();
      fireWrites(tx, 'datasets', 'put', [dataset]);
    }
  });
}

/** Deletes a dataset and all of its examples in one transaction. Unknown ids are a no-op. */
export async function deleteDataset(db: HoneDb, id: string): Promise<void> {
  await writeTransaction(db, ['datasets', 'examples'], { what: `deleting dataset ${id}` }, async (tx) => {
    const keys = await tx.objectStore('examples').index('byDataset').getAllKeys(prefixRange(id));
    fireDeletes(tx, 'examples', keys);
    fireDeletes(tx, 'datasets', [id]);
  });
}

// ---- moving examples between datasets (Self-Instruct's review queue) ---------------------------

type DatasetsTx = WriteTx<['datasets', 'examples']>;

/** The position after a dataset's last example; deletions leave gaps, so the count is not it. */
async function nextPosition(tx: DatasetsTx, datasetId: string): Promise<number> {
  const cursor = await tx.objectStore('examples').index('byDataset').openKeyCursor(prefixRange(datasetId), 'prev');
  return cursor ? cursor.key[1] + 1 : 0;
}

/** Adds examples after a dataset's last one, in one transaction with its counts. */
export async function appendExamples(db: HoneDb, datasetId: string, examples: readonly ExampleInput[]): Promise<ExampleRecord[]> {
  examples.forEach((example, i) => checkSplit(example.split, `Adding to dataset ${datasetId}, example ${i + 1}`));
  const what = `adding ${examples.length.toLocaleString('en-US')} examples to dataset ${datasetId}`;
  return writeTransaction(db, ['datasets', 'examples'], { what, bytes: () => approximateBytes(examples) }, async (tx) => {
    const dataset = await tx.objectStore('datasets').get(datasetId);
    if (!dataset) throw new StoreNotFoundError('dataset', datasetId);
    const start = await nextPosition(tx, datasetId);
    const records = examples.map((example, i): ExampleRecord => ({ ...example, id: example.id ?? newId(), datasetId, position: start + i }));
    for (const record of records) adjustCounts(dataset.counts, record, 1);
    dataset.updatedAt = Date.now();
    fireWrites(tx, 'examples', 'add', records);
    fireWrites(tx, 'datasets', 'put', [dataset]);
    return records;
  });
}

/**
 * Moves examples (in the order given) to the end of another dataset, updating both datasets'
 * counts, in one transaction: all move or, if any id is unknown, none. `removeTags` are dropped
 * from the moved examples (e.g. a review queue's "pending").
 */
export async function moveExamples(
  db: HoneDb,
  ids: readonly string[],
  targetDatasetId: string,
  opts: { removeTags?: readonly string[] } = {},
): Promise<ExampleRecord[]> {
  const what = `moving ${ids.length.toLocaleString('en-US')} examples to dataset ${targetDatasetId}`;
  return writeTransaction(db, ['datasets', 'examples'], { what }, async (tx) => {
    const datasets = new Map<string, DatasetRecord>();
    const datasetOf = async (id: string) => {
      if (!datasets.has(id)) {
        const record = await tx.objectStore('datasets').get(id);
        if (!record) throw new StoreNotFoundError('dataset', id);
        datasets.set(id, record);
      }
      return datasets.get(id)!;
    };
    const target = await datasetOf(targetDatasetId);
    let position = await nextPosition(tx, targetDatasetId);
    const moved: ExampleRecord[] = [];
    for (const id of new Set(ids)) {
      const old = await tx.objectStore('examples').get(id);
      if (!old) throw new StoreNotFoundError('example', id);
      const record: ExampleRecord = { ...old, datasetId: targetDatasetId, position: position++ };
      if (old.tags && opts.removeTags?.length) {
        const tags = old.tags.filter((tag) => !opts.removeTags!.includes(tag));
        if (tags.length > 0) record.tags = tags;
        else delete record.tags;
      }
      adjustCounts((await datasetOf(old.datasetId)).counts, old, -1);
      adjustCounts(target.counts, record, 1);
      moved.push(record);
    }
    const now = Date.now();
    for (const dataset of datasets.values()) dataset.updatedAt = now;
    fireWrites(tx, 'examples', 'put', moved);
    fireWrites(tx, 'datasets', 'put', datasets.values());
    return moved;
  });
}

/** Deletes examples and updates their datasets' counts in one transaction. Unknown ids are a no-op. */
export async function deleteExamples(db: HoneDb, ids: readonly string[]): Promise<number> {
  return writeTransaction(db, ['datasets', 'examples'], { what: `deleting ${ids.length.toLocaleString('en-US')} examples` }, async (tx) => {
    const datasets = new Map<string, DatasetRecord | undefined>();
    const found: string[] = [];
    for (const id of new Set(ids)) {
      const old = await tx.objectStore('examples').get(id);
      if (!old) continue;
      if (!datasets.has(old.datasetId)) datasets.set(old.datasetId, await tx.objectStore('datasets').get(old.datasetId));
      const dataset = datasets.get(old.datasetId);
      if (dataset) adjustCounts(dataset.counts, old, -1);
      found.push(id);
    }
    const now = Date.now();
    const changed = [...datasets.values()].filter((dataset): dataset is DatasetRecord => dataset !== undefined);
    for (const dataset of changed) dataset.updatedAt = now;
    fireDeletes(tx, 'examples', found);
    fireWrites(tx, 'datasets', 'put', changed);
    return found.length;
  });
}
