// Comparisons the parity tests share: logits [B, T, V] row-major, judged only where the mask is 1;
// tensors against a reference, relative to its scale (the fast-ops tests).
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';

/** Largest |a − b| over positions where the attention mask is 1 (vocab size derived from the shapes). */
export function maxDiffUnmasked(a: Float32Array, b: Float32Array, mask: number[][]): number {
  const batch = mask.length;
  const time = mask[0].length;
  const vocab = a.length / (batch * time);
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < batch; i++) {
    for (let t = 0; t < time; t++) {
      if (mask[i][t] !== 1) continue;
      const offset = (i * time + t) * vocab;
      for (let v = 0; v < vocab; v++) worst = Math.max(worst, Math.abs(a[offset + v] - b[offset + v]));
    }
  }
  return worst;
}

/** max |a − b| / max |b| over two tensors of one shape: relative to the tensor's scale, so near-zero entries do not blow it up. */
export function relativeError(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < y.length; i++) {
    diff = Math.max(diff, Math.abs(x[i] - y[i]));
    scale = Math.max(scale, Math.abs(y[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

/** A standard-normal tensor fixed by `seed`. */
export function seeded(shape: number[], seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', seed);
}
