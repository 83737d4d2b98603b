// Training-speed benchmark on whatever tfjs backend is active: the real training step (trainStep
// with AdamW over a PeftModel built by createPeftModel, as the studio's runs are) for each method
// on a preset shape (presets.ts), beside a plain matmul of the model's own size on the same
// backend, so training GFLOP/s can be read as a fraction of what the backend can do at all.
// Also: peak RSS after loading and after the steps (Node), tensor counts per step, the top kernels
// of one profiled step, and on WebGPU the dispatches / submits / readbacks per step.
// Backend-agnostic and DOM-free: the CLI (`hone bench`, cli/bench.ts) runs it on cpu and wasm, the
// studio worker (workers/bench.ts) on webgpu, webgl and wasm. Reads back only with `await data()`.
import * as tf from '@tensorflow/tfjs';
import { Decoder, type PackedPositions } from '../model/decoder';
import { tapeSavedBytes } from '../model/ops/recompute';
import { randomWeightEntries } from '../model/random';
import { Rng } from '../rng';
import { IGNORE_INDEX, collate, type Batch, type Row } from '../train/batch';
import { TRAINER_DEFAULTS } from '../train/config';
import { AdamW } from '../train/optim/adamw';
import { createPeftModel, methodDefaults, virtualTokensOf } from '../train/run';
import { trainStep } from '../train/step';
import { FLOPS_FORMULA, stepFlops } from './flops';
import { benchPreset, type BenchPreset } from './presets';
import { countGpuWork, matmulProbe, profileStep, sampleMemory, wasmHeapBytes, type GpuCounts, type MatmulResult, type MemorySample, type StepProfile } from './probes';

export interface BenchMethod {
  /** registry name */
  name: string;
  /** how the table heads it */
  label: string;
  /** keys set on top of the studio's defaults (train/run.ts methodDefaults) */
  overrides: Record<string, unknown>;
}

/**
 * Every method with the settings the studio trains it with by default (methodDefaults), except
 * where the PyTorch peer (torch_step.py) differs: LoRA without dropout (r 8, α 16, PEFT's default
 * targets), and the adapter pinned to Houlsby because the table says so.
 */
export const BENCH_METHODS: readonly BenchMethod[] = [
  { name: 'lora', label: 'lora', overrides: { lora_dropout: 0 } },
  { name: 'ia3', label: 'ia3', overrides: {} },
  { name: 'prefix', label: 'prefix', overrides: {} },
  { name: 'prompt', label: 'prompt', overrides: {} },
  { name: 'adapter', label: 'houlsby', overrides: { kind: 'houlsby' } },
  { name: 'full', label: 'full', overrides: {} },
  { name: 'freeze', label: 'freeze', overrides: {} },
];

/** The methods the table compares, run when none are named. */
export const DEFAULT_BENCH_METHODS = ['lora', 'prefix', 'adapter', 'full'] as const;

/** The method config the bench trains with: the studio's defaults plus the overrides. */
export function benchMethodConfig(method: BenchMethod): Record<string, unknown> {
  return { ...methodDefaults(method.name).method, ...method.overrides };
}

export interface TrainBenchOptions {
  /** preset name (presets.ts); default hone-tiny */
  preset?: string;
  /** rows per step and tokens per row instead of the preset's (to find what fits in memory) */
  batchSize?: number;
  seqLength?: number;
  /** method names or labels to run; default DEFAULT_BENCH_METHODS */
  methods?: readonly string[];
  /** untimed steps first: kernel compilation, allocator and optimizer slots settle (default 1) */
  warmupSteps?: number;
  /** timed steps per method (default 3) */
  steps?: number;
  /** profile one more step per method with tf.profile for the top kernels (default true) */
  profile?: boolean;
  /** the matmul probe repeats until one timed batch lasts at least this long (default 300 ms) */
  matmulMinMs?: number;
  /** seeds the model, the batch and every method's initialisation (default 1234) */
  seed?: number;
  /**
   * Start no further method once this many seconds have passed (the matmul probe included); the
   * rest are listed in `skipped`. For slow backends (WebGPU on SwiftShader) within a fixed budget.
   */
  timeBudgetSeconds?: number;
  /** one line per finished part, for people watching a long run */
  onProgress?: (message: string) => void;
  /** train with gradient checkpointing (each block recomputed in the backward; PeftModel.gradientCheckpointing) */
  gradientCheckpointing?: boolean;
}

/**
 * The step's activations as tfjs keeps them for the backward, read at the end of the last timed
 * step's forward (the logits returned, the loss not yet computed).
 */
