// An evaluation report as stored and exported: every example's prompt, references, base / tuned /
// few-shot outputs and scores, the aggregates with the bootstrap interval, the FLAN-style figure's
// numbers, and exports (JSON, CSV, preference pairs). Plain data, no tensors, no DOM: the worker
// builds it, IndexedDB stores it, the UI and the CLI read it.
import { aggregate, mean, type Aggregates, type Comparison, type Winner } from './aggregate';
import type { IfevalReport } from './ifeval';
import type { SideResult } from './run';
import type { GenerationSettings } from '../model/generate';
import type { RatingRecord } from '../store/schema';

export const REPORT_VERSION = 1;

export interface FewShotResult extends SideResult {
  /** the k-shot prompt the base model answered */
  prompt: string;
}

export interface ReportRow {
  index: number;
  id: string;
  task: string;
  cluster: string;
  /** the zero-shot prompt both models answered */
  prompt: string;
  references: string[];
  base: SideResult;
  /** null when only the base model was evaluated */
  tuned: SideResult | null;
  /** the base model's k-shot answer, when the k-shot baseline ran */
  fewShot: FewShotResult | null;
  /** tuned − base */
  difference: number | null;
  winner: Winner | null;
}

export interface TunedSource {
  kind: 'run' | 'adapter';
  id: string;
  name: string;
  method: string;
  step?: number;
}

export interface EvalSetInfo {
  kind: 'dataset' | 'inline' | 'file';
  id?: string;
  name: string;
  /** which examples: "test split", "held-out clusters: a, b", "all" */
  selection: string;
  count: number;
  /** examples left out (conversations, beyond the limit) */
  skipped: number;
}

export interface FewShotSummary {
  shots: number;
  count: number;
  overall: number;
  byTask: Record<string, number>;
  byCluster: Record<string, number>;
}

/** One group of the FLAN-style figure: base zero-shot, base k-shot, tuned zero-shot. */
export interface FigureGroup {
  /** a cluster, or "all examples" */
  group: string;
  count: number;
  baseZeroShot: number;
  baseFewShot: number | null;
  tunedZeroShot: number | null;
}

export interface EvalReport {
  version: number;
  name: string;
  createdAt: number;
  seconds: number;
  status: 'completed' | 'cancelled';
  model: { id: string; name: string };
  tuned: TunedSource | null;
  evalSet: EvalSetInfo;
  metric: { name: string; description: string; best: number; mode: 'generate' | 'loglik' };
  settings: {
    generation: GenerationSettings;
    promptFormat: string;
    shots: number;
    bootstrap: { resamples: number; seed: number; confidence: number };
    /** log-likelihood metrics: text between the prompt and each option */
    targetDelimiter?: string;
    metricOptions?: Record<string, unknown>;
  };
  rows: ReportRow[];
  /** means per task, cluster and overall (tuned = base when only the base model ran) */
  aggregates: Aggregates | null;
  /** with a tuned model: the differences with bootstrap intervals and wins */
  comparison: Comparison | null;
  fewShot: FewShotSummary | null;
  /** corpus-level BLEU / chrF from summed statistics */
  corpus?: { base: number; tuned: number | null };
  ifeval?: { base: { strict: IfevalReport; loose: IfevalReport }; tuned: { strict: IfevalReport; loose: IfevalReport } | null };
  figure: FigureGroup[];
}

export const ALL_EXAMPLES = 'all examples';

/** Means of the few-shot scores per task, per cluster and overall. */
export function fewShotSummary(rows: readonly ReportRow[], shots: number): FewShotSummary | null {
  const scored = rows.filter((row) => row.fewShot !== null);
  if (scored.length === 0) return null;
  const byKey = (key: 'task' | 'cluster') => {
    const groups = new Map<string, number[]>();
    for (const row of scored) groups.set(row[key], [...(groups.get(row[key]) ?? []), row.fewShot!.score]);
    return Object.fromEntries([...groups.keys()].sort().map((name) => [name, mean(groups.get(name)!)]));
  };
  return { shots, count: scored.length, overall: mean(scored.map((row) => row.fewShot!.score)), byTask: byKey('task'), byCluster: byKey('cluster') };
}

/** Base means of rows (tuned = base) when only the base model ran. */
export function baseAggregates(rows: readonly ReportRow[]): Aggregates | null {
  if (rows.length === 0) return null;
  return aggregate(rows.map((row) => ({ task: row.task, cluster: row.cluster, base: row.base.score, tuned: row.base.score })));
}

