// One optimizer update: forward and backward over one or more micro-batches, gradient clipping,
// a NaN/Inf check, AdamW. Mirrors one optimizer step of transformers' Trainer.
//
// Gradient accumulation: transformers ≥ 4.46 (the version behind the fixtures included) divides
// the summed token loss of every micro-batch by the number of scored tokens in ALL micro-batches
// of the step (num_items_in_batch), so every token weighs the same however the tokens fall into
// micro-batches; that is 'tokens', the default here. 'micro-batches' is the older rule (and the
// Trainer's rule for models that take no loss kwargs): each micro-batch's mean loss divided by the
// number of micro-batches. Both give the same gradient when every micro-batch scores as many tokens.
import * as tf from '@tensorflow/tfjs';
import { sequenceIdsOf, type Batch } from './batch';
import type { PackedPositions } from '../model/decoder';
import { causalLmLossSum } from './loss';
import { clipByGlobalNorm, clipCoefficient, globalNorm } from './clip';
import type { AdamW } from './optim/adamw';
import { stepStatsWebgpu, webgpuProgramsActive } from '../kernels/webgpu';

/**
 * Logits [B, T, V] for ids [B, T] and a 0/1 attention mask [B, T]: PeftModel.forward, or a plain
 * decoder. `packed` comes with batches of packed rows (positions restart per sequence, attention
 * stays inside each); a forward that ignores it would let packed sequences see each other.
 */
export type ForwardFn = (inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, packed?: PackedPositions) => tf.Tensor3D;

export type AccumulationAverage = 'tokens' | 'micro-batches';

export interface StepOptions {
  learningRate: number;
  /** clip the global gradient norm to this (HF's max_grad_norm, default 1.0); null = no clipping */
  maxGradNorm: number | null;
  accumulation?: AccumulationAverage;
}

export interface StepResult {
  /** mean token loss over the step's micro-batches, as HF reports it (NaN/Infinity when skipped for that) */
  loss: number;
  /** global gradient norm before clipping (HF's grad_norm) */
  gradNorm: number;
  /** true when loss, gradients or weights were not finite: weights and optimizer state were left untouched */
  skipped: boolean;
  /**
   * whether every trainable weight was finite when this step began, i.e. after the previous update
   * (read back with loss and norm; the Trainer rolls back when it is false)
   */
  weightsFinite: boolean;
  scoredTokens: number;
  realTokens: number;
}

/**
 * Host batch → tensors [B, T]: ids and mask int32, labels int32 (−100 kept), and for packed batches
 * positions and sequence ids. The caller disposes them.
 */
export function batchTensors(batch: Batch): { inputIds: tf.Tensor2D; attentionMask: tf.Tensor2D; labels: tf.Tensor2D; packed?: PackedPositions } {
  const tensors = {
    inputIds: tf.tensor2d(batch.inputIds, undefined, 'int32'),
    attentionMask: tf.tensor2d(batch.attentionMask, undefined, 'int32'),
    labels: tf.tensor2d(batch.labels, undefined, 'int32'),
  };
  if (!batch.positionIds) return tensors;
  const packed = {
    positionIds: tf.tensor2d(batch.positionIds, undefined, 'int32'), // [B, T]
    sequenceIds: tf.tensor2d(sequenceIdsOf(batch.positionIds), undefined, 'int32'), // [B, T]
  };
  return { ...tensors, packed };
}

/**
 * Loss and gradients of the trainable parameters, accumulated over `microBatches` with the
 * scaling described at the top. Returns tensors the caller disposes: `loss` [] and one gradient per
 * parameter that the loss depends on (a parameter the forward never uses gets none, as torch's None).
 */
export function computeGradients(
  forward: ForwardFn,
  params: Map<string, tf.Variable>,
  microBatches: readonly Batch[],
  accumulation: AccumulationAverage = 'tokens',
): { loss: tf.Scalar; grads: Map<string, tf.Tensor> } {
  if (microBatches.length === 0) throw new Error('computeGradients: no micro-batches given');
  if (params.size === 0) throw new Error('computeGradients: the model has no trainable parameters');
  const variables = [...params.values()];
  const nameOfVariable = new Map<string, string>();
  for (const [name, v] of params) {
    if (!v.trainable) throw new Error(`computeGradients: parameter "${name}" is a non-trainable tf.Variable; gradients skip it`);
    nameOfVariable.set(v.name, name);
  }
  const totalScored = microBatches.reduce((n, b) => n + b.scoredTokens, 0);
  const grads = new Map<string, tf.Tensor>();
  let loss: tf.Scalar | null = null;
  for (const batch of microBatches) {
    const divisor =
      accumulation === 'tokens' ? Math.max(totalScored, 1) : Math.max(batch.scoredTokens, 1) * microBatches.length;
    const { value, grads: batchGrads } = tf.variableGrads(() => {
      const { inputIds, attentionMask, labels, packed } = batchTensors(batch);
      const logits = forward(inputIds, attentionMask, packed); // [B, T, V]
      return tf.div(causalLmLossSum(logits, labels), divisor) as tf.Scalar;
    }, variables);
    if (loss === null) {
      loss = value; // the first micro-batch's: 0 + value would be value, one add later
    } else {
      const nextLoss = tf.add(loss, value) as tf.Scalar;
      loss.dispose();
      value.dispose();
      loss = nextLoss;
    }
    for (const [variableName, g] of Object.entries(batchGrads)) {
      const name = nameOfVariable.get(variableName)!;
      const previous = grads.get(name);
      if (previous) {
        grads.set(name, tf.add(previous, g));
        previous.dispose();
        g.dispose();
      } else {
        grads.set(name, g);
      }
    }
  }
  return { loss: loss!, grads };
}

