// One entry point for Hone's text metrics: runs a case shaped like
// tests/fixtures/metrics/golden.json (`metric`, `options`, `hypothesis`, `references`) and returns
// what that file's `expected` holds. Option names are the reference libraries' own (snake_case),
// so a case can be replayed against sacrebleu / rouge-score unchanged.
import { type BleuOptions, type BleuScore, corpusBleu, sentenceBleu } from './bleu';
import { type ChrfOptions, type ChrfScore, corpusChrf, sentenceChrf } from './chrf';
import { type RougeOptions, type RougeScores, rougeScoreMulti } from './rouge';
import { type SquadScore, squadScore } from './squad';
import { tokenize13a } from './tokenizer-13a';

export { corpusBleu, sentenceBleu, computeBleu, type BleuOptions, type BleuScore } from './bleu';
export { corpusChrf, sentenceChrf, type ChrfOptions, type ChrfScore } from './chrf';
export { rougeScore, rougeScoreMulti, tokenizeForRouge, type RougeOptions, type RougeScores, type RougeTriple } from './rouge';
export { normalizeAnswer, squadExactMatch, squadF1, squadScore, type SquadScore } from './squad';
export { PorterStemmer, type PorterMode } from './porter';
export { tokenize13a } from './tokenizer-13a';

export const METRIC_NAMES = ['bleu', 'chrf', 'rouge', 'squad', 'tokenizer_13a'] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

export interface MetricCase {
  id?: number | string;
  metric: string;
  options?: Record<string, unknown>;
  /** A string; for corpus-level bleu/chrf a list of segments. */
  hypothesis: unknown;
  /** Alternative references; for corpus-level bleu/chrf a list of reference streams. */
  references?: unknown;
}

export type MetricResult = BleuScore | ChrfScore | RougeScores | SquadScore | string;

export class MetricCaseError extends Error {
  override name = 'MetricCaseError';
}

/** Reads options by their reference-library names, refusing unknown names and wrong types. */
class OptionReader {
  private readonly seen = new Set<string>();
  constructor(
    private readonly where: string,
    private readonly options: Record<string, unknown>,
  ) {}

  private get(name: string, type: 'boolean' | 'number' | 'string'): unknown {
    this.seen.add(name);
    const value = this.options[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== type) throw new MetricCaseError(`${this.where}: option "${name}" must be a ${type}, got ${JSON.stringify(value)}`);
    return value;
  }
  boolean = (name: string) => this.get(name, 'boolean') as boolean | undefined;
  number = (name: string) => this.get(name, 'number') as number | undefined;
  string = (name: string) => this.get(name, 'string') as string | undefined;
  stringList(name: string): string[] | undefined {
    this.seen.add(name);
    const value = this.options[name];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
      throw new MetricCaseError(`${this.where}: option "${name}" must be a list of strings, got ${JSON.stringify(value)}`);
    }
    return value as string[];
  }
  /** Call after reading every known option. */
  finish(): void {
    const unknown = Object.keys(this.options).filter((name) => !this.seen.has(name));
    if (unknown.length > 0) {
      const known = [...this.seen].join(', ') || 'none';
      throw new MetricCaseError(`${this.where}: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')} (known: ${known})`);
    }
  }
}

function isStringOrNull(value: unknown): value is string | null {
  return typeof value === 'string' || value === null;
}

/** Sentence level: one hypothesis string against a list of alternative reference strings. */
function sentenceInputs(where: string, hypothesis: unknown, references: unknown[]): [string, (string | null)[]] {
  if (typeof hypothesis !== 'string') throw new MetricCaseError(`${where}: "hypothesis" must be a string at sentence level, got ${JSON.stringify(hypothesis)}`);
  if (!references.every(isStringOrNull)) throw new MetricCaseError(`${where}: "references" must be a list of strings at sentence level`);
  return [hypothesis, references];
}

/** Corpus level: a list of segments against reference streams (`references[k][i]`). */
function corpusInputs(where: string, hypothesis: unknown, references: unknown[]): [string[], (string | null)[][]] {
  if (!Array.isArray(hypothesis) || !hypothesis.every((h) => typeof h === 'string')) {
    throw new MetricCaseError(`${where}: "hypothesis" must be a list of segment strings at corpus level`);
  }
  if (!references.every((stream) => Array.isArray(stream) && stream.every(isStringOrNull))) {
    throw new MetricCaseError(`${where}: "references" must be a list of reference streams (lists of strings, references[k][i] = k-th reference of segment i) at corpus level`);
  }
  return [hypothesis as string[], references as (string | null)[][]];
}

function level(where: string, read: OptionReader, hypothesis: unknown): 'sentence' | 'corpus' {
  const value = read.string('level') ?? (Array.isArray(hypothesis) ? 'corpus' : 'sentence');
  if (value !== 'sentence' && value !== 'corpus') throw new MetricCaseError(`${where}: option "level" must be "sentence" or "corpus", got "${value}"`);
  return value;
}

