// LoRA merged into the base as a whole Hugging Face checkpoint, as PEFT's merge_and_unload() followed
// by save_pretrained (plus the base tokenizer files): W' = W + B·A·scaling for every adapted layer
// (lora.ts merge()), then the decoder's weights are written and the merge undone, so the decoder
// and the adapter are exactly as they were afterwards, even when writing fails.
import type { Decoder } from '../../model/decoder';
import { checkpointFolder } from '../full/hf-folder';
import { PeftError, readHostAll, type PeftMethod } from '../types';
import { LoraMethod } from './lora';

export interface MergedExportOptions {
  /** the base model's Hub id or name */
  baseModel: string;
  /** the base checkpoint's config.json */
  rawConfig?: Record<string, unknown>;
  /** the base model's files: tokenizer.json and its companions are copied from here */
  baseFiles: ReadonlyMap<string, Uint8Array>;
}

/** The merged checkpoint's files (name → bytes). `method` must be the LoRA attached to `decoder`. */
export async function exportMergedCheckpoint(decoder: Decoder, method: PeftMethod, opts: MergedExportOptions): Promise<Map<string, Uint8Array>> {
  if (!(method instanceof LoraMethod)) {
    throw new PeftError(`is ${JSON.stringify(method.name)}; only LoRA adapters can be merged into the base weights (export the adapter folder instead)`, 'merged export', 'method');
  }
  method.merge();
  let weights;
  try {
    weights = await readHostAll(new Map(decoder.params));
  } finally {
    method.unmerge();
  }
  return checkpointFolder({ modelConfig: decoder.config, ...(opts.rawConfig ? { rawConfig: opts.rawConfig } : {}), baseModel: opts.baseModel, weights, baseFiles: opts.baseFiles, how: 'LoRA merged into the base' });
}
