import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng';
import {
  applyRepetitionPenalty,
  argmax,
  checkSamplingSettings,
  drawFrom,
  sampleToken,
  softmax,
  topKFilter,
  topPFilter,
} from '../../src/core/model/sampling';

const f32 = (values: number[]) => new Float32Array(values);
const logsOf = (probs: number[]) => f32(probs.map(Math.log));

describe('Rng (mulberry32)', () => {
  it('gives the pinned first values (same as a Python mulberry32)', () => {
    const zero = new Rng(0);
    expect([zero.next(), zero.next(), zero.next()]).toEqual([0.26642920868471265, 0.0003297457005828619, 0.2232720274478197]);
    const fortyTwo = new Rng(42);
    expect([fortyTwo.next(), fortyTwo.next(), fortyTwo.next()]).toEqual([0.6011037519201636, 0.44829055899754167, 0.8524657934904099]);
    expect(fortyTwo.state()).toBe(1199730185);
  });

  it('resumes the same stream from state()', () => {
    const a = new Rng(7);
    a.next();
    const b = Rng.fromState(a.state());
    expect([b.next(), b.next()]).toEqual([a.next(), a.next()]);
  });

  it('draws integers in range and finite normals', () => {
    const rng = new Rng(3);
    for (let i = 0; i < 1000; i++) {
      const n = rng.int(5);
      expect(Number.isInteger(n) && n >= 0 && n < 5).toBe(true);
      expect(Number.isFinite(rng.normal())).toBe(true);
    }
    expect(() => rng.int(0)).toThrow('n must be a positive integer');
    expect(() => Rng.fromState(-1)).toThrow('32-bit unsigned integer');
  });
});

describe('logits processors (transformers semantics)', () => {
  it('repetition penalty divides positive and multiplies negative logits of seen tokens, once each', () => {
    const out = applyRepetitionPenalty(f32([2, -1, 0.5, -3]), [0, 1, 1], 2);
    expect(Array.from(out)).toEqual([1, -2, 0.5, -3]);
  });

  it('top-k keeps the k largest logits, ties with the k-th included', () => {
    expect(Array.from(topKFilter(f32([1, 3, 2, 3, 0]), 2))).toEqual([-Infinity, 3, -Infinity, 3, -Infinity]);
    expect(Array.from(topKFilter(f32([1, 3, 2, 3, 0]), 3))).toEqual([-Infinity, 3, 2, 3, -Infinity]);
    expect(Array.from(topKFilter(f32([1, 3, 2]), 0))).toEqual([1, 3, 2]);
  });

  it('top-p keeps the smallest most-likely set reaching p, never fewer than one token', () => {
    const logits = logsOf([0.15, 0.5, 0.05, 0.3]);
    const kept = (p: number) => Array.from(topPFilter(logits, p)).map((v) => v !== -Infinity);
    expect(kept(0.9)).toEqual([true, true, false, true]);
    expect(kept(0.75)).toEqual([false, true, false, true]);
    expect(kept(0.4)).toEqual([false, true, false, false]);
    expect(kept(0.01)).toEqual([false, true, false, false]);
    expect(kept(1)).toEqual([true, true, true, true]);
  });

  it('softmax sums to one and argmax takes the first maximum', () => {
    const probs = softmax(f32([1, 2, 3]));
    expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(probs[2]).toBeCloseTo(Math.exp(3) / (Math.exp(1) + Math.exp(2) + Math.exp(3)), 7);
    expect(argmax(f32([0, 5, 5, 1]))).toBe(1);
  });
});

describe('sampleToken', () => {
  it('is greedy for greedy: true and for temperature 0, after the repetition penalty', () => {
    const logits = f32([3, 2.5, -1]);
    expect(sampleToken(logits, [], { greedy: true }, new Rng(0))).toBe(0);
    expect(sampleToken(logits, [], { temperature: 0 }, new Rng(0))).toBe(0);
    expect(sampleToken(logits, [0], { greedy: true, repetitionPenalty: 2 }, new Rng(0))).toBe(1);
  });

  it('draws with the rng: pinned tokens for seed 0', () => {
    // Rng(0) gives 0.2664, 0.0003, 0.2233; cumulative probabilities are 0.2, 0.7, 1.0
    const rng = new Rng(0);
    const logits = logsOf([0.2, 0.5, 0.3]);
    expect([0, 1, 2].map(() => sampleToken(logits, [], {}, rng))).toEqual([1, 0, 1]);
    expect(drawFrom(new Float64Array([0, 0, 1]), new Rng(5))).toBe(2);
  });

  it('only draws tokens that survived top-k', () => {
    const rng = new Rng(11);
    const logits = f32([0, 1, 2, 3, 4, 5]);
    for (let i = 0; i < 200; i++) expect(sampleToken(logits, [], { topK: 2, temperature: 2 }, rng)).toBeGreaterThanOrEqual(4);
  });

  it('rejects settings it cannot use, naming them', () => {
    expect(() => checkSamplingSettings({ temperature: -1 })).toThrow('temperature must be a number ≥ 0');
    expect(() => checkSamplingSettings({ topK: 1.5 })).toThrow('topK must be a whole number');
    expect(() => checkSamplingSettings({ topP: 0 })).toThrow('topP must be in (0, 1]');
    expect(() => checkSamplingSettings({ repetitionPenalty: 0 })).toThrow('repetitionPenalty must be a number > 0');
  });
});
