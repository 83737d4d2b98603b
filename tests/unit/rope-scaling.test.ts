// RoPE scaling: parseConfig reads Llama 3.x / linear / dynamic rope_scaling and refuses the rest by
// name; the inverse frequencies follow transformers' modeling_rope_utils.py.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { ConfigError, parseConfig } from '../../src/core/model/config';
import { defaultInverseFrequencies, ropeInverseFrequenciesFor } from '../../src/core/model/rope';

/** HF's default inv_freq = 1 / θ^(arange(0, hd, 2) / hd), in float32 as torch computes it (the table the attention module used to keep). */
function ropeInverseFrequencies(headDim: number, theta: number): Float32Array {
  const out = new Float32Array(headDim / 2);
  for (let i = 0; i < headDim / 2; i++) out[i] = 1 / Math.fround(Math.pow(theta, Math.fround((2 * i) / headDim)));
  return out;
}
import { Decoder } from '../../src/core/model/decoder';
import { loadFixture } from './decoder-fixtures';
import { setNodeBackend } from '../../cli/node-backend';

const llamaConfig = JSON.parse(readFileSync(new URL('../fixtures/hf/tiny-llama/config.json', import.meta.url), 'utf8')) as Record<string, unknown>;

function withRope(rope: Record<string, unknown>, key = 'rope_scaling'): Record<string, unknown> {
  const { rope_parameters: _drop, ...rest } = llamaConfig;
  return { ...rest, rope_theta: 10000, [key]: rope };
}

describe('parseConfig rope scaling', () => {
  it('reads a Llama 3.2 style rope_scaling (llama3) and keeps rope_theta', () => {
    const config = parseConfig({
      ...withRope({ factor: 32, high_freq_factor: 4, low_freq_factor: 1, original_max_position_embeddings: 8192, rope_type: 'llama3' }),
      rope_theta: 500000,
    });
    expect(config.ropeTheta).toBe(500000);
    expect(config.ropeScaling).toEqual({ type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 });
  });

  it('reads transformers 5 rope_parameters with rope_theta inside, and the old "type" key', () => {
    const five = parseConfig(withRope({ rope_type: 'linear', factor: 2, rope_theta: 20000 }, 'rope_parameters'));
    expect(five.ropeScaling).toEqual({ type: 'linear', factor: 2 });
    expect(five.ropeTheta).toBe(20000);
    expect(parseConfig(withRope({ type: 'dynamic', factor: 2 })).ropeScaling).toEqual({ type: 'dynamic', factor: 2 });
    expect(parseConfig(withRope({ rope_type: 'default' })).ropeScaling).toBeNull();
    expect(parseConfig(llamaConfig).ropeScaling).toBeNull();
  });

  it.each(['yarn', 'longrope', 'su', 'mrope'])('refuses rope_type %s by name', (type) => {
    expect(() => parseConfig(withRope({ rope_type: type, factor: 4 }))).toThrow(
      `config.json (field "rope_scaling.rope_type"): RoPE scaling "${type}" is not supported (supported: default, linear, dynamic, llama3)`,
    );
  });

  it('names the missing or bad llama3 field', () => {
    const good = { factor: 8, high_freq_factor: 4, low_freq_factor: 1, original_max_position_embeddings: 128, rope_type: 'llama3' };
    const { low_freq_factor: _low, ...noLow } = good;
    expect(() => parseConfig(withRope(noLow))).toThrow('(field "rope_scaling.low_freq_factor"): must be a positive finite number, got NaN');
    expect(() => parseConfig(withRope({ ...good, high_freq_factor: 1 }))).toThrow('(field "rope_scaling.high_freq_factor"): must be greater than low_freq_factor (1), got 1');
    const { original_max_position_embeddings: _o, ...noOriginal } = good;
    expect(() => parseConfig(withRope(noOriginal))).toThrow(ConfigError);
    expect(() => parseConfig(withRope(noOriginal))).toThrow('(field "rope_scaling.original_max_position_embeddings"): must be a positive integer up to 16,777,216, got undefined');
    expect(() => parseConfig(withRope({ rope_type: 'linear' }))).toThrow('(field "rope_scaling.factor")');
  });
});

