// Guessing a dataset's format from its first few KB and its file name. The extension settles
// CSV/TSV and plain text; JSON is told apart by the keys of its first record, read by parsing the
// first JSONL line or array element when the sample holds it whole, else by scanning the sample
// for `"key":` (a pretty-printed SNI task or a record with a huge first field).
import type { TextFormatName } from './importers/types';
import { previewValue } from './record';

export type RecordShape = 'alpaca' | 'dolly' | 'sharegpt' | 'messages' | 'sni' | 'trl' | 'hone';

export class FormatDetectionError extends Error {
  override name = 'FormatDetectionError';
}

/** Fields only Hone's own record has (Alpaca calls the context `input`; Dolly has `response`). */
const HONE_ONLY = ['context', 'conversation', 'task', 'cluster', 'split', 'source', 'tags', 'negatives', 'outputs'];

/** Which record shape an object with these keys is, or null when none fits. Order matters: the
 *  most distinctive keys are tested first, so nested keys found by a sample scan do not mislead. */
export function shapeOfKeys(keys: Iterable<string>): RecordShape | null {
  const set = new Set(keys);
  const has = (key: string) => set.has(key);
  if (has('Definition') && (has('Instances') || has('Positive Examples') || has('Categories'))) return 'sni';
  if (has('conversations')) return 'sharegpt';
  if (has('messages')) return 'messages';
  // TRL's prompt-completion and language-modeling ("text") records (importers/trl.ts)
  if (has('prompt') && has('completion')) return 'trl';
  if (!has('instruction')) return has('text') ? 'trl' : null;
  if (has('response')) return 'dolly';
  if (!has('input') && HONE_ONLY.some(has)) return 'hone';
  return 'alpaca';
}

function extension(fileName: string | undefined): string {
  const match = fileName ? /\.([a-z0-9]+)$/i.exec(fileName) : null;
  return match ? match[1].toLowerCase() : '';
}

/** The first complete `{…}` starting at `from`, or undefined if the sample cuts it off. */
function firstObject(sample: string, from: number): string | undefined {
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (let i = from; i < sample.length; i++) {
    const c = sample[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if ((c === '}' || c === ']') && --depth === 0) return sample.slice(from, i + 1);
  }
  return undefined;
}

function parsedKeys(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Every `"key":` in the sample, in one left-to-right pass. (A regex with an alternation under a star
 * ran out of backtracking stack on a 16 MB first line: "Maximum call stack size exceeded".) A
 * string ends at its closing quote or at a newline; what follows it decides whether it was a key.
 */
function scannedKeys(sample: string): string[] {
  const keys: string[] = [];
  let i = sample.indexOf('"');
  while (i !== -1 && i < sample.length) {
    let end = i + 1;
    while (end < sample.length) {
      const c = sample.charCodeAt(end);
      if (c === 0x5c) end += 2; // backslash: skip the escaped character
      else if (c === 0x22 || c === 0x0a) break;
      else end++;
    }
    if (end >= sample.length) break;
    if (sample.charCodeAt(end) === 0x0a) {
      i = sample.indexOf('"', end + 1); // a newline inside a string: the sample cut a string, start over
      continue;
    }
    let next = end + 1;
    while (next < sample.length && /\s/.test(sample[next])) next++;
    if (sample[next] === ':') keys.push(sample.slice(i + 1, end));
    i = sample.indexOf('"', end + 1);
  }
  return keys;
}

function looksLikeCsvHeader(firstLine: string): boolean {
  const cells = firstLine.split(/[,\t]/).map((c) => c.trim().replace(/^"|"$/g, '').toLowerCase());
  return cells.length > 1 && cells.includes('instruction');
}

/**
 * The format of a file from a sample of its start (the first few KB) and its name.
 * Throws FormatDetectionError for JSON whose records match no known shape, naming the keys found,
 * because importing such a file as anything would be a guess.
 */
export function detectFormat(sample: string, fileName?: string): TextFormatName {
  const text = sample.charCodeAt(0) === 0xfeff ? sample.slice(1) : sample;
  const ext = extension(fileName);
  if (ext === 'csv' || ext === 'tsv' || ext === 'tab') return 'csv';
  if (ext === 'txt' || ext === 'text' || ext === 'md') return 'text';
  const start = text.length - text.trimStart().length;
  const first = text[start];
  if (first === '{' || first === '[') {
    let keys: string[] | undefined;
    if (first === '{') {
      const newline = text.indexOf('\n', start);
      keys = parsedKeys(newline === -1 ? text.slice(start) : text.slice(start, newline));
    } else {
      const objectStart = text.indexOf('{', start);
      keys = objectStart === -1 ? undefined : parsedKeys(firstObject(text, objectStart));
    }
    const found = keys ?? scannedKeys(text);
    const shape = shapeOfKeys(found);
    if (shape) return shape;
    const seen = [...new Set(found)].slice(0, 12).map((k) => previewValue(k, 40)).join(', ');
    throw new FormatDetectionError(
      `cannot tell which dataset format this JSON is: the first record has the keys ${seen || '(none)'}; ` +
        'Hone reads alpaca (instruction/input/output), dolly (instruction/context/response), sharegpt (conversations), ' +
        'messages (messages), sni (Definition/Instances), trl (prompt/completion, text) and hone records; choose the format explicitly',
    );
  }
  const newline = text.indexOf('\n');
  const firstLine = newline === -1 ? text : text.slice(0, newline);
  return looksLikeCsvHeader(firstLine) ? 'csv' : 'text';
}
