// "FLAN in miniature" (Wei et al., 2021, at toy scale): instruction-tune a base model on every task
// cluster of the built-in collection except the held-out ones, then evaluate zero-shot on the
// held-out clusters, base vs tuned, on the same prompts with the same greedy decoding. Also:
//  - the base model few-shot (k exemplars of the held-out task in the prompt) — FLAN's baseline;
//  - a parameter-efficient method (prefix-tuning) beside full fine-tuning;
//  - the ablation of FLAN §4.3: training inputs rendered with no template / dataset name only /
//    instructions, always evaluated with instructions;
//  - a sweep over the number of training clusters (FLAN §4.1).
// Primary metric: exact match (SQuAD normalisation) of the answer's first line, for every cluster.
// Classification clusters also get rank classification accuracy (log-likelihood of each option,
// as FLAN and lm-evaluation-harness score them), reported beside it.
import * as tf from '@tensorflow/tfjs';
import { computeLogits, type Decoder } from '../model/decoder';
import type { HoneTokenizer } from '../tokenizer/tokenizer';
import { Rng } from '../rng';
import { mean, pairedBootstrap, type BootstrapInterval } from '../eval/aggregate';
import { scoreMultipleChoice } from '../eval/loglik';
import { normalizeAnswer } from '../eval/metrics/squad';
import { Trainer } from '../train/loop';
import type { MethodSpec, TrainExample } from '../train/run';
import { pairRecord, prepareRun } from '../train/run-builder';
import { PeftModel } from '../peft/model';
import { CLUSTERS, clusterNamed, renderInstance, type Rendering, type TaskCluster } from '../world/tasks';
import { makeWorld, pick, shuffle, type World } from '../world/world';
import { greedyBatch } from './greedy-batch';

export interface FlanConfig {
  worldSeed: number;
  seed: number;
  heldOut: string[];
  trainPerCluster: number;
  evalPerCluster: number;
  steps: number;
  batchSize: number;
  maxLength: number;
  /** full fine-tuning, the reference */
  main: MethodSpec & { learningRate: number };
  /** the parameter-efficient method compared with it */
  efficient: MethodSpec & { learningRate: number };
  /** train the dataset-name and no-template renderings too */
  ablation: boolean;
  /** numbers of training clusters to sweep (the largest = all is the main run and is reused) */
  sweep: number[];
  /** k for the base model's few-shot baseline (0 = skip) */
  shots: number;
  maxNewTokens: number;
  bootstrapResamples: number;
}

// The held-out clusters mirror FLAN's evaluation clusters at toy scale: paraphrase (FLAN's
// paraphrase cluster, trained beside NLI), sentiment and closed-book QA. Sizes are what fits the
// quick preset's 15 minutes on 2 CPU cores (wasm): ~1.9 s per full fine-tuning step of 8 rows.
export const FLAN_QUICK: FlanConfig = {
  worldSeed: 1,
  seed: 11,
  heldOut: ['paraphrase', 'sentiment', 'factual_qa'],
  trainPerCluster: 60,
  evalPerCluster: 20,
  steps: 80,
  batchSize: 8,
  maxLength: 160,
  main: { name: 'full', learningRate: 1e-3 },
  // prefix tuning moves 8 key/value rows from N(0, 1) (PEFT's init): it needs a far larger step than full fine-tuning
  efficient: { name: 'prefix', config: { num_virtual_tokens: 8 }, learningRate: 1e-1 },
  ablation: true,
  sweep: [3],
  shots: 0,
  maxNewTokens: 12,
  bootstrapResamples: 1000,
};

export const FLAN_FULL: FlanConfig = {
  ...FLAN_QUICK,
  trainPerCluster: 200,
  evalPerCluster: 60,
  steps: 600,
  sweep: [1, 3, 6],
  shots: 2,
};

/** The model input for a rendered prompt: FLAN-style, the answer follows a blank line. */
export const formatPrompt = (prompt: string): string => `${prompt}\n\n`;

/**
 * The target after formatPrompt: led by a space, as words are in the pretraining prose (which has no
 * line breaks), so " red" is the token the base model knows rather than a line-initial "r" "ed".
 * The tokenizer splits "\n\n red" into "\n" "\n" " red", so prompt tokens are the same alone and
 * followed by the answer.
 */
export const formatAnswer = (answer: string): string => ` ${answer}`;

