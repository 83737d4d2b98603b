// IFEval's verifiable instructions (google-research instruction_following_eval, instructions.py),
// under IFEval's own ids and kwargs names so its input_data.jsonl rows run unchanged.
// Deliberate differences, each because the original cannot run here or is a trap:
// - number_sentences counts with IFEval's rule-based splitter, not NLTK Punkt (see text.ts);
// - english_capital / english_lowercase / response_language ask `detectLanguage` (langdetect in
//   IFEval); without one, the two case checks test the case only and response_language refuses;
// - keywords, phrases and markers are matched literally (IFEval pastes them into regexes);
// - relations also accept 'at most' (IFEval: 'less than' and 'at least' only);
// - capital_word_frequency (NLTK word_tokenize) is not offered;
// - json_format uses JSON.parse, which refuses the NaN/Infinity that Python's json.loads accepts.
import { ANY, LINE_END, LINE_START, countSentences, countWords, escapeRegExp, pyIsLower, pyIsUpper, pyStrip, stripChars, wordBounded } from './text';
import { codePoints, pyLower, pySplit } from '../metrics/python-text';

export type Relation = 'less than' | 'at least' | 'at most';
const RELATIONS: readonly Relation[] = ['less than', 'at least', 'at most'];

type ArgType = 'count' | 'string' | 'strings' | 'relation';
type ArgValue = number | string | string[];
type Args = Record<string, ArgValue>;

export interface CheckEnvironment {
  /** the prompt the response answers */
  prompt?: string;
  /** ISO 639-1 code of a text's language (IFEval: langdetect); null when it cannot tell */
  detectLanguage?: (text: string) => string | null;
}

interface Definition {
  description: string;
  args: Record<string, { type: ArgType; optional?: boolean }>;
  /** what the kwargs must satisfy together; returns the problem, or null */
  validate?(args: Args): string | null;
  check(response: string, args: Args, env: CheckEnvironment): boolean;
}

/** An instruction as IFEval's input rows give it: `instruction_id_list[i]` and `kwargs[i]`. */
export interface InstructionSpec {
  id: string;
  kwargs?: Record<string, unknown> | null;
}

export class InstructionError extends Error {
  override name = 'InstructionError';
}

const compare = (actual: number, relation: Relation, threshold: number) =>
  relation === 'less than' ? actual < threshold : relation === 'at least' ? actual >= threshold : actual <= threshold;

const count = (text: string, pattern: RegExp) => text.match(pattern)?.length ?? 0;

/** IFEval's language check: true when the detector cannot tell (as IFEval on LangDetectException). */
function isLanguage(text: string, language: string, env: CheckEnvironment): boolean {
  const detected = env.detectLanguage!(text);
  return detected === null || detected === language;
}

