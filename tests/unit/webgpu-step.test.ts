// The leaner WebGPU training step's host side, on cpu: AdamW's gradScale (the clip coefficient the
// WebGPU step hands to AdamW's program) against clip-then-AdamW, bit for bit, and the WGSL programs
// the step statistics, AdamW and LoRA kernels build (keys, thread counts, uniforms), read from a
// recording stand-in for the webgpu backend. The programs' values are checked against the tfjs
// compositions on WebGPU by tests/browser/webgpu-kernels.spec.ts.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { installFusedKernels } from '../../src/core/kernels';
import { ADAMW_KERNELS } from '../../src/core/kernels/webgpu/adamw';
import { LORA_KERNELS } from '../../src/core/kernels/webgpu/lora';
import type { HoneProgram, ProgramUniform } from '../../src/core/kernels/webgpu/program';
import { STATS_KERNELS, maxProgramInputs } from '../../src/core/kernels/webgpu/stats';
import { clipByGlobalNorm, clipCoefficient, globalNorm } from '../../src/core/train/clip';
import { AdamW } from '../../src/core/train/optim/adamw';
import { forceFastPaths } from '../../src/core/model/ops/linear';

type Info = { dataId: object; shape: number[]; dtype: tf.DataType };

/** Records every program a kernel runs instead of running it. */
function recorder() {
  const runs: { program: HoneProgram; inputs: Info[]; uniforms?: ProgramUniform[] }[] = [];
  const backend = {
    device: { limits: { maxStorageBuffersPerShaderStage: 8 } },
    runWebGPUProgram(program: HoneProgram, inputs: Info[], dtype: tf.DataType, uniforms?: ProgramUniform[]): Info {
      runs.push({ program, inputs, uniforms });
      return { dataId: {}, shape: program.outputShape, dtype };
    },
    disposeData() {},
  };
  return { runs, backend };
}

const info = (shape: number[]): Info => ({ dataId: {}, shape, dtype: 'float32' });

function seeded(shape: number[], seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', seed);
}

