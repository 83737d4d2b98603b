// Exact and near-duplicate records.
//
//   findDuplicates(records, { threshold?, shingleSize? }) → { exact, near, links }
//   findDuplicateTexts(texts, opts) → the same, over plain strings
//   jaccard(a, b, shingleSize?) → similarity of two texts' word-shingle sets
//   normalizeText(text), recordText(record), shingleHashes(text, shingleSize?)
//
// Exact: records whose instruction, context and output (or conversation turns) are equal after
// Unicode NFKC, lower-casing and collapsing whitespace.
// Near: Jaccard similarity ≥ threshold (default 0.8) between the sets of word 3-gram shingles
// (Broder's resemblance), computed directly for every candidate pair. Candidates come from prefix
// filtering (Bayardo, Ma & Srikant 2007, "Scaling up all pairs similarity search"; Xiao et al. 2008,
// PPJoin), which provably keeps every pair at or above the threshold, so the result is exact, not
// a MinHash estimate, and deterministic. Groups are connected components: if A≈B and B≈C, all
// three are one group even when A and C are less alike.
// Shingles are hashed to 32 bits (FNV-1a words, combined with a murmur3 finaliser); a collision
// between two different shingles is rare enough not to matter for a similarity threshold.

export interface DedupRecord {
  instruction: string;
  context?: string;
  output?: string;
  conversation?: readonly { role: string; content: string }[];
}

export interface DedupOptions {
  /** Jaccard similarity at or above which two records are near-duplicates; default 0.8 */
  threshold?: number;
  /** words per shingle; default 3: long enough that unrelated texts share few, short enough to see light edits */
  shingleSize?: number;
}

export interface DuplicateLink {
  a: number;
  b: number;
  similarity: number;
}

export interface DuplicateReport {
  /** groups of ≥ 2 indices with the same normalised text; each ascending, groups by first index */
  exact: number[][];
  /** groups of ≥ 2 indices linked by similarity ≥ threshold (exact duplicates included), same order */
  near: number[][];
  /** the verified pairs that joined each near group (a spanning forest), a < b, sorted */
  links: DuplicateLink[];
}

export function normalizeText(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}

/** A record's text as one string: conversation turns, or instruction, context and output, one per line. */
export function recordText(record: DedupRecord): string {
  if (record.conversation) return record.conversation.map((t) => `${t.role}: ${t.content}`).join('\n');
  return [record.instruction, record.context ?? '', record.output ?? ''].join('\n');
}

/** The record's fields, each normalised: joined by \u0000 they are its exact key, by \n its near-duplicate text. */
function normalizedParts(record: DedupRecord): string[] {
  if (record.conversation) return record.conversation.map((t) => `${t.role}: ${normalizeText(t.content)}`);
  return [record.instruction, record.context ?? '', record.output ?? ''].map(normalizeText);
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

const WORD = /[\p{L}\p{N}]+/gu;

/** Sorted, distinct 32-bit hashes of the text's word shingles; a text shorter than one shingle is one shingle. */
export function shingleHashes(text: string, shingleSize = 3): Uint32Array {
  return shinglesOfNormalized(normalizeText(text), shingleSize);
}

function shinglesOfNormalized(text: string, shingleSize: number): Uint32Array {
  const words = text.match(WORD) ?? [];
  if (words.length === 0) return new Uint32Array(0);
  const wordHashes = words.map(hashString);
  const count = Math.max(1, words.length - shingleSize + 1);
  const hashes = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    let h = shingleSize;
    for (let j = i; j < Math.min(i + shingleSize, words.length); j++) h = fmix32(Math.imul(h, 0x9e3779b1) ^ wordHashes[j]);
    hashes[i] = h;
  }
  hashes.sort();
  let distinct = 0;
  for (let i = 0; i < hashes.length; i++) if (i === 0 || hashes[i] !== hashes[i - 1]) hashes[distinct++] = hashes[i];
  return hashes.slice(0, distinct);
}

