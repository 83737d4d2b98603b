// The pretraining loop shared by the CLI (`hone pretrain`, checkpoints in files) and the studio's
// Pretrain view (checkpoints in IndexedDB): it prepares the corpus, builds the model from seeded random
// weights (or a saved checkpoint), runs the Trainer, takes a checkpoint every `checkpointEvery` updates,
// stops on pause, cancel or a time budget, and when every step is done returns the model as Hugging Face
// Llama-layout files with a manifest. Where checkpoints and progress lines go is the caller's
// PretrainStorage; nothing here touches files or the DOM.
import * as tf from '@tensorflow/tfjs';
import { Decoder } from '../model/decoder';
import { randomWeights } from '../model/random';
import { writeSafetensors } from '../model/safetensors';
import { PeftModel, createMethod } from '../peft';
import { Trainer } from '../train/loop';
import type { TrainerState } from '../train/state';
import {
  HONE_TINY,
  PAD_ID,
  llamaConfigJson,
  modelConfig,
  packDocuments,
  prepareCorpus,
  type PreparedCorpus,
  type PretrainSpec,
} from './pretrain';

/** A resumable point of a pretraining run. */
export interface PretrainCheckpoint {
  /** the Trainer's state: weights, AdamW moments, data order, step */
  state: TrainerState;
  /** pretraining wall time so far, summed over every call that worked on this run */
  elapsedSeconds: number;
  /** tokens trained on so far */
  tokens: number;
}

/** One logged step, as progress.jsonl holds it (one JSON object per line). */
export interface ProgressLine {
  step: number;
  loss: number;
  lr: number;
  tokensPerSecond: number;
  elapsedSeconds: number;
  skipped: boolean;
}

/** Where a run keeps its checkpoint and its progress lines (files for the CLI, IndexedDB in the studio). */
export interface PretrainStorage {
  /**
   * The latest checkpoint, or null to start from scratch. Throws when it was saved for another spec.
   * Progress lines logged after the checkpoint's step (a run cut off between checkpoints) are dropped,
   * so the steps a resume repeats are not logged twice.
   */
  load(spec: PretrainSpec): Promise<PretrainCheckpoint | null>;
  /** Replaces the checkpoint; all or nothing (a kill mid-save leaves the previous one usable). */
  save(spec: PretrainSpec, checkpoint: PretrainCheckpoint): Promise<void>;
  appendProgress(line: ProgressLine): Promise<void>;
}

export type PretrainEvent =
  | { kind: 'stage'; stage: 'corpus' | 'model' | 'training' | 'export'; message: string }
  | {
      kind: 'progress';
      step: number;
      totalSteps: number;
      loss: number;
      lr: number;
      /** this call's tokens per second */
      tokensPerSecond: number;
      etaSeconds: number;
      elapsedSeconds: number;
      tokens: number;
      skipped: boolean;
    }
  | { kind: 'checkpoint'; step: number; elapsedSeconds: number; tokens: number };

export interface PretrainLoopOptions {
  /** a checkpoint every this many updates: what a crash can cost */
  checkpointEvery: number;
  /** a progress line every this many updates (and at the last) */
  logEvery: number;
  /** this call stops with a checkpoint ('paused') after this much wall time; default: no limit */
  maxSeconds?: number;
  /** cancel: stop before the next update without a new checkpoint (the last one stays resumable) */
  signal?: AbortSignal;
  /** pause: take a checkpoint before the next update and stop ('paused') */
  pauseSignal?: AbortSignal;
  onEvent?: (event: PretrainEvent) => void;
  /** the command that reproduces this model, recorded in the manifest */
  command: string;
  /** a corpus prepared for this very spec (saves re-tokenizing it); prepared here when absent */
  corpus?: PreparedCorpus;
}

