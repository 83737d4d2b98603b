// `pretrain`: builds hone-tiny from the committed spec (src/core/pretrain/pretrain.ts), resumably.
// A work folder (default .pretrain/, git-ignored) holds progress.jsonl (one line per logged step)
// and checkpoint/{state.safetensors,state.json} written every --checkpoint-every steps and when
// --max-minutes runs out, so a run cut off (a session's end) continues where it stopped. When all
// steps are done, the model is written in Hugging Face Llama layout to --out with manifest.json.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Decoder } from '../../src/core/model/decoder';
import { randomWeights } from '../../src/core/model/random';
import { parseSafetensors, writeSafetensors, type HostTensor } from '../../src/core/model/safetensors';
import { PeftModel, createMethod } from '../../src/core/peft';
import {
  HONE_TINY,
  PAD_ID,
  llamaConfigJson,
  modelConfig,
  packDocuments,
  prepareCorpus,
  type PretrainSpec,
} from '../../src/core/pretrain/pretrain';
import { Trainer } from '../../src/core/train/loop';
import type { TrainerState } from '../../src/core/train/state';
import { UsageError, intFlag, type ParsedArgs } from '../args';

export interface PretrainSummary {
  status: 'completed' | 'paused';
  step: number;
  totalSteps: number;
  out?: string;
  work: string;
  loss: number | null;
  tokensPerSecond: number;
}

function specFromArgs(args: ParsedArgs): PretrainSpec {
  const spec = { ...HONE_TINY };
  const steps = args.flags.get('steps');
  if (steps !== undefined) spec.steps = intFlag(args, 'steps', spec.steps);
  const documents = args.flags.get('documents');
  if (documents !== undefined) spec.documents = intFlag(args, 'documents', spec.documents);
  if (spec.steps <= 0 || spec.documents <= 0) throw new UsageError('pretrain: --steps and --documents must be positive');
  return spec;
}

function specKey(spec: PretrainSpec): string {
  return JSON.stringify(spec);
}

function saveState(dir: string, state: TrainerState, spec: PretrainSpec, extra: Record<string, unknown>): void {
  mkdirSync(dir, { recursive: true });
  const tensors = new Map<string, HostTensor>(state.tensors.map((t) => [t.name, { shape: t.shape, data: t.data }]));
  // write-then-rename: a kill mid-write never leaves a half checkpoint behind
  writeFileSync(join(dir, 'state.safetensors.tmp'), writeSafetensors(tensors));
  writeFileSync(join(dir, 'state.json.tmp'), JSON.stringify({ spec: specKey(spec), trainer: state.json, ...extra }));
  renameSync(join(dir, 'state.safetensors.tmp'), join(dir, 'state.safetensors'));
  renameSync(join(dir, 'state.json.tmp'), join(dir, 'state.json'));
}

function loadState(dir: string, spec: PretrainSpec): { state: TrainerState; extra: Record<string, unknown> } | null {
  const jsonPath = join(dir, 'state.json');
  if (!existsSync(jsonPath)) return null;
  const saved = JSON.parse(readFileSync(jsonPath, 'utf8')) as { spec: string; trainer: TrainerState['json']; elapsedSeconds?: number; tokens?: number };
  if (saved.spec !== specKey(spec)) {
    throw new Error(`pretrain: ${dir} holds a checkpoint of a different spec; delete it or use another --work folder`);
  }
  const tensors = parseSafetensors(new Uint8Array(readFileSync(join(dir, 'state.safetensors'))), 'state.safetensors');
  return {
    state: { json: saved.trainer, tensors: [...tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data })) },
    extra: { elapsedSeconds: saved.elapsedSeconds ?? 0, tokens: saved.tokens ?? 0 },
  };
}

export async function pretrainCommand(args: ParsedArgs): Promise<PretrainSummary> {
  const spec = specFromArgs(args);
  const maxMinutes = Number(args.flags.get('max-minutes') ?? 'Infinity');
  if (!(maxMinutes > 0)) throw new UsageError('pretrain: --max-minutes must be positive');
  const command =
    'npm run --silent hone -- pretrain' +
    (args.flags.has('steps') ? ` --steps ${spec.steps}` : '') +
    (args.flags.has('documents') ? ` --documents ${spec.documents}` : '');
  return runPretraining(spec, {
    work: args.flags.get('work') ?? '.pretrain',
    out: args.flags.get('out') ?? 'public/models/hone-tiny',
    checkpointEvery: intFlag(args, 'checkpoint-every', 100),
    maxMinutes,
    logEvery: intFlag(args, 'log-every', 10),
    command,
  });
}

export interface PretrainOptions {
  /** progress.jsonl and checkpoint/ go here */
  work: string;
  /** the finished model goes here */
  out: string;
  checkpointEvery: number;
  /** stop (with a checkpoint) after this many minutes of this call */
  maxMinutes: number;
  logEvery: number;
  /** recorded in the manifest */
  command: string;
  quiet?: boolean;
}

