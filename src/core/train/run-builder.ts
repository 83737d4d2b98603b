// The one place a training run is built (issue 11): from a dataset's records, a tokenizer and the
// run's settings to the rows the Trainer visits, in order, the validation rows, and a summary of what
// became of every record. The CLI (`hone train`), the studio worker's training session and the FLAN
// experiment all call this, so the same records and settings give the same rows on every side.
//
//   buildRunData(records, tokenizer, settings) → { train, validation, stages?, summary }   pure, no model
//   prepareRun(decoder, tokenizer, records, settings) → rows + the PEFT model + the checked trainer config
//   RunRecordSource: where the records come from (a file for the CLI, IndexedDB in the studio)
//
// Rules, each chosen once here:
// - records in the test split are never trained on (counted as skipped);
// - validation comes from the records' validation split when any has one, else a seeded share of the
//   EXAMPLES (not of rows, so a packed or dropped example never straddles the split);
// - a staged plan (records tagged "stage:<n>" by src/core/data/shaping.ts, in draw order) trains stage
//   after stage, shuffled only within a stage (order.ts); its replay share is already in the drawn
//   records; the validation share is held out per stage;
// - each record becomes rows as its kind says (rows/: TRL's semantics); this file never renders a prompt;
// - the longest row defaults to 256 tokens or what the model's positions allow, for every family;
// - validation runs ten times a run unless told otherwise: every max(1, round(steps / 10)) updates;
// - padding uses the model's pad id, else EOS (padIdFor).
import type { Decoder } from '../model/decoder';
import type { InstructionRecord } from '../data/record';
import { STAGE_TAG_PREFIX } from '../data/shaping/common';
import type { PeftModel } from '../peft/model';
import type { HoneTokenizer } from '../tokenizer/tokenizer';
import { Rng } from '../rng';
import { padIdFor, scoredTokenCount, type Row } from './batch';
import { trainerConfig, type TrainerConfig } from './config';
import type { TrainerData } from './loop';
import { checkRowLength, createPeftModel, methodDefaults, virtualTokensOf, type MethodSpec, type TrainExample } from './run';
import { buildTrainingRows, RowsError, type DroppedExamples, type RowSettings } from './rows';

/** 256 tokens fits an Alpaca-style instruction and answer for most examples. */
export const DEFAULT_MAX_LENGTH = 256;
/** the share of examples held out for validation loss when a dataset has no validation split */
export const DEFAULT_VALIDATION_FRACTION = 0.1;

/** Where a run's records come from: the CLI reads a file, the studio IndexedDB (as PretrainStorage for pretraining). */
export interface RunRecordSource {
  /** every record in dataset order, test split included (the builder leaves it out and counts it) */
  read(): Promise<SourceRecords>;
}

export interface SourceRecords {
  /** the dataset's name, for messages */
  name: string;
  records: InstructionRecord[];
  /** a staged plan's stage names (its recipe), by stage number − 1 */
  stageNames?: string[];
}

export interface RunDataSettings extends RowSettings {
  /** share of examples held out for validation when no record is in the validation split (default 0.1) */
  validationFraction?: number;
  /** seeds the validation share (and the row builder's template choice) */
  seed: number;
}

export interface StageSummary {
  /** 1-based, as the records' "stage:<n>" tags */
  stage: number;
  name: string;
  examples: { train: number; validation: number };
  rows: { train: number; validation: number };
}

export interface RunDataSummary {
  /** records given */
  examples: number;
  /** records that became a training or validation sequence */
  used: number;
  /** records left out before any row was built */
  skipped: { test: number };
  /** records the row builder dropped, by reason; firstIndex is the index in the records given */
  dropped: DroppedExamples[];
  /** labels the loss scores (after the shift) */
  scoredTokens: { train: number; validation: number };
  rows: { train: number; validation: number };
  /** 'split': the records' own validation split; 'held-out': a seeded share of examples; 'none' */
  validationFrom: 'split' | 'held-out' | 'none';
  /** staged plans only, in training order */
  stages?: StageSummary[];
}

