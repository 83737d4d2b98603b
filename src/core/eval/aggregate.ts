// Aggregates of a base-vs-tuned evaluation: means per task, per cluster and overall, the paired
// difference (tuned − base) with a paired bootstrap confidence interval, and who won each example.
// Overall comes two ways: `overall` is the mean over examples (micro: big clusters weigh more),
// `overallMacro` the mean of the cluster means (every held-out cluster counts the same, as FLAN
// reports its clusters). The bootstrap resamples examples with replacement (the pairs stay
// together) and takes the percentile interval, with numpy.percentile's linear interpolation.
import { Rng } from '../rng';

export interface PairedScore {
  task: string;
  cluster: string;
  base: number;
  tuned: number;
}

export interface Summary {
  count: number;
  base: number;
  tuned: number;
  /** tuned − base */
  difference: number;
}

export interface Aggregates {
  /** mean over all examples (micro) */
  overall: Summary;
  /** mean over clusters of the cluster means (macro); count = number of clusters */
  overallMacro: Summary;
  byTask: Record<string, Summary>;
  byCluster: Record<string, Summary>;
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) throw new Error('mean: no values');
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}

function checkScores(scores: readonly PairedScore[]): void {
  if (scores.length === 0) throw new Error('aggregate: no scored examples');
  scores.forEach((s, i) => {
    if (!Number.isFinite(s.base) || !Number.isFinite(s.tuned)) {
      throw new Error(`aggregate: example ${i + 1} (task ${JSON.stringify(s.task)}) has a score that is not a finite number (base ${s.base}, tuned ${s.tuned})`);
    }
  });
}

export function summarize(scores: readonly PairedScore[]): Summary {
  const base = mean(scores.map((s) => s.base));
  const tuned = mean(scores.map((s) => s.tuned));
  return { count: scores.length, base, tuned, difference: tuned - base };
}

function groupBy(scores: readonly PairedScore[], key: 'task' | 'cluster'): Record<string, Summary> {
  const groups = new Map<string, PairedScore[]>();
  for (const score of scores) {
    const group = groups.get(score[key]);
    if (group) group.push(score);
    else groups.set(score[key], [score]);
  }
  return Object.fromEntries([...groups.keys()].sort().map((name) => [name, summarize(groups.get(name)!)]));
}

export function aggregate(scores: readonly PairedScore[]): Aggregates {
  checkScores(scores);
  const byCluster = groupBy(scores, 'cluster');
  const clusters = Object.values(byCluster);
  const base = mean(clusters.map((c) => c.base));
  const tuned = mean(clusters.map((c) => c.tuned));
  return {
    overall: summarize(scores),
    overallMacro: { count: clusters.length, base, tuned, difference: tuned - base },
    byTask: groupBy(scores, 'task'),
    byCluster,
  };
}

export interface BootstrapOptions {
  /** default 1000 */
  resamples?: number;
  /** default 0; the same seed gives the same interval */
  seed?: number;
  /** default 0.95 */
  confidence?: number;
}

export interface BootstrapInterval {
  /** mean of tuned − base over the examples */
  mean: number;
  low: number;
  high: number;
  confidence: number;
  resamples: number;
  seed: number;
}

/** numpy.percentile (linear) of sorted values at q ∈ [0, 1]. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new Error('percentile: no values');
  const h = q * (sorted.length - 1);
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** Paired bootstrap percentile interval for mean(tuned − base). */
export function pairedBootstrap(base: readonly number[], tuned: readonly number[], opts: BootstrapOptions = {}): BootstrapInterval {
  const resamples = opts.resamples ?? 1000;
  const seed = opts.seed ?? 0;
  const confidence = opts.confidence ?? 0.95;
  if (base.length !== tuned.length) throw new Error(`pairedBootstrap: ${base.length} base scores but ${tuned.length} tuned scores; they must pair up`);
  if (base.length === 0) throw new Error('pairedBootstrap: no scores');
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`pairedBootstrap: resamples must be a positive integer, got ${resamples}`);
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`pairedBootstrap: confidence must be between 0 and 1, got ${confidence}`);
  const differences = tuned.map((t, i) => t - base[i]);
  if (differences.some((d) => !Number.isFinite(d))) throw new Error('pairedBootstrap: every score must be a finite number');
  const n = differences.length;
  const rng = new Rng(seed);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += differences[rng.int(n)];
    means[r] = sum / n;
  }
  means.sort();
  const alpha = 1 - confidence;
  const sorted = Array.from(means);
  return { mean: mean(differences), low: percentile(sorted, alpha / 2), high: percentile(sorted, 1 - alpha / 2), confidence, resamples, seed };
}

export type Winner = 'tuned' | 'base' | 'tie';

/** Who scored higher on one example; differences within `tolerance` are ties. */
export function winner(base: number, tuned: number, tolerance = 0): Winner {
  if (tuned - base > tolerance) return 'tuned';
  if (base - tuned > tolerance) return 'base';
  return 'tie';
}

export function winCounts(scores: readonly PairedScore[], tolerance = 0): Record<Winner, number> {
  const counts: Record<Winner, number> = { tuned: 0, base: 0, tie: 0 };
  for (const s of scores) counts[winner(s.base, s.tuned, tolerance)]++;
  return counts;
}

export interface Comparison extends Aggregates {
  /** interval for the overall (micro) difference */
  interval: BootstrapInterval;
  /** per cluster, resampling that cluster's examples */
  clusterIntervals: Record<string, BootstrapInterval>;
  wins: Record<Winner, number>;
}

/** Everything the report shows about base vs tuned. */
export function compareRuns(scores: readonly PairedScore[], opts: BootstrapOptions & { tolerance?: number } = {}): Comparison {
  const aggregates = aggregate(scores);
  const interval = pairedBootstrap(scores.map((s) => s.base), scores.map((s) => s.tuned), opts);
  const clusterIntervals: Record<string, BootstrapInterval> = {};
  for (const cluster of Object.keys(aggregates.byCluster)) {
    const own = scores.filter((s) => s.cluster === cluster);
    clusterIntervals[cluster] = pairedBootstrap(own.map((s) => s.base), own.map((s) => s.tuned), opts);
  }
  return { ...aggregates, interval, clusterIntervals, wins: winCounts(scores, opts.tolerance) };
}
