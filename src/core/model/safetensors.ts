// Reading and writing the safetensors format (https://github.com/huggingface/safetensors, format
// described in its README; validation follows the Rust crate's `Metadata::validate`):
//   8 bytes little-endian u64 N | N bytes JSON header | tensor data
// The header maps each tensor name to {dtype, shape, data_offsets: [begin, end]} with offsets
// relative to the start of the data section, plus an optional "__metadata__" string map.
// Files come from users and the network, so the header is checked completely before any offset
// in it is used, and every error names the file and, where there is one, the tensor.

export type Dtype = 'F32' | 'F16' | 'BF16';

/**
 * A tensor on the host: row-major float32 values. It owns its data, except where parsed with
 * `shareBytes` (loadCheckpoint): then float32 data may be a view of the file's bytes, and both are
 * to be treated as read-only.
 */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

export class SafetensorsError extends Error {
  constructor(
    detail: string,
    readonly file: string,
    readonly tensor?: string,
  ) {
    super(`${file}: ${tensor === undefined ? '' : `tensor ${JSON.stringify(tensor)}: `}${detail}`);
    this.name = 'SafetensorsError';
  }
}

const ITEM_SIZE: Record<Dtype, number> = { F32: 4, F16: 2, BF16: 2 };
/** The Python library refuses headers this large too; a larger one means a corrupt or hostile file. */
const MAX_HEADER_BYTES = 100_000_000;

interface Entry {
  name: string;
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

interface Header {
  entries: Entry[];
  metadata: Record<string, string>;
  /** absolute byte offset of the data section */
  dataStart: number;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

function readHeader(bytes: Uint8Array, file: string): Header {
  if (bytes.length < 8) {
    throw new SafetensorsError(
      `is ${bytes.length} bytes long, too short to be a safetensors file (it needs at least the 8-byte header length); the file is empty or truncated`,
      file,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // u64 LE read as two u32 halves: exact for every length below 2^53.
  const headerLength = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  if (headerLength >= MAX_HEADER_BYTES) {
    throw new SafetensorsError(`header length ${headerLength} is over the 100 MB limit; this is not a usable safetensors file`, file);
  }
  if (headerLength > bytes.length - 8) {
    throw new SafetensorsError(
      `header length ${headerLength} runs past the end of the file (${bytes.length} bytes); the file is truncated or not a safetensors file`,
      file,
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    throw new SafetensorsError('header is not valid UTF-8; the file is corrupt or not a safetensors file', file);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`header is not valid JSON (${(e as Error).message}); the file is corrupt or not a safetensors file`, file);
  }
  if (!isPlainObject(json)) throw new SafetensorsError('header is not a JSON object; this is not a safetensors file', file);

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  let metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(json)) {
    if (name === '__metadata__') {
      metadata = readMetadata(value, file);
      continue;
    }
    entries.push(readEntry(name, value, dataLength, file));
  }
  // Two tensors sharing bytes would make writing one silently change the other.
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < byOffset.length; i++) {
    const before = byOffset[i - 1];
    const entry = byOffset[i];
    if (entry.begin < before.end) {
      throw new SafetensorsError(
        `data_offsets [${entry.begin}, ${entry.end}] overlap those of tensor ${JSON.stringify(before.name)} [${before.begin}, ${before.end}]; the file is corrupt`,
        file,
        entry.name,
      );
    }
  }
  return { entries, metadata, dataStart };
}

function readMetadata(value: unknown, file: string): Record<string, string> {
  if (!isPlainObject(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw new SafetensorsError('header field "__metadata__" must be an object of string values', file);
  }
  return { ...(value as Record<string, string>) };
}

function readEntry(name: string, value: unknown, dataLength: number, file: string): Entry {
  if (!isPlainObject(value)) throw new SafetensorsError('header entry is not an object with dtype, shape and data_offsets', file, name);
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== 'string') throw new SafetensorsError('header entry has no "dtype" string', file, name);
  // own property: `in` would accept "constructor" or "__proto__" from Object.prototype
  if (!Object.hasOwn(ITEM_SIZE, dtype)) {
    throw new SafetensorsError(
      `unsupported dtype ${JSON.stringify(dtype)} (Hone reads F32, F16 and BF16); convert the checkpoint to one of those first`,
      file,
      name,
    );
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw new SafetensorsError(`"shape" must be a list of non-negative integers, got ${JSON.stringify(shape)}`, file, name);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
    throw new SafetensorsError(`"data_offsets" must be two non-negative integers [begin, end] with begin ≤ end, got ${JSON.stringify(offsets)}`, file, name);
  }
  const [begin, end] = offsets as number[];
  const size = (shape as number[]).reduce((product, n) => product * n, 1) * ITEM_SIZE[dtype as Dtype];
  if (size !== end - begin) {
    throw new SafetensorsError(
      `shape ${JSON.stringify(shape)} of ${dtype} needs ${size} bytes but data_offsets [${begin}, ${end}] span ${end - begin}; the file is corrupt`,
      file,
      name,
    );
  }
  if (end > dataLength) {
    throw new SafetensorsError(
      `data_offsets [${begin}, ${end}] run past the end of the file (${dataLength} bytes of tensor data follow the header); the file is truncated`,
      file,
      name,
    );
  }
  return { name, dtype: dtype as Dtype, shape: [...(shape as number[])], begin, end };
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// Bit patterns of all 65,536 float16 values as float32, built on first use: F16 → F32 is exact,
// so a lookup reproduces the Python reference's upcast bit for bit, subnormals, ±inf and NaN included.
let f16Table: Uint32Array | null = null;

function halfToFloatBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0x1f) return (sign | 0x7f800000 | (fraction << 13)) >>> 0; // inf, NaN (payload kept)
  if (exponent !== 0) return (sign | ((exponent - 15 + 127) << 23) | (fraction << 13)) >>> 0;
  if (fraction === 0) return sign >>> 0; // ±0
  // subnormal half: fraction · 2^-24, normal in float32; shift until the leading 1 is the implicit bit
  let e = -14;
  let f = fraction;
  while ((f & 0x400) === 0) {
    f <<= 1;
    e--;
  }
  return (sign | ((e + 127) << 23) | ((f & 0x3ff) << 13)) >>> 0;
}

function halfTable(): Uint32Array {
  if (f16Table === null) {
    f16Table = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = halfToFloatBits(h);
  }
  return f16Table;
}

function decode(bytes: Uint8Array, start: number, entry: Entry, shareBytes: boolean): Float32Array {
  const count = (entry.end - entry.begin) / ITEM_SIZE[entry.dtype];
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, entry.end - entry.begin);
  if (entry.dtype === 'F32' && littleEndianHost && shareBytes && (bytes.byteOffset + start) % 4 === 0) {
    // No copy: a 4-aligned little-endian F32 block already is a Float32Array (the Python library
    // pads the header so every tensor starts 8-aligned). Saves one whole copy of the model.
    return new Float32Array(bytes.buffer, bytes.byteOffset + start, count);
  }
  if (entry.dtype === 'F32' && littleEndianHost) {
    // Copy into a fresh buffer: the offset in the file need not be 4-aligned (a Float32Array view
    // would throw), and the tensor must not alias the caller's bytes. (Node's Buffer#slice is a
    // view, hence set() rather than slice().)
    const copy = new Uint8Array(4 * count);
    copy.set(bytes.subarray(start, start + 4 * count));
    return new Float32Array(copy.buffer);
  }
  const out = new Float32Array(count);
  if (entry.dtype === 'F32') {
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
    return out;
  }
  const bits = new Uint32Array(out.buffer);
  if (entry.dtype === 'BF16') {
    // bfloat16 is the top half of a float32
    for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true) << 16;
    return out;
  }
  const table = halfTable();
  for (let i = 0; i < count; i++) bits[i] = table[view.getUint16(2 * i, true)];
  return out;
}

