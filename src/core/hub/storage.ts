// Where a pull writes: a port with one implementation per place (files for the CLI, OPFS for the
// studio later), like PretrainStorage in src/core/pretrain/loop.ts. The contract that makes a pulled
// folder "complete or absent": files are staged apart from the destination and only `commit` makes
// them visible, all at once (a rename); `discard` removes the staging without trace.

/** What a finished pull records beside its files, and how a reused download is recognised. */
export interface PullManifest {
  repo: string;
  /** the revision asked for (branch, tag or commit) */
  revision: string;
  /** the commit it resolved to */
  sha: string;
  endpoint: string;
  /** file name → size in bytes and the ETag it was downloaded with */
  files: Record<string, { bytes: number; etag: string | null }>;
}

export interface PullStorage {
  /** the manifest of a complete pull at the destination, or null when there is none */
  complete(): Promise<PullManifest | null>;
  /** bytes staged so far for `file` and the ETag they came with; null if nothing is staged */
  staged(file: string): Promise<{ bytes: number; etag: string | null } | null>;
  /** empties the staged `file` and records the ETag the new bytes come with */
  restart(file: string, etag: string | null): Promise<void>;
  append(file: string, chunk: Uint8Array): Promise<void>;
  /** the staged bytes of a file (small files: config.json, the index) */
  read(file: string): Promise<Uint8Array>;
  /** makes the staged files the destination, with the manifest, all or nothing */
  commit(manifest: PullManifest): Promise<void>;
  /** removes everything staged (after an error that a retry cannot fix) */
  discard(): Promise<void>;
}

/** An in-memory PullStorage: for tests and for callers that load the model straight away. */
export class MemoryPullStorage implements PullStorage {
  private readonly staging = new Map<string, { chunks: Uint8Array[]; bytes: number; etag: string | null }>();
  manifest: PullManifest | null = null;
  files: Map<string, Uint8Array> | null = null;

  async complete(): Promise<PullManifest | null> {
    return this.manifest;
  }
  async staged(file: string) {
    const entry = this.staging.get(file);
    return entry ? { bytes: entry.bytes, etag: entry.etag } : null;
  }
  async restart(file: string, etag: string | null) {
    this.staging.set(file, { chunks: [], bytes: 0, etag });
  }
  async append(file: string, chunk: Uint8Array) {
    const entry = this.staging.get(file);
    if (!entry) throw new Error(`MemoryPullStorage: append to ${file} before restart`);
    entry.chunks.push(chunk.slice());
    entry.bytes += chunk.byteLength;
  }
  async read(file: string): Promise<Uint8Array> {
    const entry = this.staging.get(file);
    if (!entry) throw new Error(`MemoryPullStorage: ${file} is not staged`);
    const out = new Uint8Array(entry.bytes);
    let at = 0;
    for (const chunk of entry.chunks) {
      out.set(chunk, at);
      at += chunk.byteLength;
    }
    return out;
  }
  async commit(manifest: PullManifest) {
    const files = new Map<string, Uint8Array>();
    for (const name of Object.keys(manifest.files)) files.set(name, await this.read(name));
    this.files = files;
    this.manifest = manifest;
    this.staging.clear();
  }
  async discard() {
    this.staging.clear();
  }
}
