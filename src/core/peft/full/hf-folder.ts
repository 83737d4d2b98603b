// A whole Hugging Face checkpoint folder, as transformers' save_pretrained plus the tokenizer's
// save_pretrained write it, so that AutoModelForCausalLM.from_pretrained(dir),
// AutoTokenizer.from_pretrained(dir) and Hone's own loadCheckpoint all read it back:
//   config.json            the base checkpoint's config (every key kept: rope_scaling, ids, …) with
//                          architectures, model_type and torch_dtype/dtype "float32" (the weights are)
//   model.safetensors      float32, canonical names, "format": "pt"; tied weights (lm_head when
//                          tie_word_embeddings) left out, as transformers saves them
//   generation_config.json the base's, else the one transformers derives from config.json
//   tokenizer.json, tokenizer_config.json (+ special_tokens_map.json, chat_template.jinja when the
//                          base has them): the base model's own bytes — training never changes the
//                          tokenizer
// Used by full fine-tuning and layer freezing (through exportAdapterFolder) and by the merged-LoRA export.
import type { ModelConfig } from '../../model/config';
import { writeSafetensors, type HostTensor } from '../../model/safetensors';
import { configJson } from './checkpoint';

/** The base files a checkpoint export copies as they are (the tokenizer and its companions). */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja'] as const;

/** What every exported checkpoint holds at least: what AutoTokenizer and AutoModelForCausalLM read. */
export const CHECKPOINT_FILES = ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'] as const;

/** transformers' version line in files it writes; ours says which Hone wrote them instead. */
const WRITER = 'hone';

export interface CheckpointFolderInput {
  modelConfig: ModelConfig;
  /** the base checkpoint's config.json as read; configJson(modelConfig) when not at hand */
  rawConfig?: Record<string, unknown>;
  /** the base model's Hub id or name (config _name_or_path, the model card's base_model) */
  baseModel: string;
  /** the decoder's weights under canonical names (exactly expectedWeights: tied ones are absent) */
  weights: Map<string, HostTensor>;
  /** the base model's files (file name → bytes): the tokenizer files are copied from here */
  baseFiles: ReadonlyMap<string, Uint8Array>;
  /** how the weights were made, for the model card ('full fine-tuning', 'LoRA merged into the base') */
  how: string;
}

/** config.json for float32 weights: the base's keys, plus the ones Auto classes dispatch on. */
export function checkpointConfig(modelConfig: ModelConfig, rawConfig: Record<string, unknown> | undefined, baseModel: string): Record<string, unknown> {
  const derived = configJson(modelConfig);
  const config: Record<string, unknown> = { ...(rawConfig ?? derived) };
  // transformers' own tiny checkpoints (the fixtures) may lack architectures; AutoModelForCausalLM needs it
  if (!Array.isArray(config['architectures']) || config['architectures'].length === 0) config['architectures'] = derived['architectures'];
  config['model_type'] = modelConfig.modelType;
  config['_name_or_path'] = baseModel;
  // transformers < 4.56 reads torch_dtype, ≥ 4.56 dtype; a bf16 base exported as float32 must say float32 in both
  config['torch_dtype'] = 'float32';
  config['dtype'] = 'float32';
  return config;
}

/** generation_config.json as GenerationConfig.from_model_config writes it: the token ids, nothing else. */
export function generationConfig(config: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { _from_model_config: true };
  for (const key of ['bos_token_id', 'eos_token_id', 'pad_token_id'] as const) {
    if (config[key] !== undefined && config[key] !== null) out[key] = config[key];
  }
  out['transformers_version'] = WRITER;
  return out;
}

function modelCard(baseModel: string, how: string): string {
  return ['---', `base_model: ${JSON.stringify(baseModel)}`, 'library_name: transformers', 'tags:', '- hone', '---', '', `# ${baseModel}, ${how}`, '', `Trained with Hone (${how}). A complete checkpoint: load it with AutoModelForCausalLM and AutoTokenizer.`, ''].join('\n');
}

const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value, null, 2) + '\n');

/** The checkpoint folder's files (name → bytes). Throws, naming the file, when the base has no tokenizer.json. */
export function checkpointFolder(input: CheckpointFolderInput): Map<string, Uint8Array> {
  const config = checkpointConfig(input.modelConfig, input.rawConfig, input.baseModel);
  const files = new Map<string, Uint8Array>();
  files.set('config.json', json(config));
  files.set('model.safetensors', writeSafetensors(input.weights, { format: 'pt' }));
  const baseGeneration = input.baseFiles.get('generation_config.json');
  files.set('generation_config.json', baseGeneration ?? json(generationConfig(config)));
  for (const name of TOKENIZER_FILES) {
    const bytes = input.baseFiles.get(name);
    if (bytes) files.set(name, bytes);
  }
  if (!files.has('tokenizer.json')) {
    throw new Error(`tokenizer.json: the base model's files do not include it, so the exported checkpoint could not be reloaded (files given: ${[...input.baseFiles.keys()].join(', ') || 'none'})`);
  }
  // AutoTokenizer falls back to config.json's model_type without it, but transformers always writes one
  if (!files.has('tokenizer_config.json')) files.set('tokenizer_config.json', json({ tokenizer_class: 'PreTrainedTokenizerFast' }));
  files.set('README.md', new TextEncoder().encode(modelCard(input.baseModel, input.how)));
  return files;
}
