// Hone's fused kernels (src/core/kernels/adamw-kernel.ts, fused-kernels.ts; wrapped by
// src/core/model/ops/fused.ts) against the plain tfjs compositions they replace, on cpu and wasm:
// RMSNorm, SwiGLU and RoPE values and gradients within 1e-5 relative (a fixed random cotangent, so
// every output entry matters), AdamW's fused update bit for bit equal to the op-by-op one over several steps, and no leaks.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { setNodeBackend } from '../../cli/node-backend';
import { rmsNormFused, ropeFused, swiGluFused } from '../../src/core/model/ops/fused';
import { forceFastPaths } from '../../src/core/model/ops/linear';
import { AdamW } from '../../src/core/train/optim/adamw';
import { relativeError, seeded } from './compare';

/** value and gradients of Σ f(xs) ⊙ cotangent with respect to every x */
function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[]): tf.Tensor[] {
  const { value, grads } = tf.valueAndGrads((...inputs: tf.Tensor[]) => {
    const y = f(...inputs);
    return tf.sum(tf.mul(y, seeded(y.shape, 99)));
  })(xs);
  value.dispose();
  return [tf.tidy(() => f(...xs)), ...grads];
}

/** fused vs reference: value and every gradient within 1e-5 relative, and nothing left behind */
function expectMatches(fused: (...xs: tf.Tensor[]) => tf.Tensor, reference: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[]): void {
  const before = tf.memory().numTensors;
  const a = valueAndGrads(fused, xs);
  const b = valueAndGrads(reference, xs);
  a.forEach((t, i) => expect(relativeError(t, b[i]), i === 0 ? 'value' : `gradient ${i - 1}`).toBeLessThan(1e-5));
  // and not trivially: every gradient has non-zero entries
  a.slice(1).forEach((g) => expect(tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0])).toBeGreaterThan(1e-3));
  tf.dispose([...a, ...b]);
  expect(tf.memory().numTensors).toBe(before);
}

function rmsNormReference(x: tf.Tensor, weight: tf.Tensor, eps: number): tf.Tensor {
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))), weight);
}

/** attention.ts's applyRope: x·cos + swap_halves(x)·signedSin */
function ropeReference(x: tf.Tensor4D, cos: tf.Tensor4D, signedSin: tf.Tensor4D): tf.Tensor {
  const [x1, x2] = tf.split(x, 2, -1);
  return tf.add(tf.mul(x, cos), tf.mul(tf.concat([x2, x1], -1), signedSin));
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`fused kernels on ${backend}`, () => {
    beforeAll(async () => {
      await setNodeBackend(backend);
      forceFastPaths(true); // registers the fused kernels on cpu too
    });
    afterEach(() => forceFastPaths(true));
    afterAll(async () => {
      forceFastPaths(null);
      await setNodeBackend('cpu');
    });

    it('RMSNorm: value and x gradient (frozen weight), and the weight gradient when trainable', () => {
      const x = seeded([37, 24], 1);
      const frozen = tf.add(seeded([24], 2), 1);
      const weight = tf.variable(tf.add(seeded([24], 3), 1));
      expectMatches((xi) => rmsNormFused(xi as tf.Tensor2D, frozen as tf.Tensor1D, 1e-6), (xi) => rmsNormReference(xi, frozen, 1e-6), [x]);
      expectMatches((xi, w) => rmsNormFused(xi as tf.Tensor2D, w as tf.Tensor1D, 1e-5), (xi, w) => rmsNormReference(xi, w, 1e-5), [x, weight]);
      tf.dispose([x, frozen, weight]);
    });

    it('SwiGLU silu(gate)·up: value and both gradients, also for large |gate|', () => {
      const gate = tf.mul(seeded([29, 40], 4), 6); // σ saturates at both ends
      const up = seeded([29, 40], 5);
      expectMatches((g, u) => swiGluFused(g, u), (g, u) => tf.mul(tf.mul(g, tf.sigmoid(g)), u), [gate, up]);
      tf.dispose([gate, up]);
    });

    it('RoPE: value and x gradient, tables per row shared by the heads', () => {
      const [batch, heads, time, hd] = [2, 3, 5, 8];
      const x = seeded([batch, heads, time, hd], 6) as tf.Tensor4D;
      const angles = tf.mul(seeded([batch, 1, time, hd / 2], 7), 3);
      const cos = tf.cos(tf.concat([angles, angles], -1)) as tf.Tensor4D;
      const sin = tf.sin(angles);
      const signedSin = tf.concat([tf.neg(sin), sin], -1) as tf.Tensor4D;
      expectMatches((xi) => ropeFused(xi as tf.Tensor4D, cos, signedSin), (xi) => ropeReference(xi as tf.Tensor4D, cos, signedSin), [x]);
      tf.dispose([x, angles, cos, sin, signedSin]);
    });

    it('AdamW: the fused update equals the op-by-op one bit for bit over four steps, decay on and off', async () => {
      const run = async (fused: boolean): Promise<Float32Array[]> => {
        forceFastPaths(fused); // the fused kernel runs only with the fast paths on
        const params = new Map([
          ['w', tf.variable(seeded([33, 17], 11))],
          ['norm.weight', tf.variable(seeded([17], 12))],
        ]);
        const optimizer = new AdamW({ betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.1, decays: (name) => !name.startsWith('norm') });
        const before = tf.memory().numTensors;
        for (let step = 0; step < 4; step++) {
          const grads = new Map([...params].map(([name, p], i) => [name, tf.tidy(() => tf.mul(seeded(p.shape, 20 + step * 2 + i), step === 2 ? 1e-6 : 1))] as const));
          // the path taken is the one asked for: the fused kernel, or none of it
          const profile = await tf.profile(() => optimizer.apply(params, grads, 1e-2 * (step + 1)));
          expect(profile.kernelNames.includes('HoneAdamW')).toBe(fused);
          tf.dispose([...grads.values()]);
        }
        // the moments are two variables per parameter, created on the first step
        expect(tf.memory().numTensors).toBe(before + 4);
        const state = await optimizer.state();
        const out = [...params.values()].map((p) => p.dataSync() as Float32Array);
        out.push(...[...state.tensors.values()].map((t) => t.data as Float32Array));
        optimizer.dispose();
        params.forEach((p) => p.dispose());
        return out;
      };
      const fused = await run(true);
      const plain = await run(false);
      expect(fused.length).toBe(6);
      fused.forEach((values, i) => expect(Array.from(values), `tensor ${i}`).toEqual(Array.from(plain[i])));
    });
  });
}
