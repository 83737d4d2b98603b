// Initialisers that match torch's, drawn from Hone's seeded Rng so a seed gives the same adapter on
// every machine (the values differ from torch's generator; the distributions are the same).
import { Rng } from '../rng';
import type { HostTensor } from '../model/safetensors';
import { sizeOf } from './types';

/**
 * nn.init.kaiming_uniform_(w, a=√5), the default of nn.Linear and PEFT's lora_A init:
 * gain = √(2 / (1 + a²)) = √(1/3), bound = gain · √(3 / fan_in) = 1 / √fan_in.
 */
export function kaimingUniform(rng: Rng, shape: number[], fanIn: number): HostTensor {
  const bound = 1 / Math.sqrt(fanIn);
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = (2 * rng.next() - 1) * bound;
  return { shape, data };
}

/** nn.init.normal_(w, mean, std); nn.Embedding's default is Normal(0, 1). */
export function normal(rng: Rng, shape: number[], std: number, mean = 0): HostTensor {
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = rng.normal(mean, std);
  return { shape, data };
}

export function constant(shape: number[], value: number): HostTensor {
  return { shape, data: new Float32Array(sizeOf(shape)).fill(value) };
}

/** A fresh generator; without a seed one is drawn so that two adapters differ. */
export function rngFor(seed: number | undefined): Rng {
  return new Rng(seed ?? Math.floor(Math.random() * 4294967296));
}