export interface PretrainResult {
  status: 'completed' | 'paused' | 'cancelled';
  step: number;
  totalSteps: number;
  /** the loss of the last update this call ran; null when it ran none */
  loss: number | null;
  /** tokens per second over this call's updates */
  tokensPerSecond: number;
  elapsedSeconds: number;
  /** when completed: config.json, model.safetensors, tokenizer.json, tokenizer_config.json, manifest.json */
  files?: Map<string, Uint8Array>;
  manifest?: PretrainManifest;
}

export interface PretrainManifest {
  name: 'hone-tiny';
  command: string;
  spec: PretrainSpec;
  seed: number;
  corpusHash: string;
  corpusDocuments: number;
  tokensSeen: number;
  finalLoss: number | null;
  wallSeconds: number;
  backend: string;
  parameters: number;
}

const SPEC_KEYS = Object.keys(HONE_TINY) as (keyof PretrainSpec)[];

/**
 * The spec as checkpoints record it. Keys in HONE_TINY's order, so the same spec always gives the same
 * text whatever order its object was built in (and older checkpoints, written in that order, still match).
 */
export function specKey(spec: PretrainSpec): string {
  return JSON.stringify(spec, SPEC_KEYS);
}

/** Throws naming the field when a spec cannot be trained (a spec may come from a form or a message). */
export function checkSpec(spec: PretrainSpec): void {
  for (const key of SPEC_KEYS) {
    const value = spec[key];
    const real = key === 'learningRate';
    if (typeof value !== 'number' || !Number.isFinite(value) || (!real && !Number.isInteger(value))) {
      throw new Error(`pretrain spec: ${key} must be a ${real ? 'number' : 'whole number'}, got ${JSON.stringify(value)}`);
    }
    const min = key === 'warmupSteps' || key.endsWith('Seed') || key === 'seed' ? 0 : key === 'learningRate' ? Number.MIN_VALUE : 1;
    if (value < min) throw new Error(`pretrain spec: ${key} must be ${min === 0 ? '≥ 0' : 'positive'}, got ${value}`);
  }
  const extra = Object.keys(spec).filter((k) => !SPEC_KEYS.includes(k as keyof PretrainSpec));
  if (extra.length > 0) throw new Error(`pretrain spec: unknown field(s) ${extra.join(', ')}; known: ${SPEC_KEYS.join(', ')}`);
  if (spec.hiddenSize % spec.heads !== 0) throw new Error(`pretrain spec: hiddenSize ${spec.hiddenSize} is not a multiple of heads ${spec.heads}`);
  if (spec.heads % spec.kvHeads !== 0) throw new Error(`pretrain spec: heads ${spec.heads} is not a multiple of kvHeads ${spec.kvHeads}`);
}

