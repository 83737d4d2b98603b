// A store-only ZIP writer (and the matching reader) following PKWARE's APPNOTE.TXT 6.3: one local
// file header + data per entry, then the central directory and the end-of-central-directory record.
// No compression: adapter weights are float32 noise that deflate barely shrinks, and "stored"
// keeps this small enough to check byte by byte. No ZIP64, so at most 65,535 entries and 4 GiB.

export interface ZipEntry {
  /** path inside the archive, '/'-separated (e.g. "my-run/adapter_config.json") */
  name: string;
  bytes: Uint8Array;
}

export interface ZipOptions {
  /** modification time written into every entry (DOS format, local time fields taken as given); default 1980-01-01 00:00 so archives are reproducible */
  date?: Date;
}

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
/** 2.0: the version PKWARE lists for folders and plain stored files */
const VERSION = 20;
/** general-purpose bit 11: names are UTF-8 */
const UTF8_NAMES = 0x0800;
const STORED = 0;
const MAX_32 = 0xffffffff;

let crcTable: Uint32Array | null = null;

/** CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as ZIP, gzip and PNG use. */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function dosDateTime(date: Date | undefined): { time: number; date: number } {
  if (!date) return { time: 0, date: (0 << 9) | (1 << 5) | 1 }; // 1980-01-01 00:00:00
  const year = date.getFullYear();
  if (year < 1980 || year > 2107) throw new Error(`zip: DOS timestamps cover 1980–2107, got year ${year}`);
  return {
    time: (date.getHours() << 11) | (date.getMinutes() << 5) | Math.floor(date.getSeconds() / 2),
    date: ((year - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate(),
  };
}

/** Packs the entries into one store-only ZIP archive. Names must be unique, relative and non-empty. */
export function writeZip(entries: readonly ZipEntry[], opts: ZipOptions = {}): Uint8Array {
  if (entries.length > 0xffff) throw new Error(`zip: ${entries.length} entries is more than the 65,535 a non-ZIP64 archive holds`);
  const { time, date } = dosDateTime(opts.date);
  const encoder = new TextEncoder();
  const seen = new Set<string>();
  const prepared = entries.map((entry) => {
    const name = entry.name;
    if (!name || name.startsWith('/') || name.includes('\\') || name.split('/').includes('..')) {
      throw new Error(`zip: entry name ${JSON.stringify(name)} must be a relative '/'-separated path without ".."`);
    }
    if (seen.has(name)) throw new Error(`zip: two entries are named ${JSON.stringify(name)}`);
    seen.add(name);
    if (entry.bytes.length > MAX_32) throw new Error(`zip: entry ${name} is over 4 GiB, which needs ZIP64`);
    return { nameBytes: encoder.encode(name), bytes: entry.bytes, crc: crc32(entry.bytes) };
  });

  const localSize = prepared.reduce((sum, e) => sum + 30 + e.nameBytes.length + e.bytes.length, 0);
  const centralSize = prepared.reduce((sum, e) => sum + 46 + e.nameBytes.length, 0);
  if (localSize + centralSize + 22 > MAX_32) throw new Error('zip: the archive would be over 4 GiB, which needs ZIP64');
  const out = new Uint8Array(localSize + centralSize + 22);
  const view = new DataView(out.buffer);
  let at = 0;
  const u16 = (value: number): void => {
    view.setUint16(at, value, true);
    at += 2;
  };
  const u32 = (value: number): void => {
    view.setUint32(at, value, true);
    at += 4;
  };
  const raw = (bytes: Uint8Array): void => {
    out.set(bytes, at);
    at += bytes.length;
  };

  const offsets: number[] = [];
  for (const e of prepared) {
    offsets.push(at);
    u32(LOCAL_HEADER);
    u16(VERSION); // version needed to extract
    u16(UTF8_NAMES);
    u16(STORED);
    u16(time);
    u16(date);
    u32(e.crc);
    u32(e.bytes.length); // compressed size = size: stored
    u32(e.bytes.length);
    u16(e.nameBytes.length);
    u16(0); // extra field length
    raw(e.nameBytes);
    raw(e.bytes);
  }
  const centralStart = at;
  prepared.forEach((e, i) => {
    u32(CENTRAL_HEADER);
    u16(VERSION); // version made by (high byte 0: MS-DOS attributes, which every unzip reads)
    u16(VERSION); // version needed to extract
    u16(UTF8_NAMES);
    u16(STORED);
    u16(time);
    u16(date);
    u32(e.crc);
    u32(e.bytes.length);
    u32(e.bytes.length);
    u16(e.nameBytes.length);
    u16(0); // extra field length
    u16(0); // file comment length
    u16(0); // disk number start
    u16(0); // internal attributes
    u32(0); // external attributes
    u32(offsets[i]);
    raw(e.nameBytes);
  });
  const centralEnd = at;
  u32(END_OF_CENTRAL_DIRECTORY);
  u16(0); // this disk
  u16(0); // disk with the central directory
  u16(prepared.length);
  u16(prepared.length);
  u32(centralEnd - centralStart); // central directory size
  u32(centralStart);
  u16(0); // comment length
  return out;
}

/**
 * Reads a store-only archive (what writeZip writes) through its central directory, checking each
 * entry's local header and CRC-32. Compressed entries are refused with a message naming them.
 */
export function readZip(archive: Uint8Array): ZipEntry[] {
  const view = new DataView(archive.buffer, archive.byteOffset, archive.byteLength);
  // The end record sits in the last 22 bytes plus at most a 65,535-byte comment.
  let end = -1;
  for (let i = archive.length - 22; i >= Math.max(0, archive.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === END_OF_CENTRAL_DIRECTORY) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error('zip: no end-of-central-directory record; this is not a ZIP archive (or it is truncated)');
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const decoder = new TextDecoder();
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (at + 46 > archive.length || view.getUint32(at, true) !== CENTRAL_HEADER) {
      throw new Error(`zip: central directory entry ${i + 1} of ${count} is missing or damaged (offset ${at})`);
    }
    const method = view.getUint16(at + 10, true);
    const crc = view.getUint32(at + 16, true);
    const compressedSize = view.getUint32(at + 20, true);
    const size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const localOffset = view.getUint32(at + 42, true);
    const name = decoder.decode(archive.subarray(at + 46, at + 46 + nameLength));
    if (method !== STORED || compressedSize !== size) {
      throw new Error(`zip: entry ${name} is compressed (method ${method}); only stored entries can be read here`);
    }
    if (localOffset + 30 > archive.length || view.getUint32(localOffset, true) !== LOCAL_HEADER) {
      throw new Error(`zip: the local header of entry ${name} is missing (offset ${localOffset})`);
    }
    const dataStart = localOffset + 30 + view.getUint16(localOffset + 26, true) + view.getUint16(localOffset + 28, true);
    if (dataStart + size > archive.length) throw new Error(`zip: entry ${name} runs past the end of the archive`);
    const bytes = archive.slice(dataStart, dataStart + size);
    if (crc32(bytes) !== crc) throw new Error(`zip: entry ${name} fails its CRC-32 check; the archive is damaged`);
    entries.push({ name, bytes });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}
