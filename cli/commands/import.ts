// `hone import FILE [--format F] --out OUT.jsonl`: reads a dataset file as a byte stream decoded
// by the studio's own strict decoder (src/core/data/decode.ts: UTF-8, or UTF-16 by its BOM; bad
// bytes refused with their line), imports it, and only when there are no errors writes the
// records in Hone's shape, one per line. The
// output goes to a temporary file beside OUT that is renamed into place once complete, so OUT is
// either the whole dataset or untouched — never a partial file.
import { createReadStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { UsageError } from '../args';
import { decodeChunks, DECODE_CHUNK_BYTES, UndecodableTextError } from '../../src/core/data/decode';
import { exportLines } from '../../src/core/data/export';
import { importText } from '../../src/core/data/import';
import { TEXT_FORMATS, type TextFormatName } from '../../src/core/data/importers/types';
import type { ImportError } from '../../src/core/data/record';

/** Lines are written in batches of about this many characters: few syscalls, bounded memory. */
const WRITE_BATCH_CHARS = 1 << 20;

export async function importCommand(args: { file: string; format?: string; out: string }): Promise<{ format: string; records: number; errors: ImportError[] }> {
  const format = args.format ?? 'auto';
  if (format !== 'auto' && !(TEXT_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--format must be auto or one of ${TEXT_FORMATS.join(', ')}, got "${format}"`);
  }
  // bytes, not a 'utf8' stream: Node's decoder would turn bad bytes into U+FFFD without a word
  const stream = createReadStream(args.file, { highWaterMark: DECODE_CHUNK_BYTES });
  let result;
  try {
    const text = decodeChunks(stream as AsyncIterable<Buffer>);
    result = await importText(text, { format: format as TextFormatName | 'auto', fileName: basename(args.file) });
  } catch (error) {
    if (error instanceof UndecodableTextError) return { format: 'unknown', records: 0, errors: [error.error] };
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`cannot read ${args.file}: no such file`);
    if (code === 'EISDIR') throw new Error(`cannot read ${args.file}: it is a directory, not a dataset file`);
    throw error;
  } finally {
    stream.destroy();
  }
  if (result.errors.length > 0) return { format: result.format, records: 0, errors: result.errors };

  const temporary = `${args.out}.partial-${process.pid}`;
  const handle = await open(temporary, 'w');
  try {
    let batch: string[] = [];
    let size = 0;
    for (const line of exportLines(result.records, 'hone')) {
      batch.push(line, '\n');
      size += line.length + 1;
      if (size >= WRITE_BATCH_CHARS) {
        await handle.write(batch.join(''));
        batch = [];
        size = 0;
      }
    }
    if (batch.length > 0) await handle.write(batch.join(''));
    await handle.close();
    await rename(temporary, args.out);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw error;
  }
  return { format: result.format, records: result.records.length, errors: [] };
}
