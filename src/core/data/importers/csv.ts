// CSV and TSV (RFC 4180): fields separated by a delimiter, rows by LF or CRLF; a field wrapped in
// double quotes may hold delimiters, newlines and doubled quotes (""). The first row is the header.
// Parsing is a character state machine over the streamed chunks, so a quoted field spanning many
// chunks (or 10 MB) is gathered as pieces and joined once. Line breaks inside quoted fields are
// normalised to \n so a CRLF file and an LF file give the same records.
// A quote inside an unquoted field is kept literally (as Python's csv module does): TSV files
// written without quoting often contain them.
import { importError, previewValue, SPLITS, validateRecord, type ImportError, type InstructionRecord, type Split } from '../record';
import { prepend, withoutBom } from './lines';
import type { ColumnMapping, Importer, ParseItem, ParseOptions } from './types';

const QUOTE = 34, LF = 10, CR = 13;

interface Row {
  cells: string[];
  /** the line the row starts on */
  line: number;
}

type RowItem = Row | { error: ImportError };

/** Picks tab or comma from the header line: whichever appears more often. */
async function sniffDelimiter(chunks: AsyncIterable<string>): Promise<{ delimiter: ',' | '\t'; chunks: AsyncIterable<string> }> {
  const iterator = chunks[Symbol.asyncIterator]();
  const head: string[] = [];
  let headerLine = '';
  for (;;) {
    const next = await iterator.next();
    if (next.done) break;
    head.push(next.value);
    const newline = next.value.indexOf('\n');
    if (newline !== -1 || head.length > 64) {
      headerLine = head.join('').split('\n', 1)[0];
      break;
    }
  }
  if (headerLine === '') headerLine = head.join('');
  const tabs = headerLine.split('\t').length - 1;
  const commas = headerLine.split(',').length - 1;
  return { delimiter: tabs > commas ? '\t' : ',', chunks: prepend(head, iterator) };
}

/** A line holding nothing but whitespace is skipped, not read as a one-column row. */
const isBlank = (cells: string[], quoted: boolean) => cells.length === 1 && !quoted && cells[0].trim() === '';

export async function* csvRows(chunks: AsyncIterable<string>, delimiter: ',' | '\t'): AsyncGenerator<RowItem> {
  const delim = delimiter.charCodeAt(0);
  let cells: string[] = [];
  let pieces: string[] = [];
  let line = 1;
  let rowLine = 1;
  let quoteLine = 0;
  let inQuotes = false; // inside a quoted field
  let quoteClosed = false; // just after a quoted field's closing quote
  let quoted = false; // the current field was quoted
  let afterCR = false; // the previous character ended a row with \r; a following \n belongs to it
  let skipping = false; // dropping the rest of a malformed row
  let fieldStart = 0;

  const endField = (chunk: string, end: number) => {
    if (end > fieldStart) pieces.push(chunk.slice(fieldStart, end));
    let value = pieces.length === 1 ? pieces[0] : pieces.join('');
    if (quoted && value.includes('\r')) value = value.replace(/\r\n?/g, '\n');
    cells.push(value);
    pieces = [];
    quoted = false;
  };

  for await (const chunk of chunks) {
    fieldStart = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (skipping) {
        if (c === LF) {
          skipping = false;
          line++;
          rowLine = line;
          fieldStart = i + 1;
        }
        continue;
      }
      if (afterCR) {
        afterCR = false;
        if (c === LF) {
          fieldStart = i + 1;
          continue;
        }
      }
      if (inQuotes) {
        if (c === QUOTE) {
          if (i > fieldStart) pieces.push(chunk.slice(fieldStart, i));
          inQuotes = false;
          quoteClosed = true;
          fieldStart = i + 1;
        } else if (c === LF) line++;
        continue;
      }
      if (quoteClosed) {
        quoteClosed = false;
        if (c === QUOTE) {
          // "" inside a quoted field: one literal quote, and the field goes on
          inQuotes = true;
          fieldStart = i;
          continue;
        }
        if (c !== delim && c !== LF && c !== CR) {
          yield { error: importError({ line }, undefined, `column ${cells.length + 1}: text after a closing quote; a quote inside a quoted field must be doubled ("")`) };
          // skip the rest of this row: its cells can no longer be trusted
          cells = [];
          pieces = [];
          quoted = false;
          skipping = true;
          continue;
        }
      }
      if (c === delim) {
        endField(chunk, i);
        fieldStart = i + 1;
      } else if (c === LF || c === CR) {
        const wasQuoted = quoted;
        endField(chunk, i);
        if (!isBlank(cells, wasQuoted)) yield { cells, line: rowLine };
        cells = [];
        afterCR = c === CR;
        line++;
        rowLine = line;
        fieldStart = i + 1;
      } else if (c === QUOTE && i === fieldStart && pieces.length === 0 && !quoted) {
        inQuotes = true;
        quoted = true;
        quoteLine = line;
        fieldStart = i + 1;
      }
    }
    if (!skipping && fieldStart < chunk.length) pieces.push(chunk.slice(fieldStart));
  }
  if (inQuotes) {
    yield { error: importError({ line: quoteLine }, undefined, `the quoted field in column ${cells.length + 1} never closes: the file ends inside it (missing closing quote?)`) };
    return;
  }
  if (!skipping && (pieces.length > 0 || cells.length > 0 || quoted)) {
    const wasQuoted = quoted;
    endField('', 0);
    if (!isBlank(cells, wasQuoted)) yield { cells, line: rowLine };
  }
}

