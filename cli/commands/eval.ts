// `hone eval --model DIR [--adapter DIR] --data FILE.jsonl --out REPORT.json [--metric NAME
// --max-new-tokens N --shots K --seed S --prompt alpaca|task --format F --limit N]`: the Evaluate
// view's run from the command line. The data is any dataset file Hone imports (format detected, or
// --format), or Hone's eval lines ({"instruction"|"prompt", "references", "options", "gold",
// "checks", "task", "cluster"}), recognised by those keys on the first line. With --adapter the
// base model (adapter off) and the tuned model (adapter on) are compared; without it the base model
// runs alone. Progress goes to stderr as one JSON line per example; stdout gets the summary; the
// report (every example, aggregates, bootstrap interval) is written to OUT whole or not at all.
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { loadCheckpoint } from '../../src/core/model/checkpoint';
import { Decoder } from '../../src/core/model/decoder';
import { importText } from '../../src/core/data/import';
import { TEXT_FORMATS, type TextFormatName } from '../../src/core/data/importers/types';
import { PeftModel } from '../../src/core/peft';
import { isEvalLine, itemFromRecord, MAX_SHOTS, parseEvalLine, PROMPT_FORMATS, type EvalItem, type PromptFormat } from '../../src/core/eval/eval-set';
import { buildReport, evaluate } from '../../src/core/eval/evaluate';
import { peftFromAdapter, type TunedInfo } from '../../src/core/eval/models';
import { EvalSetupError, getMetric } from '../../src/core/eval/scorers';
import { type ParsedArgs, UsageError, intFlag, required } from '../args';
import { readAdapterDir } from '../read-adapter-dir';
import { readModelDir } from '../read-model-dir';

export interface EvalSummary {
  out: string;
  status: 'completed' | 'cancelled';
  metric: string;
  examples: number;
  /** records left out: conversations, and those past --limit */
  skipped: number;
  base: number;
  tuned: number | null;
  difference: number | null;
  interval: { low: number; high: number; confidence: number } | null;
  wins: { tuned: number; base: number; tie: number } | null;
  fewShot: { shots: number; score: number } | null;
  corpus?: { base: number; tuned: number | null };
  seconds: number;
}

interface Settings {
  modelDir: string;
  adapterDir: string | undefined;
  dataFile: string;
  out: string;
  metric: string;
  maxNewTokens: number;
  shots: number;
  seed: number;
  promptFormat: PromptFormat;
  format: TextFormatName | 'auto';
  limit: number | undefined;
}

function settingsFrom(args: ParsedArgs): Settings {
  const metric = args.flags.get('metric') ?? 'rougeL';
  try {
    getMetric(metric);
  } catch (error) {
    throw new UsageError(`--metric: ${(error as Error).message}`);
  }
  const maxNewTokens = intFlag(args, 'max-new-tokens', 64);
  if (maxNewTokens < 1) throw new UsageError('--max-new-tokens must be at least 1');
  const shots = intFlag(args, 'shots', 0);
  if (shots > MAX_SHOTS) throw new UsageError(`--shots must be 0 to ${MAX_SHOTS} (the k-shot baseline), got ${shots}`);
  const promptFormat = (args.flags.get('prompt') ?? 'alpaca') as PromptFormat;
  if (!PROMPT_FORMATS.includes(promptFormat)) throw new UsageError(`--prompt must be ${PROMPT_FORMATS.join(' or ')}, got "${promptFormat}"`);
  const format = args.flags.get('format') ?? 'auto';
  if (format !== 'auto' && !(TEXT_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--format must be auto or one of ${TEXT_FORMATS.join(', ')}, got "${format}"`);
  }
  const limit = args.flags.has('limit') ? intFlag(args, 'limit', 0) : undefined;
  if (limit === 0) throw new UsageError('--limit must be at least 1');
  return {
    modelDir: required(args, 'model'),
    adapterDir: args.flags.get('adapter'),
    dataFile: required(args, 'data'),
    out: resolve(required(args, 'out')),
    metric,
    maxNewTokens,
    shots,
    seed: intFlag(args, 'seed', 0),
    promptFormat,
    format: format as TextFormatName | 'auto',
    limit,
  };
}

/** Eval items from a file: Hone's eval lines, or any dataset format the importers read. */
export async function readEvalItems(file: string, format: TextFormatName | 'auto'): Promise<{ items: EvalItem[]; skipped: number }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`--data ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a dataset file' : (error as Error).message}`);
  }
  const lines = text.split(/\r?\n/);
  const firstLine = lines.findIndex((line) => line.trim() !== '');
  let first: unknown;
  try {
    first = firstLine >= 0 ? JSON.parse(lines[firstLine]) : undefined;
  } catch {
    first = undefined; // not JSONL: a format the importers detect (CSV, JSON array, text)
  }
  if (format === 'auto' && isEvalLine(first)) {
    const items: EvalItem[] = [];
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        throw new EvalSetupError(`--data ${file}, line ${i + 1}: not valid JSON (${(error as Error).message})`);
      }
      try {
        items.push(parseEvalLine(value, i + 1));
      } catch (error) {
        throw new EvalSetupError(`--data ${file}, ${(error as Error).message}`);
      }
    });
    return { items, skipped: 0 };
  }
  const result = await importText(text, { format, fileName: basename(file) });
  if (result.errors.length > 0) {
    const e = result.errors[0];
    const where = [e.line !== undefined ? `line ${e.line}` : '', e.record !== undefined ? `record ${e.record}` : '', e.field ? `field "${e.field}"` : ''].filter(Boolean).join(', ');
    throw new Error(`--data ${file}: ${result.errors.length} error(s); first: ${where ? `${where}: ` : ''}${e.message}`);
  }
  const items = result.records.map((record, i) => itemFromRecord(record, String(i + 1))).filter((item): item is EvalItem => item !== null);
  return { items, skipped: result.records.length - items.length };
}

