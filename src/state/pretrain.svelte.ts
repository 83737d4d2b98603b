// The Pretrain view's state: the spec (hone-tiny's, or a micro one with `?pretrain=micro` for tests and
// quick looks), the run being watched with its live loss points, speed and ETA, the stored runs, and the
// last error. Every call goes to the worker's experiment API through the studio client; Cancel aborts
// the watched run's signal.
import { errorMessage, onePerStudio, type Studio } from './studio.svelte';
import { HONE_MICRO } from '../core/pretrain/micro';
import type { PretrainDefaults, PretrainRunSummary, PretrainSpec, PretrainStartOptions, PretrainWorkerEvent } from '../studio-client';

export type { PretrainDefaults, PretrainRunSummary, PretrainSpec, PretrainWorkerEvent };
export type PretrainProgress = Extract<PretrainWorkerEvent, { kind: 'progress' }>;
export type PretrainPhase = 'idle' | 'starting' | 'running' | 'pausing' | 'cancelling';
export interface LossPoint {
  step: number;
  loss: number;
}

/** A spec that pretrains in seconds (the micro model of tests/fixtures/hone-micro): for tests and a quick look. */
export const MICRO_PRETRAIN: PretrainStartOptions = {
  spec: { ...HONE_MICRO },
  checkpointEvery: 5,
  logEvery: 1,
  name: 'micro pretraining (test spec)',
};

export class PretrainState {
  defaults = $state.raw<PretrainDefaults | null>(null);
  runs = $state.raw<PretrainRunSummary[]>([]);
  /** the run the chart shows */
  run = $state.raw<PretrainRunSummary | null>(null);
  points = $state.raw<LossPoint[]>([]);
  progress = $state.raw<PretrainProgress | null>(null);
  /** what the worker is doing before training starts (corpus, tokenizer, model) */
  stage = $state<string | null>(null);
  phase = $state<PretrainPhase>('idle');
  error = $state<string | null>(null);
  /** a micro spec instead of hone-tiny's (`?pretrain=micro`) */
  readonly micro: boolean;

  readonly #studio: Studio;
  #pending: LossPoint[] = [];
  #flush: ReturnType<typeof setTimeout> | null = null;
  /** aborted by cancel(): stops the run being watched */
  #run: AbortController | null = null;

  constructor(studio: Studio) {
    this.#studio = studio;
    this.micro = typeof location !== 'undefined' && new URLSearchParams(location.search).get('pretrain') === 'micro';
  }

  /** One state per studio, so a run keeps streaming into it while another view is open. */
  static readonly for = onePerStudio((studio) => new PretrainState(studio));

