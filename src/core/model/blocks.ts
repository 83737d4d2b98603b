// The decoder's building blocks: linear layers, norms, activations, feed-forward, embeddings.
// Each follows the transformers module of the same name (modeling_gpt2.py, modeling_llama.py)
// closely enough to match its float32 logits to 1e-4.
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from './config';
import type { DecoderHooks } from './decoder';
import { fusedEnabled, rmsNormFused, swiGluFused } from './ops/fused';
import { linearRows, scopedGrad, type WeightLayout } from './ops/linear';
import { rmsNormWebgpu, swiGluWebgpu, webgpuFastPaths } from '../kernels/webgpu';

/** What a block needs from the decoder: its weights by canonical name, its config, its hooks. */
export interface BlockContext {
  config: ModelConfig;
  param(name: string): tf.Tensor;
  hooks: DecoderHooks | null;
  /** the token grid of this forward pass: activations between blocks are [batch·time, d] */
  batch: number;
  time: number;
}

/**
 * A linear layer named by its canonical weight prefix, on token rows x [N, in] (N = batch·time).
 * GPT-2's Conv1D stores the weight as [in, out] ('in-out'); nn.Linear stores [out, in] ('out-in').
 * The checkpoint's tensors keep their layout and are held once; ops/linear.ts multiplies them
 * without transpose flags on wasm. Rows stay 2-D because wasm's matMul only takes its fast
 * XNNPACK path for a batch of one matrix. `hooks.linear` (LoRA, IA³) sees x as [B, T, in], as in transformers.
 */
export function linear(ctx: BlockContext, name: string, x: tf.Tensor, layout: WeightLayout, hasBias: boolean): tf.Tensor {
  const base = (input: tf.Tensor): tf.Tensor => {
    const weight = ctx.param(`${name}.weight`) as tf.Tensor2D; // [in, out] | [out, in]
    const inDim = input.shape[input.rank - 1] as number;
    const outDim = layout === 'out-in' ? weight.shape[0] : weight.shape[1];
    const rows = input.rank === 2 ? (input as tf.Tensor2D) : (input.reshape([-1, inDim]) as tf.Tensor2D); // [N, in]
    const y = linearRows(rows, weight, layout, hasBias ? (ctx.param(`${name}.bias`) as tf.Tensor1D) : null); // [N, out]
    return input.rank === 2 ? y : y.reshape([...input.shape.slice(0, -1), outDim]); // [..., out]
  };
  if (!ctx.hooks?.linear) return base(x);
  const hooked = ctx.hooks.linear(name, x.reshape([ctx.batch, ctx.time, -1]), base); // [B, T, out]
  return hooked.reshape([ctx.batch * ctx.time, -1]); // [N, out]
}

/** nn.LayerNorm over the last axis (biased variance, as torch). */
export function layerNorm(ctx: BlockContext, name: string, x: tf.Tensor2D): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true); // [N, 1] each
  const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, ctx.config.normEps))); // [N, d]
  return tf.add(tf.mul(normed, ctx.param(`${name}.weight`)), ctx.param(`${name}.bias`)) as tf.Tensor2D; // [N, d]
}

/** LlamaRMSNorm: x * rsqrt(mean(x²) + eps) * w, no mean subtraction and no bias. */
export function rmsNorm(ctx: BlockContext, name: string, x: tf.Tensor2D): tf.Tensor2D {
  const weight = ctx.param(`${name}.weight`) as tf.Tensor1D; // [d]
  // wasm: one kernel each way (ops/fused.ts), the gradient written out
  if (fusedEnabled('HoneRmsNorm')) return rmsNormFused(x, weight, ctx.config.normEps);
  if (webgpuFastPaths()) return rmsNormWebgpu(x, weight, ctx.config.normEps); // WGSL, 1 dispatch each way (frozen weight)
  const meanSquare = tf.mean(tf.square(x), -1, true); // [N, 1]
  const normed = tf.mul(x, tf.rsqrt(tf.add(meanSquare, ctx.config.normEps))); // [N, d]
  return tf.mul(normed, weight) as tf.Tensor2D; // [N, d]
}

type Activation = (x: tf.Tensor) => tf.Tensor;

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** transformers' ACT2FN names that Hone supports. */
const ACTIVATIONS: Record<string, Activation> = {
  // NewGELUActivation: the tanh approximation GPT-2 was trained with
  gelu_new: geluTanh,
  gelu_pytorch_tanh: geluTanh,
  gelu_fast: geluTanh,
  // exact GELU: 0.5·x·(1 + erf(x/√2))
  gelu: (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))),
  silu: (x) => tf.mul(x, tf.sigmoid(x)),
  swish: (x) => tf.mul(x, tf.sigmoid(x)),
  relu: (x) => tf.relu(x),
};

