// Bottleneck adapters (not in PEFT): Houlsby et al. 2019 (after attention and after the
// feed-forward) and Pfeiffer et al. 2020 (after the feed-forward only). Saved in the layout of
// AdapterHub's `adapters` library (methods/modeling.py Adapter, models/{gpt2,llama}/mixin_*.py,
// configuration/adapter_config.py BnConfig, loading.py): adapter_config.json =
// { config: BnConfig.to_dict(), hidden_size, model_class, model_name, model_type, name } and
// adapter.safetensors with `<block>.{attention,output}_adapters.adapters.<name>.adapter_down.0.weight|bias`
// [bottleneck, d] and `.adapter_up.weight|bias` [d, bottleneck].
// On a sub-layer output h (before the block's residual add): h + up(act(down(h)))·scaling, which
// is what `adapters` computes for GPT-2/Llama blocks with original_ln_before=false,
// residual_before_ln=true. Initialisation is AdapterHub's "mam_adapter": down kaiming-uniform,
// up weight and both biases zero, so a fresh adapter leaves the output exactly unchanged.
import * as tf from '@tensorflow/tfjs';
import type { Decoder, DecoderHooks } from '../../model/decoder';
import type { HostTensor } from '../../model/safetensors';
import { activationFor } from '../../model/blocks';
import { linearRows } from '../../model/ops/linear';
import { Rng } from '../../rng';
import { constant, kaimingUniform, rngFor } from '../init';
import { bool, finiteNumber, mergeConfig, oneOf, type Json } from '../schema';
import { PeftError, checkNoExtraTensors, checkShape, hostVariable, readHostAll, type CreateOptions, type ExportOptions, type ExportedFiles, type PeftMethod } from '../types';

