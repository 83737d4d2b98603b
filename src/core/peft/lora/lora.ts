// LoRA (Hu et al. 2021), following PEFT 0.21 peft/tuners/lora/layer.py (Linear.forward, get_delta_weight,
// reset_lora_parameters): y = base(x) + B(A(dropout(x))) · scaling, A [r, in], B [out, r] for both
// nn.Linear and GPT-2's Conv1D (PEFT transposes only the merged delta for fan_in_fan_out layers).
// Merging keeps the original weight so unmerge() restores it bit for bit (PEFT subtracts, which
// can leave float32 rounding behind).
import * as tf from '@tensorflow/tfjs';
import type { Decoder, DecoderHooks } from '../../model/decoder';
import type { HostTensor } from '../../model/safetensors';
import { fastPathsEnabled, isTrainable, linearRows } from '../../model/ops/linear';
import { loraLinear, type LoraLinearWeights } from '../../model/ops/lora-linear';
import { expectedWeights } from '../../model/weight-names';
import { loraUpWebgpu, webgpuProgramsActive } from '../../kernels/webgpu';
import { Rng } from '../../rng';
import { kaimingUniform, normal, rngFor } from '../init';
import { selectTargets, type LinearModule } from '../targets';
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
import { LORA_DEFAULT_TARGETS, parseLoraConfig, type LoraSettings } from './config';

interface LoraPair {
  module: LinearModule;
  a: tf.Variable; // [r, in]
  b: tf.Variable; // [out, r]
}

const PREFIX = 'base_model.model.';
const TENSOR_NAME = /^base_model\.model\.(.+)\.lora_([AB])(?:\.default)?\.weight$/;

export class LoraMethod implements PeftMethod {
  readonly name = 'lora';
  private readonly pairs = new Map<string, LoraPair>();
  /** after merge(): module weight name → the weight as it was before */
  private originals: Map<string, tf.Tensor> | null = null;
  private dropoutRng: Rng;
  /** the biases the decoder adds (expectedWeights: GPT-2's, Qwen2's q/k/v, mlp_bias) */
  private readonly biasNames: Set<string>;

  private constructor(
    private readonly decoder: Decoder,
    private readonly settings: LoraSettings,
    seed: number | undefined,
  ) {
    this.dropoutRng = rngFor(seed === undefined ? undefined : seed + 1);
    this.biasNames = new Set([...expectedWeights(decoder.config).keys()].filter((name) => name.endsWith('.bias')));
  }

  get config(): Record<string, unknown> {
    return this.settings.raw;
  }

  get merged(): boolean {
    return this.originals !== null;
  }

  static create(decoder: Decoder, raw: Record<string, unknown>, opts: CreateOptions = {}): LoraMethod {
    const settings = parseLoraConfig('LoRA config', raw, decoder.config);
    const modules = targetsOf(decoder, settings, 'LoRA config');
    const rng = rngFor(opts.seed);
    const method = new LoraMethod(decoder, settings, opts.seed);
    const { r } = settings;
    for (const module of modules) {
      const { inFeatures, outFeatures } = module;
      // PEFT reset_lora_parameters: A kaiming-uniform(a=√5) (gaussian: N(0, 1/r)), B zeros, so ΔW = 0.
      // init_lora_weights=false leaves nn.Linear's default on both, which changes the output (tests only).
      const a = settings.init === 'gaussian' ? normal(rng, [r, inFeatures], 1 / r) : kaimingUniform(rng, [r, inFeatures], inFeatures);
      const b = settings.init === false ? kaimingUniform(rng, [outFeatures, r], r) : { shape: [outFeatures, r], data: new Float32Array(outFeatures * r) };
      method.add(module, a, b);
    }
    return method;
  }

