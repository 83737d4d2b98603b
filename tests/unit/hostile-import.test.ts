// Hostile dataset files (issue 12): invalid UTF-8 and UTF-16/32 through the CLI (which now decodes
// with the studio's own strict decoder), a first line over 16 MB with the format auto-detected,
// and 100,000-deep nesting in `role` or `split`. Each ends in a located error (or the right records,
// for UTF-16 with a BOM) within seconds, and the CLI writes nothing.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importCommand } from '../../cli/commands/import';
import { byteChunks, decodeChunks, sniffEncoding, UndecodableTextError } from '../../src/core/data/decode';
import { detectFormat } from '../../src/core/data/detect';
import { importDatasetFile } from '../../src/core/data/library/import';
import { listDatasets, openHoneDb } from '../../src/core/store';
import { importText } from '../../src/core/data/import';
import { previewValue } from '../../src/core/data/record';

const root = fileURLToPath(new URL('../../', import.meta.url));
const work = () => mkdtempSync(join(tmpdir(), 'hone-hostile-'));

function utf16(text: string, endian: 'le' | 'be'): Uint8Array {
  const out = new Uint8Array(2 + text.length * 2);
  out.set(endian === 'le' ? [0xff, 0xfe] : [0xfe, 0xff]);
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    out[2 + 2 * i + (endian === 'le' ? 0 : 1)] = unit & 0xff;
    out[2 + 2 * i + (endian === 'le' ? 1 : 0)] = unit >> 8;
  }
  return out;
}

const alpaca = '{"instruction":"Say hi","input":"","output":"hi"}\n{"instruction":"Déjà vu?","input":"","output":"oui 🎉"}\n';

async function cliImport(bytes: Uint8Array, name = 'data.jsonl') {
  const dir = work();
  const file = join(dir, name);
  writeFileSync(file, bytes);
  const out = join(dir, 'out.jsonl');
  const result = await importCommand({ file, out });
  return { result, out };
}

describe('the CLI decodes as strictly as the studio', () => {
  it('invalid UTF-8 is refused with its line and byte, nothing written (it imported U+FFFD)', async () => {
    const bytes = new TextEncoder().encode(alpaca + '{"instruction":"bad","input":"","output":"x"}\n');
    const broken = new Uint8Array([...bytes.subarray(0, bytes.length - 10), 0xc3, 0x28, ...bytes.subarray(bytes.length - 10)]);
    const { result, out } = await cliImport(broken);
    expect(result).toEqual({
      format: 'unknown',
      records: 0,
      errors: [{ line: 3, message: `byte ${bytes.length - 9} is not valid UTF-8 text; save the file as UTF-8 and import it again` }],
    });
    expect(existsSync(out)).toBe(false);
  });

  it.each(['le', 'be'] as const)('UTF-16%s with a BOM is decoded: the same records as the UTF-8 file', async (endian) => {
    const expected = await cliImport(new TextEncoder().encode(alpaca));
    const decoded = await cliImport(utf16(alpaca, endian));
    expect(decoded.result).toEqual({ format: 'alpaca', records: 2, errors: [] });
    expect(readFileSync(decoded.out, 'utf8')).toBe(readFileSync(expected.out, 'utf8'));
    expect(readFileSync(decoded.out, 'utf8')).toContain('oui 🎉');
  });

  it('UTF-32 (by BOM) and BOM-less UTF-16 are refused by name', async () => {
    const utf32 = await cliImport(new Uint8Array([0xff, 0xfe, 0, 0, 0x7b, 0, 0, 0]));
    expect(utf32.result.errors[0].message).toBe('the file is UTF-32 (little-endian, by its byte-order mark), which Hone cannot read; save it as UTF-8 and import it again');
    const bare = await cliImport(utf16(alpaca, 'le').subarray(2));
    expect(bare.result.errors[0].message).toContain('looks like UTF-16 without a byte-order mark');
    expect(existsSync(bare.out)).toBe(false);
  });

  it('an unpaired UTF-16 surrogate is refused, located by line', async () => {
    const bytes = utf16('{"instruction":"a","input":"","output":"b"}\n{"instruction":"\ud800x","input":"","output":"b"}\n', 'le');
    const { result } = await cliImport(bytes);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0].message).toContain('unpaired UTF-16 surrogate');
  });

  it('the same decoder in the studio path: sniffEncoding and decodeChunks with 1-byte chunks', async () => {
    expect(sniffEncoding(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b]))).toBe('utf-8');
    expect(sniffEncoding(new Uint8Array([0xfe, 0xff, 0, 0x7b]))).toBe('utf-16be');
    expect(() => sniffEncoding(new Uint8Array([0, 0, 0xfe, 0xff]))).toThrow(UndecodableTextError);
    let text = '';
    for await (const piece of decodeChunks(byteChunks(utf16('héllo\nwörld 🎉', 'be'), 1))) text += piece;
    expect(text).toBe('héllo\nwörld 🎉');
  });

  it('the studio path (importDatasetFile) decodes UTF-16 by its BOM and refuses UTF-32, storing nothing', async () => {
    const db = await openHoneDb({ name: `hone-hostile-${crypto.randomUUID()}` });
    const refused = await importDatasetFile(db, { name: 'wide.jsonl', bytes: new Uint8Array([0, 0, 0xfe, 0xff, 0, 0, 0, 0x7b]) });
    expect(refused).toMatchObject({ status: 'invalid', format: 'unknown', errors: [{ line: 1, message: expect.stringContaining('the file is UTF-32 (big-endian') }] });
    expect(await listDatasets(db)).toEqual([]);
    const decoded = await importDatasetFile(db, { name: 'utf16.jsonl', bytes: utf16(alpaca, 'le') });
    expect(decoded.status).toBe('imported');
    expect(decoded.status === 'imported' && decoded.dataset.counts['total']).toBe(2);
    db.close();
  });

  it('`hone import` exits 1 with the located error on stderr', async () => {
    const dir = work();
    const file = join(dir, 'bad.jsonl');
    writeFileSync(file, new Uint8Array([0x7b, 0x0a, 0xff, 0x0a]));
    const out = join(dir, 'out.jsonl');
    const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile('node', ['--import', 'tsx', 'cli/hone.ts', 'import', file, '--out', out], { cwd: root }, (error, _stdout, err) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stderr: err }),
      ),
    );
    expect(code).toBe(1);
    expect(stderr).toContain('line 2: byte 3 is not valid UTF-8 text');
    expect(existsSync(out)).toBe(false);
  }, 30_000);
});

