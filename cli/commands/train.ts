// `hone train --model DIR --data FILE --method NAME --out DIR [...]`: instruction-tunes a model on
// a dataset file with one PEFT method and writes the exported folder (what exportAdapterFolder
// writes: a PEFT adapter, an AdapterHub adapter, or a whole checkpoint for full / freeze).
// The run is built by the same core builder as the studio's (src/core/train/run-builder.ts): this
// file only reads flags and files and writes the folder. Every setting, the data and the method
// config are checked before the first step; the folder is written beside OUT and renamed into
// place, so OUT is either complete or absent. With --keep-best it holds the best validated weights.
// Progress goes to stderr as one JSON line per update; stdout gets the final summary.
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { loadCheckpoint } from '../../src/core/model/checkpoint';
import { Decoder } from '../../src/core/model/decoder';
import { importText } from '../../src/core/data/import';
import { TEXT_FORMATS, type TextFormatName } from '../../src/core/data/importers/types';
import { formatImportError } from '../../src/core/data/record';
import { exportAdapterFolder } from '../../src/core/peft';
import { trainerConfig, type TrainerConfig } from '../../src/core/train/config';
import { Trainer, type ProgressEvent } from '../../src/core/train/loop';
import { methodDefaults } from '../../src/core/train/run';
import { prepareRun, RunSettingsError, type RunDataSummary, type RunRecordSource, type RunSettings, type SourceRecords } from '../../src/core/train/run-builder';
import { LOSS_MODES, PROMPT_FORMATS, type LossMode, type PromptFormat } from '../../src/core/train/rows';
import { stageSteps, type StageSteps } from '../../src/core/train/session-runs';
import { type ParsedArgs, UsageError, intFlag, numberFlag, required } from '../args';
import { readModelDir } from '../read-model-dir';

export interface TrainSummary {
  out: string;
  method: string;
  status: string;
  steps: number;
  skippedSteps: number;
  examples: number;
  /** examples that did not train: in the test split, or dropped by the row builder (see data.dropped for why) */
  skippedExamples: number;
  rows: { train: number; validation: number; dropped: number };
  /** the run builder's summary: used, dropped and why, scored tokens, per-stage counts */
  data: RunDataSummary;
  settings: { promptFormat: PromptFormat; loss: LossMode; packing: boolean; maxLength: number; trainer: TrainerConfig };
  loss: { first: number; last: number };
  valLoss?: { first: number; last: number; best: number };
  /** the best validation step; the folder holds its weights when exported is "best" */
  best?: { step: number; valLoss: number };
  exported: 'best' | 'last';
  /** staged plans: each stage's first and last update, in order */
  stageSteps?: StageSteps[];
  tokensPerSecond: number;
  seconds: number;
  trainable: { trainable: number; total: number; percent: number };
  files: string[];
}

/** The flags `hone rows` and `hone train` share: how records become rows. --chat-template is a file, read later. */
export interface RowFlags {
  maxLength?: number;
  loss?: LossMode;
  packing: boolean;
  promptFormat?: PromptFormat;
  chatTemplateFile?: string;
}

function positiveFlag(args: ParsedArgs, name: string): number | undefined {
  if (!args.flags.has(name)) return undefined;
  const value = intFlag(args, name, 0);
  if (value <= 0) throw new UsageError(`--${name} must be a positive integer, got "${args.flags.get(name)}"`);
  return value;
}

function choiceFlag<T extends string>(args: ParsedArgs, name: string, known: readonly T[]): T | undefined {
  const value = args.flags.get(name);
  if (value !== undefined && !(known as readonly string[]).includes(value)) throw new UsageError(`--${name} must be one of ${known.join(', ')}, got "${value}"`);
  return value as T | undefined;
}

