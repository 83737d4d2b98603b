// The studio worker's pretraining, built-in setup and FLAN experiment API (spread into the worker's api
// object in studio.worker.ts). Thin: the pretraining loop and runs live in src/core/pretrain/*, the
// FLAN presets, the built-in collection and the stored reports in src/core/experiment/*; this file
// holds the one active pretraining run and the one running experiment (their AbortControllers),
// fetches the built-in model from the app's own origin, and releases comlink callback proxies.
import { loadCheckpoint, type ModelFiles } from '../src/core/model/checkpoint';
import { runFlanExperiment, type FlanReport } from '../src/core/experiment/flan';
import type { PretrainEvent, PretrainManifest } from '../src/core/pretrain/loop';
import { HONE_TINY, type PretrainSpec } from '../src/core/pretrain/pretrain';
import {
  createPretrainRun,
  estimateParameters,
  getPretrainRun,
  listPretrainRuns,
  runStoredPretrain,
  type PretrainRunSummary,
  type PretrainStartOptions,
} from '../src/core/pretrain/session';
import { PRETRAIN_METHOD } from '../src/core/pretrain/store-storage';
import { BUILT_IN_MODEL_ID, BUILT_IN_SOURCE_PREFIX } from '../src/core/pretrain/built-in';
import { builtInCollectionInfo, ensureBuiltInCollection, type CollectionInfo } from '../src/core/experiment/collection';
import { flanConfig, progressTracker, type ExperimentProgress, type FlanPreset } from '../src/core/experiment/presets';
import { getFlanExperiment, listFlanExperiments, saveFlanExperiment, type StoredExperiment } from '../src/core/experiment/runs';
import { deleteRun, getModel, getModelFiles, getRun, saveModel } from '../src/core/store';
import { currentModel, db, onModelChange, releaseCallback, requireBackend, requireModel } from './context';
import { loadStoredModel } from './models';
import { modelInput, summarize, type ModelSummary } from './model-summary';
import { trainingApi } from './training';

export type { CollectionInfo, ExperimentProgress, FlanPreset, FlanReport, PretrainManifest, PretrainRunSummary, PretrainSpec, PretrainStartOptions, StoredExperiment };
export type PretrainWorkerEvent = PretrainEvent & { runId: string };

export interface PretrainDefaults {
  spec: PretrainSpec;
  /** of HONE_TINY, counted as the exported checkpoint stores them (tied embedding once) */
  parameters: number;
  checkpointEvery: number;
  logEvery: number;
}

export type BuiltInModelStatus =
  | { state: 'ready'; summary: ModelSummary; manifest: PretrainManifest | null; updated: boolean }
  | { state: 'missing'; message: string };

export interface BuiltInStatus {
  model: BuiltInModelStatus;
  collection: { datasetId: string; name: string; counts: Record<string, number>; created: boolean };
}

export interface BuiltInProgress {
  stage: 'collection' | 'checking' | 'downloading' | 'saving' | 'loading';
}

export type ExperimentOutcome = { status: 'completed'; experiment: StoredExperiment } | { status: 'cancelled'; message: string };

const MODEL_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'] as const;
export const MISSING_MODEL_MESSAGE =
  'hone-tiny is not part of this build: public/models/hone-tiny/ (config.json, model.safetensors, tokenizer.json, manifest.json) is missing. ' +
  'Build it with `npm run --silent hone -- pretrain` (resumable; it writes public/models/hone-tiny), then rebuild the app — or pretrain one here in the Pretrain view.';

let pretraining: { runId: string; cancel: AbortController; pause: AbortController } | null = null;
let pretrainStarting = false;
let experiment: AbortController | null = null;
let setup: Promise<BuiltInStatus> | null = null;


async function trainingInProgress(): Promise<string | null> {
  const running = (await trainingApi.listTrainingRuns()).find((r) => r.status === 'running' && r.method !== PRETRAIN_METHOD);
  return running ? `Run “${running.name}” is training` : null;
}

async function runPretrain(runIdOf: () => Promise<string>, onEvent?: (e: PretrainWorkerEvent) => void): Promise<PretrainRunSummary> {
  try {
    requireBackend();
    if (pretraining || pretrainStarting) throw new Error('A pretraining run is already in progress; pause or cancel it first.');
    if (experiment) throw new Error('The FLAN experiment is running; wait for it or cancel it before pretraining.');
    pretrainStarting = true;
    let runId: string;
    try {
      const busy = await trainingInProgress();
      if (busy) throw new Error(`${busy}; pause or cancel it before pretraining.`);
      runId = await runIdOf();
    } finally {
      pretrainStarting = false;
    }
    const active = { runId, cancel: new AbortController(), pause: new AbortController() };
    pretraining = active;
    const handle = await db();
    try {
      const { summary } = await runStoredPretrain(handle, runId, {
        signal: active.cancel.signal,
        pauseSignal: active.pause.signal,
        onEvent: (event) => void onEvent?.({ ...event, runId }),
        storeModel: async (files, manifest, run) => {
          const checkpoint = loadCheckpoint(files);
          const name = `hone-tiny (pretrained here, ${manifest.spec.steps} steps)`;
          const record = await saveModel(handle, { ...modelInput(checkpoint, name, `pretrained in Hone (run ${run.id})`), id: run.modelId }, files);
          return record.id;
        },
      });
      return summary;
    } finally {
      pretraining = null;
    }
  } finally {
    releaseCallback(onEvent);
  }
}

