// Training-speed benchmark on whatever tfjs backend is active: the real training step (trainStep
// with AdamW over a PeftModel) for every method on one fixed GPT-2-style model, plus a plain
// matmul probe on the same backend, so tokens/s can be read against what the backend can do at all.
// Backend-agnostic and DOM-free: the Node CLI (cli/bench.ts) runs it on cpu and wasm, the studio
// worker (workers/bench.ts) on webgpu, webgl and wasm. Reads back only with `await data()` (webgpu).
import * as tf from '@tensorflow/tfjs';
import { parseConfig, type ModelConfig } from '../model/config';
import { Decoder } from '../model/decoder';
import { randomWeights } from '../model/random';
import { Rng } from '../rng';
import { IGNORE_INDEX, collate, type Batch, type Row } from '../train/batch';
import { TRAINER_DEFAULTS } from '../train/config';
import { AdamW } from '../train/optim/adamw';
import { createPeftModel, methodDefaults } from '../train/run';
import { trainStep } from '../train/step';

/** The benchmarked model: GPT-2 layout, 2 blocks, d = 64, 4 heads, vocab 512 (136,960 parameters). */
export const BENCH_MODEL: ModelConfig = parseConfig({
  model_type: 'gpt2',
  n_layer: 2,
  n_embd: 64,
  n_head: 4,
  vocab_size: 512,
  // room for 32 real tokens after prefix/prompt tuning's virtual positions (10 and 8 by default)
  n_positions: 64,
  eos_token_id: 0,
});

/** Rows per step and tokens per row: every row is full, so each step trains on 4 × 32 = 128 real tokens. */
export const BENCH_BATCH = { batchSize: 4, seqLength: 32, promptTokens: 8 } as const;

export interface BenchMethod {
  /** registry name */
  name: string;
  /** how the table heads it */
  label: string;
  /** keys set on top of the studio's defaults (train/run.ts methodDefaults) */
  overrides: Record<string, unknown>;
}

/**
 * Every method with the settings the studio trains it with by default (methodDefaults), so the
 * bench measures what people get; the adapter is pinned to Houlsby because the table says so.
 */
export const BENCH_METHODS: readonly BenchMethod[] = [
  { name: 'lora', label: 'lora', overrides: {} },
  { name: 'ia3', label: 'ia3', overrides: {} },
  { name: 'prefix', label: 'prefix', overrides: {} },
  { name: 'prompt', label: 'prompt', overrides: {} },
  { name: 'adapter', label: 'houlsby', overrides: { kind: 'houlsby' } },
  { name: 'full', label: 'full', overrides: {} },
  { name: 'freeze', label: 'freeze', overrides: {} },
];

/** The method config the bench trains with: the studio's defaults plus the overrides. */
export function benchMethodConfig(method: BenchMethod): Record<string, unknown> {
  return { ...methodDefaults(method.name).method, ...method.overrides };
}

export interface TrainBenchOptions {
  /** method names to run, in BENCH_METHODS order; default all */
  methods?: readonly string[];
  /** untimed steps first: kernel compilation, allocator and optimizer slots settle (default 2) */
  warmupSteps?: number;
  /** timed steps per method (default 5) */
  steps?: number;
  /** n of the n×n×n matmul probe (default 256) */
  matmulSize?: number;
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
}

export interface MatmulResult {
  size: number;
  /** matmuls in the timed batch */
  reps: number;
  ms: number;
  /** 2·n³·reps / time */
  gflops: number;
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
  /** loss of the last step: a finite number shows the step really trained */
  lastLoss: number;
  /** tf.memory().numTensors after the method was disposed minus before it was created */
  tensorsLeaked: number;
}

