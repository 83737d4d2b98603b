// AdamW (hand-computed with torch's formula), schedules at exact steps, global-norm clipping.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { setNodeBackend } from '../../cli/node-backend';
import { AdamW } from '../../src/core/train/optim/adamw';
import { checkSchedule, learningRateAt, scheduleFactor, type ScheduleConfig } from '../../src/core/train/schedule';
import { clipByGlobalNorm, globalNorm } from '../../src/core/train/clip';

beforeAll(async () => {
  await setNodeBackend('cpu');
});

const variable = (values: number[]) => tf.tidy(() => tf.variable(tf.tensor1d(values)));

describe('AdamW', () => {
  // p = [1, −2]; lr 0.1, β = (0.9, 0.999), eps 1e-8, weight decay 0.1; gradients per step below.
  // torch.optim.AdamW, per element, step t:
  //   p ← p·(1 − lr·wd);  m ← m + (g − m)(1 − β1);  v ← β2·v + (1 − β2)·g²
  //   p ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + eps)
  // Step 1 by hand, first element: p = 1·0.99 = 0.99; m = 0.05; v = 0.00025;
  //   denom = √0.00025/√0.001 + 1e-8 = 0.5 + 1e-8; p = 0.99 − (0.1/0.1)·0.05/0.5 = 0.89 (to 1e-9).
  // Steps 2 and 3 follow the same lines in double precision:
  const GRADS = [
    [0.5, -1.0],
    [0.1, 0.2],
    [-0.3, 0.4],
  ];
  const EXPECTED = [
    { p: [0.890000002, -1.880000001], m: [0.05, -0.1], v: [0.00025, 0.001] },
    { p: [0.8007959063646517, -1.8100973939804945], m: [0.055, -0.07], v: [0.00025975, 0.001039] },
    { p: [0.7717166526798614, -1.778572460258351], m: [0.0195, -0.023], v: [0.00034949025, 0.001197961] },
  ];

  it('matches torch.optim.AdamW for 3 steps with weight decay, moments included', async () => {
    const params = new Map([['w', variable([1, -2])]]);
    const optimizer = new AdamW({ betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.1 });
    for (const [i, g] of GRADS.entries()) {
      const grad = tf.tensor1d(g);
      optimizer.apply(params, new Map([['w', grad]]), 0.1);
      grad.dispose();
      const state = await optimizer.state();
      expect(state.steps).toEqual({ w: i + 1 });
      const p = params.get('w')!.dataSync();
      EXPECTED[i].p.forEach((v, j) => expect(Math.abs(p[j] - v)).toBeLessThan(1e-6));
      EXPECTED[i].m.forEach((v, j) => expect(Math.abs(state.tensors.get('m/w')!.data[j] - v)).toBeLessThan(1e-7));
      EXPECTED[i].v.forEach((v, j) => expect(Math.abs(state.tensors.get('v/w')!.data[j] - v)).toBeLessThan(1e-9));
    }
    optimizer.dispose();
    params.get('w')!.dispose();
  });

  it('restores a saved state and continues identically; allocates only m and v per parameter', async () => {
    const config = { betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: 0.1 };
    const apply = (opt: AdamW, params: Map<string, tf.Variable>, g: number[]) => {
      const grad = tf.tensor1d(g);
      opt.apply(params, new Map([['w', grad]]), 0.1);
      grad.dispose();
    };
    const straight = new Map([['w', variable([1, -2])]]);
    const interrupted = new Map([['w', variable([1, -2])]]);
    const before = tf.memory().numTensors;
    const uninterrupted = new AdamW(config);
    GRADS.forEach((g) => apply(uninterrupted, straight, g));
    const first = new AdamW(config);
    apply(first, interrupted, GRADS[0]);
    const saved = await first.state();
    first.dispose();
    const second = new AdamW(config);
    second.load(saved, interrupted);
    apply(second, interrupted, GRADS[1]);
    apply(second, interrupted, GRADS[2]);
    expect(interrupted.get('w')!.dataSync()).toEqual(straight.get('w')!.dataSync());
    expect((await second.state()).steps).toEqual({ w: 3 });
    expect(tf.memory().numTensors).toBe(before + 2 * 2);
    uninterrupted.dispose();
    second.dispose();
    expect(tf.memory().numTensors).toBe(before);
    straight.get('w')!.dispose();
    interrupted.get('w')!.dispose();
  });

  it('leaves parameters without a gradient alone and excludes names from decay on request', async () => {
    const params = new Map([
      ['w', variable([1])],
      ['bias', variable([1])],
      ['unused', variable([5])],
    ]);
    const optimizer = new AdamW({ betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.5, decays: (n) => n !== 'bias' });
    const zero = tf.tensor1d([0]);
    optimizer.apply(params, new Map([['w', zero], ['bias', zero]]), 0.1);
    expect(params.get('w')!.dataSync()[0]).toBeCloseTo(0.95, 7); // 1·(1 − 0.1·0.5), zero gradient moves nothing else
    expect(params.get('bias')!.dataSync()[0]).toBe(1);
    expect(params.get('unused')!.dataSync()[0]).toBe(5);
    expect((await optimizer.state()).steps).toEqual({ w: 1, bias: 1 });
    zero.dispose();
    optimizer.dispose();
    for (const v of params.values()) v.dispose();
  });

  it('names the problem when a state or a gradient does not fit', () => {
    const params = new Map([['w', variable([1, 2])]]);
    const optimizer = new AdamW({ betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 });
    const wrong = tf.tensor1d([1, 2, 3]);
    expect(() => optimizer.apply(params, new Map([['w', wrong]]), 0.1)).toThrow('gradient for "w" is [3] but the parameter is [2]');
    expect(() => optimizer.load({ steps: { w: 1 }, tensors: new Map() }, params)).toThrow('lacks m/w');
    expect(() => optimizer.load({ steps: { q: 1 }, tensors: new Map() }, params)).toThrow('has "q" but the model has no such trainable parameter');
    expect(() => new AdamW({ betas: [1, 0.999], eps: 1e-8, weightDecay: 0 })).toThrow('betas must lie in [0, 1)');
    wrong.dispose();
    params.get('w')!.dispose();
  });
});

