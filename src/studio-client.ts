// The only module that creates the studio worker, and the main thread's one door to it: src/state and
// src/ui reach the worker's calls and types through here and import neither comlink nor workers/*.
// The types are derived from the worker (`import type`, squoosh style), so no tfjs code reaches the
// main bundle (PLATFORM.md §6) and the two sides cannot drift apart.
//
// Two kinds of call. Request/answer calls go through `client.api` as they are. Long calls — the ones
// that report progress while they run — are this class's own methods taking `{ onProgress, signal }`:
// the client wraps the callback in a comlink proxy, and an abort of the signal (one per call, as
// squoosh's worker bridge has it) becomes the worker API's cancel call for that kind of job
// (studio-call.ts). That is the one way to stop a job from the main thread; `api` does not offer the
// cancel calls.
import { proxy, transfer, wrap, type Remote } from 'comlink';
import type {
  Api,
  BackendName,
  BackendReport,
  GenerationResult,
  ImportProgress,
  ModelSummary,
  TokenEvent,
  WorkerNotice,
} from '../workers/studio.worker';
import type { DatasetImportOutcome, DatasetImportProgress, DatasetImportRequest, HubImportRequest } from '../workers/data';
import type { BuiltInProgress, BuiltInStatus, ExperimentOutcome, ExperimentProgress, PretrainRunSummary, PretrainStartOptions, PretrainWorkerEvent } from '../workers/experiment';
import type { SelfInstructProgress, SelfInstructRun, SelfInstructRunOptions } from '../workers/self-instruct';
import type { RunSummary, TrainEvent, TrainSpec } from '../workers/training';
import type { EvalEvent, EvalOutcome, EvalSpec } from '../workers/eval';
import type { BundleProgress, ImportSummary, WorkspaceExport } from '../workers/workspace';
import type { HubPullEvent, HubPullRequest } from '../workers/models';
import { longCall, WorkerStoppedError, WorkerWatch, type CallOptions, type LivenessSettings } from './studio-call';

export { WorkerStoppedError };
export type { CallOptions, LivenessSettings };

// The worker's types as state and components use them, so that they import them from here.
export type { BackendName, BackendReport, GenerationResult, ImportProgress, ModelSummary, TokenEvent };
export type { BundleManifest, BundleProgress, ImportSummary, WorkspaceExport } from '../workers/workspace';
export type {
  CsvPreview,
  DatasetDuplicates,
  DatasetImportOutcome,
  DatasetImportProgress,
  DatasetImportRequest,
  DatasetRecord,
  DatasetSplitRequest,
  DatasetSplitResult,
  ExamplePage,
  ExamplePageQuery,
  ExampleRecord,
  HubImportRequest,
  StoredDatasetStats,
} from '../workers/data';
export type {
  AugmentSpec,
  MixPreview,
  MixRuleSpec,
  MixSpec,
  PlanPreview,
  PlanSpec,
  PreviewMode,
  TemplatePreview,
  TemplatePreviewRequest,
  TemplateSetSummary,
  TemplateSummary,
} from '../workers/data-shaping';
export type {
  BuiltInProgress,
  BuiltInStatus,
  CollectionInfo,
  ExperimentOutcome,
  ExperimentProgress,
  FlanPreset,
  FlanReport,
  PretrainDefaults,
  PretrainRunSummary,
  PretrainSpec,
  PretrainStartOptions,
  PretrainWorkerEvent,
  StoredExperiment,
} from '../workers/experiment';
export type { CachedPull, HubPullEvent, HubPullRequest, MemoryFitAnswer, MemoryFitRequest } from '../workers/models';
export type { ReviewQueue, SelfInstructProgress, SelfInstructRun, SelfInstructRunOptions } from '../workers/self-instruct';
export type { LossMode, PromptFormat, RunDetail, RunSummary, TrainDefaults, TrainEvent, TrainExample, TrainingMethodInfo, TrainSpec } from '../workers/training';
export type {
  EvalDatasetChoice,
  EvalEvent,
  EvalItem,
  EvalMetricInfo,
  EvalOutcome,
  EvalReport,
  EvalRunChoice,
  EvalSpec,
  EvaluationSummary,
  ExportFormat,
  RatingKind,
  RatingRecord,
} from '../workers/eval';

