// softmax(q·kᵀ·scale + maskBias)·v, forward and backward, as plain 2-D matmuls per (batch, key/value head).
// Why: tfjs-backend-wasm 4.22 runs batched matmuls ([B·h, T, hd] × [B·h, hd, S]) in a naive loop
// at 1.4–3 GFLOP/s; one [T, hd] × [hd, S] matmul per head goes to XNNPACK at ~15–25 GFLOP/s
// (measured, PLATFORM.md). Grouped-query heads are multiplied as one matrix per key/value head, so
// repeat_kv's Tile disappears too. The gradient is the textbook one (dS = P ⊙ (dP − rowsum(dP ⊙ P))),
// written with explicitly transposed operands so no matmul takes a transpose flag.
// Other backends use the plain tfjs composition below (attentionReference), as before.
// RoPE's half swap is here too: on wasm a product with a 0/1 permutation matrix (exact: each output
// is one input times 1 plus zeros) replaces a split and a concatenation of 16-float runs.
import * as tf from '@tensorflow/tfjs';
import { fastPathsEnabled, linearRows, scopedGrad } from './linear';

/**
 * The tfjs composition the fast path replaces: q [B, nh, T, hd], keys/values already repeated to
 * [B, nh, S, hd], maskBias [B, 1, T, S] or null. Returns the context [B, nh, T, hd].
 */
export function attentionReference(q: tf.Tensor4D, key: tf.Tensor4D, value: tf.Tensor4D, maskBias: tf.Tensor4D | null, scale: number): tf.Tensor4D {
  let scores = tf.mul(tf.matMul(q, key, false, true), scale); // [B, nh, T, S]
  if (maskBias) scores = tf.add(scores, maskBias); // [B, nh, T, S]
  return tf.matMul(tf.softmax(scores, -1), value) as tf.Tensor4D; // [B, nh, T, hd]
}

/** [G, r, c] → G matrices [r, c] (contiguous copies) */
function matrices(x: tf.Tensor, rows: number, cols: number): tf.Tensor2D[] {
  return tf.unstack(x.reshape([-1, rows, cols])) as tf.Tensor2D[];
}

/** [G, r, c] → G matrices [c, r]: one batched transpose, then the copies */
function transposedMatrices(x: tf.Tensor, rows: number, cols: number): tf.Tensor2D[] {
  return tf.unstack(tf.transpose(x.reshape([-1, rows, cols]), [0, 2, 1])) as tf.Tensor2D[];
}

/**
 * Scaled dot-product attention for q [B, nh, T, hd] over keys and values [B, nKv, S, hd]
 * (nh a multiple of nKv: query head h reads key/value head ⌊h / (nh/nKv)⌋), with an additive
 * maskBias [B, 1, T, S] or null. Returns the context [B, nh, T, hd]. Gradients flow to q, k, v.
 */
