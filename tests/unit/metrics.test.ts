// Text metrics against the reference implementations' own numbers (golden.json: sacrebleu 2.6.0,
// rouge-score, SQuAD v1.1 script) and against cases worked out by hand from their definitions.
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type MetricCase, PorterStemmer, corpusBleu, rougeScore, runMetricCase, sentenceBleu, sentenceChrf, corpusChrf, squadScore, tokenize13a, normalizeAnswer } from '../../src/core/eval/metrics/index';
import { metricsCommand } from '../../cli/commands/metrics';

const goldenPath = fileURLToPath(new URL('../fixtures/metrics/golden.json', import.meta.url));
const golden = JSON.parse(readFileSync(goldenPath, 'utf8')) as { cases: (MetricCase & { id: number; description: string; expected: unknown })[] };

// Fields that count things: compared exactly. Every other number within 1e-6, strings exactly.
const INTEGER_FIELDS = new Set(['counts', 'totals', 'sys_len', 'ref_len', 'exact_match']);

function expectMatches(actual: unknown, expected: unknown, path: string, exact = false): void {
  if (typeof expected === 'number') {
    expect(typeof actual, path).toBe('number');
    if (exact) expect(actual, path).toBe(expected);
    else expect(Math.abs((actual as number) - expected), `${path}: ${actual} vs ${expected}`).toBeLessThanOrEqual(1e-6);
  } else if (Array.isArray(expected)) {
    expect(Array.isArray(actual), path).toBe(true);
    expect((actual as unknown[]).length, `${path}.length`).toBe(expected.length);
    expected.forEach((value, i) => expectMatches((actual as unknown[])[i], value, `${path}[${i}]`, exact));
  } else if (expected !== null && typeof expected === 'object') {
    expect(Object.keys(actual as object).sort(), `${path} keys`).toEqual(Object.keys(expected).sort());
    for (const [key, value] of Object.entries(expected)) {
      expectMatches((actual as Record<string, unknown>)[key], value, `${path}.${key}`, exact || INTEGER_FIELDS.has(key));
    }
  } else {
    expect(actual, path).toBe(expected);
  }
}

describe('golden.json (sacrebleu 2.6.0, rouge-score, SQuAD v1.1)', () => {
  it('has the cases this test expects', () => {
    expect(golden.cases.length).toBe(34);
  });
  for (const testCase of golden.cases) {
    it(`case ${testCase.id} ${testCase.metric}: ${testCase.description}`, () => {
      expectMatches(runMetricCase(testCase), testCase.expected, `case ${testCase.id}`);
    });
  }
});

describe('BLEU by hand: hypothesis "a b c d", reference "a b x d"', () => {
  // Matches: 1-grams a,b,d of 4; 2-grams ab of 3; no 3- or 4-gram; lengths equal so BP = 1.
  const run = (smooth_method: string, extra: Record<string, unknown> = {}) =>
    runMetricCase({ metric: 'bleu', options: { level: 'sentence', smooth_method, ...extra }, hypothesis: 'a b c d', references: ['a b x d'] });

  it('exp: zero orders get 1/2, 1/4 … of a match, so (75 · 100/3 · 25 · 25)^(1/4) = 25√2', () => {
    const s = run('exp') as ReturnType<typeof sentenceBleu>;
    expect(s.counts).toEqual([3, 1, 0, 0]);
    expect(s.totals).toEqual([4, 3, 2, 1]);
    expectMatches(s.precisions, [75, 100 / 3, 100 / (2 * 2), 100 / (4 * 1)], 'precisions');
    expect(s.score).toBeCloseTo(25 * Math.SQRT2, 10);
    expect(s.bp).toBe(1);
  });
  it('floor 0.1: zero orders get 0.1 matches, so (75 · 100/3 · 5 · 10)^(1/4)', () => {
    const s = run('floor') as ReturnType<typeof sentenceBleu>;
    expectMatches(s.precisions, [75, 100 / 3, 5, 10], 'precisions');
    expect(s.score).toBeCloseTo(125000 ** 0.25, 10);
  });
  it('floor with smooth_value 0.5', () => {
    const s = run('floor', { smooth_value: 0.5 }) as ReturnType<typeof sentenceBleu>;
    expectMatches(s.precisions, [75, 100 / 3, 25, 50], 'precisions');
    expect(s.score).toBeCloseTo((75 * (100 / 3) * 25 * 50) ** 0.25, 10);
  });
  it('add-k 1: orders ≥ 2 get +1 match and +1 total, reported in counts/totals; score 50', () => {
    const s = run('add-k') as ReturnType<typeof sentenceBleu>;
    expect(s.counts).toEqual([3, 2, 1, 1]);
    expect(s.totals).toEqual([4, 4, 3, 2]);
    expectMatches(s.precisions, [75, 50, 100 / 3, 50], 'precisions');
    expect(s.score).toBeCloseTo(50, 10);
  });
  it('none: a zero precision makes BLEU 0', () => {
    const s = run('none') as ReturnType<typeof sentenceBleu>;
    expectMatches(s.precisions, [75, 100 / 3, 0, 0], 'precisions');
    expect(s.score).toBe(0);
  });
});

