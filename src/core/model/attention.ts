// Causal self-attention for both families, with a key/value cache and the PEFT hooks.
// GPT-2 follows transformers' GPT2Attention (one c_attn projection split into q, k, v);
// Llama/Qwen2 follow LlamaAttention (separate projections, RoPE in the rotate_half convention,
// grouped-query attention by repeating key/value heads as repeat_kv does).
import * as tf from '@tensorflow/tfjs';
import { linear, type BlockContext } from './blocks';
import { halfSwapMatrix, scaledDotAttention, swapHalves } from './ops/attention-core';
import { fastPathsEnabled } from './ops/linear';
import { attentionWebgpu, ropeWebgpu, webgpuFastPaths } from '../kernels/webgpu';

/** A large negative added to masked scores: exp() of it is 0 in float32, and it stays finite. */
export const MASKED = -1e9;

/** What every layer's attention shares in one forward pass. */
export interface AttentionInputs {
  /** additive mask [B, 1, T, S] (0 = attend, MASKED = not), or null when nothing is masked */
  maskBias: tf.Tensor4D | null;
  /** RoPE tables [B, 1, T, hd] for the current tokens; null for GPT-2 */
  rope: RopeTables | null;
}

/** The keys and values one layer attends over: the past plus the current tokens, before repeat_kv. */
export interface LayerKV {
  key: tf.Tensor4D; // [B, nKv, S, hd]
  value: tf.Tensor4D; // [B, nKv, S, hd]
}

/**
 * Additive attention mask [B, 1, T, S] for T new tokens after `pastLength` cached ones.
 * A key is visible when it is not in the future (causal) and its attentionMask entry is 1
 * (HF semantics: the mask covers past and current keys, so left and right padding both work).
 * With `sequenceIds` [B, T] (packed rows), a current token sees only current tokens of its own
 * sequence, plus every past key (a prefix) and tokens whose id is −1 (prompt tuning's soft tokens,
 * shared by every packed sequence): each sequence attends as if it ran alone.
 */
export function buildMaskBias(
  batch: number,
  pastLength: number,
  newTokens: number,
  attentionMask: tf.Tensor2D | undefined,
  sequenceIds?: tf.Tensor2D,
): tf.Tensor4D | null {
  const total = pastLength + newTokens;
  // One new token with nothing padded sees every key: no mask needed (the common decoding step).
  if (!attentionMask && !sequenceIds && newTokens === 1) return null;
  if (attentionMask && (attentionMask.shape[0] !== batch || attentionMask.shape[1] !== total)) {
    throw new Error(
      `Decoder.forward: attentionMask is [${attentionMask.shape}] but must be [${batch}, ${total}] ` +
        `(batch, past length ${pastLength} + new tokens ${newTokens})`,
    );
  }
  if (sequenceIds && (sequenceIds.shape[0] !== batch || sequenceIds.shape[1] !== newTokens)) {
    throw new Error(`Decoder.forward: sequenceIds is [${sequenceIds.shape}] but must be [${batch}, ${newTokens}] (one id per new token)`);
  }
  // Visibility as 0/1 floats multiplied together: the same values as boolean logicalAnd, which
  // broadcasts slowly on wasm (12.8 ms against 1.2 ms for a hone-tiny batch, measured).
  return tf.tidy(() => {
    const queryPositions = tf.range(pastLength, total, 1, 'int32').reshape([newTokens, 1]); // [T, 1]
    const keyPositions = tf.range(0, total, 1, 'int32').reshape([1, total]); // [1, S]
    let visible: tf.Tensor = tf.cast(tf.lessEqual(keyPositions, queryPositions), 'float32').reshape([1, 1, newTokens, total]); // [1, 1, T, S]
    if (attentionMask) {
      const notPadding = tf.cast(tf.notEqual(attentionMask, 0), 'float32').reshape([batch, 1, 1, total]); // [B, 1, 1, S]
      visible = tf.mul(visible, notPadding); // [B, 1, T, S]
    }
    if (sequenceIds) {
      const ids = tf.cast(sequenceIds, 'int32');
      const same = tf.cast(tf.equal(ids.reshape([batch, 1, newTokens, 1]), ids.reshape([batch, 1, 1, newTokens])), 'float32'); // [B, 1, T, T]
      const shared = tf.cast(tf.equal(ids, -1), 'float32').reshape([batch, 1, 1, newTokens]); // keys every sequence sees [B, 1, 1, T]
      const sameSequence = tf.maximum(same, shared); // [B, 1, T, T]
      const withPast = pastLength > 0 ? tf.concat([tf.ones([batch, 1, newTokens, pastLength]), sameSequence], 3) : sameSequence; // [B, 1, T, S]
      visible = tf.mul(visible, withPast); // [B, 1, T, S]
    }
    const bias = tf.mul(tf.sub(1, visible), MASKED); // [B|1, 1, T, S]
    return tf.broadcastTo(bias, [batch, 1, newTokens, total]) as tf.Tensor4D; // [B, 1, T, S]
  });
}

/** cos and sign-folded sin of the RoPE angles, [B, 1, T, hd] each (see applyRope). */
export interface RopeTables {
  cos: tf.Tensor4D;
  signedSin: tf.Tensor4D;
  /** the half-swap permutation [hd, hd] where the fast paths are on (swapHalves), else null */
  swap: tf.Tensor2D | null;
}

