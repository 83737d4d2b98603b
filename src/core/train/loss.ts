// Causal language-model loss as transformers' ForCausalLMLoss computes it: labels shifted left by
// one (logits[:, :-1] predict labels[:, 1:]), cross-entropy over positions whose label is not −100,
// log-softmax made stable by subtracting the row maximum (as torch's log_softmax).
//
// The cross-entropy is one tf.customGrad: its gradient (softmax − one-hot) · mask is written out, so
// no tf.gather gradient is needed (the wasm backend lacks its kernel, PLATFORM.md §2) and the
// [N, V] log-probabilities are not kept alive for the backward pass.
import * as tf from '@tensorflow/tfjs';
import { IGNORE_INDEX } from './batch';
import { fastPathsEnabled, scopedGrad } from '../model/ops/linear';
import { crossEntropySumWebgpu, webgpuFastPaths } from '../kernels/webgpu';

/** Positions of the targets in the flattened [N·V] logits: row·V + target (int32 [N]). */
function flatTargets(targets: tf.Tensor1D, vocab: number): tf.Tensor1D {
  return tf.add(tf.range(0, targets.shape[0] * vocab, vocab, 'int32'), targets.cast('int32')) as tf.Tensor1D; // [N]
}

/**
 * One-hot rows [N, V] as float32. Not tf.oneHot(…, 'float32'): the wasm backend's OneHot writes
 * integer 1 bits into float32 buffers (1.4e-45 instead of 1; tfjs 4.22). On wasm a scatter of N
 * ones (measured ~0.3 ms for [1016, 1024]) replaces comparing every entry against 0..V−1 (a
 * broadcasting Equal, ~50 ms there); elsewhere the comparison stays, as before.
 */
function targetMask(targets: tf.Tensor1D, vocab: number): tf.Tensor2D {
  return tf.tidy(() => {
    const n = targets.shape[0];
    if (fastPathsEnabled()) {
      return tf.scatterND(flatTargets(targets, vocab).reshape([n, 1]), tf.ones([n], 'float32'), [n * vocab]).reshape([n, vocab]); // [N, V]
    }
    return tf.cast(tf.equal(targets.reshape([-1, 1]), tf.range(0, vocab, 1, 'int32').reshape([1, vocab])), 'float32');
  }) as tf.Tensor2D;
}

/**
 * Sum over rows of mask · (logsumexp(logits) − logits[target]). logits [N, V] float32,
 * targets [N] int32 in [0, V) (any valid id where mask is 0), mask [N] float32 of 0/1.
 */
