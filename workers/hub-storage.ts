// The studio's PullStorage (src/core/hub/storage.ts) on the origin-private file system, so that a
// pull survives a reload: each pull is a folder hub-cache/<repo>@<revision>/ holding the files as
// they download, `.pull.json` (where the pull came from and the ETag each staged file was fetched
// with: what a resumed Range request is checked against) and, once every file is in,
// `.manifest.json`. A folder without a manifest is a partial pull; pulling it again resumes.
// Writes use FileSystemSyncAccessHandle (dedicated workers only; appends without copying the file,
// which createWritable's swap file would do on every chunk). Type-checked against the WebWorker lib.
import type { PullManifest, PullStorage } from '../src/core/hub/storage';
import { formatBytes } from '../src/core/hub/memory';

/**
 * FileSystemSyncAccessHandle as far as this file uses it: declared here because the main thread's
 * type check (DOM lib, which reaches this file through the worker's types) lacks it.
 */
interface SyncAccessHandle {
  write(buffer: Uint8Array, options?: { at?: number }): number;
  truncate(size: number): void;
  getSize(): number;
  flush(): void;
  close(): void;
}

const openSync = (file: FileSystemFileHandle): Promise<SyncAccessHandle> =>
  (file as unknown as { createSyncAccessHandle(): Promise<SyncAccessHandle> }).createSyncAccessHandle();

const CACHE_DIR = 'hub-cache';
const PULL_FILE = '.pull.json';
const MANIFEST_FILE = '.manifest.json';

interface PullMeta {
  repo: string;
  revision: string;
  endpoint: string;
  etags: Record<string, string | null>;
}

export interface CachedPull {
  key: string;
  repo: string;
  revision: string;
  endpoint: string;
  /** the commit, once complete */
  sha: string | null;
  complete: boolean;
  /** bytes on disk, partial files included */
  bytes: number;
  files: number;
}

/** What a quota error is turned into: what ran out, how much is used of what the browser allows. */
export class StorageQuotaError extends Error {
  override name = 'StorageQuotaError';
}

export const cacheKey = (repo: string, revision: string) => `${encodeURIComponent(repo)}@${encodeURIComponent(revision)}`;

async function cacheRoot(): Promise<FileSystemDirectoryHandle> {
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle(CACHE_DIR, { create: true });
}

async function readJson<T>(dir: FileSystemDirectoryHandle, name: string): Promise<T | null> {
  try {
    const file = await (await dir.getFileHandle(name)).getFile();
    return JSON.parse(await file.text()) as T;
  } catch (error) {
    if ((error as DOMException).name === 'NotFoundError') return null;
    throw error;
  }
}

async function writeWhole(dir: FileSystemDirectoryHandle, name: string, bytes: Uint8Array): Promise<void> {
  const handle = await openSync(await dir.getFileHandle(name, { create: true }));
  try {
    handle.truncate(0);
    handle.write(bytes, { at: 0 });
    handle.flush();
  } finally {
    handle.close();
  }
}

/** The explanation for a QuotaExceededError, with the browser's storage estimate. */
export async function quotaMessage(file: string): Promise<string> {
  const { usage, quota } = await navigator.storage.estimate().catch(() => ({ usage: undefined, quota: undefined }));
  const used = usage === undefined || quota === undefined ? 'the browser did not say how much is used' : `${formatBytes(usage)} used of ${formatBytes(quota)} this site may store`;
  return (
    `Browser storage is full while writing ${file} (${used}). Delete cached pulls or stored models you no longer need ` +
    `(Models view), or free disk space: browsers let a site use a share of the free disk. The bytes so far are kept; pull again to resume.`
  );
}

export class OpfsPullStorage implements PullStorage {
  readonly #handles = new Map<string, SyncAccessHandle>();
  #meta: PullMeta;
  /** set when a write ran out of quota: downloadFile takes any write error for a cut connection and retries */
  quotaError: StorageQuotaError | null = null;

  private constructor(
    readonly key: string,
    readonly dir: FileSystemDirectoryHandle,
    meta: PullMeta,
  ) {
    this.#meta = meta;
  }

  /** Opens (or starts) the cache folder of repo@revision; a partial pull from another endpoint starts over. */
  static async open(repo: string, revision: string, endpoint: string): Promise<OpfsPullStorage> {
    const key = cacheKey(repo, revision);
    const dir = await (await cacheRoot()).getDirectoryHandle(key, { create: true });
    const meta = await readJson<PullMeta>(dir, PULL_FILE);
    const storage = new OpfsPullStorage(key, dir, meta && meta.endpoint === endpoint ? meta : { repo, revision, endpoint, etags: {} });
    if (!meta || meta.endpoint !== endpoint) {
      await storage.discardFiles();
      await storage.#saveMeta();
    }
    return storage;
  }

