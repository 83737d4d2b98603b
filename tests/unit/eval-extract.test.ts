import { describe, expect, it } from 'vitest';
import {
  extractAnswerIs,
  extractChoice,
  extractFinalAnswer,
  extractGsm8kAnswer,
  extractLastNumber,
  finalAnswersMatch,
  normalizeFinalAnswer,
  normalizeNumberAnswer,
  referenceAnswer,
} from '../../src/core/eval/extract';

describe('number answers (lm-eval gsm8k filters)', () => {
  it('strict-match: the first "#### N"', () => {
    expect(extractGsm8kAnswer('Natalia sold 48/2 = 24 clips.\n#### 72')).toBe('72');
    expect(extractGsm8kAnswer('#### 1,234.5 and later #### 9')).toBe('1,234.5');
    expect(extractGsm8kAnswer('no marker 72')).toBeNull();
  });

  it('flexible-extract: the last number-like run, "$", "," and "." included', () => {
    expect(extractLastNumber('After 3 days she has $1,200.50.')).toBe('$1,200.50.');
    expect(extractLastNumber('It is -7 degrees')).toBe('-7');
    expect(extractLastNumber('Hmm... 42')).toBe('42');
    expect(extractLastNumber('no numbers here')).toBeNull();
  });

  it('normalizes as lm-eval exact_match: no commas, no $, nothing before "#### ", one final "." dropped', () => {
    expect(normalizeNumberAnswer('$1,200.50.')).toBe('1200.50');
    expect(normalizeNumberAnswer('Work: 3+4\n#### 7')).toBe('7');
    expect(normalizeNumberAnswer('1..')).toBe('1.');
  });

  it('prefers "#### N", then "The answer is …", then the last number', () => {
    expect(extractFinalAnswer('So 3 + 4 = 7.\n#### 7\nextra 9', 'number')).toEqual({ answer: '7', rule: 'gsm8k' });
    expect(extractFinalAnswer('5 + 3 = 8, so the answer is 8 apples. Check: 2 more', 'number')).toEqual({ answer: '8', rule: 'answer-is' });
    expect(extractFinalAnswer('The answer is $18.', 'number')).toEqual({ answer: '$18', rule: 'answer-is' });
    expect(extractFinalAnswer("I think it's 42", 'number')).toEqual({ answer: '42', rule: 'last-number' });
    expect(extractFinalAnswer('no idea', 'number')).toEqual({ answer: null, rule: null });
  });

  it('compares numbers by value after normalization, against a GSM8K solution or a bare number', () => {
    expect(finalAnswersMatch('18.00', 'She pays 9 * 2 = 18.\n#### 18', 'number')).toBe(true);
    expect(finalAnswersMatch('$1,200.50.', '1200.5', 'number')).toBe(true);
    expect(finalAnswersMatch('72', '#### 72', 'number')).toBe(true);
    expect(finalAnswersMatch('-72', '#### 72', 'number')).toBe(false);
    expect(finalAnswersMatch('7.2', '72', 'number')).toBe(false);
    expect(finalAnswersMatch(null, '1', 'number')).toBe(false);
    expect(referenceAnswer('Work\n#### 1,000', 'number')).toBe('1,000');
  });
});

describe('multiple-choice letters', () => {
  it('reads "answer: B" / "The answer is (B)" first, then the last "(X)", then a reply that is the letter', () => {
    expect(extractChoice("Let's think. The answer is (B).")).toEqual({ letter: 'B', rule: 'answer-letter' });
    expect(extractChoice('I pick (C) over (A). Final answer: D')).toEqual({ letter: 'D', rule: 'answer-letter' });
    expect(extractChoice('ANSWER: e')).toBeNull(); // letters are capitals
    expect(extractChoice('Between (A) and (C), I choose (C)')).toEqual({ letter: 'C', rule: 'parenthesized-letter' });
    expect(extractChoice(' B ')).toEqual({ letter: 'B', rule: 'lone-letter' });
    expect(extractChoice('(B)')).toEqual({ letter: 'B', rule: 'parenthesized-letter' });
    expect(extractChoice('B. Paris, because it is the capital')).toEqual({ letter: 'B', rule: 'lone-letter' });
    expect(extractChoice('the answer is a mystery')).toBeNull(); // lowercase "a" is a word, not an option
    expect(extractChoice('The answer is D', 3)).toBeNull(); // only A–C exist
    expect(() => extractChoice('A', 0)).toThrow('optionCount must be 1…26, got 0');
  });

  it('matches a letter against a reference letter', () => {
    expect(finalAnswersMatch(extractFinalAnswer('The answer is (b)? no: Answer: B', 'choice').answer, '(B)', 'choice')).toBe(true);
    expect(normalizeFinalAnswer('(c)', 'choice')).toBe('C');
  });
});

describe('free-text answers', () => {
  it('takes the phrase after the last "the answer is", without emphasis, else the whole reply', () => {
    expect(extractAnswerIs('Paris is the capital. So the answer is: **Paris**.')).toBe('Paris');
    expect(extractAnswerIs('The answer is 3.5 apples. Then more.')).toBe('3.5 apples');
    expect(extractAnswerIs('First the answer is x.\nNo wait, the answer is y')).toBe('y');
    expect(extractFinalAnswer('  Just Paris  ', 'text')).toEqual({ answer: 'Just Paris', rule: 'whole-text' });
    expect(extractFinalAnswer('   ', 'text')).toEqual({ answer: null, rule: null });
  });

  it("compares with SQuAD's normalize_answer (case, punctuation, articles)", () => {
    expect(finalAnswersMatch('The Paris!', 'paris', 'text')).toBe(true);
    expect(finalAnswersMatch('Lyon', 'paris', 'text')).toBe(false);
  });
});