/** 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), composed. */
function geluTanhComposed(x: tf.Tensor): tf.Tensor {
  const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), SQRT_2_OVER_PI);
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(inner)));
}

/**
 * The tanh GELU with its derivative written out, saving only its input: autograd of the
 * composition keeps ~8 full-size intermediates per call for the backward (GPT-2 small, 1 × 256:
 * 16 [256, 3072] tensors per layer, docs/PERFORMANCE.md). Same forward ops, so the same values;
 * d/dx = 0.5·(1 + t) + 0.5·x·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²) with t the tanh.
 */
function geluTanh(x: tf.Tensor): tf.Tensor {
  return geluTanhOp(x);
}

const geluTanhOp = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  return {
    value: geluTanhComposed(x),
    gradFunc: scopedGrad((dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx] = saved;
      const square = tf.square(sx);
      const t = tf.tanh(tf.mul(tf.add(sx, tf.mul(tf.mul(square, sx), 0.044715)), SQRT_2_OVER_PI));
      const slope = tf.mul(tf.mul(tf.mul(sx, tf.sub(1, tf.square(t))), tf.add(1, tf.mul(square, 3 * 0.044715))), 0.5 * SQRT_2_OVER_PI);
      return [tf.mul(dy, tf.add(tf.mul(tf.add(1, t), 0.5), slope))];
    }),
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as Activation;

export function activationFor(name: string): Activation {
  // own properties only: "constructor" or "toString" must not find Object.prototype's functions
  const fn = Object.hasOwn(ACTIVATIONS, name) ? ACTIVATIONS[name] : undefined;
  if (!fn) {
    throw new Error(
      `config.json: activation "${name}" is not supported (supported: ${Object.keys(ACTIVATIONS).join(', ')}); ` +
        'check activation_function (gpt2) or hidden_act (llama)',
    );
  }
  return fn;
}

/** GPT2MLP: c_proj(act(c_fc(x))). */
export function gpt2Mlp(ctx: BlockContext, prefix: string, x: tf.Tensor2D): tf.Tensor2D {
  const act = activationFor(ctx.config.activation);
  const hidden = act(linear(ctx, `${prefix}.c_fc`, x, 'in-out', true)); // [N, f]
  return linear(ctx, `${prefix}.c_proj`, hidden, 'in-out', true) as tf.Tensor2D; // [N, d]
}

/** LlamaMLP (SwiGLU): down(act(gate(x)) * up(x)). */
export function llamaMlp(ctx: BlockContext, prefix: string, x: tf.Tensor2D): tf.Tensor2D {
  const act = activationFor(ctx.config.activation);
  const bias = ctx.config.mlpBias;
  const gateRaw = linear(ctx, `${prefix}.gate_proj`, x, 'out-in', bias); // [N, f]
  const up = linear(ctx, `${prefix}.up_proj`, x, 'out-in', bias); // [N, f]
  // silu(gate)·up with a one-kernel backward on wasm (ops/fused.ts); other activations as composed
  const silu = ctx.config.activation === 'silu' || ctx.config.activation === 'swish';
  if (silu && webgpuFastPaths()) return linear(ctx, `${prefix}.down_proj`, swiGluWebgpu(gateRaw, up), 'out-in', bias) as tf.Tensor2D; // WGSL, [N, d]
  const hidden = silu && fusedEnabled('HoneSwiGluGrad') ? swiGluFused(gateRaw, up) : tf.mul(act(gateRaw), up); // [N, f]
  return linear(ctx, `${prefix}.down_proj`, hidden, 'out-in', bias) as tf.Tensor2D; // [N, d]
}

/**
 * Row lookup in an embedding table. The gradient is written as a scatter-add because the wasm
 * backend lacks UnsortedSegmentSum, the kernel behind tf.gather's own gradient (PLATFORM.md §2).
 */
export function embed(table: tf.Tensor, ids: tf.Tensor): tf.Tensor {
  const lookup = tf.customGrad(((t: tf.Tensor, i: tf.Tensor, save: tf.GradSaveFunc) => {
    const rows = tf.gather(t as tf.Tensor2D, i.cast('int32')); // [..., d]
    save([i]);
    return {
      value: rows,
      gradFunc: scopedGrad((dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [savedIds] = saved;
        const d = t.shape[1] as number;
        const flatIds = savedIds.cast('int32').reshape([-1, 1]); // [N, 1]
        const dTable = tf.scatterND(flatIds, (dy as tf.Tensor).reshape([-1, d]), t.shape); // [V, d], duplicates summed
        return [dTable, tf.zeros(savedIds.shape)]; // ids get no gradient
      }),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return lookup(table, ids);
}
