// Python string semantics that the reference metric implementations (sacrebleu, rouge-score, the
// SQuAD script) rely on without saying so. JavaScript differs in small ways that change scores:
// `str.split()` and `str.rstrip()` use Python's whitespace set (which has U+001C–U+001F and U+0085
// but not U+FEFF, unlike JS `\s`), and Python indexes strings by code point, not by UTF-16 unit.

/** Characters for which CPython's `str.isspace()` is true (Py_UNICODE_ISSPACE, Unicode 14/15). */
const PYTHON_WHITESPACE = '\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';
const WHITESPACE_SET = new Set(PYTHON_WHITESPACE);
const WHITESPACE_RUN = new RegExp(`[${PYTHON_WHITESPACE}]+`, 'u');

/** Python `s.split()` with no argument: split on runs of whitespace, drop empty pieces. */
export function pySplit(text: string): string[] {
  return text.split(WHITESPACE_RUN).filter((piece) => piece.length > 0);
}

/** Python `s.rstrip()` with no argument. */
export function pyRstrip(text: string): string {
  let end = text.length;
  while (end > 0 && WHITESPACE_SET.has(text[end - 1])) end--;
  return text.slice(0, end);
}

/** Python `s.lower()`. Both follow Unicode's full default case mapping (final sigma included). */
export function pyLower(text: string): string {
  return text.toLowerCase();
}

/** The code points of a string, as Python's `s[i]` sees them. */
export function codePoints(text: string): string[] {
  return Array.from(text);
}

/** A `collections.Counter` over string keys. */
export type Counter = Map<string, number>;

export function countItems(items: Iterable<string>): Counter {
  const counts: Counter = new Map();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

/** Python's `string.punctuation`: ASCII only, so “curly quotes” are not punctuation. */
export const ASCII_PUNCTUATION = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');
