// A pretraining run in the studio, start to end: the run record, the loop over IndexedDB storage, the
// run's status kept in step (running → paused / cancelled / completed / failed) and, when it completes,
// the finished model handed to the caller to store. The worker (workers/experiment.ts) holds the one
// active run and its pause/cancel controllers; this file holds everything that is not about messages.
import { createRun, getRun, listCheckpoints, listRuns, updateRun, type HoneDb, type RunMetric, type RunRecord } from '../store';
import { checkSpec, runPretrainLoop, type PretrainEvent, type PretrainManifest } from './loop';
import { HONE_TINY, type PretrainSpec } from './pretrain';
import { PRETRAIN_METHOD, StorePretrainStorage, pretrainRunConfig, type PretrainRunConfig } from './store-storage';

export interface PretrainStartOptions {
  /** fields of HONE_TINY to change (tests and quick looks use a micro spec) */
  spec?: Partial<PretrainSpec>;
  name?: string;
  /** default 100: an IndexedDB checkpoint of hone-tiny is ~11 MB, so not every step */
  checkpointEvery?: number;
  /** default 10 */
  logEvery?: number;
}

export type PretrainRunStatus = 'running' | 'paused' | 'completed' | 'cancelled' | 'failed';

export interface PretrainRunSummary {
  id: string;
  name: string;
  /** a run left "running" by a closed tab shows as paused: it resumes from its checkpoint */
  status: PretrainRunStatus;
  spec: PretrainSpec;
  /** where a resume continues: the latest checkpoint's step (the live step while it runs) */
  step: number;
  totalSteps: number;
  checkpointEvery: number;
  checkpoint: PretrainRunConfig['checkpoint'] | null;
  metrics: RunMetric[];
  modelId: string | null;
  createdAt: number;
  updatedAt: number;
  error?: string;
}

export interface PretrainOutcome {
  summary: PretrainRunSummary;
  manifest?: PretrainManifest;
}

export interface StoredPretrainOptions {
  signal?: AbortSignal;
  pauseSignal?: AbortSignal;
  maxSeconds?: number;
  onEvent?: (event: PretrainEvent) => void;
  /** stores the finished model's files; returns its id (recorded on the run) */
  storeModel: (files: Map<string, Uint8Array>, manifest: PretrainManifest, run: RunRecord) => Promise<string>;
}

export function pretrainSpec(overrides: Partial<PretrainSpec> = {}): PretrainSpec {
  const spec = { ...HONE_TINY, ...overrides };
  checkSpec(spec);
  return spec;
}

/**
 * Parameters of the exported model (Llama, tied embeddings counted once), from the spec alone. Uses the
 * spec's vocabSize; the trained tokenizer can end a little smaller when the corpus has fewer merges.
 */
export function estimateParameters(spec: PretrainSpec): number {
  const h = spec.hiddenSize;
  const kv = (spec.kvHeads * h) / spec.heads;
  const layer = 2 * h * h + 2 * h * kv + 3 * h * spec.intermediateSize + 2 * h; // q,o + k,v + mlp + two norms
  return spec.vocabSize * h + spec.layers * layer + h;
}

/** The browser's equivalent of the CLI command, for the manifest. */
function commandFor(spec: PretrainSpec): string {
  const changed = (Object.keys(HONE_TINY) as (keyof PretrainSpec)[]).filter((k) => spec[k] !== HONE_TINY[k]);
  return `Hone studio, Pretrain view${changed.length ? ` (spec changes: ${changed.map((k) => `${k}=${spec[k]}`).join(', ')})` : ''}`;
}

export async function createPretrainRun(db: HoneDb, opts: PretrainStartOptions = {}): Promise<RunRecord> {
  const spec = pretrainSpec(opts.spec);
  const checkpointEvery = opts.checkpointEvery ?? 100;
  const logEvery = opts.logEvery ?? 10;
  for (const [name, value] of [['checkpointEvery', checkpointEvery], ['logEvery', logEvery]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`Pretraining: ${name} must be a whole number ≥ 1, got ${value}`);
  }
  const config: PretrainRunConfig = {
    name: opts.name?.trim() || `hone-tiny pretraining (${spec.steps} steps)`,
    pretrainSpec: spec,
    checkpointEvery,
    logEvery,
    command: commandFor(spec),
  };
  // the run is "of" the model it will produce; that id exists once the run completes
  const id = crypto.randomUUID();
  return createRun(db, { id, modelId: `pretrained-${id}`, method: PRETRAIN_METHOD, config: { ...config }, status: 'paused' });
}

