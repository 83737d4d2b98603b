// The one way the repositories write: a single readwrite transaction that either commits whole or
// is aborted, with whatever went wrong turned into an error a person can act on. Bulk writes fire
// raw requests without awaiting each one (100k examples would otherwise cost 100k promise round
// trips); the first failing request aborts the transaction and is reported as the cause.

import { unwrap } from 'idb';
import type { IDBPTransaction, StoreNames } from 'idb';
import { StoreNotFoundError, StoreVersionError, wrapStorageError } from './errors';
import type { HoneDb, HoneSchema } from './schema';

export type WriteTx<Names extends StoreNames<HoneSchema>[]> = IDBPTransaction<HoneSchema, Names, 'readwrite'>;

export interface WriteContext {
  /** what is being done, in the user's words: `saving dataset “alpaca” (52,002 examples)` */
  what: string;
  /** its approximate size in bytes; only called when a write fails, so it may be slow */
  bytes?: () => number;
}

/**
 * Runs `body` in one readwrite transaction over `storeNames` and waits for it to commit. On any
 * failure the transaction is aborted (so nothing is half-written) and a StorageQuotaError or
 * StorageWriteError is thrown; StoreNotFoundError thrown by `body` passes through unchanged.
 * `body` may await only requests on `tx`.
 */
export async function writeTransaction<Names extends StoreNames<HoneSchema>[], R>(
  db: HoneDb,
  storeNames: Names,
  context: WriteContext,
  body: (tx: WriteTx<Names>) => R | Promise<R>,
): Promise<R> {
  const tx = db.transaction(storeNames, 'readwrite');
  const raw = unwrap(tx) as IDBTransaction;
  // A failing request's error bubbles to the transaction before it aborts; idb's `done` then only
  // says "AbortError", so keep the first real cause here.
  let requestError: unknown;
  raw.addEventListener('error', (event) => {
    const error = (event.target as IDBRequest | null)?.error;
    if (error && error.name !== 'AbortError' && requestError === undefined) requestError = error;
  });
  tx.done.catch(() => {}); // handled below; an aborted transaction must not surface as unhandled
  try {
    const result = await body(tx);
    await tx.done;
    return result;
  } catch (caught) {
    try {
      raw.abort();
    } catch {
      // already aborted by the failing request, or already finished
    }
    if (caught instanceof StoreNotFoundError || caught instanceof StoreVersionError) throw caught;
    const cause = requestError ?? (isAbortError(caught) && raw.error ? raw.error : caught);
    let bytes: number | undefined;
    try {
      bytes = context.bytes?.();
    } catch {
      bytes = undefined;
    }
    throw await wrapStorageError(cause, context.what, bytes);
  }
}

function isAbortError(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'AbortError';
}

/**
 * Queues one add or put per value on a store without waiting for each; failures abort the
 * transaction and reach writeTransaction's catch through `tx.done`. Synchronous throws
 * (DataCloneError for an unstorable value) propagate immediately.
 */
export function fireWrites<Names extends StoreNames<HoneSchema>[], Name extends Names[number]>(
  tx: WriteTx<Names>,
  store: Name,
  method: 'add' | 'put',
  values: Iterable<HoneSchema[Name]['value']>,
): number {
  const target = unwrap(tx.objectStore(store)) as IDBObjectStore;
  let count = 0;
  for (const value of values) {
    if (method === 'add') target.add(value);
    else target.put(value);
    count += 1;
  }
  return count;
}

/** Queues a delete for each key without awaiting each one. */
export function fireDeletes<Names extends StoreNames<HoneSchema>[], Name extends Names[number]>(
  tx: WriteTx<Names>,
  store: Name,
  keys: Iterable<IDBValidKey | IDBKeyRange>,
): void {
  const target = unwrap(tx.objectStore(store)) as IDBObjectStore;
  for (const key of keys) target.delete(key);
}

/** Orders two ids as strings: with newId's layout, creation order. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

let lastIdTime = 0;
let idSequence = 0;
// random bytes drawn 4 KiB at a time and hex by table: an import makes one id per example
const randomPool = new Uint8Array(4096);
let poolOffset = randomPool.length;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * A fresh record id, ordered by creation: a UUIDv7 layout (RFC 9562) — 48 bits of milliseconds,
 * then a 12-bit counter that keeps ids made in the same millisecond in creation order, then random
 * bits. Stores keyed by id, and every sort that breaks a createdAt tie by id, then list records in
 * the order they were made; with random v4 ids such ties came back in a different order each run.
 */
export function newId(): string {
  let now = Date.now();
  if (now <= lastIdTime) {
    idSequence += 1;
    if (idSequence > 0xfff) {
      // 4096 ids in one millisecond: borrow the next millisecond rather than lose the order
      lastIdTime += 1;
      idSequence = 0;
    }
    now = lastIdTime;
  } else {
    lastIdTime = now;
    idSequence = 0;
  }
  if (poolOffset + 8 > randomPool.length) {
    crypto.getRandomValues(randomPool);
    poolOffset = 0;
  }
  const r = randomPool.subarray(poolOffset, (poolOffset += 8));
  const time = now.toString(16).padStart(12, '0');
  const sequence = (0x7000 | idSequence).toString(16);
  const variant = HEX[(r[0] & 0x3f) | 0x80]; // RFC 9562 variant bits 10
  return `${time.slice(0, 8)}-${time.slice(8)}-${sequence}-${variant}${HEX[r[1]]}-${HEX[r[2]]}${HEX[r[3]]}${HEX[r[4]]}${HEX[r[5]]}${HEX[r[6]]}${HEX[r[7]]}`;
}

/**
 * The exact bytes of a view as a standalone ArrayBuffer. Storing `view.buffer` would store the
 * whole underlying buffer when the view is a slice of a larger one (a file read, a tensor pool).
 */
export function exactArrayBuffer(view: ArrayBuffer | ArrayBufferView): ArrayBuffer {
  if (view instanceof ArrayBuffer) return view;
  const { buffer, byteOffset, byteLength } = view;
  if (buffer instanceof ArrayBuffer && byteOffset === 0 && byteLength === buffer.byteLength) return buffer;
  const copy = new Uint8Array(byteLength);
  copy.set(new Uint8Array(buffer, byteOffset, byteLength));
  return copy.buffer;
}

/** Rough size of a value as stored: strings as UTF-16, binary as its length. For error messages. */
export function approximateBytes(value: unknown, seen: Set<object> = new Set()): number {
  if (typeof value === 'string') return value.length * 2;
  if (typeof value === 'number') return 8;
  if (typeof value === 'boolean') return 4;
  if (typeof value !== 'object' || value === null) return 0;
  if (seen.has(value)) return 0;
  seen.add(value);
  if (value instanceof ArrayBuffer) return value.byteLength;
  if (ArrayBuffer.isView(value)) return value.byteLength;
  let total = 0;
  if (value instanceof Map) {
    for (const [k, v] of value) total += approximateBytes(k, seen) + approximateBytes(v, seen);
    return total;
  }
  if (Array.isArray(value)) {
    for (const item of value) total += approximateBytes(item, seen);
    return total;
  }
  for (const [k, v] of Object.entries(value)) total += k.length * 2 + approximateBytes(v, seen);
  return total;
}

/** The key range covering every compound key that starts with `prefix`. */
export function prefixRange(...prefix: IDBValidKey[]): IDBKeyRange {
  // Arrays sort after every number, date and string, so [...prefix, []] bounds all suffixes.
  return IDBKeyRange.bound(prefix, [...prefix, []]);
}
