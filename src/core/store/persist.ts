// Asking the browser to keep Hone's data. Without persistence a browser may evict IndexedDB under
// disk pressure, taking imported models and training runs with it. navigator.storage exists on
// the main thread and in workers; Node (CLI, tests) has none, so every call here is guarded.

export interface StorageStanding {
  /** true when the browser promised not to evict this site's data without asking the user */
  persisted: boolean;
  /** bytes this site uses, when the browser reports it */
  usage?: number;
  /** bytes this site may use, when the browser reports it */
  quota?: number;
}

interface StorageLike {
  persist?: () => Promise<boolean>;
  persisted?: () => Promise<boolean>;
  estimate?: () => Promise<{ usage?: number; quota?: number }>;
}

function storageManager(): StorageLike | undefined {
  const nav = (globalThis as { navigator?: { storage?: StorageLike } }).navigator;
  return nav?.storage ?? undefined;
}

/** navigator.storage.estimate(), or undefined where there is none or it fails. Never throws. */
export async function storageEstimate(): Promise<{ usage?: number; quota?: number } | undefined> {
  const storage = storageManager();
  if (typeof storage?.estimate !== 'function') return undefined;
  try {
    const { usage, quota } = await storage.estimate();
    return { usage, quota };
  } catch {
    return undefined;
  }
}

/**
 * Asks for persistent storage (Chromium grants it silently to installed or engaged sites, Firefox
 * may prompt) and reports usage and quota. Reports `persisted: false` where there is no storage
 * manager (Node) or the browser declines. Never throws.
 */
export async function requestPersistentStorage(): Promise<StorageStanding> {
  const storage = storageManager();
  let persisted = false;
  try {
    // persist() is only on the main thread; a worker can still learn whether it was granted.
    if (typeof storage?.persist === 'function') persisted = await storage.persist();
    else if (typeof storage?.persisted === 'function') persisted = await storage.persisted();
  } catch {
    persisted = false;
  }
  const estimate = await storageEstimate();
  const standing: StorageStanding = { persisted };
  if (estimate?.usage !== undefined) standing.usage = estimate.usage;
  if (estimate?.quota !== undefined) standing.quota = estimate.quota;
  return standing;
}
