import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { Decoder, KVCache, computeLogits, type DecoderHooks } from '../../src/core/model/decoder';
import { embed } from '../../src/core/model/blocks';
import { maxDiffUnmasked } from './compare';
import { useFixtureDecoders, type FixtureName } from './decoder-fixtures';

const FIXTURES: FixtureName[] = ['tiny-gpt2', 'tiny-llama'];

describe.each(['cpu', 'wasm'] as const)('Decoder on %s', (backend) => {
  const { fixtures, decoders } = useFixtureDecoders(backend, FIXTURES);

  describe.each(FIXTURES)('%s', (name) => {
    it('matches transformers logits (right-padded row included) within 1e-4', async () => {
      const { reference, tensors } = fixtures.get(name)!;
      const { input_ids: ids, attention_mask: mask } = reference.logits;
      const expected = tensors.get('logits.base')!;
      const { data, shape } = await computeLogits(decoders.get(name)!, ids, mask);
      expect(shape).toEqual(expected.shape);
      const diff = maxDiffUnmasked(data, expected.data, mask);
      console.log(`[${backend}] ${name}: max |logits − reference| = ${diff.toExponential(2)}`);
      expect(diff).toBeLessThan(1e-4);
    });

    it('gives the unpadded logits on the real positions of a left-padded row', async () => {
      const decoder = decoders.get(name)!;
      const row = fixtures.get(name)!.reference.logits.input_ids[0].slice(0, 5);
      const V = decoder.config.vocabSize;
      const plain = (await computeLogits(decoder, [row])).data;
      const padded = tf.tidy(() => {
        const ids = tf.tensor2d([[0, 0, ...row]], undefined, 'int32');
        const attentionMask = tf.tensor2d([[0, 0, 1, 1, 1, 1, 1]], undefined, 'int32');
        // positions as transformers' generate derives them for left padding: cumsum(mask) − 1, clamped
        const positionIds = tf.tensor2d([[0, 0, 0, 1, 2, 3, 4]], undefined, 'int32');
        return decoder.forward(ids, { attentionMask, positionIds }).logits;
      });
      const real = padded.slice([0, 2, 0], [1, 5, V]);
      const diff = maxDiffUnmasked(real.dataSync() as Float32Array, plain, [[1, 1, 1, 1, 1]]);
      tf.dispose([padded, real]);
      expect(diff).toBeLessThan(1e-5);
    });

    it('gives the same logits token by token with a KV cache as in one pass', async () => {
      const decoder = decoders.get(name)!;
      const row = fixtures.get(name)!.reference.logits.input_ids[0];
      const V = decoder.config.vocabSize;
      const full = (await computeLogits(decoder, [row])).data;
      let cache = new KVCache();
      const stepped: number[] = [];
      for (const [start, end] of [[0, 4], [4, 5], [5, 6], [6, 7]]) {
        const ids = tf.tensor2d([row.slice(start, end)], undefined, 'int32');
        const out = decoder.forward(ids, { cache });
        cache.dispose();
        cache = out.cache!;
        stepped.push(...(out.logits.dataSync() as Float32Array));
        tf.dispose([ids, out.logits]);
      }
      expect(cache.length).toBe(7);
      cache.dispose();
      expect(maxDiffUnmasked(new Float32Array(stepped), full, [row.map(() => 1)])).toBeLessThan(1e-5);
    });

    it('leaks no tensors over three forward passes', async () => {
      const decoder = decoders.get(name)!;
      const { input_ids: ids, attention_mask: mask } = fixtures.get(name)!.reference.logits;
      await computeLogits(decoder, ids, mask); // warm-up
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) await computeLogits(decoder, ids, mask);
      const input = tf.tensor2d(ids, undefined, 'int32');
      const cacheRun = decoder.forward(input, { cache: new KVCache() });
      tf.dispose([input, cacheRun.logits]);
      cacheRun.cache!.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });

    it('is unchanged by a linear hook that returns base(x), and calls it for every linear layer', async () => {
      const decoder = decoders.get(name)!;
      const { input_ids: ids, attention_mask: mask } = fixtures.get(name)!.reference.logits;
      const plain = (await computeLogits(decoder, ids, mask)).data;
      const seen = new Map<string, number[]>();
      const hooks: DecoderHooks = {
        linear: (layer, x, base) => {
          seen.set(layer, x.shape);
          return base(x);
        },
      };
      decoder.hooks = hooks;
      try {
        const hooked = (await computeLogits(decoder, ids, mask)).data;
        expect(hooked).toEqual(plain);
      } finally {
        decoder.hooks = null;
      }
      const perLayer = decoder.config.family === 'gpt2' ? 4 : 7;
      expect(seen.size).toBe(decoder.config.numLayers * perLayer + 1);
      const first = decoder.config.family === 'gpt2' ? 'transformer.h.0.attn.c_attn' : 'model.layers.0.self_attn.q_proj';
      expect(seen.get(first)).toEqual([2, 7, decoder.config.hiddenSize]);
      expect(seen.has('lm_head')).toBe(true);
    });

    it('applies afterAttention / afterMlp hooks to [B, T, d] block outputs', async () => {
      const decoder = decoders.get(name)!;
      const ids = [fixtures.get(name)!.reference.logits.input_ids[0]];
      const plain = (await computeLogits(decoder, ids)).data;
      const shapes: number[][] = [];
      decoder.hooks = {
        afterAttention: (_layer, h) => (shapes.push(h.shape), tf.mul(h, 0) as tf.Tensor3D),
        afterMlp: (_layer, h) => (shapes.push(h.shape), h),
      };
      try {
        const changed = (await computeLogits(decoder, ids)).data;
        expect(maxDiffUnmasked(changed, plain, [ids[0].map(() => 1)])).toBeGreaterThan(1e-3);
      } finally {
        decoder.hooks = null;
      }
      expect(shapes).toHaveLength(2 * decoder.config.numLayers);
      expect(shapes[0]).toEqual([1, 7, decoder.config.hiddenSize]);
    });
  });

  it('refuses a checkpoint whose weights do not fit the config, naming the tensor', () => {
    const { checkpoint } = fixtures.get('tiny-llama')!;
    const weights = new Map(checkpoint.weights);
    weights.delete('model.layers.1.mlp.up_proj.weight');
    const before = tf.memory().numTensors;
    expect(() => Decoder.fromHost(checkpoint.config, weights)).toThrow('weight "model.layers.1.mlp.up_proj.weight" [64,32] is missing');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('has an embedding gradient on this backend, summing repeated ids', () => {
    const table = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
    const ids = tf.tensor2d([[2, 0, 2]], undefined, 'int32');
    const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(embed(t, ids), tf.tensor1d([1, 10]))))(table);
    expect(Array.from(grad.dataSync())).toEqual([1, 10, 0, 0, 2, 20]);
    tf.dispose([table, ids, grad]);
  });

  it('refuses GPT-2 inputs longer than n_positions', () => {
    const decoder = decoders.get('tiny-gpt2')!;
    const ids = tf.zeros([1, 65], 'int32') as tf.Tensor2D;
    expect(() => decoder.forward(ids)).toThrow('learned positions for 64 tokens (n_positions)');
    ids.dispose();
  });
});
