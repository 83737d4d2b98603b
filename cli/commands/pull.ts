// `hone pull ORG/NAME [--revision R] --out DIR`: a model from the Hugging Face Hub (or HF_ENDPOINT)
// into a folder that is either complete or absent. Files are staged in a hidden sibling folder
// (.DIR.partial, kept after a cut connection or Ctrl-C so the next pull resumes) and renamed into
// place when every file is there. Also the file storage and the cache that `--model ORG/NAME` uses.
import { appendFile, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, totalmem } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError, intFlag, required, type ParsedArgs } from '../args';
import { isRepoId } from '../../src/core/hub/client';
import type { MemoryUse } from '../../src/core/hub/memory';
import { pullModel, type PullEvent, type PullResult } from '../../src/core/hub/pull';
import type { PullManifest, PullStorage } from '../../src/core/hub/storage';

export const MANIFEST_FILE = '.hone-pull.json';
const ETAGS_FILE = '.etags.json';

/** PullStorage on disk: staging in `.NAME.partial` beside `out`, committed by one rename. */
export class FilePullStorage implements PullStorage {
  readonly staging: string;
  private etags: Record<string, string | null> | null = null;

  constructor(readonly out: string) {
    this.staging = join(dirname(out), `.${basename(out)}.partial`);
  }

  async complete(): Promise<PullManifest | null> {
    try {
      return JSON.parse(await readFile(join(this.out, MANIFEST_FILE), 'utf8')) as PullManifest;
    } catch {
      return null;
    }
  }
  private async loadEtags(): Promise<Record<string, string | null>> {
    if (this.etags === null) {
      try {
        this.etags = JSON.parse(await readFile(join(this.staging, ETAGS_FILE), 'utf8')) as Record<string, string | null>;
      } catch {
        this.etags = {};
      }
    }
    return this.etags;
  }
  async staged(file: string) {
    const etags = await this.loadEtags();
    if (!Object.hasOwn(etags, file)) return null;
    try {
      return { bytes: (await stat(join(this.staging, file))).size, etag: etags[file] };
    } catch {
      return null;
    }
  }
  async restart(file: string, etag: string | null) {
    await mkdir(this.staging, { recursive: true });
    const etags = await this.loadEtags();
    await writeFile(join(this.staging, file), new Uint8Array(0));
    etags[file] = etag;
    // the ETag is recorded before any byte, so staged bytes always have the ETag they came with
    await writeFile(join(this.staging, ETAGS_FILE), JSON.stringify(etags));
  }
  async append(file: string, chunk: Uint8Array) {
    await appendFile(join(this.staging, file), chunk);
  }
  async read(file: string) {
    return new Uint8Array(await readFile(join(this.staging, file)));
  }
  async commit(manifest: PullManifest) {
    await writeFile(join(this.staging, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
    await rm(join(this.staging, ETAGS_FILE), { force: true });
    // what was at the destination (an empty folder, or an earlier pull of the same repo: pullCommand
    // refuses anything else) is moved aside first, so the destination is never half one, half the other
    const previous = `${this.staging}.previous`;
    const moved = await rename(this.out, previous).then(() => true, () => false);
    await rename(this.staging, this.out);
    if (moved) await rm(previous, { recursive: true, force: true });
  }
  async discard() {
    await rm(this.staging, { recursive: true, force: true });
    this.etags = null;
  }
}

/** "8GB", "512MB", "1.5GiB" or plain bytes. */
export function parseBytes(raw: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?$/i.exec(raw.trim());
  if (!match) throw new UsageError(`--${flag} must be a size such as 8GB, 512MB or a number of bytes, got "${raw}"`);
  const unit = (match[2] ?? 'B').toLowerCase();
  const scale: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };
  return Math.round(Number(match[1]) * scale[unit]);
}

/** The environment's Hub settings, as huggingface_hub reads them. */
export function hubEnvironment(): { endpoint?: string; token?: string } {
  const endpoint = process.env['HF_ENDPOINT']?.trim() || undefined;
  const token = process.env['HF_TOKEN']?.trim() || undefined;
  return { endpoint, token };
}

/** Progress as JSON lines on stderr: every event, progress at most twice a second per file. */
export function stderrProgress(): (event: PullEvent) => void {
  let lastAt = 0;
  let lastFile = '';
  return (event) => {
    if (event.kind === 'progress') {
      const now = Date.now();
      const fileDone = event.fileTotal !== null && event.fileBytes === event.fileTotal;
      if (!fileDone && event.file === lastFile && now - lastAt < 500) return;
      lastAt = now;
      lastFile = event.file;
      const { bytesPerSecond, etaSeconds, ...rest } = event;
      process.stderr.write(JSON.stringify({ ...rest, bytesPerSecond: Math.round(bytesPerSecond), etaSeconds: etaSeconds === null ? null : Math.round(etaSeconds) }) + '\n');
      return;
    }
    process.stderr.write(JSON.stringify(event) + '\n');
  };
}

function useOf(method: string | undefined): MemoryUse {
  if (method === undefined) return 'inference';
  if (method === 'full' || method === 'freeze') return 'full';
  if (['lora', 'ia3', 'prefix', 'prompt', 'adapter'].includes(method)) return 'peft';
  throw new UsageError(`--method must be one of lora, ia3, prefix, prompt, adapter, full, freeze (for the memory estimate), got "${method}"`);
}

const defaultMaxMemory = () => Math.floor(0.75 * totalmem());

async function refuseOccupied(out: string, storage: FilePullStorage, repo: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(out);
  } catch {
    return; // absent: fine
  }
  if (names.length === 0) return;
  const manifest = await storage.complete();
  if (manifest?.repo === repo) return; // pullModel reuses it when the revision matches
  throw new UsageError(`pull: ${out} already exists and holds ${manifest ? `a pull of ${manifest.repo}` : 'other files'}; choose another --out or delete it`);
}

