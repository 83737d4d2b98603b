// The decoder: GPT-2 and Llama/Qwen2 causal language models in plain tfjs ops.
// Laid out like nanoGPT's model.py; numerics follow transformers' modeling_gpt2.py and
// modeling_llama.py (float32 logits agree to 1e-4 on the tests/fixtures/hf checkpoints).
// Weights keep their checkpoint names and layouts, so loading is a lookup and saving is a copy.
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from './config';
import type { HostTensor } from './safetensors';
import { expectedWeights } from './weight-names';
import { embed, gpt2Mlp, layerNorm, llamaMlp, rmsNorm, type BlockContext } from './blocks';
import { linearRows, withTransientPacking } from './ops/linear';
import { attention, buildMaskBias, ropeTables, type AttentionInputs, type LayerKV } from './attention';
import { checkpointed, tapeRecording, type CheckpointOptions } from './ops/recompute';
import { ropeInverseFrequenciesFor } from './rope';

export interface ForwardOptions {
  /** [B, Tpast + T]: 1 = attend, 0 = padding; covers past and current tokens (HF semantics) */
  attentionMask?: tf.Tensor2D;
  /** past keys/values; an empty `new KVCache()` starts one. forward then returns the extended cache */
  cache?: KVCache;
  /** [B, T] int32; default past length + arange(T) (past = cache or prefix-tuning keys) */
  positionIds?: tf.Tensor2D;
  /** [B, T, d] used instead of looking up inputIds (prompt tuning prepends soft tokens this way) */
  inputsEmbeds?: tf.Tensor3D;
  /**
   * [B, T] int32, packed rows: which packed sequence each token belongs to. Attention never crosses
   * from one sequence to another (past keys and tokens with id −1 are visible to all); give
   * positionIds restarting per sequence with it. See buildMaskBias.
   */
  sequenceIds?: tf.Tensor2D;
  /**
   * Gradient checkpointing (transformers' gradient_checkpointing=True): under a gradient tape each
   * block keeps only its inputs and is recomputed in the backward, trading one more forward for
   * the activations. Ignored without a tape and when a cache is passed. Gradients reach the block
   * inputs and trainable tf.Variables (what variableGrads and the trainer differentiate), as HF's
   * checkpointing reaches parameters.
   */
  checkpoint?: CheckpointOptions;
}

/** Packed rows: positions restarting per packed sequence and each token's sequence (ForwardOptions). */
export interface PackedPositions {
  positionIds: tf.Tensor2D; // [B, T] int32
  sequenceIds: tf.Tensor2D; // [B, T] int32
}

export interface ForwardResult {
  logits: tf.Tensor3D; // [B, T, V]
  /** the cache extended by this call's tokens; only when a cache was passed in. The passed-in cache stays the caller's */
  cache?: KVCache;
}

/** Where PEFT methods plug in. Every hook is optional; with none the model is the base model. */
export interface DecoderHooks {
  /** wraps a linear layer; `name` is its canonical weight prefix ('model.layers.0.self_attn.q_proj', 'transformer.h.0.attn.c_attn', 'lm_head') */
  linear?(name: string, x: tf.Tensor, base: (x: tf.Tensor) => tf.Tensor): tf.Tensor;
  /** prefix tuning: keys/values [B, nKv, P, hd] prepended on a pass without a cache; the caller's attentionMask covers them */
  pastKeyValues?(layer: number, batch: number): { key: tf.Tensor4D; value: tf.Tensor4D } | null;
  /** on the attention output before the residual add (Houlsby adapter) */
  afterAttention?(layer: number, h: tf.Tensor3D): tf.Tensor3D;
  /** on the feed-forward output before the residual add (Houlsby/Pfeiffer adapters) */
  afterMlp?(layer: number, h: tf.Tensor3D): tf.Tensor3D;
}

/** Keys and values of earlier tokens, per layer [B, nKv, Tpast, hd], stored after RoPE. */
export class KVCache {
  constructor(readonly layers: readonly LayerKV[] = []) {}

  /** number of cached positions (0 for a fresh cache) */
  get length(): number {
    return this.layers.length === 0 ? 0 : this.layers[0].key.shape[2];
  }

