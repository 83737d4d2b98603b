// A workspace bundle: everything in Hone's database (datasets with their examples, runs with their
// checkpoints and metrics, evaluation reports, ratings, experiment reports, and stored models when
// asked) as one store-only zip, so a teacher can hand a class its starting point. Layout:
//   manifest.json                  format, format version, database version, record counts per store
//   stores/<store>.json            that store's records as JSON (bundle-codec.ts)
//   blobs/<store>-<n>.bin          their binary values (tensors, model files), one entry each
// Importing validates the whole bundle (CRCs, manifest, every record, every reference) before
// writing, then writes it in one transaction: all of it lands or none of it does. A record whose id
// is already stored replaces it, together with what belongs to it (a dataset's examples, a run's
// checkpoints…), so importing the same bundle twice leaves one copy.

import { readZip, writeZip, type ZipEntry } from '../zip';
import { BlobSink, BundleError, decodeValue, encodeValue } from './bundle-codec';
import { tallyExamples } from './datasets';
import type { HoneDb, HoneSchema } from './schema';
import { approximateBytes, fireDeletes, fireWrites, prefixRange, writeTransaction } from './transaction';
import type { StoreNames } from 'idb';

export { BundleError } from './bundle-codec';

export const BUNDLE_FORMAT = 'hone-workspace';
/** bumped when the layout changes in a way an older Hone could misread */
export const BUNDLE_VERSION = 1;
const MANIFEST = 'manifest.json';
const MODEL_STORES = new Set(['models', 'modelFiles']);

type StoreName = StoreNames<HoneSchema>;

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  version: number;
  /** the database version the records were read from; a Hone with an older database refuses the bundle */
  databaseVersion: number;
  createdAt: number;
  /** whether stored models (and their files) were included; built-in ones never are, they are re-fetched */
  includesModels: boolean;
  stores: Record<string, { entry: string; records: number }>;
}

export interface BundleProgress {
  stage: 'reading' | 'packing' | 'validating' | 'writing';
  /** records handled so far in this stage, of `total` */
  done: number;
  total: number;
}

export interface ExportOptions {
  /** include stored models and their files (large); default false */
  includeModels?: boolean;
  /** model ids never exported, e.g. the built-in hone-tiny, which every Hone fetches itself */
  leaveOutModels?: readonly string[];
  onProgress?: (progress: BundleProgress) => void;
  /** createdAt written into the manifest; tests pass a fixed one */
  now?: number;
}

export interface ExportedBundle {
  bytes: Uint8Array;
  manifest: BundleManifest;
}

/** What an import wrote: records per store. */
export interface ImportSummary {
  records: Record<string, number>;
  /** models that runs or evaluations in the bundle refer to and that are not stored here */
  missingModels: string[];
}

/** Reads every store in one transaction and packs it into a bundle. */
export async function exportWorkspace(db: HoneDb, opts: ExportOptions = {}): Promise<ExportedBundle> {
  const leaveOut = new Set(opts.leaveOutModels ?? []);
  const names = ([...db.objectStoreNames] as StoreName[]).filter((name) => opts.includeModels || !MODEL_STORES.has(name)).sort();
  opts.onProgress?.({ stage: 'reading', done: 0, total: names.length });
  const tx = db.transaction(names, 'readonly');
  const contents = new Map<StoreName, unknown[]>();
  for (const name of names) contents.set(name, await tx.objectStore(name).getAll());
  await tx.done;
  if (contents.has('models')) contents.set('models', contents.get('models')!.filter((m) => !leaveOut.has((m as { id: string }).id)));
  if (contents.has('modelFiles')) contents.set('modelFiles', contents.get('modelFiles')!.filter((f) => !leaveOut.has((f as { modelId: string }).modelId)));

  const total = [...contents.values()].reduce((sum, records) => sum + records.length, 0);
  const entries: ZipEntry[] = [];
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    databaseVersion: db.version,
    createdAt: opts.now ?? Date.now(),
    includesModels: opts.includeModels === true,
    stores: {},
  };
  const encoder = new TextEncoder();
  let done = 0;
  for (const [name, records] of contents) {
    const blobs = new BlobSink(`blobs/${name}-`);
    const entry = `stores/${name}.json`;
    const json = records.map((record) => encodeValue(record, blobs));
    entries.push({ name: entry, bytes: encoder.encode(JSON.stringify(json)) }, ...blobs.entries);
    manifest.stores[name] = { entry, records: records.length };
    done += records.length;
    opts.onProgress?.({ stage: 'packing', done, total });
  }
  entries.unshift({ name: MANIFEST, bytes: encoder.encode(JSON.stringify(manifest, null, 2)) });
  return { bytes: writeZip(entries), manifest };
}

