// One training run with its IndexedDB record: builds rows and the PEFT model from a TrainSpec (session-build.ts),
// trains with the Trainer, streams progress, stores metrics (batched) and resumable checkpoints,
// and resumes a run from its latest checkpoint, also after the worker that ran it was terminated.
// The Trainer runs in segments that end at metric-flush and checkpoint boundaries (cancel() at the
// boundary, run() again), so every store write happens between updates and is awaited: a failed
// write fails the run instead of being lost, and a checkpoint holds exactly one step's state.
// A full disk (StorageQuotaError) pauses the run instead: the store wrote nothing of the refused
// checkpoint or metrics, so the previous checkpoint is intact and a resume continues from it.
// A run that diverges (loop.ts) ends 'diverged' keeping its last finite checkpoint, which Export gives.
import type { PeftModel } from '../peft/model';
import {
  appendRunMetrics,
  createRun,
  getRun,
  listCheckpoints,
  loadLatestCheckpoint,
  saveCheckpoint,
  StorageQuotaError,
  updateRun,
  type HoneDb,
  type RunMetric,
} from '../store';
import { Trainer, type ProgressEvent, type RunResult } from './loop';
import { buildSessionRun, trainerStateOf, type SessionModel } from './session-build';
import { checkSpec, type TrainSpec } from './session-spec';
import { storedConfig, summarize, type RunStatusView, type RunSummary, type StoredRunConfig } from './session-runs';
import type { TrainerState } from './state';

export { buildSessionRun, trainerStateOf, type Built, type SessionModel } from './session-build';
export { checkSpec, trainingDefaults, type MethodSpec, type TrainDefaults, type TrainSpec } from './session-spec';
export * from './session-runs';

export type TrainEvent =
  | {
      kind: 'progress';
      runId: string;
      step: number;
      totalSteps: number;
      loss: number;
      valLoss?: number;
      lr: number;
      tokensPerSecond: number;
      etaSeconds: number;
      skipped: boolean;
      /** staged plans: the stage (1-based) this update trained on */
      stage?: number;
    }
  | { kind: 'status'; runId: string; status: RunStatusView; message?: string }
  | { kind: 'checkpoint'; runId: string; step: number };

export interface SessionOptions {
  /** store metric points every this many updates (default 10): one IndexedDB write per batch, not per step */
  metricsEvery?: number;
  /** checkpoints kept besides the best (default 1: the latest is all a resume needs) */
  keepCheckpoints?: number;
  /**
   * Asked when a step or a store write throws: a message when the failure is the device's (a lost
   * WebGPU device), and the run is then abandoned (see abandon()) instead of failed.
   */
  interrupted?: (error: unknown) => Promise<string | null>;
}

type StopRequest = { kind: 'pause' | 'cancel' | 'abandon'; message?: string };

export class TrainingSession {
  private stopRequest: StopRequest | null = null;
  private pendingMetrics: RunMetric[] = [];
  private boundary = 0;
  private lastEval: { step: number; valLoss: number } | null = null;
  private startedAt = 0;
  private stepsThisSession = 0;
  private state: 'ready' | 'running' | 'finished' = 'ready';

  private constructor(
    private readonly db: HoneDb,
    readonly runId: string,
    private readonly stored: StoredRunConfig,
    private readonly peft: PeftModel,
    private readonly trainer: Trainer,
    private readonly onEvent: (event: TrainEvent) => void,
    private readonly options: Required<SessionOptions>,
  ) {}

  /** Checks the spec, builds everything, then creates the run record; on any error nothing is stored. */
  static async start(db: HoneDb, model: SessionModel, spec: TrainSpec, onEvent: (event: TrainEvent) => void, options: SessionOptions = {}): Promise<TrainingSession> {
    const settings = withDefaults(options);
    checkSpec(spec);
    if (spec.modelId !== model.id) {
      throw new Error(`Training settings: modelId "${spec.modelId}" is not the loaded model ("${model.name}", ${model.id}); load that model first.`);
    }
    const built = await buildSessionRun(db, model, spec);
    let trainer: Trainer | null = null;
    try {
      let session: TrainingSession | null = null;
      // The Trainer checks the whole config here, before the run record exists.
      trainer = new Trainer(built.peft, built.data, built.trainerInput, { onProgress: (e) => session?.progress(e) });
      const stored: StoredRunConfig = { ...built.stored, trainer: { ...trainer.config, betas: [...trainer.config.betas] } };
      const run = await createRun(db, {
        modelId: model.id,
        ...(spec.datasetId ? { datasetId: spec.datasetId } : {}),
        method: spec.method.name,
        config: { ...stored },
        status: 'running',
      });
      session = new TrainingSession(db, run.id, stored, built.peft, trainer, onEvent, settings);
      return session;
    } catch (error) {
      trainer?.dispose();
      built.peft.dispose();
      throw error;
    }
  }

