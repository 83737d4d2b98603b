// chrF (Popović 2015) and chrF++ (Popović 2017) exactly as sacrebleu 2.6.0 computes them:
// sacrebleu/metrics/chrf.py (CHRF._get_match_statistics, _remove_punctuation, _compute_f_score,
// _compute_segment_statistics) and helpers.extract_all_char_ngrams / extract_word_ngrams.
// Character n-grams are over code points (Python string indexing), not UTF-16 units.
import { ASCII_PUNCTUATION, type Counter, codePoints, countItems, pyLower, pySplit } from './python-text';

export interface ChrfOptions {
  /** Character n-gram orders 1..charOrder; 6 per Popović (2015). */
  charOrder?: number;
  /** Word n-gram orders 1..wordOrder; 0 is chrF, 2 is chrF++ (Popović 2017). */
  wordOrder?: number;
  /** Recall weighs beta times as much as precision; 2 per Popović (WMT16). */
  beta?: number;
  /** Lowercase first; off because chrF is reported case-sensitive. */
  lowercase?: boolean;
  /** Keep whitespace inside character n-grams; off as in chrF's definition. */
  whitespace?: boolean;
  /** chrF++.py/Moses/NLTK epsilon smoothing instead of sacrebleu's effective-order averaging. */
  epsSmoothing?: boolean;
}

export interface ChrfScore {
  /** 0..100 */
  score: number;
}

export class ChrfError extends Error {
  override name = 'ChrfError';
}

interface Config {
  charOrder: number;
  wordOrder: number;
  beta: number;
  lowercase: boolean;
  whitespace: boolean;
  epsSmoothing: boolean;
}

function configFrom(options: ChrfOptions): Config {
  const config = {
    charOrder: options.charOrder ?? 6,
    wordOrder: options.wordOrder ?? 0,
    beta: options.beta ?? 2,
    lowercase: options.lowercase ?? false,
    whitespace: options.whitespace ?? false,
    epsSmoothing: options.epsSmoothing ?? false,
  };
  for (const field of ['charOrder', 'wordOrder'] as const) {
    if (!Number.isInteger(config[field]) || config[field] < 0) {
      throw new ChrfError(`chrf: ${field === 'charOrder' ? 'char_order' : 'word_order'} must be a non-negative integer, got ${config[field]}`);
    }
  }
  if (config.charOrder + config.wordOrder === 0) throw new ChrfError('chrf: char_order and word_order are both 0; nothing to count');
  if (!Number.isFinite(config.beta) || config.beta < 0) throw new ChrfError(`chrf: beta must be a non-negative number, got ${config.beta}`);
  return config;
}

/** helpers.extract_all_char_ngrams: whitespace is removed (not just split on) unless kept. */
function charNgrams(line: string, maxOrder: number, keepWhitespace: boolean): Counter[] {
  const chars = codePoints(keepWhitespace ? line : pySplit(line).join(''));
  const counters: Counter[] = [];
  for (let n = 1; n <= maxOrder; n++) {
    const grams: string[] = [];
    for (let i = 0; i + n <= chars.length; i++) grams.push(chars.slice(i, i + n).join(''));
    counters.push(countItems(grams));
  }
  return counters;
}

/** CHRF._remove_punctuation: one ASCII punctuation mark is split off a word's end, else its start. */
function wordsWithPunctuationSplit(sentence: string): string[] {
  const words: string[] = [];
  for (const word of pySplit(sentence)) {
    const chars = codePoints(word);
    if (chars.length === 1) {
      words.push(word);
    } else if (ASCII_PUNCTUATION.has(chars[chars.length - 1])) {
      // '(hi)' becomes '(hi' and ')' (sacrebleu issue #124, kept for compatibility).
      words.push(chars.slice(0, -1).join(''), chars[chars.length - 1]);
    } else if (ASCII_PUNCTUATION.has(chars[0])) {
      words.push(chars[0], chars.slice(1).join(''));
    } else {
      words.push(word);
    }
  }
  return words;
}

function wordNgrams(words: string[], n: number): Counter {
  const grams: string[] = [];
  for (let i = 0; i + n <= words.length; i++) grams.push(words.slice(i, i + n).join(' '));
  return countItems(grams);
}

/** Character n-gram counters for orders 1..charOrder, then word n-gram counters for 1..wordOrder. */
function allNgrams(sentence: string, config: Config): Counter[] {
  const counters = charNgrams(sentence, config.charOrder, config.whitespace);
  if (config.wordOrder > 0) {
    const words = wordsWithPunctuationSplit(sentence);
    for (let n = 1; n <= config.wordOrder; n++) counters.push(wordNgrams(words, n));
  }
  return counters;
}

