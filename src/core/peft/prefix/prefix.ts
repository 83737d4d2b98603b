// Prefix tuning (Li & Liang 2021), following PEFT 0.21: peft/tuners/prefix_tuning/model.py
// (PrefixEncoder) and PeftModelForCausalLM / PeftModel.get_prompt. P virtual keys/values per layer
// come from a table [P, num_layers·2·token_dim], optionally reparametrised as
// Embedding(P, token_dim) → Linear(token_dim → encoder_hidden_size) → tanh → Linear(→ num_layers·2·token_dim).
// get_prompt reads the table as view(B, P, L·2, H, hd).permute(2, 0, 3, 1, 4).split(2): column
// ((2·layer + kv)·H + head)·hd + j. For grouped-query models PEFT uses the key/value head count
// (token_dim = head_dim · num_kv_heads). save_pretrained always writes the computed table as
// `prompt_embeddings` (the MLP folded away), and a loaded adapter uses that table directly.
// Real tokens get positions P…P+T−1 and the attention mask gets P ones in front (model.ts).
import * as tf from '@tensorflow/tfjs';
import type { Decoder, DecoderHooks, PackedPositions } from '../../model/decoder';
import type { HostTensor } from '../../model/safetensors';
import { kaimingUniform, normal, rngFor } from '../init';
import { bool, checkTaskType, mergeConfig, positiveInt, type Json } from '../schema';
import { PeftError, checkNoExtraTensors, checkShape, hostVariable, readHost, type CreateOptions, type ExportOptions, type ExportedFiles, type PeftMethod, type PreparedInputs } from '../types';

export const PREFIX_DEFAULTS: Json = {
  auto_mapping: null,
  base_model_name_or_path: null,
  encoder_hidden_size: null,
  inference_mode: false,
  init_weights: null,
  modules_to_save: null,
  num_attention_heads: null,
  num_layers: null,
  num_transformer_submodules: null,
  num_virtual_tokens: null,
  peft_type: 'PREFIX_TUNING',
  peft_version: '0.21.0',
  prefix_projection: false,
  revision: null,
  task_type: 'CAUSAL_LM',
  token_dim: null,
};
const INTERPRETED = ['encoder_hidden_size', 'num_attention_heads', 'num_layers', 'num_transformer_submodules', 'num_virtual_tokens', 'prefix_projection', 'token_dim', 'task_type'];
const BOOKKEEPING = ['auto_mapping', 'base_model_name_or_path', 'inference_mode', 'peft_type', 'peft_version', 'revision'];

interface PrefixSettings {
  raw: Json;
  virtualTokens: number;
  projection: boolean;
  /** key/value width per layer: num_kv_heads · head_dim */
  tokenDim: number;
  hiddenSize: number;
}

/** PEFT's _prepare_prompt_learning_config, then a check that the config fits this base model. */
function parse(file: string, raw: unknown, decoder: Decoder): PrefixSettings {
  const model = decoder.config;
  const config = mergeConfig(file, raw, PREFIX_DEFAULTS, INTERPRETED, BOOKKEEPING);
  if (config['peft_type'] !== 'PREFIX_TUNING') throw new PeftError(`peft_type must be "PREFIX_TUNING", got ${JSON.stringify(config['peft_type'])}`, file, 'peft_type');
  checkTaskType(file, config);
  const tokenDim = model.numKvHeads * model.headDim;
  const derived: Record<string, number> = { num_layers: model.numLayers, num_attention_heads: model.numKvHeads, token_dim: tokenDim, num_transformer_submodules: 1 };
  for (const [key, value] of Object.entries(derived)) {
    if (config[key] === null) config[key] = value;
    else if (config[key] !== value) {
      throw new PeftError(
        `is ${JSON.stringify(config[key])} but this ${model.modelType} model needs ${value} ` +
          `(${model.numLayers} layers, ${model.numKvHeads} key/value heads of ${model.headDim}); the adapter was made for a different base model`,
        file,
        key,
      );
    }
  }
  if (config['num_virtual_tokens'] === null) throw new PeftError('is required (how many virtual tokens to prepend)', file, 'num_virtual_tokens');
  if (config['encoder_hidden_size'] === null) config['encoder_hidden_size'] = tokenDim;
  return {
    raw: config,
    virtualTokens: positiveInt(file, config, 'num_virtual_tokens'),
    projection: bool(file, config, 'prefix_projection'),
    tokenDim,
    hiddenSize: positiveInt(file, config, 'encoder_hidden_size'),
  };
}

export class PrefixMethod implements PeftMethod {
  readonly name = 'prefix';
  private readonly weights = new Map<string, tf.Variable>();
  /** true when the MLP is trained (fresh with prefix_projection); a loaded adapter holds the folded table */
  private readonly usesProjection: boolean;

  private constructor(
    private readonly decoder: Decoder,
    private readonly settings: PrefixSettings,
    usesProjection: boolean,
  ) {
    this.usesProjection = usesProjection;
  }

  get config(): Record<string, unknown> {
    return this.settings.raw;
  }

  get virtualTokens(): number {
    return this.settings.virtualTokens;
  }

  private get tableWidth(): number {
    return this.decoder.config.numLayers * 2 * this.settings.tokenDim;
  }

