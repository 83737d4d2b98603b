// The wasm backend's Identity without a copy (src/core/kernels/wasm-identity.ts): tf.clone and the
// tape's saved tensors share the input's data, stay valid after the input is disposed, and leak
// nothing; gradients that go through saved tensors are unchanged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { setNodeBackend } from '../../cli/node-backend';
import { installWasmIdentityKernel, uninstallWasmIdentityKernel } from '../../src/core/kernels/wasm-identity';

describe('wasm Identity kernel', () => {
  beforeAll(async () => {
    await setNodeBackend('wasm'); // installs the kernel
  });
  afterAll(() => installWasmIdentityKernel());

  it('clones by sharing the data buffer, which outlives the original', async () => {
    const before = tf.memory();
    const x = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
    const copy = tf.clone(x);
    expect(copy.dataId).toBe(x.dataId);
    expect(tf.memory().numDataBuffers).toBe(before.numDataBuffers + 1);
    x.dispose();
    expect(Array.from(await copy.data())).toEqual([1, 2, 3, 4, 5, 6]);
    copy.dispose();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numDataBuffers).toBe(before.numDataBuffers);
  });

  it('keeps gradients through saved tensors exact: d/dw sum((x·w)²) = 2·xᵀ(x·w)', () => {
    const before = tf.memory().numTensors;
    const x = tf.tensor2d([[1, -2], [3, 0.5]]);
    const initial = tf.tensor2d([[0.25, 1], [-1, 2]]);
    const w = tf.variable(initial);
    const grads = tf.variableGrads(() => tf.sum(tf.square(tf.matMul(x, w))), [w]);
    // x·w = [[2.25, -3], [0.25, 4]]; 2·xᵀ·(x·w) = [[6, 18], [-8.75, 16]]
    expect(Array.from(grads.grads[w.name].dataSync())).toEqual([6, 18, -8.75, 16]);
    expect(grads.value.dataSync()[0]).toBeCloseTo(2.25 ** 2 + 9 + 0.0625 + 16, 5);
    tf.dispose([x, initial, w, grads.value, grads.grads[w.name]]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('copies again with the backend’s own kernel put back (the test above would see it)', () => {
    uninstallWasmIdentityKernel();
    const x = tf.tensor1d([1, 2]);
    const copy = tf.clone(x);
    expect(copy.dataId).not.toBe(x.dataId);
    tf.dispose([x, copy]);
    installWasmIdentityKernel();
    const y = tf.tensor1d([3]);
    const shared = tf.clone(y);
    expect(shared.dataId).toBe(y.dataId);
    tf.dispose([y, shared]);
  });
});
