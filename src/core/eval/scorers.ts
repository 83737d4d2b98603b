// The metrics an evaluation run can score with, by name: what each needs of an example and how it
// scores one output. Scales are the reference libraries' own (BLEU and chrF 0–100, ROUGE and
// SQuAD 0–1, accuracies 0/1), so numbers read as in sacrebleu / rouge-score / the SQuAD script.
import { sentenceBleu, sentenceChrf, rougeScoreMulti, squadScore } from './metrics';
import { extractFinalAnswer, finalAnswersMatch, type AnswerKind } from './extract';
import { compileInstructions, evaluateInstructions, type CheckEnvironment, type InstructionSpec } from './ifeval';

export interface EvalExample {
  id: string;
  prompt: string;
  /** acceptable reference outputs (generation metrics) */
  references?: string[];
  /** answer options (acc / acc_norm) */
  options?: string[];
  /** index of the correct option, or several accepted ones */
  gold?: number | number[];
  task: string;
  cluster: string;
  /** IFEval instructions the output must follow */
  checks?: InstructionSpec[];
}

export interface ScorerOptions extends CheckEnvironment {
  /** ROUGE: Porter-stem tokens (rouge-score's use_stemmer); default false */
  useStemmer?: boolean;
  /** exact_match: what the final answer is; default 'text' */
  answerKind?: AnswerKind;
}

export interface OutputScore {
  score: number;
  details?: Record<string, unknown>;
}

export interface MetricDefinition {
  name: string;
  description: string;
  /** what produces the output: generated text, or log-likelihood ranking of the options */
  mode: 'generate' | 'loglik';
  /** which example field the metric cannot do without */
  requires: 'references' | 'options' | 'checks';
  /** the best score (the worst is 0) */
  best: number;
  /** scores a generated output; absent for loglik metrics, which the runner scores */
  score?(output: string, example: EvalExample, opts: ScorerOptions): OutputScore;
}

const refs = (example: EvalExample) => example.references ?? [];

function rouge(type: string): MetricDefinition {
  return {
    name: type,
    description: `${type.toUpperCase().replace('ROUGE', 'ROUGE-')} F-measure as rouge-score, best over the references`,
    mode: 'generate',
    requires: 'references',
    best: 1,
    score: (output, example, opts) => {
      const triple = rougeScoreMulti(refs(example), output, { types: [type], useStemmer: opts.useStemmer ?? false })[type];
      return { score: triple.fmeasure, details: { precision: triple.precision, recall: triple.recall } };
    },
  };
}

function ifeval(mode: 'strict' | 'loose'): MetricDefinition {
  return {
    name: `ifeval_${mode}`,
    description: `IFEval ${mode}: 1 when the output follows every instruction of the example`,
    mode: 'generate',
    requires: 'checks',
    best: 1,
    score: (output, example, opts) => {
      const instructions = compileInstructions(example.checks ?? [], `example ${JSON.stringify(example.id)}`);
      const strict = evaluateInstructions(output, instructions, 'strict', opts);
      const loose = evaluateInstructions(output, instructions, 'loose', opts);
      return { score: (mode === 'strict' ? strict : loose).followAll ? 1 : 0, details: { strict, loose } };
    },
  };
}

