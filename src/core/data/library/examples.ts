// The data studio's operations on stored datasets: browsing (filtered, searched, paged), editing
// with validation, and export. The worker's data API is a thin layer over these, so they run and
// are tested in Node against fake-indexeddb.
import {
  deleteDataset as deleteStoredDataset,
  deleteExample as deleteStoredExample,
  getDataset,
  getExample,
  getExamples,
  StoreNotFoundError,
  updateExample as updateStoredExample,
  type DatasetRecord,
  type ExamplePatch,
  type ExampleRecord,
  type HoneDb,
  type Split,
} from '../../store';
import { prefixRange } from '../../store/transaction';
import { ExportError, exportLines, type ExportShape } from '../export';
import { formatImportError, SPLITS, validateRecord, type InstructionRecord } from '../record';

export interface ExampleFilter {
  /** case-insensitive text anywhere in the instruction, context, output, conversation, task, cluster or tags */
  search?: string;
  task?: string;
  cluster?: string;
  /** a split, or 'unsplit' for examples without one */
  split?: Split | 'unsplit';
}

export interface ExamplePageQuery extends ExampleFilter {
  offset: number;
  limit: number;
}

export interface ExamplePage {
  /** examples matching the filter, over the whole dataset */
  total: number;
  examples: ExampleRecord[];
}

/** Examples read per request when scanning a dataset: bounded memory, few round trips. */
const SCAN_BATCH = 1000;

/** Every example of a dataset in imported order, a batch at a time (memory stays one batch). */
export async function* scanExamples(db: HoneDb, datasetId: string): AsyncGenerator<ExampleRecord[]> {
  let after: number | undefined;
  for (;;) {
    const range = after === undefined ? prefixRange(datasetId) : IDBKeyRange.bound([datasetId, after], [datasetId, []], true, false);
    const batch = await db.getAllFromIndex('examples', 'byDataset', range, SCAN_BATCH);
    if (batch.length === 0) return;
    yield batch;
    if (batch.length < SCAN_BATCH) return;
    after = batch[batch.length - 1].position;
  }
}

/** The record fields of a stored example, without the store's id, datasetId and position. */
export function toInstructionRecord(example: ExampleRecord): InstructionRecord {
  const { id: _id, datasetId: _datasetId, position: _position, ...record } = example;
  return record as InstructionRecord;
}

function matcher(filter: ExampleFilter): (example: ExampleRecord) => boolean {
  const needle = filter.search?.trim().toLowerCase() ?? '';
  return (example) => {
    if (filter.task !== undefined && example.task !== filter.task) return false;
    if (filter.cluster !== undefined && example.cluster !== filter.cluster) return false;
    if (filter.split !== undefined && (example.split ?? 'unsplit') !== filter.split) return false;
    if (needle === '') return true;
    const texts = [example.instruction, example.context, example.output, example.task, example.cluster, ...(example.tags ?? [])];
    for (const turn of example.conversation ?? []) texts.push(turn.content);
    return texts.some((text) => text !== undefined && text.toLowerCase().includes(needle));
  };
}

function checkFilter(filter: ExampleFilter): void {
  if (filter.split !== undefined && filter.split !== 'unsplit' && !SPLITS.includes(filter.split)) {
    throw new Error(`Unknown split “${String(filter.split)}”: choose train, validation, test or unsplit.`);
  }
}

/**
 * Ids of the examples matching a filter, cached per dataset version: scrolling through a filtered
 * list asks for page after page of the same result, which must not rescan the dataset each time.
 */
class MatchCache {
  readonly #entries = new Map<string, string[]>();
  #generation = 0;

  /** Forget everything: called after every write made through this module. */
  invalidate(): void {
    this.#generation++;
    this.#entries.clear();
  }

