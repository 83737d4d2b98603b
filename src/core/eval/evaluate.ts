// One evaluation from eval items to report rows: render the prompts, check everything that can be
// checked before a model runs (metric, references / options / checks, that the tokenizer encodes
// every option, that prompts fit a GPT-2 model's positions, enough k-shot exemplars), then
//   1. base vs tuned zero-shot on the same prompts, settings and seed (run.ts runEvaluation), and
//   2. when asked, the base model k-shot: FLAN's classic baseline for the figure,
// streaming each finished example. Base and tuned are one PeftModel with the method off and on.
import type { GenerationSettings } from '../model/generate';
import type { PeftModel } from '../peft/model';
import type { HoneTokenizer } from '../tokenizer/tokenizer';
import { compareRuns, type BootstrapOptions } from './aggregate';
import { checkItems, optionsFromTasks, pickShots, renderPrompt, toExamples, type EvalItem, type PromptFormat } from './eval-set';
import { encodePair, multipleChoiceAccuracy, OptionEncodingError, scoreOptions, type MultipleChoiceOptions } from './loglik';
import { mirrored, modelSides, promptBudget } from './models';
import { baseAggregates, fewShotSummary, figureGroups, REPORT_VERSION, type EvalReport, type EvalSetInfo, type FewShotResult, type ReportRow, type TunedSource } from './report';
import { runEvaluation, type ExampleResult, type ModelUnderTest, type SideResult } from './run';
import { checkExamples, EvalSetupError, getMetric, type EvalExample, type MetricDefinition, type ScorerOptions } from './scorers';

export interface EvaluateSettings {
  metric: string;
  metricOptions?: ScorerOptions;
  /** decoding for every model and prompt; the seed is fixed (default 0) so base and tuned sample alike */
  generation?: Partial<GenerationSettings>;
  /** default 'alpaca' (what Hone trains with) */
  promptFormat?: PromptFormat;
  /** 1…5: also run the base model k-shot; 0 (default) skips it */
  shots?: number;
  bootstrap?: BootstrapOptions;
}

export type EvalEvent =
  | { kind: 'started'; total: number; shots: number; tuned: boolean }
  | { kind: 'result'; row: ReportRow; done: number; total: number }
  | { kind: 'few-shot'; index: number; fewShot: FewShotResult; done: number; total: number };

export interface EvaluateInput {
  items: readonly EvalItem[];
  /** where k-shot exemplars come from (default: the items themselves) */
  shotPool?: readonly EvalItem[];
  /** the tuned model; a PeftModel without a method evaluates the base model alone */
  peft: PeftModel;
  tokenizer: HoneTokenizer;
  /** names the set in errors */
  what?: string;
}

export type Evaluated = Pick<EvalReport, 'status' | 'rows' | 'aggregates' | 'comparison' | 'fewShot' | 'corpus' | 'ifeval' | 'figure'> & {
  settings: EvalReport['settings'];
  metric: EvalReport['metric'];
};

export const DEFAULT_EVAL_GENERATION: GenerationSettings = { maxNewTokens: 64, greedy: true, seed: 0 };
const DEFAULT_BOOTSTRAP = { resamples: 1000, seed: 0, confidence: 0.95 };

/** The decoding settings a run uses: defaults filled in and a fixed seed. */
export function generationSettings(given: Partial<GenerationSettings> = {}): GenerationSettings {
  const settings = { ...DEFAULT_EVAL_GENERATION, ...given };
  if (settings.seed === undefined) settings.seed = 0;
  if (!Number.isInteger(settings.maxNewTokens) || settings.maxNewTokens < 1) {
    throw new EvalSetupError(`max new tokens must be a whole number ≥ 1, got ${String(given.maxNewTokens)}`);
  }
  return settings;
}

const label = (example: EvalExample, i: number) => `example ${i + 1} (id ${JSON.stringify(example.id)})`;

/** Encodes every option the way scoring will, so a tokenizer that cannot encode one fails before any model runs. */
function checkOptionsEncode(examples: readonly EvalExample[], tokenizer: HoneTokenizer, scoring: MultipleChoiceOptions, what: string): void {
  examples.forEach((example, i) => {
    const options = example.options ?? [];
    options.forEach((option, o) => {
      const name = `option ${o + 1} of ${options.length}`;
      try {
        if (option.length === 0) throw new OptionEncodingError(`the tokenizer cannot encode ${name} "": the option is empty`);
        encodePair(tokenizer, example.prompt, (scoring.targetDelimiter ?? ' ') + option, { label: name, addSpecialTokens: scoring.addSpecialTokens });
      } catch (error) {
        if (error instanceof OptionEncodingError) throw new OptionEncodingError(`${what}, ${label(example, i)}: ${error.message}`);
        throw error;
      }
    });
  });
}