  static load(decoder: Decoder, raw: Record<string, unknown>, tensors: Map<string, HostTensor>, files: { config: string; weights: string }): LoraMethod {
    const settings = parseLoraConfig(files.config, raw, decoder.config);
    const modules = targetsOf(decoder, settings, files.config);
    const wanted = new Set(modules.map((m) => m.name));
    for (const name of tensors.keys()) {
      const match = TENSOR_NAME.exec(name);
      if (!match) throw new PeftError(`tensor "${name}" is not a LoRA weight (expected base_model.model.<module>.lora_A.weight / lora_B.weight)`, files.weights, name);
      if (!wanted.has(match[1])) {
        throw new PeftError(
          `tensor "${name}" adapts module "${match[1]}", which is not among this ${decoder.config.modelType} model's layers matched by target_modules`,
          files.weights,
          name,
        );
      }
    }
    const method = new LoraMethod(decoder, settings, undefined);
    const used = new Set<string>();
    try {
      for (const module of modules) {
        const aName = `${PREFIX}${module.name}.lora_A.weight`;
        const bName = `${PREFIX}${module.name}.lora_B.weight`;
        const aKey = tensors.has(aName) ? aName : `${PREFIX}${module.name}.lora_A.default.weight`;
        const bKey = tensors.has(bName) ? bName : `${PREFIX}${module.name}.lora_B.default.weight`;
        const a = checkShape(files.weights, aKey, tensors.get(aKey), [settings.r, module.inFeatures], `r=${settings.r}, ${module.inFeatures} input features`);
        const b = checkShape(files.weights, bKey, tensors.get(bKey), [module.outFeatures, settings.r], `${module.outFeatures} output features, r=${settings.r}`);
        used.add(aKey).add(bKey);
        method.add(module, a, b);
      }
      checkNoExtraTensors(files.weights, tensors, used);
    } catch (error) {
      method.dispose();
      throw error;
    }
    return method;
  }

  private add(module: LinearModule, a: HostTensor, b: HostTensor): void {
    this.pairs.set(module.name, { module, a: hostVariable(a, `${module.name}.lora_A`), b: hostVariable(b, `${module.name}.lora_B`) });
  }

  hooks(training: boolean): DecoderHooks | null {
    if (this.merged) return null; // the update lives in the base weights now
    const { scaling, dropout } = this.settings;
    return {
      linear: (name, x, base) => {
        const pair = this.pairs.get(name);
        if (!pair) return base(x);
        const { inFeatures, outFeatures } = pair.module;
        // dropout on the LoRA branch's input only (PEFT's lora_dropout), one seed per call as before
        const dropped = training && dropout > 0 ? tf.dropout(x, dropout, undefined, this.dropoutRng.int(2 ** 31)) : null;
        // wasm: the layer as one op with its backward written out (ops/lora-linear.ts)
        const fused = fastPathsEnabled() ? this.frozenBase(pair.module) : null;
        if (fused) return loraLinear(x, dropped, { ...fused, a: pair.a as tf.Tensor2D, b: pair.b as tf.Tensor2D, scaling });
        const y = base(x); // [..., out]
        const input = dropped ?? x;
        const flat = input.reshape([-1, inFeatures]); // [N, in]
        const down = linearRows(flat as tf.Tensor2D, pair.a as tf.Tensor2D, 'out-in'); // [N, r]
        if (webgpuProgramsActive()) return loraUpWebgpu(y, down, pair.b as tf.Tensor2D, scaling); // WebGPU: B, ·scaling and + y in one program
        const up = linearRows(down, pair.b as tf.Tensor2D, 'out-in'); // [N, out]
        return tf.add(y, tf.mul(up, scaling).reshape([...x.shape.slice(0, -1), outFeatures])); // [..., out]
      },
    };
  }

  /**
   * The module's base weight and bias as the decoder multiplies by them (blocks.ts linear, the
   * tied head), or null when one is trained (no such method exists today; the composed path
   * below differentiates them).
   */
  private frozenBase(module: LinearModule): Pick<LoraLinearWeights, 'weight' | 'layout' | 'bias'> | null {
    const { decoder } = this;
    const tiedHead = module.name === 'lm_head' && decoder.config.tieWordEmbeddings;
    const weight = decoder.params.get(tiedHead ? decoder.embeddingName : `${module.name}.weight`) as tf.Tensor2D;
    const biasName = `${module.name}.bias`;
    const bias = this.biasNames.has(biasName) ? (decoder.params.get(biasName) as tf.Tensor1D) : null;
    if (isTrainable(weight) || isTrainable(bias)) return null;
    return { weight, layout: module.layout, bias };
  }

