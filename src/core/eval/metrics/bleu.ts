// BLEU (Papineni et al., 2002) exactly as sacrebleu 2.6.0 computes it: sacrebleu/metrics/bleu.py
// (BLEU.compute_bleu, _extract_reference_info, _compute_segment_statistics, _get_closest_ref_len),
// sacrebleu/metrics/base.py (sentence_score, corpus_score) and helpers.extract_all_word_ngrams.
// Corpus BLEU sums the per-segment statistics first and computes precisions and the brevity
// penalty once; sentence BLEU is the same computation over a one-segment corpus.
import { type Counter, countItems, pyLower, pyRstrip, pySplit } from './python-text';
import { tokenize13a } from './tokenizer-13a';

export type BleuSmoothMethod = 'exp' | 'floor' | 'add-k' | 'none';
export type BleuTokenizer = '13a' | 'none';

export interface BleuOptions {
  /** Lowercase hypothesis and references first; off because BLEU is reported case-sensitive. */
  lowercase?: boolean;
  /** '13a' (mteval-v13a, sacrebleu's default); 'none' when the text is already tokenized. */
  tokenize?: BleuTokenizer;
  /** Smoothing for zero n-gram matches (Chen & Cherry 2014); 'exp' is sacrebleu's default. */
  smoothMethod?: BleuSmoothMethod;
  /** Value for 'floor' (default 0.1) and 'add-k' (default 1), the defaults of Chen & Cherry. */
  smoothValue?: number;
  /** Average only over orders the hypothesis has; on for sentence BLEU, off for corpus BLEU. */
  effectiveOrder?: boolean;
  /** Longest n-gram counted; 4 as in the BLEU paper. */
  maxNgramOrder?: number;
}

/** sacrebleu's BLEUScore fields: score and precisions are 0..100. */
export interface BleuScore {
  score: number;
  counts: number[];
  totals: number[];
  precisions: number[];
  bp: number;
  sys_len: number;
  ref_len: number;
}

/** Per segment: [hypothesis length, closest reference length, matches per order…, totals per order…]. */
export type BleuStatistics = number[];

export const SMOOTH_DEFAULTS: Record<BleuSmoothMethod, number | null> = { none: null, floor: 0.1, 'add-k': 1, exp: null };

export class BleuError extends Error {
  override name = 'BleuError';
}

function checkOptions(options: BleuOptions): Required<Omit<BleuOptions, 'smoothValue' | 'effectiveOrder'>> {
  const smoothMethod = options.smoothMethod ?? 'exp';
  if (!(smoothMethod in SMOOTH_DEFAULTS)) {
    throw new BleuError(`bleu: unknown smooth_method "${smoothMethod}" (known: ${Object.keys(SMOOTH_DEFAULTS).join(', ')})`);
  }
  const tokenize = options.tokenize ?? '13a';
  if (tokenize !== '13a' && tokenize !== 'none') {
    throw new BleuError(`bleu: unsupported tokenize "${tokenize}" (supported: 13a, none)`);
  }
  const maxNgramOrder = options.maxNgramOrder ?? 4;
  if (!Number.isInteger(maxNgramOrder) || maxNgramOrder < 1) {
    throw new BleuError(`bleu: max_ngram_order must be a positive integer, got ${maxNgramOrder}`);
  }
  return { lowercase: options.lowercase ?? false, tokenize, smoothMethod, maxNgramOrder };
}

/** BLEU._preprocess_segment: optional lowercasing, then the tokenizer on the right-stripped line. */
function preprocess(sentence: string, lowercase: boolean, tokenize: BleuTokenizer): string {
  const text = lowercase ? pyLower(sentence) : sentence;
  const stripped = pyRstrip(text);
  return tokenize === '13a' ? tokenize13a(stripped) : stripped;
}

/** All n-grams of orders 1..maxOrder with their counts; tokens never hold a space, so joining is safe. */
function wordNgrams(line: string, maxOrder: number): { ngrams: Counter; length: number } {
  const tokens = pySplit(line);
  const all: string[] = [];
  for (let n = 1; n <= maxOrder; n++) {
    for (let i = 0; i + n <= tokens.length; i++) all.push(tokens.slice(i, i + n).join(' '));
  }
  return { ngrams: countItems(all), length: tokens.length };
}

/** The reference length closest to the hypothesis length; on a tie the shorter one. */
function closestRefLength(hypLength: number, refLengths: number[]): number {
  let closestDiff = -1;
  let closestLength = -1;
  for (const refLength of refLengths) {
    const diff = Math.abs(hypLength - refLength);
    if (closestDiff === -1 || diff < closestDiff) {
      closestDiff = diff;
      closestLength = refLength;
    } else if (diff === closestDiff && refLength < closestLength) {
      closestLength = refLength;
    }
  }
  return closestLength;
}

