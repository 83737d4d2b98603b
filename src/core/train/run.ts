// What a run needs besides its rows: PEFT methods with per-method defaults, the model with a fresh
// method, and the checks of row length against the model. The rows themselves come from the run
// builder (run-builder.ts → rows/), which the CLI, the worker, the FLAN experiment and the bench share.
//
// buildRows / splitRows below are the pre-builder path for (prompt, completion) pairs (keep-completion
// truncation, a split by rows); nothing in the app calls them any more, only their own tests do.
// Tokenization there follows TRL's SFTTrainer for prompt-completion data (trl/trainer/sft_trainer.py,
// tokenize_fn): the prompt and prompt + completion are tokenized separately, the first len(prompt ids)
// tokens of the joint encoding are the prompt (labels −100) and the rest the completion, then EOS is
// appended.
import type { Decoder } from '../model/decoder';
import type { HoneTokenizer } from '../tokenizer/tokenizer';
import { PeftModel } from '../peft/model';
import { createMethod, getMethod, listMethods } from '../peft/registry';
import '../peft/methods';
import { Rng } from '../rng';
import { buildRows as buildTokenRows, type Row, type RowOptions, type TokenizedExample } from './batch';
import type { TrainerConfig } from './config';

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

/** One example's token ids, split as described at the top. */
export function tokenizeExample(tokenizer: HoneTokenizer, example: TrainExample): TokenizedExample {
  const promptIds = tokenizer.encode(example.prompt);
  const all = tokenizer.encode(example.prompt + example.completion);
  return { promptIds: all.slice(0, promptIds.length), completionIds: all.slice(promptIds.length) };
}

export interface BuildRowsOptions {
  /** longest row in tokens */
  maxLength: number;
  /** how over-long pairs are cut (batch.ts); default 'keep-completion' */
  truncation?: RowOptions['truncation'];
  packing?: boolean;
}

/**
 * @deprecated the run builder (run-builder.ts) builds every run's rows; this is the old pair path.
 * Tokenized training rows with completion-only labels. `dropped` counts examples that had no
 * completion token left after truncation. Throws, saying why, when there are no examples, an
 * example is not a pair of strings, or no example keeps a completion token.
 */
export function buildRows(tokenizer: HoneTokenizer, examples: readonly TrainExample[], opts: BuildRowsOptions): { rows: Row[]; dropped: number } {
  if (tokenizer.eosTokenId === null) {
    throw new Error('buildRows: the tokenizer has no EOS token (tokenizer_config.json eos_token); completions need one to end on');
  }
  examples.forEach((ex, i) => {
    if (typeof ex?.prompt !== 'string' || typeof ex?.completion !== 'string') {
      throw new Error(`buildRows: example ${i} must have string "prompt" and "completion" fields`);
    }
  });
  const tokenized = examples.map((ex) => tokenizeExample(tokenizer, ex));
  try {
    return buildTokenRows(tokenized, { maxLength: opts.maxLength, eosTokenId: tokenizer.eosTokenId, truncation: opts.truncation, packing: opts.packing });
  } catch (error) {
    const message = (error as Error).message;
    if (message.includes('no example has completion tokens left')) {
      throw new Error(`${message}; all ${examples.length} example(s) were dropped, nothing to train on`);
    }
    throw error;
  }
}

/**
 * @deprecated the run builder splits by examples (splitOff in run-builder.ts), never by rows.
 * Splits rows into training and validation sets: a seeded shuffle, then ⌊fraction · n⌋ rows (at
 * least one when fraction > 0) for validation. At least one row always stays for training.
 */
export function splitRows(rows: readonly Row[], fraction: number, seed: number): { train: Row[]; validation: Row[] } {
  if (!(fraction >= 0 && fraction < 1)) throw new Error(`splitRows: the validation fraction must be in [0, 1), got ${fraction}`);
  if (fraction === 0) return { train: [...rows], validation: [] };
  if (rows.length < 2) throw new Error(`splitRows: ${rows.length} row(s) cannot be split into training and validation sets; add examples or set the validation fraction to 0`);
  const order = rows.map((_, i) => i);
  const rng = new Rng(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const count = Math.min(rows.length - 1, Math.max(1, Math.floor(fraction * rows.length)));
  // sorted so the sets keep the dataset's order: only membership is random
  const validation = new Set(order.slice(0, count));
  return { train: rows.filter((_, i) => !validation.has(i)), validation: rows.filter((_, i) => validation.has(i)) };
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
