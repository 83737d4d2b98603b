// The Train form's shared settings as the user edits them (numbers may be empty while typing), their
// starting values, and their translation into the run spec's settings, checked field by field with
// messages in the form's own words. Pure: no runes, no worker.
import type { LossMode, PromptFormat, TrainSpec } from '../studio-client';

export type Schedule = 'constant' | 'linear' | 'cosine';

/** The hyperparameters every method shares; method-specific keys live in the method form. */
export interface Hyperparameters {
  totalSteps: number | null;
  learningRate: number | null;
  batchSize: number | null;
  /** tokens per example; null = as long as the model's positions allow (the worker decides) */
  maxLength: number | null;
  warmupSteps: number | null;
  schedule: Schedule;
  /** 0 = never validate */
  evalEvery: number | null;
  /** share of the examples held out for validation loss */
  validationFraction: number | null;
  seed: number | null;
  /** micro-batches per update */
  gradientAccumulationSteps: number | null;
  weightDecay: number | null;
  /** how instruction records become a prompt; other kinds (text, chats, prompt/completion) train as they are */
  promptFormat: PromptFormat;
  loss: LossMode;
  packing: boolean;
  /** evaluations without improvement before the run stops; null or 0 = never stop early */
  earlyStoppingPatience: number | null;
  /** an evaluation improves only when lower by more than this */
  earlyStoppingThreshold: number | null;
  /** put the best validated weights back at the end, so the export holds them */
  keepBest: boolean;
  /** recompute each block in the backward: far less memory, about ⅓–½ slower (transformers' gradient_checkpointing) */
  gradientCheckpointing: boolean;
}

/** Where the form starts before a method's defaults arrive, and for keys the defaults leave out. */
export const FALLBACK: Hyperparameters = {
  totalSteps: 100,
  learningRate: 2e-4,
  batchSize: 4,
  maxLength: null,
  warmupSteps: 0,
  schedule: 'linear',
  evalEvery: 10,
  validationFraction: 0.2,
  seed: 42,
  gradientAccumulationSteps: 1,
  weightDecay: 0,
  promptFormat: 'alpaca',
  loss: 'completion',
  packing: false,
  earlyStoppingPatience: null,
  earlyStoppingThreshold: 0,
  keepBest: false,
  gradientCheckpointing: false,
};

/** The spec's settings from the form (everything but the model, data, method and name); throws naming the field. */
export function formSettings(h: Hyperparameters): Pick<TrainSpec, 'validationFraction' | 'trainer' | 'maxLength' | 'promptFormat' | 'loss' | 'packing'> {
  const positiveInt = (label: string, v: number | null): number => {
    if (v === null || !Number.isInteger(v) || v <= 0) throw new Error(`${label} must be a whole number above 0, got ${v ?? 'nothing'}.`);
    return v;
  };
  const totalSteps = positiveInt('Steps', h.totalSteps);
  if (h.learningRate === null || !Number.isFinite(h.learningRate) || h.learningRate <= 0) {
    throw new Error(`Learning rate must be a positive number, got ${h.learningRate ?? 'nothing'}.`);
  }
  const warmupSteps = h.warmupSteps ?? 0;
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0) throw new Error(`Warmup steps must be a whole number ≥ 0, got ${warmupSteps}.`);
  const evalEvery = h.evalEvery ?? 0;
  if (!Number.isInteger(evalEvery) || evalEvery < 0) throw new Error(`Validate every must be a whole number ≥ 0 (0 = never), got ${evalEvery}.`);
  const fraction = h.validationFraction ?? 0;
  if (!(fraction >= 0 && fraction < 1)) throw new Error(`Validation share must be in [0, 1), got ${fraction}.`);
  if (evalEvery > 0 && fraction === 0) throw new Error('Validation share is 0 but "Validate every" is set: hold out some examples or set it to 0.');
  const accumulation = positiveInt('Gradient accumulation', h.gradientAccumulationSteps ?? 1);
  const weightDecay = h.weightDecay ?? 0;
  if (!(Number.isFinite(weightDecay) && weightDecay >= 0)) throw new Error(`Weight decay must be a number ≥ 0, got ${weightDecay}.`);
  const patience = h.earlyStoppingPatience ?? 0;
  if (!Number.isInteger(patience) || patience < 0) throw new Error(`Early stopping patience must be a whole number ≥ 0 (0 = off), got ${patience}.`);
  const minDelta = h.earlyStoppingThreshold ?? 0;
  if (!(Number.isFinite(minDelta) && minDelta >= 0)) throw new Error(`Early stopping min delta must be a number ≥ 0, got ${minDelta}.`);
  if ((patience > 0 || h.keepBest) && evalEvery === 0) {
    throw new Error(`${patience > 0 ? 'Early stopping' : 'Keep the best checkpoint'} needs validation: set "Validate every" above 0.`);
  }
  return {
    validationFraction: fraction,
    trainer: {
      totalSteps,
      learningRate: h.learningRate,
      batchSize: positiveInt('Batch size', h.batchSize),
      warmupSteps,
      schedule: h.schedule,
      evalEvery: evalEvery === 0 ? null : evalEvery,
      seed: h.seed ?? FALLBACK.seed!,
      gradientAccumulationSteps: accumulation,
      weightDecay,
      earlyStoppingPatience: patience === 0 ? null : patience,
      earlyStoppingThreshold: minDelta,
      loadBestAtEnd: h.keepBest,
      gradientCheckpointing: h.gradientCheckpointing,
    },
    ...(h.maxLength === null ? {} : { maxLength: positiveInt('Max length', h.maxLength) }),
    promptFormat: h.promptFormat,
    loss: h.loss,
    packing: h.packing,
  };
}