export interface RunData {
  /** in stage order; the Trainer shuffles within each stage */
  train: Row[];
  validation: Row[];
  /** training rows per stage (staged plans only) */
  stages?: number[];
  summary: RunDataSummary;
}

/**
 * Seeded split of unsplit examples: `fraction` of them (at least one when fraction > 0 and two or
 * more exist, never all) go to validation; both sides keep their original order.
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

/** An inline (prompt, completion) pair as a record of TRL's standard prompt-completion kind (used exactly as given). */
export function pairRecord(example: TrainExample): InstructionRecord {
  return { kind: 'prompt-completion', instruction: example.prompt, output: example.completion };
}

/** The record's stage (1-based) from its "stage:<n>" tag, or null when it has none. */
export function stageOf(record: InstructionRecord, index: number): number | null {
  const tags = (record.tags ?? []).filter((tag) => tag.startsWith(STAGE_TAG_PREFIX));
  if (tags.length === 0) return null;
  const stage = Number(tags[0].slice(STAGE_TAG_PREFIX.length));
  if (tags.length > 1 || !Number.isInteger(stage) || stage < 1) {
    throw new Error(`record ${index}, field "tags": ${JSON.stringify(tags)} is not one stage tag "${STAGE_TAG_PREFIX}<n>" (n ≥ 1)`);
  }
  return stage;
}

/** Records by stage, in stage order; one group when no record carries a stage tag. */
function groupByStage(records: readonly InstructionRecord[]): { stage: number | null; indices: number[] }[] {
  const stages = records.map((record, i) => stageOf(record, i));
  const tagged = stages.filter((s) => s !== null).length;
  if (tagged === 0) return [{ stage: null, indices: records.map((_, i) => i) }];
  if (tagged < records.length) {
    const first = stages.findIndex((s) => s === null);
    throw new Error(`record ${first}, field "tags": has no "${STAGE_TAG_PREFIX}<n>" tag, but ${tagged} other records do; a staged plan tags every record`);
  }
  const byStage = new Map<number, number[]>();
  stages.forEach((stage, i) => byStage.set(stage!, [...(byStage.get(stage!) ?? []), i]));
  return [...byStage.keys()].sort((a, b) => a - b).map((stage) => ({ stage, indices: byStage.get(stage)! }));
}

interface Built {
  rows: Row[];
  dropped: DroppedExamples[];
  used: number;
}

/** The row builder's error for record `local` of a sub-list, re-addressed to its index in the whole dataset. */
function relocated(error: RowsError, index: number): RowsError {
  const moved = new RowsError('', index, error.field);
  moved.message = error.message.replace(`record ${error.record}`, `record ${index}`);
  return moved;
}

/**
 * Rows of some records (by index into `records`), dropped indices and errors mapped back to
 * `records`. A validation part whose every record is dropped gives no rows (counted); a training
 * part's is an error.
 */
function rowsOf(records: readonly InstructionRecord[], indices: readonly number[], tokenizer: HoneTokenizer, settings: RowSettings, part: 'train' | 'validation'): Built {
  if (indices.length === 0) return { rows: [], dropped: [], used: 0 };
  try {
    const { rows, summary } = buildTrainingRows(indices.map((i) => records[i]), tokenizer, settings);
    const dropped = summary.dropped.map((d) => ({ ...d, firstIndex: indices[d.firstIndex] }));
    return { rows, dropped, used: summary.used };
  } catch (error) {
    if (!(error instanceof RowsError)) throw error;
    if (error.record !== undefined) throw relocated(error, indices[error.record]);
    if (part === 'validation' && error.field === 'maxLength') {
      return { rows: [], dropped: [{ reason: 'no scored token left (every validation record was dropped)', count: indices.length, firstIndex: indices[0] }], used: 0 };
    }
    throw error;
  }
}

