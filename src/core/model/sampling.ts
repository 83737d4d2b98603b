// Picking the next token from a row of logits, in plain JS.
// Follows transformers' logits processors (generation/logits_process.py): the repetition penalty
// first, then temperature, top-k and top-p, in that order, then a draw from the softmax.
// Unlike transformers' generate (top_k = 50 by default), an unset filter here means "off".
import { Rng } from '../rng';

export interface SamplingSettings {
  /** always take the most likely token; temperature 0 means the same */
  greedy?: boolean;
  /** divides the logits; 1 leaves them as they are, < 1 sharpens, > 1 flattens */
  temperature?: number;
  /** keep only the k most likely tokens (ties with the k-th kept); 0 or unset = off */
  topK?: number;
  /** keep the smallest set of tokens whose probability adds up to ≥ p; 1 or unset = off */
  topP?: number;
  /** CTRL-style penalty on tokens already in the sequence; 1 or unset = off */
  repetitionPenalty?: number;
}

/** Checks settings before a generation starts, so a bad value fails with its name, not mid-run. */
export function checkSamplingSettings(settings: SamplingSettings): void {
  const { temperature, topK, topP, repetitionPenalty } = settings;
  if (temperature !== undefined && !(Number.isFinite(temperature) && temperature >= 0)) {
    throw new Error(`sampling: temperature must be a number ≥ 0 (0 = greedy), got ${temperature}`);
  }
  if (topK !== undefined && !(Number.isInteger(topK) && topK >= 0)) {
    throw new Error(`sampling: topK must be a whole number ≥ 0 (0 = off), got ${topK}`);
  }
  if (topP !== undefined && !(Number.isFinite(topP) && topP > 0 && topP <= 1)) {
    throw new Error(`sampling: topP must be in (0, 1] (1 = off), got ${topP}`);
  }
  if (repetitionPenalty !== undefined && !(Number.isFinite(repetitionPenalty) && repetitionPenalty > 0)) {
    throw new Error(`sampling: repetitionPenalty must be a number > 0 (1 = off), got ${repetitionPenalty}`);
  }
}

/**
 * transformers' RepetitionPenaltyLogitsProcessor: each token already in `previousIds` has its
 * logit divided by the penalty when positive and multiplied by it when negative, so a penalty > 1
 * always makes it less likely. Each token is penalised once however often it occurred.
 */
export function applyRepetitionPenalty(logits: Float32Array, previousIds: readonly number[], penalty: number): Float32Array {
  const out = logits.slice();
  if (penalty === 1) return out;
  for (const id of new Set(previousIds)) {
    if (id < 0 || id >= out.length) continue;
    const value = out[id];
    out[id] = value < 0 ? value * penalty : value / penalty;
  }
  return out;
}

/** transformers' TopKLogitsWarper: everything below the k-th largest logit becomes -Infinity. */
export function topKFilter(logits: Float32Array, k: number): Float32Array {
  const out = logits.slice();
  if (k <= 0 || k >= out.length) return out;
  const kth = Array.from(out).sort((a, b) => b - a)[k - 1];
  for (let i = 0; i < out.length; i++) if (out[i] < kth) out[i] = -Infinity;
  return out;
}

/**
 * transformers' TopPLogitsWarper: sort ascending, accumulate softmax probabilities, and drop the
 * tokens whose running sum stays ≤ 1 − p. What is left is the smallest set of most likely tokens
 * whose probability reaches p; the most likely token always stays.
 */
export function topPFilter(logits: Float32Array, p: number): Float32Array {
  const out = logits.slice();
  if (p >= 1) return out;
  const order = Array.from(out.keys()).sort((a, b) => out[a] - out[b]); // ascending
  const probs = softmax(out);
  let cumulative = 0;
  for (let r = 0; r < order.length - 1; r++) {
    cumulative += probs[order[r]];
    if (cumulative <= 1 - p) out[order[r]] = -Infinity;
  }
  return out;
}

/** Softmax in float64 so probabilities of a 100k-token vocabulary still add up to 1. */
export function softmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  const probs = new Float64Array(logits.length);
  if (max === -Infinity) throw new Error('sampling: every token was filtered out (all logits are -Infinity)');
  let total = 0;
  for (let i = 0; i < logits.length; i++) {
    probs[i] = Math.exp(logits[i] - max);
    total += probs[i];
  }
  for (let i = 0; i < probs.length; i++) probs[i] /= total;
  return probs;
}

/** Index of the largest logit; the first one on ties, as torch.argmax does. */
export function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/** One draw from the categorical distribution `probs` (which sums to 1) using one rng value. */
export function drawFrom(probs: Float64Array, rng: Rng): number {
  const u = rng.next();
  let cumulative = 0;
  let last = 0;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] === 0) continue;
    cumulative += probs[i];
    last = i;
    if (u < cumulative) return i;
  }
  return last; // u landed in the rounding gap above the last nonzero probability
}

/** The next token for `logits` (one row, length vocab) after `previousIds` (prompt included). */
export function sampleToken(logits: Float32Array, previousIds: readonly number[], settings: SamplingSettings, rng: Rng): number {
  let scores = applyRepetitionPenalty(logits, previousIds, settings.repetitionPenalty ?? 1);
  const temperature = settings.temperature ?? 1;
  if (settings.greedy || temperature === 0) return argmax(scores);
  if (temperature !== 1) scores = scores.map((v) => v / temperature);
  if (settings.topK) scores = topKFilter(scores, settings.topK);
  if (settings.topP !== undefined && settings.topP < 1) scores = topPFilter(scores, settings.topP);
  return drawFrom(softmax(scores), rng);
}