  async #saveMeta(): Promise<void> {
    await writeWhole(this.dir, PULL_FILE, new TextEncoder().encode(JSON.stringify(this.#meta)));
  }

  async #handle(file: string): Promise<SyncAccessHandle> {
    let handle = this.#handles.get(file);
    if (!handle) {
      handle = await openSync(await this.dir.getFileHandle(file, { create: true }));
      this.#handles.set(file, handle);
    }
    return handle;
  }

  #close(file: string): void {
    const handle = this.#handles.get(file);
    if (handle) {
      handle.flush();
      handle.close();
      this.#handles.delete(file);
    }
  }

  /** Closes every open file (the pull ended or was cancelled): the bytes stay for a resume. */
  close(): void {
    for (const file of [...this.#handles.keys()]) this.#close(file);
  }

  async complete(): Promise<PullManifest | null> {
    return readJson<PullManifest>(this.dir, MANIFEST_FILE);
  }

  async staged(file: string): Promise<{ bytes: number; etag: string | null } | null> {
    if (!(file in this.#meta.etags)) return null;
    const open = this.#handles.get(file);
    if (open) return { bytes: open.getSize(), etag: this.#meta.etags[file] };
    try {
      const size = (await (await this.dir.getFileHandle(file)).getFile()).size;
      return { bytes: size, etag: this.#meta.etags[file] };
    } catch {
      return null;
    }
  }

  async restart(file: string, etag: string | null): Promise<void> {
    const handle = await this.#handle(file);
    handle.truncate(0);
    handle.flush();
    this.#meta.etags[file] = etag;
    await this.#saveMeta();
  }

  async append(file: string, chunk: Uint8Array): Promise<void> {
    const handle = await this.#handle(file);
    try {
      const written = handle.write(chunk, { at: handle.getSize() });
      if (written !== chunk.byteLength) throw new DOMException(`wrote ${written} of ${chunk.byteLength} bytes`, 'QuotaExceededError');
    } catch (error) {
      if ((error as DOMException).name === 'QuotaExceededError') {
        this.quotaError = new StorageQuotaError(await quotaMessage(file));
        throw this.quotaError;
      }
      throw error;
    }
  }

  async read(file: string): Promise<Uint8Array> {
    this.#close(file);
    const blob = await (await this.dir.getFileHandle(file)).getFile();
    return new Uint8Array(await blob.arrayBuffer());
  }

  async commit(manifest: PullManifest): Promise<void> {
    this.close();
    // the manifest is written last and alone marks the folder complete: a reload before this line
    // leaves a partial pull that resumes, never a folder that looks complete and is not
    await writeWhole(this.dir, MANIFEST_FILE, new TextEncoder().encode(JSON.stringify(manifest)));
  }

  async discard(): Promise<void> {
    this.close();
    await (await cacheRoot()).removeEntry(this.key, { recursive: true }).catch(() => undefined);
  }

  /** Empties the folder (another endpoint's partial files cannot be resumed against this one). */
  private async discardFiles(): Promise<void> {
    const names: string[] = [];
    for await (const name of this.dir.keys()) names.push(name);
    for (const name of names) await this.dir.removeEntry(name);
  }

  /** The files of a complete pull, as the checkpoint loader takes them. */
  async files(manifest: PullManifest): Promise<Map<string, Uint8Array>> {
    const files = new Map<string, Uint8Array>();
    for (const name of Object.keys(manifest.files)) files.set(name, await this.read(name));
    return files;
  }
}

/** Every pull in the cache, complete or partial, with its size on disk. */
export async function listCachedPulls(): Promise<CachedPull[]> {
  const root = await cacheRoot();
  const pulls: CachedPull[] = [];
  for await (const [key, handle] of root.entries()) {
    if (handle.kind !== 'directory') continue;
    const dir = handle as FileSystemDirectoryHandle;
    const meta = await readJson<PullMeta>(dir, PULL_FILE).catch(() => null);
    const manifest = await readJson<PullManifest>(dir, MANIFEST_FILE).catch(() => null);
    let bytes = 0;
    let files = 0;
    for await (const [name, entry] of dir.entries()) {
      if (entry.kind !== 'file' || name.startsWith('.')) continue;
      files++;
      // a file being written right now is locked by its access handle: counted without its size
      bytes += await (entry as FileSystemFileHandle).getFile().then((f) => f.size, () => 0);
    }
    const [repo, revision] = key.split('@').map(decodeURIComponent);
    pulls.push({
      key,
      repo: manifest?.repo ?? meta?.repo ?? repo,
      revision: manifest?.revision ?? meta?.revision ?? revision ?? 'main',
      endpoint: manifest?.endpoint ?? meta?.endpoint ?? '',
      sha: manifest?.sha ?? null,
      complete: manifest !== null,
      bytes,
      files,
    });
  }
  return pulls.sort((a, b) => a.key.localeCompare(b.key));
}

export async function deleteCachedPull(key: string): Promise<void> {
  await (await cacheRoot()).removeEntry(key, { recursive: true });
}
