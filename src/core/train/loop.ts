// The training loop: N optimizer updates over shuffled rows with a learning-rate schedule, periodic
// validation, early stopping, the best weights kept on the host, progress events, pause / resume /
// cancel, and a state that resumes the run exactly (same weights as an uninterrupted run).
// Divergence (divergence.ts): an update that leaves non-finite weights is rolled back to the last
// finite state, and maxConsecutiveBadSteps bad updates in a row end the run as 'diverged'.
// Its shape follows transformers' Trainer (_inner_training_loop, EarlyStoppingCallback,
// load_best_model_at_end), reduced to what a single-device LoRA run needs.
import * as tf from '@tensorflow/tfjs';
import type { HostTensor } from '../model/safetensors';
import { readHostAll } from '../peft/types';
import { collate, type Batch, type Row } from './batch';
import { trainerConfig, type TrainerConfig } from './config';
import { AdamW } from './optim/adamw';
import { DataOrder } from './order';
import { learningRateAt, type ScheduleConfig } from './schedule';
import {
  TRAINER_STATE_VERSION,
  checkTrainerState,
  fingerprintRows,
  tensorsWithPrefix,
  withPrefix,
  type TrainerState,
} from './state';
import type { PackedPositions } from '../model/decoder';
import { evaluateLoss, trainStep, type ForwardFn } from './step';
import { DivergenceGuard } from './divergence';

/** What the Trainer trains: PeftModel satisfies it. */
export interface TrainableModel {
  forward(inputIds: tf.Tensor2D, attentionMask?: tf.Tensor2D, packed?: PackedPositions): tf.Tensor3D;
  /** the variables the optimizer updates, by stable name (the names in saved states) */
  trainableVariables(): Map<string, tf.Variable>;
  /** PeftModel's switch: dropout on for training steps, off for validation (set only when present) */
  training?: boolean;
  /** PeftModel's switch: recompute each block in the backward (set from TrainerConfig.gradientCheckpointing when present) */
  gradientCheckpointing?: boolean;
  /** the dropout RNG's state (null: no dropout RNG), saved so a resumed run draws the same masks */
  randomState?(): number | null;
  setRandomState?(state: number): void;
}

export interface TrainerData {
  train: readonly Row[];
  validation?: readonly Row[];
  /**
   * Training rows per stage of a staged plan, in order (summing to train.length): the stages are
   * trained one after another, shuffled only within each (order.ts). Absent: one shuffled set.
   */
  stages?: readonly number[];
}

export interface ProgressEvent {
  /** updates completed */
  step: number;
  totalSteps: number;
  /** this update's mean token loss */
  loss: number;
  /** present on steps that ran validation */
  valLoss?: number;
  /** learning rate this update used */
  lr: number;
  gradNorm: number;
  /** true when the update was skipped for a non-finite loss or gradient */
  skipped: boolean;
  epoch: number;
  /** staged data only: the stage (1-based) this update's rows came from */
  stage?: number;
  /** real (non-padding) tokens per second since run() started */
  tokensPerSecond: number;
  etaSeconds: number;
}

export type TrainerStatus = 'idle' | 'running' | 'paused' | 'cancelled' | 'completed' | 'stopped-early' | 'diverged';

export interface RunResult {
  status: TrainerStatus;
  step: number;
  skippedSteps: number;
  best: { step: number; valLoss: number } | null;
  /** status 'diverged' only: the step of the finite weights now in place (null: no finite state was held) */
  lastFiniteStep?: number | null;
}

export interface TrainerOptions {
  onProgress?: (event: ProgressEvent) => void;
}

export class Trainer {
  readonly config: TrainerConfig;
  private readonly params: Map<string, tf.Variable>;
  private readonly optimizer: AdamW;
  private order: DataOrder;
  private step = 0;
  private best: { step: number; valLoss: number; weights: Map<string, HostTensor> } | null = null;
  private evalsWithoutImprovement = 0;
  private lastValLoss: number | null = null;
  private skippedSteps = 0;
  private stoppedEarly = false;
  private readonly guard: DivergenceGuard;
  private status: TrainerStatus = 'idle';
  private pauseRequested = false;
  private cancelRequested = false;
  private wake: (() => void) | null = null;
  private readonly validationBatches: Batch[];
  private readonly forwardFn: ForwardFn;

