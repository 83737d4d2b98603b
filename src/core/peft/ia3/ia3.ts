// (IA)³ (Liu et al. 2022), following PEFT 0.21 peft/tuners/ia3 (config.py, layer.py Linear.forward):
// a learned vector ia3_l per targeted layer. Feed-forward modules scale their INPUT
// (base(x · l), l saved as [1, in]); the others scale their OUTPUT, bias included (base(x) · l,
// l saved as [out, 1]). init_ia3_weights=true starts every l at 1, so the output is unchanged.
import * as tf from '@tensorflow/tfjs';
import type { Decoder, DecoderHooks } from '../../model/decoder';
import type { HostTensor } from '../../model/safetensors';
import { constant, normal, rngFor } from '../init';
import { bool, checkTaskType, mergeConfig, moduleSpec, type Json } from '../schema';
import { matchesSpec, selectTargets, type LinearModule } from '../targets';
import {
  PeftError,
  checkNoExtraTensors,
  checkShape,
  hostVariable,
  readHostAll,
  type CreateOptions,
  type ExportOptions,
  type ExportedFiles,
  type PeftMethod,
} from '../types';

export const IA3_DEFAULTS: Json = {
  auto_mapping: null,
  base_model_name_or_path: null,
  exclude_modules: null,
  fan_in_fan_out: false,
  feedforward_modules: null,
  inference_mode: false,
  init_ia3_weights: true,
  modules_to_save: null,
  peft_type: 'IA3',
  peft_version: '0.21.0',
  revision: null,
  target_modules: null,
  task_type: 'CAUSAL_LM',
};
const INTERPRETED = ['target_modules', 'feedforward_modules', 'exclude_modules', 'init_ia3_weights', 'fan_in_fan_out', 'task_type'];
const BOOKKEEPING = ['auto_mapping', 'base_model_name_or_path', 'inference_mode', 'peft_type', 'peft_version', 'revision'];

/** PEFT's TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING / _FEEDFORWARD_MODULES_MAPPING. */
const DEFAULT_TARGETS: Record<string, string[]> = { gpt2: ['c_attn', 'mlp.c_proj'], llama: ['k_proj', 'v_proj', 'down_proj'], qwen2: ['k_proj', 'v_proj', 'down_proj'] };
const DEFAULT_FEEDFORWARD: Record<string, string[]> = { gpt2: ['mlp.c_proj'], llama: ['down_proj'], qwen2: ['down_proj'] };

const PREFIX = 'base_model.model.';

interface Ia3Vector {
  module: LinearModule;
  feedforward: boolean;
  scale: tf.Variable; // [1, in] (feed-forward) or [out, 1]
}

interface Ia3Settings {
  raw: Json;
  targets: string | string[];
  feedforward: string | string[];
  exclude: string | string[] | null;
  init: boolean;
}

function parse(file: string, raw: unknown, modelType: string): Ia3Settings {
  const config = mergeConfig(file, raw, IA3_DEFAULTS, INTERPRETED, BOOKKEEPING);
  if (config['peft_type'] !== 'IA3') throw new PeftError(`peft_type must be "IA3", got ${JSON.stringify(config['peft_type'])}`, file, 'peft_type');
  checkTaskType(file, config);
  bool(file, config, 'fan_in_fan_out');
  const targets = moduleSpec(file, config, 'target_modules') ?? DEFAULT_TARGETS[modelType];
  const feedforward = moduleSpec(file, config, 'feedforward_modules') ?? DEFAULT_FEEDFORWARD[modelType];
  // PEFT IA3Config.__post_init__: feedforward_modules must be a subset of target_modules (when both are lists)
  if (Array.isArray(targets) && Array.isArray(feedforward) && !feedforward.every((f) => targets.includes(f))) {
    throw new PeftError(`feedforward_modules ${JSON.stringify(feedforward)} must be a subset of target_modules ${JSON.stringify(targets)}`, file, 'feedforward_modules');
  }
  return { raw: config, targets, feedforward, exclude: moduleSpec(file, config, 'exclude_modules'), init: bool(file, config, 'init_ia3_weights') };
}

