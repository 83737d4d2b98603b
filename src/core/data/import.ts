// The import entry points the worker and the CLI call. They are atomic: the result holds either
// records and no errors, or errors and no records — a dataset with one bad line is not half
// imported, and the caller must store nothing when `errors` is non-empty. Parsing streams; only
// the records themselves are kept (and dropped as soon as the first error makes them useless).
import { detectFormat, FormatDetectionError } from './detect';
import { parseHfDataset, type HfViewerOptions } from './importers/hf-viewer';
import { prepend, utf8Length } from './importers/lines';
import { getImporter } from './importers/registry';
import { TEXT_FORMATS, type FormatName, type ParseItem, type ParseOptions, type TextFormatName } from './importers/types';
import type { ImportError, InstructionRecord } from './record';

export interface ImportOptions extends ParseOptions {
  /** default 'auto': detected from the first 16 KB and `fileName` */
  format?: TextFormatName | 'auto';
  /** stop reading after this many errors (default 100): past that, the file needs fixing, not a longer list */
  maxErrors?: number;
  /** UTF-8 bytes read so far, after each chunk */
  onProgress?: (bytes: number) => void;
  signal?: AbortSignal;
}

export interface ImportResult<F extends string = FormatName | 'unknown'> {
  format: F;
  records: InstructionRecord[];
  errors: ImportError[];
}

export const DEFAULT_MAX_ERRORS = 100;
/** Enough for the first record of any format, including a pretty-printed SNI header. */
const DETECTION_SAMPLE_CHARS = 16 * 1024;
/** A first line longer than the sample (a JSONL record with a huge field) is read whole up to
 *  this size, so its keys are parsed rather than guessed from the part before the big value. */
const DETECTION_MAX_FIRST_LINE = 16 * 1024 * 1024;

interface CollectOptions {
  maxErrors?: number;
  signal?: AbortSignal;
  /** what to say when nothing at all was found */
  emptyMessage: string;
}

/** Drains parsed items into the atomic result. */
export async function collect(items: AsyncIterable<ParseItem>, opts: CollectOptions): Promise<{ records: InstructionRecord[]; errors: ImportError[] }> {
  const maxErrors = opts.maxErrors ?? DEFAULT_MAX_ERRORS;
  let records: InstructionRecord[] = [];
  const errors: ImportError[] = [];
  let seenRecords = 0;
  for await (const item of items) {
    opts.signal?.throwIfAborted();
    if ('record' in item) {
      seenRecords++;
      if (errors.length === 0) records.push(item.record);
      continue;
    }
    errors.push(item.error);
    records = []; // nothing will be stored; free the memory now
    if (errors.length >= maxErrors) {
      errors.push({ message: `stopped after ${maxErrors} errors; the rest of the input was not checked` });
      break; // ends the parser, which closes the underlying stream
    }
  }
  if (seenRecords === 0 && errors.length === 0) errors.push({ message: opts.emptyMessage });
  return { records: errors.length > 0 ? [] : records, errors };
}

async function* counted(chunks: AsyncIterable<string>, opts: ImportOptions): AsyncGenerator<string> {
  let bytes = 0;
  for await (const chunk of chunks) {
    opts.signal?.throwIfAborted();
    if (opts.onProgress) {
      bytes += utf8Length(chunk);
      opts.onProgress(bytes);
    }
    yield chunk;
  }
}

async function* single(text: string): AsyncGenerator<string> {
  yield text;
}

/**
 * Imports a dataset from text chunks (a file stream decoded as UTF-8, or one string).
 * Rejects only when cancelled through `signal` (with the signal's reason); every problem with the
 * data itself comes back in `errors`, each naming its line or record and field.
 */
export async function importText(input: AsyncIterable<string> | string, opts: ImportOptions = {}): Promise<ImportResult> {
  opts.signal?.throwIfAborted();
  // a BOM is left for the importers (each strips it) and detectFormat, which ignores it
  let chunks: AsyncIterable<string> = counted(typeof input === 'string' ? single(input) : input, opts);
  let format: TextFormatName;
  const requested = opts.format ?? 'auto';
  if (requested === 'auto') {
    const iterator = chunks[Symbol.asyncIterator]();
    const head: string[] = [];
    let sampled = 0;
    let sawNewline = false;
    while (sampled < DETECTION_SAMPLE_CHARS || (!sawNewline && sampled < DETECTION_MAX_FIRST_LINE)) {
      const next = await iterator.next();
      if (next.done) break;
      head.push(next.value);
      sampled += next.value.length;
      sawNewline ||= next.value.includes('\n');
    }
    const sample = head.join('');
    if (sample.trim() === '') return { format: 'unknown', records: [], errors: [{ message: 'the file is empty: there is nothing to import' }] };
    try {
      format = detectFormat(sample, opts.fileName);
    } catch (error) {
      if (!(error instanceof FormatDetectionError)) throw error;
      await iterator.return?.();
      return { format: 'unknown', records: [], errors: [{ message: error.message }] };
    }
    chunks = prepend(head, iterator);
  } else if (TEXT_FORMATS.includes(requested)) {
    format = requested;
  } else {
    return { format: 'unknown', records: [], errors: [{ message: `unknown format "${String(requested)}" (known: auto, ${TEXT_FORMATS.join(', ')})` }] };
  }
  const items = getImporter(format).parse(chunks, opts);
  const { records, errors } = await collect(items, { ...opts, emptyMessage: 'no records found: the file is empty or holds only blank lines' });
  return { format, records, errors };
}

/** Imports one split of a Hub dataset through the dataset viewer API, with the same atomic result. */
export async function importHfDataset(opts: HfViewerOptions & { maxErrors?: number }): Promise<ImportResult<'hf-viewer'>> {
  opts.signal?.throwIfAborted();
  const { records, errors } = await collect(parseHfDataset(opts), { ...opts, emptyMessage: `the dataset "${opts.dataset}" has no rows` });
  return { format: 'hf-viewer', records, errors };
}