/** What belongs to a record of an owning store, and is replaced with it. */
const CHILDREN: Partial<Record<StoreName, { store: StoreName; keys: (tx: ReadTx, id: string) => Promise<IDBValidKey[]> }>> = {
  datasets: { store: 'examples', keys: (tx, id) => tx.objectStore('examples').index('byDataset').getAllKeys(prefixRange(id)) },
  runs: { store: 'checkpoints', keys: (tx, id) => tx.objectStore('checkpoints').index('byRun').getAllKeys(prefixRange(id)) },
  evaluations: { store: 'ratings', keys: (tx, id) => tx.objectStore('ratings').index('byEvaluation').getAllKeys(id) },
  models: { store: 'modelFiles', keys: (tx, id) => tx.objectStore('modelFiles').getAllKeys(prefixRange(id)) },
};
/** child store → the field naming its owner, and the owner's store */
const OWNER: Partial<Record<StoreName, { field: string; store: StoreName }>> = {
  examples: { field: 'datasetId', store: 'datasets' },
  checkpoints: { field: 'runId', store: 'runs' },
  ratings: { field: 'evaluationId', store: 'evaluations' },
  modelFiles: { field: 'modelId', store: 'models' },
};
type ReadTx = ReturnType<HoneDb['transaction']>;

/**
 * Validates `bytes` as a bundle (nothing is written when any of it is wrong: the BundleError names
 * the entry) and writes all of its records in one transaction. `file` names the bundle in messages.
 */
export async function importWorkspace(
  db: HoneDb,
  bytes: Uint8Array,
  opts: { file?: string; onProgress?: (progress: BundleProgress) => void } = {},
): Promise<ImportSummary> {
  const file = opts.file ?? 'the bundle';
  const stores = parseBundle(db, bytes, file, opts.onProgress);
  if (stores.size === 0) return { records: {}, missingModels: [] };

  // References a record makes to one not in the bundle must be satisfied by this database.
  const storeNames = [...new Set([...stores.keys(), ...[...stores.keys()].flatMap((name) => (CHILDREN[name] ? [CHILDREN[name]!.store] : []))])];
  const lookup = [...new Set([...storeNames, ...(['datasets', 'runs', 'evaluations', 'models'] as StoreName[]).filter((n) => db.objectStoreNames.contains(n))])];
  const read = db.transaction(lookup, 'readonly');
  for (const [name, records] of stores) {
    const owner = OWNER[name];
    if (!owner) continue;
    const inBundle = new Set((stores.get(owner.store) ?? []).map((r) => (r as Record<string, unknown>).id));
    for (let i = 0; i < records.length; i++) {
      const ref = (records[i] as Record<string, unknown>)[owner.field];
      if (inBundle.has(ref)) continue;
      if ((await read.objectStore(owner.store).getKey(ref as string)) === undefined) {
        throw new BundleError(
          `stores/${name}.json`,
          `${file}: stores/${name}.json, record ${i + 1}: its ${owner.field} “${String(ref)}” is neither in the bundle nor stored here. Nothing was imported.`,
        );
      }
    }
  }
  const referenced = new Set<string>();
  for (const name of ['runs', 'evaluations'] as const) {
    for (const record of stores.get(name) ?? []) {
      const modelId = (record as { modelId?: unknown }).modelId;
      if (typeof modelId === 'string') referenced.add(modelId);
    }
  }
  const bundledModels = new Set((stores.get('models') ?? []).map((m) => (m as { id: string }).id));
  const missingModels: string[] = [];
  for (const id of [...referenced].sort()) {
    if (!bundledModels.has(id) && (await read.objectStore('models').getKey(id)) === undefined) missingModels.push(id);
  }
  // A replaced record takes what belongs to it along (a dataset's old examples would otherwise stay).
  const stale = new Map<StoreName, IDBValidKey[]>();
  for (const [name, records] of stores) {
    const child = CHILDREN[name];
    if (!child || !db.objectStoreNames.contains(child.store)) continue;
    for (const record of records) {
      const id = (record as { id: string }).id;
      if ((await read.objectStore(name).getKey(id)) === undefined) continue;
      const keys = await child.keys(read, id);
      const list = stale.get(child.store);
      if (list) list.push(...keys);
      else stale.set(child.store, keys);
    }
  }
  await read.done;

  const total = [...stores.values()].reduce((sum, records) => sum + records.length, 0);
  opts.onProgress?.({ stage: 'writing', done: 0, total });
  await writeTransaction(
    db,
    storeNames,
    { what: `importing the workspace bundle ${file} (${total.toLocaleString('en-US')} records)`, bytes: () => approximateBytes([...stores.values()]) },
    (tx) => {
      for (const [name, keys] of stale) fireDeletes(tx, name, keys);
      for (const [name, records] of stores) fireWrites(tx, name, 'put', records as HoneSchema[typeof name]['value'][]);
    },
  );
  opts.onProgress?.({ stage: 'writing', done: total, total });
  return { records: Object.fromEntries([...stores].map(([name, records]) => [name, records.length])), missingModels };
}

