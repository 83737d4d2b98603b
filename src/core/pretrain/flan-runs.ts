// The FLAN experiment as the studio runs it (src/core/experiment/flan.ts does the work): the presets
// the guided path offers, progress as a share of all training steps, and finished reports kept in the
// evaluations store (tagged, so the Evaluate view's list leaves them out) to survive a reload.
import { FLAN_FULL, FLAN_QUICK, type FlanConfig, type FlanProgress, type FlanReport } from '../experiment/flan';
import { getEvaluation, listEvaluations, saveEvaluation, type EvaluationRecord, type HoneDb } from '../store';
import { CLUSTERS } from '../world/tasks';

export type FlanPreset = 'quick' | 'full' | 'micro';

/**
 * A few items and steps: proves the path end to end in well under a minute on a micro model (tests,
 * `?experiment=micro`); its numbers mean nothing.
 */
export const FLAN_MICRO: FlanConfig = {
  ...FLAN_QUICK,
  trainPerCluster: 4,
  evalPerCluster: 3,
  steps: 3,
  batchSize: 4,
  maxLength: 96,
  sweep: [2],
  shots: 1,
  maxNewTokens: 4,
  bootstrapResamples: 200,
};

export function flanConfig(preset: FlanPreset): FlanConfig {
  if (preset === 'micro') return FLAN_MICRO;
  if (preset === 'quick') return FLAN_QUICK;
  if (preset === 'full') return FLAN_FULL;
  throw new Error(`FLAN experiment: unknown preset "${String(preset)}"; use quick, full or micro`);
}

/** Every training run the experiment makes, in order: full, the efficient method, the ablation, the sweep. */
export function trainingRuns(config: FlanConfig): number {
  const trainClusters = CLUSTERS.length - config.heldOut.length;
  return 2 + (config.ablation ? 2 : 0) + config.sweep.filter((n) => n < trainClusters).length;
}

export interface ExperimentProgress extends FlanProgress {
  /** training steps done over all of the experiment's runs, and their total (evaluation is not counted) */
  stepsDone: number;
  stepsTotal: number;
  elapsedSeconds: number;
  /** from the training steps' pace; null until one step is done */
  etaSeconds: number | null;
}

/** Turns the experiment's per-run progress into progress over the whole experiment. */
export function progressTracker(config: FlanConfig, now: () => number = () => performance.now()): (p: FlanProgress) => ExperimentProgress {
  const started = now();
  const stepsTotal = trainingRuns(config) * config.steps;
  let finishedRuns = 0;
  let current: string | null = null;
  let currentStep = 0;
  return (p) => {
    // training stages report steps under their label; "<label>: evaluating" follows the last step
    if (p.step !== undefined) {
      if (p.stage !== current) {
        if (current !== null) finishedRuns++;
        current = p.stage;
      }
      currentStep = p.step;
    } else if (current !== null && p.stage === `${current}: evaluating`) {
      currentStep = config.steps;
    }
    const stepsDone = Math.min(stepsTotal, finishedRuns * config.steps + currentStep);
    const elapsedSeconds = (now() - started) / 1000;
    return {
      ...p,
      stepsDone,
      stepsTotal,
      elapsedSeconds,
      etaSeconds: stepsDone > 0 ? (elapsedSeconds / stepsDone) * (stepsTotal - stepsDone) : null,
    };
  };
}

export const FLAN_REPORT_KIND = 'flan-experiment';

export interface StoredExperiment {
  id: string;
  preset: FlanPreset;
  model: { id: string; name: string };
  createdAt: number;
  report: FlanReport;
}

/** What is stored in an evaluation record's `report`. */
interface StoredReport {
  kind: typeof FLAN_REPORT_KIND;
  version: 1;
  preset: FlanPreset;
  model: { id: string; name: string };
  report: FlanReport;
}

function isFlanRecord(record: EvaluationRecord): boolean {
  const r = record.report as Partial<StoredReport> | undefined;
  return r?.kind === FLAN_REPORT_KIND && r.version === 1 && typeof r.report === 'object';
}

function toStored(record: EvaluationRecord): StoredExperiment {
  const r = record.report as StoredReport;
  return { id: record.id, preset: r.preset, model: r.model, createdAt: record.createdAt, report: r.report };
}

export async function saveFlanExperiment(db: HoneDb, preset: FlanPreset, model: { id: string; name: string }, report: FlanReport): Promise<StoredExperiment> {
  const stored: StoredReport = { kind: FLAN_REPORT_KIND, version: 1, preset, model: { ...model }, report };
  return toStored(await saveEvaluation(db, { modelId: model.id, report: stored }));
}

/** Stored FLAN experiments, newest first. */
export async function listFlanExperiments(db: HoneDb): Promise<StoredExperiment[]> {
  return (await listEvaluations(db)).filter(isFlanRecord).map(toStored);
}

export async function getFlanExperiment(db: HoneDb, id: string): Promise<StoredExperiment> {
  const record = await getEvaluation(db, id);
  if (!record || !isFlanRecord(record)) throw new Error(`FLAN experiment "${id}" is not stored in this browser; it may have been deleted.`);
  return toStored(record);
}
