// A training run's parts, built from its TrainSpec before anything is stored (the run builder's
// studio side: records from IndexedDB or inline pairs), and a stored checkpoint read back as the
// Trainer's state. TrainingSession (session.ts) starts and resumes runs from these; run export and
// eval read checkpoints with trainerStateOf.
import type { Decoder } from '../model/decoder';
import type { PeftModel } from '../peft/model';
import type { HoneTokenizer } from '../tokenizer/tokenizer';
import type { CheckpointRecord, HoneDb } from '../store';
import type { TrainerConfig } from './config';
import type { TrainerData } from './loop';
import { prepareRun, type PreparedRun } from './run-builder';
import { checkSpec, defaultCheckpointEvery, loadRecords, runRowSettings, type TrainSpec } from './session-spec';
import type { StoredRunConfig } from './session-runs';
import type { TrainerState, TrainerStateJson } from './state';

/** The model a session trains: the stored model's id and name with its live decoder and tokenizer. */
export interface SessionModel {
  id: string;
  name: string;
  decoder: Decoder;
  tokenizer: HoneTokenizer;
  /** the checkpoint's own config.json, written into full / freeze exports */
  rawConfig?: Record<string, unknown>;
}

export interface Built {
  stored: Omit<StoredRunConfig, 'trainer'>;
  trainerInput: TrainerConfig;
  peft: PeftModel;
  data: TrainerData;
}

/** Rows, the PEFT model and the resolved settings for a spec (the run builder); nothing is stored. The caller disposes `peft`. */
export async function buildSessionRun(db: HoneDb, model: SessionModel, spec: TrainSpec): Promise<Built> {
  checkSpec(spec);
  const source = await loadRecords(db, spec);
  const rowSettings = runRowSettings(spec);
  let prepared: PreparedRun;
  try {
    prepared = prepareRun(model.decoder, model.tokenizer, source, {
      method: spec.method,
      trainer: spec.trainer,
      rows: rowSettings,
      validationFraction: spec.validationFraction,
    });
  } catch (error) {
    throw new Error(`Training settings: ${(error as Error).message}`, { cause: error });
  }
  const { peft, summary } = prepared;
  const stored: Omit<StoredRunConfig, 'trainer'> = {
    name: spec.name?.trim() || `${spec.method.name} · ${new Date().toISOString().slice(0, 16).replace('T', ' ')}`,
    spec: structuredClone(spec),
    method: { name: spec.method.name, config: prepared.methodConfig },
    maxLength: prepared.maxLength,
    promptFormat: rowSettings.promptFormat ?? 'alpaca',
    loss: rowSettings.loss ?? 'completion',
    packing: rowSettings.packing ?? false,
    checkpointEvery: spec.checkpointEvery ?? defaultCheckpointEvery(spec.trainer.totalSteps),
    trainable: peft.trainableParameterCount(),
    rows: { ...summary.rows, dropped: summary.dropped.reduce((n, d) => n + d.count, 0) },
    data: summary,
  };
  return { stored, trainerInput: prepared.trainer, peft, data: prepared.data };
}

/** A checkpoint record as the Trainer's state (float32 views over the stored buffers). */
export function trainerStateOf(checkpoint: CheckpointRecord): TrainerState {
  const json = (checkpoint.state as { trainer?: TrainerStateJson }).trainer;
  if (!json) throw new Error(`Checkpoint at step ${checkpoint.step} has no trainer state; it was not saved by a training run.`);
  return { json, tensors: checkpoint.tensors.map((t) => ({ name: t.name, shape: [...t.shape], data: new Float32Array(t.data) })) };
}

