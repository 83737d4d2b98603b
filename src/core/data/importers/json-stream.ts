// JSON input for the record-per-object formats: either JSONL (one value per line) or a single JSON
// array. The array is not parsed whole: a small scanner finds where each top-level element starts
// and ends (tracking only strings, escapes and bracket depth) and hands that slice to JSON.parse,
// so memory stays bounded by the largest element and errors can name the element and its line.
import { importError, type ImportError, type RecordLocation } from '../record';
import { prepend, splitLines, withoutBom } from './lines';
import type { Converted, Importer, ParseItem, TextFormatName } from './types';

export type JsonItem = { value: unknown; where: RecordLocation } | { error: ImportError };

const NEWLINE = 10, CR = 13, SPACE = 32, TAB = 9, QUOTE = 34, BACKSLASH = 92;
const OPEN_BRACE = 123, CLOSE_BRACE = 125, OPEN_BRACKET = 91, CLOSE_BRACKET = 93, COMMA = 44;

const isSpace = (c: number) => c === SPACE || c === NEWLINE || c === CR || c === TAB;

/** Whether `text` stops inside a string, object or array: the mark of a cut-off file. V8's own
 *  message for this varies between versions ("Unexpected end…", "Unterminated string…"). */
function endsInsideValue(text: string): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return inString || depth > 0;
}

/** Turns a JSON.parse failure on `text` (which starts on `firstLine`) into a located, readable error. */
export function jsonSyntaxError(error: unknown, text: string, where: RecordLocation, firstLine: number): ImportError {
  const raw = error instanceof Error ? error.message : String(error);
  const truncated = endsInsideValue(text);
  const position = /at position (\d+)/.exec(raw);
  let line = firstLine;
  let offset = position && !truncated ? Number(position[1]) : text.length;
  if (offset > text.length) offset = text.length;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  const column = offset - (text.lastIndexOf('\n', offset - 1) + 1) + 1;
  const reason = truncated || /Unexpected end of JSON input/.test(raw)
    ? 'the JSON ends too early (is the file truncated?)'
    : `not valid JSON: ${raw.replace(/ in JSON at position \d+.*$/, '').slice(0, 200)}`;
  return importError({ ...where, line }, undefined, `${reason} (column ${column})`);
}

/** Parses a whole JSON document (an SNI task file), locating syntax errors by line and column. */
export function parseJsonDocument(text: string): { value: unknown } | { error: ImportError } {
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    return { error: jsonSyntaxError(error, text, {}, 1) };
  }
}

/** Yields each JSON value of a JSONL file or a top-level JSON array, decided by the first character. */
export async function* jsonValues(chunks: AsyncIterable<string>): AsyncGenerator<JsonItem> {
  const iterator = withoutBom(chunks)[Symbol.asyncIterator]();
  const head: string[] = [];
  let first = -1;
  while (first === -1) {
    const next = await iterator.next();
    if (next.done) return; // empty or blank input: no values
    head.push(next.value);
    for (let i = 0; i < next.value.length; i++) {
      if (!isSpace(next.value.charCodeAt(i))) {
        first = next.value.charCodeAt(i);
        break;
      }
    }
  }
  const all = prepend(head, iterator);
  yield* first === OPEN_BRACKET ? arrayValues(all) : jsonLines(all);
}

async function* jsonLines(chunks: AsyncIterable<string>): AsyncGenerator<JsonItem> {
  for await (const { text, line } of splitLines(chunks)) {
    if (text.trim() === '') continue;
    try {
      yield { value: JSON.parse(text), where: { line } };
    } catch (error) {
      const located = jsonSyntaxError(error, text, {}, line);
      located.message += '; JSONL needs one complete JSON object per line';
      yield { error: located };
    }
  }
}

// scanner states (plain numbers: the hot loop compares them per character)
const ExpectOpen = 0, ExpectFirstValue = 1, ExpectValue = 2, InValue = 3, ExpectComma = 4, Done = 5;

