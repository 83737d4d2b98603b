// Importing a dataset file (or a Hub dataset) into the store: bytes → streamed UTF-8 chunks →
// importer → one createDataset transaction. All records are stored or none: any problem in the
// data comes back as located errors before anything is written, and the write itself is one
// transaction. Runs in the studio worker (and in Node tests); it yields to the event loop every
// few tens of milliseconds so a cancel message can arrive while a large file is parsed.
import { createDataset, type DatasetRecord, type ExampleInput, type HoneDb } from '../../store';
import { importHfDataset, importText, type ImportResult } from '../import';
import { csvRows } from '../importers/csv';
import type { HfViewerOptions } from '../importers/hf-viewer';
import type { ColumnMapping, FormatName, TextFormatName } from '../importers/types';
import { formatImportError, importError, type ImportError, type InstructionRecord } from '../record';

export interface DatasetFile {
  name: string;
  /** a File (or Blob) is read as a stream: neither the page nor the worker holds the whole file */
  bytes: ArrayBuffer | Uint8Array | Blob;
}

export interface ImportProgress {
  /** reading: bytes parsed of the file (or rows of a Hub split); saving: records being written */
  stage: 'reading' | 'saving';
  done: number;
  total: number;
}

export interface DatasetImportOptions {
  /** 'auto' (default) detects from the file's start and name */
  format?: TextFormatName | 'auto';
  /** the dataset's name; default: the file name without its extension */
  name?: string;
  /** CSV/TSV: which column holds which field */
  mapping?: ColumnMapping;
  signal?: AbortSignal;
  onProgress?: (progress: ImportProgress) => void;
}

/** Either the stored dataset, or why nothing was stored. Errors are returned, not thrown, so
 *  their line/record/field survive the trip through comlink (which keeps only an Error's message). */
export type DatasetImportOutcome =
  | { status: 'imported'; format: FormatName; dataset: DatasetRecord }
  | { status: 'invalid'; format: FormatName | 'unknown'; errors: ImportError[]; message: string }
  | { status: 'cancelled' };

/** Bytes decoded per step: big enough that per-chunk overhead vanishes, small enough for smooth progress. */
const CHUNK_BYTES = 1 << 20;
/** How long parsing may run before letting the event loop deliver messages (a cancel) again. */
const YIELD_EVERY_MS = 40;

const macrotask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Offset of the first byte that breaks UTF-8 in bytes[from, to), or -1 when the range is valid
 *  (a sequence cut off at `to` counts as valid: the next chunk completes it). */
export function firstInvalidUtf8(bytes: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to; ) {
    const b = bytes[i];
    const length = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    if (length === 0) return i;
    for (let k = 1; k < length; k++) {
      if (i + k >= to) return -1;
      const c = bytes[i + k];
      if ((c & 0xc0) !== 0x80) return i;
      // overlong 3-byte, surrogates, overlong 4-byte and > U+10FFFF are invalid second bytes
      if (k === 1 && ((b === 0xe0 && c < 0xa0) || (b === 0xed && c > 0x9f) || (b === 0xf0 && c < 0x90) || (b === 0xf4 && c > 0x8f))) return i;
    }
    i += length;
  }
  return -1;
}

function countNewlines(bytes: Uint8Array, from: number, to: number): number {
  let count = 0;
  for (let i = bytes.indexOf(10, from); i !== -1 && i < to; i = bytes.indexOf(10, i + 1)) count++;
  return count;
}

/** Bytes of `chunk` from where its last character starts, if that character is cut off at the end. */
function incompleteTail(chunk: Uint8Array): Uint8Array {
  for (let back = 1; back <= Math.min(3, chunk.length); back++) {
    const b = chunk[chunk.length - back];
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: the lead is further back
    const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return length > back ? chunk.subarray(chunk.length - back) : new Uint8Array(0);
  }
  return new Uint8Array(0);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

class NotUtf8Error extends Error {
  constructor(readonly error: ImportError) {
    super(error.message);
  }
}

/** A file's bytes as ~1 MB pieces: slices of a buffer, or a Blob's (File's) stream, which never
 *  holds the whole file in memory. */
export async function* byteChunks(source: ArrayBuffer | Uint8Array | Blob, chunkBytes = CHUNK_BYTES): AsyncGenerator<Uint8Array> {
  if (source instanceof Blob) {
    const reader = source.stream().getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        if (value.length > 0) yield value;
      }
    } finally {
      reader.releaseLock();
    }
  }
  const bytes = source instanceof Uint8Array ? source : new Uint8Array(source);
  for (let start = 0; start < bytes.length; start += chunkBytes) yield bytes.subarray(start, Math.min(bytes.length, start + chunkBytes));
}

/** The file's text in pieces, decoded strictly: a file that is not UTF-8 is refused with the line
 *  of its first bad byte rather than imported with replacement characters. Progress is reported
 *  at most once per megabyte, and the event loop gets a turn every few tens of milliseconds. */
