// Training runs and their checkpoints. Saving a checkpoint and pruning old ones happen in one
// transaction, so a crash mid-save never leaves a run with no resumable checkpoint. Pruning keeps
// the N most recent by step plus the one with the lowest validation loss, and decides from index
// keys alone: it never reads the tensors it is about to delete.

import { StoreNotFoundError } from './errors';
import type { CheckpointRecord, HoneDb, RunMetric, RunRecord, RunStatus, StoredTensor } from './schema';
import { compareIds, exactArrayBuffer, fireDeletes, fireWrites, newId, prefixRange, writeTransaction } from './transaction';

export type RunInput = Omit<RunRecord, 'id' | 'createdAt' | 'updatedAt' | 'status' | 'metrics'> & {
  id?: string;
  /** defaults to pending */
  status?: RunStatus;
  metrics?: RunMetric[];
};

/** Fields a run update may change. */
export type RunPatch = Partial<Pick<RunRecord, 'status' | 'error' | 'config' | 'metrics' | 'datasetId'>>;

/** A tensor to checkpoint: float32 values, as a buffer or a view (only the view's bytes are kept). */
export interface TensorInput {
  name: string;
  shape: number[];
  data: ArrayBuffer | ArrayBufferView;
}

export interface CheckpointInput {
  runId: string;
  step: number;
  valLoss?: number;
  tensors: TensorInput[];
  optimizer?: unknown;
  state?: Record<string, unknown>;
}

/** A checkpoint's identity without its tensors. */
export interface CheckpointSummary {
  id: string;
  step: number;
  valLoss?: number;
}

export interface KeepPolicy {
  /**
   * how many of the most recent checkpoints (by step) to keep besides the best; 3 leaves room to
   * step back past a diverging stretch without letting a long run fill the disk
   */
  keepRecent?: number;
}

export async function createRun(db: HoneDb, input: RunInput): Promise<RunRecord> {
  const now = Date.now();
  const run: RunRecord = {
    ...input,
    id: input.id ?? newId(),
    status: input.status ?? 'pending',
    metrics: input.metrics ?? [],
    createdAt: now,
    updatedAt: now,
  };
  await writeTransaction(db, ['runs'], { what: `saving a new ${run.method} run` }, (tx) => {
    fireWrites(tx, 'runs', 'add', [run]);
  });
  return run;
}

/** Changes a run's status, config or metrics; throws StoreNotFoundError for an unknown id. */
export async function updateRun(db: HoneDb, id: string, patch: RunPatch): Promise<RunRecord> {
  return writeTransaction(db, ['runs'], { what: `updating run ${id}` }, async (tx) => {
    const run = await tx.objectStore('runs').get(id);
    if (!run) throw new StoreNotFoundError('run', id);
    const updated: RunRecord = { ...run, ...patch, id, updatedAt: Date.now() };
    fireWrites(tx, 'runs', 'put', [updated]);
    return updated;
  });
}

/** Appends metric points to a run's history (the training loop calls this every few steps). */
export async function appendRunMetrics(db: HoneDb, id: string, points: RunMetric[]): Promise<RunRecord> {
  return writeTransaction(
    db,
    ['runs'],
    { what: `saving ${points.length} metric points for run ${id}`, bytes: () => points.length * 32 },
    async (tx) => {
      const run = await tx.objectStore('runs').get(id);
      if (!run) throw new StoreNotFoundError('run', id);
      const updated: RunRecord = { ...run, metrics: [...run.metrics, ...points], updatedAt: Date.now() };
      fireWrites(tx, 'runs', 'put', [updated]);
      return updated;
    },
  );
}

export function getRun(db: HoneDb, id: string): Promise<RunRecord | undefined> {
  return db.get('runs', id);
}

/** Runs newest first, optionally only one model's. */
export async function listRuns(db: HoneDb, filter: { modelId?: string } = {}): Promise<RunRecord[]> {
  const runs =
    filter.modelId !== undefined
      ? await db.getAllFromIndex('runs', 'byModel', filter.modelId)
      : await db.getAll('runs');
  // ids are time-ordered (transaction.ts): within one millisecond the later id is the newer run
  return runs.sort((a, b) => b.createdAt - a.createdAt || compareIds(b.id, a.id));
}

/** Deletes a run and all of its checkpoints in one transaction; its evaluations stay. */
export async function deleteRun(db: HoneDb, id: string): Promise<void> {
  await writeTransaction(db, ['runs', 'checkpoints'], { what: `deleting run ${id}` }, async (tx) => {
    const keys = await tx.objectStore('checkpoints').index('byRun').getAllKeys(prefixRange(id));
    fireDeletes(tx, 'checkpoints', keys);
    fireDeletes(tx, 'runs', [id]);
  });
}