/** Writes beside OUT and renames into place: OUT is the whole report or untouched. */
async function writeAtomically(out: string, text: string): Promise<void> {
  const partial = join(dirname(out), `.${basename(out)}.partial-${process.pid}`);
  try {
    await writeFile(partial, text);
    await rename(partial, out);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

export async function evalCommand(args: ParsedArgs): Promise<EvalSummary> {
  const settings = settingsFrom(args);
  const outDir = await stat(dirname(settings.out)).catch(() => null);
  if (!outDir?.isDirectory()) throw new UsageError(`--out ${settings.out}: the folder ${dirname(settings.out)} does not exist`);
  const { items: all, skipped: conversations } = await readEvalItems(settings.dataFile, settings.format);
  const items = settings.limit ? all.slice(0, settings.limit) : all;
  const checkpoint = loadCheckpoint(await readModelDir(settings.modelDir));
  const adapterFiles = settings.adapterDir === undefined ? null : await readAdapterDir(settings.adapterDir);
  const decoder = Decoder.fromHost(checkpoint.config, checkpoint.weights);
  let peft: PeftModel;
  let tuned: TunedInfo | null = null;
  try {
    if (adapterFiles) ({ peft, info: tuned } = peftFromAdapter(decoder, adapterFiles, basename(resolve(settings.adapterDir!))));
    else peft = new PeftModel(decoder, null);
  } catch (error) {
    decoder.dispose();
    throw new Error(`--adapter ${settings.adapterDir}: ${(error as Error).message}`);
  }
  const startedAt = Date.now();
  try {
    const evaluated = await evaluate(
      { items, peft, tokenizer: checkpoint.tokenizer, what: `--data ${settings.dataFile}` },
      { metric: settings.metric, generation: { maxNewTokens: settings.maxNewTokens, greedy: true, seed: settings.seed }, promptFormat: settings.promptFormat, shots: settings.shots },
      {
        onEvent: (e) => {
          if (e.kind === 'result') process.stderr.write(JSON.stringify({ phase: 'zero-shot', done: e.done, total: e.total, id: e.row.id, base: e.row.base.score, tuned: e.row.tuned?.score ?? null }) + '\n');
          if (e.kind === 'few-shot') process.stderr.write(JSON.stringify({ phase: `${settings.shots}-shot`, done: e.done, total: e.total, score: e.fewShot.score }) + '\n');
        },
      },
    );
    const modelName = basename(resolve(settings.modelDir));
    const report = buildReport(evaluated, {
      startedAt,
      model: { id: modelName, name: modelName },
      tuned,
      evalSet: { kind: 'file', name: basename(settings.dataFile), selection: 'all', count: items.length, skipped: conversations + all.length - items.length },
    });
    await writeAtomically(settings.out, JSON.stringify(report, null, 2) + '\n');
    const comparison = report.comparison;
    return {
      out: settings.out,
      status: report.status,
      metric: report.metric.name,
      examples: report.rows.length,
      skipped: report.evalSet.skipped,
      base: report.aggregates!.overall.base,
      tuned: comparison ? comparison.overall.tuned : null,
      difference: comparison ? comparison.overall.difference : null,
      interval: comparison ? { low: comparison.interval.low, high: comparison.interval.high, confidence: comparison.interval.confidence } : null,
      wins: comparison ? comparison.wins : null,
      fewShot: report.fewShot ? { shots: report.fewShot.shots, score: report.fewShot.overall } : null,
      ...(report.corpus ? { corpus: report.corpus } : {}),
      seconds: report.seconds,
    };
  } finally {
    peft.dispose();
    decoder.dispose();
  }
}
