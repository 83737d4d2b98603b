// An evaluation as the studio runs it: an EvalSpec (which eval set, which tuned model, metric,
// decoding, k-shot baseline) checked and resolved against IndexedDB, run on the loaded model
// (evaluate.ts), stored as one report, rated and exported. The worker's eval API (workers/eval.ts)
// is a thin layer over these functions, so Node tests exercise them with fake-indexeddb.
import type { Decoder } from '../model/decoder';
import { PeftModel } from '../peft/model';
import type { HoneTokenizer } from '../tokenizer/tokenizer';
import {
  getDataset,
  getEvaluation,
  getExamples,
  listEvaluations,
  listRatings,
  saveEvaluation,
  saveRating,
  type EvaluationRecord,
  type HoneDb,
  type RatingRecord,
} from '../store';
import type { BootstrapOptions } from './aggregate';
import { checkItems, itemFromExample, MAX_SHOTS, PROMPT_FORMATS, type EvalItem, type PromptFormat } from './eval-set';
import { buildReport, evaluate, type EvalEvent } from './evaluate';
import { peftFromAdapter, peftFromRun, type TunedInfo } from './models';
import { preferencePairs, REPORT_VERSION, reportCsv, reportFileStem, reportJson, summarizeReport, type EvalReport, type EvalSetInfo, type EvaluationSummary } from './report';
import { EvalSetupError, getMetric } from './scorers';
import type { GenerationSettings } from '../model/generate';

export type { EvalEvent, EvalItem, EvalReport, EvaluationSummary, PromptFormat };

export type EvalSource =
  /** a stored dataset: its test split, or every example of the held-out clusters */
  | { kind: 'dataset'; datasetId: string; clusters?: string[] }
  /** items given directly (tests, files read elsewhere) */
  | { kind: 'inline'; name?: string; items: EvalItem[] };

export type TunedSpec =
  | { kind: 'run'; runId: string }
  /** an adapter folder's files (PEFT: adapter_config.json + adapter_model.safetensors; AdapterHub) */
  | { kind: 'adapter'; name: string; files: { name: string; bytes: ArrayBuffer | Uint8Array }[] }
  /** the base model alone */
  | { kind: 'none' };

export interface EvalSpec {
  source: EvalSource;
  tuned: TunedSpec;
  metric: string;
  /** ROUGE's Porter stemmer; what the exact_match metric extracts */
  metricOptions?: { useStemmer?: boolean; answerKind?: 'number' | 'choice' | 'text' };
  generation?: Partial<GenerationSettings>;
  promptFormat?: PromptFormat;
  /** 1…5: also run the base model k-shot (FLAN's baseline); default 0 */
  shots?: number;
  /** evaluate at most this many examples (the first ones) */
  limit?: number;
  bootstrap?: BootstrapOptions;
  name?: string;
}