export interface ActivationBytes {
  /** what the tape's nodes saved, each data buffer once, the weights and trainable variables left out (ops/recompute.ts tapeSavedBytes) */
  tapeSavedBytes: number;
  /** tf.memory().numBytes at the end of the forward minus before it (clones sharing a buffer counted each) */
  forwardNumBytes: number;
}

export interface MethodResult {
  method: string;
  label: string;
  /** the config trained with (defaults + overrides), PEFT-style keys */
  config: Record<string, unknown>;
  learningRate: number;
  trainableParameters: number;
  trainablePercent: number;
  /** timed steps */
  steps: number;
  /** real (non-padding) tokens in the timed steps */
  realTokens: number;
  seconds: number;
  tokensPerSecond: number;
  msPerStep: number;
  /** training FLOPs per token (FLOPS_FORMULA) */
  flopsPerToken: number;
  trainingGflops: number;
  /** trainingGflops / the matmul probe's GFLOP/s */
  matmulFraction: number;
  /** loss of the last step: a finite number shows the step really trained */
  lastLoss: number;
  /** tf.memory().numTensors after each timed step: flat when nothing leaks per step */
  numTensorsPerStep: number[];
  /** tf.memory().numTensors after the method was disposed minus before it was created */
  tensorsLeaked: number;
  /** memory after the method's steps (peak includes everything before), null outside Node */
  memoryAfterSteps: MemorySample | null;
  /** the wasm heap after the method's steps (it never shrinks: the high-water mark), null off wasm */
  wasmHeapBytes: number | null;
  /** whether the steps recomputed each block in the backward */
  gradientCheckpointing: boolean;
  /** the last timed step's activations held for the backward */
  activations: ActivationBytes;
  /** one profiled step after the timed ones, null with profile: false */
  profile: StepProfile | null;
  /** WebGPU only: per timed step, averaged */
  gpuPerStep: GpuCounts | null;
}

export interface TrainBenchResult {
  backend: string;
  preset: string;
  model: {
    modelType: string;
    numLayers: number;
    hiddenSize: number;
    numHeads: number;
    numKvHeads: number;
    intermediateSize: number;
    vocabSize: number;
    parameters: number;
    /** 4 bytes per parameter */
    weightBytes: number;
    batchSize: number;
    seqLength: number;
    promptTokens: number;
    realTokensPerStep: number;
  };
  optimizer: string;
  warmupSteps: number;
  steps: number;
  flopsFormula: string;
  matmul: MatmulResult;
  memory: {
    /** before the weights were made (after the matmul probe) */
    beforeLoad: MemorySample | null;
    /** after the Decoder holds the weights */
    afterLoad: MemorySample | null;
    /** tf.memory().numBytes after loading: weights plus any copies the decoder keeps */
    tensorBytesAfterLoad: number;
    /** the wasm heap after loading, null off wasm */
    wasmHeapAfterLoadBytes: number | null;
    loadSeconds: number;
  };
  methods: MethodResult[];
  /** labels of methods not started because timeBudgetSeconds ran out */
  skipped: string[];
  /** over the whole run, model included */
  tensorsLeaked: number;
  seconds: number;
}

function nonNegativeInt(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0) throw new Error(`train bench: ${what} must be a non-negative integer, got ${value}`);
  return value;
}

function positiveInt(value: number, what: string): number {
  if (nonNegativeInt(value, what) === 0) throw new Error(`train bench: ${what} must be at least 1`);
  return value;
}

/** Resolves method names against BENCH_METHODS; unknown names are an error listing the known ones. */
export function benchMethods(names: readonly string[] = DEFAULT_BENCH_METHODS): BenchMethod[] {
  if (names.length === 0) throw new Error('train bench: no methods given');
  return names.map((name) => {
    const found = BENCH_METHODS.find((m) => m.name === name || m.label === name);
    if (!found) throw new Error(`train bench: unknown method "${name}" (known: ${BENCH_METHODS.map((m) => m.name).join(', ')})`);
    return found;
  });
}

/** One fixed batch of full rows: random ids in [1, V), the first promptTokens of each row unscored. */
export function benchBatch(preset: BenchPreset, seed: number): Batch {
  const rng = new Rng(seed);
  const { batchSize, seqLength, promptTokens } = preset;
  const rows: Row[] = [];
  for (let r = 0; r < batchSize; r++) {
    const inputIds = Array.from({ length: seqLength }, () => 1 + rng.int(preset.config.vocabSize - 1));
    const labels = inputIds.map((id, i) => (i < promptTokens ? IGNORE_INDEX : id));
    rows.push({ inputIds, labels });
  }
  return collate(rows, 0, seqLength);
}

