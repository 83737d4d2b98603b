import { describe, expect, it } from 'vitest';
import { bytesToUnicode, countPreTokens, trainBpe } from '../../src/core/tokenizer/bpe-train';
import { HoneTokenizer } from '../../src/core/tokenizer/tokenizer';

describe('byte-level BPE training', () => {
  it("uses GPT-2's byte table", () => {
    const table = bytesToUnicode();
    expect(table[32]).toBe('Ġ');
    expect(table[10]).toBe('Ċ');
    expect(table[97]).toBe('a');
    expect(new Set(table).size).toBe(256);
  });

  it('counts GPT-2 pre-tokens in byte-symbol form', () => {
    // "  ab": the first space stands alone (\s+(?!\S)), the second joins the word, as GPT-2 splits
    expect([...countPreTokens(["it's ab  ab\n"])]).toEqual([
      ['it', 1],
      ["'s", 1],
      ['Ġab', 2],
      ['Ġ', 1],
      ['Ċ', 1],
    ]);
  });

  it('merges the most frequent pair first and stops below min frequency (hand-computed)', () => {
    // pre-tokens: ab ×1, Ġab ×2, Ġabc ×1 → (a,b)=4 first, then (Ġ,ab)=3; (Ġab,c)=1 < 2 stops
    const bpe = trainBpe(['ab ab ab abc'], { vocabSize: 400, specialTokens: ['<s>', '</s>'] });
    expect(bpe.merges).toEqual([
      ['a', 'b'],
      ['Ġ', 'ab'],
    ]);
    expect(bpe.vocab.size).toBe(2 + 256 + 2);
    expect(bpe.vocab.get('ab')).toBe(258);
    expect(bpe.vocab.get('Ġab')).toBe(259);
    // alphabet sorted by code point after the specials: '!' (0x21) is id 2, so 'c' (0x63) is 2 + 66
    expect(bpe.vocab.get('!')).toBe(2);
    expect(bpe.vocab.get('c')).toBe(68);
  });

  it('writes a tokenizer.json the tokenizer library loads: exact ids, BOS, lossless decode', () => {
    const bpe = trainBpe(['ab ab ab abc'], { vocabSize: 400, specialTokens: ['<s>', '</s>'], bosToken: '<s>' });
    const tok = HoneTokenizer.fromJson(JSON.stringify(bpe.json), JSON.stringify({ bos_token: '<s>', eos_token: '</s>' }));
    expect(tok.encode('ab ab abc', { addSpecialTokens: false })).toEqual([258, 259, 259, 68]);
    expect(tok.encode('ab ab abc')).toEqual([0, 258, 259, 259, 68]);
    expect(tok.bosTokenId).toBe(0);
    expect(tok.eosTokenId).toBe(1);
    expect(tok.vocabSize).toBe(260);
    const text = 'héllo wörld 👋\r\n  tabs\tand 123,456!';
    expect(tok.decode(tok.encode(text, { addSpecialTokens: false }))).toBe(text);
  });

  it('learns whole frequent words on a larger corpus and never exceeds the vocabulary size', () => {
    const lines: string[] = [];
    for (let i = 0; i < 200; i++) lines.push(`The cat sat on the mat number ${i}. The dog ran.`);
    const bpe = trainBpe(lines, { vocabSize: 300, specialTokens: ['<s>'] });
    expect(bpe.vocab.size).toBe(300);
    expect(bpe.vocab.has('ĠThe') || bpe.vocab.has('The')).toBe(true);
    const tok = HoneTokenizer.fromJson(JSON.stringify(bpe.json));
    expect(tok.encode('The cat sat', { addSpecialTokens: false }).length).toBeLessThanOrEqual(3);
  });

  it('refuses a vocabulary smaller than specials + 256 bytes', () => {
    expect(() => trainBpe(['x'], { vocabSize: 100, specialTokens: ['<s>'] })).toThrow(/vocabSize must be an integer ≥ 257/);
  });
});