  /** Continues a stored run from its latest checkpoint (from step 0 when it has none: same seed, same run). */
  static async resume(db: HoneDb, model: SessionModel, runId: string, onEvent: (event: TrainEvent) => void, options: SessionOptions = {}): Promise<TrainingSession> {
    const settings = withDefaults(options);
    const run = await getRun(db, runId);
    if (!run) throw new Error(`Run "${runId}" is not stored in this browser; it may have been deleted.`);
    const previous = storedConfig(run);
    if (run.status === 'completed') throw new Error(`Run “${previous.name}” has already completed; start a new run to train further.`);
    if (run.status === 'diverged') {
      throw new Error(`Run “${previous.name}” diverged (its weights became NaN or Infinity); resuming would diverge again. Start a new run with a lower learning rate.`);
    }
    if (run.modelId !== model.id) {
      throw new Error(`Run “${previous.name}” trains model ${run.modelId}, but the loaded model is “${model.name}” (${model.id}); load the run's model first.`);
    }
    const checkpoint = await loadLatestCheckpoint(db, runId);
    const built = await buildSessionRun(db, model, previous.spec);
    let trainer: Trainer | null = null;
    try {
      let session: TrainingSession | null = null;
      const onProgress = (e: ProgressEvent): void => session?.progress(e);
      trainer = checkpoint
        ? Trainer.resume(built.peft, built.data, trainerStateOf(checkpoint), { onProgress })
        : new Trainer(built.peft, built.data, previous.trainer, { onProgress });
      const step = checkpoint?.step ?? 0;
      // Metrics flushed after the checkpoint belong to updates that will run again.
      await updateRun(db, runId, { status: 'running', error: undefined, metrics: run.metrics.filter((m) => m.step <= step) });
      session = new TrainingSession(db, runId, previous, built.peft, trainer, onEvent, settings);
      return session;
    } catch (error) {
      trainer?.dispose();
      built.peft.dispose();
      throw error;
    }
  }

  /** Trains to the end, a pause or a cancel; saves the final checkpoint and status; frees every tensor it made. */
  async run(): Promise<RunSummary> {
    if (this.state !== 'ready') throw new Error('TrainingSession.run: a session runs once; resume the run for another session');
    this.state = 'running';
    this.startedAt = performance.now();
    const resumedAt = this.trainer.currentStep;
    this.emit({ kind: 'status', runId: this.runId, status: 'running', ...(resumedAt > 0 ? { message: `Resumed at step ${resumedAt}.` } : {}) });
    try {
      let result: RunResult | null = null;
      while (!this.stopRequest) {
        this.boundary = this.nextBoundary(this.trainer.currentStep);
        result = await this.trainer.run();
        if (this.abandoned) return await this.endAbandoned();
        await this.flushMetrics();
        if (result.status === 'completed' || result.status === 'stopped-early' || result.status === 'diverged') break;
        if (this.stopRequest) break;
        if (result.step % this.stored.checkpointEvery === 0) await this.checkpoint(null);
      }
      if (this.abandoned) return await this.endAbandoned();
      if (result?.status === 'diverged') return await this.endDiverged(result);
      const ended = result?.status === 'completed' || result?.status === 'stopped-early' ? result.status : null;
      const finished = ended !== null;
      const status: RunStatusView = ended ?? (this.stopRequest!.kind === 'pause' ? 'paused' : 'cancelled');
      await this.checkpoint(finished && this.stored.trainer.loadBestAtEnd ? (result!.best?.valLoss ?? null) : null);
      const patch = status === 'stopped-early' ? { config: { ...this.stored, stoppedEarly: true } } : {};
      const run = await updateRun(this.db, this.runId, { status: status === 'stopped-early' ? 'completed' : status, ...patch });
      const step = this.trainer.currentStep;
      const message =
        status === 'paused'
          ? (this.stopRequest?.message ?? `Paused at step ${step}; resuming continues from here.`)
          : status === 'cancelled'
            ? (this.stopRequest?.message ?? `Cancelled at step ${step}; its weights are kept and can still be exported.`)
            : status === 'stopped-early'
              ? `Stopped early at step ${step}: the validation loss stopped improving.`
              : undefined;
      this.emit({ kind: 'status', runId: this.runId, status, ...(message ? { message } : {}) });
      return summarize(run, { active: false });
    } catch (error) {
      if (error instanceof StorageQuotaError) return await this.pauseForQuota(error);
      if (!this.abandoned) {
        const lost = await this.options.interrupted?.(error).catch(() => null);
        if (lost) this.stopRequest = { kind: 'abandon', message: lost };
      }
      if (this.abandoned) return await this.endAbandoned();
      const message = error instanceof Error ? error.message : String(error);
      try {
        await updateRun(this.db, this.runId, { status: 'failed', error: message });
      } catch {
        // the store itself failed (closed, full): the run record keeps its last good state
      }
      this.emit({ kind: 'status', runId: this.runId, status: 'failed', message });
      throw error;
    } finally {
      this.state = 'finished';
      this.trainer.dispose();
      this.peft.dispose();
    }
  }