export type GenerateSettings = Parameters<Api['generate']>[1];
export type GeneratePrompt = Parameters<Api['generate']>[0];
export interface ModelFileBytes {
  name: string;
  bytes: ArrayBuffer;
}

/** The long calls, with the worker's cancel call each signal maps onto (null: it cannot be cancelled). */
const CANCEL_OF = {
  importModel: null,
  pullHubModel: 'cancelHubPull',
  builtInSetup: null,
  generate: 'cancelGeneration',
  experimentRun: 'experimentCancel',
  pretrainStart: 'pretrainCancel',
  pretrainResume: 'pretrainCancel',
  importDataset: 'cancelDatasetImport',
  importHubDataset: 'cancelDatasetImport',
  runSelfInstruct: 'cancelSelfInstruct',
  startTraining: 'cancelTraining',
  resumeTraining: 'cancelTraining',
  evalRun: 'evalCancel',
  exportWorkspace: null,
  importWorkspace: null,
} as const satisfies Record<string, keyof Api | null>;

type LongCall = keyof typeof CANCEL_OF;
type CancelCall = NonNullable<(typeof CANCEL_OF)[LongCall]>;
/** The worker's request/answer calls: every call but the long ones and their cancel calls. */
export type RequestApi = Remote<Omit<Api, LongCall | CancelCall>>;

// Every worker call that takes a callback must be a long call above: a new one fails this line until
// it is listed (with its cancel call), so a callback never reaches `api` unwrapped.
type TakesCallback<F> = F extends (...args: infer A) => unknown ? ([Extract<A[number], (...args: never[]) => unknown>] extends [never] ? false : true) : false;
type CallbackCall = { [K in keyof Api]: TakesCallback<Api[K]> extends true ? K : never }[keyof Api];
const everyCallbackCallIsLong: [Exclude<CallbackCall, LongCall>] extends [never] ? true : Exclude<CallbackCall, LongCall> = true;
void everyCallbackCallIsLong;

/** What the client tells the app about the worker outside any call (the shell shows the message). */
export type StudioNotice =
  | { kind: 'worker-restarted'; message: string; reason: string; report: BackendReport | null }
  | { kind: 'worker-restart-failed'; message: string; reason: string }
  | { kind: 'backend-changed'; message: string; cause: string; report: BackendReport };

export interface StudioClientOptions {
  /** makes the worker (tests pass a fake one); default: the studio worker as a module worker */
  createWorker?: () => Worker;
  /** the liveness check while calls are pending (studio-call.ts); tests shorten it */
  liveness?: Partial<LivenessSettings>;
}

/** One worker and its guarded remote; a restart replaces the whole connection. */
interface Connection {
  worker: Worker;
  watch: WorkerWatch;
  remote: Remote<Api>;
}

/** Restarts allowed within RESTART_WINDOW_MS before the client gives up (a worker that dies at start). */
const MAX_RESTARTS = 3;
const RESTART_WINDOW_MS = 60_000;

const createStudioWorker = (): Worker => new Worker(new URL('../workers/studio.worker.ts', import.meta.url), { type: 'module', name: 'hone-studio' });

/**
 * A typed facade over the worker: request/answer calls through `api`, long calls as methods with
 * `{ onProgress, signal }`; file bytes are transferred instead of copied. Exposed as `window.hone`
 * for tests and power users.
 *
 * When the worker dies (an error it does not survive, or no answer to the liveness check: closed,
 * killed for memory) the calls pending on it reject with a WorkerStoppedError, and the client starts a
 * new worker, initialises it on the backend the old one ran on and reloads the model that was loaded;
 * calls made meanwhile wait for that, then go to the new worker. `api` and `remote` are stable
 * objects that always reach the current worker, so the state classes need nothing to follow a restart.
 */
