// Checks on a raw tokenizer.json before @huggingface/tokenizers sees it. The library trusts its
// input: it writes every token id into an array (an id of 1e9 makes a sparse array that
// get_vocab then walks for 54 s), dereferences fields without checking, and compiles the Split
// and Replace regexes as given (a pattern like `(a+)+$` takes exponential time on some texts).
// Everything here reads the JSON only, in time linear in its size, and throws TokenizerError
// naming tokenizer.json and the field path.
import { TokenizerError } from './errors';

export type Json = Record<string, unknown>;

const FILE = 'tokenizer.json';

/** No released tokenizer comes near this (Gemma's 262,144 is among the largest); a larger id is
 *  a broken or hostile file, and every id becomes an array slot in the library. */
export const MAX_TOKEN_ID = (1 << 22) - 1;

/** Sections whose nesting (Sequence inside Sequence) is walked; deeper than this is not a real file. */
const MAX_DEPTH = 32;

/** A JSON object: not null, not a list. */
export const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

const isId = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0;

/** The parts of tokenizer.json the library dereferences without checking. */
export function checkStructure(json: Json): void {
  const model = json['model'];
  if (!isObject(model)) throw new TokenizerError('is missing or not an object; this file does not describe a tokenizer', FILE, 'model');
  const type = model['type'];
  const known = ['BPE', 'WordPiece', 'Unigram'];
  if (type !== undefined && !known.includes(type as string)) {
    throw new TokenizerError(`model type ${JSON.stringify(type)} is not supported (supported: ${known.join(', ')})`, FILE, 'model.type');
  }
  if (type === 'Unigram' ? !Array.isArray(model['vocab']) : !isObject(model['vocab'])) {
    throw new TokenizerError(`is missing or malformed for a ${typeof type === 'string' ? type : 'tokenizer'} model`, FILE, 'model.vocab');
  }
  if (type === 'BPE' && !Array.isArray(model['merges'])) throw new TokenizerError('must be a list for a BPE model', FILE, 'model.merges');
  if (json['added_tokens'] !== undefined && !Array.isArray(json['added_tokens'])) {
    throw new TokenizerError('must be a list', FILE, 'added_tokens');
  }
}

/** A bounded preview of a token's text for messages (a token may be megabytes long). */
const preview = (token: string): string => JSON.stringify(token.length > 40 ? `${token.slice(0, 40)}…` : token);

/**
 * The vocabulary size from the raw JSON (largest id + 1, added tokens included), checking every id
 * is an integer no larger than MAX_TOKEN_ID, in one pass over the entries.
 */
export function vocabSizeOf(json: Json): number {
  const limit = MAX_TOKEN_ID + 1;
  const limitReason = `ids above ${MAX_TOKEN_ID.toLocaleString('en-US')} are not supported (no released tokenizer comes near that); the file is broken`;
  const model = json['model'] as Json;
  let size = 0;
  const check = (id: unknown, field: string, token: string): void => {
    if (!isId(id)) throw new TokenizerError(`token ${preview(token)} has the id ${JSON.stringify(id)}, which is not a non-negative integer`, FILE, field);
    if (id >= limit) throw new TokenizerError(`token ${preview(token)} has the id ${id}; ${limitReason}`, FILE, field);
    if (id + 1 > size) size = id + 1;
  };
  const vocab = model['vocab'];
  if (Array.isArray(vocab)) {
    // Unigram: [piece, score] pairs, ids are positions
    if (vocab.length > limit) throw new TokenizerError(`has ${vocab.length} pieces; ${limitReason}`, FILE, 'model.vocab');
    size = vocab.length;
  } else {
    for (const [token, id] of Object.entries(vocab as Json)) check(id, 'model.vocab', token);
  }
  const added = (json['added_tokens'] as unknown[] | undefined) ?? [];
  added.forEach((entry, i) => {
    if (!isObject(entry) || typeof entry['content'] !== 'string') {
      throw new TokenizerError('must be an object with a "content" string and an "id"', FILE, `added_tokens[${i}]`);
    }
    check(entry['id'], `added_tokens[${i}].id`, entry['content']);
  });
  return size;
}

// ---- regexes --------------------------------------------------------------------------------

