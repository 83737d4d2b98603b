// Prompt tuning (Lester et al. 2021), following PEFT 0.21 peft/tuners/prompt_tuning (config.py,
// model.py PromptEmbedding) and PeftModelForCausalLM.forward: a soft prompt [P, d] is put in
// front of the token embeddings (inputs_embeds), the attention mask gets P ones in front, and
// positions run 0…P+T−1. Hone drops the P virtual positions from the logits.
// Initialisation: RANDOM = nn.Embedding's N(0, 1); TEXT = the embeddings of the tokenised
// prompt_tuning_init_text (with special tokens, as tokenizer(text)), repeated or cut to P;
// SAMPLE_VOCAB = embeddings of P random vocabulary rows.
import * as tf from '@tensorflow/tfjs';
import type { Decoder, DecoderHooks, PackedPositions } from '../../model/decoder';
import type { HostTensor } from '../../model/safetensors';
import { normal, rngFor } from '../init';
import { checkTaskType, mergeConfig, oneOf, positiveInt, type Json } from '../schema';
import { PeftError, checkNoExtraTensors, checkShape, hostVariable, readHost, tensorVariable, type CreateOptions, type ExportOptions, type ExportedFiles, type PeftMethod, type PreparedInputs } from '../types';

export const PROMPT_DEFAULTS: Json = {
  auto_mapping: null,
  base_model_name_or_path: null,
  inference_mode: false,
  modules_to_save: null,
  num_attention_heads: null,
  num_layers: null,
  num_transformer_submodules: null,
  num_virtual_tokens: null,
  peft_type: 'PROMPT_TUNING',
  peft_version: '0.21.0',
  prompt_tuning_init: 'RANDOM',
  prompt_tuning_init_text: null,
  revision: null,
  task_type: 'CAUSAL_LM',
  token_dim: null,
  tokenizer_kwargs: null,
  tokenizer_name_or_path: null,
};
const INTERPRETED = ['num_attention_heads', 'num_layers', 'num_transformer_submodules', 'num_virtual_tokens', 'token_dim', 'prompt_tuning_init', 'prompt_tuning_init_text', 'task_type'];
const BOOKKEEPING = ['auto_mapping', 'base_model_name_or_path', 'inference_mode', 'peft_type', 'peft_version', 'revision', 'tokenizer_kwargs', 'tokenizer_name_or_path'];

type PromptInit = 'RANDOM' | 'TEXT' | 'SAMPLE_VOCAB';

interface PromptSettings {
  raw: Json;
  virtualTokens: number;
  init: PromptInit;
  initText: string | null;
}

function parse(file: string, raw: unknown, decoder: Decoder): PromptSettings {
  const model = decoder.config;
  const config = mergeConfig(file, raw, PROMPT_DEFAULTS, INTERPRETED, BOOKKEEPING);
  if (config['peft_type'] !== 'PROMPT_TUNING') throw new PeftError(`peft_type must be "PROMPT_TUNING", got ${JSON.stringify(config['peft_type'])}`, file, 'peft_type');
  checkTaskType(file, config);
  const derived: Record<string, number> = { num_layers: model.numLayers, num_attention_heads: model.numHeads, token_dim: model.hiddenSize, num_transformer_submodules: 1 };
  for (const [key, value] of Object.entries(derived)) {
    if (config[key] === null) config[key] = value;
    // token_dim is what the soft prompt must match; the others only describe the model it was made for
    else if (key === 'token_dim' || key === 'num_transformer_submodules' ? config[key] !== value : typeof config[key] !== 'number') {
      throw new PeftError(`is ${JSON.stringify(config[key])} but this ${model.modelType} model needs ${value}`, file, key);
    }
  }
  if (config['num_virtual_tokens'] === null) throw new PeftError('is required (how many soft tokens to prepend)', file, 'num_virtual_tokens');
  const init = oneOf(file, config, 'prompt_tuning_init', ['RANDOM', 'TEXT', 'SAMPLE_VOCAB'] as const);
  const initText = config['prompt_tuning_init_text'];
  if (initText !== null && typeof initText !== 'string') throw new PeftError(`must be a string or null, got ${JSON.stringify(initText)}`, file, 'prompt_tuning_init_text');
  return { raw: config, virtualTokens: positiveInt(file, config, 'num_virtual_tokens'), init, initText };
}

export class PromptMethod implements PeftMethod {
  readonly name = 'prompt';

  private constructor(
    private readonly settings: PromptSettings,
    private readonly prompt: tf.Variable, // [P, d]
  ) {}

  get config(): Record<string, unknown> {
    return this.settings.raw;
  }

  get virtualTokens(): number {
    return this.settings.virtualTokens;
  }