export class StudioClient {
  readonly #createWorker: () => Worker;
  #liveness: Partial<LivenessSettings>;
  #connection: Connection;
  /** settles when a restart in progress is done (or failed); calls made meanwhile wait for it */
  #restart: Promise<void> | null = null;
  readonly #restarts: number[] = [];
  #terminated = false;
  /** what init() was asked and answered, so that a new worker starts on the same backend */
  #initOptions: { backend?: BackendName | 'auto' } | null = null;
  #report: BackendReport | null = null;
  /** the worker's current model, as it tells on every change */
  #modelId: string | null = null;
  readonly #listeners = new Set<(notice: StudioNotice) => void>();
  /** one stable remote, routing every call to the current worker */
  readonly #remote: Remote<Api>;

  constructor(options: StudioClientOptions = {}) {
    this.#createWorker = options.createWorker ?? createStudioWorker;
    this.#liveness = { ...options.liveness };
    this.#connection = this.#connect();
    this.#remote = new Proxy({} as Remote<Api>, {
      get: (_target, property) => {
        if (typeof property !== 'string' || property === 'then') return undefined;
        return (...args: unknown[]) => this.#call(property, args);
      },
    });
  }

  #connect(): Connection {
    const worker = this.#createWorker();
    const raw = wrap<Api>(worker);
    const connection: Connection = {
      worker,
      watch: new WorkerWatch(worker, {
        probe: () => raw.memory(),
        liveness: this.#liveness,
        restarts: true,
        onDead: (error) => this.#onDead(connection, error),
      }),
      remote: raw,
    };
    connection.remote = connection.watch.wrapRemote(raw);
    // the worker's notices travel beside comlink's messages (which carry an id; these do not)
    worker.addEventListener('message', (event: MessageEvent) => {
      const notice = (event.data as { honeNotice?: WorkerNotice } | null)?.honeNotice;
      if (notice && connection === this.#connection) this.#onWorkerNotice(notice);
    });
    return connection;
  }

  /** A call on the current worker; while a restart is under way it waits for the new worker first. */
  #call(name: string, args: unknown[]): Promise<unknown> {
    const send = (): Promise<unknown> => (this.#connection.remote as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[name](...args);
    return this.#restart ? this.#restart.then(send) : send();
  }

  #onWorkerNotice(notice: WorkerNotice): void {
    if (notice.kind === 'model') {
      this.#modelId = notice.id;
    } else {
      this.#report = notice.report;
      this.#emit({ kind: 'backend-changed', message: notice.message, cause: notice.cause, report: notice.report });
    }
  }

  #emit(notice: StudioNotice): void {
    for (const listener of this.#listeners) listener(notice);
  }

  /** Notices about the worker (restarted, backend changed); returns an unsubscribe function. */
  onNotice(listener: (notice: StudioNotice) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Shortens or lengthens the liveness check, on this worker and any later one (tests). */
  setLiveness(settings: Partial<LivenessSettings>): LivenessSettings {
    this.#liveness = { ...this.#liveness, ...settings };
    this.#connection.watch.setLiveness(settings);
    return this.#connection.watch.liveness;
  }

  /** The model the worker has loaded, as it last said (null: none). */
  get loadedModelId(): string | null {
    return this.#modelId;
  }

  /** The worker died: a new one, on the same backend, with the same model. */
  #onDead(dead: Connection, error: WorkerStoppedError): void {
    if (dead !== this.#connection || this.#terminated) return;
    dead.worker.terminate(); // it may linger half-alive (a pthread crash); it must not answer any more
    const now = Date.now();
    while (this.#restarts.length && now - this.#restarts[0] > RESTART_WINDOW_MS) this.#restarts.shift();
    if (this.#restarts.length >= MAX_RESTARTS) {
      this.#emit({
        kind: 'worker-restart-failed',
        reason: error.reason,
        message: `The studio worker stopped (${error.reason}) ${MAX_RESTARTS + 1} times within a minute; it was not restarted again. Reload the page.`,
      });
      return;
    }
    this.#restarts.push(now);
    const connection = (this.#connection = this.#connect());
    const modelId = this.#modelId;
    const restart = this.#startAgain(connection, modelId, error);
    this.#restart = restart;
    void restart.then(() => {
      if (this.#restart === restart) this.#restart = null;
    });
  }

  /** Initialises the new worker as the old one was and reloads the model; never rejects (it says so). */
  async #startAgain(connection: Connection, modelId: string | null, error: WorkerStoppedError): Promise<void> {
    try {
      let report: BackendReport | null = null;
      if (this.#initOptions !== null) {
        const previous = this.#report;
        report = await connection.remote.init(previous ? { ...this.#initOptions, restore: previous } : this.#initOptions);
        this.#report = report;
      }
      if (modelId !== null) await connection.remote.loadModel(modelId);
      const reloaded = modelId !== null ? ' and the model reloaded' : '';
      this.#emit({ kind: 'worker-restarted', reason: error.reason, report, message: `The studio worker stopped (${error.reason}); it was restarted${reloaded}.` });
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      this.#emit({ kind: 'worker-restart-failed', reason: error.reason, message: `The studio worker stopped (${error.reason}) and could not be restarted: ${why}. Reload the page.` });
    }
  }

  /** The worker's request/answer calls, as they are (no callbacks, nothing to cancel). */
  get api(): RequestApi {
    return this.#remote;
  }

  /**
   * The worker's whole API, raw: for tests and the browser console, which pass comlink proxies and
   * call the cancel methods themselves. The app uses `api` and the long-call methods.
   */
  get remote(): Remote<Api> {
    return this.#remote;
  }

  /** One long call through longCall (studio-call.ts): the callback as a comlink proxy, the signal onto `call`'s cancel. */
  #long<T, Event>(call: LongCall, options: CallOptions<Event>, start: (onEvent: ((event: Event) => void) | undefined) => Promise<T>): Promise<T> {
    const cancelName = CANCEL_OF[call];
    const cancel = cancelName ? (this.#remote[cancelName] as () => Promise<boolean>) : null;
    return longCall(start, cancel, options, proxy);
  }

  async init(options: { backend?: BackendName | 'auto' } = {}): Promise<BackendReport> {
    this.#initOptions = options;
    const report = await this.#remote.init(options);
    this.#report = report;
    return report;
  }

  /** The file buffers are transferred: they are empty on this side afterwards. */
  importModel(files: ModelFileBytes[], name?: string, options: Omit<CallOptions<ImportProgress>, 'signal'> = {}): Promise<ModelSummary> {
    const buffers = files.map((f) => f.bytes);
    return this.#long('importModel', options, (onEvent) => this.#remote.importModel(transfer(files, buffers), name, onEvent));
  }

  /** Pulls a model by Hub id into the cache and imports it; aborting the signal stops it (the bytes stay for a resume). */
  pullHubModel(request: HubPullRequest, options: CallOptions<HubPullEvent> = {}): Promise<ModelSummary> {
    return this.#long('pullHubModel', options, (onEvent) => this.#remote.pullHubModel(request, onEvent));
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

  /** `options` may also be the token callback alone (the form tests and the Playground use). */
  generate(prompt: GeneratePrompt, settings: GenerateSettings, options: CallOptions<TokenEvent> | ((event: TokenEvent) => void) = {}): Promise<GenerationResult> {
    const call = typeof options === 'function' ? { onProgress: options } : options;
    return this.#long('generate', call, (onEvent) => this.#remote.generate(prompt, settings, onEvent));
  }

  /** What a generate() signal maps onto; kept for the Playground and tests until they pass a signal. */
  cancelGeneration(): Promise<boolean> {
    return this.#remote.cancelGeneration();
  }

  memory(): ReturnType<Remote<Api>['memory']> {
    return this.#remote.memory();
  }

  // ---- datasets ------------------------------------------------------------------------------------

  /** A File crosses as a handle: the worker streams it, so neither side holds the whole file. */
  importDataset(file: Parameters<Api['importDataset']>[0], request: DatasetImportRequest, options: CallOptions<DatasetImportProgress> = {}): Promise<DatasetImportOutcome> {
    return this.#long<DatasetImportOutcome, DatasetImportProgress>('importDataset', options, (onEvent) => this.#remote.importDataset(file, request, onEvent));
  }

  importHubDataset(request: HubImportRequest, options: CallOptions<DatasetImportProgress> = {}): Promise<DatasetImportOutcome> {
    return this.#long<DatasetImportOutcome, DatasetImportProgress>('importHubDataset', options, (onEvent) => this.#remote.importHubDataset(request, onEvent));
  }

  runSelfInstruct(opts: SelfInstructRunOptions, options: CallOptions<SelfInstructProgress> = {}): Promise<SelfInstructRun> {
    return this.#long('runSelfInstruct', options, (onEvent) => this.#remote.runSelfInstruct(opts, onEvent));
  }

  // ---- the Start and Pretrain views ------------------------------------------------------------------

  builtInSetup(opts: { modelUrl?: string; load?: boolean }, options: Omit<CallOptions<BuiltInProgress>, 'signal'> = {}): Promise<BuiltInStatus> {
    return this.#long('builtInSetup', options, (onEvent) => this.#remote.builtInSetup(opts, onEvent));
  }

  experimentRun(opts: Parameters<Api['experimentRun']>[0], options: CallOptions<ExperimentProgress> = {}): Promise<ExperimentOutcome> {
    return this.#long<ExperimentOutcome, ExperimentProgress>('experimentRun', options, (onEvent) => this.#remote.experimentRun(opts, onEvent));
  }

  /** Pausing is not cancelling (it checkpoints first): that one is `api.pretrainPause()`. */
  pretrainStart(opts: PretrainStartOptions, options: CallOptions<PretrainWorkerEvent> = {}): Promise<PretrainRunSummary> {
    return this.#long('pretrainStart', options, (onEvent) => this.#remote.pretrainStart(opts, onEvent));
  }

  pretrainResume(runId: string, options: CallOptions<PretrainWorkerEvent> = {}): Promise<PretrainRunSummary> {
    return this.#long('pretrainResume', options, (onEvent) => this.#remote.pretrainResume(runId, onEvent));
  }

  // ---- training and evaluation ------------------------------------------------------------------------

  /** Pausing (checkpoint, then stop) stays `api.pauseTraining()`. */
  startTraining(spec: TrainSpec, options: CallOptions<TrainEvent> = {}): Promise<RunSummary> {
    return this.#long('startTraining', options, (onEvent) => this.#remote.startTraining(spec, onEvent ?? proxy(() => {})));
  }

  resumeTraining(runId: string, options: CallOptions<TrainEvent> = {}): Promise<RunSummary> {
    return this.#long('resumeTraining', options, (onEvent) => this.#remote.resumeTraining(runId, onEvent ?? proxy(() => {})));
  }

  evalRun(spec: EvalSpec, options: CallOptions<EvalEvent> = {}): Promise<EvalOutcome> {
    return this.#long('evalRun', options, (onEvent) => this.#remote.evalRun(spec, onEvent));
  }

  // ---- the workspace bundle ----------------------------------------------------------------------------

  /** Every store as one zip (src/core/store/bundle.ts); the bytes arrive transferred. */
  exportWorkspace(opts: { includeModels?: boolean }, options: Omit<CallOptions<BundleProgress>, 'signal'> = {}): Promise<WorkspaceExport> {
    return this.#long('exportWorkspace', options, (onEvent) => this.#remote.exportWorkspace(opts, onEvent));
  }

  /** A File crosses as a handle; nothing is written unless the whole bundle is valid. */
  importWorkspace(file: Blob, options: Omit<CallOptions<BundleProgress>, 'signal'> = {}): Promise<ImportSummary> {
    return this.#long('importWorkspace', options, (onEvent) => this.#remote.importWorkspace(file, onEvent));
  }

  terminate(): void {
    this.#terminated = true;
    this.#connection.worker.terminate();
    this.#connection.watch.fail(new WorkerStoppedError('terminated', 'the studio worker was terminated'));
  }
}

declare global {
  interface Window {
    /** the studio client, for tests and the browser console */
    hone?: StudioClient;
  }
}