export function scaledDotAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, maskBias: tf.Tensor4D | null, scale: number): tf.Tensor4D {
  const [batch, heads, time, headDim] = q.shape;
  const [, kvHeads, keys] = k.shape;
  const rep = heads / kvHeads;
  if (!fastPathsEnabled()) return attentionReference(q, repeatHeads(k, rep), repeatHeads(v, rep), maskBias, scale);
  // The rep query heads that share key/value head j are adjacent in [B, nh, T, hd], so as
  // [B·nKv, rep·T, hd] each group is one matrix: one matmul per key/value head, and the products
  // that sum over the group's heads (dK, dV) sum inside the matmul.
  const rows = rep * time;
  const op = tf.customGrad(((qIn: tf.Tensor4D, kIn: tf.Tensor4D, vIn: tf.Tensor4D, save: tf.GradSaveFunc) => {
    const qs = matrices(qIn, rows, headDim); // B·nKv × [rep·T, hd]
    const kTs = transposedMatrices(kIn, keys, headDim); // B·nKv × [hd, S]
    let scores = tf.mul(tf.stack(qs.map((qg, g) => tf.matMul(qg, kTs[g]))).reshape([batch, heads, time, keys]), scale); // [B, nh, T, S]
    if (maskBias) scores = tf.add(scores, maskBias); // [B, nh, T, S]
    const probs = tf.softmax(scores, -1); // [B, nh, T, S]
    const vs = matrices(vIn, keys, headDim); // B·nKv × [S, hd]
    const context = tf.stack(matrices(probs, rows, keys).map((pg, g) => tf.matMul(pg, vs[g]))).reshape([batch, heads, time, headDim]); // [B, nh, T, hd]
    save([qIn, kIn, vIn, probs]);
    return {
      value: context,
      gradFunc: scopedGrad((dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, sk, sv, sp] = saved;
        const vTs = transposedMatrices(sv, keys, headDim); // B·nKv × [hd, S]
        const dProbs = tf.stack(matrices(dy, rows, headDim).map((dg, g) => tf.matMul(dg, vTs[g]))).reshape([batch, heads, time, keys]); // [B, nh, T, S]
        // dV = Pᵀ·dO is computed as (dOᵀ·P)ᵀ: transposing dO and the [hd, S] result moves fewer
        // values than transposing the [rep·T, S] probabilities; the same for dK = dSᵀ·q below
        const dOutT = transposedMatrices(dy, rows, headDim); // B·nKv × [hd, rep·T]
        const dVT = matrices(sp, rows, keys).map((pg, g) => tf.matMul(dOutT[g], pg)); // B·nKv × [hd, S]
        // softmax backward, then the scale: dS = P ⊙ (dP − Σ_s dP ⊙ P) · scale
        // (a one-kernel JS version measured 3.6 ms a call on small against ~1.4 ms for these four
        // XNNPACK kernels, Node, 2 cores: not worth the kernels it saves)
        const dScores = tf.mul(tf.mul(sp, tf.sub(dProbs, tf.sum(tf.mul(dProbs, sp), -1, true))), scale); // [B, nh, T, S]
        const dSs = matrices(dScores, rows, keys); // B·nKv × [rep·T, S]
        const ks = matrices(sk, keys, headDim); // B·nKv × [S, hd]
        const dQ = tf.stack(dSs.map((ds, g) => tf.matMul(ds, ks[g]))); // [B·nKv, rep·T, hd]
        const qTs = transposedMatrices(sq, rows, headDim); // B·nKv × [hd, rep·T]
        const dKT = dSs.map((ds, g) => tf.matMul(qTs[g], ds)); // B·nKv × [hd, S]
        const fromTransposed = (m: tf.Tensor[]) => tf.transpose(tf.stack(m), [0, 2, 1]); // [B·nKv, S, hd]
        return [dQ.reshape(q.shape), fromTransposed(dKT).reshape(k.shape), fromTransposed(dVT).reshape(v.shape)];
      }),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (op as unknown as (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.Tensor4D)(q, k, v);
}

/** repeat_kv: [B, nKv, S, hd] → [B, nKv·rep, S, hd], each key/value head serving `rep` query heads. */
export function repeatHeads(x: tf.Tensor4D, rep: number): tf.Tensor4D {
  if (rep === 1) return x;
  const [batch, kvHeads, time, headDim] = x.shape;
  // Rank-4 tile: tfjs 4.22 has no Tile gradient for rank 5, and tfjs-webgpu runs rank-5 tiles on
  // the CPU with a synchronous readback that breaks every later GPU readback.
  return tf
    .tile(x.reshape([batch * kvHeads, 1, time, headDim]), [1, rep, 1, 1]) // [B·nKv, rep, S, hd]
    .reshape([batch, kvHeads * rep, time, headDim]) as tf.Tensor4D; // [B, nh, S, hd]
}

/**
 * The [hd, hd] 0/1 permutation ([in, out]) whose product swaps the halves of a row: column j reads
 * entry (j + hd/2) mod hd. Made once per forward pass (attention.ts ropeTables), not per layer.
 */
export function halfSwapMatrix(headDim: number): tf.Tensor2D {
  const half = headDim / 2;
  const permutation = new Float32Array(headDim * headDim);
  for (let j = 0; j < headDim; j++) permutation[((j + half) % headDim) * headDim + j] = 1;
  return tf.tensor2d(permutation, [headDim, headDim]); // [hd, hd], [in, out]
}

/**
 * [x1, x2] → [x2, x1] along the last axis (hd even): the swap inside RoPE's rotate_half. With
 * `swap` (halfSwapMatrix, given where the fast paths are on) a product; otherwise a split and concat.
 */
export function swapHalves(x: tf.Tensor4D, swap: tf.Tensor2D | null): tf.Tensor4D {
  if (!swap) {
    const [x1, x2] = tf.split(x, 2, -1); // [B, h, T, hd/2] each
    return tf.concat([x2, x1], -1) as tf.Tensor4D; // [B, h, T, hd]
  }
  const headDim = x.shape[3];
  return linearRows(x.reshape([-1, headDim]) as tf.Tensor2D, swap, 'in-out').reshape(x.shape) as tf.Tensor4D; // [B, h, T, hd]
}
