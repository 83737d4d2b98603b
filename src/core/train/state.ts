// A Trainer's resumable state as plain host data: named float32 arrays plus JSON. A storage layer
// persists it as it likes (IndexedDB, a safetensors file + a JSON file); Trainer.resume reads it back.
// Tensor names: `weights/<param>` (trainable weights now), `optimizer/m/<param>`, `optimizer/v/<param>`
// (AdamW moments), `best/<param>` (the best validated weights, when any).
import type { HostTensor } from '../model/safetensors';
import type { TrainerConfig } from './config';
import type { DataOrderState } from './order';
import type { Row } from './batch';

export const TRAINER_STATE_VERSION = 1;

export interface NamedHostTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface TrainerStateJson {
  version: number;
  /** optimizer updates completed */
  step: number;
  config: TrainerConfig;
  /** data order, position within the epoch and its RNG state */
  order: DataOrderState;
  /** AdamW step count per parameter */
  optimizerSteps: Record<string, number>;
  best: { step: number; valLoss: number } | null;
  evalsWithoutImprovement: number;
  lastValLoss: number | null;
  skippedSteps: number;
  stoppedEarly: boolean;
  /** bad updates in a row when saved (loop.ts); absent in states saved before divergence handling */
  consecutiveBadSteps?: number;
  /** fingerprint of the training rows, so a resume on different data is refused */
  dataFingerprint: string;
  /** the model's dropout RNG state (LoRA / adapter dropout); null when it has none; absent in older states */
  modelRandomState?: number | null;
}

export interface TrainerState {
  tensors: NamedHostTensor[];
  json: TrainerStateJson;
}

/** Groups a state's tensors by prefix ('weights/', 'optimizer/', 'best/'), prefix removed. */
export function tensorsWithPrefix(state: TrainerState, prefix: string): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const t of state.tensors) {
    if (t.name.startsWith(prefix)) out.set(t.name.slice(prefix.length), { shape: t.shape, data: t.data });
  }
  return out;
}

export function withPrefix(prefix: string, tensors: Map<string, HostTensor>): NamedHostTensor[] {
  return [...tensors].map(([name, t]) => ({ name: prefix + name, shape: [...t.shape], data: t.data }));
}

/** FNV-1a over every row's ids and labels: cheap, and different for any edit a user could make. */
export function fingerprintRows(rows: readonly Row[]): string {
  let h = 0x811c9dc5;
  const mix = (n: number): void => {
    h ^= n & 0xffff;
    h = Math.imul(h, 0x01000193) >>> 0;
    h ^= (n >>> 16) & 0xffff;
    h = Math.imul(h, 0x01000193) >>> 0;
  };
  mix(rows.length);
  for (const row of rows) {
    mix(row.inputIds.length);
    for (const id of row.inputIds) mix(id);
    for (const label of row.labels) mix(label);
  }
  return `${rows.length}:${h.toString(16).padStart(8, '0')}`;
}

/** True when every tensor of the state (weights, moments, best) holds only finite numbers. */
export function stateIsFinite(state: TrainerState): boolean {
  for (const t of state.tensors) {
    const data = t.data;
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return false;
  }
  return true;
}

/** Checks the shape of a state read back from storage before anything trusts it. */
export function checkTrainerState(state: TrainerState): void {
  const json = state?.json;
  if (!json || typeof json !== 'object') throw new Error('Trainer.resume: the saved state has no json part');
  if (json.version !== TRAINER_STATE_VERSION) {
    throw new Error(`Trainer.resume: saved state version ${json.version} is not supported (this build reads version ${TRAINER_STATE_VERSION})`);
  }
  if (!Number.isInteger(json.step) || json.step < 0) throw new Error(`Trainer.resume: saved step ${json.step} is not a non-negative integer`);
  if (!Array.isArray(state.tensors)) throw new Error('Trainer.resume: the saved state has no tensor list');
  for (const t of state.tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (!(t.data instanceof Float32Array) || t.data.length !== size) {
      throw new Error(`Trainer.resume: saved tensor "${t.name}" has ${t.data?.length} values but shape [${t.shape}] needs ${size}`);
    }
  }
}
