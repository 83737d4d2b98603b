// Python text semantics that IFEval's checks (google-research instruction_following_eval,
// instructions.py / instructions_util.py) rely on: str.strip()/isupper()/islower(), `\w` and `\b`
// in str patterns (Unicode-aware), `.` (anything but \n) and `^`/`$` under re.MULTILINE (only \n
// ends a line), and its rule-based sentence splitter.
import { codePoints, pyRstrip } from '../metrics/python-text';

/** Python `\w` in a str pattern: alphanumeric (letters, numbers) or underscore. */
export const WORD_CHAR = '[\\p{L}\\p{N}_]';
const WORD_CHAR_TEST = new RegExp(WORD_CHAR, 'u');

/** Python `s.strip()` with no argument (Python's whitespace set, not JS's). */
export function pyStrip(text: string): string {
  const right = pyRstrip(text);
  const reversed = codePoints(right).reverse().join('');
  const kept = pyRstrip(reversed);
  return codePoints(kept).reverse().join('');
}

/** Python `s.strip(chars)`. */
export function stripChars(text: string, chars: string, side: 'both' | 'left' | 'right' = 'both'): string {
  const set = new Set(codePoints(chars));
  const points = codePoints(text);
  let start = 0;
  let end = points.length;
  if (side !== 'right') while (start < end && set.has(points[start])) start++;
  if (side !== 'left') while (end > start && set.has(points[end - 1])) end--;
  return points.slice(start, end).join('');
}

/** Python `str.isupper()`: at least one cased character, and none lowercase or titlecase. */
export function pyIsUpper(text: string): boolean {
  return /\p{Uppercase}/u.test(text) && !/[\p{Lowercase}\p{Lt}]/u.test(text);
}

/** Python `str.islower()`: at least one cased character, and none uppercase or titlecase. */
export function pyIsLower(text: string): boolean {
  return /\p{Lowercase}/u.test(text) && !/[\p{Uppercase}\p{Lt}]/u.test(text);
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'); // syntax characters only: the u flag refuses other escapes
}

/** A literal phrase wrapped in Python's `\b…\b` (a boundary means word char on exactly one side). */
export function wordBounded(phrase: string): string {
  const points = codePoints(phrase);
  if (points.length === 0) return '\\b';
  const wordStart = WORD_CHAR_TEST.test(points[0]);
  const wordEnd = WORD_CHAR_TEST.test(points[points.length - 1]);
  const before = wordStart ? `(?<!${WORD_CHAR})` : `(?<=${WORD_CHAR})`;
  const after = wordEnd ? `(?!${WORD_CHAR})` : `(?=${WORD_CHAR})`;
  return `${before}${escapeRegExp(phrase)}${after}`;
}

/** `^` and `$` of a Python re.MULTILINE pattern, for a JS regex without the m flag. */
export const LINE_START = '(?:^|(?<=\\n))';
export const LINE_END = '(?=\\n|$)';
/** Python's `.`: anything but a newline (JS's `.` also stops at \r, U+2028, U+2029). */
export const ANY = '[^\\n]';

/** IFEval's count_words: nltk RegexpTokenizer(r"\w+") tokens. */
export function countWords(text: string): number {
  return text.match(new RegExp(`${WORD_CHAR}+`, 'gu'))?.length ?? 0;
}

const ALPHABETS = '([A-Za-z])';
const PREFIXES = '(Mr|St|Mrs|Ms|Dr)[.]';
const SUFFIXES = '(Inc|Ltd|Jr|Sr|Co)';
const STARTERS = '(Mr|Mrs|Ms|Dr|Prof|Capt|Cpt|Lt|He\\s|She\\s|It\\s|They\\s|Their\\s|Our\\s|We\\s|But\\s|However\\s|That\\s|This\\s|Wherever)';
const ACRONYMS = '([A-Z][.][A-Z][.](?:[A-Z][.])?)';
const WEBSITES = '[.](com|net|org|io|gov|edu|me)';
const DIGITS = '([0-9])';

/**
 * IFEval's split_into_sentences (instructions_util.py): protects abbreviations, initials, decimals,
 * web addresses and ellipses, then splits after . ? ! — step for step in the same order.
 */
export function splitIntoSentences(input: string): string[] {
  const sub = (text: string, pattern: string, replacement: string | ((match: string) => string)) =>
    text.replace(new RegExp(pattern, 'gu'), replacement as string);
  let text = ` ${input}  `.replaceAll('\n', ' ');
  text = sub(text, PREFIXES, '$1<prd>');
  text = sub(text, WEBSITES, '<prd>$1');
  text = sub(text, `${DIGITS}[.]${DIGITS}`, '$1<prd>$2');
  text = text.replace(/\.{2,}/g, (match) => '<prd>'.repeat(match.length) + '<stop>');
  if (text.includes('Ph.D')) text = text.replaceAll('Ph.D.', 'Ph<prd>D<prd>');
  text = sub(text, `\\s${ALPHABETS}[.] `, ' $1<prd> ');
  text = sub(text, `${ACRONYMS} ${STARTERS}`, '$1<stop> $2');
  text = sub(text, `${ALPHABETS}[.]${ALPHABETS}[.]${ALPHABETS}[.]`, '$1<prd>$2<prd>$3<prd>');
  text = sub(text, `${ALPHABETS}[.]${ALPHABETS}[.]`, '$1<prd>$2<prd>');
  text = sub(text, ` ${SUFFIXES}[.] ${STARTERS}`, ' $1<stop> $2');
  text = sub(text, ` ${SUFFIXES}[.]`, ' $1<prd>');
  text = sub(text, ` ${ALPHABETS}[.]`, ' $1<prd>');
  text = text.replaceAll('.\u201d', '\u201d.').replaceAll('."', '".').replaceAll('!"', '"!').replaceAll('?"', '"?');
  text = text.replaceAll('.', '.<stop>').replaceAll('?', '?<stop>').replaceAll('!', '!<stop>').replaceAll('<prd>', '.');
  const sentences = text.split('<stop>').map(pyStrip);
  if (sentences.length > 0 && sentences[sentences.length - 1] === '') sentences.pop();
  return sentences;
}

/**
 * Number of sentences. IFEval counts with NLTK's Punkt model, which cannot run here; this uses
 * IFEval's own rule-based splitter above instead. They agree on ordinary prose; they can differ
 * on abbreviations Punkt learned and on runs like "?!".
 */
export function countSentences(text: string): number {
  return splitIntoSentences(text).length;
}