function jaccardSorted(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length === 0 && b.length === 0) return 1;
  let i = 0;
  let j = 0;
  let both = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) (both++, i++, j++);
    else if (a[i] < b[j]) i++;
    else j++;
  }
  return both / (a.length + b.length - both);
}

/** Jaccard similarity of the two texts' shingle sets (1 for two texts without words). */
export function jaccard(a: string, b: string, shingleSize = 3): number {
  return jaccardSorted(shingleHashes(a, shingleSize), shingleHashes(b, shingleSize));
}

class UnionFind {
  private readonly parent: Int32Array;
  constructor(n: number) {
    this.parent = Int32Array.from({ length: n }, (_, i) => i);
  }
  find(x: number): number {
    while (this.parent[x] !== x) x = this.parent[x] = this.parent[this.parent[x]];
    return x;
  }
  /** joins the two sets under the smaller root; false when already joined */
  union(a: number, b: number): boolean {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return false;
    if (ra < rb) this.parent[rb] = ra;
    else this.parent[ra] = rb;
    return true;
  }
}

function groupsOf(keys: Iterable<[number, number]>): number[][] {
  const byKey = new Map<number, number[]>();
  for (const [index, key] of keys) {
    const group = byKey.get(key);
    if (group) group.push(index);
    else byKey.set(key, [index]);
  }
  return [...byKey.values()].filter((g) => g.length > 1).sort((x, y) => x[0] - y[0]);
}

function checkOptions(opts: DedupOptions): Required<DedupOptions> {
  const threshold = opts.threshold ?? 0.8;
  const shingleSize = opts.shingleSize ?? 3;
  if (!(threshold > 0 && threshold <= 1)) throw new Error(`duplicates: threshold must be in (0, 1], got ${threshold}`);
  if (!Number.isInteger(shingleSize) || shingleSize < 1) throw new Error(`duplicates: shingleSize must be a whole number ≥ 1, got ${shingleSize}`);
  return { threshold, shingleSize };
}