function checkPromptLengths(examples: readonly EvalExample[], tokenizer: HoneTokenizer, budget: number, what: string, maxNewTokens: number): void {
  if (!Number.isFinite(budget)) return;
  examples.forEach((example, i) => {
    const length = tokenizer.encode(example.prompt).length;
    if (length > budget) {
      throw new EvalSetupError(
        `${what}, ${label(example, i)}: the prompt is ${length} tokens, and with ${maxNewTokens} new tokens it exceeds this GPT-2 model's positions ` +
          `(room for ${budget} prompt tokens); lower max new tokens or the shots, or leave the example out`,
      );
    }
  });
}

/** The base model's answer to one k-shot prompt, scored as run.ts scores the zero-shot ones. */
async function scoreOne(
  metric: MetricDefinition,
  example: EvalExample,
  model: ModelUnderTest,
  generation: GenerationSettings,
  tokenizer: HoneTokenizer,
  scoring: MultipleChoiceOptions,
  scorerOptions: ScorerOptions,
  signal?: AbortSignal,
): Promise<SideResult> {
  if (metric.mode === 'loglik') {
    const score = await scoreOptions(model.forward!, tokenizer, example.prompt, example.options!, { ...scoring, signal });
    const accuracy = multipleChoiceAccuracy(score, example.gold!);
    const chosen = metric.name === 'acc_norm' ? score.normalizedPrediction : score.prediction;
    return { output: example.options![chosen], score: metric.name === 'acc_norm' ? accuracy.accNorm : accuracy.acc, details: { ...score, exactMatch: accuracy.exactMatch } };
  }
  const output = await model.generate!(example.prompt, { ...generation }, signal);
  return { output, ...metric.score!(output, example, scorerOptions) };
}

function toRow(result: ExampleResult, hasTuned: boolean): ReportRow {
  return {
    index: result.index,
    id: result.id,
    task: result.task,
    cluster: result.cluster,
    prompt: result.prompt,
    references: result.references,
    base: result.base,
    tuned: hasTuned ? result.tuned : null,
    fewShot: null,
    difference: hasTuned ? result.difference : null,
    winner: hasTuned ? result.winner : null,
  };
}