  dispose(): void {
    for (const { key, value } of this.layers) {
      key.dispose();
      value.dispose();
    }
  }
}

export class Decoder {
  readonly params: Map<string, tf.Tensor>;
  hooks: DecoderHooks | null = null;
  private readonly invFreq: tf.Tensor1D | null;
  /** per layer, the names of the block's own weights (blockSignature) */
  private blockWeightNames: string[][] | null = null;

  /** Takes ownership of `weights` (disposed by dispose()). Names and shapes are checked here. */
  constructor(
    readonly config: ModelConfig,
    weights: Map<string, tf.Tensor>,
  ) {
    checkWeights(config, weights);
    this.params = weights;
    this.invFreq = config.family === 'llama' ? tf.tensor1d(ropeInverseFrequenciesFor(config)) : null;
  }

  /**
   * Replaces a weight (e.g. with a tf.Variable for full fine-tuning) and returns the previous
   * tensor, which the caller now owns. Checks the shape, which params.set does not.
   */
  setParam(name: string, tensor: tf.Tensor): tf.Tensor {
    const previous = this.param(name);
    const expected = previous.shape;
    if (tensor.shape.length !== expected.length || tensor.shape.some((n, i) => n !== expected[i])) {
      throw new Error(`Decoder.setParam: "${name}" must keep shape [${expected}], got [${tensor.shape}]`);
    }
    this.params.set(name, tensor);
    return previous;
  }

  /**
   * Builds the model from host arrays (a loaded checkpoint, randomWeights); copies them into tensors.
   * Takes any iterable of entries: a generator (randomWeightEntries) lets each host array go as
   * soon as its tensor exists, so a large model is never held twice on the host.
   */
  static fromHost(config: ModelConfig, weights: Iterable<[string, HostTensor]>): Decoder {
    const tensors = new Map<string, tf.Tensor>();
    try {
      for (const [name, { shape, data }] of weights) tensors.set(name, tf.tensor(data, shape, 'float32'));
    } catch (error) {
      for (const tensor of tensors.values()) tensor.dispose();
      throw error;
    }
    try {
      return new Decoder(config, tensors);
    } catch (error) {
      for (const tensor of tensors.values()) tensor.dispose(); // nobody else holds them
      throw error;
    }
  }

  /** The token embedding table's canonical name ([V, d]). */
  get embeddingName(): string {
    return this.config.family === 'gpt2' ? 'transformer.wte.weight' : 'model.embed_tokens.weight';
  }

  /** Token embeddings [B, T, d] for ids [B, T] (no positions added): what inputsEmbeds replaces. */
  embedTokens(inputIds: tf.Tensor2D): tf.Tensor3D {
    return embed(this.param(this.embeddingName), inputIds) as tf.Tensor3D;
  }