interface MethodRun {
  preset: BenchPreset;
  batch: Batch;
  matmulGflops: number;
  warmupSteps: number;
  steps: number;
  profile: boolean;
  seed: number;
  gradientCheckpointing: boolean;
}

/** Times warm-up + timed training steps of one method on `decoder`; disposes everything it made. */
async function benchMethod(decoder: Decoder, method: BenchMethod, run: MethodRun): Promise<MethodResult> {
  const before = tf.memory().numTensors;
  const config = benchMethodConfig(method);
  // The optimizer settings a default run of the studio's Trainer uses for this method.
  const trainer = { ...TRAINER_DEFAULTS, ...methodDefaults(method.name).trainer };
  const { learningRate, maxGradNorm } = trainer;
  const model = createPeftModel(decoder, { name: method.name, config }, run.seed);
  const optimizer = new AdamW({ betas: trainer.betas, eps: trainer.eps, weightDecay: trainer.weightDecay });
  let result: Omit<MethodResult, 'tensorsLeaked'>;
  try {
    model.training = true;
    model.gradientCheckpointing = run.gradientCheckpointing;
    const params = model.trainableVariables();
    const activations: ActivationBytes = { tapeSavedBytes: 0, forwardNumBytes: 0 };
    const weights = [...decoder.params.values(), ...params.values()]; // saved by the linear layers, not activations
    const forward = (ids: tf.Tensor2D, mask: tf.Tensor2D, packed?: PackedPositions) => {
      const before = tf.memory().numBytes;
      const logits = model.forward(ids, mask, packed);
      activations.forwardNumBytes = tf.memory().numBytes - before;
      activations.tapeSavedBytes = tapeSavedBytes(weights);
      return logits;
    };
    const step = () => trainStep(forward, params, [run.batch], optimizer, { learningRate, maxGradNorm });
    for (let i = 0; i < run.warmupSteps; i++) await step();
    // Backends run queued work in order, so reading the smallest variable waits for every queued
    // update (the last AdamW step included) while copying little.
    const smallest = [...params.values()].reduce((a, b) => (b.size < a.size ? b : a));
    await smallest.data();
    const gpu = countGpuWork();
    let realTokens = 0;
    let lastLoss = NaN;
    const numTensorsPerStep: number[] = [];
    const start = performance.now();
    let gpuTotal: GpuCounts | null = null;
    try {
      for (let i = 0; i < run.steps; i++) {
        const stepResult = await step();
        realTokens += stepResult.realTokens;
        lastLoss = stepResult.loss;
        numTensorsPerStep.push(tf.memory().numTensors);
      }
      gpuTotal = gpu?.read() ?? null; // before the bench's own readback below
      await smallest.data();
    } finally {
      gpu?.restore();
    }
    const seconds = (performance.now() - start) / 1000;
    const memoryAfterSteps = sampleMemory();
    const lastActivations = { ...activations }; // before the profiled step
    const profile = run.profile ? await profileStep(step) : null;
    const count = model.trainableParameterCount();
    const tokensPerSecond = seconds > 0 ? realTokens / seconds : 0;
    const contextLength = run.preset.seqLength + virtualTokensOf(model);
    const flopsPerToken = stepFlops(decoder.config, contextLength, method.name, count.trainable).trainingPerToken;
    const trainingGflops = (flopsPerToken * tokensPerSecond) / 1e9;
    const perStep = (n: number) => n / run.steps;
    result = {
      method: method.name,
      label: method.label,
      config,
      learningRate,
      trainableParameters: count.trainable,
      trainablePercent: count.percent,
      steps: run.steps,
      realTokens,
      seconds,
      tokensPerSecond,
      msPerStep: (seconds * 1000) / run.steps,
      flopsPerToken,
      trainingGflops,
      matmulFraction: run.matmulGflops > 0 ? trainingGflops / run.matmulGflops : 0,
      lastLoss,
      numTensorsPerStep,
      memoryAfterSteps,
      wasmHeapBytes: wasmHeapBytes(),
      gradientCheckpointing: run.gradientCheckpointing,
      activations: lastActivations,
      profile,
      gpuPerStep: gpuTotal && { dispatches: perStep(gpuTotal.dispatches), submits: perStep(gpuTotal.submits), readbacks: perStep(gpuTotal.readbacks) },
    };
  } finally {
    optimizer.dispose();
    model.dispose();
  }
  return { ...result, tensorsLeaked: tf.memory().numTensors - before };
}