  /**
   * The run diverged: the Trainer has put the last finite weights back. The store keeps the last
   * finite checkpoint as it is (the run's first state is saved when it never reached one), the record
   * says 'diverged' and why, and Export gives that checkpoint's weights.
   */
  private async endDiverged(result: RunResult): Promise<RunSummary> {
    const finite = this.trainer.lastFiniteState;
    if (finite && (await listCheckpoints(this.db, this.runId)).length === 0) await this.saveState(finite, null);
    const checkpoint = await loadLatestCheckpoint(this.db, this.runId);
    const { maxConsecutiveBadSteps, learningRate } = this.stored.trainer;
    const kept = checkpoint
      ? `The weights were rolled back to step ${checkpoint.step}, the last checkpoint with finite weights; Export gives those.`
      : 'No finite weights were kept, so there is nothing to export.';
    const message =
      `Training diverged at step ${result.step}: ${maxConsecutiveBadSteps} updates in a row had a loss, gradient or weights that were not finite (NaN or Infinity). ` +
      `${kept} Start a new run with a lower learning rate (this one used ${learningRate}).`;
    const run = await updateRun(this.db, this.runId, { status: 'diverged', error: message });
    this.emit({ kind: 'status', runId: this.runId, status: 'diverged', message });
    return summarize(run, { active: false });
  }

  /** Abandoned: only the status is written; the run continues from its last stored checkpoint. */
  private async endAbandoned(): Promise<RunSummary> {
    const checkpointStep = (await listCheckpoints(this.db, this.runId)).at(-1)?.step ?? 0;
    const message = this.stopRequest?.message ?? `Stopped at the step ${checkpointStep} checkpoint.`;
    const run = await updateRun(this.db, this.runId, { status: 'paused' });
    this.emit({ kind: 'status', runId: this.runId, status: 'paused', message });
    return { ...summarize(run, { active: false, checkpointStep }), status: 'paused' };
  }

  /** Storage is full: nothing of the refused write was kept, so the run pauses at its last checkpoint. */
  private async pauseForQuota(error: StorageQuotaError): Promise<RunSummary> {
    const checkpoint = await loadLatestCheckpoint(this.db, this.runId).catch(() => undefined);
    const message =
      `Training paused at step ${this.trainer.currentStep}: ${error.message} ` +
      `Resume continues from ${checkpoint ? `the step ${checkpoint.step} checkpoint` : 'the start (no checkpoint was saved yet)'}.`;
    let run = await getRun(this.db, this.runId).catch(() => undefined);
    try {
      run = await updateRun(this.db, this.runId, { status: 'paused', error: message });
    } catch {
      // the status write may be refused too: a "running" run no session runs is listed as paused anyway
    }
    this.emit({ kind: 'status', runId: this.runId, status: 'paused', message });
    if (!run) throw error;
    return { ...summarize(run, { active: false, checkpointStep: checkpoint?.step ?? 0 }), status: 'paused', error: message };
  }

  /**
   * The device under the run failed (a lost WebGPU device): its tensors cannot be trusted, so nothing
   * more is written — no metrics, no checkpoint — and run() resolves "paused" at the last stored
   * checkpoint, which a resume on another backend continues from. Also when a step then throws.
   */
  abandon(message: string): boolean {
    if (this.state === 'finished') return false;
    if (this.stopRequest?.kind === 'abandon') return false;
    this.stopRequest = { kind: 'abandon', message };
    this.trainer.cancel();
    return true;
  }

  /** true when abandon() ended (or is ending) this session */
  get abandoned(): boolean {
    return this.stopRequest?.kind === 'abandon';
  }

  /** Stops before the next update and saves a checkpoint; run() resolves with status "paused". */
  pause(message?: string): boolean {
    return this.requestStop({ kind: 'pause', message });
  }