  get #client(): Studio['client'] {
    return this.#studio.client;
  }

  get #api(): Studio['client']['api'] {
    return this.#studio.client.api;
  }

  /** The spec a Start uses. */
  get spec(): PretrainSpec | null {
    if (!this.defaults) return null;
    return this.micro ? { ...this.defaults.spec, ...MICRO_PRETRAIN.spec } : this.defaults.spec;
  }

  async refresh(): Promise<void> {
    try {
      const [defaults, runs] = await Promise.all([this.#api.pretrainDefaults(), this.#api.pretrainRuns()]);
      this.defaults = defaults;
      this.runs = runs;
      if (this.phase === 'idle') {
        // show the latest run (resumable or finished) when nothing is being watched yet
        this.run = this.run ? (runs.find((r) => r.id === this.run!.id) ?? null) : (runs[0] ?? null);
        if (this.run) this.points = pointsOf(this.run);
      }
    } catch (err) {
      this.error = `The pretraining API did not answer: ${errorMessage(err)}`;
    }
  }

  async start(): Promise<void> {
    if (this.phase !== 'idle') return;
    const opts: PretrainStartOptions = this.micro ? MICRO_PRETRAIN : {};
    this.#begin(null);
    await this.#watch((signal) => this.#client.pretrainStart(opts, { onProgress: this.#onEvent, signal }));
  }

  async resume(runId: string): Promise<void> {
    if (this.phase !== 'idle') return;
    const run = this.runs.find((r) => r.id === runId) ?? null;
    this.#begin(run);
    await this.#watch((signal) => this.#client.pretrainResume(runId, { onProgress: this.#onEvent, signal }));
  }

  async pause(): Promise<void> {
    if (this.phase !== 'running') return;
    this.phase = 'pausing';
    if (!(await this.#api.pretrainPause())) this.phase = 'running';
  }

  /** Stops before the next update without a new checkpoint (also a run still starting, once it runs). */
  cancel(): void {
    if (this.phase !== 'running' && this.phase !== 'pausing' && this.phase !== 'starting') return;
    if (!this.#run) return;
    this.phase = 'cancelling';
    this.#run.abort();
  }

  show(runId: string): void {
    if (this.phase !== 'idle') return;
    const run = this.runs.find((r) => r.id === runId);
    if (!run) return;
    this.run = run;
    this.points = pointsOf(run);
    this.progress = null;
  }

  async remove(runId: string): Promise<void> {
    this.error = null;
    try {
      await this.#api.pretrainDelete(runId);
      if (this.run?.id === runId) {
        this.run = null;
        this.points = [];
        this.progress = null;
      }
      this.runs = await this.#api.pretrainRuns();
    } catch (err) {
      this.error = `Deleting failed: ${errorMessage(err)}`;
    }
  }

  #begin(run: PretrainRunSummary | null): void {
    this.error = null;
    this.stage = null;
    this.progress = null;
    this.run = run;
    this.points = run ? pointsOf(run) : [];
    this.#pending = [];
    this.phase = 'starting';
  }

  async #watch(call: (signal: AbortSignal) => Promise<PretrainRunSummary>): Promise<void> {
    const controller = (this.#run = new AbortController());
    try {
      const summary = await call(controller.signal);
      this.#flushNow();
      this.run = summary;
      this.points = pointsOf(summary); // the stored lines: what a reload will show
    } catch (err) {
      this.#flushNow();
      this.error = `Pretraining stopped with an error: ${errorMessage(err)}`;
    } finally {
      this.#run = null;
      this.phase = 'idle';
      this.stage = null;
      this.runs = await this.#api.pretrainRuns().catch(() => this.runs);
      if (this.run) this.run = this.runs.find((r) => r.id === this.run!.id) ?? this.run;
    }
  }

  readonly #onEvent = (event: PretrainWorkerEvent): void => {
    if (event.kind === 'stage') {
      this.stage = event.message;
      if (event.stage === 'training' && this.phase === 'starting') this.phase = 'running';
      if (!this.run || this.run.id !== event.runId) void this.#adopt(event.runId);
    } else if (event.kind === 'progress') {
      if (this.phase === 'starting') this.phase = 'running';
      this.progress = event;
      this.#pending.push({ step: event.step, loss: event.loss });
      // steps can come faster than the chart needs redrawing
      this.#flush ??= setTimeout(() => this.#flushNow(), 100);
    } else if (this.run && this.run.id === event.runId) {
      this.run = { ...this.run, checkpoint: { step: event.step, bytes: this.run.checkpoint?.bytes ?? 0, elapsedSeconds: event.elapsedSeconds, tokens: event.tokens, savedAt: Date.now() } };
      void this.#adopt(event.runId); // the stored record has the checkpoint's size
    }
  };

  async #adopt(runId: string): Promise<void> {
    try {
      const run = await this.#api.pretrainRun(runId);
      if (!this.run || this.run.id === runId) this.run = run;
    } catch {
      // the next event tries again
    }
  }

  #flushNow(): void {
    if (this.#flush) clearTimeout(this.#flush);
    this.#flush = null;
    if (this.#pending.length === 0) return;
    const last = this.#pending[0].step;
    // a resume repeats steps after its checkpoint: drop the old points from there on
    this.points = [...this.points.filter((p) => p.step < last), ...this.#pending];
    this.#pending = [];
  }
}

function pointsOf(run: PretrainRunSummary): LossPoint[] {
  return run.metrics.filter((m) => m.loss !== undefined).map((m) => ({ step: m.step, loss: m.loss! }));
}
