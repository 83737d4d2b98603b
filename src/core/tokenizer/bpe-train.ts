// Trains a byte-level BPE tokenizer (GPT-2 style, as Hugging Face `tokenizers`' BpeTrainer with a
// ByteLevel pre-tokenizer does) and writes it as a tokenizer.json that both @huggingface/tokenizers
// here and Python `tokenizers` / transformers load. Used to build hone-tiny's tokenizer from its
// synthetic corpus.
//
// Algorithm: split text with GPT-2's pre-tokenization regex, map every byte to its printable
// stand-in (GPT-2's bytes_to_unicode), count distinct pre-tokens, then repeatedly merge the most
// frequent adjacent pair. Ties go to the pair of smaller ids (HF's BpeTrainer rule); the initial
// alphabet is all 256 byte symbols sorted by code point, after the special tokens. Pair counts are
// updated incrementally from an index of which words hold which pair, so a few thousand merges over
// a multi-megabyte corpus take seconds.

/** GPT-2's pre-tokenization regex (HF tokenizers ByteLevel, use_regex: true). */
const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** GPT-2's reversible byte → printable character table. */
export function bytesToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table: string[] = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = printable.includes(b) ? String.fromCodePoint(b) : String.fromCodePoint(256 + extra++);
  }
  return table;
}

export interface BpeTrainOptions {
  /** total vocabulary size including special tokens and the 256 byte symbols */
  vocabSize: number;
  /** added first, ids 0… in this order; the first is prepended as BOS when `bosToken` is set */
  specialTokens: string[];
  /** pairs seen fewer times than this are never merged (HF min_frequency; default 2) */
  minFrequency?: number;
  /** a special token the post-processor prepends to every encoding (Llama's `<s>`), or null */
  bosToken?: string | null;
}

export interface TrainedBpe {
  vocab: Map<string, number>;
  merges: [string, string][];
  /** the tokenizer.json object */
  json: Record<string, unknown>;
}

const encoder = new TextEncoder();

/** Distinct pre-tokens of `texts` in byte-symbol form, with their counts. */
export function countPreTokens(texts: Iterable<string>): Map<string, number> {
  const table = bytesToUnicode();
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const match of text.matchAll(GPT2_SPLIT)) {
      let symbols = '';
      for (const byte of encoder.encode(match[0])) symbols += table[byte];
      counts.set(symbols, (counts.get(symbols) ?? 0) + 1);
    }
  }
  return counts;
}

export function trainBpe(texts: Iterable<string>, options: BpeTrainOptions): TrainedBpe {
  const minFrequency = options.minFrequency ?? 2;
  const specials = options.specialTokens;
  if (new Set(specials).size !== specials.length) throw new Error('trainBpe: special tokens must be distinct');
  const alphabet = [...bytesToUnicode()].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  const base = specials.length + alphabet.length;
  if (!Number.isInteger(options.vocabSize) || options.vocabSize < base) {
    throw new Error(`trainBpe: vocabSize must be an integer ≥ ${base} (specials + 256 byte symbols), got ${options.vocabSize}`);
  }
  const tokens: string[] = [...specials, ...alphabet];
  const idOf = new Map<string, number>(tokens.map((t, i) => [t, i]));

  // Words as arrays of symbol ids, with their counts.
  const counts = countPreTokens(texts);
  const words: number[][] = [];
  const freq: number[] = [];
  for (const [word, count] of counts) {
    words.push([...word].map((ch) => idOf.get(ch)!));
    freq.push(count);
  }

  const key = (a: number, b: number): number => a * 0x100000 + b;
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPairs = (w: number, sign: 1 | -1): void => {
    const symbols = words[w];
    for (let i = 0; i + 1 < symbols.length; i++) {
      const k = key(symbols[i], symbols[i + 1]);
      pairCount.set(k, (pairCount.get(k) ?? 0) + sign * freq[w]);
      if (sign === 1) {
        let set = pairWords.get(k);
        if (!set) pairWords.set(k, (set = new Set()));
        set.add(w);
      }
    }
  };
  for (let w = 0; w < words.length; w++) addPairs(w, 1);

  const merges: [string, string][] = [];
  while (tokens.length < options.vocabSize) {
    let bestKey = -1;
    let bestCount = 0;
    for (const [k, c] of pairCount) {
      if (c > bestCount || (c === bestCount && c > 0 && k < bestKey)) {
        bestKey = k;
        bestCount = c;
      }
    }
    if (bestKey < 0 || bestCount < minFrequency) break;
    const a = Math.floor(bestKey / 0x100000);
    const b = bestKey % 0x100000;
    const merged = tokens[a] + tokens[b];
    let newId = idOf.get(merged);
    if (newId === undefined) {
      newId = tokens.length;
      tokens.push(merged);
      idOf.set(merged, newId);
    }
    merges.push([tokens[a], tokens[b]]);
    const affected = pairWords.get(bestKey) ?? new Set<number>();
    pairWords.delete(bestKey);
    for (const w of affected) {
      addPairs(w, -1);
      const symbols = words[w];
      const next: number[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i] === a && symbols[i + 1] === b) {
          next.push(newId);
          i++;
        } else {
          next.push(symbols[i]);
        }
      }
      words[w] = next;
      addPairs(w, 1);
    }
    pairCount.delete(bestKey);
    // drop dead pairs so the scan for the best stays proportional to live ones
    for (const [k, c] of pairCount) if (c <= 0) pairCount.delete(k);
  }

  const vocab = new Map<string, number>(tokens.map((t, i) => [t, i]));
  return { vocab, merges, json: tokenizerJson(vocab, merges, specials, options.bosToken ?? null) };
}

function tokenizerJson(
  vocab: Map<string, number>,
  merges: [string, string][],
  specials: string[],
  bos: string | null,
): Record<string, unknown> {
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const postProcessor =
    bos === null
      ? { ...byteLevel, trim_offsets: false }
      : {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
          pair: [
            { SpecialToken: { id: bos, type_id: 0 } },
            { Sequence: { id: 'A', type_id: 0 } },
            { SpecialToken: { id: bos, type_id: 1 } },
            { Sequence: { id: 'B', type_id: 1 } },
          ],
          special_tokens: { [bos]: { id: bos, ids: [vocab.get(bos)!], tokens: [bos] } },
        };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((content) => ({
      id: vocab.get(content)!,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: postProcessor,
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(vocab),
      merges,
    },
  };
}