describe('AdamW with gradScale (the WebGPU step clips inside AdamW)', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    installFusedKernels();
  });
  afterEach(() => forceFastPaths(null));

  for (const fused of [false, true]) {
    it(`equals clipByGlobalNorm then apply bit for bit over two steps (${fused ? 'fused kernel' : 'op by op'}) and leaks nothing`, async () => {
      forceFastPaths(fused);
      const before = tf.memory().numTensors;
      const variable = (shape: number[], seed: number, name: string): tf.Variable => {
        const init = seeded(shape, seed);
        const v = tf.variable(init, true, name);
        init.dispose(); // the variable keeps the data
        return v;
      };
      const make = (tag: string) =>
        new Map([
          ['a', variable([7, 5], 1, `gs_a_${tag}_${fused}`)],
          ['b', variable([13], 2, `gs_b_${tag}_${fused}`)],
        ]);
      const [clipped, scaled] = [make('clip'), make('scale')];
      const config = { betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: 0.01 };
      const [first, second] = [new AdamW(config), new AdamW(config)];
      const coefficients: number[] = [];
      for (const step of [1, 2]) {
        const grads = new Map([...clipped].map(([name, p]) => [name, tf.tidy(() => tf.mul(seeded(p.shape, 10 + step), 3))]));
        const normTensor = globalNorm(grads.values());
        const norm = (await normTensor.data())[0];
        normTensor.dispose();
        const maxNorm = 0.5;
        const clippedGrads = clipByGlobalNorm(grads, maxNorm, norm);
        first.apply(clipped, clippedGrads, 1e-2);
        const coef = clipCoefficient(maxNorm, norm);
        coefficients.push(coef);
        second.apply(scaled, grads, 1e-2, coef);
        tf.dispose([...grads.values(), ...clippedGrads.values()]);
      }
      expect(coefficients.every((c) => c > 0 && c < 1)).toBe(true); // clipping was active
      for (const name of ['a', 'b']) expect(Array.from(scaled.get(name)!.dataSync())).toEqual(Array.from(clipped.get(name)!.dataSync()));
      const [s1, s2] = [await first.state(), await second.state()];
      expect(s2.steps).toEqual(s1.steps);
      for (const [key, t] of s1.tensors) expect(Array.from(s2.tensors.get(key)!.data), key).toEqual(Array.from(t.data));
      first.dispose();
      second.dispose();
      tf.dispose([...clipped.values(), ...scaled.values()]);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('clipCoefficient is clipByGlobalNorm’s min(max / (norm + 1e-6), 1) in float32, and refuses a non-positive max', () => {
    expect(clipCoefficient(1, 13)).toBe(Math.fround(1 / (13 + 1e-6)));
    expect(clipCoefficient(1, 0.5)).toBe(1);
    expect(() => clipCoefficient(0, 1)).toThrow(/maxNorm must be a positive number/);
  });
});

describe('WGSL programs of the lean WebGPU step (recorded, not run)', () => {
  it('step statistics: one workgroup per tensor, kinds in the shader key (a norm and a finite-check of one size compile apart)', () => {
    const { runs, backend } = recorder();
    const reduce = STATS_KERNELS.HoneWebgpuSlotReduce;
    reduce({ inputs: { x0: info([3, 300]), x1: info([5]) }, backend, attrs: { kinds: ['norm', 'nonfinite'] } });
    reduce({ inputs: { x0: info([3, 300]), x1: info([5]) }, backend, attrs: { kinds: ['nonfinite', 'norm'] } });
    const [a, b] = runs.map((r) => r.program);
    expect(a.shaderKey).not.toBe(b.shaderKey);
    expect(a.outputShape).toEqual([2]);
    expect(a.dispatch).toEqual([2, 1, 1]); // 2 workgroups of 64
    const code = a.getUserCode();
    expect(code).toContain('i < 900'); // slot 0 reads its 900 values
    expect(code).toContain('bitcast<u32>(X1[i]) & 0x7f800000u'); // slot 1 counts non-finite bits
    expect(code).toContain('if (slot == 0) { total = sqrt(total); }');
    expect(code).not.toContain('if (slot == 1) { total = sqrt(total); }');
    expect(maxProgramInputs(backend)).toBe(7);
    expect(maxProgramInputs({})).toBe(7); // a device without limits: WebGPU's default of 8 bindings
  });

  it('step statistics: the combining program sums norms² of norm slots and counts of the others, across its vectors', () => {
    const { runs, backend } = recorder();
    STATS_KERNELS.HoneWebgpuStepStats({ inputs: { loss: info([]), p0: info([2]), p1: info([1]) }, backend, attrs: { kinds: ['norm', 'nonfinite', 'norm'], parts: 2 } });
    const code = runs[0].program.getUserCode();
    expect(runs[0].program.outputShape).toEqual([3]);
    expect(runs[0].inputs.length).toBe(3);
    expect(code).toContain('{ let v = P0[0]; squares = squares + v * v; }');
    expect(code).toContain('bad = bad + P0[1];');
    expect(code).toContain('{ let v = P1[0]; squares = squares + v * v; }');
    expect(() => STATS_KERNELS.HoneWebgpuStepStats({ inputs: { loss: info([]), p0: info([2]) }, backend, attrs: { kinds: ['norm'], parts: 1 } })).toThrow(/2 slot values for 1 kinds/);
  });

  it('AdamW: one moments program per group (g·scale first, a member without a gradient copied through), then each parameter from its place; uniforms in declared order', () => {
    const { runs, backend } = recorder();
    const attrs = { oneMinusBeta1: 0.1, beta2: 0.999, oneMinusBeta2: 0.001, gradScale: 0.25, decay: 0.99, biasCorrection2Sqrt: 0.03, eps: 1e-8, stepSize: 0.01 };
    const members = [
      { base: 0, size: 12, grad: 0 },
      { base: 24, size: 5, grad: -1 },
      { base: 34, size: 3, grad: 1 },
    ];
    ADAMW_KERNELS.HoneWebgpuAdamMoments({ inputs: { g0: info([4, 3]), g1: info([3]), moments: info([40]) }, backend, attrs: { ...attrs, members } });
    ADAMW_KERNELS.HoneWebgpuAdamParam({ inputs: { param: info([3]), moments: info([40]) }, backend, attrs: { ...attrs, base: 34 } });
    const [moments, param] = runs;
    expect(moments.program.outputShape).toEqual([40]);
    expect(moments.inputs.length).toBe(3); // g0, g1, the moments: the member without a gradient binds nothing
    expect(moments.program.variableNames).toEqual(['G0', 'G1', 'MV']);
    expect(moments.program.uniforms).toBe('scale : f32, c1 : f32, b2 : f32, c2 : f32,');
    expect(moments.uniforms!.map((u) => u.data[0])).toEqual([0.25, 0.1, 0.999, 0.001]);
    const code = moments.program.getUserCode();
    expect(code).toContain('if (index < 24) {');
    expect(code).toContain('let g = G0[local - 12] * uniforms.scale;');
    expect(code).toContain('else if (index < 34) { result[index] = MV[index]; }');
    expect(code).toContain('let local = index - 34;');
    expect(code).toContain('let g = G1[local] * uniforms.scale;');
    expect(param.program.outputShape).toEqual([3]);
    expect(param.program.uniforms).toBe('decay : f32, bc2 : f32, eps : f32, stepSize : f32,');
    expect(param.uniforms!.map((u) => u.data[0])).toEqual([0.99, 0.03, 1e-8, 0.01]);
    expect(param.program.getUserCode()).toContain('sqrt(MV[index + 37])');
    expect(param.program.getUserCode()).toContain('(MV[index + 34] * uniforms.stepSize)');
    expect(() => ADAMW_KERNELS.HoneWebgpuAdamMoments({ inputs: { g0: info([4, 3]), g1: info([3]), moments: info([38]) }, backend, attrs: { ...attrs, members } })).toThrow(/members cover 40 values of a 38-value buffer/);
    expect(() => ADAMW_KERNELS.HoneWebgpuAdamParam({ inputs: { param: info([4]), moments: info([40]) }, backend, attrs: { ...attrs, base: 34 } })).toThrow(/overrun/);
  });

  it('LoRA up-projection: one thread per output value forward, d down [N, r] and d B [out, r] backward, the scaling baked in', () => {
    const { runs, backend } = recorder();
    LORA_KERNELS.HoneWebgpuLoraUp({ inputs: { y: info([6, 10]), d: info([6, 3]), b: info([10, 3]) }, backend, attrs: { scaling: 2 } });
    LORA_KERNELS.HoneWebgpuLoraUpGrad({ inputs: { dy: info([6, 10]), d: info([6, 3]), b: info([10, 3]) }, backend, attrs: { scaling: 2 } });
    const [up, dD, dB] = runs.map((r) => r.program);
    expect(up.outputShape).toEqual([6, 10]);
    expect(up.getUserCode()).toContain('result[index] = Y[index] + sum * 2.0;');
    expect(dD.outputShape).toEqual([6, 3]);
    expect(dD.getUserCode()).toContain('(DY[n * 10 + j] * 2.0) * B[j * 3 + k]');
    expect(dB.outputShape).toEqual([10, 3]);
    expect(dB.getUserCode()).toContain('for (var n = 0; n < 6; n++)');
  });
});