describe('BLEU by hand: orders, lengths, case', () => {
  it('sentence level averages only the orders that exist; corpus level does not', () => {
    // "a b" vs "a b c": p1 = p2 = 100, no 3/4-grams; BP = exp(1 - 3/2).
    const sentence = sentenceBleu('a b', ['a b c']);
    expect(sentence.score).toBeCloseTo(100 * Math.exp(-0.5), 10);
    expect(sentence.totals).toEqual([2, 1, 0, 0]);
    expect(corpusBleu(['a b'], [['a b c']]).score).toBe(0);
    expect(sentenceBleu('a b', ['a b c'], { effectiveOrder: false }).score).toBe(0);
  });
  it('the closest reference length wins, the shorter one on a tie', () => {
    const s = sentenceBleu('a b c', ['a b', 'a b c d']);
    expect(s.ref_len).toBe(2);
    expect(s.bp).toBe(1);
    expect(sentenceBleu('a b c', ['a b c d e', 'a b c d']).ref_len).toBe(4);
  });
  it('corpus statistics are summed before precisions and BP are computed', () => {
    const s = corpusBleu(['a b c d', 'e f'], [['a b c d', 'e f g h']]);
    expect(s.counts).toEqual([6, 4, 2, 1]);
    expect(s.totals).toEqual([6, 4, 2, 1]);
    expect(s.sys_len).toBe(6);
    expect(s.ref_len).toBe(8);
    expect(s.bp).toBeCloseTo(Math.exp(1 - 8 / 6), 12);
    expect(s.score).toBeCloseTo(100 * Math.exp(1 - 8 / 6), 10);
  });
  it('an empty hypothesis scores 0 with BP 0', () => {
    const s = sentenceBleu('', ['a b']);
    expect(s).toEqual({ score: 0, counts: [0, 0, 0, 0], totals: [0, 0, 0, 0], precisions: [0, 0, 0, 0], bp: 0, sys_len: 0, ref_len: 2 });
  });
  it('tokenize none keeps "mat." as one token; 13a splits the period', () => {
    expect(sentenceBleu('the mat.', ['the mat .'], { tokenize: 'none' }).counts).toEqual([1, 0, 0, 0]);
    expect(sentenceBleu('the mat.', ['the mat .']).counts).toEqual([3, 2, 1, 0]);
  });
});

describe('13a tokenizer', () => {
  it.each([
    ['1,000.5 and 5-6 (x)', '1,000.5 and 5 - 6 ( x )'],
    ['&amp;quot;', '& quot ;'],
    ['word-\nnext line', 'wordnext line'],
    ['<skipped>ok', 'ok'],
    // U+00A0 is whitespace to Python's split(), U+FEFF is not (JS \s disagrees on both).
    ['Hello\u00a0world\ufeff.', 'Hello world\ufeff .'],
  ])('%j → %j', (input, output) => {
    expect(tokenize13a(input)).toBe(output);
  });
});

describe('chrF by hand: hypothesis "ab", reference "abc"', () => {
  // Char 1-grams: 2 of 2 match (ref has 3); 2-grams: 1 of 1 (ref has 2); 3-grams: ref only.
  it('effective-order averaging: P = 1, R = (2/3 + 1/2)/2 = 7/12, F2 = 7/11', () => {
    expect(sentenceChrf('ab', ['abc']).score).toBeCloseTo((100 * 7) / 11, 10);
  });
  it('eps smoothing: mean over 6 orders of F2 = 5/7, 5/9, 0, ε, ε, ε', () => {
    expect(sentenceChrf('ab', ['abc'], { epsSmoothing: true }).score).toBeCloseTo((100 * (5 / 7 + 5 / 9)) / 6, 10);
  });
  it('chrF++ adds word 1-grams ("ab" vs "abc": no match): P = 2/3, R = 7/18, F2 = 14/33', () => {
    expect(sentenceChrf('ab', ['abc'], { wordOrder: 2 }).score).toBeCloseTo((100 * 14) / 33, 10);
  });
  it('chrF++ of an empty hypothesis is 0, with or without eps smoothing', () => {
    expect(sentenceChrf('', ['abc def'], { wordOrder: 2 }).score).toBe(0);
    expect(sentenceChrf('', ['abc def'], { wordOrder: 2, epsSmoothing: true }).score).toBe(0);
  });
  it('counts code points: an astral character is one character n-gram', () => {
    // "😀a" vs "😀b": 1-grams 1 of 2 match, 2-grams 0 of 1: P = R = 1/4 averaged → F = 1/4.
    expect(sentenceChrf('😀a', ['😀b']).score).toBeCloseTo(25, 10);
  });
  it('corpus chrF picks the best reference per segment, then sums', () => {
    const best = corpusChrf(['ab', 'xy'], [['zz', 'xy'], ['abc', 'qq']]).score;
    expect(best).toBeCloseTo(corpusChrf(['ab', 'xy'], [['abc', 'xy']]).score, 12);
  });
});

