// Loading a stored model as the current one: shared by the Models list (studio.worker loadModel) and
// by training, which reloads a run's model to resume or export it after the page was reloaded; and
// pulling a model by Hub id (hubApi, below).
import { loadCheckpoint, type Checkpoint } from '../src/core/model/checkpoint';
import { Decoder } from '../src/core/model/decoder';
import { getModel, getModelFiles, listModels, saveModel } from '../src/core/store';
import { db, releaseCallback, requireBackend, requireModel, setCurrent, type LoadedModel } from './context';
import { modelInput, summarize, type ModelSummary } from './model-summary';
import * as tf from '@tensorflow/tfjs';
import { parseConfig, type ModelConfig } from '../src/core/model/config';
import { HubError, DEFAULT_ENDPOINT } from '../src/core/hub/client';
import { pullModel, type PullEvent } from '../src/core/hub/pull';
import { deviceFit, estimateMemory, type DeviceLimits, type MemoryEstimate, type MemoryUse } from '../src/core/hub/memory';
import { deleteCachedPull, listCachedPulls, OpfsPullStorage, cacheKey, type CachedPull } from './hub-storage';

/** Builds the decoder for a validated checkpoint and makes it the current model. */
export function makeCurrent(checkpoint: Checkpoint, summary: ModelSummary): ModelSummary {
  // Build before disposing the old one: if this throws, the previous model stays usable.
  const decoder = Decoder.fromHost(checkpoint.config, checkpoint.weights);
  setCurrent({ summary, decoder, tokenizer: checkpoint.tokenizer, checkpoint });
  return summary;
}

/** Reads a stored model's files, builds its decoder and makes it current (the old one is disposed). */
export async function loadStoredModel(id: string): Promise<LoadedModel> {
  requireBackend();
  const handle = await db();
  const files = await getModelFiles(handle, id); // throws naming the id when it is gone
  const record = await getModel(handle, id);
  if (!record) throw new Error(`Model "${id}" was deleted while it was loading; choose another model.`);
  const checkpoint = loadCheckpoint(files);
  // Build before replacing the current model: if this throws, the previous model stays usable.
  const decoder = Decoder.fromHost(checkpoint.config, checkpoint.weights);
  const loaded: LoadedModel = { summary: summarize(record), decoder, tokenizer: checkpoint.tokenizer, checkpoint };
  setCurrent(loaded);
  return loaded;
}

// ---- pulling by Hub id ---------------------------------------------------------------------------
// The Models view's "load by Hub id": src/core/hub/pull.ts into the OPFS cache (hub-storage.ts),
// refused before the weights download when the model will not fit this GPU adapter or device
// (memory.ts deviceFit), then the same import as dropped files: validated by loadCheckpoint,
// stored in IndexedDB, made current.

export type { CachedPull };

export interface HubPullRequest {
  repo: string;
  revision?: string;
  /** default https://huggingface.co */
  endpoint?: string;
  token?: string;
  /** what the model is for, for the memory estimate (default 'peft') */
  use?: MemoryUse;
  batch?: number;
  sequenceLength?: number;
}

export type HubPullEvent = PullEvent | { kind: 'stage'; stage: 'validating' | 'saving' | 'loading' };

export interface MemoryFitRequest {
  use: MemoryUse;
  batch?: number;
  sequenceLength?: number;
  gradientCheckpointing?: boolean;
}

export interface MemoryFitAnswer extends MemoryEstimate {
  fits: boolean;
  message: string | null;
  limits: DeviceLimits;
}

let pulling: { controller: AbortController; key: string } | null = null;

/** The adapter's buffer limits when tfjs runs on WebGPU, and navigator.deviceMemory where the browser has it. */
export async function deviceLimits(): Promise<DeviceLimits> {
  let maxBufferSize: number | null = null;
  let maxStorageBufferBindingSize: number | null = null;
  if (tf.getBackend() === 'webgpu' && 'gpu' in navigator) {
    const adapter = await navigator.gpu.requestAdapter().catch(() => null);
    if (adapter) {
      maxBufferSize = adapter.limits.maxBufferSize;
      maxStorageBufferBindingSize = adapter.limits.maxStorageBufferBindingSize;
    }
  }
  const memory = (navigator as WorkerNavigator & { deviceMemory?: number }).deviceMemory;
  return { maxBufferSize, maxStorageBufferBindingSize, deviceMemoryGb: typeof memory === 'number' ? memory : null };
}

function fitMessage(config: ModelConfig, limits: DeviceLimits, request: MemoryFitRequest): MemoryFitAnswer {
  const options = { use: request.use, batch: request.batch, sequenceLength: request.sequenceLength, gradientCheckpointing: request.gradientCheckpointing };
  const estimate = estimateMemory(config, options);
  const fit = deviceFit(config, estimate, limits, options);
  return { ...estimate, fits: fit.fits, message: fit.message, limits };
}

/** Validates and stores pulled files as an import of local files does, then makes the model current. */
async function importPulled(files: Map<string, Uint8Array>, name: string, source: string, emit: (stage: 'validating' | 'saving' | 'loading') => Promise<void>): Promise<ModelSummary> {
  await emit('validating');
  const checkpoint = loadCheckpoint(files);
  await emit('saving');
  const stored = await saveModel(await db(), modelInput(checkpoint, name, source), files);
  await emit('loading');
  return makeCurrent(checkpoint, summarize(stored));
}

