// Duplicates: exact groups after normalisation, near groups by Jaccard of word 3-gram shingles with
// hand-computed similarities, and prefix filtering checked against brute force over all pairs.
import { describe, expect, it } from 'vitest';
import { findDuplicates, findDuplicateTexts, jaccard, normalizeText, shingleHashes, type DedupRecord } from '../../src/core/data/dedup';
import { Rng } from '../../src/core/rng';

const twenty = 'the quick brown fox jumps over the lazy dog while seven small birds sing songs about rain and sunny mornings';
const words = twenty.split(' '); // 20 words, 18 distinct 3-word shingles
const replace = (i: number, w: string) => words.map((x, j) => (j === i ? w : x)).join(' ');

describe('normalisation and shingles', () => {
  it('normalises NFKC, case and whitespace', () => {
    expect(normalizeText('  Ｈello\u00a0\tWORLD \n ﬁne ')).toBe('hello world fine');
  });

  it('hashes distinct word shingles; short texts are one shingle; no words → none', () => {
    expect(shingleHashes(twenty).length).toBe(18);
    expect(shingleHashes('a b a b a b').length).toBe(2); // "a b a" and "b a b"
    expect(shingleHashes('Hello, world!')).toEqual(shingleHashes('hello world'));
    expect(shingleHashes('Hello, world!').length).toBe(1);
    expect(shingleHashes(' ... !!').length).toBe(0);
  });

  it('computes Jaccard exactly', () => {
    expect(jaccard('a b c d', 'a b c e')).toBeCloseTo(1 / 3, 15); // {abc, bcd} vs {abc, bce}
    expect(jaccard(twenty, replace(19, 'evenings'))).toBeCloseTo(17 / 19, 15); // last word: 1 shingle changes
    expect(jaccard(twenty, replace(10, 'eight'))).toBeCloseTo(15 / 21, 15); // middle word: 3 shingles change
    expect(jaccard(twenty, twenty.toUpperCase())).toBe(1);
    expect(jaccard('', '')).toBe(1);
  });
});

