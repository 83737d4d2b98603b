// A dataset file's bytes → text, strictly, for the studio worker and the CLI alike. UTF-8 is the
// format; a byte-order mark selects UTF-16 (decoded) or UTF-32 (refused by name). Nothing is ever
// replaced with U+FFFD: a file that is not the text it claims to be is refused with the line and
// byte of the first problem, because importing replacement characters (or a UTF-16 file read as
// UTF-8: one "text" record full of NULs) would store a dataset nobody wrote.
import { importError, type ImportError } from './record';

/** Bytes decoded per step: big enough that per-chunk overhead vanishes, small enough for smooth progress. */
export const DECODE_CHUNK_BYTES = 1 << 20;
/** How long parsing may run before letting the event loop deliver messages (a cancel) again. */
const YIELD_EVERY_MS = 40;

const macrotask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** The file cannot be decoded as text; `error` is located (line, and the byte in the message). */
export class UndecodableTextError extends Error {
  override name = 'UndecodableTextError';
  constructor(readonly error: ImportError) {
    super(error.message);
  }
}

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

function countTextNewlines(text: string): number {
  let count = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) count++;
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

/** A file's bytes as ~1 MB pieces: slices of a buffer, or a Blob's (File's) stream, which never
 *  holds the whole file in memory. */
export async function* byteChunks(source: ArrayBuffer | Uint8Array | Blob, chunkBytes = DECODE_CHUNK_BYTES): AsyncGenerator<Uint8Array> {
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

export type TextEncodingName = 'utf-8' | 'utf-16le' | 'utf-16be';

const refuse = (message: string): UndecodableTextError => new UndecodableTextError(importError({ line: 1 }, undefined, message));

/**
 * The encoding the file's first bytes announce: a byte-order mark, or UTF-8. UTF-32 (which
 * TextDecoder cannot read) and BOM-less UTF-16 (every other byte of ASCII text is 0) are refused.
 */
export function sniffEncoding(head: Uint8Array): TextEncodingName {
  const [b0, b1, b2, b3] = head;
  if ((b0 === 0x00 && b1 === 0x00 && b2 === 0xfe && b3 === 0xff) || (b0 === 0xff && b1 === 0xfe && b2 === 0x00 && b3 === 0x00 && head.length >= 4)) {
    throw refuse(`the file is UTF-32 (${b0 === 0 ? 'big' : 'little'}-endian, by its byte-order mark), which Hone cannot read; save it as UTF-8 and import it again`);
  }
  if (b0 === 0xff && b1 === 0xfe) return 'utf-16le';
  if (b0 === 0xfe && b1 === 0xff) return 'utf-16be';
  if (head.length >= 4 && ((b0 !== 0 && b1 === 0 && b2 !== 0 && b3 === 0) || (b0 === 0 && b1 !== 0 && b2 === 0 && b3 !== 0))) {
    throw refuse('the file looks like UTF-16 without a byte-order mark (every other byte is 0); save it as UTF-8 and import it again');
  }
  return 'utf-8';
}

/** The first `count` bytes of a chunk stream (fewer if it ends), and the stream replayed whole. */
async function peek(chunks: AsyncIterable<Uint8Array>, count: number): Promise<{ head: Uint8Array; replay: AsyncGenerator<Uint8Array> }> {
  const iterator = chunks[Symbol.asyncIterator]();
  const seen: Uint8Array[] = [];
  let head: Uint8Array = new Uint8Array(0);
  let ended = false;
  while (head.length < count) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    seen.push(next.value);
    head = concat(head, next.value);
  }
  async function* replay(): AsyncGenerator<Uint8Array> {
    yield* seen;
    if (ended) return;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  }
  return { head: head.subarray(0, count), replay: replay() };
}

/** The file's text in pieces, decoded strictly: a file that is not UTF-8 (or UTF-16 by its BOM) is
 *  refused with the line of its first bad byte rather than imported with replacement characters.
 *  Progress is reported at most once per megabyte, and the event loop gets a turn every few tens
 *  of milliseconds. A byte-order mark is consumed, never part of the text. */
export async function* decodeChunks(
  chunks: AsyncIterable<Uint8Array>,
  opts: { signal?: AbortSignal; onBytes?: (done: number) => void } = {},
): AsyncGenerator<string> {
  const { head, replay } = await peek(chunks, 4);
  const encoding = sniffEncoding(head);
  const name = encoding === 'utf-8' ? 'UTF-8' : 'UTF-16';
  const decoder = new TextDecoder(encoding, { fatal: true });
  let done = 0;
  let reported = 0;
  let newlines = 0;
  let carry: Uint8Array = new Uint8Array(0); // UTF-8: the previous chunk's cut-off last character, for locating errors
  let lastYield = Date.now();
  for await (const chunk of replay) {
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      if (encoding !== 'utf-8') {
        // UTF-16's only error is an unpaired surrogate; the line is counted in decoded text
        throw new UndecodableTextError(
          importError({ line: newlines + 1 }, undefined, `bytes ${done + 1}–${done + chunk.length} hold an unpaired UTF-16 surrogate; the file is not valid ${name} text`),
        );
      }
      const joined = concat(carry, chunk);
      const bad = firstInvalidUtf8(joined, 0, joined.length);
      const at = bad === -1 ? joined.length : bad; // -1: the chunk ends in the bad sequence
      const line = newlines - countNewlines(carry, 0, carry.length) + countNewlines(joined, 0, at) + 1;
      const byte = done - carry.length + at + 1;
      throw new UndecodableTextError(importError({ line }, undefined, `byte ${byte} is not valid UTF-8 text; save the file as UTF-8 and import it again`));
    }
    done += chunk.length;
    if (encoding === 'utf-8') {
      newlines += countNewlines(chunk, 0, chunk.length);
      // a character may span several tiny chunks: look back through the previous carry too
      carry = incompleteTail(chunk.length >= 4 ? chunk : concat(carry, chunk));
    } else newlines += countTextNewlines(text);
    if (text !== '') yield text;
    if (done - reported >= DECODE_CHUNK_BYTES) {
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
    throw new UndecodableTextError(
      importError({ line: newlines + 1 }, undefined, `the file ends in the middle of a ${name} character (byte ${done - carry.length + 1}); save the file as UTF-8 and import it again`),
    );
  }
  if (rest !== '') yield rest;
  if (done !== reported) opts.onBytes?.(done);
}
