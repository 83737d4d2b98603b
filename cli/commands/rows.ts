// `hone rows --model DIR --data FILE --max-length N [--loss completion|assistant|all] [--packing]
// [--format F] [--prompt alpaca|template|chat] [--chat-template FILE] [--val-fraction F] [--seed N]`:
// the rows a run would train on, in order (a staged plan's stages one after another, the test split
// and any validation share left out), as JSON Lines on stdout — {"input_ids": […], "labels": […]}
// plus "position_ids" for packed rows, TRL's column names, so they compare line for line with
// SFTTrainer's — and the summary (examples used, skipped, dropped and why, scored tokens, rows,
// stages) as one JSON line on stderr. The data file and flags are read by the same code as
// `hone train` (train.ts), and the rows come from the same run builder (src/core/train/run-builder.ts).
import { once } from 'node:events';
import { loadCheckpoint } from '../../src/core/model/checkpoint';
import { buildRunData, type RunDataSummary } from '../../src/core/train/run-builder';
import type { Row } from '../../src/core/train/batch';
import { type ParsedArgs, UsageError, required } from '../args';
import { readModelDir } from '../read-model-dir';
import { formatFlag, readChatTemplate, readRecordsFile, rowFlags, seedFlag, validationFractionFlag } from './train';

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
  const format = formatFlag(args);
  const modelDir = required(args, 'model');
  const dataFile = required(args, 'data');
  const chatTemplate = await readChatTemplate(flags.chatTemplateFile);
  const { tokenizer } = loadCheckpoint(await readModelDir(modelDir));
  // the same defaults as `hone train`: no validation share unless asked, seed 42
  const validationFraction = validationFractionFlag(args);
  const seed = seedFlag(args);
  const { records, stageNames } = await readRecordsFile(dataFile, format);
  const { train: rows, summary } = buildRunData(
    records,
    tokenizer,
    { maxLength: flags.maxLength, loss: flags.loss, packing: flags.packing, promptFormat: flags.promptFormat, chatTemplate, validationFraction, seed },
    stageNames,
  );
  let batch = '';
  for (const row of rows) {
    batch += rowLine(row) + '\n';
    if (batch.length >= 1 << 20) {
      await write(batch);
      batch = '';
    }
  }
  if (batch !== '') await write(batch);
  process.stderr.write(JSON.stringify(summary satisfies RunDataSummary) + '\n');
  return undefined;
}
