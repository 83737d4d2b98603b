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
import { byteChunks, decodeChunks, DECODE_CHUNK_BYTES, UndecodableTextError } from '../decode';
import { formatImportError, type ImportError, type InstructionRecord } from '../record';

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
    if (error instanceof UndecodableTextError) {
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

/** Reads the header and first rows of a CSV/TSV file (only its first DECODE_CHUNK_BYTES, 1 MB) for the mapping step. */
export async function previewCsvColumns(file: DatasetFile): Promise<CsvPreview> {
  const source = file.bytes;
  const size = source instanceof Blob ? source.size : source.byteLength;
  const sliceEnd = Math.min(size, DECODE_CHUNK_BYTES);
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