/** Every check that needs no database reads: the archive, the manifest, each store's records and keys. */
function parseBundle(db: HoneDb, bytes: Uint8Array, file: string, onProgress?: (progress: BundleProgress) => void): Map<StoreName, unknown[]> {
  let entries: ZipEntry[];
  try {
    entries = readZip(bytes);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const entry = /entry (\S+)/.exec(message)?.[1] ?? file;
    throw new BundleError(entry, `${file} is not a readable workspace bundle (${message}). Nothing was imported.`, { cause: error });
  }
  const byName = new Map(entries.map((entry) => [entry.name, entry.bytes]));
  const manifestBytes = byName.get(MANIFEST);
  if (!manifestBytes) throw new BundleError(MANIFEST, `${file} has no ${MANIFEST}: it is a zip, but not a Hone workspace bundle. Nothing was imported.`);
  const manifest = parseJson(manifestBytes, MANIFEST, file) as Partial<BundleManifest> | null;
  const bad = (what: string): never => {
    throw new BundleError(MANIFEST, `${file}: ${MANIFEST} ${what}. Nothing was imported.`);
  };
  if (typeof manifest !== 'object' || manifest === null || manifest.format !== BUNDLE_FORMAT) bad(`does not say format “${BUNDLE_FORMAT}”, so this is not a Hone workspace bundle`);
  const { version, databaseVersion } = manifest!;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) bad(`has no valid format version (got ${JSON.stringify(version)})`);
  if (version! > BUNDLE_VERSION) bad(`says format version ${version}; this Hone reads version ${BUNDLE_VERSION}. Open it with a newer Hone`);
  if (typeof databaseVersion !== 'number' || databaseVersion > db.version) {
    bad(`says its records come from database version ${JSON.stringify(databaseVersion)}; this Hone's database is version ${db.version}. Open it with a newer Hone`);
  }
  if (typeof manifest!.stores !== 'object' || manifest!.stores === null) bad('lists no stores');

  const blobs = new Map(entries.filter((entry) => entry.name.startsWith('blobs/')).map((entry) => [entry.name, entry.bytes]));
  const stores = new Map<StoreName, unknown[]>();
  const total = Object.values(manifest!.stores!).reduce((sum, s) => sum + (Number(s?.records) || 0), 0);
  let done = 0;
  for (const [name, listed] of Object.entries(manifest!.stores!)) {
    const entry = listed?.entry;
    if (typeof entry !== 'string') bad(`names no entry for store “${name}”`);
    if (!db.objectStoreNames.contains(name as StoreName)) {
      throw new BundleError(entry!, `${file}: ${entry} holds store “${name}”, which this Hone does not have. Nothing was imported.`);
    }
    const raw = byName.get(entry!);
    if (!raw) throw new BundleError(entry!, `${file}: ${entry} is listed in ${MANIFEST} but missing from the archive. Nothing was imported.`);
    const json = parseJson(raw, entry!, file);
    if (!Array.isArray(json)) throw new BundleError(entry!, `${file}: ${entry} is not a list of records. Nothing was imported.`);
    if (json.length !== listed!.records) {
      throw new BundleError(entry!, `${file}: ${entry} holds ${json.length} records, ${MANIFEST} says ${listed!.records}. Nothing was imported.`);
    }
    const keyPath = db.transaction(name as StoreName).store.keyPath;
    const records = json.map((item, i) => {
      const where = `record ${i + 1}`;
      let record: unknown;
      try {
        record = decodeValue(item, { entry: entry!, blobs }, where);
      } catch (error) {
        if (error instanceof BundleError) throw new BundleError(error.entry, `${file}: ${error.message} Nothing was imported.`, { cause: error });
        throw error;
      }
      checkKey(record, keyPath, `${file}: ${entry}, ${where}`, entry!);
      return record;
    });
    stores.set(name as StoreName, records);
    done += records.length;
    onProgress?.({ stage: 'validating', done, total });
  }
  checkCounts(stores, file);
  return stores;
}

