// The WebGPU fast paths: RMSNorm, SwiGLU, RoPE, attention, LoRA's up-projection, the loss's
// cross-entropy, the step's read-back numbers (loss, gradient norm, weights check) and AdamW with
// clipping folded in as WGSL programs (kernels.ts, ops.ts, attention.ts, lora.ts, cross-entropy.ts,
// norm.ts, stats.ts, adamw.ts), taken by gated call sites in blocks.ts, attention.ts, lora.ts,
// train/step.ts and optim/adamw.ts when the active backend is webgpu. A switch of its own, apart
// from fastPathsEnabled(): on webgpu the wasm-shaped paths (per-head 2-D matmuls, explicit
// transposes) would only add dispatches.
import * as tf from '@tensorflow/tfjs';
import { installWebgpuAddN } from './addn';
import { registerWebgpuKernels } from './kernels';

let forced: boolean | null = null;

/** Whether the WebGPU kernels are used: on the webgpu backend, unless a test forces them (null = by backend). */
export function webgpuFastPaths(): boolean {
  const onWebgpu = tf.getBackend() === 'webgpu';
  if (onWebgpu) {
    registerWebgpuKernels(); // the studio worker and the bench get them here
    installWebgpuAddN(); // a fix, not a fast path: installed whatever the switch says
  }
  return forced ?? onWebgpu;
}

/** The fast paths on the webgpu backend itself (a test may force them on elsewhere, where the WGSL programs cannot run). */
export function webgpuProgramsActive(): boolean {
  return webgpuFastPaths() && tf.getBackend() === 'webgpu';
}

/** Tests only: the WebGPU fast paths on (true), off (false: the plain tfjs composition), or by backend (null). */
export function forceWebgpuFastPaths(value: boolean | null): void {
  forced = value;
}

export { registerWebgpuKernels, WEBGPU_KERNEL_NAMES } from './kernels';
export { loraUpWebgpu, rmsNormWebgpu, ropeWebgpu, swiGluWebgpu } from './ops';
export { attentionWebgpu } from './attention';
export { crossEntropySumWebgpu } from './cross-entropy';
export { globalNormWebgpu } from './norm';
export { stepStatsWebgpu } from './stats';
export { adamMomentsWebgpu, adamParamWebgpu, maxGroupSize, type MomentMember } from './adamw';