  /** Logits for `inputIds` [B, T] (int32). Everything intermediate is disposed; the caller disposes the result. */
  forward(inputIds: tf.Tensor2D | null, opts: ForwardOptions = {}): ForwardResult {
    const { config } = this;
    const isGpt2 = config.family === 'gpt2';
    const result = tf.tidy(() => {
      let embeddings: tf.Tensor3D; // [B, T, d]
      if (opts.inputsEmbeds) embeddings = opts.inputsEmbeds;
      else if (inputIds) embeddings = this.embedTokens(inputIds);
      else throw new Error('Decoder.forward: give inputIds or opts.inputsEmbeds');
      const [batch, time, d] = embeddings.shape;

      const past = this.pastFor(batch, opts.cache);
      const pastLength = past[0]?.key.shape[2] ?? 0;
      if (isGpt2 && !opts.positionIds && pastLength + time > config.maxPositions) {
        throw new Error(
          `Decoder.forward: GPT-2 has learned positions for ${config.maxPositions} tokens (n_positions) but this call ` +
            `reaches ${pastLength + time} (past ${pastLength} + ${time} new); use a shorter input`,
        );
      }
      const positionIds =
        opts.positionIds ??
        (tf.broadcastTo(tf.range(pastLength, pastLength + time, 1, 'int32').reshape([1, time]), [batch, time]) as tf.Tensor2D); // [B, T]
      if (isGpt2) embeddings = tf.add(embeddings, embed(this.param('transformer.wpe.weight'), positionIds)) as tf.Tensor3D; // [B, T, d]

      const inputs: AttentionInputs = {
        maskBias: buildMaskBias(batch, pastLength, time, opts.attentionMask, opts.sequenceIds), // [B, 1, T, S] | null
        rope: this.invFreq ? ropeTables(this.invFreq, positionIds) : null, // [B, 1, T, hd] each
      };
      // Recompute each block in the backward (only while a tape records, and not when building a cache)
      const checkpoint = opts.checkpoint && !opts.cache && tapeRecording() ? opts.checkpoint : null;
      const ctx = this.context(batch, time, checkpoint !== null);
      // Between blocks the residual stream is token rows [N, d], N = B·T (see linear in blocks.ts).
      let x = embeddings.reshape([batch * time, d]) as tf.Tensor2D; // [N, d]
      const kv: LayerKV[] = [];
      for (let layer = 0; layer < config.numLayers; layer++) {
        if (checkpoint) {
          x = this.checkpointedBlock(ctx, layer, x, inputs, past[layer] ?? null, checkpoint);
          continue;
        }
        const out = this.block(ctx, layer, x, inputs, past[layer] ?? null);
        kv.push(out.kv);
        x = out.x;
      }
      x = this.norm(ctx, isGpt2 ? 'transformer.ln_f' : 'model.norm', x); // [N, d]
      // checkpointing is the memory-lean mode: the head's frozen weight is not left packed either
      const logits = checkpoint ? withTransientPacking(() => this.lmHead(ctx, x)) : this.lmHead(ctx, x); // [B, T, V]
      // tidy keeps every tensor in the returned object; the cache's keys/values only when asked for
      return (opts.cache ? { logits, kv } : { logits, kv: [] }) as unknown as tf.TensorContainer;
    }) as unknown as { logits: tf.Tensor3D; kv: LayerKV[] };
    return opts.cache ? { logits: result.logits, cache: new KVCache(result.kv) } : { logits: result.logits };
  }

  dispose(): void {
    for (const tensor of this.params.values()) tensor.dispose();
    this.params.clear();
    this.invFreq?.dispose();
  }

  /** Past keys/values per layer: the cache's, or on a fresh pass whatever a prefix-tuning hook provides. */
  private pastFor(batch: number, cache: KVCache | undefined): (LayerKV | null)[] {
    if (cache && cache.length > 0) {
      if (cache.layers.length !== this.config.numLayers) {
        throw new Error(`Decoder.forward: the cache has ${cache.layers.length} layers but the model has ${this.config.numLayers}`);
      }
      return [...cache.layers];
    }
    const hook = this.hooks?.pastKeyValues;
    if (!hook) return [];
    const past = Array.from({ length: this.config.numLayers }, (_, layer) => hook.call(this.hooks, layer, batch));
    const lengths = new Set(past.map((kv) => kv?.key.shape[2] ?? 0));
    if (lengths.size > 1) throw new Error(`Decoder.forward: pastKeyValues hook gave different prefix lengths per layer (${[...lengths]})`);
    return past.every((kv) => kv === null) ? [] : past;
  }

  private get headWeightName(): string {
    return this.config.tieWordEmbeddings ? this.embeddingName : 'lm_head.weight';
  }

  /** The output projection: x · Wᵀ with W [V, d], lm_head or the token embedding table when tied. */
  private lmHead(ctx: BlockContext, x: tf.Tensor2D): tf.Tensor3D {
    const base = (input: tf.Tensor): tf.Tensor => {
      const d = input.shape[input.rank - 1] as number;
      const weight = this.param(this.headWeightName) as tf.Tensor2D; // [V, d]
      return linearRows(input.reshape([-1, d]), weight, 'out-in').reshape([ctx.batch, ctx.time, -1]); // [B, T, V]
    };
    if (!this.hooks?.linear) return base(x) as tf.Tensor3D;
    return this.hooks.linear('lm_head', x.reshape([ctx.batch, ctx.time, -1]), base).reshape([ctx.batch, ctx.time, -1]) as tf.Tensor3D;
  }

