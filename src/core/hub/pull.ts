// Pulls a model from the Hub by id: the file list, the small files (config, tokenizer), a memory
// estimate from config.json that refuses a model that will not fit before any weight is fetched,
// then the weights (model.safetensors, or the index and its shards), each resumable; the staged
// files become the destination only when every one is complete (PullStorage.commit).
import { parseConfig, ConfigError, type ModelConfig } from '../model/config';
import { fetchRepoInfo, endpointOf, HubError, type HubOptions, type RepoInfo } from './client';
import { downloadFile } from './download';
import { estimateMemory, formatBytes, type MemoryEstimate, type MemoryOptions } from './memory';
import type { PullManifest, PullStorage } from './storage';

export const SINGLE_WEIGHTS = 'model.safetensors';
export const WEIGHTS_INDEX = 'model.safetensors.index.json';
/** fetched when the repo has them; config.json and tokenizer.json are required */
const OPTIONAL_FILES = ['tokenizer_config.json', 'generation_config.json', 'special_tokens_map.json', 'chat_template.jinja'];

export type PullEvent =
  | { kind: 'info'; repo: string; revision: string; sha: string; files: string[]; totalBytes: number | null }
  | ({ kind: 'estimate'; limitBytes: number | null } & MemoryEstimate)
  | { kind: 'file'; file: string; bytes: number | null }
  | {
      kind: 'progress';
      file: string;
      fileBytes: number;
      fileTotal: number | null;
      /** all files: bytes staged so far (resumed ones included) and the total from the file list */
      bytes: number;
      totalBytes: number | null;
      /** this session's bytes over its time */
      bytesPerSecond: number;
      etaSeconds: number | null;
    }
  | { kind: 'retry'; file: string; attempt: number; fromByte: number; reason: string }
  | { kind: 'reused'; repo: string; sha: string };

export interface PullOptions extends HubOptions {
  repo: string;
  revision?: string;
  storage: PullStorage;
  /** refuse before the weights download when the estimate exceeds this (bytes); no limit when absent */
  maxMemoryBytes?: number;
  memory?: MemoryOptions;
  /** a further check once config.json is in (the studio's GPU and device limits): a refusal message, or null to go on */
  refuse?: (config: ModelConfig, estimate: MemoryEstimate) => string | null;
  /** retries per file after a cut connection (default 3) */
  retries?: number;
  onEvent?: (event: PullEvent) => void;
  /** milliseconds, for the rate and ETA (default Date.now) */
  now?: () => number;
}

export interface PullResult {
  manifest: PullManifest;
  /** true when the destination already held this pull and nothing was fetched */
  reused: boolean;
  estimate: MemoryEstimate | null;
}

function shardsOf(indexBytes: Uint8Array, info: RepoInfo): string[] {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(indexBytes));
  } catch (error) {
    throw new HubError(`${info.repo}: ${WEIGHTS_INDEX} is not valid JSON (${(error as Error).message})`, 'bad-repo', info.repo, WEIGHTS_INDEX);
  }
  const map = (json as { weight_map?: unknown })?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    throw new HubError(`${info.repo}: ${WEIGHTS_INDEX} has no "weight_map" object`, 'bad-repo', info.repo, WEIGHTS_INDEX);
  }
  const listed = new Set(info.siblings.map((s) => s.rfilename));
  const shards = [...new Set(Object.values(map as Record<string, unknown>))].sort();
  for (const shard of shards) {
    // a name from the network becomes a file name here: no folders, no "..", and one the repo has
    if (typeof shard !== 'string' || !/^[\w.-]+\.safetensors$/.test(shard) || shard.startsWith('.') || !listed.has(shard)) {
      throw new HubError(`${info.repo}: ${WEIGHTS_INDEX} names shard ${JSON.stringify(shard)}, which is not a .safetensors file of the repo`, 'bad-repo', info.repo, WEIGHTS_INDEX);
    }
  }
  return shards as string[];
}

function planSmallFiles(info: RepoInfo): { small: string[]; sharded: boolean } {
  const names = new Set(info.siblings.map((s) => s.rfilename));
  const missing = (file: string, why: string) => new HubError(`${info.repo} (revision ${info.revision}) has no ${file}; ${why}`, 'bad-repo', info.repo, file);
  if (!names.has('config.json')) throw missing('config.json', 'it is not a transformers model repo');
  if (!names.has('tokenizer.json')) throw missing('tokenizer.json', 'Hone needs the fast-tokenizer file (tokenizer.save_pretrained writes it)');
  const sharded = !names.has(SINGLE_WEIGHTS);
  if (sharded && !names.has(WEIGHTS_INDEX)) {
    const bin = [...names].some((n) => n.endsWith('.bin'));
    throw missing(
      `${SINGLE_WEIGHTS} or ${WEIGHTS_INDEX}`,
      bin ? 'its weights are PyTorch .bin files, which Hone does not read; pick a repo (or revision) with safetensors weights' : 'Hone reads safetensors weights',
    );
  }
  const small = ['config.json', 'tokenizer.json', ...OPTIONAL_FILES.filter((f) => names.has(f)), ...(sharded ? [WEIGHTS_INDEX] : [])];
  return { small, sharded };
}

