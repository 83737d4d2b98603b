// The studio worker's training API (spread into the worker's api object in studio.worker.ts). Thin:
// the run itself is src/core/train/session.ts; this file holds the one active session, ties it to
// the current model (a model change cancels the run) and loads a run's model for resume and export.
import { transfer } from 'comlink';
import { deleteRun, getRun } from '../src/core/store';
import { listMethods } from '../src/core/peft/registry';
import '../src/core/peft/methods';
import {
  listRunSummaries,
  runDetail,
  trainingDefaults as defaultsFor,
  TrainingSession,
  type RunDetail,
  type RunSummary,
  type SessionModel,
  type TrainDefaults,
  type TrainEvent,
  type TrainSpec,
} from '../src/core/train/session';
import { exportMergedRun, exportRun } from '../src/core/train/run-export';
import { handoffRun } from '../src/core/handoff/run-handoff';
import { trainableMethodNames } from '../src/core/train/run';
import { currentModel, db, onModelChange, releaseCallback, requireBackend, requireModel, type LoadedModel } from './context';
import { loadStoredModel } from './models';
import { deviceLoss, lossBehind, onDeviceLoss, recovery } from './faults';

export type { RunDetail, RunSummary, TrainDefaults, TrainEvent, TrainSpec };
export type { MethodSpec } from '../src/core/train/session';
export type { TrainExample } from '../src/core/train/run';
export type { TrainerConfig } from '../src/core/train/config';
export type { LossMode, PromptFormat } from '../src/core/train/rows';
export type { RunDataSummary, StageSummary } from '../src/core/train/run-builder';

export interface TrainingMethodInfo {
  name: string;
  label: string;
  description: string;
}

/** Display names in the papers' and PEFT's spelling. */
const LABELS: Record<string, string> = {
  lora: 'LoRA',
  prefix: 'Prefix-tuning',
  prompt: 'Prompt tuning',
  ia3: '(IA)³',
  adapter: 'Bottleneck adapters',
  full: 'Full fine-tuning',
  freeze: 'Layer freezing',
};

let active: TrainingSession | null = null;
/** true from the moment a start/resume is accepted until its session exists, so two cannot overlap */
let starting = false;
/** settles when the active session's run() has (the device-loss handler waits for it) */
let activeRun: Promise<unknown> | null = null;

// A lost WebGPU device: the running session stops writing at once (abandoned at its last checkpoint);
// faults.ts reloads the model on the next backend only once the session has stopped.
onDeviceLoss(async (cause) => {
  const session = active;
  if (!session) return;
  session.abandon(`Training stopped at its last checkpoint: ${cause}.`);
  await activeRun;
});

const sessionOptions = { interrupted: lossBehind };

function sessionModel(model: LoadedModel): SessionModel {
  const { summary, decoder, tokenizer, checkpoint } = model;
  return { id: summary.id, name: summary.name, decoder, tokenizer, rawConfig: checkpoint.rawConfig };
}

/** The run's model: the current one when it matches, otherwise loaded from the store (refused while a run trains). */
async function modelFor(modelId: string): Promise<LoadedModel> {
  requireBackend();
  const current = currentModel();
  if (current?.summary.id === modelId) return current;
  if (active) throw new Error('A training run is in progress on the loaded model; pause or cancel it before switching to this run’s model.');
  return loadStoredModel(modelId);
}

/** The resumed session's first status says why it resumed, not only where. */
function explainResume(onEvent: (e: TrainEvent) => void, why: string): (e: TrainEvent) => void {
  let explained = false;
  return (event) => {
    if (!explained && event.kind === 'status' && event.status === 'running') {
      explained = true;
      return onEvent({ ...event, message: `${why} ${event.message ?? 'Resumed from the start.'}` });
    }
    return onEvent(event);
  };
}

/**
 * Runs one session to its end. `prepare` picks (or loads) the model before the session watches for
 * model changes; a change after that cancels the run, with a message saying why. A session abandoned
 * because the device was lost continues, once the worker has moved to another backend and reloaded
 * the model, from its last checkpoint, within this same call.
 */
