// The two models an evaluation compares, built from ONE loaded decoder: the tuned model is the
// decoder with a PEFT method (a training run's checkpoint or an imported adapter folder), the base
// model is the same PeftModel with the method switched off (PEFT's disable_adapter()), so both read
// the very same weights and nothing is loaded twice.
// Generation with a method plugged in: generate() drives a Decoder with a KV cache, so the method is
// attached around every forward call (PeftModel.withAdapter is synchronous; a whole generation
// awaits between tokens). Prefix and prompt tuning prepare the first, cache-less pass the way
// PeftModel.forward does (prefix keys in front, soft tokens in front with their logits dropped);
// later passes continue from the cache, which then already holds those virtual positions, as
// PEFT's generate does.
import * as tf from '@tensorflow/tfjs';
import { computeLogits, type Decoder, type ForwardOptions, type ForwardResult } from '../model/decoder';
import { generate, type GenerationSettings } from '../model/generate';
import { PeftModel } from '../peft/model';
import { readAdapterFolder, type AdapterFiles } from '../peft/io';
import type { HoneTokenizer } from '../tokenizer/tokenizer';
import { getRun, loadLatestCheckpoint, type HoneDb } from '../store';
import { createPeftModel, virtualTokensOf } from '../train/run';
import { storedConfig, trainerStateOf } from '../train/session';
import { tensorsWithPrefix } from '../train/state';
import type { LogitsFunction } from './loglik';
import type { GenerateFunction, ModelUnderTest } from './run';

/** A Decoder whose forward runs with the PeftModel's method attached (when enabled): what generate() drives. */
export function adaptedDecoder(peft: PeftModel): Decoder {
  const { decoder } = peft;
  const view = Object.create(decoder) as Decoder;
  view.forward = (inputIds: tf.Tensor2D | null, opts: ForwardOptions = {}): ForwardResult => peft.withAdapter(() => forwardWithMethod(peft, inputIds, opts));
  return view;
}

function forwardWithMethod(peft: PeftModel, inputIds: tf.Tensor2D | null, opts: ForwardOptions): ForwardResult {
  const { decoder } = peft;
  const method = peft.enabled ? peft.method : null;
  const firstPass = !opts.cache || opts.cache.length === 0;
  if (!method?.prepareInputs || !firstPass || !inputIds) return decoder.forward(inputIds, opts);
  const prepared = method.prepareInputs(decoder, inputIds, opts.attentionMask);
  try {
    const out = decoder.forward(prepared.inputIds, { ...opts, ...prepared.options });
    if (prepared.virtualPositions === 0) return out;
    const [batch, time, vocab] = out.logits.shape;
    const logits = out.logits.slice([0, prepared.virtualPositions, 0], [batch, time - prepared.virtualPositions, vocab]) as tf.Tensor3D; // [B, T, V]
    out.logits.dispose();
    return { ...out, logits };
  } finally {
    if (prepared.options.inputsEmbeds && prepared.options.inputsEmbeds !== opts.inputsEmbeds) prepared.options.inputsEmbeds.dispose();
    if (prepared.options.attentionMask && prepared.options.attentionMask !== opts.attentionMask) prepared.options.attentionMask.dispose();
  }
}

/** Greedy/sampled text from a prompt with the method on or off; prompts get the tokenizer's special tokens, as training rows do. */
export function peftGenerator(peft: PeftModel, tokenizer: HoneTokenizer, enabled: boolean): GenerateFunction {
  const view = adaptedDecoder(peft);
  return async (prompt: string, settings: GenerationSettings, signal?: AbortSignal): Promise<string> => {
    const promptIds = tokenizer.encode(prompt);
    peft.enabled = enabled;
    const decode = (ids: number[]) => tokenizer.decode(ids, { skipSpecialTokens: true });
    const result = await generate(view, promptIds, settings, { decode, signal });
    if (result.stoppedBy === 'cancel') throw new DOMException('The evaluation was cancelled.', 'AbortError');
    return result.text ?? decode(result.newIds);
  };
}

/** Logits of id rows with the method on or off (log-likelihood metrics). */
export function peftLogits(peft: PeftModel, enabled: boolean): LogitsFunction {
  return (inputIds, attentionMask) => {
    peft.enabled = enabled;
    return computeLogits((ids, mask) => peft.forward(ids, mask), inputIds, attentionMask);
  };
}

