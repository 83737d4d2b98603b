// ROUGE-N, ROUGE-L and ROUGE-Lsum (Lin 2004) exactly as Google's rouge-score computes them:
// rouge/rouge_scorer.py (RougeScorer.score, score_multi, _score_ngrams, _score_lcs, _lcs_table,
// _backtrack_norec, _summary_level_lcs, _union_lcs), rouge/tokenize.py and rouge/scoring.fmeasure.
// Its tokenizer is ASCII-only on purpose (it replicates ROUGE-1.5.5): letters such as "é" are
// dropped, so "café" becomes "caf". Stemming uses NLTK's Porter stemmer in its default mode.
import { countItems } from './python-text';
import { PorterStemmer } from './porter';

export interface RougeOptions {
  /** Porter-stem tokens longer than 3 characters (ROUGE-1.5.5 -m); off as in rouge-score. */
  useStemmer?: boolean;
  /** 'rouge1'…'rouge9', 'rougeL', 'rougeLsum'. */
  types?: string[];
}

export interface RougeTriple {
  precision: number;
  recall: number;
  fmeasure: number;
}

export type RougeScores = Record<string, RougeTriple>;

export class RougeError extends Error {
  override name = 'RougeError';
}

export const DEFAULT_ROUGE_TYPES = ['rouge1', 'rouge2', 'rougeL', 'rougeLsum'];

const defaultStemmer = new PorterStemmer('NLTK_EXTENSIONS');

/** rouge-score's tokenize.tokenize: lowercase, non-[a-z0-9] runs become spaces, optional stemming. */
export function tokenizeForRouge(text: string, useStemmer = false): string[] {
  const spaced = text.toLowerCase().replace(/[^a-z0-9]+/g, ' ');
  let tokens = spaced.split(/\s+/);
  if (useStemmer) tokens = tokens.map((token) => (token.length > 3 ? defaultStemmer.stem(token) : token));
  return tokens.filter((token) => /^[a-z0-9]+$/.test(token));
}

function fmeasure(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0.0;
}

const zero = (): RougeTriple => ({ precision: 0, recall: 0, fmeasure: 0 });

function ngrams(tokens: string[], n: number): Map<string, number> {
  const grams: string[] = [];
  // Tokens are [a-z0-9]+, so a space cannot make two different n-grams collide.
  for (let i = 0; i + n <= tokens.length; i++) grams.push(tokens.slice(i, i + n).join(' '));
  return countItems(grams);
}