function runBleu(where: string, read: OptionReader, testCase: MetricCase, references: unknown[]): BleuScore {
  const at = level(where, read, testCase.hypothesis);
  // sacrebleu's BLEU() calls it effective_order, its sentence_bleu() use_effective_order.
  const effectiveOrder = read.boolean('effective_order');
  const useEffectiveOrder = read.boolean('use_effective_order');
  const options: BleuOptions = {
    lowercase: read.boolean('lowercase'),
    tokenize: read.string('tokenize') as BleuOptions['tokenize'],
    smoothMethod: read.string('smooth_method') as BleuOptions['smoothMethod'],
    smoothValue: read.number('smooth_value'),
    effectiveOrder: effectiveOrder ?? useEffectiveOrder,
    maxNgramOrder: read.number('max_ngram_order'),
  };
  read.finish();
  if (at === 'sentence') return sentenceBleu(...sentenceInputs(where, testCase.hypothesis, references), options);
  return corpusBleu(...corpusInputs(where, testCase.hypothesis, references), options);
}

function runChrf(where: string, read: OptionReader, testCase: MetricCase, references: unknown[]): ChrfScore {
  const at = level(where, read, testCase.hypothesis);
  const options: ChrfOptions = {
    charOrder: read.number('char_order'),
    wordOrder: read.number('word_order'),
    beta: read.number('beta'),
    lowercase: read.boolean('lowercase'),
    whitespace: read.boolean('whitespace'),
    epsSmoothing: read.boolean('eps_smoothing'),
  };
  read.finish();
  if (at === 'sentence') return sentenceChrf(...sentenceInputs(where, testCase.hypothesis, references), options);
  return corpusChrf(...corpusInputs(where, testCase.hypothesis, references), options);
}

/** Targets and prediction for rouge and squad: one prediction string, alternative reference strings. */
function predictionAndTargets(where: string, testCase: MetricCase, references: unknown[]): [string, string[]] {
  if (typeof testCase.hypothesis !== 'string') throw new MetricCaseError(`${where}: "hypothesis" must be the prediction string, got ${JSON.stringify(testCase.hypothesis)}`);
  if (!references.every((r) => typeof r === 'string')) throw new MetricCaseError(`${where}: "references" must be a list of strings`);
  return [testCase.hypothesis, references as string[]];
}

function runRouge(where: string, read: OptionReader, testCase: MetricCase, references: unknown[]): RougeScores {
  // `types` as in golden.json, `rouge_types` as RougeScorer's argument is named.
  const types = read.stringList('types');
  const rougeTypes = read.stringList('rouge_types');
  const options: RougeOptions = { useStemmer: read.boolean('use_stemmer'), types: types ?? rougeTypes };
  read.finish();
  const [prediction, targets] = predictionAndTargets(where, testCase, references);
  return rougeScoreMulti(targets, prediction, options);
}

/** Runs one metric case; throws MetricCaseError (or the metric's own error) naming the case. */
export function runMetricCase(testCase: MetricCase): MetricResult {
  const metric = testCase.metric;
  const where = testCase.id !== undefined ? `case ${testCase.id} (${metric})` : `${metric}`;
  if (!(METRIC_NAMES as readonly string[]).includes(metric)) {
    const prefix = testCase.id !== undefined ? `case ${testCase.id}: ` : '';
    throw new MetricCaseError(`${prefix}unknown metric ${JSON.stringify(metric)} (known: ${METRIC_NAMES.join(', ')})`);
  }
  const options = testCase.options ?? {};
  if (typeof options !== 'object' || Array.isArray(options)) throw new MetricCaseError(`${where}: "options" must be an object`);
  const read = new OptionReader(where, options);

  if (metric === 'tokenizer_13a') {
    read.finish();
    if (typeof testCase.hypothesis !== 'string') throw new MetricCaseError(`${where}: "hypothesis" must be the string to tokenize`);
    return tokenize13a(testCase.hypothesis);
  }

  const references = testCase.references;
  if (references === undefined || references === null || (Array.isArray(references) && references.length === 0)) {
    throw new MetricCaseError(`${where}: missing references; "references" must list at least one reference`);
  }
  if (!Array.isArray(references)) throw new MetricCaseError(`${where}: "references" must be a list, got ${JSON.stringify(references)}`);
  try {
    switch (metric as MetricName) {
      case 'bleu':
        return runBleu(where, read, testCase, references);
      case 'chrf':
        return runChrf(where, read, testCase, references);
      case 'rouge':
        return runRouge(where, read, testCase, references);
      default: {
        read.finish();
        const [prediction, groundTruths] = predictionAndTargets(where, testCase, references);
        return squadScore(prediction, groundTruths);
      }
    }
  } catch (error) {
    // The metrics' own errors start with the metric name; say which case it was.
    if (error instanceof Error && !(error instanceof MetricCaseError) && testCase.id !== undefined) {
      error.message = `case ${testCase.id}: ${error.message}`;
    }
    throw error;
  }
}