/** The loaded model an evaluation runs on. */
export interface EvalModel {
  id: string;
  name: string;
  decoder: Decoder;
  tokenizer: HoneTokenizer;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Checks the spec's shape and settings before anything is loaded; errors name the field. */
export function checkEvalSpec(spec: EvalSpec): void {
  if (!isObject(spec)) throw new EvalSetupError('the evaluation settings must be an object');
  getMetric(spec.metric); // unknown metric → the list of known ones
  if (!isObject(spec.source) || (spec.source.kind !== 'dataset' && spec.source.kind !== 'inline')) {
    throw new EvalSetupError('source must be {kind: "dataset", datasetId} or {kind: "inline", items}');
  }
  if (spec.source.kind === 'dataset' && typeof spec.source.datasetId !== 'string') throw new EvalSetupError('source.datasetId must be a dataset id');
  if (spec.source.kind === 'dataset' && spec.source.clusters !== undefined && !(Array.isArray(spec.source.clusters) && spec.source.clusters.every((c) => typeof c === 'string'))) {
    throw new EvalSetupError('source.clusters must be a list of cluster names');
  }
  if (spec.source.kind === 'inline' && !Array.isArray(spec.source.items)) throw new EvalSetupError('source.items must be a list of eval items');
  if (!isObject(spec.tuned) || !['run', 'adapter', 'none'].includes(spec.tuned.kind as string)) {
    throw new EvalSetupError('tuned must be {kind: "run", runId}, {kind: "adapter", name, files} or {kind: "none"}');
  }
  const shots = spec.shots ?? 0;
  if (!Number.isInteger(shots) || shots < 0 || shots > MAX_SHOTS) throw new EvalSetupError(`shots must be a whole number from 0 to ${MAX_SHOTS}, got ${String(spec.shots)}`);
  if (spec.limit !== undefined && !(Number.isInteger(spec.limit) && spec.limit >= 1)) throw new EvalSetupError(`limit must be a whole number ≥ 1, got ${String(spec.limit)}`);
  if (spec.promptFormat !== undefined && !PROMPT_FORMATS.includes(spec.promptFormat)) {
    throw new EvalSetupError(`promptFormat must be one of ${PROMPT_FORMATS.join(', ')}, got ${JSON.stringify(spec.promptFormat)}`);
  }
}

/** The items of a spec's source (first `limit` of them), exemplars for k-shot prompts, and what the report says about the set. */
export async function loadEvalSet(db: HoneDb, source: EvalSource, limit?: number): Promise<{ items: EvalItem[]; pool: EvalItem[]; info: EvalSetInfo }> {
  if (source.kind === 'inline') {
    const name = source.name ?? 'inline examples';
    checkItems(source.items, name);
    const items = limit ? source.items.slice(0, limit) : [...source.items];
    return { items, pool: source.items, info: { kind: 'inline', name, selection: 'all', count: items.length, skipped: source.items.length - items.length } };
  }
  const dataset = await getDataset(db, source.datasetId);
  if (!dataset) throw new EvalSetupError(`dataset "${source.datasetId}" is not stored in this browser; it may have been deleted`);
  const clusters = source.clusters ?? [];
  let examples;
  let pool: EvalItem[] = [];
  let selection: string;
  if (clusters.length > 0) {
    examples = (await Promise.all(clusters.map((cluster) => getExamples(db, dataset.id, { cluster })))).flat().sort((a, b) => a.position - b.position);
    if (examples.length === 0) throw new EvalSetupError(`dataset “${dataset.name}” has no examples in the cluster(s) ${clusters.map((c) => JSON.stringify(c)).join(', ')}`);
    selection = `held-out clusters: ${clusters.join(', ')}`;
  } else {
    examples = await getExamples(db, dataset.id, { split: 'test' });
    if (examples.length === 0) {
      throw new EvalSetupError(`dataset “${dataset.name}” has no test split: split it in the Data view, or choose held-out clusters to evaluate on`);
    }
    selection = 'test split';
    // FLAN draws exemplars from the training data; without a train split the test items serve
    pool = (await getExamples(db, dataset.id, { split: 'train' })).map(itemFromExample).filter((item): item is EvalItem => item !== null);
  }
  const all = examples.map(itemFromExample).filter((item): item is EvalItem => item !== null);
  const conversations = examples.length - all.length;
  if (all.length === 0) throw new EvalSetupError(`dataset “${dataset.name}” (${selection}) holds only multi-turn conversations, which have no single answer to compare`);
  const items = limit ? all.slice(0, limit) : all;
  return { items, pool, info: { kind: 'dataset', id: dataset.id, name: dataset.name, selection, count: items.length, skipped: conversations + all.length - items.length } };
}

/** The PeftModel the spec's tuned side names (a method-less one for the base model alone). */
export async function tunedModel(db: HoneDb, model: EvalModel, tuned: TunedSpec): Promise<{ peft: PeftModel; info: TunedInfo | null }> {
  if (tuned.kind === 'none') return { peft: new PeftModel(model.decoder, null), info: null };
  if (tuned.kind === 'run') return peftFromRun(db, model.decoder, model.tokenizer, model, tuned.runId);
  if (!Array.isArray(tuned.files) || tuned.files.length === 0) throw new EvalSetupError('the adapter has no files; choose the adapter folder (adapter_config.json and its .safetensors)');
  const files = new Map<string, Uint8Array>();
  for (const file of tuned.files) {
    const base = file.name.split(/[\\/]/).pop() ?? file.name;
    files.set(base, file.bytes instanceof Uint8Array ? file.bytes : new Uint8Array(file.bytes));
  }
  return peftFromAdapter(model.decoder, files, tuned.name || 'adapter');
}

export interface SessionOptions {
  signal?: AbortSignal;
  onEvent?: (event: EvalEvent) => void;
}

/**
 * Runs the spec on the loaded model and stores the report (also a cancelled run's, when at least one
 * example finished). Bad settings and bad data fail before any model runs, and store nothing.
 */
export async function runEvalSession(db: HoneDb, model: EvalModel, spec: EvalSpec, opts: SessionOptions = {}): Promise<{ id: string | null; report: EvalReport }> {
  checkEvalSpec(spec);
  const started = Date.now();
  const set = await loadEvalSet(db, spec.source, spec.limit);
  const { peft, info } = await tunedModel(db, model, spec.tuned);
  let evaluated;
  try {
    evaluated = await evaluate(
      { items: set.items, shotPool: set.pool, peft, tokenizer: model.tokenizer, what: `eval set “${set.info.name}”` },
      {
        metric: spec.metric,
        metricOptions: spec.metricOptions ? pickMetricOptions(spec.metricOptions) : undefined,
        generation: spec.generation,
        promptFormat: spec.promptFormat,
        shots: spec.shots,
        bootstrap: spec.bootstrap,
      },
      opts,
    );
  } finally {
    peft.dispose();
  }
  const report = buildReport(evaluated, { name: spec.name, startedAt: started, model: { id: model.id, name: model.name }, tuned: info, evalSet: set.info });
  if (report.rows.length === 0) return { id: null, report };
  const stored = await saveEvaluation(db, { modelId: model.id, ...(info?.kind === 'run' ? { runId: info.id } : {}), report });
  return { id: stored.id, report };
}

/** Only the plain settings (a detector function could not be stored). */
function pickMetricOptions(options: NonNullable<EvalSpec['metricOptions']>): NonNullable<EvalSpec['metricOptions']> {
  const picked: NonNullable<EvalSpec['metricOptions']> = {};
  if (typeof options.useStemmer === 'boolean') picked.useStemmer = options.useStemmer;
  if (options.answerKind === 'number' || options.answerKind === 'choice' || options.answerKind === 'text') picked.answerKind = options.answerKind;
  return picked;
}

// ---- stored evaluations, ratings, exports ---------------------------------------------------

export function reportOf(record: EvaluationRecord): EvalReport {
  const report = record.report as Partial<EvalReport> | undefined;
  if (!report || report.version !== REPORT_VERSION || !Array.isArray(report.rows)) {
    throw new Error(`Evaluation ${record.id} was not stored by this version of the Evaluate view; it cannot be shown.`);
  }
  return report as EvalReport;
}

export async function requireEvaluation(db: HoneDb, id: string): Promise<{ record: EvaluationRecord; report: EvalReport }> {
  const record = await getEvaluation(db, id);
  if (!record) throw new Error(`Evaluation "${id}" is not stored in this browser; it may have been deleted.`);
  return { record, report: reportOf(record) };
}

/** Stored evaluations newest first, as the list shows them (ones from other versions are left out). */
export async function listEvaluationSummaries(db: HoneDb): Promise<EvaluationSummary[]> {
  const records = await listEvaluations(db);
  const summaries: EvaluationSummary[] = [];
  for (const record of records) {
    try {
      summaries.push(summarizeReport(record.id, reportOf(record)));
    } catch {
      // not ours to show
    }
  }
  return summaries;
}

export type RatingKind = 'thumbs' | 'ab';
const RATING_VALUES: Record<RatingKind, readonly string[]> = { thumbs: ['up', 'down'], ab: ['base', 'tuned', 'tie'] };

/**
 * Rates one example: thumbs up/down on the evaluated answer (the tuned one, or the base one when
 * only the base model ran), or an A/B preference naming the side that won ("base", "tuned", "tie").
 * One rating per example and kind: rating again replaces it.
 */
export async function rateExample(db: HoneDb, evaluationId: string, exampleId: string, kind: RatingKind, value: string): Promise<RatingRecord> {
  const { report } = await requireEvaluation(db, evaluationId);
  if (kind !== 'thumbs' && kind !== 'ab') throw new Error(`A rating is "thumbs" or "ab", got ${JSON.stringify(kind)}.`);
  if (!RATING_VALUES[kind].includes(value)) throw new Error(`A ${kind} rating is one of ${RATING_VALUES[kind].join(', ')}, got ${JSON.stringify(value)}.`);
  const row = report.rows.find((r) => r.id === exampleId);
  if (!row) throw new Error(`Evaluation “${report.name}” has no example "${exampleId}".`);
  if (kind === 'ab' && !row.tuned) throw new Error('This evaluation ran the base model alone; there is no second answer to prefer.');
  const existing = (await listRatings(db, evaluationId)).find((r) => r.exampleId === exampleId && r.kind === kind);
  return saveRating(db, { ...(existing ? { id: existing.id } : {}), evaluationId, exampleId, kind, value });
}

export type ExportFormat = 'json' | 'csv' | 'preferences';

/**
 * Ratings in the order of the report's rows (then thumbs before A/B), the order the user reads them
 * in. The store lists them by when they were given, which changes when a rating is redone and, for
 * two votes in the same millisecond, used to depend on their random ids: preference pairs came out
 * in a different order from run to run.
 */
function inReportOrder(report: EvalReport, ratings: readonly RatingRecord[]): RatingRecord[] {
  const rowIndex = new Map(report.rows.map((row, index) => [row.id, index]));
  const position = (rating: RatingRecord): number => rowIndex.get(rating.exampleId) ?? report.rows.length;
  const kindOrder = (rating: RatingRecord): number => (rating.kind === 'thumbs' ? 0 : 1);
  return [...ratings].sort((a, b) => position(a) - position(b) || kindOrder(a) - kindOrder(b) || a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** A stored evaluation as a downloadable text file. */
export async function exportEvaluation(db: HoneDb, id: string, format: ExportFormat): Promise<{ fileName: string; text: string; mimeType: string; count: number }> {
  const { report } = await requireEvaluation(db, id);
  const ratings = inReportOrder(report, await listRatings(db, id));
  const stem = reportFileStem(report.name);
  if (format === 'json') return { fileName: `${stem}.json`, text: reportJson(report, ratings), mimeType: 'application/json', count: report.rows.length };
  if (format === 'csv') return { fileName: `${stem}.csv`, text: reportCsv(report, ratings), mimeType: 'text/csv', count: report.rows.length };
  if (format === 'preferences') {
    const pairs = preferencePairs(report, ratings);
    if (pairs.count === 0) throw new Error('No A/B preferences yet: vote on some examples first (ties are not pairs).');
    return { fileName: `${stem}-preferences.jsonl`, text: pairs.text, mimeType: 'application/jsonl', count: pairs.count };
  }
  throw new Error(`Unknown export format ${JSON.stringify(format)}: choose json, csv or preferences.`);
}
