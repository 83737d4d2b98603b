// What a training run is asked to do (TrainSpec), checked before anything is built or stored, and
// the examples it trains on: inline pairs or a stored dataset, split into train and validation.
// Every error names the field (`trainer.learningRate`) and what it needs, so the form can say so.
import { Rng } from '../rng';
import { getDataset, getExamples, type HoneDb } from '../store';
import { getMethod } from '../peft/registry';
import '../peft/methods';
import { TRAINER_DEFAULTS, type TrainerConfig } from './config';
import { methodDefaults, renderInstruction, type MethodSpec, type TrainExample } from './run';

export type { MethodSpec };

export interface TrainSpec {
  /** the stored model to adapt; it must be the loaded one */
  modelId: string;
  /** a stored dataset (its examples' splits are used when present) … */
  datasetId?: string;
  /** … or inline pairs, for tests and quick runs */
  examples?: TrainExample[];
  /** share of unsplit examples held out for validation loss (default 0.1) */
  validationFraction?: number;
  method: MethodSpec;
  trainer: Partial<TrainerConfig> & { totalSteps: number };
  /** longest training row in tokens (default min(256, what the model's positions allow)) */
  maxLength?: number;
  /** save a resumable checkpoint every this many updates (default: a tenth of the run, at most 50) */
  checkpointEvery?: number;
  name?: string;
}

/** What the Train form starts from for one method. */
export interface TrainDefaults {
  method: Record<string, unknown>;
  trainer: Omit<TrainerConfig, 'padTokenId'>;
  maxLength: number;
  checkpointEvery: number;
  validationFraction: number;
}

/** 100 updates: long enough to see a tiny model's loss move, short enough to finish in a browser tab. */
export const DEFAULT_TOTAL_STEPS = 100;
/** 256 tokens fits an Alpaca-style instruction and answer for most examples. */
export const DEFAULT_MAX_LENGTH = 256;
export const DEFAULT_VALIDATION_FRACTION = 0.1;

export function defaultCheckpointEvery(totalSteps: number): number {
  return Math.max(1, Math.min(50, Math.ceil(totalSteps / 10)));
}

export function trainingDefaults(method: string): TrainDefaults {
  getMethod(method); // names the known methods when this one is not
  const defaults = methodDefaults(method);
  const totalSteps = defaults.trainer.totalSteps ?? DEFAULT_TOTAL_STEPS;
  const { padTokenId: _pad, ...trainer } = { ...TRAINER_DEFAULTS, ...defaults.trainer, totalSteps, padTokenId: 0 };
  return {
    method: { ...defaults.method },
    trainer: { ...trainer, betas: [...trainer.betas] },
    maxLength: DEFAULT_MAX_LENGTH,
    checkpointEvery: defaultCheckpointEvery(totalSteps),
    validationFraction: DEFAULT_VALIDATION_FRACTION,
  };
}

const TRAINER_KEYS = new Set<string>([...Object.keys(TRAINER_DEFAULTS), 'totalSteps', 'padTokenId']);
const SPEC_KEYS = new Set(['modelId', 'datasetId', 'examples', 'validationFraction', 'method', 'trainer', 'maxLength', 'checkpointEvery', 'name']);
/** trainer fields that may be null (meaning "off") */
const NULLABLE = new Set(['maxGradNorm', 'evalEvery', 'earlyStoppingPatience', 'padTo']);