const DEFINITIONS: Record<string, Definition> = {
  'keywords:existence': {
    description: 'includes every keyword (case-insensitive, also inside longer words)',
    args: { keywords: { type: 'strings' } },
    check: (r, a) => (a.keywords as string[]).every((k) => new RegExp(escapeRegExp(k), 'iu').test(r)),
  },
  'keywords:frequency': {
    description: 'a keyword appears less than / at least N times (case-insensitive)',
    args: { keyword: { type: 'string' }, frequency: { type: 'count' }, relation: { type: 'relation' } },
    check: (r, a) => compare(count(r, new RegExp(escapeRegExp(pyStrip(a.keyword as string)), 'giu')), a.relation as Relation, a.frequency as number),
  },
  'keywords:forbidden_words': {
    description: 'none of the words appears as a whole word (case-insensitive)',
    args: { forbidden_words: { type: 'strings' } },
    check: (r, a) => !(a.forbidden_words as string[]).some((w) => new RegExp(wordBounded(w), 'iu').test(r)),
  },
  'keywords:letter_frequency': {
    description: 'a letter appears less than / at least N times (case-insensitive)',
    args: { letter: { type: 'string' }, let_frequency: { type: 'count' }, let_relation: { type: 'relation' } },
    validate: (a) => (codePoints(pyStrip(a.letter as string)).length === 1 ? null : `kwarg "letter" must be a single letter, got ${JSON.stringify(a.letter)}`),
    check: (r, a) => {
      const letter = pyLower(pyStrip(a.letter as string));
      return compare(codePoints(pyLower(r)).filter((ch) => ch === letter).length, a.let_relation as Relation, a.let_frequency as number);
    },
  },
  'language:response_language': {
    description: 'the whole response is in the given language (needs a language detector)',
    args: { language: { type: 'string' } },
    check: (r, a, env) => isLanguage(r, a.language as string, env),
  },
  'length_constraints:number_sentences': {
    description: 'less than / at least / at most N sentences',
    args: { num_sentences: { type: 'count' }, relation: { type: 'relation' } },
    check: (r, a) => compare(countSentences(r), a.relation as Relation, a.num_sentences as number),
  },
  'length_constraints:number_paragraphs': {
    description: 'exactly N paragraphs separated by the markdown divider ***',
    args: { num_paragraphs: { type: 'count' } },
    check: (r, a) => {
      const paragraphs = r.split(/\s?\*\*\*\s?/u);
      let n = paragraphs.length;
      for (let i = 0; i < paragraphs.length; i++) {
        if (pyStrip(paragraphs[i]) !== '') continue;
        if (i === 0 || i === paragraphs.length - 1) n--;
        else return false; // an empty paragraph between two dividers
      }
      return n === a.num_paragraphs;
    },
  },
  'length_constraints:number_words': {
    description: 'less than / at least / at most N words',
    args: { num_words: { type: 'count' }, relation: { type: 'relation' } },
    check: (r, a) => compare(countWords(r), a.relation as Relation, a.num_words as number),
  },
  'length_constraints:nth_paragraph_first_word': {
    description: 'exactly N paragraphs separated by blank lines, paragraph i starting with a given word',
    args: { num_paragraphs: { type: 'count' }, nth_paragraph: { type: 'count' }, first_word: { type: 'string' } },
    validate: (a) =>
      (a.nth_paragraph as number) >= 1 && (a.nth_paragraph as number) <= (a.num_paragraphs as number)
        ? null
        : `kwarg "nth_paragraph" must be between 1 and num_paragraphs (${a.num_paragraphs}), got ${a.nth_paragraph}`,
    check: (r, a) => {
      const paragraphs = r.split('\n\n');
      const n = paragraphs.filter((p) => pyStrip(p) !== '').length;
      const nth = a.nth_paragraph as number;
      if (nth > n) return false;
      const paragraph = pyStrip(paragraphs[nth - 1]);
      if (!paragraph) return false;
      const word = stripChars(stripChars(pyStrip(pySplit(paragraph)[0]), "'", 'left'), '"', 'left');
      let first = '';
      for (const ch of codePoints(word)) {
        if ('.,?!\'"'.includes(ch)) break;
        first += pyLower(ch);
      }
      return n === a.num_paragraphs && first === pyLower(a.first_word as string);
    },
  },
  'detectable_content:number_placeholders': {
    description: 'at least N placeholders in square brackets, like [name]',
    args: { num_placeholders: { type: 'count' } },
    check: (r, a) => count(r, new RegExp(`\\[${ANY}*?\\]`, 'gu')) >= (a.num_placeholders as number),
  },
  'detectable_content:postscript': {
    description: 'has a postscript starting with the marker (P.S., P.P.S, …)',
    args: { postscript_marker: { type: 'string' } },
    check: (r, a) => {
      const marker = pyStrip(a.postscript_marker as string);
      const pattern =
        marker === 'P.P.S' ? '\\s*p\\.\\s?p\\.\\s?s' : marker === 'P.S.' ? '\\s*p\\.\\s?s\\.' : `\\s*${escapeRegExp(pyLower(marker))}`;
      return new RegExp(`${pattern}${ANY}*${LINE_END}`, 'u').test(pyLower(r));
    },
  },
  'detectable_format:number_bullet_lists': {
    description: 'exactly N markdown bullet points ("* " or "- " lines)',
    args: { num_bullets: { type: 'count' } },
    check: (r, a) => {
      const stars = count(r, new RegExp(`${LINE_START}\\s*\\*[^*]${ANY}*${LINE_END}`, 'gu'));
      const dashes = count(r, new RegExp(`${LINE_START}\\s*-${ANY}*${LINE_END}`, 'gu'));
      return stars + dashes === a.num_bullets;
    },
  },
  'detectable_format:constrained_response': {
    description: 'contains "My answer is yes.", "My answer is no." or "My answer is maybe."',
    args: {},
    check: (r) => ['My answer is yes.', 'My answer is no.', 'My answer is maybe.'].some((option) => pyStrip(r).includes(option)),
  },
  'detectable_format:number_highlighted_sections': {
    description: 'at least N sections highlighted with markdown, *like this*',
    args: { num_highlights: { type: 'count' } },
    check: (r, a) => {
      const single = (r.match(/\*[^\n*]*\*/gu) ?? []).filter((h) => pyStrip(stripChars(h, '*')) !== '').length;
      const double = (r.match(/\*\*[^\n*]*\*\*/gu) ?? []).filter((h) => pyStrip(h.slice(2, -2)) !== '').length;
      return single + double >= (a.num_highlights as number);
    },
  },
  'detectable_format:multiple_sections': {
    description: 'at least N sections, each starting with the splitter and a number ("Section 1")',
    args: { section_spliter: { type: 'string' }, num_sections: { type: 'count' } },
    check: (r, a) => {
      const splitter = escapeRegExp(pyStrip(a.section_spliter as string));
      return r.split(new RegExp(`\\s?${splitter}\\s?\\p{Nd}+\\s?`, 'u')).length - 1 >= (a.num_sections as number);
    },
  },
  'detectable_format:json_format': {
    description: 'the whole response is JSON (a ```json fence around it is allowed)',
    args: {},
    check: (r) => {
      let value = pyStrip(r);
      for (const prefix of ['```json', '```Json', '```JSON', '```']) if (value.startsWith(prefix)) value = value.slice(prefix.length);
      if (value.endsWith('```')) value = value.slice(0, -3);
      try {
        JSON.parse(pyStrip(value));
        return true;
      } catch {
        return false;
      }
    },
  },
  'detectable_format:title': {
    description: 'has a title in double angular brackets, like <<poem of joy>>',
    args: {},
    check: (r) => (r.match(/<<[^\n]+>>/gu) ?? []).some((t) => pyStrip(stripChars(stripChars(t, '<', 'left'), '>', 'right')) !== ''),
  },
  'combination:two_responses': {
    description: 'two different responses separated by ******',
    args: {},
    check: (r) => {
      const parts = r.split('******');
      const valid: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        if (pyStrip(parts[i]) === '') {
          if (i !== 0 && i !== parts.length - 1) return false;
        } else valid.push(parts[i]);
      }
      return valid.length === 2 && pyStrip(valid[0]) !== pyStrip(valid[1]);
    },
  },
  'combination:repeat_prompt': {
    description: 'first repeats the request word for word, then answers',
    args: { prompt_to_repeat: { type: 'string' } },
    check: (r, a) => pyLower(pyStrip(r)).startsWith(pyLower(pyStrip(a.prompt_to_repeat as string))),
  },
  'startend:end_checker': {
    description: 'ends with the exact phrase (case-insensitive; a closing quote is ignored)',
    args: { end_phrase: { type: 'string' } },
    check: (r, a) => pyLower(stripChars(pyStrip(r), '"')).endsWith(pyLower(pyStrip(a.end_phrase as string))),
  },
  'multi-turn:constrained_start': {
    description: 'a line starts with the phrase (IFEval keeps this check out of its registry)',
    args: { starter: { type: 'string' } },
    check: (r, a) => new RegExp(`${LINE_START}\\s*${escapeRegExp(pyStrip(a.starter as string))}${ANY}*${LINE_END}`, 'u').test(r),
  },
  'startend:quotation': {
    description: 'the whole response is wrapped in double quotation marks',
    args: {},
    check: (r) => {
      const value = codePoints(pyStrip(r));
      return value.length > 1 && value[0] === '"' && value[value.length - 1] === '"';
    },
  },
  'change_case:english_capital': {
    description: 'all capital letters (and English, when a language detector is given)',
    args: {},
    check: (r, _a, env) => pyIsUpper(r) && (!env.detectLanguage || isLanguage(r, 'en', env)),
  },
  'change_case:english_lowercase': {
    description: 'all lowercase letters (and English, when a language detector is given)',
    args: {},
    check: (r, _a, env) => pyIsLower(r) && (!env.detectLanguage || isLanguage(r, 'en', env)),
  },
  'punctuation:no_comma': {
    description: 'no commas',
    args: {},
    check: (r) => !r.includes(','),
  },
};