/** The FLAN-style figure: one group per cluster, then all examples. */
export function figureGroups(aggregates: Aggregates | null, fewShot: FewShotSummary | null, hasTuned: boolean): FigureGroup[] {
  if (!aggregates) return [];
  const group = (name: string, summary: Aggregates['overall'], few: number | undefined): FigureGroup => ({
    group: name,
    count: summary.count,
    baseZeroShot: summary.base,
    baseFewShot: few ?? null,
    tunedZeroShot: hasTuned ? summary.tuned : null,
  });
  const clusters = Object.entries(aggregates.byCluster).map(([name, summary]) => group(name, summary, fewShot?.byCluster[name]));
  return [...clusters, group(ALL_EXAMPLES, aggregates.overall, fewShot?.overall)];
}

/**
 * RFC 4180 field: quoted when it holds a comma, quote or line break. Text from prompts and model
 * outputs that starts with = + - @ (or a tab / carriage return) would run as a formula when the
 * file is opened in a spreadsheet (CSV injection); such a cell gets a leading apostrophe, as OWASP
 * recommends, so it shows as text. Numbers (a negative difference) are written as they are.
 */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'number' ? String(value) : /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One row per example; references joined by " ||| " (the separator sacrebleu's tools use for several references). */
export function reportCsv(report: EvalReport, ratings: readonly RatingRecord[] = []): string {
  const thumbs = new Map(ratings.filter((r) => r.kind === 'thumbs').map((r) => [r.exampleId, r.value]));
  const preference = new Map(ratings.filter((r) => r.kind === 'ab').map((r) => [r.exampleId, r.value]));
  const header = ['index', 'id', 'task', 'cluster', 'prompt', 'references', 'base_output', 'base_score', 'tuned_output', 'tuned_score', 'difference', 'winner', 'few_shot_output', 'few_shot_score', 'thumbs', 'preferred'];
  const lines = [header.join(',')];
  for (const row of report.rows) {
    lines.push(
      [
        row.index,
        row.id,
        row.task,
        row.cluster,
        row.prompt,
        row.references.join(' ||| '),
        row.base.output,
        row.base.score,
        row.tuned?.output,
        row.tuned?.score,
        row.difference,
        row.winner,
        row.fewShot?.output,
        row.fewShot?.score,
        thumbs.get(row.id),
        preference.get(row.id),
      ]
        .map(csvField)
        .join(','),
    );
  }
  return lines.join('\r\n') + '\r\n';
}

/** The report with its ratings, as one JSON document. */
export function reportJson(report: EvalReport, ratings: readonly RatingRecord[] = []): string {
  const rated = ratings.map(({ exampleId, kind, value, createdAt }) => ({ exampleId, kind, value, createdAt }));
  return JSON.stringify({ ...report, ratings: rated }, null, 2) + '\n';
}

/** A/B preferences as DPO-style pairs (TRL's prompt / chosen / rejected), one JSON object per line; ties are left out. */
export function preferencePairs(report: EvalReport, ratings: readonly RatingRecord[]): { text: string; count: number } {
  const rows = new Map(report.rows.map((row) => [row.id, row]));
  const lines: string[] = [];
  for (const rating of ratings) {
    if (rating.kind !== 'ab' || (rating.value !== 'base' && rating.value !== 'tuned')) continue;
    const row = rows.get(rating.exampleId);
    if (!row?.tuned) continue;
    const [chosen, rejected] = rating.value === 'tuned' ? [row.tuned.output, row.base.output] : [row.base.output, row.tuned.output];
    lines.push(JSON.stringify({ prompt: row.prompt, chosen, rejected }));
  }
  return { text: lines.length ? lines.join('\n') + '\n' : '', count: lines.length };
}

/** "lora-run-eval" from a report name, safe as a file name. */
export function reportFileStem(name: string): string {
  const cleaned = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  return cleaned.slice(0, 80) || 'evaluation';
}

/** What an evaluation list shows without loading every row. */
export interface EvaluationSummary {
  id: string;
  name: string;
  createdAt: number;
  status: EvalReport['status'];
  metric: string;
  /** the metric's best score (its scale) */
  best: number;
  modelName: string;
  tunedName: string | null;
  count: number;
  base: number | null;
  tuned: number | null;
  difference: number | null;
  interval: { low: number; high: number } | null;
}

export function summarizeReport(id: string, report: EvalReport): EvaluationSummary {
  const overall = report.aggregates?.overall;
  return {
    id,
    name: report.name,
    createdAt: report.createdAt,
    status: report.status,
    metric: report.metric.name,
    best: report.metric.best,
    modelName: report.model.name,
    tunedName: report.tuned?.name ?? null,
    count: report.rows.length,
    base: overall?.base ?? null,
    tuned: report.comparison ? report.comparison.overall.tuned : null,
    difference: report.comparison ? report.comparison.overall.difference : null,
    interval: report.comparison ? { low: report.comparison.interval.low, high: report.comparison.interval.high } : null,
  };
}