/** base URL of the built-in model: public/models/hone-tiny/ as the app serves it */
function defaultModelUrl(): string {
  return new URL(`${import.meta.env.BASE_URL}models/hone-tiny/`, self.location.href).href;
}

/** A file of the built-in model, or null when the server does not have it. */
async function fetchModelFile(base: string, name: string, revalidate = false): Promise<Uint8Array | null> {
  let response: Response;
  try {
    response = await fetch(new URL(name, base), revalidate ? { cache: 'no-cache' } : {});
  } catch {
    return null;
  }
  // a single-page-app server answers unknown paths with index.html: that is not the file either
  if (!response.ok || (response.headers.get('content-type') ?? '').includes('text/html')) return null;
  return new Uint8Array(await response.arrayBuffer());
}

function parseManifest(bytes: Uint8Array | undefined): PretrainManifest | null {
  if (!bytes) return null;
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as PretrainManifest;
  } catch {
    return null;
  }
}

const sameBytes = (a: Uint8Array | undefined, b: Uint8Array): boolean => !!a && a.length === b.length && a.every((v, i) => v === b[i]);

/** Stores hone-tiny from the server once (again only when the server's manifest changed) and loads it when nothing else is loaded. */
async function setUpModel(modelUrl: string, progress: (p: BuiltInProgress) => void, load: boolean): Promise<BuiltInModelStatus> {
  const handle = await db();
  progress({ stage: 'checking' });
  const manifest = await fetchModelFile(modelUrl, 'manifest.json', true);
  const stored = (await getModel(handle, BUILT_IN_MODEL_ID)) ? await getModelFiles(handle, BUILT_IN_MODEL_ID) : null;
  let files: ModelFiles | null = stored;
  let updated = false;
  if (manifest && !sameBytes(stored?.get('manifest.json'), manifest)) {
    progress({ stage: 'downloading' });
    const fetched: ModelFiles = new Map([['manifest.json', manifest]]);
    for (const name of MODEL_FILES) {
      const bytes = await fetchModelFile(modelUrl, name);
      if (!bytes) throw new Error(`The built-in model is incomplete on the server: ${new URL(name, modelUrl).pathname} could not be fetched. ${MISSING_MODEL_MESSAGE}`);
      fetched.set(name, bytes);
    }
    const checkpoint = loadCheckpoint(fetched); // validated before anything is stored
    progress({ stage: 'saving' });
    const source = `${BUILT_IN_SOURCE_PREFIX} public/models/hone-tiny`;
    await saveModel(handle, { ...modelInput(checkpoint, 'hone-tiny', source), id: BUILT_IN_MODEL_ID }, fetched);
    files = fetched;
    updated = true;
  }
  if (!files) return { state: 'missing', message: MISSING_MODEL_MESSAGE };
  const current = currentModel();
  if ((load && current?.summary.id !== BUILT_IN_MODEL_ID) || (!current && !pretraining) || (updated && current?.summary.id === BUILT_IN_MODEL_ID)) {
    progress({ stage: 'loading' });
    return { state: 'ready', summary: (await loadStoredModel(BUILT_IN_MODEL_ID)).summary, manifest: parseManifest(files.get('manifest.json')), updated };
  }
  const record = await getModel(handle, BUILT_IN_MODEL_ID);
  if (!record) throw new Error('The built-in model was deleted while it was being set up; reload the page.');
  return { state: 'ready', summary: summarize(record), manifest: parseManifest(files.get('manifest.json')), updated };
}