/** RoPE angle tables for `positionIds` [B, T]: angles position · θ^(−2i/hd), each half repeated. */
export function ropeTables(invFreq: tf.Tensor1D, positionIds: tf.Tensor2D): RopeTables {
  const tables = tf.tidy(() => {
    const [batch, time] = positionIds.shape;
    const freqs = tf.mul(tf.cast(positionIds, 'float32').reshape([batch, 1, time, 1]), invFreq); // [B, 1, T, hd/2]
    const sin = tf.sin(freqs); // [B, 1, T, hd/2]
    return {
      cos: tf.cos(tf.concat([freqs, freqs], -1)) as tf.Tensor4D, // [B, 1, T, hd]
      signedSin: tf.concat([tf.neg(sin), sin], -1) as tf.Tensor4D, // [B, 1, T, hd]
    };
  });
  return { ...tables, swap: fastPathsEnabled() ? halfSwapMatrix(2 * invFreq.shape[0]) : null }; // swap [hd, hd] | null
}


/**
 * HF's apply_rotary_pos_emb: x·cos + rotate_half(x)·sin with rotate_half([x1, x2]) = [−x2, x1].
 * The minus sign is folded into the table once per forward (signedSin = [−sin, sin]), so each
 * layer only swaps the halves: [x2, x1]·signedSin = [−x2·sin, x1·sin], the same numbers.
 */
function applyRope(x: tf.Tensor4D, rope: RopeTables): tf.Tensor4D {
  if (webgpuFastPaths()) return ropeWebgpu(x, rope.cos, rope.signedSin); // WGSL, 1 dispatch each way
  const swapped = swapHalves(x, rope.swap); // [B, h, T, hd]
  return tf.add(tf.mul(x, rope.cos), tf.mul(swapped, rope.signedSin)) as tf.Tensor4D; // [B, h, T, hd]
}

/** token rows [B·T, h·hd] → heads [B, h, T, hd] (one token: the transpose is only a reshape) */
function splitHeads(x: tf.Tensor, batch: number, time: number, heads: number, headDim: number): tf.Tensor4D {
  if (time === 1) return x.reshape([batch, heads, 1, headDim]);
  return x.reshape([batch, time, heads, headDim]).transpose([0, 2, 1, 3]) as tf.Tensor4D;
}

/** heads [B, h, T, hd] → token rows [B·T, h·hd] */
function mergeHeads(x: tf.Tensor4D): tf.Tensor2D {
  const [batch, heads, time, headDim] = x.shape;
  const tokensFirst = time === 1 ? x : x.transpose([0, 2, 1, 3]); // [B, T, h, hd]
  return tokensFirst.reshape([batch * time, heads * headDim]);
}

/**
 * One attention layer on token rows x [B·T, d]. `past` holds earlier keys/values (from the cache
 * or a prefix-tuning hook); returns the output [B·T, d] and this layer's keys/values including
 * the current tokens.
 */
export function attention(
  ctx: BlockContext,
  layer: number,
  x: tf.Tensor2D,
  inputs: AttentionInputs,
  past: LayerKV | null,
): { out: tf.Tensor2D; kv: LayerKV } {
  const { numHeads, numKvHeads, headDim, family } = ctx.config;
  const { batch, time } = ctx;
  let q: tf.Tensor4D;
  let k: tf.Tensor4D;
  let v: tf.Tensor4D;
  let outName: string;
  if (family === 'gpt2') {
    const prefix = `transformer.h.${layer}.attn`;
    const qkv = linear(ctx, `${prefix}.c_attn`, x, 'in-out', true); // [N, 3d]
    const [qx, kx, vx] = tf.split(qkv, 3, -1); // [N, d] each
    q = splitHeads(qx, batch, time, numHeads, headDim); // [B, nh, T, hd]
    k = splitHeads(kx, batch, time, numKvHeads, headDim); // [B, nh, T, hd]
    v = splitHeads(vx, batch, time, numKvHeads, headDim); // [B, nh, T, hd]
    outName = `${prefix}.c_proj`;
  } else {
    const prefix = `model.layers.${layer}.self_attn`;
    const bias = ctx.config.qkvBias;
    q = splitHeads(linear(ctx, `${prefix}.q_proj`, x, 'out-in', bias), batch, time, numHeads, headDim); // [B, nh, T, hd]
    k = splitHeads(linear(ctx, `${prefix}.k_proj`, x, 'out-in', bias), batch, time, numKvHeads, headDim); // [B, nKv, T, hd]
    v = splitHeads(linear(ctx, `${prefix}.v_proj`, x, 'out-in', bias), batch, time, numKvHeads, headDim); // [B, nKv, T, hd]
    outName = `${prefix}.o_proj`;
  }
  if (inputs.rope) {
    q = applyRope(q, inputs.rope); // [B, nh, T, hd]
    k = applyRope(k, inputs.rope); // [B, nKv, T, hd]
  }
  // Cached keys are stored after RoPE, so each token is rotated once, at its own position.
  const key = past ? (tf.concat([past.key, k], 2) as tf.Tensor4D) : k; // [B, nKv, S, hd]
  const value = past ? (tf.concat([past.value, v], 2) as tf.Tensor4D) : v; // [B, nKv, S, hd]

  // softmax(q·kᵀ/√hd + mask)·v with grouped-query heads; on wasm plain 2-D matmuls per key/value head
  // (WGSL on webgpu: 2 dispatches forward, 4 backward, the context written as token rows directly)
  const scale = 1 / Math.sqrt(headDim);
  const context = webgpuFastPaths()
    ? (attentionWebgpu(q, key, value, inputs.maskBias, scale, 'rows') as tf.Tensor2D) // [N, nh·hd]
    : mergeHeads(scaledDotAttention(q, key, value, inputs.maskBias, scale)); // [N, nh·hd]
  const out = linear(ctx, outName, context, family === 'gpt2' ? 'in-out' : 'out-in', ctx.config.outBias) as tf.Tensor2D; // [N, d]
  return { out, kv: { key, value } };
}
