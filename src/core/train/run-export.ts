// A stored run's weights as a downloadable zip of the method's own folder layout: PEFT
// (adapter_config.json + adapter_model.safetensors + README.md), AdapterHub for bottleneck adapters,
// a Hugging Face checkpoint for full fine-tuning and layer freezing (exportAdapterFolder decides).
// The weights are the run's latest checkpoint's: the final ones, or, when the run keeps the best
// (loadBestAtEnd), the best validated ones — put back at the end of a finished run, and read from the
// checkpoint's best/ tensors for a run paused or cancelled before its end.
import * as tf from '@tensorflow/tfjs';
import { exportAdapterFolder } from '../peft/io';
import { getRun, loadLatestCheckpoint, type HoneDb } from '../store';
import { writeZip } from '../zip';
import { createPeftModel } from './run';
import { storedConfig, trainerStateOf, type SessionModel } from './session';
import { tensorsWithPrefix } from './state';

export interface ExportedRun {
  fileName: string;
  bytes: Uint8Array;
}

/** "LoRA run · 2024-05-17" → "lora-run-2024-05-17": safe as a file and folder name everywhere. */
export function slug(text: string): string {
  const cleaned = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  return cleaned.slice(0, 80) || 'run';
}

export async function exportRun(db: HoneDb, model: SessionModel, runId: string): Promise<ExportedRun> {
  const run = await getRun(db, runId);
  if (!run) throw new Error(`Run "${runId}" is not stored in this browser; it may have been deleted.`);
  const config = storedConfig(run);
  if (run.modelId !== model.id) {
    throw new Error(`Run “${config.name}” trained model ${run.modelId}, but the loaded model is “${model.name}” (${model.id}); load the run's model to export it.`);
  }
  const checkpoint = await loadLatestCheckpoint(db, runId);
  if (!checkpoint) throw new Error(`Run “${config.name}” has no checkpoint yet (one is saved every ${config.checkpointEvery} steps and when a run stops); nothing to export.`);
  const state = trainerStateOf(checkpoint);
  const best = config.trainer.loadBestAtEnd ? tensorsWithPrefix(state, 'best/') : new Map();
  const weights = best.size > 0 ? best : tensorsWithPrefix(state, 'weights/');
  const tokenize = (text: string): number[] => model.tokenizer.encode(text, { addSpecialTokens: true });
  const peft = createPeftModel(model.decoder, config.method, config.trainer.seed, { tokenize });
  try {
    const variables = peft.trainableVariables();
    for (const [name, variable] of variables) {
      const saved = weights.get(name);
      if (!saved) throw new Error(`Run “${config.name}”: its step ${checkpoint.step} checkpoint has no weights for "${name}"; the checkpoint is damaged.`);
      if (saved.shape.join() !== variable.shape.join()) {
        throw new Error(`Run “${config.name}”: checkpoint weights "${name}" are [${saved.shape}] but the model needs [${variable.shape}].`);
      }
      tf.tidy(() => variable.assign(tf.tensor(saved.data, saved.shape, 'float32')));
    }
    // awaited: exportAdapterFolder reads weights back asynchronously (no dataSync on WebGPU)
    const files = await exportAdapterFolder(peft.method!, { baseModel: model.name, ...(model.rawConfig ? { rawConfig: model.rawConfig } : {}) });
    const folder = slug(config.name);
    const entries = [...files].map(([name, data]) => ({ name: `${folder}/${name}`, bytes: data }));
    const bytes = writeZip(entries, { date: new Date(checkpoint.createdAt) });
    return { fileName: `${folder}.zip`, bytes };
  } finally {
    peft.dispose();
  }
}