  static create(decoder: Decoder, raw: Record<string, unknown>, opts: CreateOptions = {}): PromptMethod {
    const file = 'prompt tuning config';
    const settings = parse(file, raw, decoder);
    const { virtualTokens: p } = settings;
    const d = decoder.config.hiddenSize;
    const rng = rngFor(opts.seed);
    let rows: number[] | null = null;
    if (settings.init === 'TEXT') {
      if (!settings.initText) throw new PeftError('prompt_tuning_init is "TEXT" but no prompt_tuning_init_text was given', file, 'prompt_tuning_init_text');
      if (!opts.tokenize) throw new PeftError('prompt_tuning_init "TEXT" needs the tokenizer (CreateOptions.tokenize)', file, 'prompt_tuning_init');
      const ids = opts.tokenize(settings.initText);
      if (ids.length === 0) throw new PeftError(`prompt_tuning_init_text ${JSON.stringify(settings.initText)} tokenizes to no tokens`, file, 'prompt_tuning_init_text');
      // PEFT: cut when longer, else repeat ceil(P / n) times, then cut to P
      rows = Array.from({ length: p }, (_, i) => ids[i % ids.length]);
    } else if (settings.init === 'SAMPLE_VOCAB') {
      rows = Array.from({ length: p }, () => rng.int(decoder.config.vocabSize));
    }
    if (rows) {
      // the rows of the embedding table, copied on the backend: no read-back (create stays synchronous)
      const embedded = tf.tidy(() => decoder.embedTokens(tf.tensor2d([rows], [1, p], 'int32')).reshape([p, d])); // [P, d]
      const variable = tensorVariable(embedded, 'prompt_embeddings');
      embedded.dispose();
      return new PromptMethod(settings, variable);
    }
    return new PromptMethod(settings, hostVariable(normal(rng, [p, d], 1), 'prompt_embeddings'));
  }

  static load(decoder: Decoder, raw: Record<string, unknown>, tensors: Map<string, HostTensor>, files: { config: string; weights: string }): PromptMethod {
    const config = raw as Json;
    const found = tensors.get('prompt_embeddings');
    const p = typeof config['num_virtual_tokens'] === 'number' ? config['num_virtual_tokens'] : (found?.shape[0] ?? 0);
    const table = checkShape(files.weights, 'prompt_embeddings', found, [p, decoder.config.hiddenSize], `${p} virtual tokens × hidden size ${decoder.config.hiddenSize}`);
    checkNoExtraTensors(files.weights, tensors, new Set(['prompt_embeddings']));
    const settings = parse(files.config, raw, decoder);
    return new PromptMethod(settings, hostVariable(table, 'prompt_embeddings'));
  }

  hooks(): DecoderHooks | null {
    return null;
  }

  prepareInputs(decoder: Decoder, inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D | undefined, packed?: PackedPositions): PreparedInputs {
    const [batch] = inputIds.shape;
    const p = this.settings.virtualTokens;
    const soft = tf.broadcastTo(this.prompt.expandDims(0), [batch, p, this.prompt.shape[1] as number]); // [B, P, d]
    const inputsEmbeds = tf.concat([soft, decoder.embedTokens(inputIds)], 1) as tf.Tensor3D; // [B, P+T, d]
    const mask = attentionMask ? (tf.concat([tf.ones([batch, p], attentionMask.dtype), attentionMask], 1) as tf.Tensor2D) : undefined; // [B, P+T]
    if (!packed) return { inputIds: null, options: { inputsEmbeds, attentionMask: mask }, virtualPositions: p };
    // Packed rows: the soft tokens keep positions 0…P−1 and are shared by every packed sequence
    // (sequence id −1), each of which starts at position P, as it would alone.
    const softPositions = tf.broadcastTo(tf.range(0, p, 1, 'int32').reshape([1, p]), [batch, p]); // [B, P]
    const positionIds = tf.concat([softPositions, tf.add(packed.positionIds, p)], 1) as tf.Tensor2D; // [B, P+T]
    const sequenceIds = tf.concat([tf.fill([batch, p], -1, 'int32'), packed.sequenceIds], 1) as tf.Tensor2D; // [B, P+T]
    return { inputIds: null, options: { inputsEmbeds, attentionMask: mask, positionIds, sequenceIds }, virtualPositions: p };
  }

  variables(): Map<string, tf.Variable> {
    return new Map([['prompt_embeddings', this.prompt]]);
  }

  async exportFiles(opts: ExportOptions): Promise<ExportedFiles> {
    const config = { ...this.settings.raw, base_model_name_or_path: opts.baseModel, inference_mode: true };
    const tensors = new Map([['prompt_embeddings', await readHost(this.prompt)]]);
    return { configFile: 'adapter_config.json', config, weightsFile: 'adapter_model.safetensors', tensors, library: 'peft' };
  }

  dispose(): void {
    this.prompt.dispose();
  }
}
