// Hone's IndexedDB database: record types, the typed schema, the migrations that build it and the
// one function that opens it. Version N of the database is what migrations[0..N-1] produce, so an
// old database is upgraded by replaying only the migrations it has not seen, inside the single
// versionchange transaction the browser gives us: a failed migration rolls the whole upgrade back.

import { deleteDB, openDB } from 'idb';
import type { DBSchema, IDBPDatabase, IDBPTransaction } from 'idb';
import { StoreVersionError } from './errors';

export const HONE_DB_NAME = 'hone';

// ---- records ---------------------------------------------------------------------------------

/** A model's metadata; its checkpoint files live in `modelFiles` so listing models reads no weights. */
export interface ModelRecord {
  id: string;
  name: string;
  /** the checkpoint's model_type (gpt2, llama, qwen2) */
  modelType: string;
  /** decoder family (gpt2, llama) */
  family: string;
  parameterCount: number;
  /** a summary for display (layers, hidden size, vocabulary…), not used to rebuild the model */
  architecture: Record<string, unknown>;
  /** the stored files' names and sizes, so the UI can show them without reading them */
  files: { name: string; byteLength: number }[];
  totalBytes: number;
  createdAt: number;
  /** where it came from: a Hub id, a folder name, "trained in Hone" */
  source: string;
}

/** One raw checkpoint file (config.json, model.safetensors, tokenizer.json…), kept so a reload needs no re-import. */
export interface ModelFileRecord {
  modelId: string;
  name: string;
  bytes: ArrayBuffer;
}

export interface DatasetRecord {
  id: string;
  name: string;
  source: string;
  licence?: string;
  createdAt: number;
  updatedAt: number;
  /** kept in step with the examples by every write: total, train, validation, test, unsplit */
  counts: Record<string, number>;
  /** how a derived dataset was made (a mixture, a staged plan, augmentation), so it can be read back
   *  and remade; absent for imports. Typed by its maker (src/core/data/shaping/specs.ts). */
  recipe?: { kind: string } & Record<string, unknown>;
}

export type Split = 'train' | 'validation' | 'test';

export interface ExampleRecord {
  id: string;
  datasetId: string;
  /** order within the dataset as imported; pages and training order follow it, not the random ids */
  position: number;
  instruction: string;
  context?: string;
  output?: string;
  conversation?: { role: string; content: string }[];
  task?: string;
  cluster?: string;
  split?: Split;
  source?: string;
  tags?: string[];
  /** wrong answers with, optionally, why they are wrong (SNI Negative Examples); same shape as InstructionRecord's */
  negatives?: { input?: string; output: string; explanation?: string }[];
  /** every acceptable output, `output` first (SNI instances list several) */
  outputs?: string[];
  // Optional fields added with record kinds (InstructionRecord in src/core/data/record.ts documents
  // them); older stored examples simply lack them, so no migration is needed.
  kind?: 'instruction' | 'text' | 'conversation' | 'prompt-completion' | 'sni';
  promptTurns?: number;
  positives?: { input: string; output: string; explanation?: string }[];
  templateId?: string;
  shots?: number;
}

/** 'diverged': training stopped because its weights became non-finite; the last finite checkpoint is kept */
export type RunStatus = 'pending' | 'running' | 'paused' | 'completed' | 'diverged' | 'failed' | 'cancelled';

export interface RunMetric {
  step: number;
  loss?: number;
  valLoss?: number;
  lr?: number;
  /** staged plans: the stage (1-based) the update trained on */
  stage?: number;
}

export interface RunRecord {
  id: string;
  modelId: string;
  datasetId?: string;
  /** the PEFT method or "full" */
  method: string;
  config: Record<string, unknown>;
  status: RunStatus;
  /** why a failed run failed, in words a person can act on */
  error?: string;
  createdAt: number;
  updatedAt: number;
  metrics: RunMetric[];
}

/** A float32 tensor as stored: `data` holds shape.reduce(*) little-endian float32 values. */
export interface StoredTensor {
  name: string;
  shape: number[];
  data: ArrayBuffer;
}

export interface CheckpointRecord {
  id: string;
  runId: string;
  step: number;
  /** validation loss at this step, when measured; the lowest one is kept as the run's best */
  valLoss?: number;
  createdAt: number;
  tensors: StoredTensor[];
  optimizer?: unknown;
  /** whatever else resuming needs: RNG state, data cursor, schedule position */
  state: Record<string, unknown>;
}

export interface EvaluationRecord {
  id: string;
  runId?: string;
  modelId: string;
  createdAt: number;
  report: unknown;
}

export interface RatingRecord {
  id: string;
  evaluationId: string;
  exampleId: string;
  /** thumbs: value is "up" or "down"; ab: value names the preferred side */
  kind: 'thumbs' | 'ab';
  value: string;
  createdAt: number;
}

// ---- typed schema (version 1) ----------------------------------------------------------------

export interface HoneSchema extends DBSchema {
  models: { key: string; value: ModelRecord; indexes: { byCreatedAt: number } };
  modelFiles: { key: [string, string]; value: ModelFileRecord };
  datasets: { key: string; value: DatasetRecord; indexes: { byCreatedAt: number } };
  examples: {
    key: string;
    value: ExampleRecord;
    // Every index ends in position, so each query returns examples in their imported order.
    indexes: {
      byDataset: [string, number];
      byDatasetSplit: [string, string, number];
      byDatasetTask: [string, string, number];
      byDatasetCluster: [string, string, number];
    };
  };
  runs: { key: string; value: RunRecord; indexes: { byModel: string; byCreatedAt: number } };
  checkpoints: {
    key: string;
    value: CheckpointRecord;
    // Pruning reads only these index keys, never the tensors.
    indexes: { byRun: [string, number]; byRunValLoss: [string, number] };
  };
  evaluations: {
    key: string;
    value: EvaluationRecord;
    indexes: { byRun: string; byModel: string; byCreatedAt: number };
  };
  ratings: { key: string; value: RatingRecord; indexes: { byEvaluation: string } };
}

