// The studio worker: the only place that runs tfjs and touches the GPU, so the page stays
// responsive while models load and generate. The main thread talks to it through comlink and
// derives its types from `Api` (squoosh style: nothing here is restated by hand).
import { expose } from 'comlink';
import * as tf from '@tensorflow/tfjs';
import { fallbackBackend, initBackend, restoreBackend } from './backends';
import { destroyDeviceForTest, watchDevice } from './faults';
import type { BackendName, BackendReport } from '../src/core/backend/select';
import { loadCheckpoint, type Checkpoint, type ModelFiles } from '../src/core/model/checkpoint';
import { computeLogits } from '../src/core/model/decoder';
import { generate as generateIds, type GenerationResult as IdsResult, type GenerationSettings } from '../src/core/model/generate';
import {
  deleteModel as deleteStoredModel,
  listModels as listStoredModels,
  saveModel,
} from '../src/core/store';
import { modelInput, summarize, type ModelSummary } from './model-summary';
import { currentModel, db, getBackendReport, releaseCallback, requireBackend, requireModel, setBackendReport, setCurrent } from './context';
import { hubApi, loadStoredModel, makeCurrent } from './models';
import { trainingApi } from './training';
import { dataApi } from './data';
import { evalApi } from './eval';
import { benchApi } from './bench';
import { selfInstructApi } from './self-instruct';
import { dataShapingApi } from './data-shaping';
import { experimentApi } from './experiment';
import { workspaceApi } from './workspace';

export type { BackendReport, BackendName, GenerationSettings, ModelSummary };
export type { WorkerNotice } from './context';


export interface TokenEvent {
  id: number;
  /** the text this token added to the output (may be '' while a multi-byte character is incomplete) */
  text: string;
}

export interface GenerationResult {
  /** prompt + new token ids */
  ids: number[];
  newIds: number[];
  /** the decoded new tokens */
  text: string;
  stoppedBy: IdsResult['stoppedBy'];
  /** wall time of the whole generation, prompt included */
  ms: number;
  tokensPerSecond: number;
}

export interface ImportProgress {
  stage: 'validating' | 'saving' | 'loading';
}

let backendStarting: Promise<BackendReport> | null = null;
let generation: AbortController | null = null;

function toModelFiles(files: { name: string; bytes: ArrayBuffer }[]): ModelFiles {
  const map: ModelFiles = new Map();
  for (const file of files) {
    // People drop whole folders; only the base name identifies a checkpoint file.
    const name = file.name.split(/[\\/]/).pop() ?? file.name;
    if (map.has(name)) throw new Error(`Two files are both named "${name}": import one model at a time.`);
    map.set(name, new Uint8Array(file.bytes));
  }
  return map;
}

/** The folder the files came from ("tiny-gpt2/config.json" → "tiny-gpt2"), if any. */
function folderName(files: { name: string }[]): string | undefined {
  return files.map((f) => f.name.split(/[\\/]/)).find((parts) => parts.length > 1)?.at(-2);
}

function defaultName(checkpoint: Checkpoint): string {
  const { modelType, numLayers, hiddenSize } = checkpoint.config;
  return `${modelType}-${numLayers}L-${hiddenSize}d`;
}

