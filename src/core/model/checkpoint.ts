// A Hugging Face checkpoint folder (config.json, safetensors weights — single file or sharded with
// model.safetensors.index.json — and tokenizer files) checked as a whole: either every tensor the
// config implies is present with the right shape and the tokenizer fits the embedding, or the load
// throws an error naming the file and the tensor or field. Nothing is returned half-checked.
// Weight names are the checkpoint's own (transformers' *ForCausalLM state dict), so the decoder
// looks weights up instead of translating them.
import { ConfigError, parseConfig, type ModelConfig } from './config';
import { parseSafetensors, type HostTensor } from './safetensors';
import { nonFiniteDetail } from './finite';
import { checkLayerCount, expectedWeights } from './weight-names';

export { expectedWeights };
import { HoneTokenizer, TokenizerError } from '../tokenizer/tokenizer';

/** Base file name → bytes, as read from a model folder or a download. */
export type ModelFiles = Map<string, Uint8Array>;

export interface Checkpoint {
  config: ModelConfig;
  rawConfig: Record<string, unknown>;
  /**
   * exactly the tensors of expectedWeights(config), under their canonical names. Float32 tensors
   * are views of the safetensors bytes passed in where aligned (no second copy of the model in
   * memory): treat the weights and those bytes as read-only.
   */
  weights: Map<string, HostTensor>;
  tokenizer: HoneTokenizer;
}

export class CheckpointError extends Error {
  constructor(
    detail: string,
    readonly file: string,
    readonly tensor?: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'CheckpointError';
  }
}

const SINGLE_FILE = 'model.safetensors';
const INDEX_FILE = 'model.safetensors.index.json';

/**
 * Tensors a checkpoint may carry that are not weights: GPT-2's causal-mask buffers, RoPE's
 * inverse frequencies (older transformers saved them), and lm_head when it is tied to the embedding.
 */
function isIgnorable(name: string, config: ModelConfig): boolean {
  if (name === 'lm_head.weight') return config.tieWordEmbeddings;
  if (config.family === 'gpt2') return /^transformer\.h\.\d+\.attn\.(bias|masked_bias)$/.test(name);
  return /(^|\.)rotary_emb\.inv_freq$/.test(name);
}

/** GPT2Model (rather than GPT2LMHeadModel) saves its weights without the `transformer.` prefix. */
function canonicalName(name: string, config: ModelConfig): string {
  if (config.family === 'gpt2' && /^(wte|wpe|ln_f|h)\./.test(name)) return `transformer.${name}`;
  return name;
}

const formatShape = (shape: number[]): string => `[${shape.join(', ')}]`;

function text(bytes: Uint8Array, file: string, onError: (detail: string) => Error): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw onError(`${file} is not UTF-8 text`);
  }
}

function readConfig(files: ModelFiles): { config: ModelConfig; rawConfig: Record<string, unknown> } {
  const bytes = files.get('config.json');
  if (bytes === undefined) {
    throw new ConfigError('is missing; a model folder needs the config.json that transformers saved with the weights');
  }
  const source = text(bytes, 'config.json', () => new ConfigError('is not UTF-8 text'));
  let raw: unknown;
  try {
    raw = JSON.parse(source);
  } catch (e) {
    throw new ConfigError(`is not valid JSON (${(e as Error).message})`);
  }
  const config = parseConfig(raw);
  return { config, rawConfig: raw as Record<string, unknown> };
}

/** Every tensor of the checkpoint under its name in the file, with the file it came from. */
function readTensors(files: ModelFiles): { tensors: Map<string, HostTensor>; fileOf: Map<string, string> } {
  const single = files.get(SINGLE_FILE);
  if (single !== undefined) {
    const tensors = parseSafetensors(single, SINGLE_FILE, { shareBytes: true });
    return { tensors, fileOf: new Map([...tensors.keys()].map((name) => [name, SINGLE_FILE])) };
  }
  const indexBytes = files.get(INDEX_FILE);
  if (indexBytes === undefined) {
    throw new CheckpointError(
      `is missing, and so is ${INDEX_FILE}: a model folder needs its weights as safetensors (single file or shards with their index)`,
      SINGLE_FILE,
    );
  }
  const weightMap = readWeightMap(indexBytes);
  const shards = [...new Set(weightMap.values())].sort();
  const tensors = new Map<string, HostTensor>();
  const fileOf = new Map<string, string>();
  for (const shard of shards) {
    const bytes = files.get(shard);
    if (bytes === undefined) {
      throw new CheckpointError(`lists shard ${JSON.stringify(shard)}, which is missing; download every shard of the checkpoint`, INDEX_FILE);
    }
    for (const [name, tensor] of parseSafetensors(bytes, shard, { shareBytes: true })) {
      const earlier = fileOf.get(name);
      if (earlier !== undefined) {
        throw new CheckpointError(`tensor ${JSON.stringify(name)} is also in ${earlier}; a tensor must live in one shard`, shard, name);
      }
      tensors.set(name, tensor);
      fileOf.set(name, shard);
    }
  }
  for (const [name, shard] of weightMap) {
    if (fileOf.get(name) !== shard) {
      throw new CheckpointError(
        `tensor ${JSON.stringify(name)} is missing, though ${INDEX_FILE} places it in this shard; the shard is incomplete or from another checkpoint`,
        shard,
        name,
      );
    }
  }
  return { tensors, fileOf };
}