describe('Porter stemmer (Porter 1980 vocabulary)', () => {
  const paper: [string, string][] = [
    ['caresses', 'caress'], ['ponies', 'poni'], ['caress', 'caress'], ['cats', 'cat'], ['feed', 'feed'],
    ['agreed', 'agre'], ['plastered', 'plaster'], ['bled', 'bled'], ['motoring', 'motor'], ['sing', 'sing'],
    ['conflated', 'conflat'], ['troubled', 'troubl'], ['sized', 'size'], ['hopping', 'hop'], ['tanned', 'tan'],
    ['falling', 'fall'], ['hissing', 'hiss'], ['fizzed', 'fizz'], ['failing', 'fail'], ['filing', 'file'],
    ['happy', 'happi'], ['sky', 'sky'], ['relational', 'relat'], ['conditional', 'condit'], ['rational', 'ration'],
    ['valenci', 'valenc'], ['hesitanci', 'hesit'], ['digitizer', 'digit'], ['conformabli', 'conform'],
    ['radicalli', 'radic'], ['differentli', 'differ'], ['vileli', 'vile'], ['analogousli', 'analog'],
    ['vietnamization', 'vietnam'], ['predication', 'predic'], ['operator', 'oper'], ['feudalism', 'feudal'],
    ['decisiveness', 'decis'], ['hopefulness', 'hope'], ['callousness', 'callous'], ['formaliti', 'formal'],
    ['sensitiviti', 'sensit'], ['sensibiliti', 'sensibl'], ['triplicate', 'triplic'], ['formative', 'form'],
    ['formalize', 'formal'], ['electriciti', 'electr'], ['electrical', 'electr'], ['hopeful', 'hope'],
    ['goodness', 'good'], ['revival', 'reviv'], ['allowance', 'allow'], ['inference', 'infer'],
    ['airliner', 'airlin'], ['gyroscopic', 'gyroscop'], ['adjustable', 'adjust'], ['defensible', 'defens'],
    ['irritant', 'irrit'], ['replacement', 'replac'], ['adjustment', 'adjust'], ['dependent', 'depend'],
    ['adoption', 'adopt'], ['homologou', 'homolog'], ['communism', 'commun'], ['activate', 'activ'],
    ['angulariti', 'angular'], ['homologous', 'homolog'], ['effective', 'effect'], ['bowdlerize', 'bowdler'],
    ['probate', 'probat'], ['rate', 'rate'], ['cease', 'ceas'], ['controll', 'control'], ['roll', 'roll'],
    ['generalization', 'gener'],
  ];
  for (const mode of ['NLTK_EXTENSIONS', 'ORIGINAL_ALGORITHM'] as const) {
    it(`${mode}: the paper's examples`, () => {
      const stemmer = new PorterStemmer(mode);
      expect(paper.map(([word]) => stemmer.stem(word))).toEqual(paper.map(([, stem]) => stem));
    });
  }
  it('NLTK_EXTENSIONS (what rouge-score uses) departs from the paper where NLTK says it does', () => {
    const nltk = new PorterStemmer();
    const original = new PorterStemmer('ORIGINAL_ALGORITHM');
    const words = ['ties', 'dies', 'dying', 'enjoy', 'fly', 'geology', 'is'];
    expect(words.map((w) => nltk.stem(w))).toEqual(['tie', 'die', 'die', 'enjoy', 'fli', 'geolog', 'is']);
    expect(words.map((w) => original.stem(w))).toEqual(['ti', 'di', 'dy', 'enjoi', 'fly', 'geologi', 'i']);
  });
});

