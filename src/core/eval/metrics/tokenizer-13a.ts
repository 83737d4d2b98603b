// The "13a" tokenizer of sacrebleu 2.6.0 (sacrebleu/tokenizers/tokenizer_13a.py and its
// post-processing in tokenizer_re.py), which reproduces mteval-v13a.pl, the WMT standard.
// Output is the tokens joined by single spaces, exactly as sacrebleu returns it.
import { pySplit } from './python-text';

// The four substitutions of sacrebleu's TokenizerRegexp, applied in this order. Each runs over the
// whole line with Python's non-overlapping `re.sub` semantics, which a global JS replace shares.
const SUBSTITUTIONS: [RegExp, string][] = [
  // Split off ASCII symbols: { | } ~  [ \ ] ^ _ `  space ! " # $ % &  ( ) * +  : ; < = > ? @  /
  // (apostrophe, hyphen, period and comma are deliberately absent: they get the rules below).
  [new RegExp('([{-~\\[-` -&(-+:-@/])', 'gu'), ' $1 '],
  // Period and comma are split off unless preceded by a digit…
  [/([^0-9])([.,])/gu, '$1 $2 '],
  // …and unless followed by a digit, so "1,000.5" stays one token.
  [/([.,])([^0-9])/gu, ' $1 $2'],
  // A dash after a digit is split off ("5-6" → "5 - 6"), other dashes stay inside words.
  [/([0-9])(-)/gu, '$1 $2 '],
];

/** sacrebleu's `Tokenizer13a()(line)`. */
export function tokenize13a(line: string): string {
  // Language-independent part, as in mteval-v13a.pl: drop <skipped>, join lines broken at a hyphen.
  let text = line.replaceAll('<skipped>', '').replaceAll('-\n', '').replaceAll('\n', ' ');
  // Undo the four SGML escapes the WMT data uses; "&amp;" last-but-one as in the reference, so
  // "&amp;quot;" becomes "&quot;" and not a quote.
  if (text.includes('&')) {
    text = text.replaceAll('&quot;', '"').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>');
  }
  text = ` ${text} `;
  for (const [pattern, replacement] of SUBSTITUTIONS) text = text.replace(pattern, replacement);
  return pySplit(text).join(' ');
}