  private norm(ctx: BlockContext, name: string, x: tf.Tensor2D): tf.Tensor2D {
    return this.config.family === 'gpt2' ? layerNorm(ctx, name, x) : rmsNorm(ctx, name, x);
  }

  /**
   * One decoder block on the residual stream x [N, d]: attention and feed-forward with their norms,
   * residual adds and hooks. Returns the new stream and this layer's keys/values.
   */
  private block(ctx: BlockContext, layer: number, x: tf.Tensor2D, inputs: AttentionInputs, past: LayerKV | null): { x: tf.Tensor2D; kv: LayerKV } {
    const { config } = this;
    const { batch, time } = ctx;
    const d = config.hiddenSize;
    const hooks = ctx.hooks;
    // hooks that look at block outputs get them as [B, T, d]
    const asGrid = (rows: tf.Tensor2D) => rows.reshape([batch, time, d]) as tf.Tensor3D;
    const asRows = (grid: tf.Tensor3D) => grid.reshape([batch * time, d]) as tf.Tensor2D;
    const names = blockNames(config, layer);
    const attn = attention(ctx, layer, this.norm(ctx, names.norm1, x), inputs, past); // out [N, d]
    const attnOut = hooks?.afterAttention ? asRows(hooks.afterAttention(layer, asGrid(attn.out))) : attn.out; // [N, d]
    const mid = tf.add(x, attnOut) as tf.Tensor2D; // [N, d]
    const h = this.norm(ctx, names.norm2, mid); // [N, d]
    const mlpOut = config.family === 'gpt2' ? gpt2Mlp(ctx, names.mlp, h) : llamaMlp(ctx, names.mlp, h); // [N, d]
    const out = tf.add(mid, hooks?.afterMlp ? asRows(hooks.afterMlp(layer, asGrid(mlpOut))) : mlpOut) as tf.Tensor2D; // [N, d]
    return { x: out, kv: attn.kv };
  }

  /**
   * The block as one custom gradient that keeps only its inputs and recomputes the rest in the
   * backward (ops/recompute.ts). Differentiable inputs: x and the prefix keys/values; constants:
   * the mask and the RoPE tables; the trainable variables it reads are found by a cached probe.
   */
  private checkpointedBlock(
    ctx: BlockContext,
    layer: number,
    x: tf.Tensor2D,
    inputs: AttentionInputs,
    past: LayerKV | null,
    options: CheckpointOptions,
  ): tf.Tensor2D {
    const { maskBias, rope } = inputs;
    return checkpointed({
      fn: ([xIn, key, value], [mask, cos, signedSin, swap]) => {
        const blockInputs: AttentionInputs = {
          maskBias: mask as tf.Tensor4D | null,
          rope: cos ? { cos: cos as tf.Tensor4D, signedSin: signedSin as tf.Tensor4D, swap: swap as tf.Tensor2D | null } : null,
        };
        const blockPast = key ? { key: key as tf.Tensor4D, value: value as tf.Tensor4D } : null;
        // frozen weights are multiplied without leaving XNNPACK's packed copies behind (ops/linear.ts)
        return withTransientPacking(() => this.block(ctx, layer, xIn as tf.Tensor2D, blockInputs, blockPast).x);
      },
      differentiable: past ? [x, past.key, past.value] : [x],
      constants: [maskBias, rope?.cos ?? null, rope?.signedSin ?? null, rope?.swap ?? null],
      key: options.key ?? this,
      id: String(layer),
      signature: this.blockSignature(ctx, layer),
      random: options.random,
    }) as tf.Tensor2D;
  }

  /** What decides the variables block `layer` reads: which hooks are installed and which tensors hold its weights. */
  private blockSignature(ctx: BlockContext, layer: number): string {
    this.blockWeightNames ??= blockWeightNames(this.config);
    const hooks = ctx.hooks ? Object.keys(ctx.hooks).filter((k) => typeof (ctx.hooks as Record<string, unknown>)[k] === 'function') : [];
    const ids = this.blockWeightNames[layer].map((name) => ctx.param(name).id);
    return `${hooks.sort().join(',')}|${ids.join(',')}`;
  }

