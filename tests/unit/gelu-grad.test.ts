// The tanh GELU (GPT-2's gelu_new) has its derivative written out and saves only its input
// (blocks.ts): the same values as the composition, the gradient within 1e-5 relative of autograd
// through the composition, on cpu and wasm, and the tape keeps one tensor instead of the chain.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { setNodeBackend } from '../../cli/node-backend';
import { activationFor } from '../../src/core/model/blocks';
import { tapeSavedBytes } from '../../src/core/model/ops/recompute';
import { relativeError, seeded } from './compare';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const composed = (x: tf.Tensor) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), SQRT_2_OVER_PI))));

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`gelu_new on ${backend}`, () => {
    it('matches the composition forward and backward, and saves only its input', async () => {
      await setNodeBackend(backend);
      const before = tf.memory().numTensors;
      const gelu = activationFor('gelu_new');
      // values from −6 to 6 (tanh saturates at both ends) and a seeded spread
      const x = tf.tidy(() => tf.concat([tf.linspace(-6, 6, 241), tf.mul(seeded([4096], 3), 2).reshape([-1])])) as tf.Tensor1D;
      const dy = seeded([x.size], 4);
      const y = gelu(x);
      const yRef = tf.tidy(() => composed(x));
      expect(relativeError(y, yRef)).toBe(0);
      const g = tf.grad((t: tf.Tensor) => gelu(t))(x, dy);
      const gRef = tf.grad((t: tf.Tensor) => composed(t))(x, dy);
      expect(relativeError(g, gRef)).toBeLessThan(1e-5);
      // what the tape keeps: the input only (4 bytes a value) against the composition's chain
      const saved = (f: (t: tf.Tensor) => tf.Tensor) => {
        let bytes = 0;
        const { value, grads } = tf.variableGrads(() => {
          const out = tf.sum(f(v));
          bytes = tapeSavedBytes([v]);
          return out as tf.Scalar;
        }, [v]);
        tf.dispose([value, ...Object.values(grads)]);
        return bytes;
      };
      const v = tf.variable(x, true);
      // gelu saves its input (the variable, left out); the sum saves its input, one [N] float32
      expect(saved(gelu)).toBe(x.size * 4);
      expect(saved(composed)).toBeGreaterThanOrEqual(5 * x.size * 4);
      tf.dispose([x, dy, y, yRef, g, gRef, v]);
      expect(tf.memory().numTensors).toBe(before);
    });
  });
}
