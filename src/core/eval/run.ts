// An evaluation run: the base and the tuned model answer the same prompts with the same decoding
// settings and seed, each output is scored with one metric, results stream out one example at a
// time, and an AbortSignal stops the run between (and, through generate, inside) examples.
// Base and tuned run one after the other on each example: in Hone they are the same loaded
// weights with the PEFT method switched off and on, so they must never run at once.
import type { GenerationSettings } from '../model/generate';
import { compareRuns, winner, type BootstrapOptions, type Comparison, type PairedScore, type Winner } from './aggregate';
import { ifevalReport, type IfevalReport, type InstructionResults } from './ifeval';
import { multipleChoiceAccuracy, scoreOptions, type LogitsFunction, type MultipleChoiceOptions, type ScoringTokenizer } from './loglik';
import { corpusBleu, corpusChrf } from './metrics';
import { EvalSetupError, checkExamples, getMetric, type EvalExample, type OutputScore, type ScorerOptions } from './scorers';

export { EvalSetupError, getMetric, listMetrics, type EvalExample, type MetricDefinition, type ScorerOptions } from './scorers';

/** Generates the answer to a prompt; the runner passes both models the same settings (seed included). */
export type GenerateFunction = (prompt: string, settings: GenerationSettings, signal?: AbortSignal) => Promise<string>;

/** One model under evaluation: generate for generation metrics, forward for acc / acc_norm. */
export interface ModelUnderTest {
  generate?: GenerateFunction;
  forward?: LogitsFunction;
}

export interface RunOptions {
  metric: string;
  /** decoding settings for both models; default greedy, 128 new tokens, seed 0 */
  generation?: GenerationSettings;
  /** for acc / acc_norm: the tokenizer both models share */
  tokenizer?: ScoringTokenizer;
  /** for acc / acc_norm: delimiter, batching, length unit */
  scoring?: MultipleChoiceOptions;
  metricOptions?: ScorerOptions;
  bootstrap?: BootstrapOptions;
  signal?: AbortSignal;
  /** once per finished example, in order */
  onResult?: (result: ExampleResult, done: number, total: number) => void;
}

export interface SideResult extends OutputScore {
  output: string;
}

export interface ExampleResult {
  index: number;
  id: string;
  task: string;
  cluster: string;
  prompt: string;
  references: string[];
  base: SideResult;
  tuned: SideResult;
  /** tuned − base */
  difference: number;
  winner: Winner;
}

export interface EvalRunResult {
  metric: string;
  results: ExampleResult[];
  /** true when the signal stopped the run; results and comparison cover the finished examples */
  cancelled: boolean;
  /** null when no example finished */
  comparison: Comparison | null;
  /** corpus-level BLEU / chrF from summed statistics, for those metrics */
  corpus?: { base: number; tuned: number };
  /** IFEval prompt- and instruction-level report, for the IFEval metrics */
  ifeval?: { base: { strict: IfevalReport; loose: IfevalReport }; tuned: { strict: IfevalReport; loose: IfevalReport } };
}

export const DEFAULT_GENERATION: GenerationSettings = { maxNewTokens: 128, greedy: true, seed: 0 };

