// State the worker's API modules share: the chosen backend, the open database and the current model.
// studio.worker.ts owns model loading; training.ts, data.ts and eval.ts read the current model here.
import type { BackendReport } from '../src/core/backend/select';
import type { Checkpoint } from '../src/core/model/checkpoint';
import type { Decoder } from '../src/core/model/decoder';
import type { HoneTokenizer } from '../src/core/tokenizer/tokenizer';
import { releaseProxy, type Remote } from 'comlink';
import { openHoneDb } from '../src/core/store';
import type { ModelSummary } from './model-summary';

export interface LoadedModel {
  summary: ModelSummary;
  decoder: Decoder;
  tokenizer: HoneTokenizer;
  /** the host checkpoint the decoder was built from (config, host weights, tokenizer) */
  checkpoint: Checkpoint;
}

/** What the worker tells the main thread outside any call (src/studio-client.ts listens). */
export type WorkerNotice =
  /** the current model changed: a restarted worker reloads this one */
  | { kind: 'model'; id: string | null }
  /** the backend stopped working (a lost WebGPU device) and the worker moved to another */
  | { kind: 'backend-changed'; cause: string; message: string; report: BackendReport };

/** Posts a notice beside comlink's messages (they carry an id, these do not, so comlink ignores them). */
export function notify(notice: WorkerNotice): void {
  const scope = globalThis as { postMessage?: (message: unknown) => void; WorkerGlobalScope?: unknown };
  if (scope.WorkerGlobalScope === undefined || typeof scope.postMessage !== 'function') return; // Node tests: nobody listens
  scope.postMessage({ honeNotice: notice });
}

let backendReport: BackendReport | null = null;
let current: LoadedModel | null = null;
let dbPromise: ReturnType<typeof openHoneDb> | null = null;
const listeners = new Set<(model: LoadedModel | null) => void>();

export const db = (): ReturnType<typeof openHoneDb> => (dbPromise ??= openHoneDb());

export function getBackendReport(): BackendReport | null {
  return backendReport;
}

export function setBackendReport(report: BackendReport): void {
  backendReport = report;
}

export function requireBackend(): void {
  if (!backendReport) throw new Error('The studio worker is not initialised yet: call init() first.');
}

export function requireModel(): LoadedModel {
  requireBackend();
  if (!current) throw new Error('No model is loaded: import a model or load one from the Models list first.');
  return current;
}

export function currentModel(): LoadedModel | null {
  return current;
}

/** Replaces the current model (disposing the old decoder) and tells listeners (e.g. a training run). */
export function setCurrent(model: LoadedModel | null): void {
  const previous = current;
  current = model;
  for (const listener of listeners) listener(model);
  previous?.decoder.dispose();
  if (previous?.summary.id !== model?.summary.id) notify({ kind: 'model', id: model?.summary.id ?? null });
}

/** Called whenever the current model changes; returns an unsubscribe function. */
export function onModelChange(listener: (model: LoadedModel | null) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Frees a comlink proxy for a callback passed into the worker (a no-op for a plain function or none). */
export function releaseCallback(callback: unknown): void {
  (callback as Partial<Remote<unknown>> | undefined)?.[releaseProxy]?.();
}