  constructor(
    private readonly model: TrainableModel,
    private readonly data: TrainerData,
    config: Partial<TrainerConfig> & Pick<TrainerConfig, 'totalSteps' | 'padTokenId'>,
    private readonly options: TrainerOptions = {},
  ) {
    this.config = trainerConfig(config);
    if (data.train.length === 0) throw new Error('Trainer: the training set has no rows');
    if (this.config.evalEvery !== null && !data.validation?.length) {
      throw new Error('Trainer: evalEvery is set but there is no validation data');
    }
    this.params = model.trainableVariables();
    if (this.params.size === 0) throw new Error('Trainer: the model has no trainable variables');
    const { betas, eps, weightDecay } = this.config;
    this.optimizer = new AdamW({ betas, eps, weightDecay });
    this.guard = new DivergenceGuard(this.config.maxConsecutiveBadSteps, (kept) => {
      const weights = tensorsWithPrefix(kept, 'weights/');
      for (const [name, variable] of this.params) assignHost(variable, weights.get(name)!);
      this.optimizer.load({ steps: kept.json.optimizerSteps, tensors: tensorsWithPrefix(kept, 'optimizer/') }, this.params);
    });
    this.order = DataOrder.create(data.train.length, this.config.seed, this.config.shuffle, data.stages);
    if ('gradientCheckpointing' in model) model.gradientCheckpointing = this.config.gradientCheckpointing;
    this.forwardFn = (ids, mask, packed) => model.forward(ids, mask, packed);
    this.validationBatches = [];
    const validation = data.validation ?? [];
    for (let i = 0; i < validation.length; i += this.config.batchSize) {
      this.validationBatches.push(this.collate(validation.slice(i, i + this.config.batchSize)));
    }
  }

  /** A Trainer continuing a saved run: weights, optimizer, data order, step and best are restored. */
  static resume(model: TrainableModel, data: TrainerData, state: TrainerState, options: TrainerOptions = {}): Trainer {
    checkTrainerState(state);
    const { json } = state;
    const fingerprint = fingerprintRows(data.train);
    if (fingerprint !== json.dataFingerprint) {
      throw new Error(
        `Trainer.resume: the training rows differ from the saved run's (fingerprint ${fingerprint} vs ${json.dataFingerprint}); ` +
          'resume with the same dataset, template and max length',
      );
    }
    const trainer = new Trainer(model, data, json.config, options);
    const weights = tensorsWithPrefix(state, 'weights/');
    for (const [name, variable] of trainer.params) {
      const saved = weights.get(name);
      if (!saved) throw new Error(`Trainer.resume: the saved state has no weights for "${name}"`);
      if (saved.shape.length !== variable.shape.length || saved.shape.some((n, i) => n !== variable.shape[i])) {
        throw new Error(`Trainer.resume: saved weights "${name}" are [${saved.shape}] but the model's are [${variable.shape}]`);
      }
    }
    if (weights.size !== trainer.params.size) {
      const extra = [...weights.keys()].filter((n) => !trainer.params.has(n));
      throw new Error(`Trainer.resume: the saved state has weights the model lacks: ${extra.slice(0, 5).join(', ')}`);
    }
    trainer.optimizer.load({ steps: json.optimizerSteps, tensors: tensorsWithPrefix(state, 'optimizer/') }, trainer.params);
    for (const [name, variable] of trainer.params) assignHost(variable, weights.get(name)!);
    trainer.order = DataOrder.fromState(json.order);
    trainer.step = json.step;
    // states saved before the field existed have no dropout RNG state: the masks then differ, the weights still load
    if (typeof json.modelRandomState === 'number') model.setRandomState?.(json.modelRandomState);
    const bestWeights = tensorsWithPrefix(state, 'best/');
    if (json.best && [...trainer.params.keys()].some((name) => !bestWeights.has(name))) {
      throw new Error('Trainer.resume: the saved state records a best validation step but lacks some of its best/<param> weights');
    }
    trainer.best = json.best ? { ...json.best, weights: copyHost(bestWeights) } : null;
    trainer.evalsWithoutImprovement = json.evalsWithoutImprovement;
    trainer.lastValLoss = json.lastValLoss;
    trainer.skippedSteps = json.skippedSteps;
    trainer.stoppedEarly = json.stoppedEarly;
    trainer.guard.consecutiveBad = json.consecutiveBadSteps ?? 0;
    trainer.guard.offer(state);
    return trainer;
  }

