// `hone handoff --model DIR|ORG/NAME --data FILE --method NAME [the train flags] --out DIR [--base-model ID]`:
// the run `hone train` would make with the same flags, written for a cluster instead of trained here
// (src/core/handoff): data.jsonl (TRL rows), train_trl.py, axolotl.yaml, README.md. The flags are
// train's own (train.ts settingsFrom) and the run is prepared by the same builder (prepareRun), so
// the defaults, the split, the row length and the method settings are the run's. Nothing trains.
import { resolve } from 'node:path';
import { loadCheckpoint } from '../../src/core/model/checkpoint';
import { Decoder } from '../../src/core/model/decoder';
import { checkpointHubId, handoffFolder } from '../../src/core/handoff';
import { prepareRun, RunSettingsError } from '../../src/core/train/run-builder';
import { type ParsedArgs, UsageError } from '../args';
import { hubIdOf, readModelDir } from '../read-model-dir';
import { fileRecordSource, readChatTemplate, refuseExisting, settingsFrom, writeFolder } from './train';

export interface HandoffSummary {
  out: string;
  method: string;
  baseModel: string;
  examples: { train: number; validation: number };
  formats: string[];
  files: string[];
}

/**
 * What the scripts load: --base-model; else the Hub id --model named (readModelDir pulled it, the
 * revision dropped: the cluster takes the Hub's); else the checkpoint's own Hub id; else the folder's absolute path.
 */
async function baseModelFor(args: ParsedArgs, rawConfig: Record<string, unknown>, modelDir: string): Promise<string> {
  const given = args.flags.get('base-model');
  if (given !== undefined) return given;
  const hubId = await hubIdOf(modelDir);
  if (hubId !== null) return hubId;
  return checkpointHubId(rawConfig) ?? resolve(modelDir);
}

export async function handoffCommand(args: ParsedArgs): Promise<HandoffSummary> {
  const settings = settingsFrom(args);
  await refuseExisting(settings.out);
  const chatTemplate = await readChatTemplate(settings.rows.chatTemplateFile);
  const checkpoint = loadCheckpoint(await readModelDir(settings.modelDir));
  const source = await fileRecordSource(settings.dataFile, settings.format).read();
  const { chatTemplateFile: _file, ...rowSettings } = settings.rows;
  const rows = { ...rowSettings, ...(chatTemplate === undefined ? {} : { chatTemplate }) };
  const decoder = Decoder.fromHost(checkpoint.config, checkpoint.weights);
  try {
    let prepared;
    try {
      prepared = prepareRun(decoder, checkpoint.tokenizer, source, { ...settings.run, rows });
    } catch (error) {
      if (error instanceof RunSettingsError && error.field === 'method.config') throw new UsageError(`--config: ${error.message}`);
      throw new Error(`--data ${settings.dataFile}: ${(error as Error).message}`, { cause: error });
    }
    try {
      const baseModel = await baseModelFor(args, checkpoint.rawConfig, settings.modelDir);
      const { files, settings: written } = await handoffFolder({
        run: prepared,
        records: source.records,
        method: settings.run.method.name,
        baseModel,
        rows,
        validationFraction: settings.run.validationFraction,
      });
      await writeFolder(settings.out, files);
      return {
        out: settings.out,
        method: settings.run.method.name,
        baseModel,
        examples: { train: countLines(files.get(written.train_file)), validation: written.eval_file ? countLines(files.get(written.eval_file)) : 0 },
        formats: written.dataset_formats,
        files: [...files.keys()].sort(),
      };
    } finally {
      prepared.peft.dispose();
    }
  } finally {
    decoder.dispose();
  }
}

const countLines = (bytes: Uint8Array | undefined): number => (bytes ? new TextDecoder().decode(bytes).split('\n').filter(Boolean).length : 0);
