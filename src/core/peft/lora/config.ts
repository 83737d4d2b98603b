// LoraConfig as PEFT 0.21 writes it (peft/tuners/lora/config.py): every key, with PEFT's default.
// Hone interprets the keys listed in INTERPRETED; the rest must keep their default.
import type { ModelConfig } from '../../model/config';
import { bool, checkTaskType, finiteNumber, layerList, mergeConfig, moduleSpec, positiveInt, type Json } from '../schema';
import { PeftError } from '../types';

export const LORA_DEFAULTS: Json = {
  alora_invocation_tokens: null,
  alpha_pattern: {},
  arrow_config: null,
  auto_mapping: null,
  base_model_name_or_path: null,
  bias: 'none',
  corda_config: null,
  ensure_weight_tying: false,
  eva_config: null,
  exclude_modules: null,
  fan_in_fan_out: false,
  inference_mode: false,
  init_lora_weights: true,
  kasa_config: null,
  layer_replication: null,
  layers_pattern: null,
  layers_to_transform: null,
  loftq_config: {},
  lora_alpha: 8,
  lora_bias: false,
  lora_dropout: 0.0,
  lora_ga_config: null,
  megatron_config: null,
  megatron_core: 'megatron.core',
  modules_to_save: null,
  monteclora_config: null,
  peft_type: 'LORA',
  peft_version: '0.21.0',
  qalora_group_size: 16,
  r: 8,
  rank_pattern: {},
  revision: null,
  target_modules: null,
  target_parameters: null,
  task_type: 'CAUSAL_LM',
  trainable_token_indices: null,
  use_bdlora: null,
  use_dora: false,
  use_qalora: false,
  use_rslora: false,
  velora_config: null,
};

const INTERPRETED = [
  'r',
  'lora_alpha',
  'lora_dropout',
  'target_modules',
  'exclude_modules',
  'layers_to_transform',
  'use_rslora',
  'init_lora_weights',
  'fan_in_fan_out',
  'task_type',
];
const BOOKKEEPING = [
  'auto_mapping',
  'base_model_name_or_path',
  'revision',
  'inference_mode',
  'peft_type',
  'peft_version',
  'layers_pattern',
  'megatron_core',
  'qalora_group_size',
  'ensure_weight_tying',
];

/** PEFT's TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING for the families Hone runs. */
export const LORA_DEFAULT_TARGETS: Record<string, string[]> = {
  gpt2: ['c_attn'],
  llama: ['q_proj', 'v_proj'],
  qwen2: ['q_proj', 'v_proj'],
};

export interface LoraSettings {
  raw: Json;
  r: number;
  alpha: number;
  dropout: number;
  useRslora: boolean;
  /** true: A kaiming-uniform, B zeros (output unchanged); 'gaussian': A ~ N(0, 1/r), B zeros; false: both nn.Linear default (tests only) */
  init: true | false | 'gaussian';
  targetModules: string | string[] | null;
  excludeModules: string | string[] | null;
  layersToTransform: number[] | null;
  /** alpha / r, or alpha / √r with rsLoRA */
  scaling: number;
}

export function parseLoraConfig(file: string, raw: unknown, model: ModelConfig): LoraSettings {
  const config = mergeConfig(file, raw, LORA_DEFAULTS, INTERPRETED, BOOKKEEPING);
  if (config['peft_type'] !== 'LORA') throw new PeftError(`peft_type must be "LORA", got ${JSON.stringify(config['peft_type'])}`, file, 'peft_type');
  checkTaskType(file, config);
  const r = positiveInt(file, config, 'r');
  const alpha = finiteNumber(file, config, 'lora_alpha', Number.MIN_VALUE);
  const dropout = finiteNumber(file, config, 'lora_dropout', 0, 0.999);
  const useRslora = bool(file, config, 'use_rslora');
  bool(file, config, 'fan_in_fan_out'); // PEFT decides per layer type (Conv1D: true), so the value is informational
  const initValue = config['init_lora_weights'];
  if (initValue !== true && initValue !== false && initValue !== 'gaussian') {
    throw new PeftError(`must be true, false or "gaussian" (other PEFT initialisations are not supported), got ${JSON.stringify(initValue)}`, file, 'init_lora_weights');
  }
  return {
    raw: config,
    r,
    alpha,
    dropout,
    useRslora,
    init: initValue,
    targetModules: moduleSpec(file, config, 'target_modules'),
    excludeModules: moduleSpec(file, config, 'exclude_modules'),
    layersToTransform: layerList(file, config, 'layers_to_transform', model.numLayers),
    scaling: useRslora ? alpha / Math.sqrt(r) : alpha / r,
  };
}