/**
 * Saves a checkpoint (replacing one already saved at the same step) and prunes the run's older
 * checkpoints to `keepRecent` plus the best by validation loss, all in one transaction.
 */
export async function saveCheckpoint(
  db: HoneDb,
  input: CheckpointInput,
  policy: KeepPolicy = {},
): Promise<CheckpointRecord> {
  const keepRecent = policy.keepRecent ?? 3;
  if (!Number.isInteger(keepRecent) || keepRecent < 1) {
    throw new Error(`saveCheckpoint: keepRecent must be a whole number ≥ 1 (the checkpoint being saved), got ${keepRecent}.`);
  }
  const tensors: StoredTensor[] = input.tensors.map((tensor) => {
    const data = exactArrayBuffer(tensor.data);
    const elements = tensor.shape.reduce((product, size) => product * size, 1);
    if (data.byteLength !== elements * 4) {
      throw new Error(
        `Checkpoint for run ${input.runId}, step ${input.step}: tensor ${tensor.name} has shape [${tensor.shape.join(', ')}] ` +
          `(${elements} float32 values, ${elements * 4} bytes) but ${data.byteLength} bytes of data.`,
      );
    }
    return { name: tensor.name, shape: [...tensor.shape], data };
  });
  const record: CheckpointRecord = {
    id: newId(),
    runId: input.runId,
    step: input.step,
    createdAt: Date.now(),
    tensors,
    state: input.state ?? {},
  };
  if (input.valLoss !== undefined) record.valLoss = input.valLoss;
  if (input.optimizer !== undefined) record.optimizer = input.optimizer;
  const bytes = tensors.reduce((sum, tensor) => sum + tensor.data.byteLength, 0);

  await writeTransaction(
    db,
    ['runs', 'checkpoints'],
    { what: `saving the step ${input.step} checkpoint of run ${input.runId}`, bytes: () => bytes },
    async (tx) => {
      const run = await tx.objectStore('runs').get(input.runId);
      if (!run) throw new StoreNotFoundError('run', input.runId);
      const checkpoints = tx.objectStore('checkpoints');
      const sameStep = await checkpoints.index('byRun').getAllKeys(IDBKeyRange.only([input.runId, input.step]));
      fireDeletes(tx, 'checkpoints', sameStep);
      fireWrites(tx, 'checkpoints', 'put', [record]);
      // Reads in a transaction see its own earlier writes, so the new checkpoint takes part here.
      const byStep = await checkpoints.index('byRun').getAllKeys(prefixRange(input.runId));
      const best = await checkpoints.index('byRunValLoss').getKey(prefixRange(input.runId));
      const keep = new Set(byStep.slice(-keepRecent));
      if (best !== undefined) keep.add(best);
      fireDeletes(
        tx,
        'checkpoints',
        byStep.filter((key) => !keep.has(key)),
      );
    },
  );
  return record;
}

/** A run's checkpoints (id, step, valLoss) by step, read from index keys without loading tensors. */
export async function listCheckpoints(db: HoneDb, runId: string): Promise<CheckpointSummary[]> {
  const tx = db.transaction('checkpoints', 'readonly');
  const summaries: CheckpointSummary[] = [];
  const valLosses = new Map<string, number>();
  for (let cursor = await tx.store.index('byRunValLoss').openKeyCursor(prefixRange(runId)); cursor; cursor = await cursor.continue()) {
    valLosses.set(cursor.primaryKey, cursor.key[1]);
  }
  for (let cursor = await tx.store.index('byRun').openKeyCursor(prefixRange(runId)); cursor; cursor = await cursor.continue()) {
    const summary: CheckpointSummary = { id: cursor.primaryKey, step: cursor.key[1] };
    const valLoss = valLosses.get(cursor.primaryKey);
    if (valLoss !== undefined) summary.valLoss = valLoss;
    summaries.push(summary);
  }
  await tx.done;
  return summaries;
}

export function loadCheckpoint(db: HoneDb, id: string): Promise<CheckpointRecord | undefined> {
  return db.get('checkpoints', id);
}

/** The run's checkpoint with the highest step (what resuming wants), or undefined. */
export async function loadLatestCheckpoint(db: HoneDb, runId: string): Promise<CheckpointRecord | undefined> {
  const tx = db.transaction('checkpoints', 'readonly');
  const cursor = await tx.store.index('byRun').openCursor(prefixRange(runId), 'prev');
  const latest = cursor?.value;
  await tx.done;
  return latest;
}

/** The run's checkpoint with the lowest validation loss, or undefined when none has one. */
export async function loadBestCheckpoint(db: HoneDb, runId: string): Promise<CheckpointRecord | undefined> {
  const tx = db.transaction('checkpoints', 'readonly');
  const best = await tx.store.index('byRunValLoss').get(prefixRange(runId));
  await tx.done;
  return best;
}
