// The Trainer's settings: one flat typed object; each default says where it comes from.
import type { ScheduleKind } from './schedule';
import type { AccumulationAverage } from './step';

export interface TrainerConfig {
  /** optimizer updates to run */
  totalSteps: number;
  /** rows per micro-batch */
  batchSize: number;
  /** micro-batches per update: 1 = no accumulation (HF's default) */
  gradientAccumulationSteps: number;
  /** how accumulated micro-batches are averaged; 'tokens' is HF Trainer's rule for causal LMs (step.ts) */
  accumulation: AccumulationAverage;
  /** peak learning rate: 2e-4 is the usual LoRA starting point (HF's 5e-5 suits full fine-tuning) */
  learningRate: number;
  /** 'linear' is HF TrainingArguments' lr_scheduler_type default */
  schedule: ScheduleKind;
  /** updates of linear warm-up (HF default 0) */
  warmupSteps: number;
  /** AdamW decoupled weight decay (HF default 0) */
  weightDecay: number;
  /** AdamW β1, β2 (HF and torch default 0.9, 0.999) */
  betas: [number, number];
  /** AdamW ε (HF and torch default 1e-8) */
  eps: number;
  /** global gradient-norm clip (HF default 1.0); null = no clipping */
  maxGradNorm: number | null;
  /** seeds the data order */
  seed: number;
  /** shuffle rows each epoch (HF's RandomSampler); off visits them in order */
  shuffle: boolean;
  /** validation loss every this many updates (and after the last); null = never */
  evalEvery: number | null;
  /** stop after this many evaluations without improvement (HF EarlyStoppingCallback); null = never */
  earlyStoppingPatience: number | null;
  /** an evaluation improves on the best only when lower by more than this (HF early_stopping_threshold, 0) */
  earlyStoppingThreshold: number;
  /** put the best validated weights back at the end (HF load_best_model_at_end); needs evalEvery */
  loadBestAtEnd: boolean;
  /** id written into padding positions (masked out and unscored, so any valid id works) */
  padTokenId: number;
  /** pad every batch to this width instead of its longest row (fixed shapes for webgl); null = longest */
  padTo: number | null;
  /**
   * this many bad updates in a row (skipped for a non-finite loss or gradient, or rolled back because
   * they left non-finite weights) end the run as 'diverged'. 3: one bad batch is noise and is skipped,
   * as HF's Trainer skips it; three in a row means the settings, not the data, are wrong
   */
  maxConsecutiveBadSteps: number;
  /**
   * recompute each decoder block in the backward instead of keeping its activations (HF
   * gradient_checkpointing, default false): the same gradients for about a third more compute
   */
  gradientCheckpointing: boolean;
}

/**
 * The largest peak learning rate accepted. AdamW moves each weight by about lr per update whatever
 * the gradient's size, and weights of the models Hone tunes are of order 0.01–1, so even 1 wrecks a
 * model in one step; 10 leaves room for experiments while refusing the values (1e39, typos with
 * missing minus signs such as 2e4) that overflow float32 weights outright.
 */
export const MAX_LEARNING_RATE = 10;

export const TRAINER_DEFAULTS: Omit<TrainerConfig, 'totalSteps' | 'padTokenId'> = {
  batchSize: 4,
  gradientAccumulationSteps: 1,
  accumulation: 'tokens',
  learningRate: 2e-4,
  schedule: 'linear',
  warmupSteps: 0,
  weightDecay: 0,
  betas: [0.9, 0.999],
  eps: 1e-8,
  maxGradNorm: 1,
  seed: 42,
  shuffle: true,
  evalEvery: null,
  earlyStoppingPatience: null,
  earlyStoppingThreshold: 0,
  loadBestAtEnd: false,
  padTo: null,
  maxConsecutiveBadSteps: 3,
  gradientCheckpointing: false,
};

