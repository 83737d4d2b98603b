// How much memory a model needs in Hone before any weight is downloaded: Hone holds every weight as
// float32 whatever the file's dtype (BF16/F16 are widened on load), so the weights alone are
// 4 bytes × the parameters that config.json implies (expectedWeights: the same table the loader
// checks against, tied embeddings counted once). Training adds gradients and AdamW's two moments
// for what it trains, and activations kept for the backward pass.
import type { ModelConfig } from '../model/config';
import { expectedWeights } from '../model/weight-names';

/** What the model will be used for: inference only, a parameter-efficient method, or full fine-tuning. */
export type MemoryUse = 'inference' | 'peft' | 'full';

export interface MemoryEstimate {
  parameters: number;
  weightsBytes: number;
  /** gradients + AdamW m and v of the trained parameters */
  optimizerBytes: number;
  activationBytes: number;
  totalBytes: number;
}

export interface MemoryOptions {
  use?: MemoryUse;
  /** rows per step (default 4, the CLI's train default) */
  batch?: number;
  /** tokens per row (default min(256, positions), the CLI's train default) */
  sequenceLength?: number;
  /** recompute each block in the backward: only block inputs are kept, plus one block's activations at a time */
  gradientCheckpointing?: boolean;
}

/**
 * An assumed upper bound on what a parameter-efficient method trains (LoRA r 8 on q_proj and v_proj
 * of SmolLM2-135M, 30 layers × 8 · (576 + 576 + 576 + 192) = 460,800 parameters, is 0.34%).
 */
const PEFT_TRAINABLE_FRACTION = 0.02;

export function parameterCount(config: ModelConfig): number {
  let total = 0;
  for (const shape of expectedWeights(config).values()) total += shape.reduce((a, b) => a * b, 1);
  return total;
}

export function estimateMemory(config: ModelConfig, options: MemoryOptions = {}): MemoryEstimate {
  const use = options.use ?? 'inference';
  const parameters = parameterCount(config);
  const weightsBytes = 4 * parameters;
  const trained = use === 'full' ? parameters : use === 'peft' ? Math.ceil(PEFT_TRAINABLE_FRACTION * parameters) : 0;
  const optimizerBytes = 3 * 4 * trained; // gradient, first and second moment, float32 each
  let activationBytes = 0;
  if (use !== 'inference') {
    const batch = options.batch ?? 4;
    const time = options.sequenceLength ?? Math.min(256, config.maxPositions);
    const tokens = batch * time;
    // per layer and token, kept for backward: the residual stream and norms (~4 d), q/k/v/out
    // (~4 d), the FFN's hidden activations (~3 f), and the attention probabilities (heads · T);
    // the logits (V per token, twice for the softmax) once.
    const perLayer = tokens * (8 * config.hiddenSize + 3 * config.intermediateSize + config.numHeads * time);
    // with checkpointing each block keeps only its input (d per token) and one block is live again in the backward
    const kept = options.gradientCheckpointing ? config.numLayers * tokens * config.hiddenSize + perLayer : config.numLayers * perLayer;
    activationBytes = 4 * (kept + 2 * tokens * config.vocabSize);
  }
  return { parameters, weightsBytes, optimizerBytes, activationBytes, totalBytes: weightsBytes + optimizerBytes + activationBytes };
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** What the device offers; null where the browser does not say (no WebGPU, no navigator.deviceMemory). */
export interface DeviceLimits {
  /** GPUAdapter.limits.maxBufferSize: the largest buffer, so the largest tensor, WebGPU can create */
  maxBufferSize: number | null;
  /** GPUAdapter.limits.maxStorageBufferBindingSize: the largest tensor a WebGPU kernel can read */
  maxStorageBufferBindingSize: number | null;
  /** navigator.deviceMemory in GB; Chromium rounds it down to a power of two and caps it at 8 */
  deviceMemoryGb: number | null;
}

export interface DeviceFit {
  fits: boolean;
  /** the refusal with its suggestion; null when it fits */
  message: string | null;
  largestTensorBytes: number;
}

/** The biggest single tensor: a weight (the embedding, usually) or, when training, the batch's logits. */
export function largestTensorBytes(config: ModelConfig, options: MemoryOptions = {}): number {
  let largest = 0;
  for (const shape of expectedWeights(config).values()) largest = Math.max(largest, 4 * shape.reduce((a, b) => a * b, 1));
  if ((options.use ?? 'inference') !== 'inference') {
    const batch = options.batch ?? 4;
    const time = options.sequenceLength ?? Math.min(256, config.maxPositions);
    largest = Math.max(largest, 4 * batch * time * config.vocabSize); // logits [B, T, V]
  }
  return largest;
}

/**
 * Whether a model fits the device, before its weights download or a run starts: every tensor within
 * the adapter's buffer limits (WebGPU cannot split one), and the whole estimate within the device's
 * memory where the browser reports less than its cap (8 GB reported means "8 GB or more").
 */
export function deviceFit(config: ModelConfig, estimate: MemoryEstimate, limits: DeviceLimits, options: MemoryOptions = {}): DeviceFit {
  const use = options.use ?? 'inference';
  const largest = largestTensorBytes(config, options);
  const problems: string[] = [];
  const bufferLimit = Math.min(limits.maxBufferSize ?? Infinity, limits.maxStorageBufferBindingSize ?? Infinity);
  if (largest > bufferLimit) {
    problems.push(`its largest tensor is ${formatBytes(largest)} but this GPU adapter takes at most ${formatBytes(bufferLimit)} per buffer (maxStorageBufferBindingSize / maxBufferSize)`);
  }
  if (limits.deviceMemoryGb !== null && limits.deviceMemoryGb < 8 && estimate.totalBytes > limits.deviceMemoryGb * 1e9) {
    problems.push(`it needs about ${formatBytes(estimate.totalBytes)} and this device reports ${limits.deviceMemoryGb} GB of memory`);
  }
  if (problems.length === 0) return { fits: true, message: null, largestTensorBytes: largest };
  const suggestion =
    use === 'full'
      ? `train with LoRA instead of full fine-tuning${options.gradientCheckpointing ? '' : ', turn on gradient checkpointing'}, or pick a smaller model`
      : use === 'peft'
        ? `${options.gradientCheckpointing ? '' : 'turn on gradient checkpointing, '}use a smaller batch or shorter sequences, or pick a smaller model`
        : 'pick a smaller model (see the cards below), or use the CLI, which has no browser limits';
  return { fits: false, message: `${problems.join('; ')}. Suggestion: ${suggestion}`, largestTensorBytes: largest };
}
