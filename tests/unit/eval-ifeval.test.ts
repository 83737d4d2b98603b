import { describe, expect, it } from 'vitest';
import {
  compileInstruction,
  countWords,
  evaluateInstructions,
  ifevalReport,
  listInstructions,
  looseVariants,
  splitIntoSentences,
  type InstructionSpec,
} from '../../src/core/eval/ifeval';

const strict = (response: string, id: string, kwargs: Record<string, unknown> = {}) =>
  evaluateInstructions(response, [{ id, kwargs }], 'strict').followed[0];
const loose = (response: string, id: string, kwargs: Record<string, unknown> = {}) =>
  evaluateInstructions(response, [{ id, kwargs }], 'loose').followed[0];

describe('IFEval text helpers', () => {
  it('counts words as \\w+ runs (Unicode letters, digits, underscore)', () => {
    expect(countWords("Hello, world! It's 3:45 — naïve_test")).toBe(7); // Hello world It s 3 45 naïve_test
    expect(countWords('')).toBe(0);
  });

  it("splits sentences as IFEval's split_into_sentences", () => {
    expect(splitIntoSentences('Dr. Smith arrived at 3.30 p.m. He left. Did he? Yes!')).toEqual([
      'Dr. Smith arrived at 3.30 p.m. He left.', // "p.m." protects its dots, so the next sentence joins
      'Did he?',
      'Yes!',
    ]);
    expect(splitIntoSentences('Visit example.com today... or not')).toEqual(['Visit example.com today...', 'or not']);
    expect(splitIntoSentences('   ')).toEqual([]);
    expect(splitIntoSentences('no end mark')).toEqual(['no end mark']);
  });
});

