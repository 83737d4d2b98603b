// The memory-lean products of ops/linear.ts (gradient checkpointing's mode): a frozen weight that
// would be a plain right-hand matmul operand is multiplied by copies of row chunks of it, so that
// XNNPACK's packed copy of the operand is freed with the copy. Same values as the plain product
// (bit-identical with one chunk: the same matmul on a copy; within 1e-5 relative when chunked, the
// sum is reordered), the same gradients through linearRows, and nothing left allocated.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { setNodeBackend } from '../../cli/node-backend';
import { forceFastPaths, linearRows, timesFrozen, withTransientPacking, transientPackingOn } from '../../src/core/model/ops/linear';
import { relativeError, seeded } from './compare';

describe('transient packing on wasm', () => {
  beforeAll(async () => {
    await setNodeBackend('wasm');
    forceFastPaths(null);
  });
  afterAll(async () => {
    await setNodeBackend('cpu');
  });

  it('one chunk: bit-identical to the plain product; two chunks (a weight over 2²¹ floats): within 1e-5', () => {
    const before = tf.memory().numTensors;
    const a = seeded([6, 40], 1) as tf.Tensor2D;
    const w = seeded([40, 24], 2) as tf.Tensor2D;
    const plain = tf.matMul(a, w);
    const lean = timesFrozen(a, w, true);
    expect(Array.from(lean.dataSync())).toEqual(Array.from(plain.dataSync()));
    // [2100, 1000] = 2.1M floats: rows 0–2096 and 2097–2099 as two products, summed
    const big = seeded([2100, 1000], 3) as tf.Tensor2D;
    const rows = seeded([3, 2100], 4) as tf.Tensor2D;
    const reference = tf.matMul(rows, big);
    const chunked = timesFrozen(rows, big, true);
    expect(relativeError(chunked, reference)).toBeLessThan(1e-5);
    expect(relativeError(chunked, reference)).toBeGreaterThan(0); // really summed in two parts
    tf.dispose([a, w, plain, lean, big, rows, reference, chunked]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('linearRows under withTransientPacking: the same value and input gradient, the mode scoped to the call', () => {
    const x = seeded([10, 16], 5) as tf.Tensor2D;
    const w = seeded([12, 16], 6) as tf.Tensor2D; // [out, in]: dx = dy·W is the plain product made transient
    const wIn = seeded([16, 12], 7) as tf.Tensor2D; // [in, out] (Conv1D): the forward x·W
    const run = () =>
      tf.tidy(() => {
        const g = tf.grads((xIn: tf.Tensor) => tf.add(tf.sum(tf.square(linearRows(xIn as tf.Tensor2D, w, 'out-in'))), tf.sum(tf.square(linearRows(xIn as tf.Tensor2D, wIn, 'in-out')))));
        const [dx] = g([x]);
        return [linearRows(x, w, 'out-in'), linearRows(x, wIn, 'in-out'), dx];
      });
    const before = tf.memory().numTensors;
    const plain = run();
    expect(transientPackingOn()).toBe(false);
    const lean = withTransientPacking(run);
    expect(transientPackingOn()).toBe(false);
    for (let i = 0; i < plain.length; i++) expect(Array.from(lean[i].dataSync())).toEqual(Array.from(plain[i].dataSync()));
    tf.dispose([...plain, ...lean]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w, wIn]);
  });
});
