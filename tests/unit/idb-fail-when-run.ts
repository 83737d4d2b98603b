// A write the browser accepts and refuses later: the request fails when the transaction runs it
// (Firefox's quota refusal), not as a synchronous throw from put(). Needs fake-indexeddb's internals:
// each IDBObjectStore keeps its backing store as `_rawObjectStore`, and put()/delete() bind that
// store's storeRecord/deleteRecord as the operation the transaction runs later, so swapping the
// operation around one real call makes exactly that request fail (or do more) when it runs.

export type Operation = (...args: unknown[]) => unknown;
export interface RawStore {
  storeRecord: Operation;
  deleteRecord: Operation;
}

function rawStoreOf(store: IDBObjectStore): RawStore {
  const raw = (store as unknown as { _rawObjectStore?: RawStore })._rawObjectStore;
  if (!raw || typeof raw.storeRecord !== 'function' || typeof raw.deleteRecord !== 'function') {
    throw new Error('fake-indexeddb no longer keeps its backing store as _rawObjectStore: update this stub');
  }
  return raw;
}

export const quotaError = () => new DOMException('The quota has been exceeded.', 'QuotaExceededError');

/**
 * Calls the real put() or delete() with the backing store's operation swapped for `failing` (given
 * the real one), so the request is accepted now and fails when the transaction runs it.
 */
export function failWhenRun<M extends 'put' | 'delete'>(
  store: IDBObjectStore,
  method: M,
  args: Parameters<IDBObjectStore[M]>,
  real: IDBObjectStore[M],
  failing: (operation: Operation, raw: RawStore) => Operation,
): IDBRequest {
  const raw = rawStoreOf(store);
  const name = method === 'put' ? 'storeRecord' : 'deleteRecord';
  const operation = raw[name];
  raw[name] = failing(operation.bind(raw), raw);
  try {
    return (real as (...a: unknown[]) => IDBRequest).apply(store, args);
  } finally {
    raw[name] = operation; // only the request just queued runs the failing operation
  }
}