export type HoneDb = IDBPDatabase<HoneSchema>;

// ---- migrations --------------------------------------------------------------------------------

/**
 * Upgrades the database by one version inside the versionchange transaction. It may be async,
 * but must await only IndexedDB requests on `tx` (anything else lets the transaction commit early).
 */
export type Migration = (
  db: IDBPDatabase<unknown>,
  tx: IDBPTransaction<unknown, string[], 'versionchange'>,
) => void | Promise<void>;

/** migrations[i] upgrades version i to version i + 1; the current version is migrations.length. */
export const migrations: Migration[] = [
  // v0 → v1: every store and index.
  (db) => {
    const models = db.createObjectStore('models', { keyPath: 'id' });
    models.createIndex('byCreatedAt', 'createdAt');
    db.createObjectStore('modelFiles', { keyPath: ['modelId', 'name'] });

    const datasets = db.createObjectStore('datasets', { keyPath: 'id' });
    datasets.createIndex('byCreatedAt', 'createdAt');
    const examples = db.createObjectStore('examples', { keyPath: 'id' });
    examples.createIndex('byDataset', ['datasetId', 'position']);
    examples.createIndex('byDatasetSplit', ['datasetId', 'split', 'position']);
    examples.createIndex('byDatasetTask', ['datasetId', 'task', 'position']);
    examples.createIndex('byDatasetCluster', ['datasetId', 'cluster', 'position']);

    const runs = db.createObjectStore('runs', { keyPath: 'id' });
    runs.createIndex('byModel', 'modelId');
    runs.createIndex('byCreatedAt', 'createdAt');
    const checkpoints = db.createObjectStore('checkpoints', { keyPath: 'id' });
    checkpoints.createIndex('byRun', ['runId', 'step']);
    checkpoints.createIndex('byRunValLoss', ['runId', 'valLoss']);

    const evaluations = db.createObjectStore('evaluations', { keyPath: 'id' });
    evaluations.createIndex('byRun', 'runId');
    evaluations.createIndex('byModel', 'modelId');
    evaluations.createIndex('byCreatedAt', 'createdAt');
    const ratings = db.createObjectStore('ratings', { keyPath: 'id' });
    ratings.createIndex('byEvaluation', 'evaluationId');
  },
];

export interface OpenHoneDbOptions {
  /** database name; tests pass a fresh one each */
  name?: string;
  /** the migration list; tests append one to prove upgrades keep data */
  migrations?: Migration[];
  /** another tab is still holding an older version open, so the upgrade waits for it to close */
  onBlocked?: () => void;
  /** another tab wants to upgrade; this connection has already been closed so it can */
  onVersionChange?: () => void;
}

/**
 * Opens (creating or upgrading as needed) Hone's database. Throws StoreVersionError when the stored
 * database is newer than this build or a migration fails; a failed upgrade leaves the database as it was.
 */
export async function openHoneDb(opts: OpenHoneDbOptions = {}): Promise<HoneDb> {
  const name = opts.name ?? HONE_DB_NAME;
  const steps = opts.migrations ?? migrations;
  const version = steps.length;
  let failure: { from: number; error: unknown } | undefined;

  let db: IDBPDatabase<unknown>;
  try {
    db = await openDB<unknown>(name, version, {
      upgrade(database, oldVersion, newVersion, tx) {
        // The abort below rejects tx.done; the open request's own error is what we report.
        tx.done.catch(() => {});
        const target = newVersion ?? version;
        const runFrom = (from: number): void | Promise<void> => {
          for (let v = from; v < target; v++) {
            const step = steps[v];
            let result: void | Promise<void>;
            try {
              result = step(database, tx);
            } catch (error) {
              failure = { from: v, error };
              throw error;
            }
            if (result && typeof result.then === 'function') {
              return result.then(
                () => runFrom(v + 1),
                (error: unknown) => {
                  failure = { from: v, error };
                  throw error;
                },
              );
            }
          }
        };
        const abort = () => {
          try {
            tx.abort();
          } catch {
            // already finished or aborted
          }
        };
        try {
          const pending = runFrom(oldVersion);
          if (pending) pending.catch(abort);
        } catch {
          abort();
        }
      },
      blocked() {
        opts.onBlocked?.();
      },
      blocking(_current, _blocked, event) {
        // Holding on would stall the other tab's upgrade forever; it owns the newer schema.
        (event.target as IDBDatabase).close();
        opts.onVersionChange?.();
      },
    });
  } catch (error) {
    if (failure) {
      const { from, error: cause } = failure;
      const message = cause instanceof Error ? cause.message : String(cause);
      throw new StoreVersionError(
        `Upgrading Hone's database “${name}” from version ${from} to ${from + 1} failed: ${message}. ` +
          `The upgrade was rolled back and your data is unchanged; reload the page, and report this if it happens again.`,
        { cause },
      );
    }
    if ((error as { name?: unknown })?.name === 'VersionError') {
      throw new StoreVersionError(
        `Hone's database “${name}” was saved by a newer version of Hone (this one understands version ${version}). ` +
          `Reload the page to get the newer Hone; opening it here could lose data.`,
        { cause: error },
      );
    }
    throw error;
  }
  return db as unknown as HoneDb;
}

/** Deletes a whole database (tests, "reset everything"); waits for other connections to close. */
export function deleteHoneDb(name: string = HONE_DB_NAME): Promise<void> {
  return deleteDB(name);
}