  /** The update B·A·scaling in the stored weight's layout ([in, out] for Conv1D). */
  private deltaWeight(pair: LoraPair): tf.Tensor2D {
    return tf.tidy(() => {
      const delta = tf.mul(tf.matMul(pair.b, pair.a), this.settings.scaling) as tf.Tensor2D; // [out, in]
      return pair.module.layout === 'in-out' ? delta.transpose() : delta;
    });
  }

  /** Adds every ΔW into the decoder's weights; forward then runs at base speed. */
  merge(): void {
    if (this.merged) throw new Error('LoRA: the adapter is already merged; call unmerge() first');
    if (this.decoder.config.tieWordEmbeddings && this.pairs.has('lm_head')) {
      throw new Error('LoRA: cannot merge into lm_head because it is tied to the token embedding; untie it or keep the adapter unmerged');
    }
    const originals = new Map<string, tf.Tensor>();
    for (const [name, pair] of this.pairs) {
      const weightName = `${name}.weight`;
      const original = this.decoder.params.get(weightName)!;
      const delta = this.deltaWeight(pair);
      this.decoder.params.set(weightName, tf.add(original, delta));
      delta.dispose();
      originals.set(weightName, original);
    }
    this.originals = originals;
  }

  /** Puts the original weights back exactly. */
  unmerge(): void {
    if (!this.originals) throw new Error('LoRA: the adapter is not merged');
    for (const [weightName, original] of this.originals) {
      this.decoder.params.get(weightName)!.dispose();
      this.decoder.params.set(weightName, original);
    }
    this.originals = null;
  }

  randomState(): number {
    return this.dropoutRng.state();
  }

  setRandomState(state: number): void {
    this.dropoutRng = Rng.fromState(state);
  }

  paramOverrides(enabled: boolean): Map<string, tf.Tensor> | null {
    return !enabled && this.originals ? this.originals : null;
  }

  variables(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const [name, pair] of this.pairs) {
      out.set(`${PREFIX}${name}.lora_A.weight`, pair.a);
      out.set(`${PREFIX}${name}.lora_B.weight`, pair.b);
    }
    return out;
  }

  async exportFiles(opts: ExportOptions): Promise<ExportedFiles> {
    const tensors = await readHostAll(this.variables());
    const config = {
      ...this.settings.raw,
      base_model_name_or_path: opts.baseModel,
      // PEFT sets fan_in_fan_out for Conv1D layers (GPT-2) and writes the value it used
      fan_in_fan_out: this.decoder.config.family === 'gpt2',
      inference_mode: true,
      target_modules: exportTargets(this.settings.targetModules ?? LORA_DEFAULT_TARGETS[this.decoder.config.modelType]),
    };
    return { configFile: 'adapter_config.json', config, weightsFile: 'adapter_model.safetensors', tensors, library: 'peft' };
  }

  dispose(): void {
    if (this.originals) this.unmerge();
    for (const pair of this.pairs.values()) {
      pair.a.dispose();
      pair.b.dispose();
    }
    this.pairs.clear();
  }
}

function targetsOf(decoder: Decoder, settings: LoraSettings, file: string): LinearModule[] {
  return selectTargets(
    decoder.config,
    { targetModules: settings.targetModules, excludeModules: settings.excludeModules, layersToTransform: settings.layersToTransform },
    LORA_DEFAULT_TARGETS[decoder.config.modelType],
    file,
  );
}

/** PEFT saves a target list as a set, so the order carries no meaning; a regex stays a string. */
export function exportTargets(spec: string | string[]): string | string[] {
  return typeof spec === 'string' ? spec : [...new Set(spec)];
}