export const experimentApi = {
  pretrainDefaults(): PretrainDefaults {
    return { spec: { ...HONE_TINY }, parameters: estimateParameters(HONE_TINY), checkpointEvery: 100, logEvery: 10 };
  },

  /** Starts a new pretraining run; resolves when it completes (the model is then stored), is paused or cancelled. */
  async pretrainStart(opts: PretrainStartOptions, onEvent?: (e: PretrainWorkerEvent) => void): Promise<PretrainRunSummary> {
    return runPretrain(async () => (await createPretrainRun(await db(), opts)).id, onEvent);
  },

  /** Continues a stored run from its latest checkpoint (also after the tab was closed). */
  async pretrainResume(runId: string, onEvent?: (e: PretrainWorkerEvent) => void): Promise<PretrainRunSummary> {
    return runPretrain(async () => {
      const run = await getRun(await db(), runId);
      if (!run || run.method !== PRETRAIN_METHOD) throw new Error(`Pretraining run "${runId}" is not stored in this browser; it may have been deleted.`);
      return runId;
    }, onEvent);
  },

  /** Takes a checkpoint before the next update and stops. False when nothing is pretraining. */
  pretrainPause(): boolean {
    if (!pretraining) return false;
    pretraining.pause.abort();
    return true;
  },

  /** Stops before the next update without a new checkpoint (the last one stays resumable). */
  pretrainCancel(): boolean {
    if (!pretraining) return false;
    pretraining.cancel.abort();
    return true;
  },

  async pretrainRuns(): Promise<PretrainRunSummary[]> {
    return listPretrainRuns(await db(), pretraining?.runId ?? null);
  },

  async pretrainRun(id: string): Promise<PretrainRunSummary> {
    return getPretrainRun(await db(), id, pretraining?.runId ?? null);
  },

  /** Deletes a run and its checkpoint; the model a finished run produced stays in the Models list. */
  async pretrainDelete(id: string): Promise<void> {
    if (pretraining?.runId === id) throw new Error('This run is pretraining right now; cancel it before deleting it.');
    await deleteRun(await db(), id);
  },

  /**
   * First visit: stores the built-in task collection and the built-in model (fetched from the app's own
   * public/models/hone-tiny/) unless already stored, and loads the model when none is loaded (or `load`).
   * Idempotent; concurrent calls share one setup. A missing model is reported, not thrown.
   */
  async builtInSetup(opts: { modelUrl?: string; load?: boolean } = {}, onProgress?: (p: BuiltInProgress) => void): Promise<BuiltInStatus> {
    try {
      requireBackend();
      setup ??= (async () => {
        const progress = (p: BuiltInProgress): void => void onProgress?.(p);
        progress({ stage: 'collection' });
        const { dataset, created } = await ensureBuiltInCollection(await db());
        const model = await setUpModel(opts.modelUrl ?? defaultModelUrl(), progress, opts.load ?? false);
        return { model, collection: { datasetId: dataset.id, name: dataset.name, counts: dataset.counts, created } };
      })().finally(() => (setup = null));
      return await setup;
    } finally {
      releaseCallback(onProgress);
    }
  },

  /** Clusters, templates, held-out clusters and a few records of each, for the guided path's first step. */
  async builtInCollection(): Promise<CollectionInfo> {
    return builtInCollectionInfo(await db());
  },

  /**
   * Runs the FLAN experiment on the loaded model (or first loads `modelId`) and stores its report.
   * Presets: quick (the `--quick` CLI run), full, micro (seconds; for tests). Resolves 'cancelled' after experimentCancel().
   */
  async experimentRun(opts: { quick: boolean; preset?: FlanPreset; modelId?: string }, onEvent?: (e: ExperimentProgress) => void): Promise<ExperimentOutcome> {
    try {
      requireBackend();
      if (experiment) throw new Error('The FLAN experiment is already running; wait for it or cancel it first.');
      if (pretraining || pretrainStarting) throw new Error('A pretraining run is in progress; pause or cancel it before running the experiment.');
      const controller = new AbortController();
      experiment = controller;
      let unsubscribe = (): void => {};
      try {
        const busy = await trainingInProgress();
        if (busy) throw new Error(`${busy} on the loaded model; pause or cancel it before running the experiment.`);
        const preset: FlanPreset = opts.preset ?? (opts.quick ? 'quick' : 'full');
        const config = flanConfig(preset);
        if (opts.modelId && currentModel()?.summary.id !== opts.modelId) await loadStoredModel(opts.modelId);
        const { summary, decoder, tokenizer } = requireModel();
        let modelChanged = false;
        unsubscribe = onModelChange(() => {
          modelChanged = true;
          controller.abort();
        });
        const track = progressTracker(config);
        let report: FlanReport;
        try {
          report = await runFlanExperiment(decoder, tokenizer, config, {
            signal: controller.signal,
            onProgress: (p) => void onEvent?.(track(p)),
          });
        } catch (error) {
          if (!controller.signal.aborted) throw error;
          const message = modelChanged ? 'The loaded model changed, so the experiment was stopped; nothing was stored.' : 'The experiment was cancelled; nothing was stored.';
          return { status: 'cancelled', message };
        }
        return { status: 'completed', experiment: await saveFlanExperiment(await db(), preset, { id: summary.id, name: summary.name }, report) };
      } finally {
        unsubscribe();
        experiment = null;
      }
    } finally {
      releaseCallback(onEvent);
    }
  },

  /** Stops the running experiment at the next step or token; nothing of it is stored. */
  experimentCancel(): boolean {
    if (!experiment) return false;
    experiment.abort();
    return true;
  },

  /** Stored experiment reports, newest first. */
  async experimentReports(): Promise<StoredExperiment[]> {
    return listFlanExperiments(await db());
  },

  async experimentReport(id: string): Promise<StoredExperiment> {
    return getFlanExperiment(await db(), id);
  },
};