/**
 * Σ(w·0) over every weight, [] : 0 exactly when all are finite and NaN otherwise (0·±Inf = NaN);
 * unlike Σw it cannot overflow. Call inside tf.tidy (or dispose the result).
 */
export function weightsFiniteProbe(params: Map<string, tf.Variable>): tf.Scalar {
  return tf.addN([...params.values()].map((w) => tf.sum(tf.mul(w, 0)))) as tf.Scalar; // []
}

/**
 * One optimizer update over `microBatches` (one entry without accumulation). Non-finite loss or
 * gradient norm skips the update entirely and reports it; nothing is left allocated either way.
 * Async because loss and norm are read back with `await data()` (dataSync misbehaves on WebGPU);
 * the caller must not start another update on the same parameters until this one resolves.
 */
export async function trainStep(
  forward: ForwardFn,
  params: Map<string, tf.Variable>,
  microBatches: readonly Batch[],
  optimizer: AdamW,
  options: StepOptions,
): Promise<StepResult> {
  const scoredTokens = microBatches.reduce((n, b) => n + b.scoredTokens, 0);
  const realTokens = microBatches.reduce((n, b) => n + b.realTokens, 0);
  const { loss, grads } = computeGradients(forward, params, microBatches, options.accumulation);
  try {
    // one read-back for all three numbers: each read waits for the backend (WebGPU: a few
    // programs for all three, kernels/webgpu/stats.ts; the weights check counts non-finite values)
    const onWebgpu = webgpuProgramsActive();
    const stats = onWebgpu
      ? stepStatsWebgpu(loss, grads.values(), params.values())
      : tf.tidy(() => tf.stack([loss, globalNorm(grads.values()), weightsFiniteProbe(params)]));
    let lossValue: number;
    let gradNorm: number;
    let weightsCheck: number;
    try {
      [lossValue, gradNorm, weightsCheck] = (await stats.data()) as Float32Array;
    } finally {
      stats.dispose();
    }
    const weightsFinite = weightsCheck === 0;
    const skipped = !Number.isFinite(lossValue) || !Number.isFinite(gradNorm) || !weightsFinite;
    if (!skipped) {
      if (options.maxGradNorm !== null && onWebgpu) {
        optimizer.apply(params, grads, options.learningRate, clipCoefficient(options.maxGradNorm, gradNorm)); // g·coef inside AdamW's program
      } else if (options.maxGradNorm !== null) {
        const clipped = clipByGlobalNorm(grads, options.maxGradNorm, gradNorm);
        try {
          optimizer.apply(params, clipped, options.learningRate);
        } finally {
          for (const g of clipped.values()) g.dispose();
        }
      } else {
        optimizer.apply(params, grads, options.learningRate);
      }
    }
    return { loss: lossValue, gradNorm, skipped, weightsFinite, scoredTokens, realTokens };
  } finally {
    loss.dispose();
    for (const g of grads.values()) g.dispose();
  }
}

/**
 * Mean token loss over `batches` without gradients (validation): Σ token losses / Σ scored tokens.
 * The per-batch sums are added on the backend and read back once at the end.
 */
export async function evaluateLoss(forward: ForwardFn, batches: readonly Batch[]): Promise<{ loss: number; scoredTokens: number }> {
  let scored = 0;
  let total: tf.Scalar = tf.scalar(0);
  try {
    for (const batch of batches) {
      const next = tf.tidy(() => {
        const { inputIds, attentionMask, labels, packed } = batchTensors(batch);
        return tf.add(total, causalLmLossSum(forward(inputIds, attentionMask, packed), labels)) as tf.Scalar;
      });
      total.dispose();
      total = next;
      scored += batch.scoredTokens;
    }
    const sum = ((await total.data()) as Float32Array)[0];
    return { loss: scored === 0 ? 0 : sum / scored, scoredTokens: scored };
  } finally {
    total.dispose();
  }
}
