// The Porter stemmer (Porter 1980, "An algorithm for suffix stripping", Program 14(3):130-137) as
// implemented by NLTK 3.8's nltk/stem/porter.py, in its three modes. rouge-score's DefaultTokenizer
// builds `nltk.stem.porter.PorterStemmer()` with no argument, i.e. mode NLTK_EXTENSIONS, the default
// here; ORIGINAL_ALGORITHM is the published paper and MARTIN_EXTENSIONS Porter's own later version.
// Every rule below is stated in the paper or marked as the NLTK/Martin departure it is.
import { codePoints } from './python-text';

export type PorterMode = 'NLTK_EXTENSIONS' | 'MARTIN_EXTENSIONS' | 'ORIGINAL_ALGORITHM';

/** [suffix, replacement, condition on the stem left after removing the suffix]. */
type Rule = [suffix: string, replacement: string, condition: ((stem: string) => boolean) | null];

// NLTK_EXTENSIONS only: irregular forms that bypass the algorithm (NLTK's table).
const IRREGULAR_FORMS: Record<string, string[]> = {
  sky: ['sky', 'skies'],
  die: ['dying'],
  lie: ['lying'],
  tie: ['tying'],
  news: ['news'],
  inning: ['innings', 'inning'],
  outing: ['outings', 'outing'],
  canning: ['cannings', 'canning'],
  howe: ['howe'],
  proceed: ['proceed'],
  exceed: ['exceed'],
  succeed: ['succeed'],
};
const IRREGULAR = new Map(Object.entries(IRREGULAR_FORMS).flatMap(([stem, forms]) => forms.map((form) => [form, stem] as const)));
const VOWELS = new Set(['a', 'e', 'i', 'o', 'u']);

/** Length in code points, as Python's len(). */
const length = (word: string) => codePoints(word).length;
const lastChar = (word: string) => codePoints(word).at(-1) ?? '';

/** Removes an ASCII suffix (which has as many UTF-16 units as code points). */
function dropSuffix(word: string, suffix: string): string {
  return suffix === '' ? word : word.slice(0, word.length - suffix.length);
}

/** Consonant flag per letter: not a, e, i, o, u, and y only after a vowel (or at the start). */
function consonantFlags(word: string): boolean[] {
  const flags: boolean[] = [];
  codePoints(word).forEach((ch, i) => {
    if (VOWELS.has(ch)) flags.push(false);
    else if (ch === 'y') flags.push(i === 0 ? true : !flags[i - 1]);
    else flags.push(true);
  });
  return flags;
}

function isConsonant(word: string, i: number): boolean {
  return consonantFlags(word)[i];
}

/** m in [C](VC){m}[V]: the number of vowel→consonant transitions. */
function measure(stem: string): number {
  const flags = consonantFlags(stem);
  let m = 0;
  for (let i = 1; i < flags.length; i++) if (!flags[i - 1] && flags[i]) m++;
  return m;
}

const positiveMeasure = (stem: string) => measure(stem) > 0;
const measureAboveOne = (stem: string) => measure(stem) > 1;
const containsVowel = (stem: string) => consonantFlags(stem).some((consonant) => !consonant);

/** *d: ends with a double consonant. */
function endsDoubleConsonant(word: string): boolean {
  const chars = codePoints(word);
  return chars.length >= 2 && chars.at(-1) === chars.at(-2) && isConsonant(word, chars.length - 1);
}

export class PorterStemmer {
  constructor(readonly mode: PorterMode = 'NLTK_EXTENSIONS') {}

  /** *o: ends consonant-vowel-consonant, the last not w, x or y; NLTK also accepts a 2-letter vc word. */
  private endsCvc(word: string): boolean {
    const n = length(word);
    const flags = consonantFlags(word);
    const last = lastChar(word);
    return (
      (n >= 3 && flags[n - 3] && !flags[n - 2] && flags[n - 1] && last !== 'w' && last !== 'x' && last !== 'y') ||
      (this.mode === 'NLTK_EXTENSIONS' && n === 2 && !flags[0] && flags[1])
    );
  }