/** The Trainer settings pretraining uses (GPT-style: cosine decay, AdamW with β2 0.95, weight decay 0.1, clip 1). */
export function pretrainTrainerConfig(spec: PretrainSpec) {
  return {
    totalSteps: spec.steps,
    batchSize: spec.batchSize,
    learningRate: spec.learningRate,
    warmupSteps: spec.warmupSteps,
    schedule: 'cosine' as const,
    weightDecay: 0.1,
    betas: [0.9, 0.95] as [number, number],
    maxGradNorm: 1,
    seed: spec.seed,
    padTokenId: PAD_ID,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs (or continues) pretraining until done, paused, cancelled or out of time; see the top of the file. */
export async function runPretrainLoop(spec: PretrainSpec, storage: PretrainStorage, opts: PretrainLoopOptions): Promise<PretrainResult> {
  checkSpec(spec);
  const { checkpointEvery, logEvery } = opts;
  if (!(checkpointEvery >= 1) || !(logEvery >= 1)) throw new Error(`pretrain: checkpointEvery and logEvery must be ≥ 1, got ${checkpointEvery} and ${logEvery}`);
  const maxSeconds = opts.maxSeconds ?? Infinity;
  if (!(maxSeconds > 0)) throw new Error(`pretrain: maxSeconds must be positive, got ${maxSeconds}`);
  const emit = opts.onEvent ?? (() => {});
  const backend = tf.getBackend();

  const saved = await storage.load(spec);
  emit({ kind: 'stage', stage: 'corpus', message: `generating ${spec.documents.toLocaleString('en-US')} documents and training the tokenizer` });
  const corpus = opts.corpus ?? prepareCorpus(spec);
  const rows = packDocuments(corpus.tokenizer, corpus.documents, spec.seqLen);
  emit({ kind: 'stage', stage: 'model', message: `${rows.length.toLocaleString('en-US')} rows of ${spec.seqLen} tokens; building the model` });
  const config = modelConfig(spec, corpus.tokenizer.vocabSize);
  const decoder = Decoder.fromHost(config, randomWeights(config, spec.seed));
  const model = new PeftModel(decoder, createMethod('full', decoder, {}));
  const tokensPerStep = spec.batchSize * spec.seqLen; // rows are packed full: every token counts

  let lastLoss: number | null = null;
  const priorSeconds = saved?.elapsedSeconds ?? 0;
  let started = performance.now();
  let stepsThisCall = 0;
  const thisCall = (): number => (performance.now() - started) / 1000;
  const elapsed = (): number => priorSeconds + thisCall();
  const timeUp = (): boolean => thisCall() > maxSeconds;
  // Progress lines are written in order, behind the training; awaited before each checkpoint and at the end.
  let writes: Promise<void> = Promise.resolve();
  const log = (line: ProgressLine): void => {
    writes = writes.then(() => storage.appendProgress(line));
    writes.catch(() => {}); // a failed write surfaces where `writes` is awaited, not as an unhandled rejection
  };
  const checkpoint = (state: TrainerState): PretrainCheckpoint => ({ state, elapsedSeconds: elapsed(), tokens: state.json.step * tokensPerStep });

  let trainer: Trainer | undefined;
  try {
    const onProgress = (event: { step: number; loss: number; lr: number; tokensPerSecond: number; etaSeconds: number; skipped: boolean }): void => {
      lastLoss = event.loss;
      stepsThisCall++;
      const progress = { step: event.step, loss: event.loss, lr: event.lr, tokensPerSecond: event.tokensPerSecond, elapsedSeconds: elapsed(), skipped: event.skipped };
      emit({ kind: 'progress', ...progress, totalSteps: spec.steps, etaSeconds: event.etaSeconds, tokens: event.step * tokensPerStep });
      if (event.step % logEvery === 0 || event.step === spec.steps) {
        log({ ...progress, tokensPerSecond: Math.round(event.tokensPerSecond), elapsedSeconds: Math.round(progress.elapsedSeconds) });
      }
      if (event.step % checkpointEvery === 0 || timeUp()) trainer?.pause(); // the checkpoint is taken between updates, below
    };
    trainer = saved
      ? Trainer.resume(model, { train: rows }, saved.state, { onProgress })
      : new Trainer(model, { train: rows }, pretrainTrainerConfig(spec), { onProgress });
    const t = trainer;
    const onPause = (): void => t.pause();
    opts.pauseSignal?.addEventListener('abort', onPause);
    if (opts.pauseSignal?.aborted) t.pause();
    emit({ kind: 'stage', stage: 'training', message: saved ? `resuming at step ${t.currentStep} of ${spec.steps}` : `training ${spec.steps} steps` });
    started = performance.now(); // corpus preparation is not training time

    const ended = { value: false };
    const running = t.run(opts.signal).finally(() => (ended.value = true));
    try {
      while (await pausedOrEnded(t, ended)) {
        // Checkpoint steps, pause() and the time budget all land here, between two updates.
        const state = await t.state();
        await writes;
        const point = checkpoint(state);
        if (state.json.step > (saved?.state.json.step ?? 0) || !saved) {
          await storage.save(spec, point);
          emit({ kind: 'checkpoint', step: state.json.step, elapsedSeconds: point.elapsedSeconds, tokens: point.tokens });
        }
        if (timeUp() || opts.pauseSignal?.aborted) {
          t.cancel();
          await running;
          return result('paused');
        }
        t.unpause();
        while (t.currentStatus === 'paused' && !ended.value) await sleep(5);
      }
      const run = await running;
      await writes;
      if (run.status === 'cancelled') return result('cancelled');
    } finally {
      opts.pauseSignal?.removeEventListener('abort', onPause);
      // a failure above must not leave the run going, nor its rejection unhandled
      if (!ended.value) {
        t.cancel();
        await running.catch(() => {});
      }
    }

    const state = await t.state();
    const point = checkpoint(state);
    await storage.save(spec, point);
    emit({ kind: 'checkpoint', step: state.json.step, elapsedSeconds: point.elapsedSeconds, tokens: point.tokens });
    emit({ kind: 'stage', stage: 'export', message: 'writing the model in Hugging Face Llama layout' });
    const exported = await exportPretrained(model, spec, corpus, { command: opts.command, finalLoss: lastLoss, wallSeconds: point.elapsedSeconds, backend });
    return { ...result('completed'), ...exported };
  } finally {
    trainer?.dispose();
    model.dispose();
    decoder.dispose();
  }

  function result(status: PretrainResult['status']): PretrainResult {
    const seconds = thisCall();
    return {
      status,
      step: trainer?.currentStep ?? saved?.state.json.step ?? 0,
      totalSteps: spec.steps,
      loss: lastLoss,
      tokensPerSecond: (stepsThisCall * tokensPerStep) / Math.max(seconds, 1e-9),
      elapsedSeconds: elapsed(),
    };
  }
}

/** true once the trainer has stopped between updates after pause(); false when its run ended. */
async function pausedOrEnded(trainer: Trainer, ended: { value: boolean }): Promise<boolean> {
  for (;;) {
    if (trainer.currentStatus === 'paused') return true;
    if (ended.value) return false;
    await sleep(10);
  }
}

/** The trained weights in canonical Llama names, the tokenizer and the manifest, as file bytes. */
async function exportPretrained(
  model: PeftModel,
  spec: PretrainSpec,
  corpus: PreparedCorpus,
  meta: { command: string; finalLoss: number | null; wallSeconds: number; backend: string },
): Promise<{ files: Map<string, Uint8Array>; manifest: PretrainManifest }> {
  const exported = await model.method!.exportFiles({ baseModel: 'hone-tiny', rawConfig: llamaConfigJson(spec, corpus.tokenizer.vocabSize) });
  const { _name_or_path: _, ...config } = exported.config;
  const manifest: PretrainManifest = {
    name: 'hone-tiny',
    command: meta.command,
    spec,
    seed: spec.seed,
    corpusHash: corpus.hash,
    corpusDocuments: spec.documents,
    tokensSeen: spec.steps * spec.batchSize * spec.seqLen,
    finalLoss: meta.finalLoss,
    wallSeconds: Math.round(meta.wallSeconds),
    backend: meta.backend,
    parameters: [...exported.tensors.values()].reduce((n, t) => n + t.data.length, 0),
  };
  const text = (s: string): Uint8Array => new TextEncoder().encode(s);
  const files = new Map<string, Uint8Array>([
    ['config.json', text(JSON.stringify(config, null, 2) + '\n')],
    ['model.safetensors', writeSafetensors(exported.tensors, { format: 'pt' })],
    ['tokenizer.json', text(JSON.stringify(corpus.tokenizerJson))],
    ['tokenizer_config.json', text(JSON.stringify(corpus.tokenizerConfig, null, 2) + '\n')],
    ['manifest.json', text(JSON.stringify(manifest, null, 2) + '\n')],
  ]);
  return { files, manifest };
}
