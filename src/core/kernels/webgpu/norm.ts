// The L2 norm √Σx² of a whole tensor as one WGSL program (one workgroup of 64 threads: strided
// partial sums, then a tree in workgroup memory). clip.ts's globalNorm computes one per gradient
// and one over the stacked norms, as torch.nn.utils.clip_grad_norm_ does; the composition costs
// three dispatches per gradient (Square, Sum, Sqrt), this one.
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '../kernel-io';
import { HoneProgram, runProgram } from './program';

type KernelArgs = { inputs: Record<string, TensorInfo | undefined>; backend: unknown; attrs: Record<string, unknown> };

const LANES = 64; // = HoneProgram's workgroup size: one workgroup does the whole reduction

function l2Norm({ inputs, backend }: KernelArgs): TensorInfo[] {
  const x = inputs.x!;
  const size = x.shape.reduce((a, b) => a * b, 1);
  const program = new HoneProgram(`hone_l2norm_${size}`, ['X'], [1], LANES, `
      var sum = 0.0;
      for (var i = index; i < ${size}; i = i + ${LANES}) { let v = X[i]; sum = sum + v * v; }
      partial[index] = sum;
      workgroupBarrier();
      for (var stride = ${LANES / 2}; stride > 0; stride = stride / 2) {
        if (index < stride) { partial[index] = partial[index] + partial[index + stride]; }
        workgroupBarrier();
      }
      if (index == 0) { result[0] = sqrt(partial[0]); }`, undefined, `var<workgroup> partial : array<f32, ${LANES}>;`);
  return [runProgram(backend, program, [x])];
}

export const NORM_KERNELS: Record<string, (args: KernelArgs) => TensorInfo[]> = { HoneWebgpuL2Norm: l2Norm };

function norm(x: tf.Tensor): tf.Scalar {
  const out = tf.engine().runKernel('HoneWebgpuL2Norm', { x } as unknown as tf.NamedTensorMap) as tf.Tensor | tf.Tensor[];
  return (Array.isArray(out) ? out[0] : out).reshape([]) as tf.Scalar;
}

/** ‖(‖g₁‖, ‖g₂‖, …)‖₂ over float32 gradients (no gradient of its own: it is a statistic). */
export function globalNormWebgpu(grads: Iterable<tf.Tensor>): tf.Scalar {
  return tf.tidy(() => {
    const norms = [...grads].map(norm); // []
    if (norms.length === 0) return tf.scalar(0);
    return norm(tf.stack(norms)); // []
  });
}