describe('findDuplicates', () => {
  const records: DedupRecord[] = [
    { instruction: 'Name a colour.', output: 'Blue' }, // 0
    { instruction: 'name  a COLOUR.', output: 'blue' }, // 1: exact of 0
    { instruction: twenty, output: 'ok' }, // 2
    { instruction: replace(19, 'evenings'), output: 'ok' }, // 3: near 2
    { instruction: replace(10, 'eight'), output: 'ok' }, // 4: J with 2 below 0.8
    { instruction: 'Name a colour', context: 'Blue' }, // 5: same words as 0, different fields: near, not exact
    { instruction: 'Translate to French: good morning', output: 'bonjour' }, // 6: alone
    { instruction: '', conversation: [{ role: 'user', content: 'Hi there' }, { role: 'assistant', content: 'Hello!' }] }, // 7
    { instruction: '', conversation: [{ role: 'user', content: 'hi  THERE' }, { role: 'assistant', content: 'hello!' }] }, // 8: exact of 7
    { instruction: 'Name a colour.', output: 'Blue' }, // 9: exact of 0
  ];

  it('groups exact duplicates after normalisation, field by field', () => {
    expect(findDuplicates(records).exact).toEqual([
      [0, 1, 9],
      [7, 8],
    ]);
  });

  it('groups near-duplicates at the default threshold 0.8, exact ones included', () => {
    // a record's text is its instruction, context and output: 2 and 3 have 20 + 1 words, 19 shingles
    // each, of which the 2 holding word 19 differ → 17/21 = 0.81; in 4 word 10 changes 3 → 16/22 = 0.727
    expect(jaccard(`${twenty}\n\nok`, `${replace(19, 'evenings')}\n\nok`)).toBeCloseTo(17 / 21, 15);
    expect(jaccard(`${twenty}\n\nok`, `${replace(10, 'eight')}\n\nok`)).toBeCloseTo(16 / 22, 15);
    const report = findDuplicates(records);
    expect(report.near).toEqual([
      [0, 1, 5, 9],
      [2, 3],
      [7, 8],
    ]);
    expect(report.links).toEqual([
      { a: 0, b: 1, similarity: 1 },
      { a: 0, b: 5, similarity: 1 },
      { a: 0, b: 9, similarity: 1 },
      { a: 2, b: 3, similarity: 17 / 21 },
      { a: 7, b: 8, similarity: 1 },
    ]);
  });

  it('follows the threshold, and links chains transitively', () => {
    expect(findDuplicates(records, { threshold: 0.7 }).near).toEqual([
      [0, 1, 5, 9],
      [2, 3, 4],
      [7, 8],
    ]);
    expect(findDuplicates(records, { threshold: 0.82 }).near).toEqual([
      [0, 1, 5, 9],
      [7, 8],
    ]);
    // a ≈ b (17/19 = 0.89) and b ≈ c (0.89) but a vs c is 16/20 = 0.8: still one group at 0.85
    const a = twenty;
    const b = replace(19, 'evenings');
    const c = words.map((x, j) => (j === 19 ? 'evenings' : j === 0 ? 'a' : x)).join(' ');
    expect(jaccard(a, c)).toBeCloseTo(16 / 20, 15);
    expect(jaccard(a, b)).toBeCloseTo(17 / 19, 15);
    expect(jaccard(b, c)).toBeCloseTo(17 / 19, 15);
    expect(findDuplicateTexts([a, 'unrelated text here', c, b], { threshold: 0.85 }).near).toEqual([[0, 2, 3]]);
  });

  it('refuses a threshold outside (0, 1]', () => {
    expect(() => findDuplicates(records, { threshold: 0 })).toThrow('duplicates: threshold must be in (0, 1], got 0');
    expect(() => findDuplicates(records, { threshold: 1.5 })).toThrow(/got 1.5/);
  });

  it('finds exactly the pairs brute force finds, around the threshold', () => {
    // 800 texts: 400 random bases, each with one variant that has 0–3 words replaced, lengths
    // 4–33 words, so similarities straddle every threshold and each group is mostly one pair (a
    // missed pair would show, not hide behind another route through its group)
    const rng = new Rng(12);
    const vocabulary = Array.from({ length: 300 }, (_, i) => `w${i}`);
    const texts: string[] = [];
    for (let base = 0; base < 400; base++) {
      const length = 4 + rng.int(30);
      const original = Array.from({ length }, () => vocabulary[rng.int(vocabulary.length)]);
      const variant = [...original];
      const edits = rng.int(4);
      for (let e = 0; e < edits; e++) variant[rng.int(length)] = vocabulary[rng.int(vocabulary.length)];
      texts.push(original.join(' '), variant.join(' '));
    }
    // brute force: every pair's Jaccard from the shingle sets, computed once
    const sets = texts.map((t) => new Set(shingleHashes(t)));
    const similarity: number[][] = texts.map(() => []);
    for (let i = 0; i < texts.length; i++) {
      for (let j = i + 1; j < texts.length; j++) {
        let both = 0;
        for (const h of sets[i]) if (sets[j].has(h)) both++;
        similarity[i][j] = both / (sets[i].size + sets[j].size - both);
      }
    }
    expect(similarity[0][1]).toBeCloseTo(jaccard(texts[0], texts[1]), 15);
    for (const threshold of [0.5, 0.8, 0.9]) {
      const parent = texts.map((_, i) => i);
      const find = (x: number): number => (parent[x] === x ? x : (parent[x] = find(parent[x])));
      let pairs = 0;
      for (let i = 0; i < texts.length; i++) {
        for (let j = i + 1; j < texts.length; j++) {
          if (similarity[i][j] >= threshold) {
            pairs++;
            parent[find(j)] = find(i);
          }
        }
      }
      const groups = new Map<number, number[]>();
      texts.forEach((_, i) => groups.set(find(i), [...(groups.get(find(i)) ?? []), i]));
      const expected = [...groups.values()].filter((g) => g.length > 1).sort((x, y) => x[0] - y[0]);
      expect(pairs).toBeGreaterThan(50);
      expect(findDuplicateTexts(texts, { threshold }).near).toEqual(expected);
    }
  });

  it('handles many copies of one text and 20,000 records', () => {
    const rng = new Rng(3);
    const word = () => `v${rng.int(5000)}`;
    const records: DedupRecord[] = [];
    for (let i = 0; i < 20_000; i++) {
      if (i >= 19_000) records.push({ instruction: 'Same prompt', output: 'same answer' });
      else if (i % 50 === 1) records.push({ ...records[i - 1], output: `${records[i - 1].output} extra` });
      else records.push({ instruction: Array.from({ length: 15 }, word).join(' '), output: Array.from({ length: 30 }, word).join(' ') });
    }
    const report = findDuplicates(records);
    expect(report.exact).toEqual([Array.from({ length: 1000 }, (_, k) => 19_000 + k)]);
    const planted = Array.from({ length: 380 }, (_, k) => [50 * k, 50 * k + 1]);
    expect(report.near).toEqual([...planted, Array.from({ length: 1000 }, (_, k) => 19_000 + k)]);
  });
});