describe('ROUGE by hand', () => {
  it('stemming: target "the dogs were running quickly" → the dog were run quickli; prediction → the dog run quick', () => {
    const s = rougeScore('the dogs were running quickly', 'the dog runs quick', { useStemmer: true, types: ['rouge1', 'rouge2', 'rougeL'] });
    expectMatches(s.rouge1, { precision: 3 / 4, recall: 3 / 5, fmeasure: 2 / 3 }, 'rouge1');
    expectMatches(s.rouge2, { precision: 1 / 3, recall: 1 / 4, fmeasure: 2 / 7 }, 'rouge2');
    expectMatches(s.rougeL, { precision: 3 / 4, recall: 3 / 5, fmeasure: 2 / 3 }, 'rougeL');
  });
  it('several references: per type the reference with the best F is kept', () => {
    const s = runMetricCase({ metric: 'rouge', options: { types: ['rouge1', 'rouge2'] }, hypothesis: 'a b c d', references: ['a x c y', 'b c q r s t u'] });
    // rouge1: ref 1 gives 2/4, 2/4 (F .5), ref 2 gives 2/4, 2/7 (F 4/11): ref 1. rouge2: only ref 2 shares "b c".
    expectMatches(s, { rouge1: { precision: 0.5, recall: 0.5, fmeasure: 0.5 }, rouge2: { precision: 1 / 3, recall: 1 / 6, fmeasure: 2 / 9 } }, 'rouge');
  });
});

describe('SQuAD by hand', () => {
  it('normalizes like the script: lowercase, ASCII punctuation, articles, whitespace', () => {
    expect(normalizeAnswer('The  Broncos!')).toBe('broncos');
    expect(normalizeAnswer('an apple a day')).toBe('apple day');
    // Python's \b is Unicode-aware: "éthe" is one word, so "the" inside it stays.
    expect(normalizeAnswer('éthe cat')).toBe('éthe cat');
  });
  it('maximises over ground truths', () => {
    const s = squadScore('cat on mat', ['dog', 'the cat sat on the mat']);
    // Against the second: 3 common tokens of 3 predicted and 4 true → F1 = 2·1·¾/(1¾) = 6/7.
    expect(s.exact_match).toBe(0);
    expect(s.f1).toBeCloseTo(6 / 7, 12);
    expect(squadScore('The cat.', ['dog', 'cat']).exact_match).toBe(1);
  });
});

describe('errors', () => {
  it('names the unknown metric and the known ones', () => {
    expect(() => runMetricCase({ metric: 'foo', hypothesis: 'x', references: ['y'] })).toThrow('unknown metric "foo" (known: bleu, chrf, rouge, squad, tokenizer_13a)');
  });
  it.each(['bleu', 'chrf', 'rouge', 'squad'])('%s without references', (metric) => {
    expect(() => runMetricCase({ id: 7, metric, hypothesis: 'x' })).toThrow(`case 7 (${metric}): missing references`);
    expect(() => runMetricCase({ metric, hypothesis: 'x', references: [] })).toThrow('missing references');
  });
  it('refuses unknown options, bad smoothing, bad rouge types, mismatched streams', () => {
    expect(() => runMetricCase({ metric: 'bleu', options: { smoth_method: 'exp' }, hypothesis: 'x', references: ['x'] })).toThrow('unknown option "smoth_method"');
    expect(() => runMetricCase({ metric: 'bleu', options: { smooth_method: 'laplace' }, hypothesis: 'x', references: ['x'] })).toThrow('unknown smooth_method "laplace"');
    expect(() => runMetricCase({ metric: 'rouge', options: { types: ['rougeW'] }, hypothesis: 'x', references: ['x'] })).toThrow('invalid rouge type "rougeW"');
    expect(() => runMetricCase({ metric: 'chrf', options: { level: 'corpus' }, hypothesis: ['a', 'b'], references: [['a']] })).toThrow('reference stream 0 has 1 segments but there are 2 hypotheses');
    expect(() => runMetricCase({ metric: 'bleu', options: { level: 'corpus' }, hypothesis: 'a', references: [['a']] })).toThrow('"hypothesis" must be a list of segment strings');
    expect(() => runMetricCase({ metric: 'bleu', options: { lowercase: 'yes' }, hypothesis: 'a', references: ['a'] })).toThrow('option "lowercase" must be a boolean');
  });
});

describe('metricsCommand', () => {
  it('returns one result per case of golden.json', async () => {
    const results = await metricsCommand(goldenPath);
    expect(results.length).toBe(golden.cases.length);
    results.forEach((result, i) => expectMatches(result, golden.cases[i].expected, `result ${i}`));
  });
  it('names the file and the case on a bad case, and on bad JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hone-metrics-'));
    try {
      const file = join(dir, 'cases.json');
      await writeFile(file, JSON.stringify([{ metric: 'squad', hypothesis: 'a', references: ['a'] }, { metric: 'bleu', hypothesis: 'a' }]));
      await expect(metricsCommand(file)).rejects.toThrow(`${file}: cases[1]: bleu: missing references`);
      await writeFile(file, '{"cases": [');
      await expect(metricsCommand(file)).rejects.toThrow(`${file}: not valid JSON`);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