function scoreNgrams(target: Map<string, number>, prediction: Map<string, number>): RougeTriple {
  let overlap = 0;
  for (const [gram, count] of target) overlap += Math.min(count, prediction.get(gram) ?? 0);
  let targetCount = 0;
  for (const count of target.values()) targetCount += count;
  let predictionCount = 0;
  for (const count of prediction.values()) predictionCount += count;
  const precision = overlap / Math.max(predictionCount, 1);
  const recall = overlap / Math.max(targetCount, 1);
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/** table[i][j] = LCS length of ref[:i] and can[:j]. */
function lcsTable(ref: string[], can: string[]): number[][] {
  const table = Array.from({ length: ref.length + 1 }, () => new Array<number>(can.length + 1).fill(0));
  for (let i = 1; i <= ref.length; i++) {
    for (let j = 1; j <= can.length; j++) {
      table[i][j] = ref[i - 1] === can[j - 1] ? table[i - 1][j - 1] + 1 : Math.max(table[i - 1][j], table[i][j - 1]);
    }
  }
  return table;
}

function scoreLcs(target: string[], prediction: string[]): RougeTriple {
  if (target.length === 0 || prediction.length === 0) return zero();
  const lcsLength = lcsTable(target, prediction)[target.length][prediction.length];
  const precision = lcsLength / prediction.length;
  const recall = lcsLength / target.length;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/**
 * Indices into `ref` of one longest common subsequence. Which one matters for ROUGE-Lsum's union,
 * so the walk breaks ties like _backtrack_norec: step left only when that keeps a strictly longer LCS.
 */
function lcsIndices(ref: string[], can: string[]): number[] {
  const table = lcsTable(ref, can);
  let i = ref.length;
  let j = can.length;
  const indices: number[] = [];
  while (i > 0 && j > 0) {
    if (ref[i - 1] === can[j - 1]) {
      indices.unshift(i - 1);
      i--;
      j--;
    } else if (table[i][j - 1] > table[i - 1][j]) {
      j--;
    } else {
      i--;
    }
  }
  return indices;
}

/** Summary-level LCS (ROUGE paper §3.2) with ROUGE-1.5.5's guard against counting a token twice. */
function summaryLevelLcs(refSentences: string[][], canSentences: string[][]): RougeTriple {
  if (refSentences.length === 0 || canSentences.length === 0) return zero();
  const m = refSentences.reduce((sum, s) => sum + s.length, 0);
  const n = canSentences.reduce((sum, s) => sum + s.length, 0);
  if (m === 0 || n === 0) return zero();
  const refCounts = countItems(refSentences.flat());
  const canCounts = countItems(canSentences.flat());
  let hits = 0;
  for (const ref of refSentences) {
    // Union over candidate sentences of the reference positions in an LCS, in position order.
    const union = [...new Set(canSentences.flatMap((can) => lcsIndices(ref, can)))].sort((a, b) => a - b);
    for (const index of union) {
      const token = ref[index];
      if ((canCounts.get(token) ?? 0) > 0 && (refCounts.get(token) ?? 0) > 0) {
        hits++;
        canCounts.set(token, canCounts.get(token)! - 1);
        refCounts.set(token, refCounts.get(token)! - 1);
      }
    }
  }
  const recall = hits / m;
  const precision = hits / n;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/** Sentences for ROUGE-Lsum are the non-empty lines. */
function sentences(text: string): string[] {
  return text.split('\n').filter((line) => line.length > 0);
}

function checkTypes(types: string[]): void {
  if (types.length === 0) throw new RougeError(`rouge: "types" is empty; name at least one of ${DEFAULT_ROUGE_TYPES.join(', ')}`);
  for (const type of types) {
    if (type === 'rougeL' || type === 'rougeLsum') continue;
    if (/^rouge[0-9]$/.test(type)) {
      if (type === 'rouge0') throw new RougeError('rouge: rougen requires positive n, got "rouge0"');
      continue;
    }
    throw new RougeError(`rouge: invalid rouge type "${type}" (valid: rouge1 … rouge9, rougeL, rougeLsum)`);
  }
}

/** RougeScorer.score(target, prediction). */
export function rougeScore(target: string, prediction: string, options: RougeOptions = {}): RougeScores {
  const types = options.types ?? DEFAULT_ROUGE_TYPES;
  const useStemmer = options.useStemmer ?? false;
  checkTypes(types);
  const targetTokens = tokenizeForRouge(target, useStemmer);
  const predictionTokens = tokenizeForRouge(prediction, useStemmer);
  const result: RougeScores = {};
  for (const type of types) {
    if (type === 'rougeL') {
      result[type] = scoreLcs(targetTokens, predictionTokens);
    } else if (type === 'rougeLsum') {
      result[type] = summaryLevelLcs(
        sentences(target).map((s) => tokenizeForRouge(s, useStemmer)),
        sentences(prediction).map((s) => tokenizeForRouge(s, useStemmer)),
      );
    } else {
      const n = Number(type.slice(5));
      result[type] = scoreNgrams(ngrams(targetTokens, n), ngrams(predictionTokens, n));
    }
  }
  return result;
}

/** RougeScorer.score_multi: per rouge type, the scores of the target with the highest F (first on ties). */
export function rougeScoreMulti(targets: string[], prediction: string, options: RougeOptions = {}): RougeScores {
  if (targets.length === 0) throw new RougeError('rouge: no references given; give at least one target text');
  const perTarget = targets.map((target) => rougeScore(target, prediction, options));
  const best: RougeScores = {};
  for (const type of options.types ?? DEFAULT_ROUGE_TYPES) {
    let bestIndex = 0;
    perTarget.forEach((scores, i) => {
      if (scores[type].fmeasure > perTarget[bestIndex][type].fmeasure) bestIndex = i;
    });
    best[type] = perTarget[bestIndex][type];
  }
  return best;
}
