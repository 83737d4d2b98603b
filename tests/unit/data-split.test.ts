// Splits: exact counts by the largest-remainder rule, seeded and stable assignment, held-out clusters.
import { describe, expect, it } from 'vitest';
import { assignSplits, splitCounts, SplitError } from '../../src/core/data/split';

const f = (train: number, validation: number, test: number) => ({ train, validation, test });

describe('splitCounts', () => {
  it.each([
    [10, f(0.8, 0.1, 0.1), { train: 8, validation: 1, test: 1 }],
    [7, f(0.8, 0.1, 0.1), { train: 5, validation: 1, test: 1 }], // quotas 5.6 / 0.7 / 0.7: the two 0.7s win the leftovers
    [5, f(0.5, 0.25, 0.25), { train: 3, validation: 1, test: 1 }], // 2.5 / 1.25 / 1.25
    [3, f(0.5, 0.5, 0), { train: 2, validation: 1, test: 0 }], // tie 1.5 / 1.5: train first
    [100, f(0.71, 0.29, 0), { train: 71, validation: 29, test: 0 }], // 0.29 × 100 = 28.999999999999996 in floats
    [1, f(0.9, 0.05, 0.05), { train: 1, validation: 0, test: 0 }],
    [0, f(0.8, 0.1, 0.1), { train: 0, validation: 0, test: 0 }],
    [1001, f(1, 0, 0), { train: 1001, validation: 0, test: 0 }],
  ])('n = %i at %o', (n, fractions, expected) => {
    expect(splitCounts(n, fractions)).toEqual(expected);
  });

  it('always adds up to n with each count ⌊n·f⌋ or ⌈n·f⌉', () => {
    const fractions = f(0.7, 0.17, 0.13);
    for (let n = 0; n < 500; n++) {
      const c = splitCounts(n, fractions);
      expect(c.train + c.validation + c.test).toBe(n);
      for (const k of ['train', 'validation', 'test'] as const) expect(Math.abs(c[k] - n * fractions[k])).toBeLessThan(1);
    }
  });

  it('refuses fractions that do not add up to 1 or fall outside [0, 1]', () => {
    expect(() => splitCounts(10, f(0.8, 0.1, 0.2))).toThrow('split fractions must add up to 1; train 0.8 + validation 0.1 + test 0.2 = 1.1');
    expect(() => splitCounts(10, f(1.2, -0.1, -0.1))).toThrow('split fractions: train must be between 0 and 1, got 1.2');
    expect(() => splitCounts(2.5, f(1, 0, 0))).toThrow(SplitError);
  });
});

describe('assignSplits', () => {
  const ten = Array.from({ length: 10 }, () => ({}));

  it('is seeded: a pinned assignment for seed 1, the same again, another for seed 2', () => {
    const opts = { seed: 1, fractions: f(0.6, 0.2, 0.2) };
    const result = assignSplits(ten, opts);
    expect(result).toEqual({
      splits: ['test', 'train', 'train', 'train', 'validation', 'train', 'test', 'train', 'train', 'validation'],
      counts: { train: 6, validation: 2, test: 2 },
      heldOut: 0,
    });
    expect(assignSplits(ten, opts)).toEqual(result);
    expect(assignSplits(ten, { ...opts, seed: 2 }).splits).not.toEqual(result.splits);
  });

  it('has exact counts on a larger set and moves only boundary examples when a fraction changes', () => {
    const records = Array.from({ length: 1000 }, () => ({}));
    const a = assignSplits(records, { seed: 7, fractions: f(0.8, 0.1, 0.1) });
    expect(a.counts).toEqual({ train: 800, validation: 100, test: 100 });
    expect(a.splits.filter((s) => s === 'validation').length).toBe(100);
    const b = assignSplits(records, { seed: 7, fractions: f(0.75, 0.1, 0.15) });
    expect(b.counts).toEqual({ train: 750, validation: 100, test: 150 });
    // 50 train examples become validation, 50 validation examples become test; nothing else moves
    const moved = a.splits.filter((s, i) => s !== b.splits[i]).length;
    expect(moved).toBe(100);
    expect(a.splits.every((s, i) => s === b.splits[i] || (s === 'train' && b.splits[i] === 'validation') || (s === 'validation' && b.splits[i] === 'test'))).toBe(true);
  });

  it('sends every example of a held-out cluster to test, none to train or validation', () => {
    const clusters = ['qa', 'qa', 'nli', 'summ', 'qa', 'nli', undefined, 'summ', 'qa', 'nli', 'qa', 'qa'];
    const records = clusters.map((cluster) => (cluster === undefined ? {} : { cluster }));
    const result = assignSplits(records, { seed: 3, fractions: f(0.5, 0.25, 0.25), heldOutClusters: ['nli', 'summ'] });
    clusters.forEach((cluster, i) => {
      if (cluster === 'nli' || cluster === 'summ') expect(result.splits[i]).toBe('test');
    });
    expect(result.heldOut).toBe(5);
    // the other 7 split by quotas 3.5 / 1.75 / 1.75 → 3 / 2 / 2 (the two .75 remainders take the leftovers)
    expect(result.counts).toEqual({ train: 3, validation: 2, test: 7 });
    expect(result.splits.filter((s) => s === 'train').length).toBe(3);
    expect(result.splits.filter((s) => s === 'test').length).toBe(7);
    clusters.forEach((cluster, i) => {
      if (result.splits[i] !== 'test') expect(['qa', undefined]).toContain(cluster); // train and validation hold no held-out cluster
    });
  });

  it('names a held-out cluster that has no examples', () => {
    expect(() => assignSplits([{ cluster: 'qa' }, { cluster: 'nli' }], { seed: 1, fractions: f(1, 0, 0), heldOutClusters: ['summarisation'] })).toThrow(
      'held-out cluster "summarisation" has no examples (clusters here: nli, qa)',
    );
  });
});