const maskedCrossEntropySum = tf.customGrad(((logits: tf.Tensor2D, targets: tf.Tensor1D, mask: tf.Tensor1D, save: tf.GradSaveFunc) => {
  const vocab = logits.shape[1];
  const shifted = tf.sub(logits, tf.max(logits, -1, true)); // [N, V]
  const logSumExp = tf.log(tf.sum(tf.exp(shifted), -1)); // [N]
  const oneHot = targetMask(targets, vocab); // [N, V]
  const picked = tf.sum(tf.mul(shifted, oneHot), -1); // [N]
  const value = tf.sum(tf.mul(tf.sub(logSumExp, picked), mask)); // []
  save([shifted, logSumExp, targets, mask]);
  return {
    value,
    gradFunc: scopedGrad((dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [savedShifted, savedLse, savedTargets, savedMask] = saved;
      const probs = tf.exp(tf.sub(savedShifted, savedLse.expandDims(-1))); // [N, V] softmax
      const target = targetMask(savedTargets as tf.Tensor1D, vocab); // [N, V]
      const weight = tf.mul(savedMask, dy).expandDims(-1); // [N, 1]
      const dLogits = tf.mul(tf.sub(probs, target), weight); // [N, V]
      return [dLogits, tf.zerosLike(savedTargets), tf.zerosLike(savedMask)];
    }),
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (
  logits: tf.Tensor2D,
  targets: tf.Tensor1D,
  mask: tf.Tensor1D,
) => tf.Scalar;

/**
 * The same sum on wasm, where Exp is a scalar loop (~100 M floats/s, 42 ms for [1016, 4096]) and
 * Softmax is XNNPACK's vectorised kernel (~7 ms). With m the row maximum, the largest probability is
 * p_max = 1 / Σ exp(x − m), so logsumexp(x) − x_t = −log(p_max) − (x_t − m), and p_max ≥ 1/V never
 * underflows. The probabilities are kept for the backward pass, which then needs no exp at all.
 */
const softmaxCrossEntropySum = tf.customGrad(((logits: tf.Tensor2D, targets: tf.Tensor1D, mask: tf.Tensor1D, save: tf.GradSaveFunc) => {
  const probs = tf.softmax(logits, -1); // [N, V]
  const picked = tf.gather(logits.reshape([-1]), flatTargets(targets, logits.shape[1])); // [N] x_t
  const shiftedPicked = tf.sub(picked, tf.max(logits, -1)); // [N] x_t − m
  const rowLoss = tf.sub(tf.neg(tf.log(tf.max(probs, -1))), shiftedPicked); // [N]
  const value = tf.sum(tf.mul(rowLoss, mask)); // []
  save([probs, targets, mask]);
  return {
    value,
    gradFunc: scopedGrad((dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [savedProbs, savedTargets, savedMask] = saved;
      const target = targetMask(savedTargets as tf.Tensor1D, savedProbs.shape[1] as number); // [N, V]
      const weight = tf.mul(savedMask, dy).expandDims(-1); // [N, 1]
      const dLogits = tf.mul(tf.sub(savedProbs, target), weight); // [N, V]
      return [dLogits, tf.zerosLike(savedTargets), tf.zerosLike(savedMask)];
    }),
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as typeof maskedCrossEntropySum;

/** Shifted, masked targets for logits [B, T, V] and labels [B, T]: what the cross-entropy scores. */
function shiftedTargets(logits: tf.Tensor3D, labels: tf.Tensor2D): { flatLogits: tf.Tensor2D; targets: tf.Tensor1D; mask: tf.Tensor1D } {
  const [batch, time, vocab] = logits.shape;
  if (labels.shape[0] !== batch || labels.shape[1] !== time) {
    throw new Error(`causalLmLoss: labels are [${labels.shape}] but logits are [${logits.shape}]; they must agree on [batch, time]`);
  }
  const n = batch * (time - 1);
  const flatLogits = tf.slice(logits, [0, 0, 0], [batch, time - 1, vocab]).reshape([n, vocab]) as tf.Tensor2D; // [N, V]
  const nextLabels = tf.slice(labels, [0, 1], [batch, time - 1]).reshape([n]).cast('int32'); // [N]
  const scored = tf.notEqual(nextLabels, IGNORE_INDEX); // [N] bool
  const targets = tf.where(scored, nextLabels, tf.zerosLike(nextLabels)) as tf.Tensor1D; // [N]
  return { flatLogits, targets, mask: tf.cast(scored, 'float32') as tf.Tensor1D };
}

/**
 * Summed token cross-entropy over scored positions (labels ≠ −100 after the shift) as a scalar
 * that gradients flow through. Dividing by the scored-token count gives the mean loss; the step
 * divides by the count over all accumulated micro-batches instead (see step.ts).
 */
export function causalLmLossSum(logits: tf.Tensor3D, labels: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    if (logits.shape[1] < 2) return tf.scalar(0); // one position: nothing to predict
    const { flatLogits, targets, mask } = shiftedTargets(logits, labels);
    if (webgpuFastPaths()) return crossEntropySumWebgpu(flatLogits, targets, mask); // WGSL: 3 dispatches both ways
    return (fastPathsEnabled() ? softmaxCrossEntropySum : maskedCrossEntropySum)(flatLogits, targets, mask);
  });
}

/** Labels scored after the shift, counted on the host. Also checks that every label fits the vocabulary. */
export function countScoredLabels(labels: readonly (readonly number[])[], vocabSize?: number): number {
  let count = 0;
  labels.forEach((row, r) => {
    row.forEach((label, i) => {
      if (label === IGNORE_INDEX) return;
      if (!Number.isInteger(label) || label < 0 || (vocabSize !== undefined && label >= vocabSize)) {
        throw new Error(`causalLmLoss: label ${label} at row ${r}, position ${i} is not −100 or a token id below the vocabulary size ${vocabSize}`);
      }
      if (i > 0) count++;
    });
  });
  return count;
}

/**
 * Mean token cross-entropy (HF's loss for causal LMs) for host labels [B, T]. With no scored token the loss is 0
 * (torch would give NaN from 0/0; a batch like that teaches nothing either way).
 */
export function causalLmLoss(logits: tf.Tensor3D, labels: readonly (readonly number[])[]): { loss: tf.Scalar; tokenCount: number } {
  // Host labels only: counting tokens from a label tensor would need a synchronous read-back,
  // which misbehaves on WebGPU. Callers build labels on the host anyway (batch.ts).
  const tokenCount = countScoredLabels(labels, logits.shape[2]);
  const loss = tf.tidy(() => {
    const labelTensor = tf.tensor2d(labels as number[][], [labels.length, labels[0]?.length ?? 0], 'int32');
    return tf.div(causalLmLossSum(logits, labelTensor), Math.max(tokenCount, 1)) as tf.Scalar;
  });
  return { loss, tokenCount };
}