  /** The first rule whose suffix matches decides: applied if its condition holds, else nothing is. */
  private applyRules(word: string, rules: Rule[]): string {
    for (const [suffix, replacement, condition] of rules) {
      if (suffix === '*d' && endsDoubleConsonant(word)) {
        const stem = codePoints(word).slice(0, -2).join('');
        return condition === null || condition(stem) ? stem + replacement : word;
      }
      if (word.endsWith(suffix)) {
        const stem = dropSuffix(word, suffix);
        return condition === null || condition(stem) ? stem + replacement : word;
      }
    }
    return word;
  }

  /** Step 1a: plurals. caresses → caress, ponies → poni, cats → cat. */
  private step1a(word: string): string {
    // NLTK: 'dies' → 'die' rather than 'di' (but 'flies' → 'fli').
    if (this.mode === 'NLTK_EXTENSIONS' && word.endsWith('ies') && length(word) === 4) return dropSuffix(word, 'ies') + 'ie';
    return this.applyRules(word, [
      ['sses', 'ss', null],
      ['ies', 'i', null],
      ['ss', 'ss', null],
      ['s', '', null],
    ]);
  }

  /** Step 1b: -eed, -ed, -ing, then tidy the stem (conflat → conflate, hopp → hop, fil → file). */
  private step1b(word: string): string {
    // NLTK: 'died' → 'die', 'spied' → 'spi'.
    if (this.mode === 'NLTK_EXTENSIONS' && word.endsWith('ied')) {
      return dropSuffix(word, 'ied') + (length(word) === 4 ? 'ie' : 'i');
    }
    if (word.endsWith('eed')) {
      const stem = dropSuffix(word, 'eed');
      return measure(stem) > 0 ? stem + 'ee' : word;
    }
    let stem: string | null = null;
    for (const suffix of ['ed', 'ing']) {
      if (word.endsWith(suffix) && containsVowel(dropSuffix(word, suffix))) {
        stem = dropSuffix(word, suffix);
        break;
      }
    }
    if (stem === null) return word;
    const last = lastChar(stem);
    return this.applyRules(stem, [
      ['at', 'ate', null],
      ['bl', 'ble', null],
      ['iz', 'ize', null],
      // (*d and not (*L or *S or *Z)) → single letter
      ['*d', last, () => last !== 'l' && last !== 's' && last !== 'z'],
      // (m=1 and *o) → E
      ['', 'e', (s) => measure(s) === 1 && this.endsCvc(s)],
    ]);
  }

  /** Step 1c: y → i (happy → happi). NLTK: only after a consonant that is not the whole stem. */
  private step1c(word: string): string {
    const condition =
      this.mode === 'NLTK_EXTENSIONS' ? (stem: string) => length(stem) > 1 && isConsonant(stem, length(stem) - 1) : containsVowel;
    return this.applyRules(word, [['y', 'i', condition]]);
  }

  /** Step 2: double suffixes to single ones, when the stem has m > 0 (relational → relate). */
  private step2(word: string): string {
    // NLTK: -alli → -al first, then step 2 again (so -alli is not shadowed by -bli).
    if (this.mode === 'NLTK_EXTENSIONS' && word.endsWith('alli') && positiveMeasure(dropSuffix(word, 'alli'))) {
      return this.step2(dropSuffix(word, 'alli') + 'al');
    }
    const rules: Rule[] = [
      ['ational', 'ate', positiveMeasure],
      ['tional', 'tion', positiveMeasure],
      ['enci', 'ence', positiveMeasure],
      ['anci', 'ance', positiveMeasure],
      ['izer', 'ize', positiveMeasure],
      // The paper has ABLI → ABLE; Porter's later versions (and NLTK) use BLI → BLE.
      this.mode === 'ORIGINAL_ALGORITHM' ? ['abli', 'able', positiveMeasure] : ['bli', 'ble', positiveMeasure],
      ['alli', 'al', positiveMeasure],
      ['entli', 'ent', positiveMeasure],
      ['eli', 'e', positiveMeasure],
      ['ousli', 'ous', positiveMeasure],
      ['ization', 'ize', positiveMeasure],
      ['ation', 'ate', positiveMeasure],
      ['ator', 'ate', positiveMeasure],
      ['alism', 'al', positiveMeasure],
      ['iveness', 'ive', positiveMeasure],
      ['fulness', 'ful', positiveMeasure],
      ['ousness', 'ous', positiveMeasure],
      ['aliti', 'al', positiveMeasure],
      ['iviti', 'ive', positiveMeasure],
      ['biliti', 'ble', positiveMeasure],
    ];
    if (this.mode === 'NLTK_EXTENSIONS') {
      rules.push(['fulli', 'ful', positiveMeasure]);
      // The 'l' of -logi stays with the stem for the measure, so geo-/theo- work like archaeo-.
      rules.push(['logi', 'log', () => positiveMeasure(word.slice(0, word.length - 3))]);
    }
    if (this.mode === 'MARTIN_EXTENSIONS') rules.push(['logi', 'log', positiveMeasure]);
    return this.applyRules(word, rules);
  }