describe('IFEval checks (strict)', () => {
  it('number of words: less than / at least / at most', () => {
    expect(strict('one two three', 'length_constraints:number_words', { num_words: 3, relation: 'at least' })).toBe(true);
    expect(strict('one two three', 'length_constraints:number_words', { num_words: 3, relation: 'less than' })).toBe(false);
    expect(strict('one two three', 'length_constraints:number_words', { num_words: 4, relation: 'less than' })).toBe(true);
    expect(strict('one two three', 'length_constraints:number_words', { num_words: 3, relation: 'at most' })).toBe(true);
    expect(strict('one two three four', 'length_constraints:number_words', { num_words: 3, relation: 'at most' })).toBe(false);
  });

  it('number of sentences', () => {
    const text = 'First one. Second one! Third?';
    expect(strict(text, 'length_constraints:number_sentences', { num_sentences: 3, relation: 'at least' })).toBe(true);
    expect(strict(text, 'length_constraints:number_sentences', { num_sentences: 3, relation: 'less than' })).toBe(false);
    expect(strict(text, 'length_constraints:number_sentences', { num_sentences: 4, relation: 'less than' })).toBe(true);
  });

  it('all lowercase / all capitals (Python islower / isupper)', () => {
    expect(strict('all lower case, 123.', 'change_case:english_lowercase')).toBe(true);
    expect(strict('Not lower', 'change_case:english_lowercase')).toBe(false);
    expect(strict('123 !', 'change_case:english_lowercase')).toBe(false); // no cased character at all
    expect(strict('ALL CAPS 1!', 'change_case:english_capital')).toBe(true);
    expect(strict('ALL CAPs', 'change_case:english_capital')).toBe(false);
    expect(strict('ÉTÉ À PARIS', 'change_case:english_capital')).toBe(true);
    // with a language detector, also English
    const env = { detectLanguage: () => 'fr' };
    expect(evaluateInstructions('ÉTÉ À PARIS', [{ id: 'change_case:english_capital' }], 'strict', env).followed).toEqual([false]);
  });

  it('no commas', () => {
    expect(strict('a, b', 'punctuation:no_comma')).toBe(false);
    expect(strict('a b', 'punctuation:no_comma')).toBe(true);
  });

  it('starts with a phrase (on any line, as IFEval) / ends with a phrase', () => {
    expect(strict('Well.\n  My answer is yes', 'multi-turn:constrained_start', { starter: 'My answer is' })).toBe(true);
    expect(strict('I think my answer is yes', 'multi-turn:constrained_start', { starter: 'My answer is' })).toBe(false);
    expect(strict('Thanks. any other QUESTIONS?"  ', 'startend:end_checker', { end_phrase: 'Any other questions?' })).toBe(true);
    expect(strict('Any other questions? Bye', 'startend:end_checker', { end_phrase: 'Any other questions?' })).toBe(false);
  });

  it('JSON format, with ``` fences stripped as IFEval', () => {
    expect(strict('```json\n{"a": [1, 2]}\n```', 'detectable_format:json_format')).toBe(true);
    expect(strict('```JSON\n[1]\n```', 'detectable_format:json_format')).toBe(true);
    expect(strict('  "just a string"  ', 'detectable_format:json_format')).toBe(true);
    expect(strict('{"a": 1} trailing', 'detectable_format:json_format')).toBe(false);
    expect(strict("{'a': 1}", 'detectable_format:json_format')).toBe(false);
  });

  it('number of bullet points ("* " and "- " lines)', () => {
    expect(strict('* one\n- two\nnot a bullet', 'detectable_format:number_bullet_lists', { num_bullets: 2 })).toBe(true);
    expect(strict('** bold\n* one', 'detectable_format:number_bullet_lists', { num_bullets: 1 })).toBe(true); // "**" does not start a bullet
    expect(strict('** bold\n* one', 'detectable_format:number_bullet_lists', { num_bullets: 2 })).toBe(false);
    expect(strict('Temperature:\n-5 degrees', 'detectable_format:number_bullet_lists', { num_bullets: 1 })).toBe(true); // IFEval counts any "-" line
  });

  it('required keywords (substring, any case) and forbidden words (whole words, Unicode boundaries)', () => {
    expect(strict('concatenate DOGS', 'keywords:existence', { keywords: ['Cat', 'dog'] })).toBe(true);
    expect(strict('a cat', 'keywords:existence', { keywords: ['Cat', 'dog'] })).toBe(false);
    expect(strict('concatenate', 'keywords:forbidden_words', { forbidden_words: ['cat'] })).toBe(true);
    expect(strict('The Cat sat', 'keywords:forbidden_words', { forbidden_words: ['cat'] })).toBe(false);
    expect(strict('catédrale', 'keywords:forbidden_words', { forbidden_words: ['cat'] })).toBe(true); // é is a word character in Python
    expect(strict('a (c++) b', 'keywords:existence', { keywords: ['(c++)'] })).toBe(true); // matched literally
    expect(strict('cat cat dog', 'keywords:frequency', { keyword: 'CAT', frequency: 2, relation: 'at least' })).toBe(true);
    expect(strict('cat cat dog', 'keywords:frequency', { keyword: 'cat', frequency: 2, relation: 'less than' })).toBe(false);
    expect(strict('Banana', 'keywords:letter_frequency', { letter: 'A', let_frequency: 3, let_relation: 'at least' })).toBe(true);
  });

  it('placeholders, title, paragraphs', () => {
    expect(strict('Dear [name], at [address]', 'detectable_content:number_placeholders', { num_placeholders: 2 })).toBe(true);
    expect(strict('[a\nb] [c]', 'detectable_content:number_placeholders', { num_placeholders: 2 })).toBe(false); // "." stops at newlines
    expect(strict('<<My Title>>\nbody', 'detectable_format:title')).toBe(true);
    expect(strict('<<  >> body', 'detectable_format:title')).toBe(false);
    expect(strict('<<a\nb>>', 'detectable_format:title')).toBe(false);
    expect(strict('a\n***\nb\n***\nc', 'length_constraints:number_paragraphs', { num_paragraphs: 3 })).toBe(true);
    expect(strict('***\na *** b ***', 'length_constraints:number_paragraphs', { num_paragraphs: 2 })).toBe(true); // empty ends do not count
    expect(strict('a *** *** b', 'length_constraints:number_paragraphs', { num_paragraphs: 2 })).toBe(false); // empty one in the middle
    const twoParagraphs = 'Intro here.\n\n"Summer is warm," she said.';
    expect(strict(twoParagraphs, 'length_constraints:nth_paragraph_first_word', { num_paragraphs: 2, nth_paragraph: 2, first_word: 'summer' })).toBe(true);
    expect(strict(twoParagraphs, 'length_constraints:nth_paragraph_first_word', { num_paragraphs: 3, nth_paragraph: 2, first_word: 'summer' })).toBe(false);
  });

  it('postscript, highlights, sections, two responses, quotation, constrained response, repeat prompt', () => {
    expect(strict('Body.\nP.S. see you', 'detectable_content:postscript', { postscript_marker: 'P.S.' })).toBe(true);
    expect(strict('Body.\np. p. s more', 'detectable_content:postscript', { postscript_marker: 'P.P.S' })).toBe(true);
    expect(strict('Body only', 'detectable_content:postscript', { postscript_marker: 'P.S.' })).toBe(false);
    expect(strict('*one* and **two** and * *', 'detectable_format:number_highlighted_sections', { num_highlights: 2 })).toBe(true);
    expect(strict('*one* and * *', 'detectable_format:number_highlighted_sections', { num_highlights: 2 })).toBe(false);
    expect(strict('SECTION 1\na\nSECTION 2\nb', 'detectable_format:multiple_sections', { section_spliter: 'SECTION', num_sections: 2 })).toBe(true);
    expect(strict('SECTION 1\na', 'detectable_format:multiple_sections', { section_spliter: 'SECTION', num_sections: 2 })).toBe(false);
    expect(strict('first\n******\nsecond', 'combination:two_responses')).toBe(true);
    expect(strict('same\n******\nsame', 'combination:two_responses')).toBe(false);
    expect(strict(' "quoted" ', 'startend:quotation')).toBe(true);
    expect(strict('"', 'startend:quotation')).toBe(false);
    expect(strict('Well... My answer is no.', 'detectable_format:constrained_response')).toBe(true);
    expect(strict('Write a poem. Here it is', 'combination:repeat_prompt', { prompt_to_repeat: 'write a POEM.' })).toBe(true);
  });

  it('response language asks a detector; without one it refuses', () => {
    const spec = [{ id: 'language:response_language', kwargs: { language: 'de' } }];
    expect(evaluateInstructions('Guten Tag', spec, 'strict', { detectLanguage: () => 'de' }).followed).toEqual([true]);
    expect(evaluateInstructions('Good day', spec, 'strict', { detectLanguage: () => 'en' }).followed).toEqual([false]);
    expect(evaluateInstructions('???', spec, 'strict', { detectLanguage: () => null }).followed).toEqual([true]); // as IFEval when langdetect fails
    expect(() => evaluateInstructions('Guten Tag', spec, 'strict')).toThrow('checking the response language needs a language detector');
  });
});

