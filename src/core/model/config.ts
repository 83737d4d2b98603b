// The decoder's configuration, read from a Hugging Face config.json.
// Field names are Hone's; `parseConfig` maps each model_type's own keys onto them so the
// decoder never has to know which family wrote the file. Nothing about sizes is assumed.
import { SUPPORTED_ROPE_TYPES, type RopeScaling } from './rope';

export type Family = 'gpt2' | 'llama';
export type ModelType = 'gpt2' | 'llama' | 'qwen2';

export interface ModelConfig {
  /** which decoder block to build: gpt2 (LayerNorm, learned positions) or llama (RMSNorm, RoPE) */
  family: Family;
  /** the checkpoint's own model_type; qwen2 is llama with q/k/v biases */
  modelType: ModelType;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  /** grouped-query attention: key/value heads; equals numHeads for multi-head attention */
  numKvHeads: number;
  headDim: number;
  /** feed-forward width: gpt2 n_inner (default 4·hidden), llama intermediate_size */
  intermediateSize: number;
  /** longest sequence the position table (gpt2) or RoPE setup (llama) is meant for */
  maxPositions: number;
  /** LayerNorm epsilon (gpt2) or RMSNorm epsilon (llama) */
  normEps: number;
  /** RoPE base; unused by gpt2 */
  ropeTheta: number;
  /** rope_scaling / rope_parameters beyond the default (Llama 3.x "llama3", "linear", "dynamic"); absent = default */
  ropeScaling?: RopeScaling | null;
  tieWordEmbeddings: boolean;
  /** bias on q/k/v projections: gpt2 and qwen2 true, llama `attention_bias` */
  qkvBias: boolean;
  /** bias on the attention output projection: gpt2 true, llama `attention_bias`, qwen2 false */
  outBias: boolean;
  /** bias on the feed-forward projections: gpt2 true, llama `mlp_bias` */
  mlpBias: boolean;
  /** gpt2: activation_function (gelu_new); llama: hidden_act (silu) */
  activation: string;
  bosTokenId: number | null;
  eosTokenIds: number[];
  padTokenId: number | null;
}

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly file = 'config.json',
    readonly field?: string,
  ) {
    super(`${file}${field ? ` (field "${field}")` : ''}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Json = Record<string, unknown>;

/**
 * Largest values Hone accepts, far above any released checkpoint (Llama 3.1 405B: 126 layers,
 * hidden 16,384, FFN 53,248, 128 heads; Gemma: 262,144 tokens; Qwen2.5-1M: 1,010,000 positions).
 * config.json comes from strangers; a value past these is a broken or hostile file, refused
 * before any name table, buffer or RoPE table is sized by it.
 */
export const CONFIG_LIMITS = {
  layers: 1024,
  hiddenSize: 65_536,
  heads: 1024,
  headDim: 4096,
  vocabSize: 1 << 22,
  intermediateSize: 1 << 20,
  maxPositions: 1 << 24,
} as const;

/** transformers' ACT2FN names that blocks.ts implements (a test checks the two agree). */
export const SUPPORTED_ACTIVATIONS = ['gelu_new', 'gelu_pytorch_tanh', 'gelu_fast', 'gelu', 'silu', 'swish', 'relu'] as const;

function int(json: Json, key: string, fallback: number | undefined, max: number): number {
  const own = Object.hasOwn(json, key) ? json[key] : undefined;
  const value = own ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ConfigError(
      value === undefined ? 'is missing' : `must be a positive integer, got ${preview(value)}`,
      'config.json',
      key,
    );
  }
  if (value > max) {
    throw new ConfigError(`is ${value}, more than the ${max.toLocaleString('en-US')} Hone supports; no released checkpoint comes near that, so the file is broken`, 'config.json', key);
  }
  return value;
}

/** A bounded rendering of a bad value for messages: the value may be megabytes or deeply nested. */
function preview(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'an object' : typeof value;
}

function activationOf(json: Json, key: string, fallback: string): string {
  const value = Object.hasOwn(json, key) ? json[key] : undefined;
  if (value === undefined || value === null) return fallback;
  // an own-property list, not a lookup in an object: "constructor" or "toString" must not match
  if (typeof value !== 'string' || !(SUPPORTED_ACTIVATIONS as readonly string[]).includes(value)) {
    throw new ConfigError(`activation ${preview(value)} is not supported (supported: ${SUPPORTED_ACTIVATIONS.join(', ')})`, 'config.json', key);
  }
  return value;
}

const isJsonObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

function num(json: Json, key: string, fallback: number, field = key): number {
  const value = (Object.hasOwn(json, key) ? json[key] : undefined) ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ConfigError(`must be a positive finite number, got ${preview(value)}`, 'config.json', field);
  }
  return value;
}

function tokenId(json: Json, key: string): number | null {
  const value = json[key];
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) return typeof value[0] === 'number' ? value[0] : null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new ConfigError(`must be a token id, got ${preview(value)}`, 'config.json', key);
  }
  return value;
}

function eosIds(json: Json): number[] {
  const value = json['eos_token_id'];
  if (value === undefined || value === null) return [];
  const ids = Array.isArray(value) ? value : [value];
  if (!ids.every((id) => typeof id === 'number' && Number.isInteger(id) && id >= 0)) {
    throw new ConfigError(`must be a token id or a list of them, got ${preview(value)}`, 'config.json', 'eos_token_id');
  }
  return ids as number[];
}

/** Reads a parsed config.json. Throws ConfigError naming the field for anything it cannot use. */
export function parseConfig(raw: unknown): ModelConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError('is not a JSON object');
  }
  const json = raw as Json;
  const modelType = json['model_type'];
  if (modelType === 'gpt2') return parseGpt2(json);
  if (modelType === 'llama' || modelType === 'qwen2') return parseLlama(json, modelType);
  throw new ConfigError(
    `model_type ${preview(modelType)} is not supported (supported: gpt2, llama, qwen2)`,
    'config.json',
    'model_type',
  );
}

function parseGpt2(json: Json): ModelConfig {
  const hiddenSize = int(json, 'n_embd', undefined, CONFIG_LIMITS.hiddenSize);
  const numHeads = int(json, 'n_head', undefined, CONFIG_LIMITS.heads);
  if (hiddenSize % numHeads !== 0) {
    throw new ConfigError(`n_embd ${hiddenSize} is not divisible by n_head ${numHeads}`, 'config.json', 'n_head');
  }
  const activation = activationOf(json, 'activation_function', 'gelu_new');
  return {
    family: 'gpt2',
    modelType: 'gpt2',
    vocabSize: int(json, 'vocab_size', undefined, CONFIG_LIMITS.vocabSize),
    hiddenSize,
    numLayers: int(json, 'n_layer', undefined, CONFIG_LIMITS.layers),
    numHeads,
    numKvHeads: numHeads,
    headDim: hiddenSize / numHeads,
    // HF GPT-2: n_inner null means 4 × n_embd
    intermediateSize: json['n_inner'] == null ? 4 * hiddenSize : int(json, 'n_inner', undefined, CONFIG_LIMITS.intermediateSize),
    maxPositions: int(json, 'n_positions', json['n_ctx'] as number | undefined, CONFIG_LIMITS.maxPositions),
    normEps: num(json, 'layer_norm_epsilon', 1e-5),
    ropeTheta: 10000,
    // GPT2LMHeadModel always ties lm_head to wte
    tieWordEmbeddings: json['tie_word_embeddings'] !== false,
    qkvBias: true,
    outBias: true,
    mlpBias: true,
    activation,
    bosTokenId: tokenId(json, 'bos_token_id'),
    eosTokenIds: eosIds(json),
    padTokenId: tokenId(json, 'pad_token_id'),
  };
}

function parseLlama(json: Json, modelType: 'llama' | 'qwen2'): ModelConfig {
  const hiddenSize = int(json, 'hidden_size', undefined, CONFIG_LIMITS.hiddenSize);
  const numHeads = int(json, 'num_attention_heads', undefined, CONFIG_LIMITS.heads);
  const numKvHeads = int(json, 'num_key_value_heads', numHeads, CONFIG_LIMITS.heads);
  if (numHeads % numKvHeads !== 0) {
    throw new ConfigError(
      `num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`,
      'config.json',
      'num_key_value_heads',
    );
  }
  const headDim = json['head_dim'] == null ? hiddenSize / numHeads : int(json, 'head_dim', undefined, CONFIG_LIMITS.headDim);
  if (!Number.isInteger(headDim)) {
    throw new ConfigError(`hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numHeads}`, 'config.json', 'head_dim');
  }
  // transformers ≥ 4.5x moved rope_theta into rope_parameters; older files keep it at the top level.
  const ropeKey = json['rope_parameters'] != null ? 'rope_parameters' : 'rope_scaling';
  const ropeParameters = json[ropeKey] as Json | null | undefined;
  const ropeScaling = readRopeScaling(ropeParameters, ropeKey);
  // rope_theta ≤ 0 or non-finite turns every inverse frequency into NaN or ∞ (every logit NaN)
  const ropeTheta =
    isJsonObject(ropeParameters) && ropeParameters['rope_theta'] !== undefined
      ? num(ropeParameters, 'rope_theta', 10000, `${ropeKey}.rope_theta`)
      : num(json, 'rope_theta', 10000);
  const activation = activationOf(json, 'hidden_act', 'silu');
  const attentionBias = json['attention_bias'] === true;
  return {
    family: 'llama',
    modelType,
    vocabSize: int(json, 'vocab_size', undefined, CONFIG_LIMITS.vocabSize),
    hiddenSize,
    numLayers: int(json, 'num_hidden_layers', undefined, CONFIG_LIMITS.layers),
    numHeads,
    numKvHeads,
    headDim,
    intermediateSize: int(json, 'intermediate_size', undefined, CONFIG_LIMITS.intermediateSize),
    maxPositions: int(json, 'max_position_embeddings', 2048, CONFIG_LIMITS.maxPositions),
    normEps: num(json, 'rms_norm_eps', 1e-6),
    ropeTheta,
    ropeScaling,
    tieWordEmbeddings: json['tie_word_embeddings'] === true,
    qkvBias: modelType === 'qwen2' ? true : attentionBias,
    outBias: modelType === 'qwen2' ? false : attentionBias,
    mlpBias: json['mlp_bias'] === true,
    activation,
    bosTokenId: tokenId(json, 'bos_token_id'),
    eosTokenIds: eosIds(json),
    padTokenId: tokenId(json, 'pad_token_id'),
  };
}

/**
 * The rope scaling of a llama-family config (transformers' rope_scaling, or rope_parameters from
 * 5.x on; the older files call rope_type "type"). Types Hone cannot follow are refused by name.
 */
function readRopeScaling(parameters: unknown, key: string): RopeScaling | null {
  if (parameters === undefined || parameters === null) return null;
  if (!isJsonObject(parameters)) throw new ConfigError(`must be an object, got ${preview(parameters)}`, 'config.json', key);
  const ropeType = parameters['rope_type'] ?? parameters['type'] ?? 'default';
  const field = `${key}.${Object.hasOwn(parameters, 'rope_type') ? 'rope_type' : 'type'}`;
  if (typeof ropeType !== 'string' || !(SUPPORTED_ROPE_TYPES as readonly string[]).includes(ropeType)) {
    throw new ConfigError(
      `RoPE scaling ${preview(ropeType)} is not supported (supported: ${SUPPORTED_ROPE_TYPES.join(', ')}); the decoder cannot follow its position encoding`,
      'config.json',
      field,
    );
  }
  if (ropeType === 'default') return null;
  const factor = num(parameters, 'factor', NaN, `${key}.factor`);
  if (ropeType === 'linear') return { type: 'linear', factor };
  // dynamic NTK equals the default below max_position_embeddings; factor < 1 would shrink the base there too
  if (ropeType === 'dynamic') {
    if (factor < 1) throw new ConfigError(`must be at least 1 for dynamic scaling, got ${factor}`, 'config.json', `${key}.factor`);
    return { type: 'dynamic', factor };
  }
  const lowFreqFactor = num(parameters, 'low_freq_factor', NaN, `${key}.low_freq_factor`);
  const highFreqFactor = num(parameters, 'high_freq_factor', NaN, `${key}.high_freq_factor`);
  if (!(highFreqFactor > lowFreqFactor)) {
    // the smoothing ramp divides by high − low
    throw new ConfigError(
      `must be greater than low_freq_factor (${lowFreqFactor}), got ${highFreqFactor}`,
      'config.json',
      `${key}.high_freq_factor`,
    );
  }
  const originalField = `${key}.original_max_position_embeddings`;
  const original = parameters['original_max_position_embeddings'];
  if (typeof original !== 'number' || !Number.isInteger(original) || original <= 0 || original > CONFIG_LIMITS.maxPositions) {
    throw new ConfigError(`must be a positive integer up to ${CONFIG_LIMITS.maxPositions.toLocaleString('en-US')}, got ${preview(original)}`, 'config.json', originalField);
  }
  const originalMaxPositions = original;
  return { type: 'llama3', factor, lowFreqFactor, highFreqFactor, originalMaxPositions };
}