describe('format detection is linear in the sample', () => {
  it('a first line over 16 MB is detected without a stack overflow, and imported whole', async () => {
    const huge = 'a'.repeat(17 * 1024 * 1024);
    const line = `{"instruction":"${huge}","input":"","output":"b"}`;
    const start = performance.now();
    // the sample detection sees: the first 16 MB of the line, cut mid-string
    expect(detectFormat(line.slice(0, 16 * 1024 * 1024), 'big.jsonl')).toBe('alpaca');
    async function* chunks() {
      for (let i = 0; i < line.length; i += 1 << 20) yield line.slice(i, i + (1 << 20));
      yield '\n';
    }
    const result = await importText(chunks(), { format: 'auto', fileName: 'big.jsonl' });
    expect(performance.now() - start).toBeLessThan(10_000);
    expect(result.format).toBe('alpaca');
    expect(result.errors).toEqual([]);
    expect(result.records[0].instruction.length).toBe(huge.length);
  }, 30_000);

  it('scans keys past escaped quotes and skips values that look like keys only inside strings', () => {
    expect(detectFormat('{"note": "say \\"messages\\": no", "conversations": [', 'x.json')).toBe('sharegpt');
    expect(() => detectFormat(`{"${'k'.repeat(5000)}": 1, "other": `, 'x.json')).toThrow(/the first record has the keys "k{40}…", "other"/);
  });
});

describe('bad values deep or huge are previewed, bounded', () => {
  const deep = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

  it('a 100,000-deep role is a located error, not a stack overflow', async () => {
    const line = `{"messages":[{"role":${deep(100_000)},"content":"x"},{"role":"assistant","content":"y"}]}\n`;
    const result = await importText(line, { format: 'auto', fileName: 'deep.jsonl' });
    expect(result.format).toBe('messages');
    expect(result.records).toEqual([]);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({ line: 1, field: 'messages[0].role' });
    expect(result.errors[0].message).toContain('[[[…]]]');
  });

  it('a 100,000-deep split on a Hone record is a located error', async () => {
    const line = `{"instruction":"q","output":"a","split":${deep(100_000)}}\n`;
    const result = await importText(line, { format: 'hone', fileName: 'deep.jsonl' });
    expect(result.records).toEqual([]);
    expect(result.errors).toEqual([{ line: 1, field: 'split', message: 'expected one of train, validation, test, got [[[[…]]]]' }]);
  });

  it('a ShareGPT role named "constructor" is refused, not looked up on Object.prototype', async () => {
    const line = '{"conversations":[{"from":"constructor","value":"x"},{"from":"gpt","value":"y"}]}\n';
    const result = await importText(line, { format: 'auto', fileName: 'proto.jsonl' });
    expect(result.format).toBe('sharegpt');
    expect(result.records).toEqual([]);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({ line: 1, field: 'conversations[0].from' });
    expect(result.errors[0].message).toContain('got "constructor"');
  });

  it('previewValue: JSON for small values, cut for long strings and wide or deep ones', () => {
    expect(previewValue('bot')).toBe('"bot"');
    expect(previewValue(3)).toBe('3');
    expect(previewValue(undefined)).toBe('undefined');
    expect(previewValue({ a: [1, 2] })).toBe('{"a":[1,2]}');
    expect(previewValue('x'.repeat(1000))).toBe(`"${'x'.repeat(60)}…"`);
    expect(previewValue(Array.from({ length: 1000 }, (_, i) => i)).length).toBeLessThan(80);
    let nested: unknown = 'core';
    for (let i = 0; i < 100_000; i++) nested = { k: nested };
    expect(previewValue(nested)).toBe('{"k":{"k":{"k":{…}}}}');
  });
});