function mergeDropped(lists: readonly DroppedExamples[][]): DroppedExamples[] {
  const byReason = new Map<string, DroppedExamples>();
  for (const d of lists.flat()) {
    const known = byReason.get(d.reason);
    byReason.set(d.reason, known ? { reason: d.reason, count: known.count + d.count, firstIndex: Math.min(known.firstIndex, d.firstIndex) } : { ...d });
  }
  return [...byReason.values()].sort((a, b) => a.firstIndex - b.firstIndex);
}

const scored = (rows: readonly Row[]): number => rows.reduce((n, row) => n + scoredTokenCount(row.labels), 0);

/**
 * The rows a run trains and validates on. Throws, naming the record and field, for a record the row
 * builder cannot render, and when nothing is left to train on.
 */
export function buildRunData(records: readonly InstructionRecord[], tokenizer: HoneTokenizer, settings: RunDataSettings, stageNames: readonly string[] = []): RunData {
  const { validationFraction = DEFAULT_VALIDATION_FRACTION, seed, ...rowSettings } = settings;
  if (!(typeof validationFraction === 'number' && validationFraction >= 0 && validationFraction < 1)) {
    throw new Error(`validationFraction must be a number in [0, 1), got ${String(validationFraction)}`);
  }
  if (records.length === 0) throw new Error('the dataset has no records to train on');
  const groups = groupByStage(records);
  const hasSplit = records.some((r) => r.split === 'validation');
  let test = 0;
  const train: Row[] = [];
  const validation: Row[] = [];
  const stageRows: number[] = [];
  const stages: StageSummary[] = [];
  const dropped: DroppedExamples[][] = [];
  let used = 0;
  groups.forEach((group, g) => {
    const kept = group.indices.filter((i) => (records[i].split === 'test' ? (test++, false) : true));
    // a staged plan holds each stage's share out separately, so every stage is validated
    const split = hasSplit
      ? { train: kept.filter((i) => records[i].split !== 'validation'), validation: kept.filter((i) => records[i].split === 'validation') }
      : splitOff(kept, validationFraction, seed + g);
    const trainBuilt = rowsOf(records, split.train, tokenizer, { ...rowSettings, seed }, 'train');
    const valBuilt = rowsOf(records, split.validation, tokenizer, { ...rowSettings, seed }, 'validation');
    train.push(...trainBuilt.rows);
    validation.push(...valBuilt.rows);
    dropped.push(trainBuilt.dropped, valBuilt.dropped);
    used += trainBuilt.used + valBuilt.used;
    if (group.stage !== null) {
      const name = stageNames[group.stage - 1] ?? `stage ${group.stage}`;
      if (trainBuilt.rows.length === 0) throw new Error(`stage ${group.stage} (“${name}”) has no training example left (${split.train.length} given, all dropped or held out)`);
      stageRows.push(trainBuilt.rows.length);
      stages.push({
        stage: group.stage,
        name,
        examples: { train: split.train.length, validation: split.validation.length },
        rows: { train: trainBuilt.rows.length, validation: valBuilt.rows.length },
      });
    }
  });
  const summary: RunDataSummary = {
    examples: records.length,
    used,
    skipped: { test },
    dropped: mergeDropped(dropped),
    scoredTokens: { train: scored(train), validation: scored(validation) },
    rows: { train: train.length, validation: validation.length },
    validationFrom: validation.length === 0 ? 'none' : hasSplit ? 'split' : 'held-out',
    ...(stages.length ? { stages } : {}),
  };
  if (train.length === 0) {
    const reasons = summary.dropped.map((d) => `${d.count} ${d.reason} (first: record ${d.firstIndex})`).join('; ');
    throw new Error(`none of the ${records.length} records is left to train on (${test} in the test split${reasons ? `; ${reasons}` : ''})`);
  }
  return { train, validation, ...(stages.length ? { stages: stageRows } : {}), summary };
}

