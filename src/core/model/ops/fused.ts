// RMSNorm as one kernel forward and one backward, SwiGLU's product with a one-kernel backward
// (kernels/fused-kernels.ts), as custom gradients. Used where the fast paths
// are (fastPathsEnabled: wasm, or forced on by a test); the callers keep the plain tfjs
// composition otherwise. Why: each replaces 3–9 kernels per call in both directions, and
// hone-tiny's step is bound by per-kernel overhead (docs/PERFORMANCE.md).
import * as tf from '@tensorflow/tfjs';
import { installFusedKernels } from '../../kernels';
import { hasFused, runFused } from '../../kernels/kernel-io';
import { fastPathsEnabled, scopedGrad } from './linear';

/** Whether the fused kernel `name` runs here: fast paths on and the kernel registered for this backend. */
export function fusedEnabled(name: string): boolean {
  return fastPathsEnabled() && hasFused(name);
}

function isTrainable(t: tf.Tensor): boolean {
  return t instanceof tf.Variable && t.trainable;
}

/** LlamaRMSNorm x [N, d] · rsqrt(mean(x²) + eps) · w [d]; gradients to x, and to w when trainable. */
export function rmsNormFused(x: tf.Tensor2D, weight: tf.Tensor1D, eps: number): tf.Tensor2D {
  installFusedKernels(); // callable directly too (tests, the WebGPU parity check)
  const weightGrad = isTrainable(weight);
  const op = tf.customGrad(((...args: unknown[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const xIn = args[0] as tf.Tensor2D;
    const [y, inverse] = runFused('HoneRmsNorm', { x: xIn, weight }, { eps }); // [N, d], [N, 1]
    save([xIn, inverse, weight]);
    return {
      value: y,
      gradFunc: scopedGrad((dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sInverse, sw] = saved;
        return runFused('HoneRmsNormGrad', { dy, x: sx, inverse: sInverse, weight: sw }, { weightGrad }); // dx [N, d], dw [d]
      }),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const inputs: tf.Tensor[] = weightGrad ? [x, weight] : [x];
  return (op as unknown as (...t: tf.Tensor[]) => tf.Tensor2D)(...inputs);
}

/**
 * silu(gate) · up for gate, up [N, f] (SwiGLU's product); gradients to both. Where a one-kernel
 * forward is registered (HoneSwiGlu: the WebGPU kernels) it runs and its gradient recomputes σ;
 * on wasm and cpu the forward is XNNPACK's sigmoid and two products (an exp is slow in JS) and the
 * backward one kernel instead of autograd's seven, reading σ(gate) back instead of recomputing it.
 */
export function swiGluFused(gate: tf.Tensor, up: tf.Tensor): tf.Tensor {
  installFusedKernels(); // callable directly too (tests, the WebGPU parity check)
  const oneKernel = hasFused('HoneSwiGlu');
  const op = tf.customGrad(((g: tf.Tensor, u: tf.Tensor, save: tf.GradSaveFunc) => {
    if (oneKernel) {
      save([g, u]);
      return {
        value: runFused('HoneSwiGlu', { gate: g, up: u })[0], // [N, f]
        gradFunc: scopedGrad((dy: tf.Tensor, saved: tf.Tensor[]) => runFused('HoneSwiGluGrad', { dy, gate: saved[0], up: saved[1] })), // [N, f] × 2
      };
    }
    const sigmoid = tf.sigmoid(g); // [N, f]
    save([g, sigmoid, u]);
    return {
      value: tf.mul(tf.mul(g, sigmoid), u), // [N, f]
      gradFunc: scopedGrad((dy: tf.Tensor, saved: tf.Tensor[]) => runFused('HoneSwiGluGrad', { dy, gate: saved[0], sigmoid: saved[1], up: saved[2] })), // [N, f] × 2
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (op as unknown as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor)(gate, up);
}

/**
 * HF's apply_rotary_pos_emb for x [B, h, T, hd] with tables cos, signedSin [B, 1, T, hd]
 * (attention.ts's RopeTables: the sign of rotate_half folded into the sine), one kernel each way.
 * Gradient to x only: the tables are functions of the positions. Not used by wasm's attention
 * (measured slower than the composition there); for backends whose HoneRope is one dispatch.
 */
export function ropeFused(x: tf.Tensor4D, cos: tf.Tensor4D, signedSin: tf.Tensor4D): tf.Tensor4D {
  installFusedKernels(); // callable directly too (tests, the WebGPU parity check)
  const op = tf.customGrad(((xIn: tf.Tensor4D, save: tf.GradSaveFunc) => {
    save([cos, signedSin]);
    return {
      value: runFused('HoneRope', { x: xIn, cos, signedSin })[0], // [B, h, T, hd]
      gradFunc: scopedGrad((dy: tf.Tensor, saved: tf.Tensor[]) => runFused('HoneRope', { x: dy, cos: saved[0], signedSin: saved[1] }, { transpose: true })), // [B, h, T, hd]
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (op as unknown as (a: tf.Tensor) => tf.Tensor4D)(x);
}
