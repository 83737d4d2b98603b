// Dataset statistics: records per split, per task and per task cluster (each broken down by split),
// and a histogram of token lengths over fixed bucket edges.
//
//   datasetStats(records, { tokenize?, edges? }) → DatasetStats
//   new StatsAccumulator({ tokenize?, edges? }).add(record) … .result()   for records read in batches
//   lengthHistogram(lengths, edges?) → LengthBucket[]
//
// A record's length is that of its whole text: instruction, context and output joined by blank
// lines, or a conversation's turns; in tokens from `tokenize` (e.g. the loaded model's tokenizer,
// without special tokens) or, without one, in whitespace-separated words. Buckets are [from, to)
// over the edges, the last one open-ended (to = null). Percentiles use the nearest-rank rule: the
// p-th percentile is the ⌈p·n⌉-th smallest length.
import type { Split } from './record';

/** Powers of two: token lengths spread over orders of magnitude, and context limits are powers of two. */
export const DEFAULT_LENGTH_EDGES: readonly number[] = [0, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];

export interface StatsRecord {
  instruction: string;
  context?: string;
  output?: string;
  conversation?: readonly { role: string; content: string }[];
  task?: string;
  cluster?: string;
  split?: Split;
}

export type SplitCounts = Record<Split | 'unsplit', number>;

export interface GroupCount extends SplitCounts {
  /** the task or cluster; null for records without one */
  name: string | null;
  total: number;
}

export interface LengthBucket {
  from: number;
  /** exclusive; null for the last, open-ended bucket */
  to: number | null;
  count: number;
}

export interface LengthStats {
  /** 'tokens' when a tokenize function was given, else 'words' */
  unit: 'tokens' | 'words';
  buckets: LengthBucket[];
  min: number;
  max: number;
  mean: number;
  median: number;
  p95: number;
}

export interface DatasetStats {
  total: number;
  splits: SplitCounts;
  /** by total, largest first, then by name; the null group last */
  tasks: GroupCount[];
  clusters: GroupCount[];
  /** null when there are no records */
  lengths: LengthStats | null;
}

export type Tokenize = (text: string) => { length: number } | number;

export interface StatsOptions {
  tokenize?: Tokenize;
  /** bucket edges: whole numbers, strictly increasing, starting at 0 */
  edges?: readonly number[];
}

function checkEdges(edges: readonly number[]): void {
  if (edges.length === 0 || edges[0] !== 0) throw new Error(`length histogram: edges must start at 0, got [${edges.join(', ')}]`);
  for (let i = 1; i < edges.length; i++) {
    if (!Number.isInteger(edges[i]) || edges[i] <= edges[i - 1]) {
      throw new Error(`length histogram: edges must be whole numbers in increasing order; edge ${i} is ${edges[i]} after ${edges[i - 1]}`);
    }
  }
}

/** Counts per bucket [edges[i], edges[i+1]), the last bucket open-ended. */
export function lengthHistogram(lengths: Iterable<number>, edges: readonly number[] = DEFAULT_LENGTH_EDGES): LengthBucket[] {
  checkEdges(edges);
  const buckets = edges.map((from, i): LengthBucket => ({ from, to: i + 1 < edges.length ? edges[i + 1] : null, count: 0 }));
  for (const length of lengths) {
    let lo = 0;
    let hi = edges.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (edges[mid] <= length) lo = mid;
      else hi = mid - 1;
    }
    buckets[lo].count++;
  }
  return buckets;
}

/** The text whose length is measured: a conversation's turns, or instruction, context and output. */
export function measuredText(record: StatsRecord): string {
  if (record.conversation) return record.conversation.map((t) => t.content).join('\n\n');
  return [record.instruction, record.context, record.output].filter((part) => part !== undefined && part !== '').join('\n\n');
}

const WORD = /\S+/g;

function emptySplits(): SplitCounts {
  return { train: 0, validation: 0, test: 0, unsplit: 0 };
}

function tally(groups: Map<string | null, GroupCount>, name: string | null, split: Split | 'unsplit'): void {
  let group = groups.get(name);
  if (!group) groups.set(name, (group = { name, total: 0, ...emptySplits() }));
  group.total++;
  group[split]++;
}

function sortedGroups(groups: Map<string | null, GroupCount>): GroupCount[] {
  return [...groups.values()].sort((a, b) => {
    if (a.name === null) return 1;
    if (b.name === null) return -1;
    return b.total - a.total || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  });
}

/** Statistics gathered one record at a time, for datasets read from the store in batches. */
export class StatsAccumulator {
  private total = 0;
  private readonly splits = emptySplits();
  private readonly tasks = new Map<string | null, GroupCount>();
  private readonly clusters = new Map<string | null, GroupCount>();
  private lengths = new Int32Array(1024);
  private readonly edges: readonly number[];
  private readonly tokenize?: Tokenize;

  constructor(opts: StatsOptions = {}) {
    this.edges = opts.edges ?? DEFAULT_LENGTH_EDGES;
    checkEdges(this.edges);
    this.tokenize = opts.tokenize;
  }

  add(record: StatsRecord): this {
    const split = record.split ?? 'unsplit';
    if (!(split in this.splits)) throw new Error(`statistics: record ${this.total + 1} has split "${String(split)}", not train, validation or test`);
    this.splits[split]++;
    tally(this.tasks, record.task ?? null, split);
    tally(this.clusters, record.cluster ?? null, split);
    const text = measuredText(record);
    let length: number;
    if (this.tokenize) {
      const tokens = this.tokenize(text);
      length = typeof tokens === 'number' ? tokens : tokens.length;
    } else length = text.match(WORD)?.length ?? 0;
    if (this.total === this.lengths.length) {
      const grown = new Int32Array(this.lengths.length * 2);
      grown.set(this.lengths);
      this.lengths = grown;
    }
    this.lengths[this.total++] = length;
    return this;
  }

  result(): DatasetStats {
    const lengths = this.lengths.slice(0, this.total).sort();
    const n = lengths.length;
    const rank = (p: number) => lengths[Math.max(0, Math.ceil(p * n) - 1)];
    return {
      total: this.total,
      splits: { ...this.splits },
      tasks: sortedGroups(this.tasks),
      clusters: sortedGroups(this.clusters),
      lengths:
        n === 0
          ? null
          : {
              unit: this.tokenize ? 'tokens' : 'words',
              buckets: lengthHistogram(lengths, this.edges),
              min: lengths[0],
              max: lengths[n - 1],
              mean: lengths.reduce((a, b) => a + b, 0) / n,
              median: rank(0.5),
              p95: rank(0.95),
            },
    };
  }
}

export function datasetStats(records: Iterable<StatsRecord>, opts: StatsOptions = {}): DatasetStats {
  const accumulator = new StatsAccumulator(opts);
  for (const record of records) accumulator.add(record);
  return accumulator.result();
}
