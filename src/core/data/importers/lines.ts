// Streaming helpers shared by the line-based importers. Chunks arrive already decoded (a Node
// `utf8` stream or a TextDecoderStream), so multi-byte characters are never split here; what is
// split is lines, and a long line is gathered as a list of pieces joined once, never by repeated
// `+=`, so a 10 MB line costs one copy.

const BOM = 0xfeff;

/** Removes a UTF-8 byte-order mark from the first non-empty chunk; it is not part of the data. */
export async function* withoutBom(chunks: AsyncIterable<string>): AsyncGenerator<string> {
  let first = true;
  for await (const chunk of chunks) {
    if (chunk.length === 0) continue;
    if (first) {
      first = false;
      yield chunk.charCodeAt(0) === BOM ? chunk.slice(1) : chunk;
    } else {
      yield chunk;
    }
  }
}

/** Replays chunks already read (to sniff the start of a file) ahead of the rest of the stream. */
export async function* prepend(head: string[], rest: AsyncIterator<string>): AsyncGenerator<string> {
  yield* head;
  for (;;) {
    const next = await rest.next();
    if (next.done) return;
    yield next.value;
  }
}

export interface Line {
  /** the line without its `\n` or `\r\n` */
  text: string;
  /** 1-based */
  line: number;
}

/** Splits decoded chunks into lines (LF or CRLF), numbering them from 1. A final line without a
 *  newline is still a line; an empty file has no lines. */
export async function* splitLines(chunks: AsyncIterable<string>): AsyncGenerator<Line> {
  let pending: string[] = [];
  let line = 1;
  for await (const chunk of withoutBom(chunks)) {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf('\n', start);
      if (newline === -1) break;
      let text = chunk.slice(start, newline);
      if (pending.length > 0) {
        pending.push(text);
        text = pending.join('');
        pending = [];
      }
      if (text.endsWith('\r')) text = text.slice(0, -1);
      yield { text, line: line++ };
      start = newline + 1;
    }
    if (start < chunk.length) pending.push(start === 0 ? chunk : chunk.slice(start));
  }
  if (pending.length > 0) {
    let text = pending.join('');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    yield { text, line };
  }
}

/** Reads all chunks into one string (for formats that are a single JSON document). */
export async function readAll(chunks: AsyncIterable<string>): Promise<string> {
  const parts: string[] = [];
  for await (const chunk of withoutBom(chunks)) parts.push(chunk);
  return parts.join('');
}

/** UTF-8 size of a string without encoding it, for byte-accurate progress on decoded chunks. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      bytes += 4; // a surrogate pair is one 4-byte character
      i++;
    } else bytes += 3;
  }
  return bytes;
}