export async function pullModel(options: PullOptions): Promise<PullResult> {
  const { repo, storage } = options;
  const revision = options.revision ?? 'main';
  const emit = options.onEvent ?? (() => {});
  const now = options.now ?? Date.now;
  const existing = await storage.complete();
  if (existing && existing.repo === repo && (existing.revision === revision || existing.sha === revision)) {
    emit({ kind: 'reused', repo, sha: existing.sha });
    return { manifest: existing, reused: true, estimate: null };
  }
  const info = await fetchRepoInfo(options, repo, revision);
  const { small, sharded } = planSmallFiles(info);
  const sizes = new Map(info.siblings.map((s) => [s.rfilename, s.size]));
  const files: PullManifest['files'] = {};
  const started = now();
  let sessionBytes = 0;
  let doneBytes = 0; // completed files
  let totalBytes: number | null = null;
  const fetchOne = async (file: string) => {
    emit({ kind: 'file', file, bytes: sizes.get(file) ?? null });
    const result = await downloadFile(
      {
        options,
        repo,
        revision: info.sha,
        storage,
        retries: options.retries ?? 3,
        onBytes: (name, fileBytes, fileTotal, delta) => {
          sessionBytes += delta;
          const seconds = Math.max((now() - started) / 1000, 1e-3);
          const bytesPerSecond = sessionBytes / seconds;
          const bytes = doneBytes + fileBytes;
          const etaSeconds = totalBytes === null || bytesPerSecond === 0 ? null : Math.max(0, (totalBytes - bytes) / bytesPerSecond);
          emit({ kind: 'progress', file: name, fileBytes, fileTotal, bytes, totalBytes, bytesPerSecond, etaSeconds });
        },
        onRestart: (name, event) => emit({ kind: 'retry', file: name, ...event }),
      },
      file,
    );
    doneBytes += result.bytes;
    files[file] = result;
  };
  try {
    for (const file of small) await fetchOne(file);
    const weights = sharded ? shardsOf(await storage.read(WEIGHTS_INDEX), info) : [SINGLE_WEIGHTS];
    const all = [...small, ...weights];
    totalBytes = all.every((f) => sizes.get(f) !== undefined) ? all.reduce((sum, f) => sum + sizes.get(f)!, 0) : null;
    emit({ kind: 'info', repo, revision, sha: info.sha, files: all, totalBytes });

    let config;
    try {
      config = parseConfig(JSON.parse(new TextDecoder().decode(await storage.read('config.json'))));
    } catch (error) {
      const detail = error instanceof ConfigError ? error.message : `config.json is not valid JSON (${(error as Error).message})`;
      throw new HubError(`${repo}: ${detail}; Hone cannot load this model`, 'bad-repo', repo, 'config.json');
    }
    const estimate = estimateMemory(config, options.memory);
    emit({ kind: 'estimate', limitBytes: options.maxMemoryBytes ?? null, ...estimate });
    if (options.maxMemoryBytes !== undefined && estimate.totalBytes > options.maxMemoryBytes) {
      const use = options.memory?.use ?? 'inference';
      throw new HubError(
        `${repo}: needs about ${formatBytes(estimate.totalBytes)} (${estimate.parameters.toLocaleString('en-US')} parameters as float32` +
          `${use === 'inference' ? '' : `, plus ${use === 'full' ? 'full fine-tuning' : 'PEFT'} gradients, optimizer state and activations`}) ` +
          `but the limit is ${formatBytes(options.maxMemoryBytes)}; nothing was downloaded. Pick a smaller model` +
          `${use === 'full' ? ', or train with LoRA instead of full fine-tuning' : use === 'peft' ? ', or a smaller batch or sequence length' : ''}, or raise the limit`,
        'too-large',
        repo,
      );
    }
    const refusal = options.refuse?.(config, estimate) ?? null;
    if (refusal !== null) throw new HubError(`${repo}: ${refusal}; nothing was downloaded`, 'too-large', repo);
    for (const file of weights) await fetchOne(file);
    const manifest: PullManifest = { repo, revision, sha: info.sha, endpoint: endpointOf(options), files };
    await storage.commit(manifest);
    return { manifest, reused: false, estimate };
  } catch (error) {
    // Refusals (not found, access, too large, a broken repo) leave nothing behind; a cut connection
    // or a cancel keeps the staged bytes so that the next pull resumes.
    const keep = error instanceof HubError && (error.kind === 'network' || error.kind === 'cancelled');
    if (!keep) await storage.discard();
    throw error;
  }
}
