// WGSL kernels for tfjs-backend-webgpu: RMSNorm, SwiGLU's product and RoPE forward and backward
// (wrapped as custom gradients in ops.ts) and AdamW under the wasm/cpu kernel's name, inputs,
// attributes and outputs (adamw-kernel.ts), which optim/adamw.ts's fused branch runs where the
// WebGPU switch is off but the wasm fast paths are forced on; the WebGPU step itself uses
// adamw.ts's grouped AdamW. This registry also holds the kernels of attention.ts, cross-entropy.ts,
// norm.ts, stats.ts, adamw.ts and lora.ts. Each output is one program, one GPU dispatch. Why: a
// hone-tiny LoRA step ran 913 dispatches on WebGPU, each elementwise step of RMSNorm, SwiGLU, RoPE
// and AdamW its own (docs/PERFORMANCE.md); these replace 3–13 dispatches each.
// The arithmetic follows the tfjs compositions operation by operation in float32; the row sums
// accumulate sequentially in float32 (tfjs reduces in a tree), so values agree to float32 rounding.
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '../kernel-io';
import { ADAMW_KERNELS } from './adamw';
import { ATTENTION_KERNELS } from './attention';
import { CROSS_ENTROPY_KERNELS } from './cross-entropy';
import { LORA_KERNELS } from './lora';
import { NORM_KERNELS } from './norm';
import { STATS_KERNELS } from './stats';
import { HoneProgram, runProgram, wgslFloat } from './program';

type KernelArgs = { inputs: Record<string, TensorInfo | undefined>; backend: unknown; attrs: Record<string, unknown> };

function input(kernel: string, inputs: KernelArgs['inputs'], name: string): TensorInfo {
  const info = inputs[name];
  if (!info) throw new Error(`${kernel} (webgpu): input "${name}" is missing`);
  if (info.dtype !== 'float32') throw new Error(`${kernel} (webgpu): input "${name}" is ${info.dtype}, expected float32`);
  return info;
}

function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** rows × width of a [..., width] shape */
function rowsOf(shape: number[]): [number, number] {
  const width = shape[shape.length - 1];
  return [width === 0 ? 0 : sizeOf(shape) / width, width];
}

/** WGSL: `inv` = (mean(x²) + eps)^−½ of row `index` of X [N, d] (eps baked in: see rmsInverse). */
function inverseRms(d: number, eps: string): string {
  return `
      let base = index * ${d};
      var squares = 0.0;
      for (var j = 0; j < ${d}; j++) { let v = X[base + j]; squares = squares + v * v; }
      let inv = inverseSqrt(squares / ${d}.0 + ${eps});`;
}

/**
 * y = x · r · w, r = (mean(x²) + eps)^−½ per row: x [N, d], weight [d] → y [N, d], one thread per
 * row. r is not kept: the backward recomputes it from x (one pass over the row it reads anyway).
 */