export function rowFlags(args: ParsedArgs): RowFlags {
  return {
    maxLength: positiveFlag(args, 'max-length'),
    loss: choiceFlag(args, 'loss', LOSS_MODES),
    packing: args.switches.has('packing'),
    promptFormat: choiceFlag(args, 'prompt', PROMPT_FORMATS),
    chatTemplateFile: args.flags.get('chat-template'),
  };
}

/** --format: a text format name, or auto (by the file's extension and contents). */
export function formatFlag(args: ParsedArgs): TextFormatName | 'auto' {
  const format = args.flags.get('format') ?? 'auto';
  if (format !== 'auto' && !(TEXT_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--format must be auto or one of ${TEXT_FORMATS.join(', ')}, got "${format}"`);
  }
  return format as TextFormatName | 'auto';
}

/** --val-fraction: 0 by default here (every example trains); the studio holds out 0.1. */
export function validationFractionFlag(args: ParsedArgs): number {
  const validationFraction = numberFlag(args, 'val-fraction') ?? 0;
  if (!(validationFraction >= 0 && validationFraction < 1)) throw new UsageError(`--val-fraction must be in [0, 1), got "${args.flags.get('val-fraction')}"`);
  return validationFraction;
}

/** --seed, 42 by default. */
export function seedFlag(args: ParsedArgs): number {
  return args.flags.has('seed') ? intFlag(args, 'seed', 0) : 42;
}

export interface Settings {
  modelDir: string;
  dataFile: string;
  out: string;
  format: TextFormatName | 'auto';
  rows: RowFlags;
  run: Omit<RunSettings, 'rows'>;
}

/** Everything the command line says, checked without touching the disk. */
export function settingsFrom(args: ParsedArgs): Settings {
  const method = required(args, 'method');
  try {
    methodDefaults(method);
  } catch (error) {
    throw new UsageError(`--method: ${(error as Error).message}`);
  }
  let methodConfig: Record<string, unknown> = {};
  const rawConfig = args.flags.get('config');
  if (rawConfig !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(rawConfig);
    } catch (error) {
      throw new UsageError(`--config must be a JSON object of ${method} settings, e.g. '{"r":4}' (${(error as Error).message})`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError(`--config must be a JSON object of ${method} settings, e.g. '{"r":4}'`);
    methodConfig = parsed as Record<string, unknown>;
  }
  const validationFraction = validationFractionFlag(args);
  const format = formatFlag(args);
  const given = (name: string, value: unknown): Partial<TrainerConfig> => (args.flags.has(name) || args.switches.has(name) ? (value as Partial<TrainerConfig>) : {});
  const number = (name: string): number => Number(args.flags.get(name));
  const trainer: RunSettings['trainer'] = {
    totalSteps: positiveFlag(args, 'steps') ?? 100,
    seed: seedFlag(args),
    ...given('lr', { learningRate: number('lr') }),
    ...given('batch', { batchSize: positiveFlag(args, 'batch') }),
    ...given('grad-accum', { gradientAccumulationSteps: positiveFlag(args, 'grad-accum') }),
    ...given('warmup', { warmupSteps: intFlag(args, 'warmup', 0) }),
    ...given('schedule', { schedule: choiceFlag(args, 'schedule', ['constant', 'linear', 'cosine'] as const) }),
    ...given('weight-decay', { weightDecay: number('weight-decay') }),
    ...given('eval-every', { evalEvery: positiveFlag(args, 'eval-every') }),
    ...given('early-stopping-patience', { earlyStoppingPatience: positiveFlag(args, 'early-stopping-patience') }),
    ...given('early-stopping-min-delta', { earlyStoppingThreshold: number('early-stopping-min-delta') }),
    ...given('keep-best', { loadBestAtEnd: true }),
    ...given('gradient-checkpointing', { gradientCheckpointing: true }),
  };
  try {
    // ranges only: evalEvery and the pad id come with the data and the model
    const { loadBestAtEnd: _best, earlyStoppingPatience: _patience, ...ranges } = { ...methodDefaults(method).trainer, ...trainer };
    trainerConfig({ ...ranges, padTokenId: 0 });
  } catch (error) {
    throw new UsageError(flagNames((error as Error).message));
  }
  return {
    modelDir: required(args, 'model'),
    dataFile: required(args, 'data'),
    out: resolve(required(args, 'out')),
    format,
    rows: rowFlags(args),
    run: { method: { name: method, config: methodConfig }, trainer, validationFraction },
  };
}

/** TrainerConfig's field names in its errors, as the flags that set them. */
function flagNames(message: string): string {
  const flags: Record<string, string> = {
    learningRate: 'lr', batchSize: 'batch', gradientAccumulationSteps: 'grad-accum', warmupSteps: 'warmup', schedule: 'schedule',
    weightDecay: 'weight-decay', evalEvery: 'eval-every', earlyStoppingPatience: 'early-stopping-patience',
    earlyStoppingThreshold: 'early-stopping-min-delta', loadBestAtEnd: 'keep-best',
    gradientCheckpointing: 'gradient-checkpointing',
  };
  return message.replace(/(?:TrainerConfig|trainer)\.(\w+)/g, (whole, field: string) => (flags[field] ? `--${flags[field]} (${whole})` : whole));
}

export async function refuseExisting(out: string): Promise<void> {
  const existing = await stat(out).catch(() => null);
  if (existing && (!existing.isDirectory() || (await readdir(out)).length > 0)) {
    throw new UsageError(`--out ${out} already exists and is not an empty folder; choose a new folder so nothing is overwritten`);
  }
}

/** A dataset file's records (the run builder's record source on the command line); any import error fails it. */
export async function readRecordsFile(file: string, format: TextFormatName | 'auto'): Promise<SourceRecords> {
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
  let result;
  try {
    result = await importText(stream as AsyncIterable<string>, { format, fileName: basename(file) });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`--data ${file}: no such file`);
    if (code === 'EISDIR') throw new UsageError(`--data ${file}: is a folder, not a dataset file`);
    throw error;
  } finally {
    stream.destroy();
  }
  if (result.errors.length > 0) throw new Error(`--data ${file}: ${result.errors.length} error(s); first: ${formatImportError(result.errors[0])}`);
  return { name: basename(file), records: result.records };
}

/** The run builder's record source on the command line: a dataset file (the studio's is IndexedDB, session-spec.ts). */
export function fileRecordSource(file: string, format: TextFormatName | 'auto'): RunRecordSource {
  return { read: () => readRecordsFile(file, format) };
}

/** --chat-template FILE's text (a Jinja template), or undefined for the tokenizer's own. */
export async function readChatTemplate(file: string | undefined): Promise<string | undefined> {
  if (file === undefined) return undefined;
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--chat-template ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
}

export async function trainCommand(args: ParsedArgs): Promise<TrainSummary> {
  const settings = settingsFrom(args);
  await refuseExisting(settings.out);
  const chatTemplate = await readChatTemplate(settings.rows.chatTemplateFile);
  const modelFiles = await readModelDir(settings.modelDir);
  const checkpoint = loadCheckpoint(modelFiles);
  const source = await readRecordsFile(settings.dataFile, settings.format);
  const { tokenizer, config: modelConfig } = checkpoint;
  const { chatTemplateFile: _file, ...rowSettings } = settings.rows;
  const rows = { ...rowSettings, ...(chatTemplate === undefined ? {} : { chatTemplate }) };

  const decoder = Decoder.fromHost(modelConfig, checkpoint.weights);
  let prepared;
  try {
    prepared = prepareRun(decoder, tokenizer, source, { ...settings.run, rows });
  } catch (error) {
    decoder.dispose();
    const message = (error as Error).message;
    if (error instanceof RunSettingsError && error.field === 'method.config') throw new UsageError(`--config: ${message}`);
    throw new Error(`--data ${settings.dataFile}: ${flagNames(message)}`, { cause: error });
  }
  const { peft: model, data, summary } = prepared;
  let trainer: Trainer | null = null;
  try {
    const events: ProgressEvent[] = [];
    trainer = new Trainer(model, data, prepared.trainer, {
      onProgress: (e) => {
        events.push(e);
        const line = { step: e.step, totalSteps: e.totalSteps, loss: e.loss, valLoss: e.valLoss, lr: e.lr, tokensPerSecond: Math.round(e.tokensPerSecond), skipped: e.skipped, stage: e.stage };
        process.stderr.write(JSON.stringify(line) + '\n');
      },
    });
    const started = performance.now();
    const result = await trainer.run();
    const seconds = (performance.now() - started) / 1000;
    // a diverged run is refused rather than exported: its last finite weights are those of the
    // start of the run (the CLI keeps no checkpoints), which is not what anyone asked for
    if (result.status === 'diverged') {
      throw new Error(
        `training diverged at step ${result.step}: ${prepared.trainer.maxConsecutiveBadSteps} updates in a row had a loss, gradient or weights that were not finite (NaN or Infinity); ` +
          `nothing was written to ${settings.out}. Lower --lr (it was ${prepared.trainer.learningRate}) and train again`,
      );
    }

    // with --keep-best the Trainer has put the best validated weights back (load_best_model_at_end)
    // baseFiles: full / freeze write a whole checkpoint with the base's tokenizer files (hf-folder.ts)
    const files = await exportAdapterFolder(model.method!, { baseModel: baseModelName(checkpoint.rawConfig, settings.modelDir), rawConfig: checkpoint.rawConfig, baseFiles: modelFiles });
    await writeFolder(settings.out, files);

    const valLosses = events.filter((e) => e.valLoss !== undefined).map((e) => e.valLoss!);
    const dropped = summary.dropped.reduce((n, d) => n + d.count, 0);
    return {
      out: settings.out,
      method: settings.run.method.name,
      status: result.status,
      steps: result.step,
      skippedSteps: result.skippedSteps,
      examples: summary.examples,
      skippedExamples: summary.skipped.test + dropped,
      rows: { ...summary.rows, dropped },
      data: summary,
      settings: { promptFormat: rows.promptFormat ?? 'alpaca', loss: rows.loss ?? 'completion', packing: rows.packing, maxLength: prepared.maxLength, trainer: prepared.trainer },
      loss: { first: events[0].loss, last: events.at(-1)!.loss },
      ...(valLosses.length > 0 ? { valLoss: { first: valLosses[0], last: valLosses.at(-1)!, best: Math.min(...valLosses) } } : {}),
      ...(result.best ? { best: result.best } : {}),
      exported: prepared.trainer.loadBestAtEnd && result.best ? 'best' : 'last',
      ...(data.stages ? { stageSteps: stageSteps(events) } : {}),
      tokensPerSecond: events.at(-1)!.tokensPerSecond,
      seconds,
      trainable: model.trainableParameterCount(),
      files: [...files.keys()].sort(),
    };
  } finally {
    trainer?.dispose();
    model.dispose();
    decoder.dispose();
  }
}

/** The id written as base_model: the checkpoint's own `_name_or_path` when it has one, else the folder name. */
export function baseModelName(rawConfig: Record<string, unknown>, dir: string): string {
  const name = rawConfig['_name_or_path'];
  return typeof name === 'string' && name.trim() !== '' ? name : basename(resolve(dir));
}

/** Writes the folder next to `out` and renames it into place: OUT is complete or absent. */
export async function writeFolder(out: string, files: Map<string, Uint8Array>): Promise<void> {
  const partial = join(dirname(out), `.${basename(out)}.partial-${process.pid}`);
  await mkdir(partial, { recursive: true });
  try {
    for (const [name, bytes] of files) await writeFile(join(partial, name), bytes);
    await rm(out, { recursive: true, force: true }); // an empty folder, checked before training
    await rename(partial, out);
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw error;
  }
}