/** Fills defaults and checks every field; errors name the field and what it needs. */
export function trainerConfig(partial: Partial<TrainerConfig> & Pick<TrainerConfig, 'totalSteps' | 'padTokenId'>): TrainerConfig {
  // a misspelt key (lr, warmup) would otherwise be ignored silently and the run use the default
  const known = new Set<string>([...Object.keys(TRAINER_DEFAULTS), 'totalSteps', 'padTokenId']);
  const unknown = Object.keys(partial).filter((key) => !known.has(key));
  if (unknown.length > 0) {
    throw new Error(`TrainerConfig: unknown setting(s) ${unknown.map((k) => `"${k}"`).join(', ')}; the settings are ${[...known].join(', ')}`);
  }
  // undefined means "not given" (a form field left empty), not "set to undefined"
  const given = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  const config = { ...TRAINER_DEFAULTS, ...given } as TrainerConfig;
  const positiveNumber = (key: keyof TrainerConfig, value: unknown): void => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new Error(`TrainerConfig.${key} must be a positive finite number, got ${String(value)}`);
    }
  };
  const nonNegativeNumber = (key: keyof TrainerConfig, value: unknown): void => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new Error(`TrainerConfig.${key} must be a finite number ≥ 0, got ${String(value)}`);
    }
  };
  positiveNumber('learningRate', config.learningRate);
  if (config.learningRate > MAX_LEARNING_RATE) {
    throw new Error(
      `TrainerConfig.learningRate must be at most ${MAX_LEARNING_RATE} (AdamW moves every weight by about the learning rate each update), got ${String(config.learningRate)}; ` +
        'LoRA usually trains at 1e-4 to 1e-3, full fine-tuning at 1e-5 to 1e-4',
    );
  }
  nonNegativeNumber('weightDecay', config.weightDecay);
  nonNegativeNumber('eps', config.eps);
  if (!Number.isInteger(config.warmupSteps) || config.warmupSteps < 0) {
    throw new Error(`TrainerConfig.warmupSteps must be a non-negative integer, got ${String(config.warmupSteps)}`);
  }
  if (!['constant', 'linear', 'cosine'].includes(config.schedule)) {
    throw new Error(`TrainerConfig.schedule must be "constant", "linear" or "cosine", got ${JSON.stringify(config.schedule)}`);
  }
  const betas = config.betas as unknown;
  if (!Array.isArray(betas) || betas.length !== 2 || !betas.every((b) => typeof b === 'number' && b >= 0 && b < 1)) {
    throw new Error(`TrainerConfig.betas must be two numbers in [0, 1), got ${JSON.stringify(betas)}`);
  }
  if (typeof config.seed !== 'number' || !Number.isFinite(config.seed)) throw new Error(`TrainerConfig.seed must be a finite number, got ${String(config.seed)}`);
  if (typeof config.shuffle !== 'boolean') throw new Error(`TrainerConfig.shuffle must be true or false, got ${JSON.stringify(config.shuffle)}`);
  if (typeof config.gradientCheckpointing !== 'boolean') {
    throw new Error(`TrainerConfig.gradientCheckpointing must be true or false, got ${JSON.stringify(config.gradientCheckpointing)}`);
  }
  if (typeof config.loadBestAtEnd !== 'boolean') throw new Error(`TrainerConfig.loadBestAtEnd must be true or false, got ${JSON.stringify(config.loadBestAtEnd)}`);
  const positiveInt = (key: keyof TrainerConfig, value: unknown): void => {
    if (!Number.isInteger(value) || (value as number) <= 0) throw new Error(`TrainerConfig.${key} must be a positive integer, got ${String(value)}`);
  };
  positiveInt('totalSteps', config.totalSteps);
  positiveInt('batchSize', config.batchSize);
  positiveInt('gradientAccumulationSteps', config.gradientAccumulationSteps);
  if (config.evalEvery !== null) positiveInt('evalEvery', config.evalEvery);
  if (config.earlyStoppingPatience !== null) positiveInt('earlyStoppingPatience', config.earlyStoppingPatience);
  if (config.padTo !== null) positiveInt('padTo', config.padTo);
  positiveInt('maxConsecutiveBadSteps', config.maxConsecutiveBadSteps);
  if (!Number.isInteger(config.padTokenId) || config.padTokenId < 0) throw new Error(`TrainerConfig.padTokenId must be a token id, got ${config.padTokenId}`);
  if (config.accumulation !== 'tokens' && config.accumulation !== 'micro-batches') {
    throw new Error(`TrainerConfig.accumulation must be "tokens" or "micro-batches", got ${JSON.stringify(config.accumulation)}`);
  }
  if (config.maxGradNorm !== null && !(config.maxGradNorm > 0 && Number.isFinite(config.maxGradNorm))) {
    throw new Error(`TrainerConfig.maxGradNorm must be a positive finite number or null, got ${config.maxGradNorm}`);
  }
  if (!(config.earlyStoppingThreshold >= 0 && Number.isFinite(config.earlyStoppingThreshold))) throw new Error(`TrainerConfig.earlyStoppingThreshold must be ≥ 0, got ${config.earlyStoppingThreshold}`);
  if ((config.earlyStoppingPatience !== null || config.loadBestAtEnd) && config.evalEvery === null) {
    throw new Error('TrainerConfig: earlyStoppingPatience and loadBestAtEnd need validation; set evalEvery');
  }
  return config;
}