  static create(decoder: Decoder, raw: Record<string, unknown>, opts: CreateOptions = {}): PrefixMethod {
    const settings = parse('prefix tuning config', raw, decoder);
    const method = new PrefixMethod(decoder, settings, settings.projection);
    const rng = rngFor(opts.seed);
    const { virtualTokens: p, tokenDim, hiddenSize } = settings;
    // torch defaults: nn.Embedding ~ N(0, 1); nn.Linear weight and bias ~ U(±1/√fan_in)
    if (settings.projection) {
      method.add('embedding.weight', normal(rng, [p, tokenDim], 1));
      method.add('transform.0.weight', kaimingUniform(rng, [hiddenSize, tokenDim], tokenDim));
      method.add('transform.0.bias', kaimingUniform(rng, [hiddenSize], tokenDim));
      method.add('transform.2.weight', kaimingUniform(rng, [method.tableWidth, hiddenSize], hiddenSize));
      method.add('transform.2.bias', kaimingUniform(rng, [method.tableWidth], hiddenSize));
    } else {
      method.add('embedding.weight', normal(rng, [p, method.tableWidth], 1));
    }
    return method;
  }

  static load(decoder: Decoder, raw: Record<string, unknown>, tensors: Map<string, HostTensor>, files: { config: string; weights: string }): PrefixMethod {
    // The table's shape is checked against the base model before the config, so a mismatch names the tensor.
    const config = raw as Json;
    const p = typeof config['num_virtual_tokens'] === 'number' ? config['num_virtual_tokens'] : (tensors.get('prompt_embeddings')?.shape[0] ?? 0);
    const width = decoder.config.numLayers * 2 * decoder.config.numKvHeads * decoder.config.headDim;
    const table = checkShape(files.weights, 'prompt_embeddings', tensors.get('prompt_embeddings'), [p, width], `${p} virtual tokens × ${decoder.config.numLayers} layers · 2 · ${decoder.config.numKvHeads} kv heads · ${decoder.config.headDim}`);
    checkNoExtraTensors(files.weights, tensors, new Set(['prompt_embeddings']));
    const method = new PrefixMethod(decoder, parse(files.config, raw, decoder), false);
    method.add('embedding.weight', table);
    return method;
  }

  private add(name: string, host: HostTensor): void {
    this.weights.set(name, hostVariable(host, `prefix.${name}`));
  }

  /** The key/value table [P, L·2·token_dim]: the embedding, or the MLP applied to it. */
  private table(): tf.Tensor2D {
    const embedding = this.weights.get('embedding.weight')! as tf.Tensor2D; // [P, td] or [P, L·2·td]
    if (!this.usesProjection) return embedding;
    const w = (name: string) => this.weights.get(name)!;
    const hidden = tf.tanh(tf.add(tf.matMul(embedding, w('transform.0.weight') as tf.Tensor2D, false, true), w('transform.0.bias'))); // [P, hid]
    return tf.add(tf.matMul(hidden as tf.Tensor2D, w('transform.2.weight') as tf.Tensor2D, false, true), w('transform.2.bias')) as tf.Tensor2D; // [P, L·2·td]
  }

  hooks(): DecoderHooks | null {
    const { numKvHeads: heads, headDim } = this.decoder.config;
    const { virtualTokens: p, tokenDim } = this.settings;
    let table: tf.Tensor2D | null = null;
    return {
      pastKeyValues: (layer, batch) => {
        // the decoder asks for layer 0 first on every pass; the table lives in that pass's tidy scope
        if (layer === 0 || table === null) table = this.table();
        const slice = (kv: number) =>
          tf.broadcastTo(
            table!
              .slice([0, (2 * layer + kv) * tokenDim], [p, tokenDim]) // [P, td]
              .reshape([p, heads, headDim]) // [P, nKv, hd]
              .transpose([1, 0, 2]) // [nKv, P, hd]
              .expandDims(0), // [1, nKv, P, hd]
            [batch, heads, p, headDim],
          ) as tf.Tensor4D; // [B, nKv, P, hd]
        return { key: slice(0), value: slice(1) };
      },
    };
  }

  prepareInputs(_decoder: Decoder, inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D | undefined, packed?: PackedPositions): PreparedInputs {
    const batch = inputIds.shape[0];
    const p = this.settings.virtualTokens;
    const mask = attentionMask ? (tf.concat([tf.ones([batch, p], attentionMask.dtype), attentionMask], 1) as tf.Tensor2D) : undefined; // [B, P+T]
    if (!packed) return { inputIds, options: { attentionMask: mask }, virtualPositions: 0 };
    // every packed sequence sees the prefix and starts at position P, as it would alone
    const positionIds = tf.add(packed.positionIds, p) as tf.Tensor2D; // [B, T]
    return { inputIds, options: { attentionMask: mask, positionIds, sequenceIds: packed.sequenceIds }, virtualPositions: 0 };
  }

  variables(): Map<string, tf.Variable> {
    return new Map(this.weights);
  }

  async exportFiles(opts: ExportOptions): Promise<ExportedFiles> {
    // a fresh tensor either way (with projection the MLP's output, else a clone of the variable), so
    // an update landing while the read-back is pending cannot change what is exported
    const table = tf.tidy(() => (this.usesProjection ? this.table() : tf.clone(this.table())));
    let host;
    try {
      host = await readHost(table);
    } finally {
      table.dispose();
    }
    const tensors = new Map([['prompt_embeddings', host]]);
    const config = { ...this.settings.raw, base_model_name_or_path: opts.baseModel, inference_mode: true };
    return { configFile: 'adapter_config.json', config, weightsFile: 'adapter_model.safetensors', tensors, library: 'peft' };
  }

  dispose(): void {
    for (const variable of this.weights.values()) variable.dispose();
    this.weights.clear();
  }
}
