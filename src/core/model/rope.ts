// RoPE inverse frequencies with the scalings transformers defines that a fixed frequency table can
// follow. Follows transformers' modeling_rope_utils.py (`_compute_linear_scaling_rope_parameters`,
// `_compute_dynamic_ntk_parameters`, `_compute_llama3_parameters`), in float32 step by step as torch
// computes them, so the table matches the reference's `inv_freq` buffer.
// No tfjs here: config.ts imports the types, and the decoder turns the table into a tensor.

/** The rope scalings Hone follows; parseConfig refuses every other rope_type by name. */
export type RopeScaling =
  /** positions divided by `factor` (Code Llama, some long-context fine-tunes): inv_freq / factor */
  | { type: 'linear'; factor: number }
  /**
   * dynamic NTK: transformers grows the base only once a sequence is longer than
   * max_position_embeddings; up to that length the frequencies are the default ones, and that is
   * the range Hone follows (see parseConfig).
   */
  | { type: 'dynamic'; factor: number }
  /** Llama 3.1 / 3.2 / 3.3: long wavelengths divided by `factor`, short ones kept, a smooth ramp between */
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };

export const SUPPORTED_ROPE_TYPES = ['default', 'linear', 'dynamic', 'llama3'] as const;

const f = Math.fround;

/** HF's default inv_freq = 1 / θ^(arange(0, hd, 2) / hd), in float32 as torch computes it. */
export function defaultInverseFrequencies(headDim: number, theta: number): Float32Array {
  const half = headDim / 2;
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) out[i] = 1 / f(Math.pow(theta, f((2 * i) / headDim)));
  return out;
}

/** The decoder's inverse-frequency table for a config: default, or scaled by `ropeScaling`. */
export function ropeInverseFrequenciesFor(config: { headDim: number; ropeTheta: number; ropeScaling?: RopeScaling | null }): Float32Array {
  const base = defaultInverseFrequencies(config.headDim, config.ropeTheta);
  const scaling = config.ropeScaling;
  if (!scaling || scaling.type === 'dynamic') return base;
  if (scaling.type === 'linear') return base.map((x) => f(x / scaling.factor));
  return llama3InverseFrequencies(base, scaling);
}

/**
 * `_compute_llama3_parameters`: with wavelen = 2π / inv_freq,
 *   wavelen > old_ctx / low_freq_factor   → inv_freq / factor          (low frequencies, stretched)
 *   wavelen < old_ctx / high_freq_factor  → inv_freq                   (high frequencies, kept)
 *   otherwise, s = (old_ctx / wavelen − low) / (high − low):
 *                                         → (1 − s) · inv_freq / factor + s · inv_freq
 */
export function llama3InverseFrequencies(
  base: Float32Array,
  scaling: { factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number },
): Float32Array {
  const { factor, lowFreqFactor: low, highFreqFactor: high, originalMaxPositions: oldContext } = scaling;
  // Python floats in the reference, cast to float32 where they meet the float32 tensor
  const lowFreqWavelen = f(oldContext / low);
  const highFreqWavelen = f(oldContext / high);
  const twoPi = f(2 * Math.PI);
  return base.map((invFreq) => {
    const wavelen = f(twoPi / invFreq); // a float32 tensor op in torch
    const scaled = wavelen > lowFreqWavelen ? f(invFreq / factor) : invFreq;
    const isMedium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
    if (!isMedium) return scaled;
    const smooth = f(f(f(oldContext / wavelen) - low) / (high - low));
    // (1 − s) · inv_freq_llama / factor, left to right as torch evaluates it
    return f(f(f(f(1 - smooth) * scaled) / factor) + f(smooth * scaled));
  });
}