function sameIds(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Every shingle hash replaced by a small integer id (sets re-sorted by id, so they still merge),
 * so the prefix index is an array rather than a map; plus how many sets hold each shingle.
 * An open-addressing table on typed arrays: a Map of a few million numbers was 10× slower.
 */
function shingleIds(sets: readonly Uint32Array[]): { ids: Int32Array[]; frequency: Int32Array } {
  let total = 0;
  for (const set of sets) total += set.length;
  let capacity = 1024;
  while (capacity < total * 2) capacity *= 2;
  const mask = capacity - 1;
  const slotHash = new Uint32Array(capacity);
  const slotId = new Int32Array(capacity).fill(-1);
  const frequency = new Int32Array(total);
  let distinct = 0;
  const ids = sets.map((set) => {
    const out = new Int32Array(set.length);
    for (let k = 0; k < set.length; k++) {
      const h = set[k];
      let slot = h & mask; // shingle hashes are already well mixed
      while (slotId[slot] !== -1 && slotHash[slot] !== h) slot = (slot + 1) & mask;
      if (slotId[slot] === -1) {
        slotHash[slot] = h;
        slotId[slot] = distinct++;
      }
      frequency[slotId[slot]]++;
      out[k] = slotId[slot];
    }
    return out.sort();
  });
  return { ids, frequency: frequency.subarray(0, distinct) };
}

/** Near-duplicate groups of already-normalised texts. */
function nearGroups(normalized: readonly string[], opts: Required<DedupOptions>): { near: number[][]; links: DuplicateLink[] } {
  const n = normalized.length;
  const { threshold } = opts;
  const { ids: sets, frequency } = shingleIds(normalized.map((t) => shinglesOfNormalized(t, opts.shingleSize)));
  const union = new UnionFind(n);
  const links: DuplicateLink[] = [];
  const link = (a: number, b: number, similarity: number) => {
    if (union.union(a, b)) links.push({ a: Math.min(a, b), b: Math.max(a, b), similarity });
  };

  // Identical shingle sets are joined directly and only one of them is compared further: a
  // thousand copies of one text would otherwise make half a million candidate pairs.
  const representatives: number[] = [];
  const byHash = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const set = sets[i];
    if (set.length === 0) continue; // no words: nothing to compare
    let h = set.length;
    for (let k = 0; k < set.length; k++) h = fmix32(Math.imul(h, 0x9e3779b1) ^ set[k]) | 0;
    const same = byHash.get(h);
    const first = same?.find((j) => sameIds(sets[j], set));
    if (first !== undefined) link(first, i, 1);
    else {
      if (same) same.push(i);
      else byHash.set(h, [i]);
      representatives.push(i);
    }
  }

  // Prefix filtering: order every set's shingles rarest first (one global order); two sets with
  // Jaccard ≥ t share at least ⌈t·|x|⌉ shingles, so they share one among x's first
  // |x| − ⌈t·|x|⌉ + 1. Sets are visited smallest first and only earlier sets with |y| ≥ t·|x| can match.
  representatives.sort((a, b) => sets[a].length - sets[b].length || a - b);
  let largest = 0;
  for (const i of representatives) largest = Math.max(largest, sets[i].length);
  const keys = new Float64Array(largest);
  const index: (number[] | undefined)[] = new Array(frequency.length);
  const seenBy = new Int32Array(n).fill(-1);
  for (const x of representatives) {
    const set = sets[x];
    const size = set.length;
    const minSize = threshold * size - 1e-9;
    // 1e-9: float products such as 0.8 × 5 must not round the needed overlap up and shorten the prefix
    const prefixLength = size - Math.ceil(threshold * size - 1e-9) + 1;
    const order = keys.subarray(0, size);
    // frequency × 2³² + id: rarest first, ties by id, with a plain numeric sort
    for (let k = 0; k < size; k++) order[k] = frequency[set[k]] * 4294967296 + set[k];
    order.sort();
    for (let k = 0; k < prefixLength; k++) {
      const list = index[order[k] % 4294967296];
      if (!list) continue;
      for (const y of list) {
        if (seenBy[y] === x || sets[y].length < minSize) continue;
        seenBy[y] = x;
        if (union.find(x) === union.find(y)) continue; // already one group; its pairs need no check
        const similarity = jaccardSorted(set, sets[y]);
        if (similarity >= threshold) link(x, y, similarity);
      }
    }
    for (let k = 0; k < prefixLength; k++) {
      const id = order[k] % 4294967296;
      const list = index[id];
      if (list) list.push(x);
      else index[id] = [x];
    }
  }
  const near = groupsOf(Array.from({ length: n }, (_, i): [number, number] => [i, union.find(i)]));
  links.sort((x, y) => x.a - y.a || x.b - y.b);
  return { near, links };
}

export function findDuplicates(records: readonly DedupRecord[], opts: DedupOptions = {}): DuplicateReport {
  const options = checkOptions(opts);
  const parts = records.map(normalizedParts);
  const keys = new Map<string, number>();
  const exact = groupsOf(
    parts.map((fields, i): [number, number] => {
      const key = fields.join('\u0000');
      if (!keys.has(key)) keys.set(key, keys.size);
      return [i, keys.get(key)!];
    }),
  );
  return { exact, ...nearGroups(parts.map((fields) => fields.join('\n')), options) };
}

export function findDuplicateTexts(texts: readonly string[], opts: DedupOptions = {}): DuplicateReport {
  const options = checkOptions(opts);
  const normalized = texts.map(normalizeText);
  const keys = new Map<string, number>();
  const exact = groupsOf(
    normalized.map((key, i): [number, number] => {
      if (!keys.has(key)) keys.set(key, keys.size);
      return [i, keys.get(key)!];
    }),
  );
  return { exact, ...nearGroups(normalized, options) };
}