/** BnConfig's fields as `adapters` writes them, with DoubleSeqBnConfig's (Houlsby) values. */
export const BOTTLENECK_DEFAULTS: Json = {
  architecture: 'bottleneck',
  mh_adapter: true,
  output_adapter: true,
  reduction_factor: 16,
  non_linearity: 'swish',
  original_ln_before: false,
  original_ln_after: true,
  ln_before: false,
  ln_after: false,
  init_weights: 'mam_adapter',
  is_parallel: false,
  scaling: 1.0,
  use_gating: false,
  residual_before_ln: true,
  adapter_residual_before_ln: false,
  inv_adapter: null,
  inv_adapter_reduction_factor: null,
  cross_adapter: false,
  leave_out: [],
  dropout: 0.0,
  phm_layer: false,
  phm_dim: 4,
  factorized_phm_W: true,
  shared_W_phm: false,
  shared_phm_rule: true,
  factorized_phm_rule: false,
  phm_c_init: 'normal',
  phm_init_range: 0.0001,
  learn_phm: true,
  hypercomplex_nonlinearity: 'glorot-uniform',
  phm_rank: 1,
  phm_bias: true,
  stochastic_depth: 0.0,
};
const INTERPRETED = ['mh_adapter', 'output_adapter', 'reduction_factor', 'non_linearity', 'leave_out', 'dropout', 'init_weights'];
const BOOKKEEPING = ['architecture'];
const WRAPPER_KEYS = ['config', 'hidden_size', 'model_class', 'model_name', 'model_type', 'name', 'version'];
const MODEL_CLASS: Record<string, string> = { gpt2: 'GPT2LMHeadModel', llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM' };

export type AdapterKind = 'houlsby' | 'pfeiffer';

interface AdapterSettings {
  raw: Json;
  name: string;
  attention: boolean;
  output: boolean;
  bottleneck: number;
  activation: string;
  leaveOut: number[];
  dropout: number;
}

function parse(file: string, raw: unknown, decoder: Decoder, name: string): AdapterSettings {
  const config = mergeConfig(file, raw, BOTTLENECK_DEFAULTS, INTERPRETED, BOOKKEEPING);
  if (config['architecture'] !== 'bottleneck') throw new PeftError(`architecture must be "bottleneck", got ${JSON.stringify(config['architecture'])}`, file, 'architecture');
  const reduction = finiteNumber(file, config, 'reduction_factor', Number.MIN_VALUE);
  const activation = oneOf(file, config, 'non_linearity', ['relu', 'gelu', 'gelu_new', 'swish', 'silu'] as const);
  oneOf(file, config, 'init_weights', ['mam_adapter', 'bert', 'houlsby'] as const);
  const leaveOut = config['leave_out'];
  if (!Array.isArray(leaveOut) || !leaveOut.every((l) => Number.isInteger(l) && l >= 0 && l < decoder.config.numLayers)) {
    throw new PeftError(`must be a list of layer indices in [0, ${decoder.config.numLayers - 1}], got ${JSON.stringify(leaveOut)}`, file, 'leave_out');
  }
  if (!/^[\w-]+$/.test(name)) throw new PeftError(`adapter name ${JSON.stringify(name)} may only hold letters, digits, _ and -`, file, 'name');
  return {
    raw: config,
    name,
    attention: bool(file, config, 'mh_adapter'),
    output: bool(file, config, 'output_adapter'),
    // BottleneckLayer: down_sample = int(hidden_size // reduction_factor), at least 1
    bottleneck: Math.max(1, Math.floor(decoder.config.hiddenSize / reduction)),
    activation,
    leaveOut: leaveOut as number[],
    dropout: finiteNumber(file, config, 'dropout', 0, 0.999),
  };
}

export class BottleneckAdapterMethod implements PeftMethod {
  readonly name = 'adapter';
  private readonly weights = new Map<string, tf.Variable>();
  /** seeds the dropout masks, so a seeded run (and a resumed one) draws the same masks */
  private dropoutRng: Rng;

  private constructor(
    private readonly decoder: Decoder,
    private readonly settings: AdapterSettings,
    seed: number | undefined,
  ) {
    this.dropoutRng = rngFor(seed === undefined ? undefined : seed + 1);
  }

  get config(): Record<string, unknown> {
    return this.settings.raw;
  }

  /** The tensor-name prefix of one adapter: `<block>.<site>_adapters.adapters.<name>`. */
  private prefix(layer: number, site: 'attention' | 'output'): string {
    const block = this.decoder.config.family === 'gpt2' ? `transformer.h.${layer}` : `model.layers.${layer}`;
    return `${block}.${site}_adapters.adapters.${this.settings.name}`;
  }

  private shapes(): Map<string, number[]> {
    const { bottleneck: b, attention, output, leaveOut } = this.settings;
    const d = this.decoder.config.hiddenSize;
    const shapes = new Map<string, number[]>();
    for (let layer = 0; layer < this.decoder.config.numLayers; layer++) {
      if (leaveOut.includes(layer)) continue;
      for (const site of ['attention', 'output'] as const) {
        if (site === 'attention' ? !attention : !output) continue;
        const p = this.prefix(layer, site);
        shapes.set(`${p}.adapter_down.0.weight`, [b, d]);
        shapes.set(`${p}.adapter_down.0.bias`, [b]);
        shapes.set(`${p}.adapter_up.weight`, [d, b]);
        shapes.set(`${p}.adapter_up.bias`, [d]);
      }
    }
    return shapes;
  }

  /** `config` holds BnConfig keys plus, optionally, kind ('houlsby' | 'pfeiffer') and name. */
  static create(decoder: Decoder, raw: Record<string, unknown>, opts: CreateOptions = {}): BottleneckAdapterMethod {
    const file = 'adapter config';
    const { kind = 'houlsby', name = 'hone', ...rest } = raw as { kind?: unknown; name?: unknown } & Json;
    if (kind !== 'houlsby' && kind !== 'pfeiffer') throw new PeftError(`kind must be "houlsby" or "pfeiffer", got ${JSON.stringify(kind)}`, file, 'kind');
    // SeqBnConfig (Pfeiffer): output adapter only, relu; DoubleSeqBnConfig (Houlsby): both, swish
    const preset = kind === 'pfeiffer' ? { mh_adapter: false, non_linearity: 'relu' } : {};
    const method = new BottleneckAdapterMethod(decoder, parse(file, { ...preset, ...rest }, decoder, String(name)), opts.seed);
    const rng = rngFor(opts.seed);
    const d = decoder.config.hiddenSize;
    for (const [tensor, shape] of method.shapes()) {
      const isDownWeight = tensor.endsWith('adapter_down.0.weight');
      method.weights.set(tensor, hostVariable(isDownWeight ? kaimingUniform(rng, shape, d) : constant(shape, 0), tensor));
    }
    return method;
  }

  /** `raw` is the whole AdapterHub adapter_config.json. */
  static load(decoder: Decoder, raw: Record<string, unknown>, tensors: Map<string, HostTensor>, files: { config: string; weights: string }): BottleneckAdapterMethod {
    const unknown = Object.keys(raw).filter((key) => !WRAPPER_KEYS.includes(key));
    if (unknown.length > 0) {
      throw new PeftError(`unknown config key(s) ${unknown.map((k) => `"${k}"`).join(', ')}; AdapterHub adapter configs have ${WRAPPER_KEYS.join(', ')}`, files.config, unknown[0]);
    }
    // the base model first: an adapter for another model fails on its config, not on a missing tensor
    const { modelType, hiddenSize } = decoder.config;
    if (raw['model_type'] !== undefined && raw['model_type'] !== modelType) {
      throw new PeftError(`is ${JSON.stringify(raw['model_type'])} but the base model is ${modelType}; this adapter was made for a different base model`, files.config, 'model_type');
    }
    if (raw['hidden_size'] !== undefined && raw['hidden_size'] !== hiddenSize) {
      throw new PeftError(`is ${JSON.stringify(raw['hidden_size'])} but the base model's hidden size is ${hiddenSize}; this adapter was made for a different base model`, files.config, 'hidden_size');
    }
    const name = typeof raw['name'] === 'string' ? raw['name'] : 'hone';
    const method = new BottleneckAdapterMethod(decoder, parse(files.config, raw['config'], decoder, name), undefined);
    const used = new Set<string>();
    try {
      for (const [tensor, shape] of method.shapes()) {
        const host = checkShape(files.weights, tensor, tensors.get(tensor), shape, `hidden size ${decoder.config.hiddenSize}, bottleneck ${method.settings.bottleneck}`);
        method.weights.set(tensor, hostVariable(host, tensor));
        used.add(tensor);
      }
      checkNoExtraTensors(files.weights, tensors, used);
    } catch (error) {
      method.dispose();
      throw error;
    }
    return method;
  }

  private apply(layer: number, site: 'attention' | 'output', h: tf.Tensor3D, training: boolean): tf.Tensor3D {
    const p = this.prefix(layer, site);
    const w = (name: string) => this.weights.get(`${p}.${name}`);
    const downWeight = w('adapter_down.0.weight');
    if (!downWeight) return h; // left out
    const [batch, time, d] = h.shape;
    const act = activationFor(this.settings.activation);
    const flat = h.reshape([batch * time, d]); // [N, d]
    const down = act(linearRows(flat as tf.Tensor2D, downWeight as tf.Tensor2D, 'out-in', w('adapter_down.0.bias') as tf.Tensor1D)); // [N, b]
    let up: tf.Tensor = linearRows(down as tf.Tensor2D, w('adapter_up.weight') as tf.Tensor2D, 'out-in', w('adapter_up.bias') as tf.Tensor1D); // [N, d]
    if (training && this.settings.dropout > 0) up = tf.dropout(up, this.settings.dropout, undefined, this.dropoutRng.int(2 ** 31));
    return tf.add(h, up.reshape([batch, time, d])) as tf.Tensor3D; // [B, T, d]
  }

  hooks(training: boolean): DecoderHooks | null {
    return {
      afterAttention: (layer, h) => (this.settings.attention ? this.apply(layer, 'attention', h, training) : h),
      afterMlp: (layer, h) => (this.settings.output ? this.apply(layer, 'output', h, training) : h),
    };
  }

  variables(): Map<string, tf.Variable> {
    return new Map(this.weights);
  }

  randomState(): number {
    return this.dropoutRng.state();
  }

  setRandomState(state: number): void {
    this.dropoutRng = Rng.fromState(state);
  }

  async exportFiles(opts: ExportOptions): Promise<ExportedFiles> {
    const tensors = await readHostAll(this.weights);
    const { modelType, hiddenSize } = this.decoder.config;
    const config = {
      config: this.settings.raw,
      hidden_size: hiddenSize,
      model_class: MODEL_CLASS[modelType],
      model_name: opts.baseModel,
      model_type: modelType,
      name: this.settings.name,
    };
    return { configFile: 'adapter_config.json', config, weightsFile: 'adapter.safetensors', tensors, library: 'adapter-transformers' };
  }

  dispose(): void {
    for (const variable of this.weights.values()) variable.dispose();
    this.weights.clear();
  }
}