function rmsNorm({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const x = input('HoneWebgpuRmsNorm', inputs, 'x');
  const weight = input('HoneWebgpuRmsNorm', inputs, 'weight');
  const [rows, d] = rowsOf(x.shape);
  // eps is baked into the code (and the key) rather than passed as a uniform
  const eps = wgslFloat(attrs.eps as number);
  const y = runProgram(
    backend,
    new HoneProgram(`hone_rms_${rows}_${d}_${eps}`, ['X', 'W'], x.shape, rows, `
      ${inverseRms(d, eps)}
      for (var j = 0; j < ${d}; j++) { result[base + j] = (X[base + j] * inv) * W[j]; }`),
    [x, weight],
  );
  return [y];
}

/** dx = r·(g − x̂·mean(g ⊙ x̂)) with x̂ = x·r, g = dy·w; dw = Σ_rows dy ⊙ x̂ when attrs.weightGrad. */
function rmsNormGrad({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const name = 'HoneWebgpuRmsNormGrad';
  const dy = input(name, inputs, 'dy');
  const x = input(name, inputs, 'x');
  const weight = input(name, inputs, 'weight');
  const [rows, d] = rowsOf(x.shape);
  const eps = wgslFloat(attrs.eps as number);
  const dx = runProgram(
    backend,
    new HoneProgram(`hone_rms_grad_x_${rows}_${d}_${eps}`, ['DY', 'X', 'W'], x.shape, rows, `
      ${inverseRms(d, eps)}
      var projection = 0.0;
      for (var j = 0; j < ${d}; j++) { projection = projection + (DY[base + j] * W[j]) * (X[base + j] * inv); }
      let mean = projection / ${d}.0;
      for (var j = 0; j < ${d}; j++) {
        let g = DY[base + j] * W[j];
        result[base + j] = (g - (X[base + j] * inv) * mean) * inv;
      }`),
    [dy, x, weight],
  );
  if (!attrs.weightGrad) return [dx];
  // a trainable weight (full fine-tuning): the per-row r once, then one thread per column
  const inverse = runProgram(
    backend,
    new HoneProgram(`hone_rms_inverse_${rows}_${d}_${eps}`, ['X'], [rows, 1], rows, `
      ${inverseRms(d, eps)}
      result[index] = inv;`),
    [x],
  );
  const dw = runProgram(
    backend,
    new HoneProgram(`hone_rms_grad_w_${rows}_${d}`, ['DY', 'X', 'INV'], [d], d, `
      var sum = 0.0;
      for (var r = 0; r < ${rows}; r++) { sum = sum + DY[r * ${d} + index] * (X[r * ${d} + index] * INV[r]); }
      result[index] = sum;`),
    [dy, x, inverse],
  );
  (backend as { disposeData(id: object): void }).disposeData(inverse.dataId);
  return [dx, dw];
}

// σ(g) as tfjs-backend-webgpu's Sigmoid computes it
const SIGMOID = 'let s = 1.0 / (1.0 + exp(-1.0 * g));';

/** silu(gate) · up = gate · σ(gate) · up, elementwise. */
function swiGlu({ inputs, backend }: KernelArgs): TensorInfo[] {
  const gate = input('HoneWebgpuSwiGlu', inputs, 'gate');
  const up = input('HoneWebgpuSwiGlu', inputs, 'up');
  const n = sizeOf(gate.shape);
  const program = new HoneProgram(`hone_swiglu_${n}`, ['G', 'U'], gate.shape, n, `
      let g = G[index];
      ${SIGMOID}
      result[index] = (g * s) * U[index];`);
  return [runProgram(backend, program, [gate, up])];
}

/** d gate = dy · up · σ(g)·(1 + g·(1 − σ(g))), d up = dy · silu(g). */
function swiGluGrad({ inputs, backend }: KernelArgs): TensorInfo[] {
  const name = 'HoneWebgpuSwiGluGrad';
  const dy = input(name, inputs, 'dy');
  const gate = input(name, inputs, 'gate');
  const up = input(name, inputs, 'up');
  const n = sizeOf(gate.shape);
  const dGate = runProgram(
    backend,
    new HoneProgram(`hone_swiglu_grad_gate_${n}`, ['DY', 'G', 'U'], gate.shape, n, `
      let g = G[index];
      ${SIGMOID}
      result[index] = (DY[index] * U[index]) * (s * (1.0 + g * (1.0 - s)));`),
    [dy, gate, up],
  );
  const dUp = runProgram(
    backend,
    new HoneProgram(`hone_swiglu_grad_up_${n}`, ['DY', 'G'], gate.shape, n, `
      let g = G[index];
      ${SIGMOID}
      result[index] = (g * s) * DY[index];`),
    [dy, gate],
  );
  return [dGate, dUp];
}

/**
 * RoPE, y[j] = x[j]·cos[j] + x[σ(j)]·signedSin[j] with σ(j) = (j + hd/2) mod hd, x [B, h, T, hd],
 * tables [B, 1, T, hd]; with attrs.transpose its adjoint dx[j] = dy[j]·cos[j] + dy[σ(j)]·signedSin[σ(j)].
 */
function rope({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const x = input('HoneWebgpuRope', inputs, 'x');
  const cos = input('HoneWebgpuRope', inputs, 'cos');
  const signedSin = input('HoneWebgpuRope', inputs, 'signedSin');
  const [batch, heads, time, hd] = x.shape;
  const half = hd / 2;
  const adjoint = attrs.transpose === true;
  const n = batch * heads * time * hd;
  const program = new HoneProgram(`hone_rope_${adjoint ? 'adjoint' : 'forward'}_${batch}_${heads}_${time}_${hd}`, ['X', 'C', 'S'], x.shape, n, `
      let j = index % ${hd};
      let t = (index / ${hd}) % ${time};
      let b = index / (${hd * time * heads});
      let table = (b * ${time} + t) * ${hd};
      var swapped = j + ${half};
      if (j >= ${half}) { swapped = j - ${half}; }
      let sinAt = S[table + ${adjoint ? 'swapped' : 'j'}];
      result[index] = X[index] * C[table + j] + X[index - j + swapped] * sinAt;`);
  return [runProgram(backend, program, [x, cos, signedSin])];
}

/** AdamW's update for one parameter: new p, m, v from param, grad, m, v (adamw-kernel.ts's attributes). */
function adamW({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const name = 'HoneAdamW';
  const param = input(name, inputs, 'param');
  const grad = input(name, inputs, 'grad');
  const m = input(name, inputs, 'm');
  const v = input(name, inputs, 'v');
  const n = sizeOf(param.shape);
  const a = attrs as Record<string, number>;
  const m1 = runProgram(
    backend,
    new HoneProgram(`hone_adamw_m_${n}`, ['GR', 'M'], param.shape, n, `
      result[index] = M[index] + (GR[index] - M[index]) * uniforms.c1;`, 'c1 : f32,'),
    [grad, m],
    [{ type: 'float32', data: [a.oneMinusBeta1] }],
  );
  const v1 = runProgram(
    backend,
    new HoneProgram(`hone_adamw_v_${n}`, ['GR', 'V'], param.shape, n, `
      let g = GR[index];
      result[index] = V[index] * uniforms.b2 + (g * g) * uniforms.c2;`, 'b2 : f32, c2 : f32,'),
    [grad, v],
    [
      { type: 'float32', data: [a.beta2] },
      { type: 'float32', data: [a.oneMinusBeta2] },
    ],
  );
  const p1 = runProgram(
    backend,
    new HoneProgram(`hone_adamw_p_${n}`, ['P', 'M1', 'V1'], param.shape, n, `
      let denom = sqrt(V1[index]) / uniforms.bc2 + uniforms.eps;
      result[index] = P[index] * uniforms.decay - (M1[index] * uniforms.stepSize) / denom;`, 'decay : f32, bc2 : f32, eps : f32, stepSize : f32,'),
    [param, m1, v1],
    [
      { type: 'float32', data: [a.decay] },
      { type: 'float32', data: [a.biasCorrection2Sqrt] },
      { type: 'float32', data: [a.eps] },
      { type: 'float32', data: [a.stepSize] },
    ],
  );
  return [p1, m1, v1];
}

const KERNELS: Record<string, (args: KernelArgs) => TensorInfo[]> = {
  HoneWebgpuRmsNorm: rmsNorm,
  HoneWebgpuRmsNormGrad: rmsNormGrad,
  HoneWebgpuSwiGlu: swiGlu,
  HoneWebgpuSwiGluGrad: swiGluGrad,
  HoneWebgpuRope: rope,
  HoneAdamW: adamW, // adamw-kernel.ts's name and contract
  ...ATTENTION_KERNELS,
  ...CROSS_ENTROPY_KERNELS,
  ...NORM_KERNELS,
  ...STATS_KERNELS,
  ...ADAMW_KERNELS,
  ...LORA_KERNELS,
};

/** The kernel names registered for webgpu. */
export const WEBGPU_KERNEL_NAMES = Object.keys(KERNELS);

/** Registers every kernel above for the 'webgpu' backend (once each). */
export function registerWebgpuKernels(): void {
  for (const [kernelName, fn] of Object.entries(KERNELS)) {
    if (tf.getKernel(kernelName, 'webgpu')) continue;
    tf.registerKernel({ kernelName, backendName: 'webgpu', kernelFunc: fn as unknown as tf.KernelFunc });
  }
}
