// Randomly initialised weights for any config, drawn from the seeded Rng so the same seed gives
// the same model on every machine. Follows transformers' _init_weights: linear and embedding
// weights ~ Normal(0, 0.02) (initializer_range), biases 0, norm weights 1.
import type { ModelConfig } from './config';
import type { HostTensor } from './safetensors';
import { expectedWeights } from './weight-names';
import { Rng } from '../rng';

/**
 * The weights one at a time, in expectedWeights order. For large models: a consumer that turns
 * each into a tensor and drops it (Decoder.fromHost) holds one host array at a time instead of
 * the whole model twice. Same values as randomWeights for the same seed.
 */
export function* randomWeightEntries(config: ModelConfig, seed: number, std = 0.02): Generator<[string, HostTensor]> {
  const rng = new Rng(seed);
  // expectedWeights lists names in a fixed order, so each tensor gets the same slice of the stream.
  for (const [name, shape] of expectedWeights(config)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (name.endsWith('.bias')) {
      // zeros already
    } else if (shape.length === 1) {
      data.fill(1); // LayerNorm / RMSNorm scale
    } else {
      for (let i = 0; i < data.length; i++) data[i] = rng.normal(0, std);
    }
    yield [name, { shape: [...shape], data }];
  }
}

export function randomWeights(config: ModelConfig, seed: number, std = 0.02): Map<string, HostTensor> {
  return new Map(randomWeightEntries(config, seed, std));
}
