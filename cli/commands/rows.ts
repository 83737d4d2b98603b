// `hone rows --model DIR --data FILE --max-length N [--loss completion|assistant|all] [--packing]
// [--format F] [--prompt alpaca|template|chat] [--chat-template FILE]`: the rows a run would train
// on, in order, as JSON Lines on stdout — {"input_ids": […], "labels": […]} plus "position_ids" for
// packed rows, TRL's column names, so they compare line for line with SFTTrainer's — and the
// summary (examples used, dropped and why, scored tokens) as one JSON line on stderr.
// The data file and flags are read by the same code as `hone train` (train.ts), and the rows come
// from the one row builder (src/core/train/rows).
import { once } from 'node:events';
import { loadCheckpoint } from '../../src/core/model/checkpoint';
import { TEXT_FORMATS, type TextFormatName } from '../../src/core/data/importers/types';
import { buildTrainingRows, type RowsSummary } from '../../src/core/train/rows';
import type { Row } from '../../src/core/train/batch';
import { type ParsedArgs, UsageError, required } from '../args';
import { readModelDir } from '../read-model-dir';
import { readChatTemplate, readRecordsFile, rowFlags } from './train';

/** One row as TRL's collator names its columns. */
export function rowLine(row: Row): string {
  const line: Record<string, number[]> = { input_ids: row.inputIds, labels: row.labels };
  if (row.positionIds) line.position_ids = row.positionIds;
  return JSON.stringify(line);
}

async function write(text: string): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, 'drain');
}

/** Prints the rows itself (JSON Lines can be long) and returns undefined, so hone.ts prints nothing more. */
export async function rowsCommand(args: ParsedArgs): Promise<undefined> {
  const flags = rowFlags(args);
  if (flags.maxLength === undefined) throw new UsageError('rows: --max-length is required (the longest row, in tokens)');
  const format = args.flags.get('format') ?? 'auto';
  if (format !== 'auto' && !(TEXT_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--format must be auto or one of ${TEXT_FORMATS.join(', ')}, got "${format}"`);
  }
  const modelDir = required(args, 'model');
  const dataFile = required(args, 'data');
  const chatTemplate = await readChatTemplate(flags.chatTemplateFile);
  const { tokenizer } = loadCheckpoint(await readModelDir(modelDir));
  const { records } = await readRecordsFile(dataFile, format as TextFormatName | 'auto');
  const { rows, summary } = buildTrainingRows(records, tokenizer, {
    maxLength: flags.maxLength,
    loss: flags.loss,
    packing: flags.packing,
    promptFormat: flags.promptFormat,
    chatTemplate,
  });
  let batch = '';
  for (const row of rows) {
    batch += rowLine(row) + '\n';
    if (batch.length >= 1 << 20) {
      await write(batch);
      batch = '';
    }
  }
  if (batch !== '') await write(batch);
  process.stderr.write(JSON.stringify(summary satisfies RowsSummary) + '\n');
  return undefined;
}
