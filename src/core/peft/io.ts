// Adapter folders in and out. Reading follows PeftModel.from_pretrained: adapter_config.json names
// the method by peft_type, adapter_model.safetensors holds its tensors under PEFT's names
// (base_model.model.<module>.lora_A.weight, …, prompt_embeddings). AdapterHub bottleneck adapters
// (adapter_config.json with config.architecture "bottleneck" + adapter.safetensors) load too.
// Everything is checked against the base model before anything is attached, so a bad folder
// leaves the decoder exactly as it was. Writing produces the same files plus a model card whose
// front matter carries library_name and base_model, as save_pretrained does.
import type { Decoder } from '../model/decoder';
import { nonFiniteDetail } from '../model/finite';
import { parseSafetensors, writeSafetensors, type HostTensor } from '../model/safetensors';
import { WeightCopyMethod } from './full/checkpoint';
import { methodForSavedType } from './registry';
import { PeftError, type ExportOptions, type PeftMethod } from './types';
import './methods';

export type AdapterFiles = Map<string, Uint8Array>;

const CONFIG_FILE = 'adapter_config.json';

function readJson(files: AdapterFiles, name: string): Record<string, unknown> {
  const bytes = files.get(name);
  if (!bytes) throw new PeftError(`is missing; an adapter folder holds ${CONFIG_FILE} and its weights (files given: ${[...files.keys()].join(', ') || 'none'})`, name);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new PeftError(`is not valid JSON (${(error as Error).message})`, name);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new PeftError('is not a JSON object', name);
  return value as Record<string, unknown>;
}

/** Reads an adapter folder (file name → bytes) and attaches nothing: returns the method for a PeftModel. */
export function readAdapterFolder(files: AdapterFiles, decoder: Decoder): PeftMethod {
  const config = readJson(files, CONFIG_FILE);
  let savedType: string;
  let weightsFile: string;
  if ('peft_type' in config) {
    savedType = String(config['peft_type']);
    weightsFile = 'adapter_model.safetensors';
  } else if (typeof config['config'] === 'object' && config['config'] !== null && (config['config'] as Record<string, unknown>)['architecture'] !== undefined) {
    savedType = String((config['config'] as Record<string, unknown>)['architecture']);
    weightsFile = 'adapter.safetensors';
  } else {
    throw new PeftError('has no "peft_type" (PEFT) and no "config.architecture" (AdapterHub); it is not an adapter config', CONFIG_FILE);
  }
  const definition = methodForSavedType(savedType);
  if (!definition?.load) {
    throw new PeftError(`adapter type ${JSON.stringify(savedType)} is not supported (supported: LORA, IA3, PREFIX_TUNING, PROMPT_TUNING, AdapterHub bottleneck)`, CONFIG_FILE, 'peft_type');
  }
  const bytes = files.get(weightsFile);
  if (!bytes) {
    const hint = files.has('adapter_model.bin') || files.has('pytorch_adapter.bin') ? ' (PyTorch .bin files cannot be read; re-save with safetensors)' : '';
    throw new PeftError(`is missing${hint}`, weightsFile);
  }
  const tensors = parseSafetensors(bytes, weightsFile);
  refuseNonFinite(tensors, weightsFile);
  return definition.load(decoder, config, tensors, { config: CONFIG_FILE, weights: weightsFile });
}

/**
 * Every method's tensors pass through here before its load sees them: one NaN or ±Infinity in an
 * adapter makes every logit of the tuned model non-finite, so the file is refused, naming the tensor.
 */
export function refuseNonFinite(tensors: Map<string, HostTensor>, file: string): void {
  for (const [name, tensor] of tensors) {
    const detail = nonFiniteDetail(tensor.data, tensor.shape);
    if (detail !== null) throw new PeftError(`tensor ${JSON.stringify(name)} ${detail}; the adapter is corrupt (a diverged training run?) and cannot be used`, file, name);
  }
}

/** Python's json.dumps(indent=2, sort_keys=True), as PEFT writes adapter_config.json. */
function sortedJson(value: Record<string, unknown>): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]));
    return v;
  };
  return JSON.stringify(sort(value), null, 2);
}

function modelCard(library: string, baseModel: string, method: PeftMethod): string {
  return [
    '---',
    `base_model: ${JSON.stringify(baseModel)}`,
    `library_name: ${library}`,
    'tags:',
    '- hone',
    `- ${method.name}`,
    '---',
    '',
    `# ${method.name} fine-tune of ${baseModel}`,
    '',
    `Trained with Hone. Method: ${method.name}.`,
    '',
  ].join('\n');
}

/**
 * The method's folder: config, weights (safetensors, "format": "pt" as PEFT writes) and README.md.
 * Full fine-tuning and layer freezing given the base model's files (`baseFiles`) write a complete
 * checkpoint instead, tokenizer and generation config included (full/hf-folder.ts).
 */
export async function exportAdapterFolder(method: PeftMethod, opts: ExportOptions & { baseFiles?: ReadonlyMap<string, Uint8Array> }): Promise<AdapterFiles> {
  if (!opts.baseModel) throw new Error('exportAdapterFolder: baseModel (the base model id) is required; it goes into the config and the model card');
  if (method instanceof WeightCopyMethod && opts.baseFiles) return method.exportCheckpoint(opts, opts.baseFiles);
  const exported = await method.exportFiles(opts);
  const encoder = new TextEncoder();
  return new Map([
    [exported.configFile, encoder.encode(sortedJson(exported.config))],
    [exported.weightsFile, writeSafetensors(exported.tensors, { format: 'pt' })],
    ['README.md', encoder.encode(modelCard(exported.library, opts.baseModel, method))],
  ]);
}
