// Gradient clipping by global L2 norm, as torch.nn.utils.clip_grad_norm_(params, max_norm):
//   total = ‖(‖g₁‖, ‖g₂‖, …)‖₂,  coef = min(max_norm / (total + 1e-6), 1),  g ← g · coef
// torch multiplies even when coef is 1; so does this (it is exact in float32). On WebGPU the step
// passes coef to AdamW instead, whose program multiplies each gradient itself (optim/adamw.ts).
import * as tf from '@tensorflow/tfjs';
import { globalNormWebgpu, webgpuFastPaths } from '../kernels/webgpu';

/** The global L2 norm of all gradients, as a scalar tensor (the caller disposes it). */
export function globalNorm(grads: Iterable<tf.Tensor>): tf.Scalar {
  if (webgpuFastPaths()) return globalNormWebgpu(grads); // one WGSL dispatch per gradient
  return tf.tidy(() => {
    // per-tensor L2 norms, as torch stacks them. √Σg² rather than tf.norm, which squares through a
    // broadcasting Pow (|g|^2): the same float32 products, in a cheaper kernel on wasm
    const norms = [...grads].map((g) => tf.sqrt(tf.sum(tf.square(g)))); // []
    if (norms.length === 0) return tf.scalar(0);
    return tf.sqrt(tf.sum(tf.square(tf.stack(norms)))) as tf.Scalar;
  });
}

/** coef = min(maxNorm / (totalNorm + 1e-6), 1) as float32: what every gradient is multiplied by. */
export function clipCoefficient(maxNorm: number, totalNorm: number): number {
  if (!(maxNorm > 0)) throw new Error(`clipByGlobalNorm: maxNorm must be a positive number, got ${maxNorm}`);
  return Math.min(Math.fround(maxNorm / (totalNorm + 1e-6)), 1);
}

/**
 * Scales `grads` so their global norm is at most `maxNorm`; returns new tensors (the inputs stay
 * the caller's) and the norm before clipping, which is what HF Trainer logs as grad_norm.
 */
export function clipByGlobalNorm(grads: Map<string, tf.Tensor>, maxNorm: number, totalNorm: number): Map<string, tf.Tensor> {
  const coef = clipCoefficient(maxNorm, totalNorm);
  const out = new Map<string, tf.Tensor>();
  for (const [name, g] of grads) out.set(name, tf.mul(g, coef));
  return out;
}