export interface TrainBenchResult {
  backend: string;
  model: {
    modelType: string;
    numLayers: number;
    hiddenSize: number;
    numHeads: number;
    vocabSize: number;
    parameters: number;
    batchSize: number;
    seqLength: number;
    realTokensPerStep: number;
  };
  optimizer: string;
  warmupSteps: number;
  steps: number;
  matmul: MatmulResult;
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

/** Resolves method names against BENCH_METHODS; unknown names are an error listing the known ones. */
export function benchMethods(names?: readonly string[]): BenchMethod[] {
  if (!names) return [...BENCH_METHODS];
  if (names.length === 0) throw new Error('train bench: no methods given');
  return names.map((name) => {
    const found = BENCH_METHODS.find((m) => m.name === name || m.label === name);
    if (!found) throw new Error(`train bench: unknown method "${name}" (known: ${BENCH_METHODS.map((m) => m.name).join(', ')})`);
    return found;
  });
}

/** One fixed batch of full rows: 8 prompt tokens (unscored) then 24 completion tokens. */
export function benchBatch(seed: number): Batch {
  const rng = new Rng(seed);
  const { batchSize, seqLength, promptTokens } = BENCH_BATCH;
  const rows: Row[] = [];
  for (let r = 0; r < batchSize; r++) {
    const inputIds = Array.from({ length: seqLength }, () => 1 + rng.int(BENCH_MODEL.vocabSize - 1));
    const labels = inputIds.map((id, i) => (i < promptTokens ? IGNORE_INDEX : id));
    rows.push({ inputIds, labels });
  }
  return collate(rows, 0, seqLength);
}

/** Runs `reps` independent n×n matmuls and waits for the last: the backend runs them in order. */
async function timeMatmuls(a: tf.Tensor2D, b: tf.Tensor2D, reps: number): Promise<number> {
  const start = performance.now();
  let last: tf.Tensor | null = null;
  for (let i = 0; i < reps; i++) {
    last?.dispose(); // queued GPU work keeps its buffer until done; disposing only frees it for reuse
    last = tf.matMul(a, b);
  }
  await last!.data();
  const ms = performance.now() - start;
  last!.dispose();
  return ms;
}

/** Plain matmul throughput of the active backend: the scale against which training speed is read. */
export async function matmulProbe(size = 256, minMs = 300): Promise<MatmulResult> {
  if (!Number.isInteger(size) || size <= 0) throw new Error(`train bench: matmulSize must be a positive integer, got ${size}`);
  const a = tf.randomNormal([size, size], 0, 1, 'float32', 1) as tf.Tensor2D;
  const b = tf.randomNormal([size, size], 0, 1, 'float32', 2) as tf.Tensor2D;
  try {
    await timeMatmuls(a, b, 1); // compiles the kernel
    let reps = 1;
    let ms = await timeMatmuls(a, b, reps);
    // Grow the batch until it is long enough to time; the cap bounds a pathologically slow backend.
    while (ms < minMs && reps < 4096) {
      reps = Math.min(4096, Math.max(reps * 2, Math.ceil((reps * minMs * 1.2) / Math.max(ms, 0.01))));
      ms = await timeMatmuls(a, b, reps);
    }
    return { size, reps, ms, gflops: (2 * size ** 3 * reps) / (ms * 1e6) };
  } finally {
    a.dispose();
    b.dispose();
  }
}

/** Times warm-up + timed training steps of one method on `decoder`; disposes everything it made. */
async function benchMethod(
  decoder: Decoder,
  method: BenchMethod,
  batch: Batch,
  opts: { warmupSteps: number; steps: number; seed: number },
): Promise<MethodResult> {
  const before = tf.memory().numTensors;
  const config = benchMethodConfig(method);
  // The optimizer settings a default run of the studio's Trainer uses for this method.
  const trainer = { ...TRAINER_DEFAULTS, ...methodDefaults(method.name).trainer };
  const { learningRate, maxGradNorm } = trainer;
  const model = createPeftModel(decoder, { name: method.name, config }, opts.seed);
  const optimizer = new AdamW({ betas: trainer.betas, eps: trainer.eps, weightDecay: trainer.weightDecay });
  let result: Omit<MethodResult, 'tensorsLeaked'>;
  try {
    model.training = true;
    const params = model.trainableVariables();
    const forward = (ids: tf.Tensor2D, mask: tf.Tensor2D) => model.forward(ids, mask);
    const step = () => trainStep(forward, params, [batch], optimizer, { learningRate, maxGradNorm });
    for (let i = 0; i < opts.warmupSteps; i++) await step();
    // Backends run queued work in order, so reading the smallest variable waits for every queued
    // update (the last AdamW step included) while copying little.
    const smallest = [...params.values()].reduce((a, b) => (b.size < a.size ? b : a));
    await smallest.data();
    let realTokens = 0;
    let lastLoss = NaN;
    const start = performance.now();
    for (let i = 0; i < opts.steps; i++) {
      const stepResult = await step();
      realTokens += stepResult.realTokens;
      lastLoss = stepResult.loss;
    }
    await smallest.data();
    const seconds = (performance.now() - start) / 1000;
    const count = model.trainableParameterCount();
    result = {
      method: method.name,
      label: method.label,
      config,
      learningRate,
      trainableParameters: count.trainable,
      trainablePercent: count.percent,
      steps: opts.steps,
      realTokens,
      seconds,
      tokensPerSecond: seconds > 0 ? realTokens / seconds : 0,
      msPerStep: opts.steps > 0 ? (seconds * 1000) / opts.steps : 0,
      lastLoss,
    };
  } finally {
    optimizer.dispose();
    model.dispose();
  }
  return { ...result, tensorsLeaked: tf.memory().numTensors - before };
}

/** The whole benchmark on the active backend: matmul probe, then every requested method in turn. */
export async function runTrainBench(options: TrainBenchOptions = {}): Promise<TrainBenchResult> {
  const warmupSteps = nonNegativeInt(options.warmupSteps ?? 2, 'warmupSteps');
  const steps = nonNegativeInt(options.steps ?? 5, 'steps');
  if (steps === 0) throw new Error('train bench: steps must be at least 1 (nothing would be timed)');
  const seed = options.seed ?? 1234;
  const methods = benchMethods(options.methods);
  const progress = options.onProgress ?? (() => {});
  await tf.ready();
  const backend = tf.getBackend();
  const started = performance.now();
  const before = tf.memory().numTensors;

  const matmul = await matmulProbe(options.matmulSize ?? 256, options.matmulMinMs ?? 300);
  progress(`${backend}: matmul ${matmul.size}³ ${matmul.gflops.toFixed(2)} GFLOP/s (${matmul.reps} in ${matmul.ms.toFixed(0)} ms)`);

  const decoder = Decoder.fromHost(BENCH_MODEL, randomWeights(BENCH_MODEL, seed));
  const results: MethodResult[] = [];
  const skipped: string[] = [];
  let parameters = 0;
  try {
    for (const tensor of decoder.params.values()) parameters += tensor.size;
    const batch = benchBatch(seed);
    for (const method of methods) {
      if (options.timeBudgetSeconds !== undefined && (performance.now() - started) / 1000 > options.timeBudgetSeconds) {
        skipped.push(method.label);
        continue;
      }
      const r = await benchMethod(decoder, method, batch, { warmupSteps, steps, seed });
      progress(`${backend}: ${method.label} ${r.tokensPerSecond.toFixed(1)} tokens/s (${r.msPerStep.toFixed(0)} ms/step, loss ${r.lastLoss.toFixed(3)})`);
      results.push(r);
    }
  } finally {
    decoder.dispose();
  }
  return {
    backend,
    model: {
      modelType: BENCH_MODEL.modelType,
      numLayers: BENCH_MODEL.numLayers,
      hiddenSize: BENCH_MODEL.hiddenSize,
      numHeads: BENCH_MODEL.numHeads,
      vocabSize: BENCH_MODEL.vocabSize,
      parameters,
      batchSize: BENCH_BATCH.batchSize,
      seqLength: BENCH_BATCH.seqLength,
      realTokensPerStep: BENCH_BATCH.batchSize * BENCH_BATCH.seqLength,
    },
    optimizer: "AdamW with the studio's per-method defaults (lr below)",
    warmupSteps,
    steps,
    matmul,
    methods: results,
    skipped,
    tensorsLeaked: tf.memory().numTensors - before,
    seconds: (performance.now() - started) / 1000,
  };
}
