// Final-answer extraction for chain-of-thought outputs. Numbers follow lm-evaluation-harness's
// gsm8k task filters: "strict-match" takes the first `#### (\-?[0-9\.\,]+)`, gsm8k-cot reads
// "The answer is …", and "flexible-extract" takes the last match of
// `(-?[$0-9.,]{2,})|(-?[0-9]+)`; its exact_match then ignores ',', '$', everything up to
// '#### ' and one final '.', case-insensitively. Hone then compares the two numbers by value, so
// "18.00" and "18" agree (lm-eval would compare the strings). Multiple choice reads "answer: B",
// "The answer is (B)", a lone "(B)" or a reply that is just the letter. Free text is the phrase
// after "The answer is", else the whole reply, compared with SQuAD's normalize_answer.
import { normalizeAnswer } from './metrics/squad';
import { pyStrip } from './ifeval/text';

export type AnswerKind = 'number' | 'choice' | 'text';

export interface Extraction {
  /** null when nothing answer-like was found ("[invalid]" in lm-eval) */
  answer: string | null;
  /** which rule found it */
  rule: 'gsm8k' | 'answer-is' | 'last-number' | 'answer-letter' | 'parenthesized-letter' | 'lone-letter' | 'whole-text' | null;
}

/** Every match of a global regex (as Python findall would visit them). */
function matchAll(text: string, pattern: RegExp): RegExpExecArray[] {
  return [...text.matchAll(pattern)];
}

/** lm-eval gsm8k "strict-match": the first "#### 1,234" number. */
export function extractGsm8kAnswer(text: string): string | null {
  const match = /#### (-?[0-9.,]+)/.exec(text);
  return match ? pyStrip(match[1]) : null;
}

/** lm-eval gsm8k "flexible-extract": the last number-like run (a '$', ',' and '.' may be part of it). */
export function extractLastNumber(text: string): string | null {
  const matches = matchAll(text, /(-?[$0-9.,]{2,})|(-?[0-9]+)/g);
  if (matches.length === 0) return null;
  const last = matches[matches.length - 1];
  return pyStrip(last[1] ?? last[2]);
}

/** The phrase after the last "The answer is" / "the final answer is" / "Answer:", up to the end of its sentence or line. */
export function extractAnswerIs(text: string): string | null {
  const matches = matchAll(text, /\b(?:the\s+(?:final\s+)?answer\s+is|final\s+answer\s*:|answer\s*:)\s*:?\s*([^\n]*?)\s*(?=\.\s|\.?$|\n)/gimu);
  for (let i = matches.length - 1; i >= 0; i--) {
    // markdown emphasis and quotes around the answer are not part of it
    const phrase = pyStrip(matches[i][1].replace(/^[*_"'`]+|[*_"'`]+$/gu, ''));
    if (phrase !== '') return phrase;
  }
  return null;
}

/** lm-eval's exact_match preprocessing for gsm8k: drop ',', '$', anything up to '#### ', one final '.'; lowercase. */
export function normalizeNumberAnswer(answer: string): string {
  return pyStrip(answer.replaceAll(',', '').replaceAll('$', '').replace(/^[\s\S]*#### /u, '').replace(/\.$/u, '').toLowerCase());
}

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** The chosen option letter among the first `optionCount` (default 10: A–J), uppercase. */
export function extractChoice(text: string, optionCount = 10): { letter: string; rule: Extraction['rule'] } | null {
  if (!Number.isInteger(optionCount) || optionCount < 1 || optionCount > 26) throw new RangeError(`extractChoice: optionCount must be 1…26, got ${optionCount}`);
  const letters = `[${LETTERS.slice(0, optionCount)}]`;
  const notWord = '(?![\\p{L}\\p{N}])';
  // "answer" in any case, the letter in capitals only: "the answer is a …" names no option
  const answerWord = '[Aa][Nn][Ss][Ww][Ee][Rr]';
  const rules: [Extraction['rule'], RegExp][] = [
    ['answer-letter', new RegExp(`${answerWord}\\s*(?:[Ii][Ss]|:)\\s*:?\\s*\\(?(${letters})\\)?${notWord}`, 'gu')],
    ['parenthesized-letter', new RegExp(`\\((${letters})\\)`, 'gu')],
    ['lone-letter', new RegExp(`^\\s*\\(?(${letters})\\)?[.):]?\\s*$`, 'gu')],
    ['lone-letter', new RegExp(`^\\s*(${letters})[.):]\\s`, 'gu')],
  ];
  for (const [rule, pattern] of rules) {
    const matches = matchAll(text, pattern);
    if (matches.length > 0) return { letter: matches[matches.length - 1][1], rule };
  }
  return null;
}

/** The final answer of a chain-of-thought reply, by kind. */
export function extractFinalAnswer(text: string, kind: AnswerKind, opts: { optionCount?: number } = {}): Extraction {
  if (kind === 'choice') {
    const choice = extractChoice(text, opts.optionCount);
    return choice ? { answer: choice.letter, rule: choice.rule } : { answer: null, rule: null };
  }
  if (kind === 'number') {
    const gsm8k = extractGsm8kAnswer(text);
    if (gsm8k !== null) return { answer: gsm8k, rule: 'gsm8k' };
    const phrase = extractAnswerIs(text);
    const inPhrase = phrase === null ? null : extractLastNumber(phrase);
    if (inPhrase !== null) return { answer: inPhrase, rule: 'answer-is' };
    const last = extractLastNumber(text);
    return last !== null ? { answer: last, rule: 'last-number' } : { answer: null, rule: null };
  }
  const phrase = extractAnswerIs(text);
  if (phrase !== null) return { answer: phrase, rule: 'answer-is' };
  const whole = pyStrip(text);
  return whole ? { answer: whole, rule: 'whole-text' } : { answer: null, rule: null };
}

/** The comparable form of an answer: numbers as lm-eval's exact_match sees them, letters uppercase, text by SQuAD's normalize_answer. */
export function normalizeFinalAnswer(answer: string, kind: AnswerKind): string {
  if (kind === 'number') return normalizeNumberAnswer(answer);
  if (kind === 'choice') return pyStrip(answer).replace(/^\(|\)$/g, '').toUpperCase();
  return normalizeAnswer(answer);
}

/** The answer a reference states: a GSM8K solution's "#### N", else the whole reference. */
export function referenceAnswer(reference: string, kind: AnswerKind): string {
  if (kind === 'number') return extractGsm8kAnswer(reference) ?? pyStrip(reference);
  return pyStrip(reference);
}

/** Does an extracted answer agree with a reference? Numbers compare by value after normalization. */
export function finalAnswersMatch(prediction: string | null, reference: string, kind: AnswerKind): boolean {
  if (prediction === null) return false;
  const a = normalizeFinalAnswer(prediction, kind);
  const b = normalizeFinalAnswer(referenceAnswer(reference, kind), kind);
  if (a === b) return true;
  if (kind !== 'number' || !/^-?(\d+\.?\d*|\.\d+)$/.test(a) || !/^-?(\d+\.?\d*|\.\d+)$/.test(b)) return false;
  return Number(a) === Number(b);
}
