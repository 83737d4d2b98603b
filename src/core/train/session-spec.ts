// What a training run is asked to do (TrainSpec), checked before anything is built or stored, and
// where its records come from: inline pairs or a stored dataset (IndexedDB, the studio's side of the
// run builder's RunRecordSource). Every error names the field (`trainer.learningRate`) and what it
// needs, so the form can say so.
import type { InstructionRecord } from '../data/record';
import { recipeOf } from '../data/shaping/specs';
import { getDataset, getExamples, type HoneDb } from '../store';
import { getMethod } from '../peft/registry';
import '../peft/methods';
import { TRAINER_DEFAULTS, type TrainerConfig } from './config';
import { methodDefaults, type MethodSpec, type TrainExample } from './run';
import { DEFAULT_MAX_LENGTH, DEFAULT_VALIDATION_FRACTION, pairRecord, type RunRecordSource, type RunSettings, type SourceRecords } from './run-builder';
import { LOSS_MODES, PROMPT_FORMATS, type LossMode, type PromptFormat } from './rows';

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
  /** how instruction records become a prompt (default 'alpaca'); other kinds train as what they are */
  promptFormat?: PromptFormat;
  /** which tokens are scored (default 'completion') */
  loss?: LossMode;
  /** best-fit-decreasing packing of whole sequences into rows of maxLength (default false) */
  packing?: boolean;
  /** a Jinja chat template to use instead of the tokenizer's own */
  chatTemplate?: string;
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
  promptFormat: PromptFormat;
  loss: LossMode;
  packing: boolean;
}

/** 100 updates: long enough to see a tiny model's loss move, short enough to finish in a browser tab. */
export const DEFAULT_TOTAL_STEPS = 100;

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
    promptFormat: 'alpaca',
    loss: 'completion',
    packing: false,
  };
}

const TRAINER_KEYS = new Set<string>([...Object.keys(TRAINER_DEFAULTS), 'totalSteps', 'padTokenId']);
const SPEC_KEYS = new Set([
  'modelId', 'datasetId', 'examples', 'validationFraction', 'method', 'trainer', 'maxLength', 'checkpointEvery', 'name',
  'promptFormat', 'loss', 'packing', 'chatTemplate',
]);
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
  const oneOf = (field: 'promptFormat' | 'loss', known: readonly string[]): void => {
    const value = spec[field];
    if (value !== undefined && !known.includes(value)) fail(field, `must be one of ${known.join(', ')}, got ${JSON.stringify(value)}`);
  };
  oneOf('promptFormat', PROMPT_FORMATS);
  oneOf('loss', LOSS_MODES);
  if (spec.packing !== undefined && typeof spec.packing !== 'boolean') fail('packing', `must be true or false, got ${JSON.stringify(spec.packing)}`);
  if (spec.chatTemplate !== undefined && (typeof spec.chatTemplate !== 'string' || spec.chatTemplate.trim() === '')) {
    fail('chatTemplate', 'must be a Jinja chat template (text); leave it out to use the tokenizer\'s own');
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
  const checkpointing = spec.trainer.gradientCheckpointing;
  if (checkpointing !== undefined && typeof checkpointing !== 'boolean') fail('trainer.gradientCheckpointing', `must be true or false, got ${JSON.stringify(checkpointing)}`);
  const betas = spec.trainer.betas;
  if (betas !== undefined && !(Array.isArray(betas) && betas.length === 2 && betas.every((b) => typeof b === 'number' && b >= 0 && b < 1))) {
    fail('trainer.betas', `must be two numbers in [0, 1), got ${JSON.stringify(betas)}`);
  }
}

/** A stored dataset as the run builder's record source: its examples in dataset order, a plan's stage names. */
export function storedDatasetSource(db: HoneDb, datasetId: string): RunRecordSource {
  return {
    async read(): Promise<SourceRecords> {
      const dataset = await getDataset(db, datasetId);
      if (!dataset) throw new Error(`Training settings: dataset "${datasetId}" is not stored in this browser; it may have been deleted. Choose another dataset.`);
      const examples = await getExamples(db, datasetId);
      const records = examples.map(({ id: _id, datasetId: _dataset, position: _position, ...fields }) => fields as InstructionRecord);
      const recipe = recipeOf(dataset);
      const stageNames = recipe?.kind === 'plan' ? recipe.stages.map((stage) => stage.name) : undefined;
      return { name: dataset.name, records, ...(stageNames ? { stageNames } : {}) };
    },
  };
}

/** The run's records: inline pairs, or the stored dataset's. */
export async function loadRecords(db: HoneDb, spec: TrainSpec): Promise<SourceRecords> {
  if (spec.examples) return { name: 'inline examples', records: spec.examples.map(pairRecord) };
  return storedDatasetSource(db, spec.datasetId!).read();
}

/** The spec's row settings for the run builder (maxLength left out when the spec leaves it to the model). */
export function runRowSettings(spec: TrainSpec): RunSettings['rows'] {
  return {
    ...(spec.maxLength === undefined ? {} : { maxLength: spec.maxLength }),
    ...(spec.promptFormat === undefined ? {} : { promptFormat: spec.promptFormat }),
    ...(spec.loss === undefined ? {} : { loss: spec.loss }),
    ...(spec.packing === undefined ? {} : { packing: spec.packing }),
    ...(spec.chatTemplate === undefined ? {} : { chatTemplate: spec.chatTemplate }),
  };
}
