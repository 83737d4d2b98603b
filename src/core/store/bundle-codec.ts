// How a workspace bundle (bundle.ts) writes IndexedDB records as JSON without losing anything
// structured clone keeps: binary (checkpoint tensors, model files) goes to its own archive entry,
// and the values JSON cannot say (NaN and ±Infinity in a diverged run's losses, -0, undefined fields,
// dates, maps, sets, bigints) become tagged objects `{ "$hone": kind, … }`. A plain object that
// itself has a "$hone" key is wrapped, so no record can be mistaken for a tag.

const TAG = '$hone';

/** Thrown for anything wrong in a bundle; the message names the archive entry and the place in it. */
export class BundleError extends Error {
  override readonly name = 'BundleError';
  constructor(
    /** the archive entry at fault (e.g. "stores/runs.json"), or the file itself */
    readonly entry: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const VIEW_TYPES = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
} as const;
type ViewType = keyof typeof VIEW_TYPES | 'DataView';

/** Collects binary values as numbered archive entries while records are encoded. */
export class BlobSink {
  readonly entries: { name: string; bytes: Uint8Array }[] = [];
  constructor(private readonly prefix: string) {}

  add(bytes: Uint8Array): string {
    const name = `${this.prefix}${String(this.entries.length + 1).padStart(6, '0')}.bin`;
    this.entries.push({ name, bytes });
    return name;
  }
}

/** A stored value as JSON, binary handed to `blobs`. */
export function encodeValue(value: unknown, blobs: BlobSink): Json {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isNaN(value)) return { [TAG]: 'number', value: 'NaN' };
      if (value === Infinity) return { [TAG]: 'number', value: 'Infinity' };
      if (value === -Infinity) return { [TAG]: 'number', value: '-Infinity' };
      if (Object.is(value, -0)) return { [TAG]: 'number', value: '-0' };
      return value;
    case 'undefined':
      return { [TAG]: 'undefined' };
    case 'bigint':
      return { [TAG]: 'bigint', value: value.toString() };
    case 'object':
      break;
    default:
      throw new Error(`a ${typeof value} cannot be stored in IndexedDB, so it cannot be exported either`);
  }
  if (value === null) return null;
  if (value instanceof ArrayBuffer) return { [TAG]: 'bytes', blob: blobs.add(new Uint8Array(value.slice(0))) };
  if (ArrayBuffer.isView(value)) {
    const type = value.constructor.name as ViewType;
    const bytes = new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
    return { [TAG]: 'view', type, blob: blobs.add(bytes) };
  }
  if (value instanceof Date) return { [TAG]: 'date', value: value.getTime() };
  if (value instanceof Map) return { [TAG]: 'map', entries: [...value].map(([k, v]) => [encodeValue(k, blobs), encodeValue(v, blobs)]) };
  if (value instanceof Set) return { [TAG]: 'set', values: [...value].map((v) => encodeValue(v, blobs)) };
  if (Array.isArray(value)) return value.map((item) => encodeValue(item, blobs));
  const out: { [key: string]: Json } = {};
  for (const [key, item] of Object.entries(value)) out[key] = encodeValue(item, blobs);
  return Object.hasOwn(value, TAG) ? { [TAG]: 'object', value: out } : out;
}

export interface DecodeContext {
  /** the archive entry being read, for messages */
  entry: string;
  /** the bundle's binary entries by name */
  blobs: ReadonlyMap<string, Uint8Array>;
}

/** The value encodeValue wrote; `where` names the place for messages ("record 3, metrics[2].loss"). */
export function decodeValue(json: unknown, ctx: DecodeContext, where: string): unknown {
  if (json === null || typeof json === 'string' || typeof json === 'boolean' || typeof json === 'number') return json;
  if (Array.isArray(json)) return json.map((item, i) => decodeValue(item, ctx, `${where}[${i}]`));
  if (typeof json !== 'object') throw new BundleError(ctx.entry, `${ctx.entry}, ${where}: unexpected ${typeof json}`);
  const record = json as Record<string, unknown>;
  if (!Object.hasOwn(record, TAG)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(record)) out[key] = decodeValue(item, ctx, `${where}.${key}`);
    return out;
  }
  const fail = (what: string): never => {
    throw new BundleError(ctx.entry, `${ctx.entry}, ${where}: ${what}; the bundle is damaged or was not written by Hone.`);
  };
  const blob = (): Uint8Array => {
    const name = record.blob;
    if (typeof name !== 'string') return fail('a binary value names no entry');
    const bytes = ctx.blobs.get(name);
    if (!bytes) return fail(`its binary data, entry ${name}, is missing from the archive`);
    return bytes;
  };
  switch (record[TAG]) {
    case 'number': {
      const values: Record<string, number> = { NaN: Number.NaN, Infinity: Infinity, '-Infinity': -Infinity, '-0': -0 };
      const value = values[String(record.value)];
      return value ?? fail(`“${String(record.value)}” is not a number Hone writes`);
    }
    case 'undefined':
      return undefined;
    case 'bigint':
      if (typeof record.value !== 'string' || !/^-?\d+$/.test(record.value)) return fail('a bigint is not written in digits');
      return BigInt(record.value);
    case 'bytes':
      return blob().slice().buffer;
    case 'view': {
      const bytes = blob().slice();
      const type = String(record.type) as ViewType;
      if (type === 'DataView') return new DataView(bytes.buffer);
      const View = VIEW_TYPES[type as keyof typeof VIEW_TYPES];
      if (!View) return fail(`“${type}” is not a typed array`);
      if (bytes.byteLength % View.BYTES_PER_ELEMENT !== 0) return fail(`${bytes.byteLength} bytes are not a whole number of ${type} elements`);
      return new View(bytes.buffer);
    }
    case 'date':
      if (typeof record.value !== 'number') return fail('a date is not a number of milliseconds');
      return new Date(record.value);
    case 'map':
      if (!Array.isArray(record.entries)) return fail('a map has no entries list');
      return new Map(
        record.entries.map((pair, i) => {
          if (!Array.isArray(pair) || pair.length !== 2) return fail(`map entry ${i} is not a [key, value] pair`);
          return [decodeValue(pair[0], ctx, `${where}<key ${i}>`), decodeValue(pair[1], ctx, `${where}<value ${i}>`)];
        }),
      );
    case 'set':
      if (!Array.isArray(record.values)) return fail('a set has no values list');
      return new Set(record.values.map((item, i) => decodeValue(item, ctx, `${where}{${i}}`)));
    case 'object': {
      const inner = record.value;
      if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) return fail('a wrapped object holds no object');
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(inner)) out[key] = decodeValue(item, ctx, `${where}.${key}`);
      return out;
    }
    default:
      return fail(`“${String(record[TAG])}” is not a kind of value Hone writes`);
  }
}
