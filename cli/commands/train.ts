// `hone train --model DIR --data FILE --method NAME --out DIR [...]`: instruction-tunes a model on
// a dataset file with one PEFT method and writes the exported folder (what exportAdapterFolder
// writes: a PEFT adapter, an AdapterHub adapter, or a whole checkpoint for full / freeze).
// Every setting, the data and the method config are checked before the first step; the folder
// is written beside OUT and renamed into place, so OUT is either complete or absent.
// Progress goes to stderr as one JSON line per update; stdout gets the final summary.
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { loadCheckpoint } from '../../src/core/model/checkpoint';
import { Decoder } from '../../src/core/model/decoder';
import { importText } from '../../src/core/data/import';
import { TEXT_FORMATS, type TextFormatName } from '../../src/core/data/importers/types';
import type { InstructionRecord } from '../../src/core/data/record';
import { exportAdapterFolder } from '../../src/core/peft';
import { padIdFor } from '../../src/core/train/batch';
import { trainerConfig, type TrainerConfig } from '../../src/core/train/config';
import { Trainer, type ProgressEvent } from '../../src/core/train/loop';
import { buildRows, checkRowLength, createPeftModel, methodDefaults, renderInstruction, splitRows, virtualTokensOf, type TrainExample } from '../../src/core/train/run';
import { type ParsedArgs, UsageError, intFlag, numberFlag, required } from '../args';
import { readModelDir } from '../read-model-dir';

export interface TrainSummary {
  out: string;
  method: string;
  status: string;
  steps: number;
  skippedSteps: number;
  examples: number;
  /** examples without a completion (multi-turn chats, empty outputs) that were left out */
  skippedExamples: number;
  rows: { train: number; validation: number; dropped: number };
  loss: { first: number; last: number };
  valLoss?: { first: number; last: number; best: number };
  tokensPerSecond: number;
  seconds: number;
  trainable: { trainable: number; total: number; percent: number };
  files: string[];
}

interface Settings {
  modelDir: string;
  dataFile: string;
  method: string;
  methodConfig: Record<string, unknown>;
  out: string;
  steps: number;
  maxLength: number | undefined;
  validationFraction: number;
  format: TextFormatName | 'auto';
  trainer: Partial<TrainerConfig>;
}