export async function evaluate(input: EvaluateInput, settings: EvaluateSettings, opts: { signal?: AbortSignal; onEvent?: (event: EvalEvent) => void } = {}): Promise<Evaluated> {
  const what = input.what ?? 'the eval set';
  const metric = getMetric(settings.metric);
  const generation = generationSettings(settings.generation);
  const format = settings.promptFormat ?? 'alpaca';
  const shots = settings.shots ?? 0;
  const bootstrap = { ...DEFAULT_BOOTSTRAP, ...settings.bootstrap };
  const scorerOptions = settings.metricOptions ?? {};
  const { peft, tokenizer } = input;
  const hasTuned = peft.method !== null;

  checkItems(input.items, what);
  const items = metric.mode === 'loglik' ? optionsFromTasks(input.items) : [...input.items];
  const examples = toExamples(items, items.map((item) => renderPrompt(item, format)));
  try {
    checkExamples(examples, metric);
  } catch (error) {
    if (error instanceof EvalSetupError) error.message = `${what}, ${error.message}`;
    throw error;
  }
  const pool = input.shotPool && input.shotPool.length > 0 ? input.shotPool : items;
  const shotSets = pickShots(items, metric.mode === 'loglik' ? optionsFromTasks(pool) : pool, shots, generation.seed ?? 0);
  const fewExamples = shots > 0 ? toExamples(items, items.map((item, i) => renderPrompt(item, format, shotSets[i]))) : [];

  // prompts that end in whitespace (every built-in format) take the options right after it
  const allPrompts = [...examples, ...fewExamples];
  const targetDelimiter = allPrompts.every((e) => /\s$/.test(e.prompt)) ? '' : ' ';
  const budget = promptBudget(peft, metric.mode === 'generate' ? generation.maxNewTokens : 0);
  const scoring: MultipleChoiceOptions = { targetDelimiter, ...(Number.isFinite(budget) ? { maxLength: budget } : {}) };
  if (metric.mode === 'loglik') {
    checkOptionsEncode(examples, tokenizer, scoring, what);
    checkOptionsEncode(fewExamples, tokenizer, scoring, `${what} (${shots}-shot prompts)`);
  } else {
    checkPromptLengths(examples, tokenizer, budget, what, generation.maxNewTokens);
    checkPromptLengths(fewExamples, tokenizer, budget, `${what} (${shots}-shot prompts)`, generation.maxNewTokens);
  }

  const sides = modelSides(peft, tokenizer);
  const models = hasTuned ? sides : mirrored(sides.base);
  const rows: ReportRow[] = [];
  opts.onEvent?.({ kind: 'started', total: items.length, shots, tuned: hasTuned });
  const run = await runEvaluation(examples, models, {
    metric: metric.name,
    generation,
    tokenizer,
    scoring,
    metricOptions: scorerOptions,
    bootstrap,
    signal: opts.signal,
    onResult: (result, done, total) => {
      const row = toRow(result, hasTuned);
      rows.push(row);
      opts.onEvent?.({ kind: 'result', row, done, total });
    },
  });
  let cancelled = run.cancelled;

  if (shots > 0 && !cancelled) {
    for (const [done, row] of rows.entries()) {
      if (opts.signal?.aborted) {
        cancelled = true;
        break;
      }
      const example = fewExamples[row.index];
      try {
        const result = await scoreOne(metric, example, sides.base, generation, tokenizer, scoring, scorerOptions, opts.signal);
        row.fewShot = { ...result, prompt: example.prompt };
      } catch (error) {
        if (opts.signal?.aborted) {
          cancelled = true;
          break;
        }
        if (error instanceof Error) error.message = `${shots}-shot baseline, example ${JSON.stringify(example.id)}: ${error.message}`;
        throw error;
      }
      opts.onEvent?.({ kind: 'few-shot', index: row.index, fewShot: row.fewShot, done: done + 1, total: rows.length });
    }
  }
  peft.enabled = true;

  const paired = rows.map((row) => ({ task: row.task, cluster: row.cluster, base: row.base.score, tuned: row.tuned?.score ?? row.base.score }));
  const comparison = hasTuned && rows.length > 0 ? (run.comparison ?? compareRuns(paired, bootstrap)) : null;
  const aggregates = comparison ?? baseAggregates(rows);
  const fewShot = fewShotSummary(rows, shots);
  const evaluated: Evaluated = {
    status: cancelled ? 'cancelled' : 'completed',
    rows,
    aggregates,
    comparison,
    fewShot,
    figure: figureGroups(aggregates, fewShot, hasTuned),
    metric: { name: metric.name, description: metric.description, best: metric.best, mode: metric.mode },
    settings: {
      generation,
      promptFormat: format,
      shots,
      bootstrap,
      ...(metric.mode === 'loglik' ? { targetDelimiter } : {}),
      ...(Object.keys(scorerOptions).length ? { metricOptions: { ...scorerOptions } } : {}),
    },
  };
  if (run.corpus) evaluated.corpus = { base: run.corpus.base, tuned: hasTuned ? run.corpus.tuned : null };
  if (run.ifeval) evaluated.ifeval = { base: run.ifeval.base, tuned: hasTuned ? run.ifeval.tuned : null };
  return evaluated;
}

/** The stored / written report: what evaluate() returned plus who was evaluated on what. */
export function buildReport(
  evaluated: Evaluated,
  meta: { name?: string; startedAt: number; model: { id: string; name: string }; tuned: TunedSource | null; evalSet: EvalSetInfo },
): EvalReport {
  const report: EvalReport = {
    version: REPORT_VERSION,
    name: meta.name?.trim() || `${meta.tuned ? meta.tuned.name : 'base model'} · ${meta.evalSet.name} · ${evaluated.metric.name}`,
    createdAt: meta.startedAt,
    seconds: (Date.now() - meta.startedAt) / 1000,
    status: evaluated.status,
    model: meta.model,
    tuned: meta.tuned,
    evalSet: meta.evalSet,
    metric: evaluated.metric,
    settings: evaluated.settings,
    rows: evaluated.rows,
    aggregates: evaluated.aggregates,
    comparison: evaluated.comparison,
    fewShot: evaluated.fewShot,
    figure: evaluated.figure,
  };
  if (evaluated.corpus) report.corpus = evaluated.corpus;
  if (evaluated.ifeval) report.ifeval = evaluated.ifeval;
  return report;
}
