// Which linear layers a LoRA / IA³ config targets, by PEFT's rules (peft/tuners/tuners_utils.py
// check_target_module_exists): a string is a regular expression that must match the whole module
// name; a list matches a module whose name equals an entry or ends with "." + entry;
// "all-linear" is every linear layer except the output layer. layers_to_transform keeps modules in
// the listed blocks only. Module names are the decoder's canonical weight prefixes, which are the
// names transformers' *ForCausalLM gives its modules, so PEFT's names and Hone's agree.
import type { ModelConfig } from '../model/config';
import { PeftError } from './types';

export interface LinearModule {
  /** canonical module name, e.g. 'transformer.h.0.attn.c_attn' or 'model.layers.1.mlp.down_proj' */
  name: string;
  inFeatures: number;
  outFeatures: number;
  /** GPT-2's Conv1D stores weights [in, out]; nn.Linear stores [out, in] */
  layout: 'in-out' | 'out-in';
  /** transformer block index; null for lm_head */
  layer: number | null;
}

/** Every linear layer the decoder routes through DecoderHooks.linear, in model order. */
export function linearModules(config: ModelConfig): LinearModule[] {
  const { hiddenSize: d, intermediateSize: f, numLayers } = config;
  const modules: LinearModule[] = [];
  for (let layer = 0; layer < numLayers; layer++) {
    if (config.family === 'gpt2') {
      const p = `transformer.h.${layer}`;
      modules.push({ name: `${p}.attn.c_attn`, inFeatures: d, outFeatures: 3 * d, layout: 'in-out', layer });
      modules.push({ name: `${p}.attn.c_proj`, inFeatures: d, outFeatures: d, layout: 'in-out', layer });
      modules.push({ name: `${p}.mlp.c_fc`, inFeatures: d, outFeatures: f, layout: 'in-out', layer });
      modules.push({ name: `${p}.mlp.c_proj`, inFeatures: f, outFeatures: d, layout: 'in-out', layer });
    } else {
      const p = `model.layers.${layer}`;
      const q = config.numHeads * config.headDim;
      const kv = config.numKvHeads * config.headDim;
      modules.push({ name: `${p}.self_attn.q_proj`, inFeatures: d, outFeatures: q, layout: 'out-in', layer });
      modules.push({ name: `${p}.self_attn.k_proj`, inFeatures: d, outFeatures: kv, layout: 'out-in', layer });
      modules.push({ name: `${p}.self_attn.v_proj`, inFeatures: d, outFeatures: kv, layout: 'out-in', layer });
      modules.push({ name: `${p}.self_attn.o_proj`, inFeatures: q, outFeatures: d, layout: 'out-in', layer });
      modules.push({ name: `${p}.mlp.gate_proj`, inFeatures: d, outFeatures: f, layout: 'out-in', layer });
      modules.push({ name: `${p}.mlp.up_proj`, inFeatures: d, outFeatures: f, layout: 'out-in', layer });
      modules.push({ name: `${p}.mlp.down_proj`, inFeatures: f, outFeatures: d, layout: 'out-in', layer });
    }
  }
  modules.push({ name: 'lm_head', inFeatures: d, outFeatures: config.vocabSize, layout: 'out-in', layer: null });
  return modules;
}

export type TargetSpec = string | string[];

/** PEFT's match of one module name against target_modules (or exclude_modules, feedforward_modules). */
export function matchesSpec(name: string, spec: TargetSpec): boolean {
  if (typeof spec === 'string') return new RegExp(`^(?:${spec})$`).test(name);
  return spec.some((entry) => name === entry || name.endsWith(`.${entry}`));
}

export interface TargetSelection {
  targetModules: TargetSpec | null;
  excludeModules: TargetSpec | null;
  layersToTransform: number[] | null;
}

/** The modules a config adapts; throws PEFT's "not found" error when nothing matches. */
export function selectTargets(config: ModelConfig, selection: TargetSelection, defaults: string[], file: string): LinearModule[] {
  const spec = selection.targetModules ?? defaults;
  const all = linearModules(config);
  const chosen = all.filter((module) => {
    if (spec === 'all-linear') {
      if (module.name === 'lm_head') return false;
    } else if (!matchesSpec(module.name, spec)) {
      return false;
    }
    if (selection.excludeModules && matchesSpec(module.name, selection.excludeModules)) return false;
    if (selection.layersToTransform && (module.layer === null || !selection.layersToTransform.includes(module.layer))) return false;
    return true;
  });
  if (chosen.length === 0) {
    throw new PeftError(
      `target_modules ${JSON.stringify(spec)} match no layer of this ${config.modelType} model ` +
        `(its linear layers are named like ${all.slice(0, config.family === 'gpt2' ? 4 : 7).map((m) => m.name.split('.').pop()).join(', ')})`,
      file,
      'target_modules',
    );
  }
  return chosen;
}

/** The block index in a canonical name, or null. */
export function layerOf(name: string): number | null {
  const match = /^(?:transformer\.h|model\.layers)\.(\d+)\./.exec(name);
  return match ? Number(match[1]) : null;
}