const DEFINITIONS: MetricDefinition[] = [
  {
    name: 'bleu',
    description: 'sentence BLEU as sacrebleu (13a, exp smoothing, effective order), 0–100',
    mode: 'generate',
    requires: 'references',
    best: 100,
    score: (output, example) => {
      const bleu = sentenceBleu(output, refs(example), { effectiveOrder: true });
      return { score: bleu.score, details: { precisions: bleu.precisions, bp: bleu.bp } };
    },
  },
  {
    name: 'chrf',
    description: 'sentence chrF as sacrebleu (character order 6, β = 2), 0–100',
    mode: 'generate',
    requires: 'references',
    best: 100,
    score: (output, example) => ({ score: sentenceChrf(output, refs(example)).score }),
  },
  {
    name: 'chrf++',
    description: 'sentence chrF++ as sacrebleu (chrF with word bigrams), 0–100',
    mode: 'generate',
    requires: 'references',
    best: 100,
    score: (output, example) => ({ score: sentenceChrf(output, refs(example), { wordOrder: 2 }).score }),
  },
  rouge('rouge1'),
  rouge('rouge2'),
  rouge('rougeL'),
  rouge('rougeLsum'),
  {
    name: 'squad_em',
    description: 'SQuAD v1.1 exact match (normalize_answer), best over the references',
    mode: 'generate',
    requires: 'references',
    best: 1,
    score: (output, example) => ({ score: squadScore(output, refs(example)).exact_match }),
  },
  {
    name: 'squad_f1',
    description: 'SQuAD v1.1 token F1, best over the references',
    mode: 'generate',
    requires: 'references',
    best: 1,
    score: (output, example) => ({ score: squadScore(output, refs(example)).f1 }),
  },
  {
    name: 'exact_match',
    description: 'the final answer extracted from a chain of thought equals a reference (answerKind: number, choice or text)',
    mode: 'generate',
    requires: 'references',
    best: 1,
    score: (output, example, opts) => {
      const kind = opts.answerKind ?? 'text';
      const extracted = extractFinalAnswer(output, kind, { optionCount: example.options?.length });
      const match = refs(example).some((reference) => finalAnswersMatch(extracted.answer, reference, kind));
      return { score: match ? 1 : 0, details: { answer: extracted.answer, rule: extracted.rule } };
    },
  },
  ifeval('strict'),
  ifeval('loose'),
  {
    name: 'acc',
    description: 'accuracy of ranking the options by summed log-likelihood (lm-evaluation-harness acc)',
    mode: 'loglik',
    requires: 'options',
    best: 1,
  },
  {
    name: 'acc_norm',
    description: 'accuracy of ranking the options by log-likelihood per character (lm-evaluation-harness acc_norm)',
    mode: 'loglik',
    requires: 'options',
    best: 1,
  },
];

const REGISTRY = new Map(DEFINITIONS.map((d) => [d.name, d]));

export class EvalSetupError extends Error {
  override name = 'EvalSetupError';
}

export function listMetrics(): MetricDefinition[] {
  return [...DEFINITIONS];
}

/** The metric of that name; an unknown name is an error listing the known ones. */
export function getMetric(name: string): MetricDefinition {
  const metric = REGISTRY.get(name);
  if (!metric) throw new EvalSetupError(`unknown metric ${JSON.stringify(name)} (known: ${DEFINITIONS.map((d) => d.name).join(', ')})`);
  return metric;
}

/** Checks every example against the metric before anything runs; errors name the example. */
export function checkExamples(examples: readonly EvalExample[], metric: MetricDefinition): void {
  if (examples.length === 0) throw new EvalSetupError('the eval set has no examples');
  const ids = new Set<string>();
  examples.forEach((example, i) => {
    const where = `example ${i + 1}${typeof example?.id === 'string' ? ` (id ${JSON.stringify(example.id)})` : ''}`;
    if (typeof example !== 'object' || example === null) throw new EvalSetupError(`${where} is not an object`);
    for (const field of ['id', 'prompt', 'task', 'cluster'] as const) {
      if (typeof example[field] !== 'string') throw new EvalSetupError(`${where}: "${field}" must be a string`);
    }
    if (ids.has(example.id)) throw new EvalSetupError(`${where}: the id is used by an earlier example too; ids must be unique`);
    ids.add(example.id);
    if (metric.requires === 'references') {
      const references = example.references;
      if (!Array.isArray(references) || references.length === 0) {
        throw new EvalSetupError(`${where} has no references, but the metric "${metric.name}" compares outputs with references; add "references" or choose a metric without them (ifeval_strict, ifeval_loose)`);
      }
      if (!references.every((r) => typeof r === 'string')) throw new EvalSetupError(`${where}: "references" must be a list of strings`);
    }
    if (metric.requires === 'options') {
      const { options, gold } = example;
      if (!Array.isArray(options) || options.length < 2 || !options.every((o) => typeof o === 'string')) {
        throw new EvalSetupError(`${where} needs "options" (at least two strings) for the metric "${metric.name}"`);
      }
      const golds = typeof gold === 'number' ? [gold] : gold;
      if (!Array.isArray(golds) || golds.length === 0 || !golds.every((g) => Number.isInteger(g) && g >= 0 && g < options.length)) {
        throw new EvalSetupError(`${where} needs "gold", the index (0…${options.length - 1}) of the correct option, for the metric "${metric.name}"`);
      }
    }
    if (metric.requires === 'checks') {
      if (!Array.isArray(example.checks) || example.checks.length === 0) {
        throw new EvalSetupError(`${where} has no "checks" (IFEval instructions), which the metric "${metric.name}" scores`);
      }
      compileInstructions(example.checks, where);
    }
  });
}