describe('learning-rate schedules (transformers get_*_schedule_with_warmup)', () => {
  const base = { learningRate: 1, warmupSteps: 2, totalSteps: 10 };
  const at = (kind: ScheduleConfig['kind'], steps: number[]) => steps.map((s) => scheduleFactor({ ...base, kind }, s));

  it('warms up linearly from 0 (the first update uses step 0)', () => {
    expect(at('linear', [0, 1, 2])).toEqual([0, 0.5, 1]);
    expect(at('cosine', [0, 1, 2])).toEqual([0, 0.5, 1]);
    expect(at('constant', [0, 1, 2, 9])).toEqual([0, 0.5, 1, 1]);
  });

  it('linear decays to 0 at totalSteps: (total − step) / (total − warmup)', () => {
    expect(at('linear', [4, 6, 10, 12])).toEqual([0.75, 0.5, 0, 0]);
  });

  it('cosine: 0.5·(1 + cos(π·progress))', () => {
    const [s4, s6, s10] = at('cosine', [4, 6, 10]);
    expect(s4).toBeCloseTo(0.8535533905932737, 12); // progress 0.25
    expect(s6).toBeCloseTo(0.5, 12);
    expect(s10).toBeCloseTo(0, 12);
  });

  it('constant without warmup is the peak rate from step 0; learningRateAt scales by the peak', () => {
    expect(learningRateAt({ kind: 'constant', learningRate: 3e-4, warmupSteps: 0, totalSteps: 5 }, 0)).toBe(3e-4);
    expect(learningRateAt({ kind: 'linear', learningRate: 2e-4, warmupSteps: 0, totalSteps: 4 }, 1)).toBeCloseTo(1.5e-4, 15);
    expect(() => checkSchedule({ kind: 'linear', learningRate: 0, warmupSteps: 0, totalSteps: 4 })).toThrow('learningRate must be a positive number');
  });
});

describe('clipByGlobalNorm (torch.nn.utils.clip_grad_norm_)', () => {
  it('scales by max_norm / (total + 1e-6) when over, and not at all when under', () => {
    const grads = new Map<string, tf.Tensor>([
      ['a', tf.tensor1d([3, 4])],
      ['b', tf.tensor1d([12])],
    ]);
    const before = tf.memory().numTensors;
    const norm = globalNorm(grads.values());
    expect(norm.dataSync()[0]).toBe(13); // √(9 + 16 + 144)
    const clipped = clipByGlobalNorm(grads, 1, 13);
    const coef = 1 / (13 + 1e-6);
    expect(clipped.get('a')!.dataSync()[0]).toBeCloseTo(3 * coef, 7);
    expect(clipped.get('b')!.dataSync()[0]).toBeCloseTo(12 * coef, 7);
    const unclipped = clipByGlobalNorm(grads, 100, 13);
    expect(unclipped.get('a')!.dataSync()).toEqual(new Float32Array([3, 4]));
    for (const t of [norm, ...clipped.values(), ...unclipped.values()]) t.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => clipByGlobalNorm(grads, 0, 13)).toThrow('maxNorm must be a positive number');
    for (const g of grads.values()) g.dispose();
  });
});
