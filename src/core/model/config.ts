// The decoder's configuration, read from a Hugging Face config.json.
// Field names are Hone's; `parseConfig` maps each model_type's own keys onto them so the
// decoder never has to know which family wrote the file. Nothing about sizes is assumed.

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

function int(json: Json, key: string, fallback?: number): number {
  const value = json[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ConfigError(
      value === undefined ? 'is missing' : `must be a positive integer, got ${JSON.stringify(value)}`,
      'config.json',
      key,
    );
  }
  return value;
}

function num(json: Json, key: string, fallback: number): number {
  const value = json[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ConfigError(`must be a positive number, got ${JSON.stringify(value)}`, 'config.json', key);
  }
  return value;
}

function tokenId(json: Json, key: string): number | null {
  const value = json[key];
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) return typeof value[0] === 'number' ? value[0] : null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new ConfigError(`must be a token id, got ${JSON.stringify(value)}`, 'config.json', key);
  }
  return value;
}

function eosIds(json: Json): number[] {
  const value = json['eos_token_id'];
  if (value === undefined || value === null) return [];
  const ids = Array.isArray(value) ? value : [value];
  if (!ids.every((id) => typeof id === 'number' && Number.isInteger(id) && id >= 0)) {
    throw new ConfigError(`must be a token id or a list of them, got ${JSON.stringify(value)}`, 'config.json', 'eos_token_id');
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
    `model_type ${JSON.stringify(modelType)} is not supported (supported: gpt2, llama, qwen2)`,
    'config.json',
    'model_type',
  );
}

function parseGpt2(json: Json): ModelConfig {
  const hiddenSize = int(json, 'n_embd');
  const numHeads = int(json, 'n_head');
  if (hiddenSize % numHeads !== 0) {
    throw new ConfigError(`n_embd ${hiddenSize} is not divisible by n_head ${numHeads}`, 'config.json', 'n_head');
  }
  const activation = (json['activation_function'] as string | undefined) ?? 'gelu_new';
  return {
    family: 'gpt2',
    modelType: 'gpt2',
    vocabSize: int(json, 'vocab_size'),
    hiddenSize,
    numLayers: int(json, 'n_layer'),
    numHeads,
    numKvHeads: numHeads,
    headDim: hiddenSize / numHeads,
    // HF GPT-2: n_inner null means 4 × n_embd
    intermediateSize: json['n_inner'] == null ? 4 * hiddenSize : int(json, 'n_inner'),
    maxPositions: int(json, 'n_positions', json['n_ctx'] as number | undefined),
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
  const hiddenSize = int(json, 'hidden_size');
  const numHeads = int(json, 'num_attention_heads');
  const numKvHeads = int(json, 'num_key_value_heads', numHeads);
  if (numHeads % numKvHeads !== 0) {
    throw new ConfigError(
      `num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`,
      'config.json',
      'num_key_value_heads',
    );
  }
  const headDim = json['head_dim'] == null ? hiddenSize / numHeads : int(json, 'head_dim');
  if (!Number.isInteger(headDim)) {
    throw new ConfigError(`hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numHeads}`, 'config.json', 'head_dim');
  }
  // transformers ≥ 4.5x moved rope_theta into rope_parameters; older files keep it at the top level.
  const ropeParameters = (json['rope_parameters'] ?? json['rope_scaling']) as Json | null | undefined;
  const ropeType = ropeParameters?.['rope_type'] ?? ropeParameters?.['type'];
  if (ropeType !== undefined && ropeType !== 'default') {
    throw new ConfigError(`RoPE scaling ${JSON.stringify(ropeType)} is not supported (only "default")`, 'config.json', 'rope_parameters');
  }
  const ropeTheta =
    typeof ropeParameters?.['rope_theta'] === 'number' ? (ropeParameters['rope_theta'] as number) : num(json, 'rope_theta', 10000);
  const activation = (json['hidden_act'] as string | undefined) ?? 'silu';
  const attentionBias = json['attention_bias'] === true;
  return {
    family: 'llama',
    modelType,
    vocabSize: int(json, 'vocab_size'),
    hiddenSize,
    numLayers: int(json, 'num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    intermediateSize: int(json, 'intermediate_size'),
    maxPositions: int(json, 'max_position_embeddings', 2048),
    normEps: num(json, 'rms_norm_eps', 1e-6),
    ropeTheta,
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
