// The Train view's state: the form (model, data, method, hyperparameters), the run being watched
// (its live metric points, progress and trainable-parameter count), the run history and the last
// error. Every call goes to the worker's training API; callbacks and cancelling go through the studio client.
import { WorkerStoppedError, type ModelSummary } from '../studio-client';
import { errorMessage, onePerStudio, type Studio } from './studio.svelte';
import { saveBlob } from './download';
import { FALLBACK, formSettings, type Hyperparameters } from './train-form';

import type { DatasetRecord, LossMode, PromptFormat, RunDetail, RunSummary, TrainDefaults, TrainEvent, TrainExample, TrainingMethodInfo, TrainSpec } from '../studio-client';

export type { LossMode, PromptFormat, RunDetail, RunSummary, TrainDefaults, TrainEvent, TrainExample, TrainSpec };
export type { Hyperparameters, Schedule } from './train-form';

export type MethodInfo = TrainingMethodInfo;
export type MetricPoint = RunDetail['metrics'][number];
export type ProgressEvent = Extract<TrainEvent, { kind: 'progress' }>;

/** A dataset the data API lists; only what the picker needs. */
export interface DatasetChoice {
  id: string;
  name: string;
  count?: number;
}

/** The built-in examples' pseudo dataset id in the data picker. */
export const SAMPLE_DATA = 'sample';

/** What the watched run is doing, as the buttons need it. */
export type Phase = 'idle' | 'starting' | 'running' | 'pausing' | 'paused' | 'cancelling';

/**
 * Statuses a run can be resumed from (its latest checkpoint is in IndexedDB). A run whose worker
 * died mid-training (reload, crash) is listed by the worker as paused.
 */
export const RESUMABLE: ReadonlySet<string> = new Set<RunSummary['status']>(['paused', 'cancelled']);

export class TrainState {
  methods = $state.raw<MethodInfo[]>([]);
  models = $state.raw<ModelSummary[]>([]);
  /** null when the worker has no data API (yet) */
  datasets = $state.raw<DatasetChoice[] | null>(null);
  runs = $state.raw<RunSummary[]>([]);

  dataSource = $state<string>(SAMPLE_DATA);
  method = $state<string>('lora');
  defaults = $state.raw<TrainDefaults | null>(null);
  hyper = $state<Hyperparameters>({ ...FALLBACK });
  /** the method form's input values by config key (the view fills them from `defaults`) */
  methodValues = $state<Record<string, number | boolean | string | null>>({});
  /** the defaults `methodValues` were filled from: the view refills when they change */
  methodValuesFrom: TrainDefaults | null = null;

  phase = $state<Phase>('idle');
  /** the run the chart and progress bar show */
  run = $state.raw<RunSummary | null>(null);
  points = $state.raw<MetricPoint[]>([]);
  progress = $state.raw<ProgressEvent | null>(null);
  /** the latest status message from the worker (e.g. a skipped step) */
  notice = $state<string | null>(null);
  error = $state<string | null>(null);
  busy = $state<string | null>(null);
  /**
   * The worker stopped while this run trained (it was restarted): the run waits at its last checkpoint,
   * and the view offers "Resume from step N".
   */
  interrupted = $state.raw<{ runId: string; step: number; message: string } | null>(null);

  readonly #studio: Studio;
  /** points arrive every step; the chart is redrawn at most every 100 ms */
  #pending: MetricPoint[] = [];
  #flush: ReturnType<typeof setTimeout> | null = null;

  constructor(studio: Studio) {
    this.#studio = studio;
  }

  /** One state per studio, so a run keeps streaming into it while another view is open. */
  static readonly for = onePerStudio((studio) => new TrainState(studio));

  #run: AbortController | null = null;