  /** Step 3: -ic-, -full, -ness etc. when m > 0 (hopeful → hope, triplicate → triplic). */
  private step3(word: string): string {
    return this.applyRules(word, [
      ['icate', 'ic', positiveMeasure],
      ['ative', '', positiveMeasure],
      ['alize', 'al', positiveMeasure],
      ['iciti', 'ic', positiveMeasure],
      ['ical', 'ic', positiveMeasure],
      ['ful', '', positiveMeasure],
      ['ness', '', positiveMeasure],
    ]);
  }

  /** Step 4: strip the remaining suffixes when m > 1 (revival → reviv, adoption → adopt). */
  private step4(word: string): string {
    return this.applyRules(word, [
      ['al', '', measureAboveOne],
      ['ance', '', measureAboveOne],
      ['ence', '', measureAboveOne],
      ['er', '', measureAboveOne],
      ['ic', '', measureAboveOne],
      ['able', '', measureAboveOne],
      ['ible', '', measureAboveOne],
      ['ant', '', measureAboveOne],
      ['ement', '', measureAboveOne],
      ['ment', '', measureAboveOne],
      ['ent', '', measureAboveOne],
      ['ion', '', (stem) => measure(stem) > 1 && (lastChar(stem) === 's' || lastChar(stem) === 't')],
      ['ou', '', measureAboveOne],
      ['ism', '', measureAboveOne],
      ['ate', '', measureAboveOne],
      ['iti', '', measureAboveOne],
      ['ous', '', measureAboveOne],
      ['ive', '', measureAboveOne],
      ['ize', '', measureAboveOne],
    ]);
  }

  /** Step 5a: final -e goes when m > 1, or m = 1 and not *o (probate → probat, cease → ceas, rate stays). */
  private step5a(word: string): string {
    if (!word.endsWith('e')) return word;
    const stem = dropSuffix(word, 'e');
    if (measure(stem) > 1) return stem;
    if (measure(stem) === 1 && !this.endsCvc(stem)) return stem;
    return word;
  }

  /** Step 5b: -ll → -l when m > 1 (controll → control, roll stays). */
  private step5b(word: string): string {
    return this.applyRules(word, [['ll', 'l', () => measure(word.slice(0, word.length - 1)) > 1]]);
  }

  /** Stems one word; the word is lowercased first, as NLTK does by default. */
  stem(word: string): string {
    const lowered = word.toLowerCase();
    if (this.mode === 'NLTK_EXTENSIONS') {
      const irregular = IRREGULAR.get(word);
      if (irregular !== undefined) return irregular;
    }
    // Words of one or two letters are left alone except in the paper's own algorithm.
    if (this.mode !== 'ORIGINAL_ALGORITHM' && length(word) <= 2) return lowered;
    let stem = this.step1a(lowered);
    stem = this.step1b(stem);
    stem = this.step1c(stem);
    stem = this.step2(stem);
    stem = this.step3(stem);
    stem = this.step4(stem);
    stem = this.step5a(stem);
    return this.step5b(stem);
  }
}
