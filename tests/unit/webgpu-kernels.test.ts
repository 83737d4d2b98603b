// The WebGPU fast paths' switch, their kernel registry and the parity harness's AdamW check, on cpu.
// The WGSL programs only run in the browser (tests/browser/webgpu-kernels.spec.ts runs the same
// harness there on every kernel); here the switch routes AdamW to the cpu fused kernel.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { installFusedKernels } from '../../src/core/kernels';
import { forceWebgpuFastPaths, registerWebgpuKernels, webgpuFastPaths, WEBGPU_KERNEL_NAMES } from '../../src/core/kernels/webgpu';
import { HoneProgram, wgslFloat } from '../../src/core/kernels/webgpu/program';
import { runWebgpuKernelParity } from '../../src/core/kernels/webgpu/parity';
import { forceFastPaths } from '../../src/core/model/ops/linear';

describe('WebGPU fast paths', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    installFusedKernels();
    forceFastPaths(false);
  });
  afterEach(() => forceWebgpuFastPaths(null));

  it('are off on cpu unless forced', () => {
    expect(webgpuFastPaths()).toBe(false);
    forceWebgpuFastPaths(true);
    expect(webgpuFastPaths()).toBe(true);
    forceWebgpuFastPaths(false);
    expect(webgpuFastPaths()).toBe(false);
  });

  it('register their kernels for webgpu only, AdamW under the cpu/wasm kernel name', () => {
    registerWebgpuKernels();
    expect([...WEBGPU_KERNEL_NAMES].sort()).toEqual([
      'HoneAdamW',
      'HoneWebgpuAdamMoments',
      'HoneWebgpuAdamParam',
      'HoneWebgpuAttentionContext',
      'HoneWebgpuAttentionGrad',
      'HoneWebgpuAttentionProbs',
      'HoneWebgpuCrossEntropyGrad',
      'HoneWebgpuCrossEntropyRows',
      'HoneWebgpuL2Norm',
      'HoneWebgpuLoraUp',
      'HoneWebgpuLoraUpGrad',
      'HoneWebgpuRmsNorm',
      'HoneWebgpuRmsNormGrad',
      'HoneWebgpuRope',
      'HoneWebgpuSlotReduce',
      'HoneWebgpuStepStats',
      'HoneWebgpuSwiGlu',
      'HoneWebgpuSwiGluGrad',
    ]);
    for (const name of WEBGPU_KERNEL_NAMES) expect(tf.getKernel(name, 'webgpu'), name).toBeDefined();
    expect(tf.getKernel('HoneWebgpuRmsNorm', 'cpu')).toBeUndefined();
    expect(tf.getKernel('HoneAdamW', 'cpu')).toBeDefined(); // the cpu twin the AdamW check runs here
  });

  it('programs bake their sizes into the code and guard the thread count', () => {
    const program = new HoneProgram('k_10', ['X'], [10, 3], 10, 'result[index] = X[index];');
    expect(program.dispatch).toEqual([1, 1, 1]);
    expect(program.dispatchLayout).toEqual({ x: [0, 1] });
    expect(program.getUserCode()).toContain('if (index >= 10 || uniforms.NAN == 1.0) { return; }');
    expect(new HoneProgram('k', ['X'], [200], 200, '').dispatch).toEqual([4, 1, 1]); // 64 threads a workgroup
    expect(wgslFloat(2)).toBe('2.0');
    expect(wgslFloat(1e-5)).toBe(String(Math.fround(1e-5)));
  });

  it('AdamW with the switch forced on equals the op-by-op update (2 steps, decay) and leaks nothing', async () => {
    const before = tf.memory().numTensors;
    const results = await runWebgpuKernelParity();
    expect(results.map((r) => r.name)).toEqual(['HoneAdamW, two steps']);
    expect(results[0].relativeError).toBeLessThanOrEqual(1e-6);
    expect(results[0].tensorsLeaked).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
  });
});
