// `hone export --model DIR|ORG/NAME --adapter DIR --merge --out DIR`: a LoRA adapter merged into its base as a
// whole Hugging Face checkpoint (config.json, model.safetensors, generation_config.json and the base's
// tokenizer files) that transformers' Auto classes and Hone's own loader read back
// (src/core/peft/lora/merge-export.ts). Written beside OUT and renamed into place: complete or absent.
import { resolve } from 'node:path';
import { loadCheckpoint } from '../../src/core/model/checkpoint';
import { Decoder } from '../../src/core/model/decoder';
import { readAdapterFolder } from '../../src/core/peft';
import { exportMergedCheckpoint } from '../../src/core/peft/lora/merge-export';
import { type ParsedArgs, UsageError, required } from '../args';
import { readAdapterDir } from '../read-adapter-dir';
import { hubIdOf, readModelDir } from '../read-model-dir';
import { baseModelName, refuseExisting, writeFolder } from './train';

export interface ExportSummary {
  out: string;
  merged: true;
  method: string;
  baseModel: string;
  files: string[];
}

export async function exportCommand(args: ParsedArgs): Promise<ExportSummary> {
  const modelDir = required(args, 'model');
  const adapterDir = required(args, 'adapter');
  const out = resolve(required(args, 'out'));
  if (!args.switches.has('merge')) {
    throw new UsageError('export: give --merge to merge the adapter into the base weights (the only export this command makes; an adapter folder is already its own PEFT export)');
  }
  await refuseExisting(out);
  const modelFiles = await readModelDir(modelDir);
  const checkpoint = loadCheckpoint(modelFiles);
  const decoder = Decoder.fromHost(checkpoint.config, checkpoint.weights);
  try {
    const method = readAdapterFolder(await readAdapterDir(adapterDir), decoder);
    try {
      // a Hub id given as --model (readModelDir pulled it) names the base; else the checkpoint's own name or the folder's
      const baseModel = (await hubIdOf(modelDir)) ?? baseModelName(checkpoint.rawConfig, modelDir);
      const files = await exportMergedCheckpoint(decoder, method, { baseModel, rawConfig: checkpoint.rawConfig, baseFiles: modelFiles }).catch((error: Error) => {
        throw new Error(`--adapter ${adapterDir}: ${error.message}`, { cause: error });
      });
      await writeFolder(out, files);
      return { out, merged: true, method: method.name, baseModel, files: [...files.keys()].sort() };
    } finally {
      method.dispose();
    }
  } finally {
    decoder.dispose();
  }
}
