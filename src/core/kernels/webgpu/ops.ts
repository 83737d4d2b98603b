// RMSNorm, SwiGLU's product, RoPE and LoRA's up-projection on WebGPU as custom gradients over the
// WGSL kernels (kernels.ts, lora.ts): forward and backward are 1–2 dispatches each, against 3–13
// for the tfjs compositions they replace (blocks.ts rmsNorm and llamaMlp, attention.ts applyRope,
// lora.ts's B product, scaling and add), whose
// autograd also keeps every intermediate alive for the backward. Only the inputs are saved
// (RMSNorm's backward recomputes the row's inverse RMS from x).
import * as tf from '@tensorflow/tfjs';
import { isTrainable, scopedGrad } from '../../model/ops/linear'; // customGrad calls its gradient outside any tidy
import { registerWebgpuKernels } from './kernels';

function run(name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown> = {}): tf.Tensor[] {
  registerWebgpuKernels(); // once; a caller may reach these without webgpuFastPaths()
  const out = tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap);
  return Array.isArray(out) ? (out as tf.Tensor[]) : [out as tf.Tensor];
}

/** LlamaRMSNorm x [N, d] · rsqrt(mean(x²) + eps) · w [d]; gradients to x, and to w when it is a trainable variable. */
export function rmsNormWebgpu(x: tf.Tensor2D, weight: tf.Tensor1D, eps: number): tf.Tensor2D {
  const weightGrad = isTrainable(weight);
  const op = tf.customGrad(((...args: unknown[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const xIn = args[0] as tf.Tensor2D;
    const [y] = run('HoneWebgpuRmsNorm', { x: xIn, weight }, { eps }); // [N, d]
    save([xIn, weight]);
    return {
      value: y,
      gradFunc: scopedGrad((dy, [sx, sw]) => run('HoneWebgpuRmsNormGrad', { dy, x: sx, weight: sw }, { eps, weightGrad })), // dx [N, d], dw [d]
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const inputs: tf.Tensor[] = weightGrad ? [x, weight] : [x];
  return (op as unknown as (...t: tf.Tensor[]) => tf.Tensor2D)(...inputs);
}

/** silu(gate) · up for gate, up of one shape (SwiGLU's product); gradients to both. */
export function swiGluWebgpu(gate: tf.Tensor, up: tf.Tensor): tf.Tensor {
  const op = tf.customGrad(((g: tf.Tensor, u: tf.Tensor, save: tf.GradSaveFunc) => {
    save([g, u]);
    return {
      value: run('HoneWebgpuSwiGlu', { gate: g, up: u })[0], // [N, f]
      gradFunc: scopedGrad((dy, [sg, su]) => run('HoneWebgpuSwiGluGrad', { dy, gate: sg, up: su })), // d gate, d up [N, f]
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (op as unknown as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor)(gate, up);
}

/**
 * HF's apply_rotary_pos_emb for x [B, h, T, hd] with attention.ts's tables cos, signedSin
 * [B, 1, T, hd] (rotate_half's sign folded into the sine). Gradient to x only: the tables are
 * functions of the positions. The backward is the same kernel, transposed.
 */
export function ropeWebgpu(x: tf.Tensor4D, cos: tf.Tensor4D, signedSin: tf.Tensor4D): tf.Tensor4D {
  const op = tf.customGrad(((xIn: tf.Tensor4D, save: tf.GradSaveFunc) => {
    save([cos, signedSin]);
    return {
      value: run('HoneWebgpuRope', { x: xIn, cos, signedSin })[0], // [B, h, T, hd]
      gradFunc: scopedGrad((dy, [sc, ss]) => run('HoneWebgpuRope', { x: dy, cos: sc, signedSin: ss }, { transpose: true })), // [B, h, T, hd]
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (op as unknown as (a: tf.Tensor) => tf.Tensor4D)(x);
}

/**
 * y + (down · bᵀ) · scaling for the base layer's output y [..., out] (any leading shape, N rows in
 * all), down [N, r] and B [out, r]; gradients to y, down and B. Same shape as y.
 */
export function loraUpWebgpu(y: tf.Tensor, down: tf.Tensor2D, b: tf.Tensor2D, scaling: number): tf.Tensor {
  const shape = y.shape;
  const out = shape[shape.length - 1];
  const op = tf.customGrad(((yIn: tf.Tensor2D, dIn: tf.Tensor2D, bIn: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([dIn, bIn]);
    return {
      value: run('HoneWebgpuLoraUp', { y: yIn, d: dIn, b: bIn }, { scaling })[0], // [N, out]
      gradFunc: scopedGrad((dy, [sd, sb]) => [dy.clone(), ...run('HoneWebgpuLoraUpGrad', { dy, d: sd, b: sb }, { scaling })]), // dy, d d [N, r], d B [out, r]
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const rows = y.reshape([-1, out]) as tf.Tensor2D;
  return (op as unknown as (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.Tensor)(rows, down, b).reshape(shape);
}
