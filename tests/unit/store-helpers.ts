// Shared by the store tests that check "stored data unchanged on error": a snapshot of the whole database.
import type { HoneDb } from '../../src/core/store';

/** Every record of every store, binary turned into byte arrays so toEqual compares contents. */
export async function dumpAll(db: HoneDb): Promise<Record<string, unknown[]>> {
  const dump: Record<string, unknown[]> = {};
  for (const name of [...db.objectStoreNames].sort()) {
    const records = await db.getAll(name);
    dump[name] = JSON.parse(JSON.stringify(records, (_key, value) => (value instanceof ArrayBuffer ? Array.from(new Uint8Array(value)) : value)));
  }
  return dump;
}
