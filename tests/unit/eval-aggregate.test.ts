import { describe, expect, it } from 'vitest';
import { aggregate, compareRuns, pairedBootstrap, percentile, winCounts, winner, type PairedScore } from '../../src/core/eval/aggregate';
import { Rng } from '../../src/core/rng';

const SCORES: PairedScore[] = [
  { task: 't1', cluster: 'c1', base: 0, tuned: 1 },
  { task: 't1', cluster: 'c1', base: 1, tuned: 1 },
  { task: 't2', cluster: 'c1', base: 0.5, tuned: 0 },
  { task: 't3', cluster: 'c2', base: 0, tuned: 1 },
];

describe('means', () => {
  it('per task, per cluster, overall over examples (micro) and over clusters (macro)', () => {
    const result = aggregate(SCORES);
    expect(result.overall).toEqual({ count: 4, base: 0.375, tuned: 0.75, difference: 0.375 });
    expect(result.byTask).toEqual({
      t1: { count: 2, base: 0.5, tuned: 1, difference: 0.5 },
      t2: { count: 1, base: 0.5, tuned: 0, difference: -0.5 },
      t3: { count: 1, base: 0, tuned: 1, difference: 1 },
    });
    expect(result.byCluster).toEqual({
      c1: { count: 3, base: 0.5, tuned: 2 / 3, difference: 2 / 3 - 0.5 },
      c2: { count: 1, base: 0, tuned: 1, difference: 1 },
    });
    // macro: (c1 + c2) / 2 — c2's single example weighs as much as c1's three
    expect(result.overallMacro.count).toBe(2);
    expect(result.overallMacro.base).toBe(0.25);
    expect(result.overallMacro.tuned).toBeCloseTo(5 / 6, 15);
    expect(result.overallMacro.difference).toBeCloseTo(7 / 12, 15);
  });

  it('refuses no examples and scores that are not numbers, naming the example', () => {
    expect(() => aggregate([])).toThrow('aggregate: no scored examples');
    expect(() => aggregate([...SCORES, { task: 'qa', cluster: 'c', base: NaN, tuned: 1 }])).toThrow('example 5 (task "qa") has a score that is not a finite number');
  });
});

describe('winners', () => {
  it('per example, with an optional tie tolerance', () => {
    expect(SCORES.map((s) => winner(s.base, s.tuned))).toEqual(['tuned', 'tie', 'base', 'tuned']);
    expect(winCounts(SCORES)).toEqual({ tuned: 2, base: 1, tie: 1 });
    expect(winner(0.5, 0.52, 0.05)).toBe('tie');
    expect(winner(0.5, 0.56, 0.05)).toBe('tuned');
  });
});

describe('paired bootstrap', () => {
  it('percentile interpolates linearly like numpy.percentile', () => {
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(percentile([1, 2, 3, 4], 0.25)).toBe(1.75);
    expect(percentile([1, 2, 3, 4], 1)).toBe(4);
  });

  it('collapses to the difference when every difference is the same', () => {
    const base = [0, 0.25, 0.5, 0.5, 0, 0.125, 0.75, 0.25];
    const same = pairedBootstrap(base, base.map((b) => b + 0.25));
    expect(same).toEqual({ mean: 0.25, low: 0.25, high: 0.25, confidence: 0.95, resamples: 1000, seed: 0 });
    const tenth = pairedBootstrap([0, 0, 0, 0, 0, 0, 0], [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], { resamples: 200, seed: 3 });
    expect(tenth.low).toBeCloseTo(0.1, 14);
    expect(tenth.high).toBeCloseTo(0.1, 14);
  });

  it('spans the possible resample means for two differences 0 and 1', () => {
    // resample means are 0, 0.5, 1 with probabilities ¼, ½, ¼: the 2.5th and 97.5th percentiles are 0 and 1
    const interval = pairedBootstrap([0, 0], [0, 1], { seed: 11 });
    expect(interval).toMatchObject({ mean: 0.5, low: 0, high: 1 });
  });

  it('gives the same interval for the same seed, another for another seed', () => {
    const rng = new Rng(5);
    const base = Array.from({ length: 30 }, () => rng.next());
    const tuned = base.map((b) => b + rng.normal(0.1, 0.3));
    const a = pairedBootstrap(base, tuned, { seed: 42 });
    expect(pairedBootstrap(base, tuned, { seed: 42 })).toEqual(a);
    const b = pairedBootstrap(base, tuned, { seed: 43 });
    expect([b.low, b.high]).not.toEqual([a.low, a.high]);
    expect(a.low).toBeLessThan(a.mean);
    expect(a.high).toBeGreaterThan(a.mean);
  });

  it('covers the true mean difference about 95% of the time', () => {
    const rng = new Rng(2024);
    const trials = 200;
    let covered = 0;
    for (let t = 0; t < trials; t++) {
      const base = Array.from({ length: 40 }, () => rng.normal(0.5, 0.2));
      const tuned = base.map((b) => b + rng.normal(0.3, 1)); // true mean difference 0.3
      const { low, high } = pairedBootstrap(base, tuned, { resamples: 500, seed: t });
      if (low <= 0.3 && 0.3 <= high) covered++;
    }
    console.log(`bootstrap coverage: ${covered}/${trials}`);
    expect(covered / trials).toBeGreaterThan(0.88);
    expect(covered / trials).toBeLessThan(0.99);
  });

  it('refuses unpaired or empty scores and bad settings', () => {
    expect(() => pairedBootstrap([1, 2], [1])).toThrow('2 base scores but 1 tuned scores');
    expect(() => pairedBootstrap([], [])).toThrow('no scores');
    expect(() => pairedBootstrap([1], [1], { confidence: 95 })).toThrow('confidence must be between 0 and 1, got 95');
    expect(() => pairedBootstrap([1], [1], { resamples: 0 })).toThrow('resamples must be a positive integer');
  });
});

describe('compareRuns', () => {
  it('puts means, intervals and win counts together', () => {
    const comparison = compareRuns(SCORES, { seed: 1, resamples: 300 });
    expect(comparison.overall.difference).toBe(0.375);
    expect(comparison.interval.mean).toBe(0.375);
    expect(comparison.interval.resamples).toBe(300);
    expect(comparison.clusterIntervals.c2).toMatchObject({ mean: 1, low: 1, high: 1 }); // one example
    expect(comparison.wins).toEqual({ tuned: 2, base: 1, tie: 1 });
  });
});