describe('IFEval strict vs loose', () => {
  it('gives the 8 loose variants in IFEval order', () => {
    expect(looseVariants('*a*\nb\n*c*')).toEqual(['*a*\nb\n*c*', 'a\nb\nc', 'b\n*c*', '*a*\nb', 'b', 'b\nc', 'a\nb', 'b']);
  });

  it('loose forgives a first line, a last line and markdown asterisks; strict does not', () => {
    const withPreamble = 'Sure, here it is:\n{"a": 1}';
    expect(strict(withPreamble, 'detectable_format:json_format')).toBe(false);
    expect(loose(withPreamble, 'detectable_format:json_format')).toBe(true); // first line removed

    const starred = 'Goodbye. *Is there anything else I can help with?*';
    expect(strict(starred, 'startend:end_checker', { end_phrase: 'Is there anything else I can help with?' })).toBe(false);
    expect(loose(starred, 'startend:end_checker', { end_phrase: 'Is there anything else I can help with?' })).toBe(true); // asterisks removed

    const signed = 'hello world\nP.S. ASCII';
    expect(strict(signed, 'change_case:english_lowercase')).toBe(false);
    expect(loose(signed, 'change_case:english_lowercase')).toBe(true); // last line removed

    const hopeless = 'Title\nBODY\nend';
    expect(loose(hopeless, 'change_case:english_lowercase')).toBe(false); // no variant is all lowercase
  });

  it('an empty response follows nothing, in both modes', () => {
    expect(strict('   ', 'punctuation:no_comma')).toBe(false);
    expect(loose('   ', 'punctuation:no_comma')).toBe(false);
    expect(loose('a, b', 'punctuation:no_comma')).toBe(false); // its one-line variants without lines are empty
  });

  it('reports prompt-level and instruction-level accuracy, per instruction and per category', () => {
    const specs: InstructionSpec[][] = [
      [{ id: 'keywords:existence', kwargs: { keywords: ['cat'] } }, { id: 'punctuation:no_comma' }],
      [{ id: 'keywords:existence', kwargs: { keywords: ['dog'] } }, { id: 'detectable_format:title' }],
      [{ id: 'punctuation:no_comma' }],
    ];
    const responses = ['a cat', '<<cats>> only', 'a, b'];
    const results = responses.map((r, i) => evaluateInstructions(r, specs[i], 'strict'));
    expect(results.map((r) => r.followed)).toEqual([[true, true], [false, true], [false]]);
    expect(ifevalReport(results)).toEqual({
      prompts: 3,
      instructions: 5,
      promptLevel: 1 / 3,
      instructionLevel: 3 / 5,
      byInstruction: { 'detectable_format:title': 1, 'keywords:existence': 0.5, 'punctuation:no_comma': 0.5 },
      byCategory: { detectable_format: 1, keywords: 0.5, punctuation: 0.5 },
    });
  });
});

describe('IFEval instruction errors', () => {
  it('names the instruction, the kwarg and what it must be', () => {
    expect(() => compileInstruction({ id: 'keywords:exist' }, 'example 4, instruction 2')).toThrow(
      /^example 4, instruction 2: unknown instruction id "keywords:exist" \(known: keywords:existence, /,
    );
    expect(() => compileInstruction({ id: 'length_constraints:number_words', kwargs: { num_words: 5 } })).toThrow(
      'instruction (length_constraints:number_words): kwarg "relation" is required',
    );
    expect(() => compileInstruction({ id: 'length_constraints:number_words', kwargs: { num_words: 5, relation: 'more than' } })).toThrow(
      'kwarg "relation" must be one of "less than", "at least", "at most", got "more than"',
    );
    expect(() => compileInstruction({ id: 'punctuation:no_comma', kwargs: { keywords: ['x'] } })).toThrow('unknown kwarg "keywords" (this instruction takes none)');
    expect(() => compileInstruction({ id: 'keywords:letter_frequency', kwargs: { letter: 'ab', let_frequency: 1, let_relation: 'at least' } })).toThrow(
      'kwarg "letter" must be a single letter',
    );
    // IFEval's Hugging Face copy lists every kwarg, null where unused
    expect(compileInstruction({ id: 'punctuation:no_comma', kwargs: { keywords: null, num_words: null } }).check('a b')).toBe(true);
    expect(listInstructions().length).toBeGreaterThanOrEqual(20);
  });
});