/** Statistics of one preprocessed segment; reference n-gram counts are the max over references. */
function segmentStatistics(hypothesis: string, references: string[], maxOrder: number): BleuStatistics {
  const refNgrams: Counter = new Map();
  const refLengths: number[] = [];
  for (const reference of references) {
    const { ngrams, length } = wordNgrams(reference, maxOrder);
    refLengths.push(length);
    for (const [ngram, count] of ngrams) refNgrams.set(ngram, Math.max(refNgrams.get(ngram) ?? 0, count));
  }
  const { ngrams: hypNgrams, length: hypLength } = wordNgrams(hypothesis, maxOrder);
  const correct = new Array<number>(maxOrder).fill(0);
  const total = new Array<number>(maxOrder).fill(0);
  for (const [ngram, count] of hypNgrams) {
    const order = ngram.split(' ').length - 1;
    total[order] += count;
    const refCount = refNgrams.get(ngram);
    if (refCount !== undefined) correct[order] += Math.min(count, refCount);
  }
  return [hypLength, closestRefLength(hypLength, refLengths), ...correct, ...total];
}

/** utils.my_log: log floored so that a zero precision gives (practically) zero BLEU, not -Infinity. */
function flooredLog(value: number): number {
  return value === 0 ? -9999999999 : Math.log(value);
}

/** BLEU.compute_bleu from summed sufficient statistics, including its smoothing methods. */
export function computeBleu(statistics: BleuStatistics, options: BleuOptions = {}): BleuScore {
  const { smoothMethod, maxNgramOrder } = checkOptions(options);
  const smoothValue = options.smoothValue ?? SMOOTH_DEFAULTS[smoothMethod] ?? 0;
  const effectiveOrder = options.effectiveOrder ?? false;
  const sysLen = statistics[0];
  const refLen = statistics[1];
  // Copies: add-k adds to these, and sacrebleu reports the smoothed counts and totals.
  const correct = statistics.slice(2, 2 + maxNgramOrder);
  const total = statistics.slice(2 + maxNgramOrder, 2 + 2 * maxNgramOrder);

  let bp = 1.0;
  if (sysLen < refLen) bp = sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0.0;

  const precisions = new Array<number>(maxNgramOrder).fill(0);
  // No match at any order: BLEU is 0 whatever the smoothing (sacrebleu issue #141).
  if (!correct.some((count) => count !== 0)) {
    return { score: 0.0, counts: correct, totals: total, precisions, bp, sys_len: sysLen, ref_len: refLen };
  }

  let smoothMteval = 1.0;
  let effOrder = maxNgramOrder;
  for (let n = 1; n <= maxNgramOrder; n++) {
    if (smoothMethod === 'add-k' && n > 1) {
      correct[n - 1] += smoothValue;
      total[n - 1] += smoothValue;
    }
    // The hypothesis is shorter than n tokens: no higher orders exist either.
    if (total[n - 1] === 0) break;
    if (effectiveOrder) effOrder = n;
    if (correct[n - 1] === 0) {
      if (smoothMethod === 'exp') {
        // NIST geometric sequence: 1/2, 1/4, … for successive orders without matches.
        smoothMteval *= 2;
        precisions[n - 1] = 100 / (smoothMteval * total[n - 1]);
      } else if (smoothMethod === 'floor') {
        precisions[n - 1] = (100 * smoothValue) / total[n - 1];
      }
    } else {
      precisions[n - 1] = (100 * correct[n - 1]) / total[n - 1];
    }
  }

  let logSum = 0;
  for (const precision of precisions.slice(0, effOrder)) logSum += flooredLog(precision);
  const score = bp * Math.exp(logSum / effOrder);
  return { score, counts: correct, totals: total, precisions, bp, sys_len: sysLen, ref_len: refLen };
}

/** Element-wise sum of segment statistics (utils.sum_of_lists). */
function sumStatistics(rows: BleuStatistics[]): BleuStatistics {
  const sum = new Array<number>(rows[0].length).fill(0);
  for (const row of rows) row.forEach((value, i) => (sum[i] += value));
  return sum;
}

/**
 * Corpus BLEU. `referenceStreams[k][i]` is the k-th reference of segment i, as in sacrebleu; a
 * `null` entry means segment i has fewer references.
 */
export function corpusBleu(hypotheses: string[], referenceStreams: (string | null)[][], options: BleuOptions = {}): BleuScore {
  const { lowercase, tokenize, maxNgramOrder } = checkOptions(options);
  if (hypotheses.length === 0) throw new BleuError('bleu: no hypotheses given; give at least one segment');
  if (referenceStreams.length === 0) throw new BleuError('bleu: no references given; give at least one reference stream');
  referenceStreams.forEach((stream, k) => {
    if (stream.length !== hypotheses.length) {
      throw new BleuError(`bleu: reference stream ${k} has ${stream.length} segments but there are ${hypotheses.length} hypotheses; every stream needs one entry (or null) per hypothesis`);
    }
  });
  const rows = hypotheses.map((hypothesis, i) => {
    const references = referenceStreams.map((stream) => stream[i]).filter((ref): ref is string => ref !== null && ref !== undefined);
    if (references.length === 0) throw new BleuError(`bleu: segment ${i} has no reference (all streams are null there)`);
    return segmentStatistics(
      preprocess(hypothesis, lowercase, tokenize),
      references.map((ref) => preprocess(ref, lowercase, tokenize)),
      maxNgramOrder,
    );
  });
  return computeBleu(sumStatistics(rows), options);
}

/** Sentence BLEU against alternative references; effective order is on unless said otherwise. */
export function sentenceBleu(hypothesis: string, references: (string | null)[], options: BleuOptions = {}): BleuScore {
  return corpusBleu(
    [hypothesis],
    references.map((ref) => [ref]),
    { ...options, effectiveOrder: options.effectiveOrder ?? true },
  );
}