  async ids(db: HoneDb, dataset: DatasetRecord, filter: ExampleFilter): Promise<string[]> {
    const key = JSON.stringify([dataset.id, dataset.updatedAt, this.#generation, filter.search?.trim().toLowerCase() ?? '', filter.task, filter.cluster, filter.split]);
    const cached = this.#entries.get(key);
    if (cached) return cached;
    const matches = matcher(filter);
    const ids: string[] = [];
    for await (const batch of scanExamples(db, dataset.id)) {
      for (const example of batch) if (matches(example)) ids.push(example.id);
    }
    if (this.#entries.size >= 8) this.#entries.delete(this.#entries.keys().next().value as string);
    this.#entries.set(key, ids);
    return ids;
  }
}

const cache = new MatchCache();

async function requireDataset(db: HoneDb, id: string): Promise<DatasetRecord> {
  const dataset = await getDataset(db, id);
  if (!dataset) throw new StoreNotFoundError('dataset', id);
  return dataset;
}

/** One page of a dataset's examples that match `query`, in imported order, with the match count. */
export async function queryExamples(db: HoneDb, datasetId: string, query: ExamplePageQuery): Promise<ExamplePage> {
  const { offset, limit } = query;
  for (const [name, value] of [['offset', offset], ['limit', limit]] as const) {
    if (!(Number.isInteger(value) && value >= 0)) throw new Error(`queryExamples: ${name} must be a whole number ≥ 0, got ${value}.`);
  }
  checkFilter(query);
  const dataset = await requireDataset(db, datasetId);
  const search = query.search?.trim() ?? '';
  const indexed = [query.task !== undefined, query.cluster !== undefined, query.split !== undefined].filter(Boolean).length;
  // No search and at most one indexed filter: an index gives the count and the page directly.
  if (search === '' && indexed === 0) {
    return { total: dataset.counts.total ?? 0, examples: await getExamples(db, datasetId, { offset, limit }) };
  }
  if (search === '' && indexed === 1 && query.split !== 'unsplit') {
    const [index, value] =
      query.split !== undefined
        ? (['byDatasetSplit', query.split] as const)
        : query.task !== undefined
          ? (['byDatasetTask', query.task] as const)
          : (['byDatasetCluster', query.cluster as string] as const);
    const total = await db.countFromIndex('examples', index, prefixRange(datasetId, value));
    const examples = await getExamples(db, datasetId, { split: query.split as Split | undefined, task: query.task, cluster: query.cluster, offset, limit });
    return { total, examples };
  }
  const ids = await cache.ids(db, dataset, query);
  const pageIds = ids.slice(offset, offset + limit);
  const tx = db.transaction('examples', 'readonly');
  const examples = await Promise.all(pageIds.map((id) => tx.store.get(id)));
  await tx.done;
  return { total: ids.length, examples: examples.filter((e): e is ExampleRecord => e !== undefined) };
}

/** The distinct tasks and clusters of a dataset with their counts, for the filter menus. */
export async function datasetFacets(db: HoneDb, datasetId: string): Promise<{ tasks: [string, number][]; clusters: [string, number][] }> {
  await requireDataset(db, datasetId);
  const tasks = new Map<string, number>();
  const clusters = new Map<string, number>();
  for await (const batch of scanExamples(db, datasetId)) {
    for (const example of batch) {
      if (example.task !== undefined) tasks.set(example.task, (tasks.get(example.task) ?? 0) + 1);
      if (example.cluster !== undefined) clusters.set(example.cluster, (clusters.get(example.cluster) ?? 0) + 1);
    }
  }
  const sorted = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return { tasks: sorted(tasks), clusters: sorted(clusters) };
}

/** Fields a person may edit, in the order the editor shows them. */
export const EDITABLE_FIELDS = ['instruction', 'context', 'output', 'task', 'cluster', 'split', 'tags', 'source', 'conversation', 'negatives', 'outputs'] as const;
const OPTIONAL_TEXT = new Set(['context', 'output', 'task', 'cluster', 'split', 'source']);

/**
 * Checks an edit against the record rules (the same ones imports pass) and saves it in one
 * transaction. An empty optional text field, an empty tag list and `undefined` remove the field.
 * Throws, naming the example and field, without saving when the result would be invalid.
 */
export async function editExample(db: HoneDb, id: string, patch: ExamplePatch): Promise<ExampleRecord> {
  const clean: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(patch)) {
    if (!(EDITABLE_FIELDS as readonly string[]).includes(key)) {
      throw new Error(`Example ${id}: “${key}” cannot be edited (editable: ${EDITABLE_FIELDS.join(', ')}).`);
    }
    const empty = value === '' && OPTIONAL_TEXT.has(key);
    clean[key] = empty || (Array.isArray(value) && value.length === 0) ? undefined : value;
  }
  const old = await getExample(db, id);
  if (!old) throw new StoreNotFoundError('example', id);
  const merged: Record<string, unknown> = { ...toInstructionRecord(old), ...clean };
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
  const errors = validateRecord(merged);
  if (errors.length > 0) {
    throw new Error(`Example ${old.position + 1} was not saved: ${errors.map(formatImportError).join('; ')}.`);
  }
  const saved = await updateStoredExample(db, id, clean as ExamplePatch);
  cache.invalidate();
  return saved;
}

export async function removeExample(db: HoneDb, id: string): Promise<void> {
  await deleteStoredExample(db, id);
  cache.invalidate();
}

export async function removeDataset(db: HoneDb, id: string): Promise<void> {
  await deleteStoredDataset(db, id);
  cache.invalidate();
}

/** Tells cached query results that examples changed through another module (splits, self-instruct). */
export function examplesChanged(): void {
  cache.invalidate();
}

const SHAPE_LABEL: Record<ExportShape, string> = { alpaca: 'Alpaca', messages: 'OpenAI messages', sharegpt: 'ShareGPT', hone: 'Hone' };

function fileSlug(name: string): string {
  return name.trim().replace(/[^\p{L}\p{N}._-]+/gu, '-').replace(/^-+|-+$/g, '') || 'dataset';
}

/** A dataset as JSONL text in one of the export shapes. A record the shape cannot hold (a chat as
 *  Alpaca) fails the whole export, naming the record, rather than being left out silently. */
export async function exportDataset(db: HoneDb, datasetId: string, shape: ExportShape): Promise<{ fileName: string; text: string; count: number }> {
  if (!(shape in SHAPE_LABEL)) throw new Error(`Unknown export shape “${String(shape)}”: choose alpaca, messages, sharegpt or hone.`);
  const dataset = await requireDataset(db, datasetId);
  const lines: string[] = [];
  try {
    async function* records(): AsyncGenerator<InstructionRecord[]> {
      for await (const batch of scanExamples(db, datasetId)) yield batch.map(toInstructionRecord);
    }
    for await (const batch of records()) {
      // exportLines numbers records from 0 per call; keep the dataset-wide index for errors
      const offset = lines.length;
      try {
        for (const line of exportLines(batch, shape)) lines.push(line);
      } catch (error) {
        if (error instanceof ExportError) throw new ExportError(error.message.replace(/^record \d+: /, ''), offset + error.record);
        throw error;
      }
    }
  } catch (error) {
    if (error instanceof ExportError) {
      throw new Error(`“${dataset.name}” cannot be exported as ${SHAPE_LABEL[shape]}: example ${error.record + 1} ${error.message.replace(/^record \d+: /, '')}.`);
    }
    throw error;
  }
  const text = lines.length === 0 ? '' : lines.join('\n') + '\n';
  return { fileName: `${fileSlug(dataset.name)}.${shape}.jsonl`, text, count: lines.length };
}