/** The instruction ids Hone checks, with a sentence each. */
export function listInstructions(): { id: string; description: string; args: string[] }[] {
  return Object.entries(DEFINITIONS).map(([id, d]) => ({ id, description: d.description, args: Object.keys(d.args) }));
}

export interface Instruction {
  id: string;
  /** IFEval's check_following on one response text */
  check(response: string, env?: CheckEnvironment): boolean;
}

/** Validates an instruction and its kwargs; `where` names it in errors (e.g. 'example 4, instruction 2'). */
export function compileInstruction(spec: InstructionSpec, where = 'instruction'): Instruction {
  const definition = Object.hasOwn(DEFINITIONS, spec.id) ? DEFINITIONS[spec.id] : undefined;
  if (!definition) {
    throw new InstructionError(`${where}: unknown instruction id ${JSON.stringify(spec.id)} (known: ${Object.keys(DEFINITIONS).join(', ')})`);
  }
  const label = `${where} (${spec.id})`;
  const given = spec.kwargs ?? {};
  if (typeof given !== 'object' || Array.isArray(given)) throw new InstructionError(`${label}: kwargs must be an object`);
  // IFEval's Hugging Face copy lists every kwarg of every instruction, null where unused.
  const present = Object.entries(given).filter(([, value]) => value !== null && value !== undefined);
  const unknown = present.filter(([name]) => !Object.hasOwn(definition.args, name)).map(([name]) => name);
  if (unknown.length > 0) {
    const known = Object.keys(definition.args);
    throw new InstructionError(`${label}: unknown kwarg ${unknown.map((n) => `"${n}"`).join(', ')} (this instruction takes ${known.length ? known.join(', ') : 'none'})`);
  }
  const args: Args = {};
  for (const [name, { type, optional }] of Object.entries(definition.args)) {
    const value = Object.hasOwn(given, name) ? given[name] : undefined;
    if (value === undefined || value === null) {
      if (optional) continue;
      throw new InstructionError(`${label}: kwarg "${name}" is required`);
    }
    args[name] = readArg(label, name, type, value);
  }
  const problem = definition.validate?.(args);
  if (problem) throw new InstructionError(`${label}: ${problem}`);
  return {
    id: spec.id,
    check(response: string, env: CheckEnvironment = {}): boolean {
      if (spec.id === 'language:response_language' && !env.detectLanguage) {
        throw new InstructionError(`${label}: checking the response language needs a language detector (pass detectLanguage)`);
      }
      return definition.check(response, args, env);
    },
  };
}

function readArg(label: string, name: string, type: ArgType, value: unknown): ArgValue {
  const fail = (what: string) => new InstructionError(`${label}: kwarg "${name}" must be ${what}, got ${JSON.stringify(value)}`);
  switch (type) {
    case 'count':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw fail('a whole number ≥ 0');
      return value;
    case 'string':
      if (typeof value !== 'string' || value.length === 0) throw fail('a non-empty string');
      return value;
    case 'strings':
      if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string' && v.length > 0)) throw fail('a non-empty list of non-empty strings');
      return value as string[];
    case 'relation':
      if (!RELATIONS.includes(value as Relation)) throw fail(`one of ${RELATIONS.map((r) => `"${r}"`).join(', ')}`);
      return value as Relation;
  }
}