  /** Stops before the next update and saves a checkpoint; run() resolves with status "cancelled". */
  cancel(message?: string): boolean {
    return this.requestStop({ kind: 'cancel', message });
  }

  get currentStep(): number {
    return this.trainer.currentStep;
  }

  private requestStop(request: StopRequest): boolean {
    if (this.state === 'finished' || this.stopRequest) return false;
    this.stopRequest = request;
    this.trainer.cancel();
    return true;
  }

  /** The step the current segment ends at: the next metric flush or checkpoint, whichever is first. */
  private nextBoundary(step: number): number {
    const { checkpointEvery, trainer } = this.stored;
    const nextCheckpoint = (Math.floor(step / checkpointEvery) + 1) * checkpointEvery;
    return Math.min(nextCheckpoint, step + this.options.metricsEvery, trainer.totalSteps);
  }

  private progress(e: ProgressEvent): void {
    this.stepsThisSession++;
    const point: RunMetric = { step: e.step, lr: e.lr, ...(e.stage === undefined ? {} : { stage: e.stage }) };
    if (Number.isFinite(e.loss)) point.loss = e.loss;
    if (e.valLoss !== undefined) {
      this.lastEval = { step: e.step, valLoss: e.valLoss };
      if (Number.isFinite(e.valLoss)) point.valLoss = e.valLoss;
    }
    this.pendingMetrics.push(point);
    if (e.skipped) {
      this.emit({
        kind: 'status',
        runId: this.runId,
        status: 'running',
        message: `Step ${e.step}: the loss or a gradient was not a finite number (NaN or Infinity), so this update was skipped and the weights are unchanged. If this keeps happening, lower the learning rate.`,
      });
    }
    const elapsed = (performance.now() - this.startedAt) / 1000;
    this.emit({
      kind: 'progress',
      runId: this.runId,
      step: e.step,
      totalSteps: e.totalSteps,
      loss: e.loss,
      ...(e.valLoss === undefined ? {} : { valLoss: e.valLoss }),
      lr: e.lr,
      tokensPerSecond: e.tokensPerSecond,
      // over the whole session, checkpoint writes included: what the user will actually wait
      etaSeconds: (elapsed / this.stepsThisSession) * (e.totalSteps - e.step),
      skipped: e.skipped,
      ...(e.stage === undefined ? {} : { stage: e.stage }),
    });
    if (e.step >= this.boundary) this.trainer.cancel();
  }

  private async flushMetrics(): Promise<void> {
    if (this.pendingMetrics.length === 0) return;
    const points = this.pendingMetrics;
    this.pendingMetrics = [];
    await appendRunMetrics(this.db, this.runId, points);
  }

  /** Saves the trainer's state now; valLoss marks it for the store's keep-the-best rule. */
  private async checkpoint(bestValLoss: number | null): Promise<void> {
    await this.saveState(await this.trainer.state(), bestValLoss);
  }

  private async saveState(state: TrainerState, bestValLoss: number | null): Promise<void> {
    // read from a device that was lost meanwhile: not to be trusted, not to be stored
    if (this.abandoned) throw new Error('the run was abandoned: its device was lost');
    const step = state.json.step;
    const valLoss = bestValLoss ?? (this.lastEval?.step === step ? this.lastEval.valLoss : null);
    await saveCheckpoint(
      this.db,
      {
        runId: this.runId,
        step,
        ...(valLoss !== null && Number.isFinite(valLoss) ? { valLoss } : {}),
        tensors: state.tensors,
        state: { trainer: state.json, method: this.stored.method, spec: this.stored.spec },
      },
      { keepRecent: this.options.keepCheckpoints },
    );
    this.emit({ kind: 'checkpoint', runId: this.runId, step });
  }

  private emit(event: TrainEvent): void {
    try {
      // A comlink callback returns a promise; a closed page must not fail the run.
      void Promise.resolve(this.onEvent(event)).catch(() => {});
    } catch {
      // as above, for a callback that throws synchronously
    }
  }
}

function withDefaults(options: SessionOptions): Required<SessionOptions> {
  const metricsEvery = options.metricsEvery ?? 10;
  const keepCheckpoints = options.keepCheckpoints ?? 1;
  if (!Number.isInteger(metricsEvery) || metricsEvery < 1) throw new Error(`TrainingSession: metricsEvery must be a whole number ≥ 1, got ${metricsEvery}`);
  return { metricsEvery, keepCheckpoints, interrupted: options.interrupted ?? (async () => null) };
}