/** Runs the whole evaluation. Bad setup (unknown metric, missing references/options/checks, missing model functions) fails before any model runs. */
export async function runEvaluation(examples: readonly EvalExample[], models: { base: ModelUnderTest; tuned: ModelUnderTest }, opts: RunOptions): Promise<EvalRunResult> {
  const metric = getMetric(opts.metric);
  checkExamples(examples, metric);
  const scorerOptions = opts.metricOptions ?? {};
  if (metric.requires === 'checks' && !scorerOptions.detectLanguage) {
    const found = examples.find((e) => e.checks?.some((c) => c.id === 'language:response_language'));
    if (found) throw new EvalSetupError(`example ${JSON.stringify(found.id)} checks the response language, which needs a language detector (metricOptions.detectLanguage)`);
  }
  for (const side of ['base', 'tuned'] as const) {
    const model = models[side];
    if (metric.mode === 'generate' && !model.generate) throw new EvalSetupError(`the metric "${metric.name}" scores generated text, but the ${side} model has no generate function`);
    if (metric.mode === 'loglik' && !model.forward) throw new EvalSetupError(`the metric "${metric.name}" ranks options by log-likelihood, but the ${side} model has no forward function`);
  }
  if (metric.mode === 'loglik' && !opts.tokenizer) throw new EvalSetupError(`the metric "${metric.name}" needs the tokenizer to encode the options`);
  const generation = opts.generation ?? DEFAULT_GENERATION;

  const results: ExampleResult[] = [];
  let cancelled = false;
  for (const [index, example] of examples.entries()) {
    if (opts.signal?.aborted) {
      cancelled = true;
      break;
    }
    let base: SideResult;
    let tuned: SideResult;
    try {
      base = await runSide(example, models.base, metric.name, generation, opts, scorerOptions);
      tuned = await runSide(example, models.tuned, metric.name, generation, opts, scorerOptions);
    } catch (error) {
      if (opts.signal?.aborted) {
        cancelled = true;
        break;
      }
      if (error instanceof Error) error.message = `example ${JSON.stringify(example.id)}: ${error.message}`;
      throw error;
    }
    const result: ExampleResult = {
      index,
      id: example.id,
      task: example.task,
      cluster: example.cluster,
      prompt: example.prompt,
      references: example.references ?? [],
      base,
      tuned,
      difference: tuned.score - base.score,
      winner: winner(base.score, tuned.score),
    };
    results.push(result);
    opts.onResult?.(result, results.length, examples.length);
  }
  return summarizeRun(metric.name, results, cancelled, opts.bootstrap);
}

async function runSide(
  example: EvalExample,
  model: ModelUnderTest,
  metricName: string,
  generation: GenerationSettings,
  opts: RunOptions,
  scorerOptions: ScorerOptions,
): Promise<SideResult> {
  const metric = getMetric(metricName);
  if (metric.mode === 'loglik') {
    const options = example.options!;
    const score = await scoreOptions(model.forward!, opts.tokenizer!, example.prompt, options, { ...opts.scoring, signal: opts.signal });
    const accuracy = multipleChoiceAccuracy(score, example.gold!);
    const chosen = metricName === 'acc_norm' ? score.normalizedPrediction : score.prediction;
    return {
      output: options[chosen],
      score: metricName === 'acc_norm' ? accuracy.accNorm : accuracy.acc,
      details: { ...score, exactMatch: accuracy.exactMatch },
    };
  }
  const output = await model.generate!(example.prompt, { ...generation }, opts.signal);
  return { output, ...metric.score!(output, example, scorerOptions) };
}

function summarizeRun(metric: string, results: ExampleResult[], cancelled: boolean, bootstrap?: BootstrapOptions): EvalRunResult {
  if (results.length === 0) return { metric, results, cancelled, comparison: null };
  const paired: PairedScore[] = results.map((r) => ({ task: r.task, cluster: r.cluster, base: r.base.score, tuned: r.tuned.score }));
  const run: EvalRunResult = { metric, results, cancelled, comparison: compareRuns(paired, bootstrap) };
  if (metric === 'bleu' || metric === 'chrf' || metric === 'chrf++') {
    // reference streams: streams[k][i] is example i's k-th reference (null where it has fewer)
    const width = Math.max(...results.map((r) => r.references.length));
    const streams = Array.from({ length: width }, (_, k) => results.map((r) => r.references[k] ?? null));
    const corpus = (outputs: string[]) =>
      metric === 'bleu' ? corpusBleu(outputs, streams).score : corpusChrf(outputs, streams, { wordOrder: metric === 'chrf++' ? 2 : 0 }).score;
    run.corpus = { base: corpus(results.map((r) => r.base.output)), tuned: corpus(results.map((r) => r.tuned.output)) };
  }
  if (metric === 'ifeval_strict' || metric === 'ifeval_loose') {
    const report = (side: 'base' | 'tuned', mode: 'strict' | 'loose') =>
      ifevalReport(results.map((r) => (r[side].details as Record<'strict' | 'loose', InstructionResults>)[mode]));
    run.ifeval = {
      base: { strict: report('base', 'strict'), loose: report('base', 'loose') },
      tuned: { strict: report('tuned', 'strict'), loose: report('tuned', 'loose') },
    };
  }
  return run;
}
