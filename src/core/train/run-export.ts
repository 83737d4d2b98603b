// A stored run's weights as a downloadable zip of the method's own folder layout: PEFT
// (adapter_config.json + adapter_model.safetensors + README.md), AdapterHub for bottleneck adapters,
// a Hugging Face checkpoint for full fine-tuning and layer freezing (exportAdapterFolder decides), and
// LoRA merged into the base as a checkpoint (exportMergedRun).
// The weights are the run's latest checkpoint's: the final ones, or, when the run keeps the best
// (loadBestAtEnd), the best validated ones — put back at the end of a finished run, and read from the
// checkpoint's best/ tensors for a run paused or cancelled before its end. A diverged run exports its
// last finite checkpoint (the one it kept); non-finite weights are never exported.
import * as tf from '@tensorflow/tfjs';
import { exportAdapterFolder } from '../peft/io';
import { exportMergedCheckpoint } from '../peft/lora/merge-export';
import { getModelFiles, getRun, loadLatestCheckpoint, StoreNotFoundError, type HoneDb } from '../store';
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

/** The run's method with its exported weights loaded (the caller disposes `peft`). */
async function restoreRun(db: HoneDb, model: SessionModel, runId: string) {
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
  // checkpoints are only saved finite (loop.ts rolls back first); one that is not was damaged or
  // written by an older Hone, and an adapter of NaNs would turn every logit of its users into NaN
  for (const [name, tensor] of weights) {
    const index = tensor.data.findIndex((value: number) => !Number.isFinite(value));
    if (index >= 0) {
      throw new Error(`Run “${config.name}”: its step ${checkpoint.step} checkpoint holds a non-finite value (${tensor.data[index]}) in "${name}" at index ${index}; it cannot be exported.`);
    }
  }
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
  } catch (error) {
    peft.dispose();
    throw error;
  }
  return { run, config, checkpoint, peft };
}

async function storedModelFiles(db: HoneDb, modelId: string): Promise<Map<string, Uint8Array> | undefined> {
  try {
    return await getModelFiles(db, modelId);
  } catch (error) {
    if (error instanceof StoreNotFoundError) return undefined;
    throw error;
  }
}

function zipFolder(folder: string, files: Map<string, Uint8Array>, createdAt: number): ExportedRun {
  const entries = [...files].map(([name, data]) => ({ name: `${folder}/${name}`, bytes: data }));
  return { fileName: `${folder}.zip`, bytes: writeZip(entries, { date: new Date(createdAt) }) };
}

export async function exportRun(db: HoneDb, model: SessionModel, runId: string): Promise<ExportedRun> {
  const { run, config, checkpoint, peft } = await restoreRun(db, model, runId);
  try {
    // full / freeze: a whole checkpoint, the base model's tokenizer files included (full/hf-folder.ts);
    // the studio always has them stored, a model given only in memory exports config and weights alone
    const baseFiles = peft.method!.replacesBaseWeights ? await storedModelFiles(db, run.modelId) : undefined;
    // awaited: exportAdapterFolder reads weights back asynchronously (no dataSync on WebGPU)
    const files = await exportAdapterFolder(peft.method!, { baseModel: model.name, ...(model.rawConfig ? { rawConfig: model.rawConfig } : {}), ...(baseFiles ? { baseFiles } : {}) });
    return zipFolder(slug(config.name), files, checkpoint.createdAt);
  } finally {
    peft.dispose();
  }
}

/** A LoRA run merged into its base model: a whole Hugging Face checkpoint as a zip (lora/merge-export.ts). */
export async function exportMergedRun(db: HoneDb, model: SessionModel, runId: string): Promise<ExportedRun> {
  const { run, config, checkpoint, peft } = await restoreRun(db, model, runId);
  try {
    if (config.method.name !== 'lora') throw new Error(`Run “${config.name}” trained ${config.method.name}; only LoRA runs can be merged into the base (export the run instead).`);
    const baseFiles = await storedModelFiles(db, run.modelId);
    if (!baseFiles) throw new Error(`Run “${config.name}”: its base model “${model.name}” is not stored in this browser, so its tokenizer files cannot go into the merged checkpoint; import the model and try again.`);
    const files = await exportMergedCheckpoint(model.decoder, peft.method!, { baseModel: model.name, ...(model.rawConfig ? { rawConfig: model.rawConfig } : {}), baseFiles });
    return zipFolder(`${slug(config.name)}-merged`, files, checkpoint.createdAt);
  } finally {
    peft.dispose();
  }
}
