// The only module that creates the studio worker. The main thread gets the worker's API through
// comlink with types derived from the worker (`import type`), so no tfjs code reaches the main
// bundle (PLATFORM.md §6) and the two sides cannot drift apart.
import { proxy, transfer, wrap, type Remote } from 'comlink';
import type {
  Api,
  BackendName,
  BackendReport,
  GenerationResult,
  ImportProgress,
  ModelSummary,
  TokenEvent,
} from '../workers/studio.worker';

export type { BackendName, BackendReport, GenerationResult, ImportProgress, ModelSummary, TokenEvent };
export type GenerateSettings = Parameters<Api['generate']>[1];
export type GeneratePrompt = Parameters<Api['generate']>[0];
export interface ModelFileBytes {
  name: string;
  bytes: ArrayBuffer;
}

/**
 * A thin typed facade over the worker: wraps callbacks in comlink proxies and transfers file
 * bytes instead of copying them. Exposed as `window.hone` for tests and power users.
 */
export class StudioClient {
  readonly #worker: Worker;
  readonly #remote: Remote<Api>;

  constructor() {
    this.#worker = new Worker(new URL('../workers/studio.worker.ts', import.meta.url), { type: 'module', name: 'hone-studio' });
    this.#remote = wrap<Api>(this.#worker);
  }

  /**
   * The worker's whole API. Facades for the training, data and evaluation APIs (src/state/*) call
   * it directly; wrap callbacks in comlink's `proxy` before passing them.
   */
  get remote(): Remote<Api> {
    return this.#remote;
  }

  init(options: { backend?: BackendName | 'auto' } = {}): Promise<BackendReport> {
    return this.#remote.init(options);
  }

  /** The file buffers are transferred: they are empty on this side afterwards. */
  importModel(files: ModelFileBytes[], name?: string, onProgress?: (progress: ImportProgress) => void): Promise<ModelSummary> {
    const buffers = files.map((f) => f.bytes);
    return this.#remote.importModel(transfer(files, buffers), name, onProgress ? proxy(onProgress) : undefined);
  }

  listModels(): Promise<ModelSummary[]> {
    return this.#remote.listModels();
  }

  loadModel(id: string): Promise<ModelSummary> {
    return this.#remote.loadModel(id);
  }

  deleteModel(id: string): Promise<void> {
    return this.#remote.deleteModel(id);
  }

  currentModel(): Promise<ModelSummary | null> {
    return this.#remote.currentModel();
  }

  tokenize(text: string, options: { addSpecialTokens?: boolean } = {}): Promise<number[]> {
    return this.#remote.tokenize(text, options);
  }

  decode(ids: number[]): Promise<string> {
    return this.#remote.decode(ids);
  }

  logits(inputIds: number[][], attentionMask?: number[][]): Promise<{ data: Float32Array; shape: number[] }> {
    return this.#remote.logits(inputIds, attentionMask);
  }

  generate(prompt: GeneratePrompt, settings: GenerateSettings, onToken?: (event: TokenEvent) => void): Promise<GenerationResult> {
    return this.#remote.generate(prompt, settings, onToken ? proxy(onToken) : undefined);
  }

  cancelGeneration(): Promise<boolean> {
    return this.#remote.cancelGeneration();
  }

  memory(): ReturnType<Remote<Api>['memory']> {
    return this.#remote.memory();
  }

  terminate(): void {
    this.#worker.terminate();
  }
}

declare global {
  interface Window {
    /** the studio client, for tests and the browser console */
    hone?: StudioClient;
  }
}
