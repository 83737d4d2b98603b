// What every parameter-efficient method provides, and the small helpers they share.
// The shape follows Hugging Face PEFT (src/peft/tuners/<method>/): a method owns its own tensors,
// plugs into the base model through hooks (here: the Decoder's DecoderHooks), saves only its own
// weights under PEFT's names, and at initialisation leaves the model's output unchanged where the
// method allows it (LoRA, IA³, bottleneck adapters).
import * as tf from '@tensorflow/tfjs';
import type { Decoder, DecoderHooks, ForwardOptions, PackedPositions } from '../model/decoder';
import type { HostTensor } from '../model/safetensors';

/** An error about an adapter folder or a method config; names the file and the field or tensor. */
export class PeftError extends Error {
  constructor(
    detail: string,
    readonly file: string,
    readonly field?: string,
  ) {
    super(`${file}${field === undefined ? '' : ` (${field})`}: ${detail}`);
    this.name = 'PeftError';
  }
}

/** What a method does to one forward call's inputs (prefix and prompt tuning). */
export interface PreparedInputs {
  /** ids to embed, or null when `options.inputsEmbeds` carries the whole input */
  inputIds: tf.Tensor2D | null;
  options: ForwardOptions;
  /** leading positions of the logits that belong to virtual tokens and are dropped */
  virtualPositions: number;
}

/** The files a method is saved as; PEFT methods use adapter_config.json + adapter_model.safetensors. */
export interface ExportedFiles {
  configFile: string;
  config: Record<string, unknown>;
  weightsFile: string;
  tensors: Map<string, HostTensor>;
  /** model card front matter `library_name` */
  library: string;
}

export interface ExportOptions {
  /** the base model's Hub id or name, written as base_model / base_model_name_or_path */
  baseModel: string;
  /** the base checkpoint's config.json, used by methods that export a whole checkpoint (full, freeze) */
  rawConfig?: Record<string, unknown>;
}

/**
 * One parameter-efficient method attached to one Decoder. Created by its registry entry
 * (registry.ts) either fresh (`create`) or from saved files (`load`).
 */
export interface PeftMethod {
  /** registry name: 'lora', 'ia3', 'prefix', 'prompt', 'adapter', 'full', 'freeze' */
  readonly name: string;
  /** the method's settings in its library's own key names (PEFT's for PEFT methods) */
  readonly config: Record<string, unknown>;
  /** hooks for one forward pass; `training` switches dropout on */
  hooks(training: boolean): DecoderHooks | null;
  /** rewrites the inputs of a forward call (prefix: longer mask; prompt: soft tokens in front) */
  prepareInputs?(decoder: Decoder, inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D | undefined, packed?: PackedPositions): PreparedInputs;
  /**
   * Decoder weights to use instead of the decoder's own during a forward call (full fine-tuning,
   * layer freezing: their variables; LoRA after merge(): the unmerged originals when disabled).
   */
  paramOverrides?(enabled: boolean): Map<string, tf.Tensor> | null;
  /** true when the trainable variables replace base weights rather than add to them (full, freeze) */
  readonly replacesBaseWeights?: boolean;
  /** the tensors an optimizer updates, by the name they are saved under */
  variables(): Map<string, tf.Variable>;
  /** the files this method saves as (names, shapes and config keys of the reference library); async: weights are read back with `await data()` */
  exportFiles(opts: ExportOptions): Promise<ExportedFiles>;
  /** the state of the method's dropout RNG, so a resumed run draws the same masks (methods with dropout only) */
  randomState?(): number;
  setRandomState?(state: number): void;
  /** disposes the method's own tensors (never the decoder's) */
  dispose(): void;
}

/** Options for creating a fresh method. */
export interface CreateOptions {
  /** seeds every random initialisation (and LoRA dropout masks); same seed → same weights */
  seed?: number;
  /** prompt tuning with prompt_tuning_init TEXT: the tokenizer, with special tokens as PEFT's tokenizer(text) */
  tokenize?: (text: string) => number[];
}

/**
 * A tensor's values copied to the host. `await data()`, never dataSync: on tfjs-webgpu dataSync gave
 * wrong values and broke later read-backs. The copy matters because a backend may hand out its own buffer.
 */
export async function readHost(tensor: tf.Tensor): Promise<HostTensor> {
  return { shape: [...tensor.shape], data: new Float32Array((await tensor.data()) as Float32Array) };
}

/**
 * Host copies of several tensors as they are at the moment of the call: each is cloned synchronously
 * (a clone shares the data and keeps it alive), so an update that lands while the read-backs are
 * pending cannot mix old and new values. The clones are disposed when the read-backs finish.
 */
export async function readHostAll(tensors: Map<string, tf.Tensor>): Promise<Map<string, HostTensor>> {
  const snapshot = [...tensors].map(([name, t]) => [name, tf.clone(t)] as const);
  try {
    const values = await Promise.all(snapshot.map(([, t]) => readHost(t)));
    return new Map(snapshot.map(([name], i) => [name, values[i]]));
  } finally {
    for (const [, t] of snapshot) t.dispose();
  }
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

/** Checks a loaded tensor's shape against what the base model needs; the error names both. */
export function checkShape(file: string, name: string, tensor: HostTensor | undefined, expected: number[], why: string): HostTensor {
  if (!tensor) throw new PeftError(`tensor "${name}" [${expected}] is missing`, file, name);
  if (!sameShape(tensor.shape, expected)) {
    throw new PeftError(
      `tensor "${name}" has shape [${tensor.shape}] but the base model needs [${expected}] (${why}); ` +
        'this adapter was probably made for a different base model',
      file,
      name,
    );
  }
  return tensor;
}

/** Refuses tensors a method did not read, so a file with extra or misspelt names is not half-loaded. */
export function checkNoExtraTensors(file: string, tensors: Map<string, HostTensor>, used: Set<string>): void {
  const extra = [...tensors.keys()].filter((name) => !used.has(name));
  if (extra.length > 0) {
    const shown = extra.slice(0, 5).map((n) => `"${n}"`).join(', ');
    throw new PeftError(`holds ${extra.length} tensor(s) this adapter type does not use: ${shown}${extra.length > 5 ? ', …' : ''}`, file);
  }
}

/** tf.variable from host values; the name is made unique because tfjs refuses duplicate variable names. */
let variableCounter = 0;
export function hostVariable(host: HostTensor, name: string): tf.Variable {
  return tf.tidy(() => tf.variable(tf.tensor(host.data, host.shape, 'float32'), true, `peft/${name}/${variableCounter++}`));
}

/** tf.variable holding a copy of a tensor's values (no host round trip); the tensor stays the caller's. */
export function tensorVariable(tensor: tf.Tensor, name: string): tf.Variable {
  return tf.variable(tensor, true, `peft/${name}/${variableCounter++}`);
}