export class Ia3Method implements PeftMethod {
  readonly name = 'ia3';
  private readonly vectors = new Map<string, Ia3Vector>();

  private constructor(
    private readonly decoder: Decoder,
    private readonly settings: Ia3Settings,
  ) {}

  get config(): Record<string, unknown> {
    return this.settings.raw;
  }

  private modules(file: string): { module: LinearModule; feedforward: boolean; shape: number[] }[] {
    const selection = { targetModules: this.settings.targets, excludeModules: this.settings.exclude, layersToTransform: null };
    return selectTargets(this.decoder.config, selection, [], file).map((module) => {
      const feedforward = matchesSpec(module.name, this.settings.feedforward);
      return { module, feedforward, shape: feedforward ? [1, module.inFeatures] : [module.outFeatures, 1] };
    });
  }

  static create(decoder: Decoder, raw: Record<string, unknown>, opts: CreateOptions = {}): Ia3Method {
    const method = new Ia3Method(decoder, parse('IA3 config', raw, decoder.config.modelType));
    const rng = rngFor(opts.seed);
    for (const { module, feedforward, shape } of method.modules('IA3 config')) {
      // init_ia3_weights=false keeps torch.randn's N(0, 1) values (PEFT uses it in tests)
      method.add(module, feedforward, method.settings.init ? constant(shape, 1) : normal(rng, shape, 1));
    }
    return method;
  }

  static load(decoder: Decoder, raw: Record<string, unknown>, tensors: Map<string, HostTensor>, files: { config: string; weights: string }): Ia3Method {
    const method = new Ia3Method(decoder, parse(files.config, raw, decoder.config.modelType));
    const used = new Set<string>();
    try {
      for (const { module, feedforward, shape } of method.modules(files.config)) {
        const name = tensors.has(`${PREFIX}${module.name}.ia3_l`) ? `${PREFIX}${module.name}.ia3_l` : `${PREFIX}${module.name}.ia3_l.default`;
        const why = feedforward ? `feed-forward module: scales its ${module.inFeatures} inputs` : `scales its ${module.outFeatures} outputs`;
        method.add(module, feedforward, checkShape(files.weights, name, tensors.get(name), shape, why));
        used.add(name);
      }
      checkNoExtraTensors(files.weights, tensors, used);
    } catch (error) {
      method.dispose();
      throw error;
    }
    return method;
  }

  private add(module: LinearModule, feedforward: boolean, scale: HostTensor): void {
    this.vectors.set(module.name, { module, feedforward, scale: hostVariable(scale, `${module.name}.ia3_l`) });
  }

  hooks(): DecoderHooks | null {
    return {
      linear: (name, x, base) => {
        const vector = this.vectors.get(name);
        if (!vector) return base(x);
        const { module, feedforward, scale } = vector;
        if (feedforward) return base(tf.mul(x, scale.reshape([module.inFeatures]))); // [..., in] scaled, then the layer
        return tf.mul(base(x), scale.reshape([module.outFeatures])); // [..., out]
      },
    };
  }

  variables(): Map<string, tf.Variable> {
    return new Map([...this.vectors].map(([name, v]) => [`${PREFIX}${name}.ia3_l`, v.scale]));
  }

  async exportFiles(opts: ExportOptions): Promise<ExportedFiles> {
    const tensors = await readHostAll(this.variables());
    const listOrRegex = (spec: string | string[]) => (typeof spec === 'string' ? spec : [...new Set(spec)]);
    const config = {
      ...this.settings.raw,
      base_model_name_or_path: opts.baseModel,
      fan_in_fan_out: this.decoder.config.family === 'gpt2',
      inference_mode: true,
      target_modules: listOrRegex(this.settings.targets),
      feedforward_modules: listOrRegex(this.settings.feedforward),
    };
    return { configFile: 'adapter_config.json', config, weightsFile: 'adapter_model.safetensors', tensors, library: 'peft' };
  }

  dispose(): void {
    for (const vector of this.vectors.values()) vector.scale.dispose();
    this.vectors.clear();
  }
}