  /**
   * What the blocks see of the decoder for one forward. With `frozen` the weights are a snapshot
   * taken now: a checkpointed block is recomputed in the backward, after PeftModel.withAdapter has
   * put the decoder's own weights back, and must read the ones its forward read.
   */
  private context(batch: number, time: number, frozen = false): BlockContext {
    const params = frozen ? new Map(this.params) : null;
    return {
      batch,
      time,
      config: this.config,
      param: params ? (name) => params.get(name) ?? this.param(name) : (name) => this.param(name),
      hooks: this.hooks,
    };
  }

  private param(name: string): tf.Tensor {
    const tensor = this.params.get(name);
    if (!tensor) {
      throw new Error(`Decoder: weight "${name}" is missing (model_type ${this.config.modelType}); the checkpoint does not fit its config.json`);
    }
    return tensor;
  }
}

/** Per layer, the expected weights whose names start with the block's prefix. */
function blockWeightNames(config: ModelConfig): string[][] {
  const names = [...expectedWeights(config).keys()];
  return Array.from({ length: config.numLayers }, (_, layer) => {
    const prefix = config.family === 'gpt2' ? `transformer.h.${layer}.` : `model.layers.${layer}.`;
    return names.filter((name) => name.startsWith(prefix));
  });
}

/** Canonical names of a block's norms and feed-forward. */
function blockNames(config: ModelConfig, layer: number): { norm1: string; norm2: string; mlp: string } {
  if (config.family === 'gpt2') {
    const p = `transformer.h.${layer}`;
    return { norm1: `${p}.ln_1`, norm2: `${p}.ln_2`, mlp: `${p}.mlp` };
  }
  const p = `model.layers.${layer}`;
  return { norm1: `${p}.input_layernorm`, norm2: `${p}.post_attention_layernorm`, mlp: `${p}.mlp` };
}

function checkWeights(config: ModelConfig, weights: Map<string, tf.Tensor>): void {
  for (const [name, shape] of expectedWeights(config)) {
    const tensor = weights.get(name);
    if (!tensor) throw new Error(`Decoder: weight "${name}" [${shape}] is missing for this ${config.modelType} config`);
    if (tensor.shape.length !== shape.length || tensor.shape.some((n, i) => n !== shape[i])) {
      throw new Error(`Decoder: weight "${name}" has shape [${tensor.shape}] but the config needs [${shape}]`);
    }
  }
}

/** Anything that maps id rows (and an optional mask) to logits: a Decoder's forward, or a PEFT model's. */
export type LogitsForward = (inputIds: tf.Tensor2D, attentionMask?: tf.Tensor2D) => tf.Tensor3D;

/**
 * Logits for plain id rows, read back to the host: [B, T, V] row-major. Used by the worker, the CLI
 * and tests. The readback is `await data()`, never dataSync: on tfjs-webgpu dataSync gave wrong
 * values and broke later mapAsync readbacks.
 */
export async function computeLogits(
  model: Decoder | LogitsForward,
  inputIds: number[][],
  attentionMask?: number[][],
): Promise<{ data: Float32Array; shape: [number, number, number] }> {
  const width = inputIds[0]?.length ?? 0;
  if (width === 0 || inputIds.some((row) => row.length !== width)) {
    throw new Error('computeLogits: inputIds must be a non-empty list of equally long, non-empty rows');
  }
  if (attentionMask && (attentionMask.length !== inputIds.length || attentionMask.some((row) => row.length !== width))) {
    throw new Error(`computeLogits: attentionMask must have the same shape as inputIds [${inputIds.length}, ${width}]`);
  }
  const forward: LogitsForward =
    model instanceof Decoder ? (ids, mask) => model.forward(ids, { attentionMask: mask }).logits : model;
  const logits = tf.tidy(() => {
    const ids = tf.tensor2d(inputIds, undefined, 'int32'); // [B, T]
    const mask = attentionMask ? tf.tensor2d(attentionMask, undefined, 'int32') : undefined; // [B, T]
    return forward(ids, mask); // [B, T, V]
  });
  try {
    const [b, t, v] = logits.shape;
    return { data: (await logits.data()) as Float32Array, shape: [b, t, v] };
  } finally {
    logits.dispose();
  }
}