async function runSession(
  prepare: () => Promise<LoadedModel>,
  create: (model: SessionModel) => Promise<TrainingSession>,
  onEvent: (e: TrainEvent) => void,
): Promise<RunSummary> {
  const release = (): void => releaseCallback(onEvent);
  if (active || starting) {
    release();
    throw new Error('A training run is already in progress; pause or cancel it before starting another.');
  }
  starting = true;
  let unsubscribe = (): void => {};
  try {
    let session: TrainingSession;
    let modelChanged = false;
    try {
      const model = await prepare();
      unsubscribe = onModelChange(() => {
        // the reload after a lost device is not a change of model: that session resumes on it
        if (active?.abandoned) return;
        modelChanged = true;
        active?.cancel(
          `The loaded model changed during training, so the run was cancelled at step ${active.currentStep} (its checkpoint is saved). ` +
            'Load the run’s model again and resume it to continue.',
        );
      });
      session = await create(sessionModel(model));
    } finally {
      starting = false;
    }
    active = session;
    if (modelChanged) session.cancel('The loaded model changed while the run was being prepared, so it was cancelled before its first step.');
    const lost = deviceLoss();
    if (lost) session.abandon(`Training stopped before its first step: ${lost}.`);
    for (;;) {
      const running = session.run();
      activeRun = running.catch(() => undefined);
      const summary = await running;
      if (!session.abandoned) return summary;
      const recovered = await recovery();
      const model = currentModel();
      if (!recovered || !model) return summary; // paused at its checkpoint: resumable by hand
      session = await TrainingSession.resume(await db(), sessionModel(model), session.runId, explainResume(onEvent, `${recovered.message}`), sessionOptions);
      active = session;
    }
  } finally {
    active = null;
    activeRun = null;
    unsubscribe();
    release();
  }
}

export const trainingApi = {
  /** Method and trainer settings the Train form starts from. */
  trainingDefaults(method: string): TrainDefaults {
    return defaultsFor(method);
  },

  trainingMethods(): TrainingMethodInfo[] {
    const trainable = new Set(trainableMethodNames());
    return listMethods()
      .filter(({ name }) => trainable.has(name))
      .map(({ name, description }) => ({ name, label: LABELS[name] ?? name, description }));
  },

  /** Trains the loaded model; resolves when the run completes, stops early, is cancelled or paused; rejects on error. */
  async startTraining(spec: TrainSpec, onEvent: (e: TrainEvent) => void): Promise<RunSummary> {
    return runSession(
      async () => requireModel(),
      async (model) => TrainingSession.start(await db(), model, spec, onEvent, sessionOptions),
      onEvent,
    );
  },

  pauseTraining(): boolean {
    return active?.pause() ?? false;
  },

  cancelTraining(): boolean {
    return active?.cancel() ?? false;
  },

  /** Continues a stored run from its latest checkpoint, loading its model first when another is loaded. */
  async resumeTraining(runId: string, onEvent: (e: TrainEvent) => void): Promise<RunSummary> {
    return runSession(
      async () => {
        const run = await getRun(await db(), runId);
        if (!run) throw new Error(`Run "${runId}" is not stored in this browser; it may have been deleted.`);
        return modelFor(run.modelId);
      },
      async (model) => TrainingSession.resume(await db(), model, runId, onEvent, sessionOptions),
      onEvent,
    );
  },

  async listTrainingRuns(): Promise<RunSummary[]> {
    return listRunSummaries(await db(), active?.runId ?? null);
  },

  async getTrainingRun(id: string): Promise<RunDetail> {
    return runDetail(await db(), id, active?.runId ?? null);
  },

  /** Deletes a run and its checkpoints; refused while that run is training. */
  async deleteTrainingRun(id: string): Promise<void> {
    if (active?.runId === id) throw new Error('This run is training; cancel it before deleting it.');
    await deleteRun(await db(), id);
  },

  /** The run's exported folder as a zip (PEFT layout, AdapterHub for adapters, a whole checkpoint for full/freeze). */
  async exportTrainingRun(id: string): Promise<{ fileName: string; bytes: Uint8Array }> {
    const handle = await db();
    const run = await getRun(handle, id);
    if (!run) throw new Error(`Run "${id}" is not stored in this browser; it may have been deleted.`);
    const model = await modelFor(run.modelId);
    const exported = await exportRun(handle, sessionModel(model), id);
    return transfer(exported, [exported.bytes.buffer]);
  },

  /** A LoRA run merged into its base model, as a whole Hugging Face checkpoint in a zip. */
  async exportMergedTrainingRun(id: string): Promise<{ fileName: string; bytes: Uint8Array }> {
    const handle = await db();
    const run = await getRun(handle, id);
    if (!run) throw new Error(`Run "${id}" is not stored in this browser; it may have been deleted.`);
    const exported = await exportMergedRun(handle, sessionModel(await modelFor(run.modelId)), id);
    return transfer(exported, [exported.bytes.buffer]);
  },

  /** The run's hand-off folder (data.jsonl, train_trl.py, axolotl.yaml, README.md) as a zip. */
  async handoffTrainingRun(id: string): Promise<{ fileName: string; bytes: Uint8Array }> {
    const handle = await db();
    const run = await getRun(handle, id);
    if (!run) throw new Error(`Run "${id}" is not stored in this browser; it may have been deleted.`);
    const exported = await handoffRun(handle, sessionModel(await modelFor(run.modelId)), id);
    return transfer(exported, [exported.bytes.buffer]);
  },
};
