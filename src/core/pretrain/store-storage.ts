// Pretraining runs kept in IndexedDB (the studio's Pretrain view): the run record (method 'pretrain')
// holds the spec, the progress lines as metrics and what the latest checkpoint is; the checkpoints
// store holds the Trainer state's tensors, with { spec, trainer, elapsedSeconds, tokens } beside them
// (the same fields the CLI's state.json has). Only the latest checkpoint is kept: resuming needs no other.
import {
  appendRunMetrics,
  getRun,
  loadLatestCheckpoint,
  saveCheckpoint,
  updateRun,
  type HoneDb,
  type RunRecord,
} from '../store';
import type { TrainerState } from '../train/state';
import { specKey, type PretrainCheckpoint, type PretrainStorage, type ProgressLine } from './loop';
import type { PretrainSpec } from './pretrain';

export const PRETRAIN_METHOD = 'pretrain';

/** What a pretraining run record's `config` holds. */
export interface PretrainRunConfig {
  name: string;
  /** not `spec`: the Train view's run list reads `config.spec` as a fine-tuning spec */
  pretrainSpec: PretrainSpec;
  checkpointEvery: number;
  logEvery: number;
  command: string;
  /** the latest checkpoint, for display (the checkpoints store has the tensors) */
  checkpoint?: { step: number; bytes: number; elapsedSeconds: number; tokens: number; savedAt: number };
  /** the model the finished run produced (in the models store) */
  modelId?: string;
}

interface SavedState {
  spec: string;
  trainer: TrainerState['json'];
  elapsedSeconds: number;
  tokens: number;
}

export function pretrainRunConfig(run: RunRecord): PretrainRunConfig {
  const config = run.config as Partial<PretrainRunConfig>;
  if (run.method !== PRETRAIN_METHOD || !config.pretrainSpec) {
    throw new Error(`Run ${run.id} is not a pretraining run (method “${run.method}”); open it in the Train view instead.`);
  }
  return config as PretrainRunConfig;
}

export class StorePretrainStorage implements PretrainStorage {
  constructor(
    private readonly db: HoneDb,
    private readonly runId: string,
  ) {}

  async load(spec: PretrainSpec): Promise<PretrainCheckpoint | null> {
    const record = await loadLatestCheckpoint(this.db, this.runId);
    if (!record) return null;
    const saved = record.state as Partial<SavedState>;
    if (saved.spec !== specKey(spec) || !saved.trainer) {
      throw new Error(`Pretraining run ${this.runId}: its checkpoint (step ${record.step}) was saved for a different spec; start a new run instead.`);
    }
    const run = await getRun(this.db, this.runId);
    if (run && run.metrics.some((m) => m.step > record.step)) {
      // steps after the checkpoint will run again: their old lines would be logged twice
      await updateRun(this.db, this.runId, { metrics: run.metrics.filter((m) => m.step <= record.step) });
    }
    return {
      state: { json: saved.trainer, tensors: record.tensors.map((t) => ({ name: t.name, shape: [...t.shape], data: new Float32Array(t.data) })) },
      elapsedSeconds: saved.elapsedSeconds ?? 0,
      tokens: saved.tokens ?? 0,
    };
  }

  async save(spec: PretrainSpec, checkpoint: PretrainCheckpoint): Promise<void> {
    const { state, elapsedSeconds, tokens } = checkpoint;
    const saved: SavedState = { spec: specKey(spec), trainer: state.json, elapsedSeconds, tokens };
    const step = state.json.step;
    await saveCheckpoint(this.db, { runId: this.runId, step, tensors: state.tensors, state: { ...saved } }, { keepRecent: 1 });
    const run = await getRun(this.db, this.runId);
    if (!run) return; // deleted meanwhile: saveCheckpoint would have thrown; nothing to describe
    const bytes = state.tensors.reduce((sum, t) => sum + t.data.byteLength, 0);
    const config: PretrainRunConfig = { ...pretrainRunConfig(run), checkpoint: { step, bytes, elapsedSeconds, tokens, savedAt: Date.now() } };
    await updateRun(this.db, this.runId, { config: { ...config } });
  }

  async appendProgress(line: ProgressLine): Promise<void> {
    await appendRunMetrics(this.db, this.runId, [{ step: line.step, loss: line.loss, lr: line.lr }]);
  }
}
