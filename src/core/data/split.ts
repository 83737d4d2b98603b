// Seeded train / validation / test splits, and held-out task clusters.
//
//   splitCounts(n, fractions) → { train, validation, test }
//   assignSplits(records, { seed, fractions, heldOutClusters? }) → { splits, counts, heldOut }
//
// Counts follow the largest-remainder rule: each split gets ⌊n·fraction⌋, and the examples left
// over go one each to the splits with the largest fractional parts (ties: train, then validation,
// then test). So counts always add up to n and each is ⌊n·f⌋ or ⌈n·f⌉ (10 at 0.8/0.1/0.1 → 8/1/1;
// 7 → 5/1/1, since 0.7 beats 0.6). Assignment shuffles all positions once with the seed
// (Fisher–Yates on src/core/rng.ts), drops the held-out ones keeping that order, and deals train,
// then validation, then test along it: the same seed gives the same split, and changing a fraction
// or holding a cluster out moves only the examples it has to.
// Held-out clusters (FLAN's zero-shot evaluation on unseen task families, Wei et al. 2021 §3) send
// every example of those clusters to test and none to train or validation; the fractions then split
// the rest.
import { Rng } from '../rng';
import type { Split } from './record';

export interface SplitFractions {
  train: number;
  validation: number;
  test: number;
}

export interface SplitOptions {
  seed: number;
  fractions: SplitFractions;
  /** task clusters whose every example goes to test */
  heldOutClusters?: readonly string[];
}

export interface SplitResult {
  /** one per record, in the records' order */
  splits: Split[];
  /** totals per split, held-out examples included in test */
  counts: Record<Split, number>;
  /** how many examples went to test because their cluster is held out */
  heldOut: number;
}

const ORDER: readonly Split[] = ['train', 'validation', 'test'];

export class SplitError extends Error {
  override name = 'SplitError';
}

function checkFractions(fractions: SplitFractions): void {
  for (const split of ORDER) {
    const f = fractions[split];
    if (typeof f !== 'number' || !(f >= 0 && f <= 1)) throw new SplitError(`split fractions: ${split} must be between 0 and 1, got ${f}`);
  }
  const sum = fractions.train + fractions.validation + fractions.test;
  if (Math.abs(sum - 1) > 1e-9) {
    throw new SplitError(`split fractions must add up to 1; train ${fractions.train} + validation ${fractions.validation} + test ${fractions.test} = ${sum}`);
  }
}

/** Examples per split for n examples, by the largest-remainder rule. */
export function splitCounts(n: number, fractions: SplitFractions): Record<Split, number> {
  if (!Number.isInteger(n) || n < 0) throw new SplitError(`splitCounts: n must be a whole number ≥ 0, got ${n}`);
  checkFractions(fractions);
  // 1e-9 absorbs float error such as 0.7 × 10 = 7.000000000000001 without moving a true fraction.
  const quotas = ORDER.map((s) => n * fractions[s]);
  const counts = quotas.map((q) => Math.floor(q + 1e-9));
  let left = n - counts.reduce((a, b) => a + b, 0);
  const byRemainder = [0, 1, 2].sort((a, b) => quotas[b] - counts[b] - (quotas[a] - counts[a]) || a - b);
  for (const i of byRemainder) {
    if (left <= 0) break;
    if (quotas[i] - counts[i] > 1e-9) {
      counts[i]++;
      left--;
    }
  }
  return { train: counts[0], validation: counts[1], test: counts[2] };
}

/** Assigns a split to every record; see the file comment for the rule. */
export function assignSplits(records: readonly { cluster?: string }[], opts: SplitOptions): SplitResult {
  checkFractions(opts.fractions);
  const heldOutClusters = new Set(opts.heldOutClusters ?? []);
  if (heldOutClusters.size > 0) {
    const present = new Set(records.map((r) => r.cluster).filter((c): c is string => c !== undefined));
    for (const cluster of heldOutClusters) {
      if (!present.has(cluster)) {
        const known = [...present].sort();
        throw new SplitError(
          `held-out cluster "${cluster}" has no examples (clusters here: ${known.length > 0 ? known.slice(0, 20).join(', ') + (known.length > 20 ? ', …' : '') : 'none'})`,
        );
      }
    }
  }
  const rng = new Rng(opts.seed);
  const order = Array.from({ length: records.length }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const splits: Split[] = new Array(records.length);
  let heldOut = 0;
  const pool: number[] = [];
  for (const i of order) {
    const cluster = records[i].cluster;
    if (cluster !== undefined && heldOutClusters.has(cluster)) {
      splits[i] = 'test';
      heldOut++;
    } else pool.push(i);
  }
  const counts = splitCounts(pool.length, opts.fractions);
  pool.forEach((i, rank) => {
    splits[i] = rank < counts.train ? 'train' : rank < counts.train + counts.validation ? 'validation' : 'test';
  });
  return { splits, counts: { ...counts, test: counts.test + heldOut }, heldOut };
}