/** A run setting the run cannot use; `field` is the setting's path (e.g. "method.config"). */
export class RunSettingsError extends Error {
  override name = 'RunSettingsError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** Everything a run is asked for; every field but method, trainer.totalSteps and rows.promptFormat… has a default. */
export interface RunSettings {
  method: MethodSpec;
  trainer: Partial<TrainerConfig> & { totalSteps: number };
  /** row settings; maxLength defaults as described at the top */
  rows: Omit<RowSettings, 'maxLength'> & { maxLength?: number };
  /** default 0.1 */
  validationFraction?: number;
}

export interface PreparedRun {
  peft: PeftModel;
  data: TrainerData;
  /** the Trainer's settings, complete and checked */
  trainer: TrainerConfig;
  maxLength: number;
  /** the method settings actually used: methodDefaults merged with the run's */
  methodConfig: Record<string, unknown>;
  summary: RunDataSummary;
}

/**
 * Rows, the PEFT model and the trainer settings for a run, all checked; nothing is stored and
 * nothing trains. The caller owns `peft` (dispose it). Errors name the setting or the record.
 */
export function prepareRun(decoder: Decoder, tokenizer: HoneTokenizer, source: SourceRecords, settings: RunSettings): PreparedRun {
  const defaults = methodDefaults(settings.method.name);
  const seed = settings.trainer.seed ?? defaults.trainer.seed ?? 42;
  const methodConfig = { ...defaults.method, ...(settings.method.config ?? {}) };
  const tokenize = (text: string): number[] => tokenizer.encode(text, { addSpecialTokens: true });
  let peft: PeftModel;
  try {
    peft = createPeftModel(decoder, { name: settings.method.name, config: methodConfig }, seed, { tokenize });
  } catch (error) {
    throw new RunSettingsError('method.config', (error as Error).message);
  }
  try {
    const maxLength = settings.rows.maxLength ?? Math.max(2, Math.min(DEFAULT_MAX_LENGTH, decoder.config.maxPositions - virtualTokensOf(peft)));
    checkRowLength(peft, maxLength);
    const built = buildRunData(source.records, tokenizer, { ...settings.rows, maxLength, validationFraction: settings.validationFraction, seed }, source.stageNames);
    const given = settings.trainer;
    const input: Partial<TrainerConfig> = { ...defaults.trainer, ...given };
    const hasValidation = built.validation.length > 0;
    if (!hasValidation && given.evalEvery != null) {
      throw new Error(
        `trainer.evalEvery is ${given.evalEvery} but there are no validation examples; ` +
          'set the validation share above 0 (or give the dataset a validation split), or turn validation off.',
      );
    }
    for (const key of ['earlyStoppingPatience', 'loadBestAtEnd'] as const) {
      if (!hasValidation && given[key] != null && given[key] !== false) {
        throw new Error(`trainer.${key} needs validation examples, and there are none; set the validation share above 0 (or give the dataset a validation split)`);
      }
    }
    if (!hasValidation) {
      // validation settings that came from the method's defaults do not apply to a run without validation data
      for (const key of ['evalEvery', 'earlyStoppingPatience', 'loadBestAtEnd'] as const) if (!(key in given)) delete input[key];
    } else if (!('evalEvery' in given) && input.evalEvery == null) {
      input.evalEvery = Math.max(1, Math.round(given.totalSteps / 10)); // ten points on the validation curve
    }
    const padTokenId = padIdFor(decoder.config.padTokenId, tokenizer.eosTokenId);
    const trainer = trainerConfig({ ...input, totalSteps: given.totalSteps, padTokenId, seed });
    const data: TrainerData = { train: built.train, validation: built.validation, ...(built.stages ? { stages: built.stages } : {}) };
    return { peft, data, trainer, maxLength, methodConfig, summary: built.summary };
  } catch (error) {
    peft.dispose();
    throw error;
  }
}