export interface EvalItem {
  cluster: string;
  template: string;
  prompt: string;
  answer: string;
  options?: string[];
}

export interface ScoredItem extends EvalItem {
  output: string;
  exact: number;
  /** rank classification: 1 when the answer has the highest log-likelihood among the options */
  rank?: number;
}

export interface ModelScores {
  /** per held-out cluster: primary metric (exact match, %) */
  perCluster: Record<string, number>;
  /** mean of the cluster scores (%) */
  overall: number;
  /** classification clusters only: rank classification accuracy (%) */
  rankPerCluster: Record<string, number>;
  items: ScoredItem[];
}

export interface TunedResult extends ModelScores {
  method: string;
  trainable: number;
  trainablePercent: number;
  trainLoss: { first: number; last: number };
  trainSeconds: number;
  /** tuned − base, overall and per cluster, with paired bootstrap 95% intervals (points) */
  vsBase: { overall: BootstrapInterval; perCluster: Record<string, BootstrapInterval> };
}

export interface FlanReport {
  config: FlanConfig;
  trainClusters: string[];
  heldOut: string[];
  base: ModelScores;
  baseFewShot: ModelScores | null;
  tuned: TunedResult;
  efficient: TunedResult;
  ablation: { rendering: Rendering; overall: number; perCluster: Record<string, number> }[];
  sweep: { clusters: number; names: string[]; overall: number }[];
  seconds: number;
}

export interface FlanProgress {
  stage: string;
  step?: number;
  totalSteps?: number;
  loss?: number;
}

export interface FlanRunOptions {
  onProgress?: (p: FlanProgress) => void;
  signal?: AbortSignal;
}

/** Held-out evaluation items: forward templates only, zero-shot. */
export function evalItems(world: World, config: FlanConfig): EvalItem[] {
  const rng = new Rng(config.seed + 1);
  const items: EvalItem[] = [];
  for (const name of config.heldOut) {
    const cluster = clusterNamed(name);
    const templates = cluster.templates.filter((t) => !t.turnedAround);
    for (let i = 0; i < config.evalPerCluster; i++) {
      const instance = cluster.make(world, rng);
      const template = pick(templates, rng);
      const { prompt, answer } = renderInstance(cluster, instance, 'instructions', template);
      items.push({ cluster: name, template: template.id, prompt, answer, ...(instance.options ? { options: instance.options } : {}) });
    }
  }
  return items;
}

/** Training examples from `clusters` rendered one way (turned-around templates included, as FLAN). */
export function trainExamples(world: World, clusters: readonly string[], rendering: Rendering, config: FlanConfig): TrainExample[] {
  const rng = new Rng(config.seed + 2);
  const out: TrainExample[] = [];
  for (const name of clusters) {
    const cluster = clusterNamed(name);
    for (let i = 0; i < config.trainPerCluster; i++) {
      const instance = cluster.make(world, rng);
      const template = pick(cluster.templates, rng);
      const { prompt, answer } = renderInstance(cluster, instance, rendering, template);
      out.push({ prompt: formatPrompt(prompt), completion: formatAnswer(answer) });
    }
  }
  return shuffle(out, rng);
}

/** k exemplars of the same cluster before the query (instructions rendering), for the base baseline. */
function fewShotPrompt(world: World, cluster: TaskCluster, query: EvalItem, k: number, rng: Rng): string {
  const templates = cluster.templates.filter((t) => !t.turnedAround);
  const shots: string[] = [];
  for (let i = 0; i < k; i++) {
    const { prompt, answer } = renderInstance(cluster, cluster.make(world, rng), 'instructions', pick(templates, rng));
    shots.push(`${formatPrompt(prompt)}${formatAnswer(answer)}`);
  }
  return `${shots.join('\n\n\n')}\n\n\n${formatPrompt(query.prompt)}`;
}

const firstLine = (text: string): string => text.split('\n')[0].trim();

/** Ids whose text holds a newline: only the answer's first line is scored, so decoding stops there. */
const newlineIds = new WeakMap<HoneTokenizer, Set<number>>();
function newlineTokens(tokenizer: HoneTokenizer): Set<number> {
  let ids = newlineIds.get(tokenizer);
  if (!ids) {
    ids = new Set<number>();
    for (let id = 0; id < tokenizer.vocabSize; id++) if (tokenizer.decode([id]).includes('\n')) ids.add(id);
    newlineIds.set(tokenizer, ids);
  }
  return ids;
}

