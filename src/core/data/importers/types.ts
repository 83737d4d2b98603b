// The contract every file importer meets: text chunks in (as a file stream or a fetch body decodes
// them), records or located errors out, one at a time, so memory is bounded by the largest record
// rather than the file.
import type { ImportError, InstructionRecord } from '../record';

/** Formats read from a file's text. */
export type TextFormatName = 'alpaca' | 'dolly' | 'sharegpt' | 'messages' | 'sni' | 'trl' | 'csv' | 'text' | 'hone';
/** Every source Hone imports from; `hf-viewer` reads the Hugging Face dataset viewer API, not a file. */
export type FormatName = TextFormatName | 'hf-viewer';

export const TEXT_FORMATS: readonly TextFormatName[] = ['alpaca', 'dolly', 'sharegpt', 'messages', 'sni', 'trl', 'csv', 'text', 'hone'];

/** CSV/TSV column names for each record field; only `instruction` is required. */
export interface ColumnMapping {
  instruction: string;
  context?: string;
  output?: string;
  task?: string;
  cluster?: string;
  /** cells must read train, validation or test */
  split?: string;
  source?: string;
  /** comma-separated tags within the cell */
  tags?: string;
}

export interface ParseOptions {
  /** csv: which column holds which field; without it the header must name `instruction` itself */
  mapping?: ColumnMapping;
  /** csv: field separator; by default sniffed from the header line (tab or comma) */
  delimiter?: ',' | '\t';
  /** sni: the task file's name (task001_quoref_question_generation.json) becomes each record's `task` */
  fileName?: string;
}

/** One parsed record, or one problem with the input. A record with several bad fields yields several errors. */
export type ParseItem = { record: InstructionRecord } | { error: ImportError };

export interface Importer {
  readonly format: TextFormatName;
  parse(chunks: AsyncIterable<string>, opts?: ParseOptions): AsyncGenerator<ParseItem>;
}

/** What a per-record converter returns: the record, or everything wrong with it. */
export type Converted = { record: InstructionRecord } | { errors: ImportError[] };
