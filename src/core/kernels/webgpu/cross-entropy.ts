// The causal-LM loss's masked softmax cross-entropy on WebGPU (loss.ts maskedCrossEntropySum's
// math): one program per row forward (mask · (logsumexp(x) − x_target)), then tf.sum, and one
// backward ((softmax − one-hot) · mask · dy). The composition runs ~25 dispatches (max, exp, sum,
// log, a one-hot built from range/equal/cast, products and sums, both ways); this runs 3.
// Each row's maximum and exp-sum are recomputed in the backward instead of saving [N, V] values.
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '../kernel-io';
import { HoneProgram, runProgram } from './program';

type KernelArgs = { inputs: Record<string, TensorInfo | undefined>; backend: unknown; attrs: Record<string, unknown> };

/** WGSL: the row's maximum `best` and log Σ exp(x − best) `lse` over logits row `n` of width V. */
function rowStatistics(vocab: number): string {
  return `
      let base = index * ${vocab};
      var best = -3.402823e38;
      for (var c = 0; c < ${vocab}; c++) { best = max(best, L[base + c]); }
      var total = 0.0;
      for (var c = 0; c < ${vocab}; c++) { total = total + exp(L[base + c] - best); }
      let lse = log(total);`;
}

/** rowLoss [N] = mask · (log Σ exp(x − m) − (x_t − m)) for logits [N, V], targets [N] int32, mask [N]. */
function crossEntropyRows({ inputs, backend }: KernelArgs): TensorInfo[] {
  const [logits, targets, mask] = [inputs.logits!, inputs.targets!, inputs.mask!];
  const [rows, vocab] = logits.shape;
  const program = new HoneProgram(`hone_xent_rows_${rows}_${vocab}`, ['L', 'T', 'MASK'], [rows], rows, `
      ${rowStatistics(vocab)}
      let picked = L[base + T[index]] - best;
      result[index] = (lse - picked) * f32(MASK[index]);`);
  return [runProgram(backend, program, [logits, targets, mask])];
}

/** dLogits [N, V] = (softmax(x) − one-hot(t)) · mask · dy, dy the scalar upstream gradient. */
function crossEntropyGrad({ inputs, backend }: KernelArgs): TensorInfo[] {
  const [dy, logits, targets, mask] = [inputs.dy!, inputs.logits!, inputs.targets!, inputs.mask!];
  const [rows, vocab] = logits.shape;
  const program = new HoneProgram(`hone_xent_grad_${rows}_${vocab}`, ['DY', 'L', 'T', 'MASK'], [rows, vocab], rows, `
      ${rowStatistics(vocab)}
      let weight = f32(MASK[index]) * DY[0];
      let targetId = T[index];
      for (var c = 0; c < ${vocab}; c++) {
        let probability = exp((L[base + c] - best) - lse);
        var hot = 0.0;
        if (c == targetId) { hot = 1.0; }
        result[base + c] = (probability - hot) * weight;
      }`);
  return [runProgram(backend, program, [dy, logits, targets, mask])];
}

export const CROSS_ENTROPY_KERNELS: Record<string, (args: KernelArgs) => TensorInfo[]> = {
  HoneWebgpuCrossEntropyRows: crossEntropyRows,
  HoneWebgpuCrossEntropyGrad: crossEntropyGrad,
};

/** The kernels return one-element lists (kernels.ts's convention); this unwraps them. */
function run(name: string, inputs: Record<string, tf.Tensor>): tf.Tensor {
  const out = tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap) as tf.Tensor | tf.Tensor[];
  return Array.isArray(out) ? out[0] : out;
}

/**
 * Σ_rows mask · (logsumexp(logits) − logits[target]) for logits [N, V] float32, targets [N] int32
 * (any valid id where mask is 0), mask [N] float32 0/1. Gradient to the logits only.
 */
export function crossEntropySumWebgpu(logits: tf.Tensor2D, targets: tf.Tensor1D, mask: tf.Tensor1D): tf.Scalar {
  const ids = targets.dtype === 'int32' ? targets : (targets.cast('int32') as tf.Tensor1D);
  const op = tf.customGrad(((x: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([x, ids, mask]);
    return {
      value: tf.sum(run('HoneWebgpuCrossEntropyRows', { logits: x, targets: ids, mask })) as tf.Scalar, // []
      gradFunc: (dy: tf.Tensor, [sx, st, sm]: tf.Tensor[]) => [run('HoneWebgpuCrossEntropyGrad', { dy: dy.reshape([1]), logits: sx, targets: st, mask: sm })], // [N, V]
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (op as unknown as (x: tf.Tensor) => tf.Scalar)(logits);
}