async function scoreModel(
  model: PeftModel,
  tokenizer: HoneTokenizer,
  items: readonly EvalItem[],
  prompts: readonly string[],
  config: FlanConfig,
  signal?: AbortSignal,
): Promise<ModelScores> {
  const forward = (ids: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor3D => model.forward(ids, mask);
  const eos = tokenizer.eosTokenId ?? 0;
  const outputs = await greedyBatch(forward, prompts.map((p) => tokenizer.encode(p)), {
    maxNewTokens: config.maxNewTokens,
    eosTokenId: eos,
    padTokenId: eos,
    stopTokenIds: newlineTokens(tokenizer),
    signal,
  });
  const scored: ScoredItem[] = items.map((item, i) => {
    const output = firstLine(tokenizer.decode(outputs[i], { skipSpecialTokens: true }));
    return { ...item, output, exact: normalizeAnswer(output) === normalizeAnswer(item.answer) ? 1 : 0 };
  });
  const withOptions = scored.map((s, i) => ({ s, i })).filter(({ s }) => s.options);
  if (withOptions.length > 0) {
    const logits = (ids: number[][], mask: number[][]) => computeLogits((a, b) => model.forward(a, b), ids, mask);
    const ranked = await scoreMultipleChoice(
      logits,
      tokenizer,
      withOptions.map(({ i, s }) => ({ context: prompts[i], options: s.options!.map(formatAnswer) })),
      { targetDelimiter: '', addSpecialTokens: true, signal },
    );
    withOptions.forEach(({ s }, j) => (s.rank = s.options![ranked[j].prediction] === s.answer ? 1 : 0));
  }
  const perCluster: Record<string, number> = {};
  const rankPerCluster: Record<string, number> = {};
  for (const cluster of new Set(items.map((i) => i.cluster))) {
    const own = scored.filter((s) => s.cluster === cluster);
    perCluster[cluster] = 100 * mean(own.map((s) => s.exact));
    if (own.every((s) => s.rank !== undefined)) rankPerCluster[cluster] = 100 * mean(own.map((s) => s.rank!));
  }
  return { perCluster, overall: mean(Object.values(perCluster)), rankPerCluster, items: scored };
}

async function tune(
  decoder: Decoder,
  tokenizer: HoneTokenizer,
  examples: readonly TrainExample[],
  method: MethodSpec & { learningRate: number },
  config: FlanConfig,
  label: string,
  opts: FlanRunOptions,
): Promise<{ model: PeftModel; trainLoss: { first: number; last: number }; seconds: number }> {
  // the run builder, as the Train view and `hone train` build runs: each pair trains as TRL's prompt-completion
  const { peft: model, data, trainer: settings } = prepareRun(decoder, tokenizer, { name: label, records: examples.map(pairRecord) }, {
    method: { name: method.name, ...(method.config ? { config: method.config } : {}) },
    trainer: {
      totalSteps: config.steps,
      batchSize: config.batchSize,
      learningRate: method.learningRate,
      warmupSteps: Math.round(config.steps * 0.05),
      schedule: 'cosine',
      seed: config.seed,
    },
    rows: { maxLength: config.maxLength },
    validationFraction: 0,
  });
  const losses: number[] = [];
  let trainer: Trainer | null = null;
  const started = performance.now();
  try {
    trainer = new Trainer(model, data, settings, {
      onProgress: (e) => {
        losses.push(e.loss);
        opts.onProgress?.({ stage: label, step: e.step, totalSteps: e.totalSteps, loss: e.loss });
      },
    });
    const result = await trainer.run(opts.signal);
    if (result.status === 'cancelled') throw new DOMException('the experiment was cancelled', 'AbortError');
  } catch (error) {
    model.dispose();
    throw error;
  } finally {
    trainer?.dispose();
  }
  const tail = losses.slice(-10);
  return { model, trainLoss: { first: losses[0], last: mean(tail) }, seconds: (performance.now() - started) / 1000 };
}

function vsBase(base: ModelScores, tuned: ModelScores, config: FlanConfig): TunedResult['vsBase'] {
  // Paired per example, in points; overall weighs clusters equally because every cluster has evalPerCluster items.
  const b = base.items.map((i) => 100 * i.exact);
  const t = tuned.items.map((i) => 100 * i.exact);
  const opts = { resamples: config.bootstrapResamples, seed: config.seed };
  const perCluster: Record<string, BootstrapInterval> = {};
  for (const cluster of Object.keys(base.perCluster)) {
    const idx = base.items.map((item, i) => (item.cluster === cluster ? i : -1)).filter((i) => i >= 0);
    perCluster[cluster] = pairedBootstrap(idx.map((i) => b[i]), idx.map((i) => t[i]), opts);
  }
  return { overall: pairedBootstrap(b, t, opts), perCluster };
}

export async function runFlanExperiment(
  decoder: Decoder,
  tokenizer: HoneTokenizer,
  config: FlanConfig,
  opts: FlanRunOptions = {},
): Promise<FlanReport> {
  const started = performance.now();
  for (const name of config.heldOut) clusterNamed(name); // unknown names fail before any work
  const world = makeWorld(config.worldSeed);
  const trainClusters = CLUSTERS.map((c) => c.name).filter((n) => !config.heldOut.includes(n));
  if (trainClusters.length === 0) throw new Error('FLAN experiment: every cluster is held out; nothing is left to train on');
  const items = evalItems(world, config);
  const zeroShot = items.map((i) => formatPrompt(i.prompt));

  const baseModel = new PeftModel(decoder, null); // no method: exactly the base model
  opts.onProgress?.({ stage: 'base zero-shot' });
  const base = await scoreModel(baseModel, tokenizer, items, zeroShot, config, opts.signal);
  let baseFewShot: ModelScores | null = null;
  if (config.shots > 0) {
    opts.onProgress?.({ stage: `base ${config.shots}-shot` });
    const rng = new Rng(config.seed + 3);
    const prompts = items.map((item) => fewShotPrompt(world, clusterNamed(item.cluster), item, config.shots, rng));
    baseFewShot = await scoreModel(baseModel, tokenizer, items, prompts, config, opts.signal);
  }
  baseModel.dispose();

  const runTuned = async (method: MethodSpec & { learningRate: number }, clusters: string[], rendering: Rendering, label: string) => {
    const examples = trainExamples(world, clusters, rendering, config);
    const { model, trainLoss, seconds } = await tune(decoder, tokenizer, examples, method, config, label, opts);
    try {
      opts.onProgress?.({ stage: `${label}: evaluating` });
      const scores = await scoreModel(model, tokenizer, items, zeroShot, config, opts.signal);
      const count = model.trainableParameterCount();
      return { scores, trainLoss, seconds, trainable: count.trainable, percent: count.percent };
    } finally {
      model.dispose();
    }
  };
  const asTuned = (method: string, r: Awaited<ReturnType<typeof runTuned>>): TunedResult => ({
    ...r.scores,
    method,
    trainable: r.trainable,
    trainablePercent: r.percent,
    trainLoss: r.trainLoss,
    trainSeconds: r.seconds,
    vsBase: vsBase(base, r.scores, config),
  });

  const main = await runTuned(config.main, trainClusters, 'instructions', `tune ${config.main.name}`);
  const tuned = asTuned(config.main.name, main);
  const eff = await runTuned(config.efficient, trainClusters, 'instructions', `tune ${config.efficient.name}`);
  const efficient = asTuned(config.efficient.name, eff);

  const ablation: FlanReport['ablation'] = [];
  if (config.ablation) {
    for (const rendering of ['no-template', 'dataset-name'] as const) {
      const r = await runTuned(config.main, trainClusters, rendering, `ablation ${rendering}`);
      ablation.push({ rendering, overall: r.scores.overall, perCluster: r.scores.perCluster });
    }
    ablation.push({ rendering: 'instructions', overall: tuned.overall, perCluster: tuned.perCluster });
  }

  // the base model is the sweep's 0-cluster point
  const sweep: FlanReport['sweep'] = [{ clusters: 0, names: [], overall: base.overall }];
  const order = shuffle(trainClusters, new Rng(config.seed + 4));
  for (const n of config.sweep.filter((n) => n < trainClusters.length)) {
    const names = order.slice(0, n);
    const r = await runTuned(config.main, names, 'instructions', `sweep ${n} clusters`);
    sweep.push({ clusters: n, names, overall: r.scores.overall });
  }
  sweep.push({ clusters: trainClusters.length, names: trainClusters, overall: tuned.overall });

  return {
    config,
    trainClusters,
    heldOut: config.heldOut,
    base,
    baseFewShot,
    tuned,
    efficient,
    ablation,
    sweep,
    seconds: (performance.now() - started) / 1000,
  };
}
