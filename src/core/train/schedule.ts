// Learning-rate schedules as transformers' optimization.py defines them (get_constant_schedule,
// get_constant_schedule_with_warmup, get_linear_schedule_with_warmup, get_cosine_schedule_with_warmup
// with num_cycles = 0.5). `step` counts optimizer updates already done: as in HF, where
// scheduler.step() runs after optimizer.step(), the first update uses step 0 (so with warmup its lr is 0).

export type ScheduleKind = 'constant' | 'linear' | 'cosine';

export interface ScheduleConfig {
  kind: ScheduleKind;
  /** peak learning rate */
  learningRate: number;
  /** updates spent ramping linearly from 0 to learningRate */
  warmupSteps: number;
  /** total optimizer updates of the run: where linear reaches 0 and cosine completes its half wave */
  totalSteps: number;
}

/** The multiplier of the peak rate at `step` (HF's lr_lambda). */
export function scheduleFactor(config: ScheduleConfig, step: number): number {
  const { kind, warmupSteps, totalSteps } = config;
  if (step < warmupSteps) return step / Math.max(1, warmupSteps);
  if (kind === 'constant') return 1;
  if (kind === 'linear') return Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
  const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * 0.5 * 2 * progress)));
}

/** The learning rate used by the update after `step` completed updates. */
export function learningRateAt(config: ScheduleConfig, step: number): number {
  return config.learningRate * scheduleFactor(config, step);
}

export function checkSchedule(config: ScheduleConfig): void {
  if (!['constant', 'linear', 'cosine'].includes(config.kind)) {
    throw new Error(`schedule: kind must be "constant", "linear" or "cosine", got ${JSON.stringify(config.kind)}`);
  }
  if (!(config.learningRate > 0) || !Number.isFinite(config.learningRate)) {
    throw new Error(`schedule: learningRate must be a positive number, got ${config.learningRate}`);
  }
  if (!Number.isInteger(config.warmupSteps) || config.warmupSteps < 0) {
    throw new Error(`schedule: warmupSteps must be a non-negative integer, got ${config.warmupSteps}`);
  }
  if (!Number.isInteger(config.totalSteps) || config.totalSteps <= 0) {
    throw new Error(`schedule: totalSteps must be a positive integer, got ${config.totalSteps}`);
  }
}