  get #api(): Studio['client']['api'] {
    return this.#studio.client.api;
  }

  /** Loads the method list, models, datasets, run history and the chosen method's defaults. */
  async refresh(): Promise<void> {
    try {
      const [methods, models, runs] = await Promise.all([this.#api.trainingMethods(), this.#studio.client.listModels(), this.#api.listTrainingRuns()]);
      this.methods = methods;
      this.models = models;
      this.runs = runs;
      if (methods.length && !methods.some((m) => m.name === this.method)) this.method = methods[0].name;
      await this.#loadDatasets();
      if (!this.defaults) await this.chooseMethod(this.method);
    } catch (err) {
      this.error = `The training API did not answer: ${errorMessage(err)}`;
    }
  }

  async #loadDatasets(): Promise<void> {
    // The data API may be absent (an older worker); the picker then offers the sample data only.
    try {
      const listed: DatasetRecord[] = await this.#api.listDatasets();
      this.datasets = listed.map((d) => ({ id: d.id, name: d.name, count: d.counts['total'] }));
    } catch {
      this.datasets = null;
    }
  }

  /** Switches method and puts its defaults into the form (the user's step count is kept). */
  async chooseMethod(name: string): Promise<void> {
    this.method = name;
    try {
      const defaults = await this.#api.trainingDefaults(name);
      if (this.method !== name) return; // a later choice won
      const { trainer } = defaults;
      // Per-method values (lr, warmup, schedule) follow the method; the run's length, data split and
      // seed are the user's choice across methods once the first defaults have filled them.
      const first = this.defaults === null;
      this.hyper = {
        totalSteps: first ? trainer.totalSteps : this.hyper.totalSteps,
        learningRate: trainer.learningRate,
        batchSize: trainer.batchSize,
        maxLength: this.hyper.maxLength,
        warmupSteps: trainer.warmupSteps,
        schedule: trainer.schedule,
        evalEvery: trainer.evalEvery ?? (first ? FALLBACK.evalEvery : this.hyper.evalEvery),
        validationFraction: first ? defaults.validationFraction : this.hyper.validationFraction,
        seed: first ? trainer.seed : this.hyper.seed,
        gradientAccumulationSteps: trainer.gradientAccumulationSteps,
        weightDecay: trainer.weightDecay,
        // how the data becomes rows and when to stop are the user's choice across methods too
        promptFormat: first ? defaults.promptFormat : this.hyper.promptFormat,
        loss: first ? defaults.loss : this.hyper.loss,
        packing: first ? defaults.packing : this.hyper.packing,
        earlyStoppingPatience: first ? trainer.earlyStoppingPatience : this.hyper.earlyStoppingPatience,
        earlyStoppingThreshold: first ? trainer.earlyStoppingThreshold : this.hyper.earlyStoppingThreshold,
        keepBest: first ? trainer.loadBestAtEnd : this.hyper.keepBest,
        gradientCheckpointing: first ? trainer.gradientCheckpointing : this.hyper.gradientCheckpointing,
      };
      this.defaults = defaults;
    } catch (err) {
      this.error = `No defaults for method "${name}": ${errorMessage(err)}`;
    }
  }

  /** The run spec from the form; throws naming the field that is not valid. */
  buildSpec(modelId: string, methodConfig: Record<string, unknown>, examples: readonly TrainExample[]): TrainSpec {
    const settings = formSettings(this.hyper);
    const sample = this.dataSource === SAMPLE_DATA;
    return {
      modelId,
      ...(sample ? { examples: [...examples] } : { datasetId: this.dataSource }),
      method: { name: this.method, config: methodConfig },
      ...settings,
      name: `${this.method} · ${sample ? 'sample instructions' : (this.datasets?.find((d) => d.id === this.dataSource)?.name ?? 'dataset')}`,
    };
  }

  /** Starts a run; resolves when it ends (completed, stopped early, paused or cancelled). */
  async start(spec: TrainSpec): Promise<void> {
    if (this.phase !== 'idle' && this.phase !== 'paused') return;
    // issue 13: the memory estimate against this GPU adapter and device, refused with a suggestion
    const use = spec.method.name === 'full' || spec.method.name === 'freeze' ? 'full' : 'peft';
    // advisory: when the check itself fails (no model loaded yet), the run's own errors speak
    const fit = await Promise.resolve()
      .then(() => this.#api.checkMemoryFit({ modelId: spec.modelId, use, batch: spec.trainer.batchSize, sequenceLength: spec.maxLength, gradientCheckpointing: spec.trainer.gradientCheckpointing }))
      .catch(() => null);
    if (fit && !fit.fits) {
      this.error = `This run will not fit on this device: ${fit.message}`;
      return;
    }
    if (this.phase !== 'idle' && this.phase !== 'paused') return;
    this.#begin(null);
    await this.#watch((signal) => this.#studio.client.startTraining(spec, { onProgress: this.#onEvent, signal }));
  }

  async resume(runId: string): Promise<void> {
    if (this.phase !== 'idle' && this.phase !== 'paused') return;
    this.interrupted = null;
    try {
      const detail = await this.#api.getTrainingRun(runId);
      this.#begin(detail);
    } catch (err) {
      this.error = `Resuming failed: ${errorMessage(err)}`;
      return;
    }
    await this.#watch((signal) => this.#studio.client.resumeTraining(runId, { onProgress: this.#onEvent, signal }));
  }

  async pause(): Promise<void> {
    if (this.phase !== 'running') return;
    this.phase = 'pausing';
    if (!(await this.#api.pauseTraining())) this.phase = 'running';
  }

  /** Cancels the run; the client keeps asking the worker until the run has taken it. */
  cancel(): void {
    if ((this.phase !== 'running' && this.phase !== 'pausing') || !this.#run) return;
    this.phase = 'cancelling';
    this.#run.abort();
  }

  /** Shows a stored run's curve (history row → chart). */
  async show(runId: string): Promise<void> {
    if (this.phase !== 'idle' && this.phase !== 'paused') return;
    try {
      const detail = await this.#api.getTrainingRun(runId);
      this.#begin(detail);
      this.phase = 'idle';
      if (RESUMABLE.has(detail.status)) this.phase = 'paused';
    } catch (err) {
      this.error = `Could not open the run: ${errorMessage(err)}`;
    }
  }

  async remove(runId: string): Promise<void> {
    this.error = null;
    try {
      await this.#api.deleteTrainingRun(runId);
      if (this.run?.id === runId) {
        this.run = null;
        this.points = [];
        this.progress = null;
        if (this.phase === 'paused') this.phase = 'idle';
      }
      this.runs = await this.#api.listTrainingRuns();
    } catch (err) {
      this.error = `Deleting failed: ${errorMessage(err)}`;
    }
  }

  /** Downloads the run's exported adapter folder as a zip. */
  async exportRun(runId: string): Promise<void> {
    await this.#download('Exporting…', 'Export', () => this.#api.exportTrainingRun(runId));
  }

  /** Downloads a LoRA run merged into its base model: a whole Hugging Face checkpoint, zipped. */
  async exportMergedRun(runId: string): Promise<void> {
    await this.#download('Merging…', 'Merged export', () => this.#api.exportMergedTrainingRun(runId));
  }

  /** Downloads the run's hand-off folder (data.jsonl, train_trl.py, axolotl.yaml, README.md), zipped. */
  async handoffRun(runId: string): Promise<void> {
    await this.#download('Writing the hand-off…', 'Hand-off', () => this.#api.handoffTrainingRun(runId));
  }

  async #download(busy: string, what: string, make: () => Promise<{ fileName: string; bytes: Uint8Array }>): Promise<void> {
    this.error = null;
    this.busy = busy;
    try {
      const { fileName, bytes } = await make();
      saveBlob(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/zip' }), fileName);
    } catch (err) {
      this.error = `${what} failed: ${errorMessage(err)}`;
    } finally {
      this.busy = null;
    }
  }

  /** Loads a stored model as the worker's current one (the model picker). */
  async loadModel(id: string): Promise<ModelSummary | null> {
    this.error = null;
    this.busy = 'Loading the model…';
    try {
      return await this.#studio.client.loadModel(id);
    } catch (err) {
      this.error = `Loading the model failed: ${errorMessage(err)}`;
      return null;
    } finally {
      this.busy = null;
    }
  }

  #begin(detail: RunDetail | null): void {
    this.error = null;
    this.interrupted = null;
    this.notice = null;
    this.progress = null;
    this.run = detail;
    this.points = detail ? [...detail.metrics] : [];
    this.#pending = [...this.points];
    this.phase = 'starting';
  }

  async #watch(call: (signal: AbortSignal) => Promise<RunSummary>): Promise<void> {
    const controller = (this.#run = new AbortController());
    try {
      const summary = await call(controller.signal);
      this.#flushNow();
      this.run = summary;
      this.phase = summary.status === 'paused' ? 'paused' : 'idle';
      if (summary.error) this.error = summary.error;
    } catch (err) {
      this.#flushNow();
      if (err instanceof WorkerStoppedError && (await this.#offerResume(err))) return;
      this.error = `Training failed: ${errorMessage(err)}`;
      this.phase = 'idle';
    } finally {
      this.#run = null;
      this.runs = await this.#api.listTrainingRuns().catch(() => this.runs);
    }
  }

  /**
   * The worker died under the run: the client has restarted it (these calls wait for that), where the
   * run is listed as paused at its last checkpoint. Shows it so, with the offer to resume; false when
   * there is no run to offer (it had not started yet).
   */
  async #offerResume(err: WorkerStoppedError): Promise<boolean> {
    const runId = this.run?.id ?? this.#lastRunId;
    if (!runId) return false;
    try {
      const detail = await this.#api.getTrainingRun(runId);
      if (!RESUMABLE.has(detail.status)) return false;
      this.run = detail;
      // the points past the checkpoint will be trained again
      this.points = detail.metrics.filter((m) => m.step <= detail.step);
      this.#pending = [...this.points];
      this.progress = null;
      this.notice = null;
      this.error = null;
      this.phase = 'paused';
      this.interrupted = {
        runId,
        step: detail.step,
        message:
          `The studio worker stopped during training (${err.reason}) and was restarted. ` +
          (detail.step > 0 ? `The run's last checkpoint is step ${detail.step}.` : 'The run had no checkpoint yet; it resumes from the start.'),
      };
      return true;
    } catch {
      return false;
    }
  }

  /** the run id of the latest event, for a run whose summary has not arrived yet */
  #lastRunId: string | null = null;

  #onEvent = (event: TrainEvent): void => {
    this.#lastRunId = event.runId;
    if (this.phase === 'starting') this.phase = 'running';
    if (!this.run || this.run.id !== event.runId) void this.#fetchRun(event.runId);
    if (event.kind === 'progress') {
      this.progress = event;
      // A resumed run restarts from its last checkpoint: points past it are replaced, not repeated.
      if (this.#pending.length && this.#pending[this.#pending.length - 1].step >= event.step) {
        this.#pending = this.#pending.filter((p) => p.step < event.step);
      }
      this.#pending.push({ step: event.step, loss: event.loss, valLoss: event.valLoss, lr: event.lr, ...(event.stage === undefined ? {} : { stage: event.stage }) });
      this.#flush ??= setTimeout(() => this.#flushNow(), 100);
      if (event.skipped) this.notice = `Step ${event.step} was skipped: the loss or a gradient was not finite (weights unchanged).`;
    } else if (event.kind === 'status') {
      if (event.message) this.notice = event.message;
    }
  };

  #fetching: string | null = null;
  async #fetchRun(id: string): Promise<void> {
    if (this.#fetching === id) return;
    this.#fetching = id;
    try {
      const [detail, runs] = await Promise.all([this.#api.getTrainingRun(id), this.#api.listTrainingRuns()]);
      if (this.phase !== 'idle') this.run = detail;
      this.runs = runs; // the new run appears in the history as running
    } catch {
      // the summary arrives again when the run ends
    } finally {
      this.#fetching = null;
    }
  }

  #flushNow(): void {
    if (this.#flush) clearTimeout(this.#flush);
    this.#flush = null;
    this.points = [...this.#pending];
  }
}