function fail(field: string, detail: string): never {
  throw new Error(`Training settings: ${field} ${detail}`);
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Checks a spec's shape and every number in it. Method keys are checked by the method itself when
 * it is created (PeftError names the key); the trainer's ranges by trainerConfig.
 */
export function checkSpec(spec: TrainSpec): void {
  if (!isObject(spec)) fail('', 'must be an object');
  const unknown = Object.keys(spec).filter((key) => !SPEC_KEYS.has(key));
  if (unknown.length) fail(unknown.map((k) => `"${k}"`).join(', '), `${unknown.length > 1 ? 'are' : 'is'} not a setting (known: ${[...SPEC_KEYS].join(', ')})`);
  if (typeof spec.modelId !== 'string' || !spec.modelId) fail('modelId', 'must name the stored model to train');
  if (spec.name !== undefined && typeof spec.name !== 'string') fail('name', `must be text, got ${JSON.stringify(spec.name)}`);
  const hasDataset = spec.datasetId !== undefined;
  const hasExamples = spec.examples !== undefined;
  if (hasDataset === hasExamples) fail('datasetId / examples', 'need exactly one: a stored dataset or inline examples');
  if (hasDataset && (typeof spec.datasetId !== 'string' || !spec.datasetId)) fail('datasetId', 'must be a dataset id');
  if (hasExamples) {
    if (!Array.isArray(spec.examples) || spec.examples.length === 0) fail('examples', 'must be a non-empty list of { prompt, completion }');
    spec.examples.forEach((example, i) => {
      if (!isObject(example) || typeof example.prompt !== 'string' || typeof example.completion !== 'string') {
        fail(`examples[${i}]`, 'must be { prompt: string, completion: string }');
      }
    });
  }
  if (spec.validationFraction !== undefined) {
    const f = spec.validationFraction;
    if (typeof f !== 'number' || !(f >= 0 && f < 1)) fail('validationFraction', `must be a number in [0, 1), got ${String(f)}`);
  }
  for (const key of ['maxLength', 'checkpointEvery'] as const) {
    const value = spec[key];
    if (value !== undefined && (!Number.isInteger(value) || value < (key === 'maxLength' ? 2 : 1))) {
      fail(key, `must be a whole number ≥ ${key === 'maxLength' ? 2 : 1}, got ${String(value)}`);
    }
  }
  if (!isObject(spec.method) || typeof spec.method.name !== 'string') fail('method', 'must be { name, config? }');
  getMethod(spec.method.name);
  if (spec.method.config !== undefined && !isObject(spec.method.config)) fail('method.config', 'must be an object of PEFT settings');
  if (!isObject(spec.trainer)) fail('trainer', 'must be an object with at least totalSteps');
  for (const [key, value] of Object.entries(spec.trainer)) {
    if (!TRAINER_KEYS.has(key)) fail(`trainer.${key}`, `is not a trainer setting (known: ${[...TRAINER_KEYS].join(', ')})`);
    if (value === null && NULLABLE.has(key)) continue;
    if (typeof value === 'number' && !Number.isFinite(value)) fail(`trainer.${key}`, `must be a finite number, got ${value}`);
  }
  if (!Number.isInteger(spec.trainer.totalSteps) || spec.trainer.totalSteps <= 0) {
    fail('trainer.totalSteps', `must be a whole number ≥ 1, got ${String(spec.trainer.totalSteps)}`);
  }
  const lr = spec.trainer.learningRate;
  if (lr !== undefined && !(typeof lr === 'number' && lr > 0 && Number.isFinite(lr))) fail('trainer.learningRate', `must be a positive number, got ${String(lr)}`);
  for (const key of ['weightDecay', 'warmupSteps', 'eps', 'seed'] as const) {
    const value = spec.trainer[key];
    if (value !== undefined && !(typeof value === 'number' && value >= 0)) fail(`trainer.${key}`, `must be a number ≥ 0, got ${String(value)}`);
  }
  const betas = spec.trainer.betas;
  if (betas !== undefined && !(Array.isArray(betas) && betas.length === 2 && betas.every((b) => typeof b === 'number' && b >= 0 && b < 1))) {
    fail('trainer.betas', `must be two numbers in [0, 1), got ${JSON.stringify(betas)}`);
  }
}

export interface SplitExamples {
  train: TrainExample[];
  validation: TrainExample[];
  /** dataset examples left out: no output to learn, or in the test split */
  skipped: { noOutput: number; test: number };
}

/**
 * Seeded split of unsplit examples: `fraction` of them (at least one when fraction > 0 and two or
 * more exist) go to validation; both sides keep their original order.
 */
export function splitOff<T>(items: readonly T[], fraction: number, seed: number): { train: T[]; validation: T[] } {
  if (fraction <= 0 || items.length < 2) return { train: [...items], validation: [] };
  const count = Math.min(items.length - 1, Math.max(1, Math.round(items.length * fraction)));
  const indices = items.map((_, i) => i);
  const rng = new Rng(seed);
  for (let i = indices.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [indices[i], indices[j]] = [indices[j], indices[i]];
  }
  const held = new Set(indices.slice(0, count));
  return { train: items.filter((_, i) => !held.has(i)), validation: items.filter((_, i) => held.has(i)) };
}

/** The run's examples: inline ones, or the dataset's (its validation split when it has one). */
export async function loadExamples(db: HoneDb, spec: TrainSpec, seed: number): Promise<SplitExamples> {
  const fraction = spec.validationFraction ?? DEFAULT_VALIDATION_FRACTION;
  if (spec.examples) return { ...splitOff(spec.examples, fraction, seed), skipped: { noOutput: 0, test: 0 } };
  const datasetId = spec.datasetId!;
  const dataset = await getDataset(db, datasetId);
  if (!dataset) throw new Error(`Training settings: dataset "${datasetId}" is not stored in this browser; it may have been deleted. Choose another dataset.`);
  const records = await getExamples(db, datasetId);
  const skipped = { noOutput: 0, test: 0 };
  const train: TrainExample[] = [];
  const validation: TrainExample[] = [];
  const unsplit: TrainExample[] = [];
  for (const record of records) {
    if (record.split === 'test') {
      skipped.test++;
      continue;
    }
    if (typeof record.output !== 'string' || record.output.length === 0) {
      skipped.noOutput++;
      continue;
    }
    const example = renderInstruction({ instruction: record.instruction, context: record.context, output: record.output });
    (record.split === 'train' ? train : record.split === 'validation' ? validation : unsplit).push(example);
  }
  if (train.length + unsplit.length === 0) {
    throw new Error(
      `Dataset “${dataset.name}” has no training examples with an output (${records.length} examples: ` +
        `${skipped.noOutput} without output, ${skipped.test} in the test split, ${validation.length} in validation).`,
    );
  }
  // An explicit validation split is the user's choice; only without one is part of the rest held out.
  const split = validation.length > 0 ? { train: unsplit, validation: [] } : splitOff(unsplit, fraction, seed);
  return { train: [...train, ...split.train], validation: [...validation, ...split.validation], skipped };
}