/**
 * Why a regex can take exponential time, or null. The check is static and deliberately simple:
 * it refuses a quantified group that itself contains an unbounded quantifier — `(a+)+`, `(?:x*y)*`,
 * `(\w+\s?){2,}` — the "star height ≥ 2" shape behind nearly every catastrophic-backtracking
 * report. It does not see overlapping alternatives under one quantifier (`(a|a)*`); the released
 * pre-tokenizer regexes (GPT-2, GPT-4's cl100k, Llama 3, Qwen2) have neither shape and pass.
 */
export function backtrackingRisk(pattern: string): string | null {
  // one frame per open group: does its body hold an unbounded quantifier?
  const groups: boolean[] = [false];
  // the atom a quantifier would apply to: null (none), false (a plain atom), true (a group holding an unbounded repeat)
  let lastAtom: boolean | null = null;
  const braces = /\{(\d*)(,?)(\d*)\}/y; // sticky: matched in place, no slicing
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      i++;
      // \p{…}, \u{…}, \x{…}: skip the braces so they are not read as a quantifier
      if (/[pPux]/.test(pattern[i] ?? '') && pattern[i + 1] === '{') i = Math.max(i, pattern.indexOf('}', i));
      lastAtom = false;
    } else if (c === '[') {
      i++;
      if (pattern[i] === '^') i++;
      if (pattern[i] === ']') i++;
      for (; i < pattern.length && pattern[i] !== ']'; i++) if (pattern[i] === '\\') i++;
      lastAtom = false;
    } else if (c === '(') {
      groups.push(false);
      lastAtom = null;
      if (pattern[i + 1] === '?') i++; // (?: (?= (?! (?<= (?<! (?<name> (?i: — only the group matters
    } else if (c === ')') {
      const nested = groups.pop() ?? false;
      if (groups.length === 0) return null; // unbalanced: the regex engine reports it
      if (nested) groups[groups.length - 1] = true;
      lastAtom = nested;
    } else if (c === '*' || c === '+' || c === '?' || c === '{') {
      let unbounded = c === '*' || c === '+';
      let repeats = unbounded;
      let end = i;
      if (c === '{') {
        braces.lastIndex = i;
        const match = braces.exec(pattern);
        if (!match) {
          lastAtom = false; // a literal brace
          continue;
        }
        unbounded = match[2] === ',' && match[3] === '';
        repeats = unbounded || Number(match[2] === ',' ? match[3] : match[1]) >= 2;
        end = i + match[0].length - 1;
      }
      if (lastAtom === true && repeats) {
        return `the group before character ${i + 1} repeats a part that itself repeats without bound (${pattern.slice(Math.max(0, i - 30), end + 1)}); matching such a pattern can take exponential time`;
      }
      if (unbounded) groups[groups.length - 1] = true;
      i = end;
      if (pattern[i + 1] === '?' || pattern[i + 1] === '+') i++; // lazy / possessive marker
      lastAtom = null;
    } else {
      lastAtom = c === '|' ? null : false;
    }
  }
  return null;
}

/**
 * Walks the sections the library builds from (normalizer, pre_tokenizer, decoder, post_processor)
 * and refuses a regex pattern with catastrophic backtracking, or nesting deeper than any real file.
 */
export function checkPatterns(json: Json): void {
  const walk = (value: unknown, path: string, depth: number): void => {
    if (depth > MAX_DEPTH) throw new TokenizerError(`nests deeper than ${MAX_DEPTH} levels; no tokenizer needs that`, FILE, path);
    if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, `${path}[${i}]`, depth + 1));
      return;
    }
    if (!isObject(value)) return;
    const pattern = value['pattern'];
    if (isObject(pattern) && pattern['Regex'] !== undefined) {
      const regex = pattern['Regex'];
      if (typeof regex !== 'string') throw new TokenizerError('must be a string', FILE, `${path}.pattern.Regex`);
      const risk = backtrackingRisk(regex);
      if (risk !== null) throw new TokenizerError(`${risk}; Hone refuses it rather than hang while encoding`, FILE, `${path}.pattern.Regex`);
    }
    for (const [key, child] of Object.entries(value)) if (key !== 'pattern') walk(child, `${path}.${key}`, depth + 1);
  };
  for (const section of ['normalizer', 'pre_tokenizer', 'decoder', 'post_processor']) walk(json[section], section, 0);
}
