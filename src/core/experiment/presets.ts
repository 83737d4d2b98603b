// The FLAN experiment's presets as the studio and the CLI pick them (flan.ts defines quick and full
// and does the work), and its progress as a share of all the experiment's training steps.
import { FLAN_FULL, FLAN_QUICK, type FlanConfig, type FlanProgress } from './flan';
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