/** Runs (or continues) pretraining to completion or until maxMinutes; see the top of the file. */
export async function runPretraining(spec: PretrainSpec, opts: PretrainOptions): Promise<PretrainSummary> {
  const { work, out, checkpointEvery, maxMinutes, logEvery } = opts;
  const backend = tf.getBackend();

  const corpus = prepareCorpus(spec);
  const rows = packDocuments(corpus.tokenizer, corpus.documents, spec.seqLen);
  const config = modelConfig(spec, corpus.tokenizer.vocabSize);
  const decoder = Decoder.fromHost(config, randomWeights(config, spec.seed));
  const model = new PeftModel(decoder, createMethod('full', decoder, {}));
  const trainerConfig = {
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
  const checkpointDir = join(work, 'checkpoint');
  mkdirSync(work, { recursive: true });
  const saved = loadState(checkpointDir, spec);
  let lastLoss: number | null = null;
  let tokensThisRun = 0;
  const started = performance.now();
  const priorSeconds = Number(saved?.extra.elapsedSeconds ?? 0);
  const priorTokens = Number(saved?.extra.tokens ?? 0);
  // onProgress (defined before the trainer exists) pauses it for checkpoints through this binding
  let trainer: Trainer | undefined;
  const elapsed = (): number => priorSeconds + (performance.now() - started) / 1000;
  const onProgress = (event: { step: number; loss: number; lr: number; tokensPerSecond: number; skipped: boolean }): void => {
    lastLoss = event.loss;
    tokensThisRun = event.tokensPerSecond * ((performance.now() - started) / 1000);
    if (event.step % logEvery === 0 || event.step === spec.steps) {
      const line = { step: event.step, loss: event.loss, lr: event.lr, tokensPerSecond: Math.round(event.tokensPerSecond), elapsedSeconds: Math.round(elapsed()), skipped: event.skipped };
      appendFileSync(join(work, 'progress.jsonl'), JSON.stringify(line) + '\n');
      if (!opts.quiet) process.stderr.write(`pretrain step ${event.step}/${spec.steps} loss ${event.loss.toFixed(4)} ${Math.round(event.tokensPerSecond)} tok/s\n`);
    }
    if (event.step % checkpointEvery === 0 || elapsed() - priorSeconds > maxMinutes * 60) {
      trainer?.pause(); // the checkpoint is taken between updates, below
    }
  };
  const t: Trainer = (trainer = saved ? Trainer.resume(model, { train: rows }, saved.state, { onProgress }) : new Trainer(model, { train: rows }, trainerConfig, { onProgress }));
  try {
    const ended = { value: false };
    const running = t.run().finally(() => (ended.value = true));
    while (await pausedOrEnded(t, ended)) {
      const state = await t.state();
      saveState(checkpointDir, state, spec, { elapsedSeconds: elapsed(), tokens: priorTokens + tokensThisRun });
      if (elapsed() - priorSeconds > maxMinutes * 60) {
        t.cancel();
        await running;
        return { status: 'paused', step: t.currentStep, totalSteps: spec.steps, work, loss: lastLoss, tokensPerSecond: tokensThisRun / (elapsed() - priorSeconds) };
      }
      t.unpause();
      while (t.currentStatus === 'paused' && !ended.value) await sleep(5);
    }
    await running;
    const state = await t.state();
    saveState(checkpointDir, state, spec, { elapsedSeconds: elapsed(), tokens: priorTokens + tokensThisRun });
    // Export: the trained copies in canonical Llama names, plus tokenizer and manifest.
    const files = await model.method!.exportFiles({ baseModel: 'hone-tiny', rawConfig: llamaConfigJson(spec, corpus.tokenizer.vocabSize) });
    mkdirSync(out, { recursive: true });
    const { _name_or_path: _, ...configOut } = files.config;
    writeFileSync(join(out, 'config.json'), JSON.stringify(configOut, null, 2) + '\n');
    writeFileSync(join(out, 'model.safetensors'), writeSafetensors(files.tensors, { format: 'pt' }));
    writeFileSync(join(out, 'tokenizer.json'), JSON.stringify(corpus.tokenizerJson));
    writeFileSync(join(out, 'tokenizer_config.json'), JSON.stringify(corpus.tokenizerConfig, null, 2) + '\n');
    const manifest = {
      name: 'hone-tiny',
      command: opts.command,
      spec,
      seed: spec.seed,
      corpusHash: corpus.hash,
      corpusDocuments: spec.documents,
      tokensSeen: spec.steps * spec.batchSize * spec.seqLen,
      finalLoss: lastLoss,
      wallSeconds: Math.round(elapsed()),
      backend,
      parameters: [...files.tensors.values()].reduce((n, t) => n + t.data.length, 0),
    };
    writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    return { status: 'completed', step: t.currentStep, totalSteps: spec.steps, out, work, loss: lastLoss, tokensPerSecond: tokensThisRun / Math.max(elapsed() - priorSeconds, 1e-9) };
  } finally {
    t.dispose();
    model.dispose();
    decoder.dispose();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** true once the trainer has stopped between updates after pause(); false when its run ended. */
async function pausedOrEnded(trainer: Trainer, ended: { value: boolean }): Promise<boolean> {
  for (;;) {
    if (trainer.currentStatus === 'paused') return true;
    if (ended.value) return false;
    await sleep(10);
  }
}