  get currentStep(): number {
    return this.step;
  }

  get currentStatus(): TrainerStatus {
    return this.status;
  }

  /** Runs until totalSteps, early stopping, cancel() or the signal aborts. Yields to the event loop between updates. */
  async run(signal?: AbortSignal): Promise<RunResult> {
    if (this.status === 'running' || this.status === 'paused') throw new Error('Trainer.run: this trainer is already running');
    this.status = 'running';
    this.cancelRequested = false;
    const onAbort = (): void => this.cancel();
    signal?.addEventListener('abort', onAbort);
    if (signal?.aborted) this.cancel();
    let tokens = 0;
    let stepsThisRun = 0;
    try {
      // the first run of a fresh Trainer keeps its starting state: the rollback target until a checkpoint
      if (!this.guard.lastFinite) await this.state();
      const started = performance.now();
      while (this.step < this.config.totalSteps && !this.stoppedEarly && !this.guard.diverged) {
        await new Promise((resolve) => setTimeout(resolve, 0)); // lets pause()/cancel() and messages in
        if (this.pauseRequested && !this.cancelRequested) {
          this.status = 'paused';
          await new Promise<void>((resolve) => (this.wake = resolve));
          this.status = 'running';
        }
        if (this.cancelRequested) {
          this.status = 'cancelled';
          break;
        }
        const event = await this.oneStep();
        tokens += event.tokens;
        stepsThisRun++;
        const elapsed = (performance.now() - started) / 1000;
        this.options.onProgress?.({
          ...event.progress,
          tokensPerSecond: elapsed > 0 ? tokens / elapsed : 0,
          etaSeconds: (elapsed / stepsThisRun) * (this.config.totalSteps - this.step),
        });
      }
      // the last update has no next step to check it: check it here, so state() is always finite
      await this.guard.checkLast(this.params);
      if (this.guard.diverged) {
        this.status = 'diverged';
      } else if (this.status === 'running') {
        this.status = this.stoppedEarly ? 'stopped-early' : 'completed';
        if (this.config.loadBestAtEnd && this.best) {
          for (const [name, variable] of this.params) assignHost(variable, this.best.weights.get(name)!);
        }
      }
    } catch (error) {
      this.status = 'idle';
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.setTraining(false);
    }
    const result: RunResult = { status: this.status, step: this.step, skippedSteps: this.skippedSteps, best: this.bestSummary() };
    if (this.status === 'diverged') result.lastFiniteStep = this.guard.lastFinite?.json.step ?? null;
    return result;
  }

  /** The state non-finite weights were (or would be) rolled back to; null before the first run(). */
  get lastFiniteState(): TrainerState | null {
    return this.guard.lastFinite;
  }

  /** Stops before the next update; run() waits until unpause() (or cancel()). */
  pause(): void {
    this.pauseRequested = true;
  }

  unpause(): void {
    this.pauseRequested = false;
    this.wake?.();
    this.wake = null;
  }

  /** Stops before the next update; run() resolves with status 'cancelled'. state() still works. */
  cancel(): void {
    this.cancelRequested = true;
    this.pauseRequested = false;
    this.wake?.();
    this.wake = null;
  }

  /** The best validated weights so far (host copies), or null before any validation. */
  async bestWeights(): Promise<Map<string, HostTensor> | null> {
    return this.best ? copyHost(this.best.weights) : null;
  }

  /**
   * Everything needed to continue this run. Take it between updates (paused, cancelled, finished,
   * or from onProgress): everything is captured synchronously when called, only the read-backs wait.
   */
  async state(): Promise<TrainerState> {
    // both start their snapshots synchronously (clones), so the weights and moments belong to one step
    const weightsPending = readHostAll(this.params);
    const optimizerPending = this.optimizer.state();
    const best = this.best ? withPrefix('best/', copyHost(this.best.weights)) : [];
    const json: Omit<TrainerState['json'], 'optimizerSteps'> = {
      version: TRAINER_STATE_VERSION,
      step: this.step,
      config: { ...this.config, betas: [...this.config.betas] },
      order: this.order.state(),
      best: this.bestSummary(),
      evalsWithoutImprovement: this.evalsWithoutImprovement,
      lastValLoss: this.lastValLoss,
      skippedSteps: this.skippedSteps,
      stoppedEarly: this.stoppedEarly,
      consecutiveBadSteps: this.guard.consecutiveBad,
      dataFingerprint: fingerprintRows(this.data.train),
      modelRandomState: this.model.randomState?.() ?? null,
    };
    const [weights, optimizer] = await Promise.all([weightsPending, optimizerPending]);
    const state: TrainerState = {
      tensors: [...withPrefix('weights/', weights), ...withPrefix('optimizer/', optimizer.tensors), ...best],
      json: { ...json, optimizerSteps: optimizer.steps },
    };
    this.guard.offer(state); // the caller stores it (a checkpoint); finite, it is also the rollback target
    return state;
  }