/** The base and tuned sides of one PeftModel. They must run one after the other (they share the weights). */
export function modelSides(peft: PeftModel, tokenizer: HoneTokenizer): { base: ModelUnderTest; tuned: ModelUnderTest } {
  return {
    base: { generate: peftGenerator(peft, tokenizer, false), forward: peftLogits(peft, false) },
    tuned: { generate: peftGenerator(peft, tokenizer, true), forward: peftLogits(peft, true) },
  };
}

/**
 * For an evaluation of the base model alone: the "tuned" side replays what the base side just
 * produced (the runner always runs base, then tuned, on each example), so nothing runs twice.
 */
export function mirrored(base: ModelUnderTest): { base: ModelUnderTest; tuned: ModelUnderTest } {
  const outputs: string[] = [];
  const logits: Awaited<ReturnType<LogitsFunction>>[] = [];
  return {
    base: {
      generate: base.generate && (async (prompt, settings, signal) => {
        const text = await base.generate!(prompt, settings, signal);
        outputs.push(text);
        return text;
      }),
      forward: base.forward && (async (ids, mask) => {
        const result = await base.forward!(ids, mask);
        logits.push(result);
        return result;
      }),
    },
    tuned: {
      generate: base.generate && (async () => outputs.shift()!),
      forward: base.forward && (async () => logits.shift()!),
    },
  };
}

/** What the tuned side is, for the report. */
export interface TunedInfo {
  kind: 'run' | 'adapter';
  /** run id, or the adapter folder's name */
  id: string;
  name: string;
  method: string;
  /** the run's checkpoint step */
  step?: number;
}

/**
 * A training run's latest checkpoint as a PeftModel on `decoder`: the run's method built as the
 * run built it (same settings and seed), then its `weights/<param>` tensors assigned. Throws, naming
 * the run, when it trained another model, has no checkpoint yet, or its weights do not fit.
 */
export async function peftFromRun(db: HoneDb, decoder: Decoder, tokenizer: HoneTokenizer, model: { id: string; name: string }, runId: string): Promise<{ peft: PeftModel; info: TunedInfo }> {
  const run = await getRun(db, runId);
  if (!run) throw new Error(`Training run "${runId}" is not stored in this browser; it may have been deleted.`);
  const config = storedConfig(run);
  if (run.modelId !== model.id) {
    throw new Error(`Run “${config.name}” trained model ${run.modelId}, but the loaded model is “${model.name}”; load the run's model in the Models view to evaluate it.`);
  }
  const checkpoint = await loadLatestCheckpoint(db, runId);
  if (!checkpoint) throw new Error(`Run “${config.name}” has no checkpoint yet (one is saved every ${config.checkpointEvery} steps and when a run stops); train it further first.`);
  const weights = tensorsWithPrefix(trainerStateOf(checkpoint), 'weights/');
  const peft = createPeftModel(decoder, config.method, config.trainer.seed, { tokenize: (text) => tokenizer.encode(text) });
  try {
    for (const [name, variable] of peft.trainableVariables()) {
      const saved = weights.get(name);
      if (!saved) throw new Error(`Run “${config.name}”: its step ${checkpoint.step} checkpoint has no weights for "${name}"; the checkpoint is damaged.`);
      if (saved.shape.join() !== variable.shape.join()) {
        throw new Error(`Run “${config.name}”: checkpoint weights "${name}" are [${saved.shape}] but the model needs [${variable.shape}].`);
      }
      tf.tidy(() => variable.assign(tf.tensor(saved.data, saved.shape, 'float32')));
    }
  } catch (error) {
    peft.dispose();
    throw error;
  }
  return { peft, info: { kind: 'run', id: runId, name: config.name, method: config.method.name, step: checkpoint.step } };
}

/** An adapter folder (PEFT layout or AdapterHub) as a PeftModel on `decoder`; a bad folder attaches nothing. */
export function peftFromAdapter(decoder: Decoder, files: AdapterFiles, name: string): { peft: PeftModel; info: TunedInfo } {
  const method = readAdapterFolder(files, decoder);
  return { peft: new PeftModel(decoder, method), info: { kind: 'adapter', id: name, name, method: method.name } };
}

/** Positions the prompt may use on a GPT-2 model (learned positions), after the method's virtual tokens; Infinity for rotary models. */
export function promptBudget(peft: PeftModel, maxNewTokens: number): number {
  const { family, maxPositions } = peft.decoder.config;
  return family === 'gpt2' ? maxPositions - virtualTokensOf(peft) - maxNewTokens : Infinity;
}