export const hubApi = {
  /**
   * Pulls ORG/NAME at a revision into the OPFS cache (resuming a partial pull), then imports it.
   * `cancelHubPull()` stops it; the bytes so far stay for the next pull. Refusals (401/403/404, too
   * large) leave nothing in the cache.
   */
  async pullHubModel(request: HubPullRequest, onEvent?: (event: HubPullEvent) => void): Promise<ModelSummary> {
    requireBackend();
    if (pulling) throw new Error(`A pull is already running (${decodeURIComponent(pulling.key)}): cancel it or wait for it.`);
    const repo = request.repo.trim();
    const revision = request.revision?.trim() || 'main';
    const endpoint = (request.endpoint?.trim() || DEFAULT_ENDPOINT).replace(/\/+$/, '');
    const controller = new AbortController();
    pulling = { controller, key: cacheKey(repo, revision) };
    let storage: OpfsPullStorage | null = null;
    // progress at most every 100 ms (comlink messages are not free, and the view redraws on each),
    // the latest one held back sent when the 100 ms are up: a stalled download still shows its bytes
    let lastProgress = 0;
    let heldBack: HubPullEvent | null = null;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const send = (event: HubPullEvent) => {
      if (event.kind === 'progress') lastProgress = Date.now();
      void onEvent?.(event);
    };
    const emit = (event: HubPullEvent) => {
      if (event.kind === 'progress' && Date.now() - lastProgress < 100 && event.bytes !== event.totalBytes) {
        heldBack = event;
        timer ??= setTimeout(() => {
          timer = null;
          if (heldBack) send(heldBack);
          heldBack = null;
        }, 100);
        return;
      }
      if (event.kind === 'progress') heldBack = null;
      send(event);
    };
    try {
      storage = await OpfsPullStorage.open(repo, revision, endpoint);
      const limits = await deviceLimits();
      const use = request.use ?? 'peft';
      const result = await pullModel({
        repo,
        revision,
        endpoint,
        token: request.token?.trim() || undefined,
        signal: controller.signal,
        storage,
        memory: { use, batch: request.batch, sequenceLength: request.sequenceLength },
        refuse: (config) => fitMessage(config, limits, { use, batch: request.batch, sequenceLength: request.sequenceLength }).message,
        onEvent: emit,
      });
      const source = `pulled from ${endpoint}/${repo} (revision ${revision}, commit ${result.manifest.sha})`;
      // the same commit pulled again is the model already stored: load it rather than store a copy
      const stored = (await listModels(await db())).find((record) => record.source === source);
      if (stored) {
        emit({ kind: 'stage', stage: 'loading' });
        return (await loadStoredModel(stored.id)).summary;
      }
      const files = await storage.files(result.manifest);
      return await importPulled(files, repo.split('/')[1], source, async (stage) => emit({ kind: 'stage', stage }));
    } catch (error) {
      // a write that ran out of quota surfaces in core as a cut connection: say what really happened
      if (storage?.quotaError) throw storage.quotaError;
      // as pullModel's own rule: refusals (the file list's 401/403/404 come before pullModel stages
      // anything, but after this folder was opened) and broken files leave nothing; a cut
      // connection or a cancel keeps the bytes for a resume
      const keep = error instanceof HubError && (error.kind === 'network' || error.kind === 'cancelled');
      if (!keep) await storage?.discard();
      if (error instanceof HubError) throw new Error(error.message); // kind and fields do not cross comlink
      throw error;
    } finally {
      if (timer !== null) clearTimeout(timer);
      storage?.close();
      pulling = null;
      releaseCallback(onEvent);
    }
  },

  cancelHubPull(): boolean {
    if (!pulling) return false;
    pulling.controller.abort();
    return true;
  },

  /** Complete and partial pulls in the OPFS cache, with their sizes. */
  async listHubCache(): Promise<CachedPull[]> {
    return listCachedPulls();
  },

  async deleteHubCache(key: string): Promise<void> {
    if (pulling?.key === key) throw new Error(`${decodeURIComponent(key)} is being pulled: cancel the pull before deleting it.`);
    await deleteCachedPull(key);
  },

  /** How much the site stores and may store (navigator.storage.estimate), for the cache list. */
  async storageEstimate(): Promise<{ usage: number | null; quota: number | null }> {
    const { usage, quota } = await navigator.storage.estimate();
    return { usage: usage ?? null, quota: quota ?? null };
  },

  /**
   * The memory estimate of a run on the loaded model against this adapter and device (the Train
   * view's start); null when `modelId` is not the loaded model (the run loads it, and checks nothing).
   */
  async checkMemoryFit(request: MemoryFitRequest & { modelId?: string }): Promise<MemoryFitAnswer | null> {
    const loaded = requireModel();
    if (request.modelId !== undefined && loaded.summary.id !== request.modelId) return null;
    return fitMessage(loaded.checkpoint.config, await deviceLimits(), request);
  },

  /** The same check for a config.json not yet pulled (a card, before anything downloads). */
  async checkConfigFit(configJson: unknown, request: MemoryFitRequest): Promise<MemoryFitAnswer> {
    return fitMessage(parseConfig(configJson), await deviceLimits(), request);
  },
};