function parseJson(bytes: Uint8Array, entry: string, file: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new BundleError(entry, `${file}: ${entry} is not valid JSON (${error instanceof Error ? error.message : String(error)}). Nothing was imported.`, { cause: error });
  }
}

function isValidKey(value: unknown): boolean {
  if (typeof value === 'string') return true;
  if (typeof value === 'number') return !Number.isNaN(value);
  if (Array.isArray(value)) return value.every(isValidKey);
  return value instanceof Date || value instanceof ArrayBuffer;
}

function checkKey(record: unknown, keyPath: string | string[] | null, where: string, entry: string): void {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) throw new BundleError(entry, `${where} is not a record. Nothing was imported.`);
  for (const path of keyPath === null ? [] : Array.isArray(keyPath) ? keyPath : [keyPath]) {
    const value = (record as Record<string, unknown>)[path];
    if (!isValidKey(value)) throw new BundleError(entry, `${where}: its key field “${path}” is ${JSON.stringify(value) ?? 'missing'}, not a valid key. Nothing was imported.`);
  }
}

/** A dataset's counts must match its examples in the bundle, or the Data view would show wrong numbers. */
function checkCounts(stores: Map<StoreName, unknown[]>, file: string): void {
  const examples = new Map<string, { split?: 'train' | 'validation' | 'test' }[]>();
  for (const example of (stores.get('examples') ?? []) as { datasetId: string; split?: 'train' | 'validation' | 'test' }[]) {
    const list = examples.get(example.datasetId);
    if (list) list.push(example);
    else examples.set(example.datasetId, [example]);
  }
  ((stores.get('datasets') ?? []) as { id: string; name?: string; counts?: Record<string, number> }[]).forEach((dataset, i) => {
    const counted = tallyExamples(examples.get(dataset.id) ?? []);
    const listed = dataset.counts ?? {};
    const differs = Object.keys(counted).some((key) => (listed[key] ?? 0) !== counted[key]);
    if (differs) {
      throw new BundleError(
        'stores/datasets.json',
        `${file}: stores/datasets.json, record ${i + 1} (dataset “${dataset.name ?? dataset.id}”) counts ${listed.total ?? 0} examples, ` +
          `but the bundle holds ${counted.total} of them. Nothing was imported.`,
      );
    }
  });
}