/** The whole benchmark on the active backend: matmul probe, load, then every requested method in turn. */
export async function runTrainBench(options: TrainBenchOptions = {}): Promise<TrainBenchResult> {
  const named = benchPreset(options.preset ?? 'hone-tiny');
  const preset: BenchPreset = {
    ...named,
    batchSize: options.batchSize === undefined ? named.batchSize : positiveInt(options.batchSize, 'batchSize'),
    seqLength: options.seqLength === undefined ? named.seqLength : positiveInt(options.seqLength, 'seqLength'),
  };
  if (preset.seqLength <= preset.promptTokens) throw new Error(`train bench: seqLength must be over the ${preset.promptTokens} unscored prompt tokens, got ${preset.seqLength}`);
  const warmupSteps = nonNegativeInt(options.warmupSteps ?? 1, 'warmupSteps');
  const steps = nonNegativeInt(options.steps ?? 3, 'steps');
  if (steps === 0) throw new Error('train bench: steps must be at least 1 (nothing would be timed)');
  const seed = options.seed ?? 1234;
  const profile = options.profile ?? true;
  const methods = benchMethods(options.methods);
  const progress = options.onProgress ?? (() => {});
  await tf.ready();
  const backend = tf.getBackend();
  const started = performance.now();
  const before = tf.memory().numTensors;
  const { config } = preset;

  const matmul = await matmulProbe([preset.batchSize * preset.seqLength, config.hiddenSize, config.intermediateSize], options.matmulMinMs ?? 300);
  progress(`${backend}: matmul [${matmul.shape.join(' × ')}] ${matmul.gflops.toFixed(2)} GFLOP/s (${matmul.reps} in ${matmul.ms.toFixed(0)} ms)`);

  const beforeLoad = sampleMemory();
  const loadStart = performance.now();
  // One weight at a time: each host array can be collected once its tensor exists.
  const decoder = Decoder.fromHost(config, randomWeightEntries(config, seed));
  const loadSeconds = (performance.now() - loadStart) / 1000;
  const afterLoad = sampleMemory();
  const tensorBytesAfterLoad = tf.memory().numBytes;
  const wasmHeapAfterLoadBytes = wasmHeapBytes();
  const results: MethodResult[] = [];
  const skipped: string[] = [];
  let parameters = 0;
  try {
    for (const tensor of decoder.params.values()) parameters += tensor.size;
    progress(`${backend}: ${preset.name} loaded in ${loadSeconds.toFixed(1)} s (${parameters.toLocaleString('en-US')} parameters)`);
    const batch = benchBatch(preset, seed);
    for (const method of methods) {
      if (options.timeBudgetSeconds !== undefined && (performance.now() - started) / 1000 > options.timeBudgetSeconds) {
        skipped.push(method.label);
        continue;
      }
      const r = await benchMethod(decoder, method, {
        preset,
        batch,
        matmulGflops: matmul.gflops,
        warmupSteps,
        steps,
        profile,
        seed,
        gradientCheckpointing: options.gradientCheckpointing ?? false,
      });
      progress(`${backend}: ${method.label} ${r.tokensPerSecond.toFixed(1)} tokens/s (${r.msPerStep.toFixed(0)} ms/step, ${r.trainingGflops.toFixed(2)} GFLOP/s, loss ${r.lastLoss.toFixed(3)})`);
      results.push(r);
    }
  } finally {
    decoder.dispose();
  }
  return {
    backend,
    preset: preset.name,
    model: {
      modelType: config.modelType,
      numLayers: config.numLayers,
      hiddenSize: config.hiddenSize,
      numHeads: config.numHeads,
      numKvHeads: config.numKvHeads,
      intermediateSize: config.intermediateSize,
      vocabSize: config.vocabSize,
      parameters,
      weightBytes: 4 * parameters,
      batchSize: preset.batchSize,
      seqLength: preset.seqLength,
      promptTokens: preset.promptTokens,
      realTokensPerStep: preset.batchSize * preset.seqLength,
    },
    optimizer: "AdamW with the studio's per-method defaults (lr below)",
    warmupSteps,
    steps,
    flopsFormula: FLOPS_FORMULA,
    matmul,
    memory: { beforeLoad, afterLoad, tensorBytesAfterLoad, wasmHeapAfterLoadBytes, loadSeconds },
    methods: results,
    skipped,
    tensorsLeaked: tf.memory().numTensors - before,
    seconds: (performance.now() - started) / 1000,
  };
}