const api = {
  /**
   * Chooses and starts the tfjs backend (measured, or the pinned one). Call once, first. `restore`:
   * a restarted worker goes back onto the backend of its predecessor's report, without measuring.
   */
  // A second call (the page and a test both asking) gets the first call's report: the backend is
  // chosen once per worker, since tensors cannot move between backends.
  async init(opts: { backend?: BackendName | 'auto'; restore?: BackendReport } = {}): Promise<BackendReport> {
    backendStarting ??= (opts.restore ? restoreBackend(opts.restore) : initBackend(opts.backend)).then(
      (report) => {
        setBackendReport(report);
        watchDevice(fallbackBackend); // a lost WebGPU device moves the worker to the next backend (faults.ts)
        return report;
      },
      (err: unknown) => {
        backendStarting = null; // let a later call try again
        throw err;
      },
    );
    return backendStarting;
  },

  backendReport(): BackendReport | null {
    return getBackendReport();
  },

  /**
   * Validates the files as a checkpoint first (nothing is stored when that fails), then stores
   * them in IndexedDB and loads the model as the current one.
   */
  async importModel(
    files: { name: string; bytes: ArrayBuffer }[],
    name?: string,
    onProgress?: (progress: ImportProgress) => void,
  ): Promise<ModelSummary> {
    requireBackend();
    try {
      await onProgress?.({ stage: 'validating' });
      const modelFiles = toModelFiles(files);
      const checkpoint = loadCheckpoint(modelFiles);
      const folder = folderName(files);
      const displayName = name?.trim() || folder || defaultName(checkpoint);
      const source = folder ? `imported from folder ${folder}` : `imported files (${[...modelFiles.keys()].join(', ')})`;
      await onProgress?.({ stage: 'saving' });
      const stored = await saveModel(await db(), modelInput(checkpoint, displayName, source), modelFiles);
      await onProgress?.({ stage: 'loading' });
      return makeCurrent(checkpoint, summarize(stored));
    } finally {
      releaseCallback(onProgress);
    }
  },

  async listModels(): Promise<ModelSummary[]> {
    return (await listStoredModels(await db())).map((record) => summarize(record));
  },

  /** Loads a stored model (no re-import) and makes it current. */
  async loadModel(id: string): Promise<ModelSummary> {
    return (await loadStoredModel(id)).summary;
  },

  async deleteModel(id: string): Promise<void> {
    await deleteStoredModel(await db(), id);
    if (currentModel()?.summary.id === id) setCurrent(null);
  },

  currentModel(): ModelSummary | null {
    return currentModel()?.summary ?? null;
  },

  /** Token ids of `text`; special tokens (e.g. Llama's <s>) are added unless told otherwise, as in transformers. */
  tokenize(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    return requireModel().tokenizer.encode(text, opts);
  },

  decode(ids: number[]): string {
    return requireModel().tokenizer.decode(ids);
  },

  /** Logits [B, T, vocab] for a batch; rows of different length need an attention mask. */
  async logits(inputIds: number[][], attentionMask?: number[][]): Promise<{ data: Float32Array; shape: number[] }> {
    return computeLogits(requireModel().decoder, inputIds, attentionMask);
  },

  /**
   * Generates from a text prompt (tokenized with special tokens, as transformers' pipeline does) or from token ids, calling
   * `onToken` for each new token. `cancelGeneration()` stops it early (stoppedBy "cancelled").
   */
  async generate(
    prompt: string | { ids: number[] },
    settings: GenerationSettings,
    onToken?: (event: TokenEvent) => void,
  ): Promise<GenerationResult> {
    const { decoder, tokenizer } = requireModel();
    if (generation) throw new Error('A generation is already running: stop it before starting another.');
    const controller = new AbortController();
    generation = controller;
    const start = performance.now();
    try {
      const promptIds = typeof prompt === 'string' ? tokenizer.encode(prompt) : prompt.ids;
      if (promptIds.length === 0) throw new Error('The prompt is empty: type some text (or pass at least one token id).');
      const result = await generateIds(decoder, promptIds, settings, {
        decode: (ids: number[]) => tokenizer.decode(ids),
        onToken: onToken ? (id: number, text: string) => void onToken({ id, text }) : undefined,
        signal: controller.signal,
      });
      const ms = performance.now() - start;
      return {
        ids: result.ids,
        newIds: result.newIds,
        text: result.text ?? tokenizer.decode(result.newIds),
        stoppedBy: result.stoppedBy,
        ms,
        tokensPerSecond: ms > 0 ? (result.newIds.length * 1000) / ms : 0,
      };
    } finally {
      generation = null;
      releaseCallback(onToken);
    }
  },

  cancelGeneration(): boolean {
    if (!generation) return false;
    generation.abort();
    return true;
  },

  memory(): { numTensors: number; numBytes: number; numDataBuffers: number; backend: string } {
    const { numTensors, numBytes, numDataBuffers } = tf.memory();
    return { numTensors, numBytes, numDataBuffers, backend: tf.getBackend() };
  },

  /**
   * Test-only (the browser fault spec): destroys the WebGPU device, as a GPU reset would lose it; the
   * worker then falls back to the next backend and resumes training. False when not on webgpu.
   */
  debugLoseDevice(): boolean {
    return destroyDeviceForTest();
  },

  ...hubApi,
  ...trainingApi,
  ...dataApi,
  ...evalApi,
  ...benchApi,
  ...selfInstructApi,
  ...dataShapingApi,
  ...experimentApi,
  ...workspaceApi,
};

export type Api = typeof api;

expose(api);