  /** Frees the optimizer's tensors (the model's variables stay the model's). */
  dispose(): void {
    this.optimizer.dispose();
  }

  private async oneStep(): Promise<{ progress: Omit<ProgressEvent, 'tokensPerSecond' | 'etaSeconds'>; tokens: number }> {
    const { config } = this;
    const microBatches: Batch[] = [];
    let stage: number | undefined;
    for (let i = 0; i < config.gradientAccumulationSteps; i++) {
      microBatches.push(this.collate(this.order.next(config.batchSize).map((index) => this.data.train[index])));
      // an update spanning a stage boundary (accumulation) counts for the stage it started in
      if (i === 0 && this.data.stages) stage = this.order.lastGroup + 1;
    }
    const lr = learningRateAt(this.schedule(), this.step);
    this.setTraining(true);
    const result = await trainStep(this.forwardFn, this.params, microBatches, this.optimizer, {
      learningRate: lr,
      maxGradNorm: config.maxGradNorm,
      accumulation: config.accumulation,
    });
    this.step++;
    if (result.skipped) this.skippedSteps++;
    this.guard.afterStep(result.weightsFinite, result.skipped);
    let valLoss: number | undefined;
    if (config.evalEvery !== null && (this.step % config.evalEvery === 0 || this.step === config.totalSteps)) {
      valLoss = await this.validate();
    }
    return {
      progress: {
        step: this.step,
        totalSteps: config.totalSteps,
        loss: result.loss,
        ...(valLoss === undefined ? {} : { valLoss }),
        lr,
        gradNorm: result.gradNorm,
        skipped: result.skipped,
        epoch: this.order.epoch,
        ...(stage === undefined ? {} : { stage }),
      },
      tokens: result.realTokens,
    };
  }

  /** Validation loss; keeps the best weights and counts evaluations without improvement. */
  private async validate(): Promise<number> {
    this.setTraining(false);
    const { loss } = await evaluateLoss(this.forwardFn, this.validationBatches);
    this.lastValLoss = loss;
    // a non-finite loss (weights about to be rolled back) is never the best
    if (Number.isFinite(loss) && (!this.best || loss < this.best.valLoss - this.config.earlyStoppingThreshold)) {
      this.best = { step: this.step, valLoss: loss, weights: await readHostAll(this.params) };
      this.evalsWithoutImprovement = 0;
    } else {
      this.evalsWithoutImprovement++;
      const patience = this.config.earlyStoppingPatience;
      if (patience !== null && this.evalsWithoutImprovement >= patience) this.stoppedEarly = true;
    }
    return loss;
  }

  private setTraining(training: boolean): void {
    if ('training' in this.model) this.model.training = training;
  }

  private schedule(): ScheduleConfig {
    const { schedule, learningRate, warmupSteps, totalSteps } = this.config;
    return { kind: schedule, learningRate, warmupSteps, totalSteps };
  }

  private collate(rows: readonly Row[]): Batch {
    return collate(rows, this.config.padTokenId, this.config.padTo ?? undefined);
  }

  private bestSummary(): { step: number; valLoss: number } | null {
    return this.best ? { step: this.best.step, valLoss: this.best.valLoss } : null;
  }
}

function copyHost(tensors: Map<string, HostTensor>): Map<string, HostTensor> {
  return new Map([...tensors].map(([name, t]) => [name, { shape: [...t.shape], data: new Float32Array(t.data) }]));
}

function assignHost(variable: tf.Variable, host: HostTensor): void {
  tf.tidy(() => variable.assign(tf.tensor(host.data, host.shape, 'float32')));
}