/** Runs (or resumes) a stored pretraining run until it completes, is paused or cancelled; rejects on error (status failed). */
export async function runStoredPretrain(db: HoneDb, runId: string, opts: StoredPretrainOptions): Promise<PretrainOutcome> {
  const run = await getRun(db, runId);
  if (!run) throw new Error(`Pretraining run "${runId}" is not stored in this browser; it may have been deleted.`);
  const config = pretrainRunConfig(run);
  if (run.status === 'completed') throw new Error(`Pretraining run “${config.name}” has already completed; start a new run to pretrain again.`);
  await updateRun(db, runId, { status: 'running' });
  try {
    const result = await runPretrainLoop(config.pretrainSpec, new StorePretrainStorage(db, runId), {
      checkpointEvery: config.checkpointEvery,
      logEvery: config.logEvery,
      command: config.command,
      ...(opts.maxSeconds !== undefined ? { maxSeconds: opts.maxSeconds } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.pauseSignal ? { pauseSignal: opts.pauseSignal } : {}),
      ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
    });
    if (result.status === 'completed' && result.files && result.manifest) {
      const latest = (await getRun(db, runId)) ?? run;
      const modelId = await opts.storeModel(result.files, result.manifest, latest);
      await updateRun(db, runId, { status: 'completed', config: { ...pretrainRunConfig(latest), modelId } });
      return { summary: await getPretrainRun(db, runId, null), manifest: result.manifest };
    }
    await updateRun(db, runId, { status: result.status === 'cancelled' ? 'cancelled' : 'paused' });
    return { summary: await getPretrainRun(db, runId, null) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await updateRun(db, runId, { status: 'failed', error: message }).catch(() => {});
    throw error;
  }
}

/** Pretraining runs, newest first. */
export async function listPretrainRuns(db: HoneDb, activeRunId: string | null): Promise<PretrainRunSummary[]> {
  const runs = (await listRuns(db)).filter((r) => r.method === PRETRAIN_METHOD);
  return Promise.all(runs.map((run) => summaryOf(db, run, run.id === activeRunId)));
}

export async function getPretrainRun(db: HoneDb, id: string, activeRunId: string | null): Promise<PretrainRunSummary> {
  const run = await getRun(db, id);
  if (!run) throw new Error(`Pretraining run "${id}" is not stored in this browser; it may have been deleted.`);
  return summaryOf(db, run, id === activeRunId);
}

async function summaryOf(db: HoneDb, run: RunRecord, active: boolean): Promise<PretrainRunSummary> {
  const config = pretrainRunConfig(run);
  // 'diverged' is a fine-tuning status (src/core/train/session.ts); a pretraining record never holds it
  let status: PretrainRunStatus = run.status === 'pending' ? 'paused' : run.status === 'diverged' ? 'failed' : run.status;
  if (status === 'running' && !active) status = 'paused'; // interrupted: the tab closed mid-run
  const checkpointStep = config.checkpoint?.step ?? (await listCheckpoints(db, run.id)).at(-1)?.step ?? 0;
  const liveStep = run.metrics.reduce((max, m) => Math.max(max, m.step), 0);
  return {
    id: run.id,
    name: config.name,
    status,
    spec: config.pretrainSpec,
    step: active ? Math.max(liveStep, checkpointStep) : checkpointStep,
    totalSteps: config.pretrainSpec.steps,
    checkpointEvery: config.checkpointEvery,
    checkpoint: config.checkpoint ?? null,
    metrics: run.metrics,
    modelId: config.modelId ?? null,
    createdAt: run.createdAt,
    updatedAt: run.updatedAt,
    ...(run.error ? { error: run.error } : {}),
  };
}
