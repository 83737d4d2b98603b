// Stored training runs as the Train view shows them: what a run record's config holds, the run
// summaries and details, and how an interrupted run (still "running" in the store, but no session is
// running it) is reported: paused, at the step of the checkpoint a resume continues from.
import { getRun, listCheckpoints, listRuns, type HoneDb, type RunMetric, type RunRecord } from '../store';
import type { TrainerConfig } from './config';
import type { RunDataSummary } from './run-builder';
import type { LossMode, PromptFormat } from './rows';
import type { TrainSpec } from './session-spec';

export type RunStatusView = 'pending' | 'running' | 'paused' | 'completed' | 'stopped-early' | 'diverged' | 'failed' | 'cancelled';

export interface TrainableCount {
  trainable: number;
  total: number;
  percent: number;
}

export interface RunSummary {
  id: string;
  name: string;
  modelId: string;
  datasetId?: string;
  method: string;
  status: RunStatusView;
  step: number;
  totalSteps: number;
  createdAt: number;
  updatedAt: number;
  bestValLoss?: number;
  trainable: TrainableCount;
  /** what became of the dataset's records (runs stored before the run builder have none) */
  data?: RunDataSummary;
  /** the prompt format instruction records trained with: Evaluate starts from it */
  promptFormat?: PromptFormat;
  /** staged plans: each stage's first and last update, in training order, from the stored metrics */
  stageSteps?: StageSteps[];
  error?: string;
}

export interface StageSteps {
  stage: number;
  firstStep: number;
  lastStep: number;
}

export interface RunDetail extends RunSummary {
  config: unknown;
  metrics: RunMetric[];
}

/** What a run record's `config` holds: everything resume and export need besides the data. */
export interface StoredRunConfig {
  name: string;
  /** the spec as given (inline examples included, so a resume rebuilds the same rows) */
  spec: TrainSpec;
  /** the method settings actually used: methodDefaults merged with the spec's */
  method: { name: string; config: Record<string, unknown> };
  trainer: TrainerConfig;
  maxLength: number;
  promptFormat: PromptFormat;
  loss: LossMode;
  packing: boolean;
  checkpointEvery: number;
  trainable: TrainableCount;
  rows: { train: number; validation: number; dropped: number };
  /** the run builder's summary: examples used, dropped and why, scored tokens, per-stage counts */
  data?: RunDataSummary;
  /** set when early stopping ended the run (the store's status is then "completed") */
  stoppedEarly?: boolean;
}

export function storedConfig(run: RunRecord): StoredRunConfig {
  const config = run.config as Partial<StoredRunConfig>;
  if (!config?.spec || !config.trainer || !config.method) {
    throw new Error(`Run ${run.id} was not made by the Train view (its record has no training spec); it cannot be resumed or exported here.`);
  }
  return config as StoredRunConfig;
}

/** The run as the Train view lists it. A "running" run no session is running was interrupted: it shows as paused. */
export function summarize(run: RunRecord, opts: { active: boolean; checkpointStep?: number }): RunSummary {
  const config = run.config as Partial<StoredRunConfig>;
  let status: RunStatusView = run.status === 'completed' && config.stoppedEarly ? 'stopped-early' : run.status;
  if ((status === 'running' || status === 'pending') && !opts.active) status = 'paused';
  let step = 0;
  let best: number | undefined;
  for (const m of run.metrics) {
    step = Math.max(step, m.step);
    if (m.valLoss !== undefined && Number.isFinite(m.valLoss) && (best === undefined || m.valLoss < best)) best = m.valLoss;
  }
  if (opts.checkpointStep !== undefined) step = opts.checkpointStep;
  return {
    id: run.id,
    name: config.name ?? `${run.method} run`,
    modelId: run.modelId,
    ...(run.datasetId ? { datasetId: run.datasetId } : {}),
    method: run.method,
    status,
    step,
    totalSteps: config.trainer?.totalSteps ?? config.spec?.trainer.totalSteps ?? 0,
    createdAt: run.createdAt,
    updatedAt: run.updatedAt,
    ...(best === undefined ? {} : { bestValLoss: best }),
    trainable: config.trainable ?? { trainable: 0, total: 0, percent: 0 },
    ...(config.data ? { data: config.data } : {}),
    ...(config.promptFormat ? { promptFormat: config.promptFormat } : {}),
    ...(config.data?.stages ? { stageSteps: stageSteps(run.metrics) } : {}),
    ...(run.error ? { error: run.error } : {}),
  };
}

/** Runs of consecutive updates on one stage, in step order: a staged plan gives one entry per stage, ascending. */
export function stageSteps(metrics: readonly { step: number; stage?: number }[]): StageSteps[] {
  const out: StageSteps[] = [];
  for (const m of [...metrics].sort((a, b) => a.step - b.step)) {
    if (m.stage === undefined) continue;
    const last = out.at(-1);
    if (last && last.stage === m.stage) last.lastStep = m.step;
    else out.push({ stage: m.stage, firstStep: m.step, lastStep: m.step });
  }
  return out;
}

/**
 * Every fine-tuning run, newest first (pretraining runs, method 'pretrain', live in the Pretrain
 * view). An interrupted run's step is its latest checkpoint's: where a resume continues.
 */
export async function listRunSummaries(db: HoneDb, activeRunId: string | null): Promise<RunSummary[]> {
  const runs = (await listRuns(db)).filter((run) => run.method !== 'pretrain');
  return Promise.all(runs.map((run) => summaryOf(db, run, run.id === activeRunId)));
}

export async function runDetail(db: HoneDb, id: string, activeRunId: string | null): Promise<RunDetail> {
  const run = await getRun(db, id);
  if (!run) throw new Error(`Run "${id}" is not stored in this browser; it may have been deleted.`);
  const summary = await summaryOf(db, run, id === activeRunId);
  const config = run.config as Partial<StoredRunConfig>;
  // Inline examples can be long; the detail view needs their number, not their text.
  const spec = config.spec?.examples ? { ...config.spec, examples: `${config.spec.examples.length} inline examples` } : config.spec;
  return { ...summary, config: { ...config, ...(spec ? { spec } : {}) }, metrics: run.metrics };
}

async function summaryOf(db: HoneDb, run: RunRecord, active: boolean): Promise<RunSummary> {
  const interrupted = !active && (run.status === 'running' || run.status === 'pending');
  // a paused run also continues from its checkpoint: after a refused checkpoint (storage full) the
  // metrics reach past it
  const checkpointStep = interrupted || run.status === 'paused' ? ((await listCheckpoints(db, run.id)).at(-1)?.step ?? 0) : undefined;
  return summarize(run, { active, checkpointStep });
}