/** [hypothesis count, reference count, matches]; hypothesis n-grams don't count without a reference one. */
function matchStatistics(hyp: Counter, ref: Counter): number[] {
  let matches = 0;
  let hypCount = 0;
  for (const [gram, count] of hyp) {
    hypCount += count;
    const refCountOfGram = ref.get(gram);
    if (refCountOfGram !== undefined) matches += Math.min(count, refCountOfGram);
  }
  let refCount = 0;
  for (const count of ref.values()) refCount += count;
  return [ref.size > 0 ? hypCount : 0, refCount, matches];
}

/** CHRF._compute_f_score over flattened [hyp, ref, match] triples, one per order. */
function fScore(statistics: number[], config: Config): number {
  const eps = 1e-16;
  const factor = config.beta ** 2;
  const orders = config.charOrder + config.wordOrder;
  let score = 0.0;
  let effectiveOrder = 0;
  let avgPrecision = 0.0;
  let avgRecall = 0.0;
  for (let i = 0; i < orders; i++) {
    const [nHyp, nRef, nMatch] = statistics.slice(3 * i, 3 * i + 3);
    const precision = nHyp > 0 ? nMatch / nHyp : eps;
    const recall = nRef > 0 ? nMatch / nRef : eps;
    const denominator = factor * precision + recall;
    score += denominator > 0 ? ((1 + factor) * precision * recall) / denominator : eps;
    // sacrebleu < 2.0 style: average precision and recall over orders both sides have.
    if (nHyp > 0 && nRef > 0) {
      avgPrecision += precision;
      avgRecall += recall;
      effectiveOrder++;
    }
  }
  if (config.epsSmoothing) return (100 * score) / orders;
  if (effectiveOrder === 0) {
    avgPrecision = avgRecall = 0.0;
  } else {
    avgPrecision /= effectiveOrder;
    avgRecall /= effectiveOrder;
  }
  if (avgPrecision + avgRecall === 0) return 0.0;
  // Same operation order as the reference, so results agree to the last bit.
  const f = ((1 + factor) * avgPrecision * avgRecall) / (factor * avgPrecision + avgRecall);
  return 100 * f;
}

/**
 * Corpus chrF: per segment the reference with the highest F is kept (the first on ties), then
 * the statistics are summed over segments and the F score computed once.
 * `referenceStreams[k][i]` is the k-th reference of segment i; `null` means fewer references there.
 */
export function corpusChrf(hypotheses: string[], referenceStreams: (string | null)[][], options: ChrfOptions = {}): ChrfScore {
  const config = configFrom(options);
  if (hypotheses.length === 0) throw new ChrfError('chrf: no hypotheses given; give at least one segment');
  if (referenceStreams.length === 0) throw new ChrfError('chrf: no references given; give at least one reference stream');
  referenceStreams.forEach((stream, k) => {
    if (stream.length !== hypotheses.length) {
      throw new ChrfError(`chrf: reference stream ${k} has ${stream.length} segments but there are ${hypotheses.length} hypotheses; every stream needs one entry (or null) per hypothesis`);
    }
  });
  const prepare = (text: string) => (config.lowercase ? pyLower(text) : text);
  const orders = config.charOrder + config.wordOrder;
  const total = new Array<number>(3 * orders).fill(0);
  hypotheses.forEach((hypothesis, i) => {
    const references = referenceStreams.map((stream) => stream[i]).filter((ref): ref is string => ref !== null && ref !== undefined);
    if (references.length === 0) throw new ChrfError(`chrf: segment ${i} has no reference (all streams are null there)`);
    const hypNgrams = allNgrams(prepare(hypothesis), config);
    let best: number[] = [];
    let bestF = -1.0;
    for (const reference of references) {
      const refNgrams = allNgrams(prepare(reference), config);
      const statistics = hypNgrams.flatMap((hyp, order) => matchStatistics(hyp, refNgrams[order]));
      const f = fScore(statistics, config);
      if (f > bestF) {
        bestF = f;
        best = statistics;
      }
    }
    best.forEach((value, j) => (total[j] += value));
  });
  return { score: fScore(total, config) };
}

/** Sentence chrF against alternative references. */
export function sentenceChrf(hypothesis: string, references: (string | null)[], options: ChrfOptions = {}): ChrfScore {
  return corpusChrf(
    [hypothesis],
    references.map((ref) => [ref]),
    options,
  );
}