/** Everything the command line says, checked without touching the disk. */
function settingsFrom(args: ParsedArgs): Settings {
  const method = required(args, 'method');
  let defaults;
  try {
    defaults = methodDefaults(method);
  } catch (error) {
    throw new UsageError(`--method: ${(error as Error).message}`);
  }
  const positive = (name: string, fallback: number | undefined): number | undefined => {
    if (!args.flags.has(name)) return fallback;
    const value = intFlag(args, name, 0);
    if (value <= 0) throw new UsageError(`--${name} must be a positive integer, got "${args.flags.get(name)}"`);
    return value;
  };
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
  const validationFraction = numberFlag(args, 'val-fraction') ?? 0;
  if (!(validationFraction >= 0 && validationFraction < 1)) throw new UsageError(`--val-fraction must be in [0, 1), got "${args.flags.get('val-fraction')}"`);
  const format = args.flags.get('format') ?? 'auto';
  if (format !== 'auto' && !(TEXT_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--format must be auto or one of ${TEXT_FORMATS.join(', ')}, got "${format}"`);
  }
  const lr = args.flags.get('lr');
  const learningRate = lr === undefined ? defaults.trainer.learningRate : Number(lr);
  const steps = positive('steps', 100)!;
  const trainer: Partial<TrainerConfig> = {
    ...defaults.trainer,
    learningRate,
    batchSize: positive('batch', undefined),
    seed: args.flags.has('seed') ? intFlag(args, 'seed', 0) : 42,
  };
  try {
    trainerConfig({ ...trainer, totalSteps: steps, padTokenId: 0 }); // the real pad id comes with the model
  } catch (error) {
    const message = (error as Error).message.replace('TrainerConfig.learningRate', '--lr (TrainerConfig.learningRate)');
    throw new UsageError(message);
  }
  return {
    modelDir: required(args, 'model'),
    dataFile: required(args, 'data'),
    method,
    methodConfig,
    out: resolve(required(args, 'out')),
    steps,
    maxLength: positive('max-length', undefined),
    validationFraction,
    format: format as TextFormatName | 'auto',
    trainer,
  };
}

async function refuseExisting(out: string): Promise<void> {
  const existing = await stat(out).catch(() => null);
  if (existing && (!existing.isDirectory() || (await readdir(out)).length > 0)) {
    throw new UsageError(`--out ${out} already exists and is not an empty folder; choose a new folder so nothing is overwritten`);
  }
}

/** Instruction records → (prompt, completion) pairs; records without a single answer are counted and left out. */
export function examplesFrom(records: readonly InstructionRecord[]): { examples: TrainExample[]; skipped: number } {
  const examples: TrainExample[] = [];
  let skipped = 0;
  for (const record of records) {
    if (typeof record.output !== 'string' || record.output.trim() === '') {
      skipped++;
      continue;
    }
    // pretraining text has no instruction: the whole text is the completion
    examples.push(record.instruction.trim() === '' ? { prompt: '', completion: record.output } : renderInstruction({ ...record, output: record.output }));
  }
  return { examples, skipped };
}

async function readExamples(file: string, format: TextFormatName | 'auto'): Promise<{ examples: TrainExample[]; skipped: number }> {
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
  if (result.errors.length > 0) {
    const first = result.errors[0];
    const where = [first.line !== undefined ? `line ${first.line}` : '', first.record !== undefined ? `record ${first.record}` : '', first.field ? `field "${first.field}"` : '']
      .filter(Boolean)
      .join(', ');
    throw new Error(`--data ${file}: ${result.errors.length} error(s); first: ${where ? `${where}: ` : ''}${first.message}`);
  }
  const read = examplesFrom(result.records);
  if (read.examples.length === 0) {
    throw new Error(`--data ${file}: none of its ${result.records.length} record(s) has an output to train on (multi-turn chats and empty outputs are left out)`);
  }
  return read;
}

export async function trainCommand(args: ParsedArgs): Promise<TrainSummary> {
  const settings = settingsFrom(args);
  await refuseExisting(settings.out);
  const checkpoint = loadCheckpoint(await readModelDir(settings.modelDir));
  const { examples, skipped } = await readExamples(settings.dataFile, settings.format);
  const { tokenizer, config: modelConfig } = checkpoint;

  const decoder = Decoder.fromHost(modelConfig, checkpoint.weights);
  let model;
  try {
    model = createPeftModel(decoder, { name: settings.method, config: settings.methodConfig }, settings.trainer.seed ?? 42, {
      tokenize: (text) => tokenizer.encode(text),
    });
  } catch (error) {
    decoder.dispose();
    throw new UsageError(`--config: ${(error as Error).message}`);
  }
  let trainer: Trainer | null = null;
  try {
    // GPT-2's learned positions bound the row; rotary models are limited only by memory, so 256 by default
    const positions = modelConfig.family === 'gpt2' ? modelConfig.maxPositions - virtualTokensOf(model) : 256;
    const maxLength = settings.maxLength ?? Math.min(256, positions);
    checkRowLength(model, maxLength);
    const built = buildRows(tokenizer, examples, { maxLength });
    const split = splitRows(built.rows, settings.validationFraction, settings.trainer.seed ?? 42);
    const hasValidation = split.validation.length > 0;
    const events: ProgressEvent[] = [];
    trainer = new Trainer(
      model,
      { train: split.train, validation: split.validation },
      {
        ...settings.trainer,
        totalSteps: settings.steps,
        padTokenId: padIdFor(modelConfig.padTokenId, tokenizer.eosTokenId),
        evalEvery: hasValidation ? Math.max(1, Math.floor(settings.steps / 10)) : null,
      },
      {
        onProgress: (e) => {
          events.push(e);
          process.stderr.write(
            JSON.stringify({ step: e.step, totalSteps: e.totalSteps, loss: e.loss, valLoss: e.valLoss, lr: e.lr, tokensPerSecond: Math.round(e.tokensPerSecond), skipped: e.skipped }) + '\n',
          );
        },
      },
    );
    const started = performance.now();
    const result = await trainer.run();
    const seconds = (performance.now() - started) / 1000;

    const files = await exportAdapterFolder(model.method!, { baseModel: baseModelName(checkpoint.rawConfig, settings.modelDir), rawConfig: checkpoint.rawConfig });
    await writeFolder(settings.out, files);

    const valLosses = events.filter((e) => e.valLoss !== undefined).map((e) => e.valLoss!);
    return {
      out: settings.out,
      method: settings.method,
      status: result.status,
      steps: result.step,
      skippedSteps: result.skippedSteps,
      examples: examples.length,
      skippedExamples: skipped,
      rows: { train: split.train.length, validation: split.validation.length, dropped: built.dropped },
      loss: { first: events[0].loss, last: events.at(-1)!.loss },
      ...(valLosses.length > 0 ? { valLoss: { first: valLosses[0], last: valLosses.at(-1)!, best: Math.min(...valLosses) } } : {}),
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
function baseModelName(rawConfig: Record<string, unknown>, dir: string): string {
  const name = rawConfig['_name_or_path'];
  return typeof name === 'string' && name.trim() !== '' ? name : basename(resolve(dir));
}

/** Writes the folder next to `out` and renames it into place: OUT is complete or absent. */
async function writeFolder(out: string, files: Map<string, Uint8Array>): Promise<void> {
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