export async function pullCommand(args: ParsedArgs): Promise<unknown> {
  const repo = args.positional[0];
  if (!repo) throw new UsageError('pull: give the model id, e.g. `pull HuggingFaceTB/SmolLM2-135M --out models/smollm2`');
  if (!isRepoId(repo)) throw new UsageError(`pull: ${JSON.stringify(repo)} is not a Hub model id; give ORG/NAME`);
  const out = resolve(required(args, 'out'));
  const storage = new FilePullStorage(out);
  await refuseOccupied(out, storage, repo);
  const maxMemory = args.flags.has('max-memory') ? parseBytes(args.flags.get('max-memory')!, 'max-memory') : defaultMaxMemory();
  const batch = args.flags.has('batch') ? intFlag(args, 'batch', 0) : undefined;
  const sequenceLength = args.flags.has('max-length') ? intFlag(args, 'max-length', 0) : undefined;
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  try {
    const result = await pullModel({
      ...hubEnvironment(),
      repo,
      revision: args.flags.get('revision'),
      storage,
      maxMemoryBytes: maxMemory,
      memory: { use: useOf(args.flags.get('method')), batch, sequenceLength },
      signal: controller.signal,
      onEvent: stderrProgress(),
    });
    return summary(result, out);
  } finally {
    process.off('SIGINT', onSignal);
  }
}

function summary(result: PullResult, out: string) {
  const { manifest, reused, estimate } = result;
  const files = Object.entries(manifest.files).map(([name, f]) => ({ name, bytes: f.bytes }));
  return {
    repo: manifest.repo,
    revision: manifest.revision,
    sha: manifest.sha,
    out,
    reused,
    files,
    bytes: files.reduce((sum, f) => sum + f.bytes, 0),
    ...(estimate ? { parameters: estimate.parameters, estimatedBytes: estimate.totalBytes } : {}),
  };
}

/** $HONE_CACHE or ~/.cache/hone/hub; one folder per repo and revision, as huggingface_hub names them. */
export function cacheFolder(repo: string, revision: string): string {
  const root = process.env['HONE_CACHE']?.trim() || join(homedir(), '.cache', 'hone', 'hub');
  return join(root, `models--${repo.replace('/', '--')}`, revision.replace(/[^\w.-]/g, '_'));
}

/** `--model ORG/NAME[@REV]`: the cached pull, fetched first when it is not complete. Returns the folder. */
export async function pullToCache(id: string): Promise<string> {
  const at = id.indexOf('@');
  const repo = at === -1 ? id : id.slice(0, at);
  const revision = at === -1 ? 'main' : id.slice(at + 1);
  const folder = cacheFolder(repo, revision);
  await mkdir(dirname(folder), { recursive: true });
  await pullModel({ ...hubEnvironment(), repo, revision, storage: new FilePullStorage(folder), maxMemoryBytes: defaultMaxMemory(), onEvent: stderrProgress() });
  return folder;
}