export interface ParseOptions {
  /**
   * Return aligned float32 tensors as views of `bytes` instead of copies (default false). For
   * loading a model, where the file's bytes are read once and never written: memory for one copy
   * of the weights instead of two. F16/BF16 and unaligned F32 tensors are decoded into new arrays.
   */
  shareBytes?: boolean;
}

/** Parses a safetensors file; every tensor comes back as float32. Throws SafetensorsError. */
export function parseSafetensors(bytes: Uint8Array, file: string, options: ParseOptions = {}): Map<string, HostTensor> {
  const header = readHeader(bytes, file);
  const tensors = new Map<string, HostTensor>();
  for (const entry of header.entries) {
    tensors.set(entry.name, { shape: entry.shape, data: decode(bytes, header.dataStart + entry.begin, entry, options.shareBytes ?? false) });
  }
  return tensors;
}

/** The header's "__metadata__" map ({} when absent), after validating the whole header. */
export function readSafetensorsMetadata(bytes: Uint8Array, file: string): Record<string, string> {
  return readHeader(bytes, file).metadata;
}

/** Names, dtypes and shapes without decoding any data (validated like parseSafetensors). */
export function readSafetensorsIndex(bytes: Uint8Array, file: string): Map<string, { dtype: Dtype; shape: number[] }> {
  return new Map(readHeader(bytes, file).entries.map((e) => [e.name, { dtype: e.dtype, shape: e.shape }]));
}

/**
 * Writes float32 tensors as the Python library does: names sorted, header JSON compact, padded
 * with spaces so the data section starts 8-byte aligned.
 */
export function writeSafetensors(
  tensors: Map<string, HostTensor> | Record<string, HostTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const entries = (tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors)).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  const where = 'safetensors output';
  // The header is assembled as text: a JS object would move integer-like names ("0", "1") to the front.
  const fields: string[] = [];
  if (metadata !== undefined) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') throw new SafetensorsError(`metadata ${JSON.stringify(key)} must be a string`, where);
    }
    const pairs = Object.keys(metadata).sort().map((key) => `${JSON.stringify(key)}:${JSON.stringify(metadata[key])}`);
    fields.push(`"__metadata__":{${pairs.join(',')}}`);
  }
  let offset = 0;
  for (const [name, tensor] of entries) {
    if (name === '__metadata__') throw new SafetensorsError('"__metadata__" is reserved and cannot name a tensor', where);
    if (!tensor.shape.every(isCount)) throw new SafetensorsError(`shape ${JSON.stringify(tensor.shape)} is not a list of non-negative integers`, where, name);
    const count = tensor.shape.reduce((product, n) => product * n, 1);
    if (count !== tensor.data.length) {
      throw new SafetensorsError(`shape ${JSON.stringify(tensor.shape)} holds ${count} values but the data has ${tensor.data.length}`, where, name);
    }
    const info = { dtype: 'F32', shape: [...tensor.shape], data_offsets: [offset, offset + 4 * count] };
    fields.push(`${JSON.stringify(name)}:${JSON.stringify(info)}`);
    offset += 4 * count;
  }
  const json = new TextEncoder().encode(`{${fields.join(',')}}`);
  const headerLength = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength % 2 ** 32, true);
  view.setUint32(4, Math.floor(headerLength / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let position = 8 + headerLength;
  for (const [, tensor] of entries) {
    if (littleEndianHost) {
      out.set(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength), position);
    } else {
      tensor.data.forEach((v, i) => view.setFloat32(position + 4 * i, v, true));
    }
    position += tensor.data.byteLength;
  }
  return out;
}