/** Without a mapping, a header that names Hone's (or Alpaca's/Dolly's) fields maps itself. */
function defaultMapping(header: string[]): ColumnMapping | undefined {
  if (!header.includes('instruction')) return undefined;
  const pick = (...names: string[]) => names.find((n) => header.includes(n));
  const mapping: ColumnMapping = { instruction: 'instruction' };
  const guesses: [keyof ColumnMapping, string | undefined][] = [
    ['context', pick('context', 'input')], ['output', pick('output', 'response')], ['task', pick('task', 'category')],
    ['cluster', pick('cluster')], ['split', pick('split')], ['source', pick('source')], ['tags', pick('tags')],
  ];
  for (const [field, column] of guesses) if (column) mapping[field] = column;
  return mapping;
}

function rowRecord(cells: string[], columns: [keyof ColumnMapping, number][], line: number): InstructionRecord | ImportError[] {
  const record: Record<string, unknown> = { instruction: '' };
  for (const [field, index] of columns) {
    const cell = cells[index];
    if (field === 'instruction') record.instruction = cell;
    else if (cell === '') continue;
    else if (field === 'tags') {
      const tags = cell.split(',').map((t) => t.trim()).filter((t) => t !== '');
      if (tags.length > 0) record.tags = tags;
    } else if (field === 'split' && !SPLITS.includes(cell as Split)) {
      return [importError({ line }, 'split', `expected one of ${SPLITS.join(', ')}, got ${previewValue(cell)}`)];
    } else record[field] = cell;
  }
  const errors = validateRecord(record, { line });
  return errors.length > 0 ? errors : (record as unknown as InstructionRecord);
}

export const csvImporter: Importer = {
  format: 'csv',
  async *parse(chunks: AsyncIterable<string>, opts: ParseOptions = {}): AsyncGenerator<ParseItem> {
    let input: AsyncIterable<string> = withoutBom(chunks);
    let delimiter = opts.delimiter;
    if (!delimiter) ({ delimiter, chunks: input } = await sniffDelimiter(input));
    let header: string[] | undefined;
    let columns: [keyof ColumnMapping, number][] = [];
    for await (const row of csvRows(input, delimiter)) {
      if ('error' in row) {
        yield row;
        continue;
      }
      if (!header) {
        header = row.cells.map((h) => h.trim());
        const mapping = opts.mapping ?? defaultMapping(header);
        const known = header.map((h) => JSON.stringify(h)).join(', ');
        if (!mapping) {
          yield { error: importError({ line: row.line }, undefined, `no column mapping was given and the header has no "instruction" column (columns: ${known}); map columns to fields, e.g. { instruction: ${JSON.stringify(header[0] ?? 'prompt')}, output: … }`) };
          return;
        }
        let missing = false;
        for (const [field, column] of Object.entries(mapping) as [keyof ColumnMapping, string | undefined][]) {
          if (column === undefined) continue;
          const index = header.indexOf(column);
          if (index === -1) {
            missing = true;
            yield { error: importError({ line: row.line }, column, `is mapped to "${field}" but is not a column of the header (columns: ${known})`) };
          } else columns.push([field, index]);
        }
        if (missing) return;
        continue;
      }
      if (row.cells.length !== header.length) {
        yield { error: importError({ line: row.line }, undefined, `the row has ${row.cells.length} fields but the header has ${header.length}`) };
        continue;
      }
      const result = rowRecord(row.cells, columns, row.line);
      if (Array.isArray(result)) for (const error of result) yield { error };
      else yield { record: result };
    }
  },
};
