// Exact match and token F1 of the official SQuAD v1.1 evaluation script, evaluate-v1.1.py
// (normalize_answer, f1_score, exact_match_score, metric_max_over_ground_truths).
import { ASCII_PUNCTUATION, countItems, codePoints, pyLower, pySplit } from './python-text';

export interface SquadScore {
  /** 1 when the normalized prediction equals some normalized reference, else 0. */
  exact_match: number;
  /** Best token-level F1 over the references, 0..1. */
  f1: number;
  normalized_prediction: string;
  normalized_references: string[];
}

export class SquadError extends Error {
  override name = 'SquadError';
}

// Python's `\b` in a str pattern is Unicode-aware (a word character is alphanumeric or '_'),
// whereas JS `\b` is ASCII-only even with the u flag; so the boundary is spelled out.
const ARTICLE = /(?<![\p{L}\p{N}_])(a|an|the)(?![\p{L}\p{N}_])/gu;

/** Lowercase, drop ASCII punctuation, replace the articles a/an/the by spaces, collapse whitespace. */
export function normalizeAnswer(text: string): string {
  const lowered = pyLower(text);
  const withoutPunctuation = codePoints(lowered)
    .filter((ch) => !ASCII_PUNCTUATION.has(ch))
    .join('');
  return pySplit(withoutPunctuation.replace(ARTICLE, ' ')).join(' ');
}

export function squadExactMatch(prediction: string, groundTruth: string): boolean {
  return normalizeAnswer(prediction) === normalizeAnswer(groundTruth);
}

/** Bag-of-tokens F1: repeated tokens count only as often as they occur on both sides. */
export function squadF1(prediction: string, groundTruth: string): number {
  const predictionTokens = pySplit(normalizeAnswer(prediction));
  const truthTokens = pySplit(normalizeAnswer(groundTruth));
  const truthCounts = countItems(truthTokens);
  let same = 0;
  for (const [token, count] of countItems(predictionTokens)) same += Math.min(count, truthCounts.get(token) ?? 0);
  if (same === 0) return 0;
  const precision = (1.0 * same) / predictionTokens.length;
  const recall = (1.0 * same) / truthTokens.length;
  return (2 * precision * recall) / (precision + recall);
}

/** Both metrics maximised over the ground truths, as the script does per question. */
export function squadScore(prediction: string, groundTruths: string[]): SquadScore {
  if (groundTruths.length === 0) throw new SquadError('squad: no references given; give at least one ground-truth answer');
  return {
    exact_match: groundTruths.some((truth) => squadExactMatch(prediction, truth)) ? 1 : 0,
    f1: groundTruths.reduce((best, truth) => Math.max(best, squadF1(prediction, truth)), 0),
    normalized_prediction: normalizeAnswer(prediction),
    normalized_references: groundTruths.map(normalizeAnswer),
  };
}