describe('rope inverse frequencies', () => {
  it('default equals HF\'s float32 table bit for bit', () => {
    for (const [hd, theta] of [[8, 10000], [64, 500000], [128, 1e6]] as const) {
      expect(defaultInverseFrequencies(hd, theta)).toEqual(ropeInverseFrequencies(hd, theta));
      expect(ropeInverseFrequenciesFor({ headDim: hd, ropeTheta: theta, ropeScaling: { type: 'dynamic', factor: 4 } })).toEqual(
        ropeInverseFrequencies(hd, theta),
      );
    }
  });

  it('llama3 matches _compute_llama3_parameters computed by hand', () => {
    // head_dim 8, θ = 10000: inv_freq = 1 / 10000^([0, 2, 4, 6] / 8) = [1, 0.1, 0.01, 0.001]
    // factor 8, low_freq_factor 1, high_freq_factor 4, original_max_position_embeddings 128:
    //   low_freq_wavelen = 128 / 1 = 128, high_freq_wavelen = 128 / 4 = 32, wavelen = 2π / inv_freq
    //   = [6.2832, 62.832, 628.32, 6283.2]
    //   i=0: 6.28 < 32            → kept:          1
    //   i=1: 32 ≤ 62.83 ≤ 128     → medium: s = (128 / 62.8319 − 1) / (4 − 1) = 0.345728,
    //                               (1 − s) · 0.1 / 8 + s · 0.1 = 0.0427512
    //   i=2, 3: wavelen > 128     → inv_freq / 8: 0.00125, 0.000125
    // (values from numpy float32 following the transformers formula step by step)
    const table = ropeInverseFrequenciesFor({
      headDim: 8,
      ropeTheta: 10000,
      ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 128 },
    });
    expect(Array.from(table)).toEqual([1.0, 0.04275117814540863, 0.0012499999720603228, 0.0001250000059371814]);
  });

  it('llama3 with Llama 3.2-1B settings keeps, smooths and stretches the bands where transformers does', () => {
    // head_dim 64, θ = 500000, factor 32, low 1, high 4, original 8192: wavelengths below
    // 8192 / 4 = 2048 (i ≤ 14) are kept, above 8192 (i ≥ 18) divided by 32, i = 15..17 smoothed.
    // Expected: numpy float32 following _compute_llama3_parameters step by step.
    const table = ropeInverseFrequenciesFor({
      headDim: 64,
      ropeTheta: 500000,
      ropeScaling: { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 },
    });
    const expected: Record<number, number> = {
      0: 1.0,
      14: 0.0032114461064338684, // kept
      15: 0.0012905480107292533, // smoothed
      16: 0.000429556705057621,
      17: 9.708286233944818e-5,
      18: 1.9461638657958247e-5, // 0.0006227724370546639 / 32
      31: 9.41830720080361e-8,
    };
    for (const [i, value] of Object.entries(expected)) expect(Math.abs(table[Number(i)] - value) / value).toBeLessThan(1e-6);
  });

  it('linear divides every frequency by the factor', () => {
    const table = ropeInverseFrequenciesFor({ headDim: 8, ropeTheta: 10000, ropeScaling: { type: 'linear', factor: 4 } });
    expect(Array.from(table)).toEqual([0.25, Math.fround(Math.fround(0.1) / 4), Math.fround(Math.fround(0.01) / 4), Math.fround(Math.fround(0.001) / 4)]);
  });

  it('a llama3-scaled decoder differs from the default one only past the first position, and leaks nothing', async () => {
    await setNodeBackend('cpu');
    const { checkpoint } = await loadFixture('tiny-llama');
    const scaled = { ...checkpoint.config, ropeScaling: { type: 'llama3' as const, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 16 } };
    const before = tf.memory().numTensors;
    const plain = Decoder.fromHost(checkpoint.config, checkpoint.weights);
    const stretched = Decoder.fromHost(scaled, checkpoint.weights);
    const ids = tf.tensor2d([[5, 9, 17, 33, 2]], undefined, 'int32'); // [1, T]
    const a = plain.forward(ids).logits; // [1, T, V]
    const b = stretched.forward(ids).logits; // [1, T, V]
    const gap = tf.tidy(() => tf.abs(tf.sub(a, b)).max(-1)); // [1, T]
    const diff = (await gap.data()) as Float32Array;
    expect(diff[0]).toBe(0); // position 0: every angle is 0 whatever the frequencies
    expect(Math.max(...diff.slice(1))).toBeGreaterThan(1e-4);
    tf.dispose([ids, a, b, gap]);
    plain.dispose();
    stretched.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
