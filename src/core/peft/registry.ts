// Method name → implementation, as PEFT's PEFT_TYPE_TO_TUNER_MAPPING / register_peft_method:
// each method folder registers itself once; a second registration under the same name (or the same
// saved type) is a programming error and throws. Import './methods' to register all built-ins.
import type { Decoder } from '../model/decoder';
import type { HostTensor } from '../model/safetensors';
import type { CreateOptions, PeftMethod } from './types';

export interface MethodDefinition {
  /** Hone's name: 'lora', 'ia3', 'prefix', 'prompt', 'adapter', 'full', 'freeze' */
  name: string;
  /** PEFT's peft_type ('LORA', …) or AdapterHub's architecture ('bottleneck'); null if never loaded from an adapter folder */
  savedType: string | null;
  /** one line for people choosing a method */
  description: string;
  /** a fresh method; `config` holds the library's key names, unspecified keys take their defaults */
  create(decoder: Decoder, config: Record<string, unknown>, opts?: CreateOptions): PeftMethod;
  /** a method from saved files (config as read from the folder, tensors as saved) */
  load?(decoder: Decoder, config: Record<string, unknown>, tensors: Map<string, HostTensor>, files: { config: string; weights: string }): PeftMethod;
}

const byName = new Map<string, MethodDefinition>();
const bySavedType = new Map<string, MethodDefinition>();

export function registerMethod(definition: MethodDefinition): void {
  if (byName.has(definition.name)) {
    throw new Error(`PEFT registry: a method named "${definition.name}" is already registered`);
  }
  if (definition.savedType !== null && bySavedType.has(definition.savedType)) {
    throw new Error(`PEFT registry: saved type "${definition.savedType}" is already claimed by "${bySavedType.get(definition.savedType)!.name}"`);
  }
  byName.set(definition.name, definition);
  if (definition.savedType !== null) bySavedType.set(definition.savedType, definition);
}

export function getMethod(name: string): MethodDefinition {
  const definition = byName.get(name);
  if (!definition) {
    throw new Error(`PEFT method "${name}" is not known (known: ${[...byName.keys()].join(', ')})`);
  }
  return definition;
}

export function methodForSavedType(savedType: string): MethodDefinition | undefined {
  return bySavedType.get(savedType);
}

export function listMethods(): MethodDefinition[] {
  return [...byName.values()];
}

/** Shorthand: a fresh method by name. */
export function createMethod(name: string, decoder: Decoder, config: Record<string, unknown> = {}, opts: CreateOptions = {}): PeftMethod {
  return getMethod(name).create(decoder, config, opts);
}
