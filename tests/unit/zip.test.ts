// The store-only ZIP writer: exact bytes of a one-file archive laid out by hand from APPNOTE.TXT,
// CRC-32 check values, a round trip through readZip, and Info-ZIP's unzip agreeing when installed.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, readZip, writeZip } from '../../src/core/zip';

const text = (s: string) => new TextEncoder().encode(s);
const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, '').match(/../g)!.map((b) => parseInt(b, 16)));
const ascii = (s: string) => Array.from(text(s), (b) => b.toString(16).padStart(2, '0')).join('');

describe('crc32', () => {
  it('matches the published check values', () => {
    expect(crc32(text('hello'))).toBe(0x3610a686);
    expect(crc32(text('123456789'))).toBe(0xcbf43926); // the CRC-32/ISO-HDLC check value
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
});

describe('writeZip', () => {
  it('writes the exact bytes of a one-file archive', () => {
    const archive = writeZip([{ name: 'hello.txt', bytes: text('hello') }]);
    const expected = hex(
      // local file header: signature, version 2.0, flags (UTF-8 names), stored, time 00:00, date 1980-01-01,
      // CRC-32, compressed size, size, name length 9, extra length 0, name, data
      '504b0304 1400 0008 0000 0000 2100 86a61036 05000000 05000000 0900 0000' + ascii('hello.txt') + ascii('hello') +
        // central directory header: + version made by, comment length, disk, internal/external attributes, local offset 0
        '504b0102 1400 1400 0008 0000 0000 2100 86a61036 05000000 05000000 0900 0000 0000 0000 0000 00000000 00000000' +
        ascii('hello.txt') +
        // end of central directory: disks 0/0, 1 entry, 1 entry, directory size 55, directory offset 44, no comment
        '504b0506 0000 0000 0100 0100 37000000 2c000000 0000',
    );
    expect(archive.length).toBe(30 + 9 + 5 + 46 + 9 + 22);
    expect(Array.from(archive)).toEqual(Array.from(expected));
  });

  it('round-trips folders, UTF-8 names, binary and empty files through readZip', () => {
    const weights = new Uint8Array(new Float32Array([1.5, -2, Math.PI, 0]).buffer);
    const entries = [
      { name: 'run/adapter_config.json', bytes: text('{"peft_type": "LORA"}') },
      { name: 'run/adapter_model.safetensors', bytes: weights },
      { name: 'run/Résumé ✓.md', bytes: text('# ünïcode') },
      { name: 'run/empty', bytes: new Uint8Array(0) },
    ];
    const back = readZip(writeZip(entries, { date: new Date(2024, 4, 17, 13, 45, 30) }));
    expect(back.map((e) => e.name)).toEqual(entries.map((e) => e.name));
    back.forEach((e, i) => expect(Array.from(e.bytes)).toEqual(Array.from(entries[i].bytes)));
  });

  it('refuses duplicate, absolute and parent-relative names', () => {
    const bytes = text('x');
    expect(() => writeZip([{ name: 'a', bytes }, { name: 'a', bytes }])).toThrow(/two entries are named "a"/);
    expect(() => writeZip([{ name: '/etc/passwd', bytes }])).toThrow(/relative/);
    expect(() => writeZip([{ name: 'a/../../b', bytes }])).toThrow(/without "\.\."/);
    expect(() => writeZip([{ name: '', bytes }])).toThrow(/relative/);
  });
});

describe('readZip', () => {
  it('names a damaged entry and refuses what is not a zip', () => {
    const archive = writeZip([{ name: 'hello.txt', bytes: text('hello') }]);
    archive[39] ^= 1; // first data byte: "h" → "i"
    expect(() => readZip(archive)).toThrow(/hello\.txt fails its CRC-32 check/);
    expect(() => readZip(text('not a zip at all, just some text here'))).toThrow(/not a ZIP archive/);
  });
});

describe.skipIf(!existsSync('/usr/bin/unzip'))('Info-ZIP unzip', () => {
  it('lists, tests and extracts what writeZip wrote; readZip refuses its deflated archive by name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hone-zip-'));
    try {
      const path = join(dir, 'a.zip');
      const config = text('{\n  "r": 8\n}');
      writeFileSync(path, writeZip([{ name: 'run/adapter_config.json', bytes: config }, { name: 'run/README.md', bytes: text('# card\n') }]));
      expect(execFileSync('/usr/bin/unzip', ['-tq', path], { encoding: 'utf8' })).toMatch(/No errors detected/);
      const listing = execFileSync('/usr/bin/unzip', ['-Z1', path], { encoding: 'utf8' });
      expect(listing.trim().split('\n')).toEqual(['run/adapter_config.json', 'run/README.md']);
      expect(execFileSync('/usr/bin/unzip', ['-p', path, 'run/adapter_config.json'], { encoding: 'utf8' })).toBe('{\n  "r": 8\n}');

      if (existsSync('/usr/bin/zip')) {
        const deflated = join(dir, 'deflated.zip');
        writeFileSync(join(dir, 'big.txt'), 'abc'.repeat(1000));
        execFileSync('/usr/bin/zip', ['-q', '-j', deflated, join(dir, 'big.txt')]);
        expect(() => readZip(new Uint8Array(readFileSync(deflated)))).toThrow(/big\.txt is compressed \(method 8\)/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