export async function* decodeChunks(
  chunks: AsyncIterable<Uint8Array>,
  opts: { signal?: AbortSignal; onBytes?: (done: number) => void } = {},
): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let done = 0;
  let reported = 0;
  let newlines = 0;
  let carry: Uint8Array = new Uint8Array(0); // the previous chunk's cut-off last character, for locating errors
  let lastYield = Date.now();
  for await (const chunk of chunks) {
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      const joined = concat(carry, chunk);
      const bad = firstInvalidUtf8(joined, 0, joined.length);
      const at = bad === -1 ? joined.length : bad; // -1: the chunk ends in the bad sequence
      const line = newlines - countNewlines(carry, 0, carry.length) + countNewlines(joined, 0, at) + 1;
      const byte = done - carry.length + at + 1;
      throw new NotUtf8Error(importError({ line }, undefined, `byte ${byte} is not valid UTF-8 text; save the file as UTF-8 and import it again`));
    }
    done += chunk.length;
    newlines += countNewlines(chunk, 0, chunk.length);
    // a character may span several tiny chunks: look back through the previous carry too
    carry = incompleteTail(chunk.length >= 4 ? chunk : concat(carry, chunk));
    if (text !== '') yield text;
    if (done - reported >= CHUNK_BYTES) {
      reported = done;
      opts.onBytes?.(done);
    }
    if (Date.now() - lastYield > YIELD_EVERY_MS) {
      await macrotask();
      lastYield = Date.now();
    }
    opts.signal?.throwIfAborted();
  }
  let rest: string;
  try {
    rest = decoder.decode();
  } catch {
    throw new NotUtf8Error(
      importError({ line: newlines + 1 }, undefined, `the file ends in the middle of a UTF-8 character (byte ${done - carry.length + 1}); save the file as UTF-8 and import it again`),
    );
  }
  if (rest !== '') yield rest;
  if (done !== reported) opts.onBytes?.(done);
}

function baseName(fileName: string): string {
  const base = fileName.split(/[\\/]/).pop() ?? fileName;
  return base.replace(/\.(jsonl|json|csv|tsv|tab|txt|text|md)$/i, '') || base;
}

/** One line for people: the first few errors in full, then how many more. */
export function summarizeErrors(errors: readonly ImportError[], what: string): string {
  const shown = errors.slice(0, 5).map(formatImportError);
  const more = errors.length > shown.length ? `; and ${errors.length - shown.length} more` : '';
  return `Nothing was imported from ${what}: ${shown.join('; ')}${more}`;
}

function isAbort(error: unknown, signal?: AbortSignal): boolean {
  return signal?.aborted === true || (error as { name?: unknown } | null)?.name === 'AbortError';
}

/** Records as the store takes them; the importers already produce exactly the stored fields. */
function toExamples(records: InstructionRecord[]): ExampleInput[] {
  return records;
}

async function store(
  db: HoneDb,
  result: ImportResult<FormatName | 'unknown'>,
  meta: { name: string; source: string },
  opts: { signal?: AbortSignal; onProgress?: (progress: ImportProgress) => void },
): Promise<DatasetImportOutcome> {
  if (result.errors.length > 0 || result.format === 'unknown') {
    return { status: 'invalid', format: result.format, errors: result.errors, message: summarizeErrors(result.errors, meta.source) };
  }
  // last moment a cancel can take effect: once the transaction is queued it commits or fails whole
  if (opts.signal?.aborted) return { status: 'cancelled' };
  const total = result.records.length;
  opts.onProgress?.({ stage: 'saving', done: 0, total });
  const dataset = await createDataset(db, meta, toExamples(result.records));
  opts.onProgress?.({ stage: 'saving', done: total, total });
  return { status: 'imported', format: result.format, dataset };
}

/**
 * Parses a dataset file and stores it as one new dataset with all its records, or stores nothing.
 * Data problems come back as `invalid` with every error located; cancelling (through `signal`)
 * gives `cancelled`; a storage failure (quota) is thrown, after the transaction rolled back.
 */
export async function importDatasetFile(db: HoneDb, file: DatasetFile, opts: DatasetImportOptions = {}): Promise<DatasetImportOutcome> {
  const total = file.bytes instanceof Blob ? file.bytes.size : file.bytes.byteLength;
  let result: ImportResult;
  try {
    opts.signal?.throwIfAborted();
    const chunks = decodeChunks(byteChunks(file.bytes), { signal: opts.signal, onBytes: (done) => opts.onProgress?.({ stage: 'reading', done, total }) });
    result = await importText(chunks, { format: opts.format ?? 'auto', fileName: file.name, mapping: opts.mapping, signal: opts.signal });
  } catch (error) {
    if (error instanceof NotUtf8Error) {
      return { status: 'invalid', format: 'unknown', errors: [error.error], message: summarizeErrors([error.error], file.name) };
    }
    if (isAbort(error, opts.signal)) return { status: 'cancelled' };
    throw error;
  }
  const name = opts.name?.trim() || baseName(file.name);
  try {
    return await store(db, result, { name, source: `file ${file.name}${result.format === 'unknown' ? '' : ` (${result.format})`}` }, opts);
  } catch (error) {
    if (isAbort(error, opts.signal)) return { status: 'cancelled' };
    throw error;
  }
}

