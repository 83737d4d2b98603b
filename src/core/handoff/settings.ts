// The settings a hand-off carries, in the Python stack's own names (transformers' TrainingArguments,
// TRL's SFTConfig, PEFT's configs), taken from a prepared run (run-builder.ts prepareRun: the method
// defaults merged, the trainer config checked, the row length chosen) so the cluster trains what
// the studio or `hone train` would have trained. train_trl.py embeds this object as JSON and reads
// it; axolotl.yaml is written from it; the tests compare both against the run.
import type { PreparedRun } from '../train/run-builder';
import type { LossMode, PromptFormat } from '../train/rows';
import type { TrlFormat } from './trl-data';

export interface HandoffSettings {
  /** the Hub id or path the scripts load (train_trl.py --model overrides it) */
  base_model: string;
  /** Hone's method name: lora, ia3, prefix, prompt, adapter, full, freeze */
  method: string;
  /** the method's settings as Hone used them (its library's key names) */
  method_config: Record<string, unknown>;
  /** PEFT methods: the adapter_config.json PEFT would write (peft.get_peft_config reads it); else null */
  peft_config: Record<string, unknown> | null;
  /** bottleneck adapters: AdapterHub's adapter config (the `adapters` library); else null */
  adapter_config: Record<string, unknown> | null;
  /** layer freezing: the parameters that train (canonical names, as named_parameters() gives them); else null */
  trainable_parameters: string[] | null;
  dataset_formats: TrlFormat[];
  train_file: string;
  eval_file: string | null;
  prompt_format: PromptFormat;
  /** a chat template the run used instead of the tokenizer's own; null: the tokenizer's */
  chat_template: string | null;
  loss: LossMode;
  completion_only_loss: boolean;
  assistant_only_loss: boolean;
  max_length: number;
  packing: boolean;
  learning_rate: number;
  lr_scheduler_type: 'linear' | 'cosine' | 'constant' | 'constant_with_warmup';
  warmup_steps: number;
  weight_decay: number;
  adam_beta1: number;
  adam_beta2: number;
  adam_epsilon: number;
  /** 0 turns clipping off, as in TrainingArguments */
  max_grad_norm: number;
  per_device_train_batch_size: number;
  gradient_accumulation_steps: number;
  max_steps: number;
  seed: number;
  /** validation every this many optimizer steps; null: no validation */
  eval_steps: number | null;
  early_stopping_patience: number | null;
  early_stopping_threshold: number;
  load_best_model_at_end: boolean;
  /** recompute activations in the backward (TrainingArguments gradient_checkpointing; Hone's trainer.gradientCheckpointing) */
  gradient_checkpointing: boolean;
  output_dir: string;
}

export const TRAIN_FILE = 'data.jsonl';
export const EVAL_FILE = 'eval.jsonl';

/** Hone's schedules as transformers names them: Hone's constant schedule holds after its warm-up. */
function scheduler(schedule: string, warmup: number): HandoffSettings['lr_scheduler_type'] {
  if (schedule === 'constant') return warmup > 0 ? 'constant_with_warmup' : 'constant';
  if (schedule === 'cosine' || schedule === 'linear') return schedule;
  throw new Error(`trainer.schedule ${JSON.stringify(schedule)} has no transformers equivalent`);
}

export interface HandoffInput {
  run: PreparedRun;
  method: string;
  baseModel: string;
  promptFormat: PromptFormat;
  loss: LossMode;
  packing: boolean;
  chatTemplate?: string;
  formats: TrlFormat[];
  hasValidation: boolean;
}

/** The hand-off's settings from a prepared run; reads the method's exported config (PEFT's names). */
export async function handoffSettings(input: HandoffInput): Promise<HandoffSettings> {
  const { run, method } = input;
  const peftMethod = run.peft.method!;
  let peftConfig: Record<string, unknown> | null = null;
  let adapterConfig: Record<string, unknown> | null = null;
  let trainable: string[] | null = null;
  if (method === 'freeze') {
    trainable = [...peftMethod.variables().keys()].sort();
  } else if (method !== 'full') {
    // the config half of the method's own export: PEFT's adapter_config.json, or AdapterHub's
    const exported = await peftMethod.exportFiles({ baseModel: input.baseModel });
    if ('peft_type' in exported.config) peftConfig = { ...exported.config, inference_mode: false };
    else adapterConfig = exported.config;
  }
  const t = run.trainer;
  return {
    base_model: input.baseModel,
    method,
    method_config: run.methodConfig,
    peft_config: peftConfig,
    adapter_config: adapterConfig,
    trainable_parameters: trainable,
    dataset_formats: input.formats,
    train_file: TRAIN_FILE,
    eval_file: input.hasValidation ? EVAL_FILE : null,
    prompt_format: input.promptFormat,
    chat_template: input.chatTemplate ?? null,
    loss: input.loss,
    completion_only_loss: input.loss !== 'all',
    assistant_only_loss: input.loss === 'assistant',
    max_length: run.maxLength,
    packing: input.packing,
    learning_rate: t.learningRate,
    lr_scheduler_type: scheduler(t.schedule, t.warmupSteps),
    warmup_steps: t.warmupSteps,
    weight_decay: t.weightDecay,
    adam_beta1: t.betas[0],
    adam_beta2: t.betas[1],
    adam_epsilon: t.eps,
    max_grad_norm: t.maxGradNorm ?? 0,
    per_device_train_batch_size: t.batchSize,
    gradient_accumulation_steps: t.gradientAccumulationSteps,
    max_steps: t.totalSteps,
    seed: t.seed,
    eval_steps: input.hasValidation ? t.evalEvery : null,
    early_stopping_patience: t.earlyStoppingPatience,
    early_stopping_threshold: t.earlyStoppingThreshold,
    load_best_model_at_end: t.loadBestAtEnd,
    gradient_checkpointing: t.gradientCheckpointing,
    output_dir: 'output',
  };
}