async function* arrayValues(chunks: AsyncIterable<string>): AsyncGenerator<JsonItem> {
  let state: number = ExpectOpen;
  let line = 1;
  let lineStart = 0; // absolute offset of the current line's first character
  let consumed = 0; // characters in earlier chunks
  let record = 0;
  // the element being scanned
  let pieces: string[] = [];
  let valueStart = 0;
  let valueLine = 0;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let primitive = false;

  const fatal = (offset: number, message: string): { error: ImportError } => ({
    error: importError({ line }, undefined, `${message} (column ${offset - lineStart + 1})`),
  });

  for await (const chunk of chunks) {
    const n = chunk.length;
    if (state === InValue) valueStart = 0;
    for (let i = 0; i < n; i++) {
      const c = chunk.charCodeAt(i);
      let end = -1;
      if (state === InValue) {
        if (inString) {
          if (escaped) escaped = false;
          else if (c === BACKSLASH) escaped = true;
          else if (c === QUOTE) {
            inString = false;
            if (depth === 0) end = i + 1;
          } else if (c === NEWLINE) {
            line++;
            lineStart = consumed + i + 1;
          }
        } else if (primitive) {
          if (c === COMMA || c === CLOSE_BRACKET || isSpace(c)) end = i; // this char is then read as punctuation below
        } else if (c === QUOTE) inString = true;
        else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
        else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
          if (--depth === 0) end = i + 1;
        } else if (c === NEWLINE) {
          line++;
          lineStart = consumed + i + 1;
        }
        if (end === -1) continue;
        let text = chunk.slice(valueStart, end);
        if (pieces.length > 0) {
          pieces.push(text);
          text = pieces.join('');
          pieces = [];
        }
        const where = { record, line: valueLine };
        record++;
        state = ExpectComma;
        try {
          yield { value: JSON.parse(text), where };
        } catch (error) {
          yield { error: jsonSyntaxError(error, text, where, valueLine) };
        }
        if (end === i + 1) continue;
      }
      if (c === NEWLINE) {
        line++;
        lineStart = consumed + i + 1;
        continue;
      }
      if (isSpace(c)) continue;
      const offset = consumed + i;
      switch (state) {
        case ExpectOpen:
          if (c !== OPEN_BRACKET) {
            yield fatal(offset, 'expected a JSON array starting with "["');
            return;
          }
          state = ExpectFirstValue;
          break;
        case ExpectFirstValue:
        case ExpectValue:
          if (c === CLOSE_BRACKET && state === ExpectFirstValue) {
            state = Done;
            break;
          }
          if (c === CLOSE_BRACKET || c === COMMA || c === CLOSE_BRACE) {
            yield fatal(offset, `expected record ${record} of the array, found "${String.fromCharCode(c)}"`);
            return;
          }
          state = InValue;
          valueStart = i;
          valueLine = line;
          depth = c === OPEN_BRACE || c === OPEN_BRACKET ? 1 : 0;
          inString = c === QUOTE;
          escaped = false;
          primitive = depth === 0 && !inString;
          break;
        case ExpectComma:
          if (c === COMMA) state = ExpectValue;
          else if (c === CLOSE_BRACKET) state = Done;
          else {
            yield fatal(offset, `expected "," or "]" after record ${record - 1}, found "${String.fromCharCode(c)}"`);
            return;
          }
          break;
        case Done:
          yield fatal(offset, 'unexpected text after the closing "]" of the array');
          return;
      }
    }
    if (state === InValue) pieces.push(valueStart === 0 ? chunk : chunk.slice(valueStart));
    consumed += n;
  }
  if (state === Done) return;
  const at = `(column ${consumed - lineStart + 1})`;
  const message =
    state === InValue
      ? `the file ends inside record ${record}, which starts on line ${valueLine}: the JSON is truncated ${at}`
      : `the file ends before the array's closing "]": the JSON is truncated ${at}`;
  yield { error: importError({ line }, undefined, message) };
}

/** An Importer for a format whose records are JSON objects, from a per-object converter. */
export function jsonImporter(format: TextFormatName, convert: (value: unknown, where: RecordLocation) => Converted): Importer {
  return {
    format,
    async *parse(chunks: AsyncIterable<string>): AsyncGenerator<ParseItem> {
      for await (const item of jsonValues(chunks)) {
        if ('error' in item) {
          yield item;
          continue;
        }
        const converted = convert(item.value, item.where);
        if ('record' in converted) yield converted;
        else for (const error of converted.errors) yield { error };
      }
    },
  };
}