function readWeightMap(bytes: Uint8Array): Map<string, string> {
  const source = text(bytes, INDEX_FILE, (detail) => new CheckpointError(detail, INDEX_FILE));
  let json: unknown;
  try {
    json = JSON.parse(source);
  } catch (e) {
    throw new CheckpointError(`is not valid JSON (${(e as Error).message})`, INDEX_FILE);
  }
  const weightMap = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    throw new CheckpointError('field "weight_map" is missing or not an object of tensor name → shard file', INDEX_FILE);
  }
  const entries = Object.entries(weightMap);
  for (const [name, shard] of entries) {
    // shards are looked up by base name; a path could point outside the model folder
    if (typeof shard !== 'string' || shard === '' || /[\\/]/.test(shard)) {
      throw new CheckpointError(`field "weight_map" gives tensor ${JSON.stringify(name)} the shard ${JSON.stringify(shard)}, which is not a file name`, INDEX_FILE);
    }
  }
  return new Map(entries as [string, string][]);
}

function checkWeights(
  config: ModelConfig,
  tensors: Map<string, HostTensor>,
  fileOf: Map<string, string>,
  missingFile: string,
): Map<string, HostTensor> {
  checkLayerCount(config, tensors.keys(), missingFile); // before a table of numLayers layers is built
  const expected = expectedWeights(config);
  const found = new Map<string, { tensor: HostTensor; file: string; stored: string }>();
  const architecture = `${config.modelType} with ${config.numLayers} layers`;
  for (const [stored, tensor] of tensors) {
    const name = canonicalName(stored, config);
    const file = fileOf.get(stored) ?? missingFile;
    if (expected.has(name)) {
      if (found.has(name)) {
        throw new CheckpointError(`tensor ${JSON.stringify(stored)} appears twice (also as ${JSON.stringify(found.get(name)!.stored)})`, file, stored);
      }
      found.set(name, { tensor, file, stored });
    } else if (!isIgnorable(name, config)) {
      throw new CheckpointError(
        `tensor ${JSON.stringify(stored)} is not part of a ${architecture} as config.json describes it; the weights belong to a different architecture or config.json does not match them`,
        file,
        stored,
      );
    }
  }
  const weights = new Map<string, HostTensor>();
  for (const [name, shape] of expected) {
    const entry = found.get(name);
    if (entry === undefined) {
      throw new CheckpointError(
        `tensor ${JSON.stringify(name)} is missing; config.json (${architecture}) needs it with shape ${formatShape(shape)}`,
        missingFile,
        name,
      );
    }
    const actual = entry.tensor.shape;
    if (actual.length !== shape.length || actual.some((n, i) => n !== shape[i])) {
      throw new CheckpointError(
        `tensor ${JSON.stringify(entry.stored)} has shape ${formatShape(actual)} but config.json implies ${formatShape(shape)}; config.json does not describe these weights`,
        entry.file,
        entry.stored,
      );
    }
    // one NaN or ±Infinity makes every logit non-finite; refuse it here, naming the tensor
    const nonFinite = nonFiniteDetail(entry.tensor.data, actual);
    if (nonFinite !== null) {
      throw new CheckpointError(`tensor ${JSON.stringify(entry.stored)} ${nonFinite}; the weights are corrupt`, entry.file, entry.stored);
    }
    weights.set(name, entry.tensor);
  }
  return weights;
}

function readTokenizer(files: ModelFiles, config: ModelConfig): HoneTokenizer {
  const tokenizerBytes = files.get('tokenizer.json');
  if (tokenizerBytes === undefined) {
    throw new TokenizerError('is missing; Hone needs the fast-tokenizer file that transformers saves with the model', 'tokenizer.json');
  }
  const tokenizerJson = text(tokenizerBytes, 'tokenizer.json', () => new TokenizerError('is not UTF-8 text', 'tokenizer.json'));
  const configBytes = files.get('tokenizer_config.json');
  let configJson =
    configBytes === undefined
      ? undefined
      : text(configBytes, 'tokenizer_config.json', () => new TokenizerError('is not UTF-8 text', 'tokenizer_config.json'));
  // transformers ≥ 4.43 may save the chat template beside tokenizer_config.json instead of in it.
  const templateBytes = files.get('chat_template.jinja');
  if (templateBytes !== undefined) {
    const template = text(templateBytes, 'chat_template.jinja', () => new TokenizerError('is not UTF-8 text', 'chat_template.jinja'));
    let parsed: Record<string, unknown> = {};
    if (configJson !== undefined) {
      try {
        parsed = JSON.parse(configJson) as Record<string, unknown>;
      } catch {
        parsed = {}; // fromJson below reports the syntax error with its position
      }
    }
    if (typeof parsed === 'object' && parsed !== null && parsed['chat_template'] == null) {
      configJson = JSON.stringify({ ...parsed, chat_template: template });
    }
  }
  // embeddingRows: ids are checked against the embedding in the raw JSON, before the library builds its tables
  const tokenizer = HoneTokenizer.fromJson(tokenizerJson, configJson, { embeddingRows: config.vocabSize });
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new TokenizerError(
      `has ${tokenizer.vocabSize} token ids but config.json has vocab_size ${config.vocabSize}: ids from ${config.vocabSize} up would have no embedding row; the tokenizer belongs to a different model`,
      'tokenizer.json',
    );
  }
  return tokenizer;
}

/**
 * Reads and checks a whole checkpoint. Throws ConfigError (config.json), SafetensorsError (a
 * weights file that cannot be read), CheckpointError (missing, extra or misshapen tensors, shards)
 * or TokenizerError, each naming the file and the tensor or field.
 */
export function loadCheckpoint(files: ModelFiles): Checkpoint {
  const { config, rawConfig } = readConfig(files);
  const tokenizer = readTokenizer(files, config); // before the weights: it is cheap and fails fast
  const { tensors, fileOf } = readTensors(files);
  const weights = checkWeights(config, tensors, fileOf, files.has(SINGLE_FILE) ? SINGLE_FILE : INDEX_FILE);
  return { config, rawConfig, weights, tokenizer };
}