export interface HubImportOptions extends Pick<HfViewerOptions, 'dataset' | 'config' | 'split' | 'maxRows' | 'baseUrl' | 'fetch' | 'pageSize'> {
  /** the dataset's name in Hone; default: the Hub id */
  name?: string;
  signal?: AbortSignal;
  onProgress?: (progress: ImportProgress) => void;
}

/** Imports one split of a Hugging Face Hub dataset through the dataset viewer API, all or nothing. */
export async function importHubDataset(db: HoneDb, opts: HubImportOptions): Promise<DatasetImportOutcome> {
  let result: ImportResult<'hf-viewer'>;
  try {
    result = await importHfDataset({
      ...opts,
      onRows: (done, total) => opts.onProgress?.({ stage: 'reading', done, total: opts.maxRows === undefined ? total : Math.min(total, opts.maxRows) }),
    });
  } catch (error) {
    if (isAbort(error, opts.signal)) return { status: 'cancelled' };
    throw error;
  }
  const where = [opts.dataset, opts.config, opts.split].filter(Boolean).join(' / ');
  try {
    return await store(db, result, { name: opts.name?.trim() || opts.dataset, source: `Hugging Face Hub ${where}` }, opts);
  } catch (error) {
    if (isAbort(error, opts.signal)) return { status: 'cancelled' };
    throw error;
  }
}

export interface CsvPreview {
  delimiter: ',' | '\t';
  /** the header row's column names */
  columns: string[];
  /** up to five data rows, for showing what each column holds */
  rows: string[][];
  /** a mapping guessed from the column names; `instruction` is absent when no column looks like one */
  mapping: Partial<ColumnMapping>;
}

/** Column names people give each field, most specific first. */
const COLUMN_GUESSES: [keyof ColumnMapping, string[]][] = [
  ['instruction', ['instruction', 'prompt', 'question', 'query']],
  ['context', ['context', 'input']],
  ['output', ['output', 'response', 'answer', 'completion', 'target']],
  ['task', ['task', 'category']],
  ['cluster', ['cluster', 'task cluster', 'task_cluster']],
  ['split', ['split']],
  ['source', ['source']],
  ['tags', ['tags']],
];

export function guessMapping(columns: readonly string[]): Partial<ColumnMapping> {
  const lower = columns.map((c) => c.trim().toLowerCase());
  const used = new Set<number>();
  const mapping: Partial<ColumnMapping> = {};
  for (const [field, names] of COLUMN_GUESSES) {
    const index = names.map((n) => lower.indexOf(n)).find((i) => i !== -1 && !used.has(i));
    if (index !== undefined) {
      mapping[field] = columns[index];
      used.add(index);
    }
  }
  return mapping;
}

/** Reads the header and first rows of a CSV/TSV file (only its first 1 MB) for the mapping step. */
export async function previewCsvColumns(file: DatasetFile): Promise<CsvPreview> {
  const source = file.bytes;
  const size = source instanceof Blob ? source.size : source.byteLength;
  const sliceEnd = Math.min(size, CHUNK_BYTES);
  const head = source instanceof Blob ? new Uint8Array(await source.slice(0, sliceEnd).arrayBuffer()) : new Uint8Array(source instanceof Uint8Array ? source.buffer : source, source instanceof Uint8Array ? source.byteOffset : 0, sliceEnd);
  const text = new TextDecoder('utf-8').decode(head).replace(/^\uFEFF/, '');
  const firstLine = text.split('\n', 1)[0];
  const delimiter = firstLine.split('\t').length > firstLine.split(',').length ? '\t' : ',';
  async function* once() {
    yield text;
  }
  const rows: string[][] = [];
  for await (const row of csvRows(once(), delimiter)) {
    if ('error' in row) {
      if (rows.length === 0) throw new Error(`${file.name}: ${formatImportError(row.error)}`);
      break;
    }
    rows.push(row.cells);
    if (rows.length > 6) break;
  }
  // the slice may cut the last row short; keep only rows known to be whole
  if (sliceEnd < size && rows.length <= 6) rows.pop();
  if (rows.length === 0) throw new Error(`${file.name} has no header row: the file is empty`);
  const columns = rows[0].map((c) => c.trim());
  return { delimiter, columns, rows: rows.slice(1, 6), mapping: guessMapping(columns) };
}
