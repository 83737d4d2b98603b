// What a run needs besides its rows: PEFT methods with per-method defaults, the model with a fresh
// method, the checks of row length against the model, and Alpaca's prompt (renderInstruction, which
// the row builder and evaluation sets share). The rows themselves come from the run builder
// (run-builder.ts → rows/), which the CLI, the worker, the FLAN experiment and the bench share.
import type { Decoder } from '../model/decoder';
import { PeftModel } from '../peft/model';
import { createMethod, getMethod, listMethods } from '../peft/registry';
import '../peft/methods';
import type { TrainerConfig } from './config';

/** A (prompt, completion) pair in text: what renderInstruction gives; inline examples reach the row builder as pairRecord(example). */
export interface TrainExample {
  prompt: string;
  completion: string;
}

/** A registry method name plus its settings in the reference library's key names (PEFT's for PEFT methods). */
export interface MethodSpec {
  name: string;
  config?: Record<string, unknown>;
}

export interface MethodDefaults {
  method: Record<string, unknown>;
  trainer: Partial<TrainerConfig>;
}

/**
 * Starting points for the models Hone trains in a browser (up to a few hundred million parameters,
 * runs of hundreds of steps), by method. Learning rates are those each method's papers and PEFT's
 * examples use; parameter-efficient methods need far higher rates than full fine-tuning because
 * they start at (or near) the identity and move few weights.
 */
const DEFAULTS: Record<string, MethodDefaults> = {
  // r 8 / alpha 16: PEFT's examples and the QLoRA recipe; 5e-4 because Hone's runs are short (2e-4 suits long runs)
  lora: { method: { r: 8, lora_alpha: 16, lora_dropout: 0.05 }, trainer: { learningRate: 5e-4 } },
  // IA³ learns only scaling vectors: PEFT's IA3 examples train at 3e-3
  ia3: { method: {}, trainer: { learningRate: 3e-3 } },
  // Li & Liang: prefixes of ~10 tokens suffice for small models; rates around 1e-2 (PEFT's prefix example)
  prefix: { method: { num_virtual_tokens: 10, prefix_projection: false }, trainer: { learningRate: 1e-2 } },
  // Lester et al.: soft prompts train at high rates (PEFT's prompt-tuning example uses 3e-2)
  prompt: { method: { num_virtual_tokens: 8, prompt_tuning_init: 'RANDOM' }, trainer: { learningRate: 3e-2 } },
  // Houlsby, reduction factor 16 (AdapterHub's default); 1e-3 for short runs (AdapterHub suggests 1e-4 for long ones)
  adapter: { method: { kind: 'houlsby', reduction_factor: 16 }, trainer: { learningRate: 1e-3 } },
  // every weight moves: transformers' own default rate
  full: { method: {}, trainer: { learningRate: 5e-5 } },
  // the top block only, a little higher than full fine-tuning because fewer weights adapt
  freeze: { method: { trainable_layers: 1, train_norms: false }, trainer: { learningRate: 1e-4 } },
};

/** Sensible method settings and trainer settings for a registry method; copies, safe to edit. */
export function methodDefaults(name: string): MethodDefaults {
  getMethod(name); // unknown name → the registry's error, which lists the known ones
  const defaults = DEFAULTS[name];
  if (!defaults) throw new Error(`methodDefaults: method "${name}" is registered but has no defaults in train/run.ts`);
  return structuredClone(defaults);
}

/** Registry names of the methods there are defaults for, in registry order. */
export function trainableMethodNames(): string[] {
  return listMethods()
    .map((m) => m.name)
    .filter((n) => n in DEFAULTS);
}

/** Alpaca's prompt (tatsu-lab/stanford_alpaca, PROMPT_DICT), with and without an input. */
export function renderInstruction(record: { instruction: string; context?: string; output: string }): TrainExample {
  const context = record.context?.trim();
  const prompt = context
    ? 'Below is an instruction that describes a task, paired with an input that provides further context. ' +
      'Write a response that appropriately completes the request.\n\n' +
      `### Instruction:\n${record.instruction}\n\n### Input:\n${context}\n\n### Response:\n`
    : 'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n' +
      `### Instruction:\n${record.instruction}\n\n### Response:\n`;
  return { prompt, completion: record.output };
}

/**
 * A PeftModel with a fresh method: the method's defaults (methodDefaults) under `method.config`.
 * `seed` fixes the method's initial weights and its dropout masks. Bad settings throw the method's
 * own error, which names the key. `tokenize` is needed only for prompt tuning initialised from text.
 */
export function createPeftModel(decoder: Decoder, method: MethodSpec, seed: number, opts: { tokenize?: (text: string) => number[] } = {}): PeftModel {
  const { method: defaults } = methodDefaults(method.name);
  const config = { ...defaults, ...(method.config ?? {}) };
  return new PeftModel(decoder, createMethod(method.name, decoder, config, { seed, tokenize: opts.tokenize }));
}

/** Virtual tokens a method puts in front of every row (prefix and prompt tuning), 0 otherwise. */
export function virtualTokensOf(model: PeftModel): number {
  const method = model.method as { virtualTokens?: number } | null;
  return typeof method?.virtualTokens === 'number' ? method.virtualTokens : 0;
}

/**
 * Refuses a row length the model cannot take with this method: GPT-2 has learned positions for
 * n_positions tokens, and prefix / prompt tuning move real tokens P positions along.
 */
export function checkRowLength(model: PeftModel, maxLength: number): void {
  const { maxPositions, family } = model.decoder.config;
  const virtual = virtualTokensOf(model);
  if (family === 'gpt2' && maxLength + virtual > maxPositions) {
    throw new Error(
      `maxLength ${maxLength}${virtual ? ` + ${virtual} virtual tokens` : ''} exceeds the model's ${maxPositions} positions (n_positions); ` +
        `lower maxLength to ${maxPositions - virtual} or fewer`,
    );
  }
}
