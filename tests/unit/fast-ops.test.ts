// The wasm fast paths (src/core/model/ops, src/core/kernels, the loss's softmax path) against the
// plain tfjs compositions they replace: values and gradients within 1e-5 relative, on cpu (paths
// forced on) and on wasm (where they are the default), with every branch of the per-call layout
// choice taken; the replacement wasm kernels copy bit for bit what the cpu backend computes; and
// nothing leaks, down to whole training steps.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { setNodeBackend } from '../../cli/node-backend';
import { rmsNorm } from '../../src/core/model/blocks';
import { parseConfig, type ModelConfig } from '../../src/core/model/config';
import { Decoder } from '../../src/core/model/decoder';
import { forceFastPaths, linearRows, type WeightLayout } from '../../src/core/model/ops/linear';
import { attentionReference, repeatHeads, scaledDotAttention } from '../../src/core/model/ops/attention-core';
import { randomWeights } from '../../src/core/model/random';
import { Rng } from '../../src/core/rng';
import { IGNORE_INDEX, collate } from '../../src/core/train/batch';
import { causalLmLossSum } from '../../src/core/train/loss';
import { AdamW } from '../../src/core/train/optim/adamw';
import { createPeftModel } from '../../src/core/train/run';
import { trainStep } from '../../src/core/train/step';
import { relativeError, seeded } from './compare';

/** f's value and its gradients with respect to `xs`, with the fast paths forced on or off. */
function valueAndGrads(fast: boolean, f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[]): { value: tf.Tensor; grads: tf.Tensor[] } {
  forceFastPaths(fast);
  // a fixed random cotangent, so every output entry matters to the gradient
  const { value: weighted, grads } = tf.valueAndGrads((...inputs: tf.Tensor[]) => {
    const y = f(...inputs);
    return tf.sum(tf.mul(y, seeded(y.shape, 99)));
  })(xs);
  weighted.dispose();
  return { value: tf.tidy(() => f(...xs)), grads };
}

function expectSameAsReference(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[]): void {
  const fast = valueAndGrads(true, f, xs);
  const plain = valueAndGrads(false, f, xs);
  expect(relativeError(fast.value, plain.value)).toBeLessThan(1e-5);
  fast.grads.forEach((g, i) => expect(relativeError(g, plain.grads[i]), `gradient ${i}`).toBeLessThan(1e-5));
  tf.dispose([fast.value, plain.value, ...fast.grads, ...plain.grads]);
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`fast paths on ${backend}`, () => {
    beforeAll(async () => {
      await setNodeBackend(backend);
    });
    afterEach(() => forceFastPaths(null));
    afterAll(async () => {
      await setNodeBackend('cpu');
    });

    // [rows, in, out]: few rows take the (w·xᵀ)ᵀ branch, many rows transpose the weight; the
    // weight-gradient branches flip with them
    const SHAPES: [number, number, number][] = [
      [2, 64, 48],
      [64, 16, 24],
      [40, 8, 96],
    ];
    for (const layout of ['out-in', 'in-out'] as WeightLayout[]) {
      for (const [n, inF, outF] of SHAPES) {
        it(`linearRows ${layout} [${n}, ${inF}] → ${outF}: value and x, weight, bias gradients`, () => {
          const x = seeded([n, inF], 1);
          const weight = tf.variable(seeded(layout === 'out-in' ? [outF, inF] : [inF, outF], 2));
          const bias = tf.variable(seeded([outF], 3));
          const before = tf.memory().numTensors;
          expectSameAsReference((xi, w, b) => linearRows(xi as tf.Tensor2D, w as tf.Tensor2D, layout, b as tf.Tensor1D), [x, weight, bias]);
          expect(tf.memory().numTensors).toBe(before);
          tf.dispose([x, weight, bias]);
        });
      }
    }

    it('linearRows with a frozen weight trains only x and leaks nothing in variableGrads', () => {
      forceFastPaths(true);
      const frozen = seeded([12, 20], 4) as tf.Tensor2D; // [out, in], a plain tensor
      const x = tf.variable(seeded([30, 20], 5));
      const before = tf.memory().numTensors;
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(linearRows(x as unknown as tf.Tensor2D, frozen, 'out-in'))), [x]);
      forceFastPaths(false);
      const reference = tf.variableGrads(() => tf.sum(tf.square(tf.matMul(x, frozen, false, true))), [x]);
      expect(Object.keys(grads)).toEqual([x.name]);
      expect(relativeError(grads[x.name], reference.grads[x.name])).toBeLessThan(1e-5);
      expect(relativeError(value, reference.value)).toBeLessThan(1e-5);
      tf.dispose([value, reference.value, ...Object.values(grads), ...Object.values(reference.grads)]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([frozen, x]);
    });

    // [batch, query heads, kv heads, T, S, mask]: grouped and plain heads, a past (S > T), with and without a mask
    const ATTENTION: [number, number, number, number, number, boolean][] = [
      [2, 4, 2, 5, 5, true],
      [2, 2, 2, 3, 7, true],
      [1, 3, 1, 4, 4, false],
    ];
    for (const [batch, heads, kvHeads, time, keys, masked] of ATTENTION) {
      it(`scaledDotAttention ${heads}/${kvHeads} heads, T ${time}, S ${keys}${masked ? ', masked' : ''}: value and q, k, v gradients`, () => {
        const headDim = 8;
        const q = seeded([batch, heads, time, headDim], 6);
        const k = seeded([batch, kvHeads, keys, headDim], 7);
        const v = seeded([batch, kvHeads, keys, headDim], 8);
        // causal over the last T keys, plus one padded key in the first row
        const mask = masked
          ? (tf.tidy(() => {
              const bias = new Float32Array(batch * time * keys);
              for (let b = 0; b < batch; b++) {
                for (let t = 0; t < time; t++) {
                  for (let s = 0; s < keys; s++) {
                    const hidden = s > keys - time + t || (b === 0 && s === 0 && t > 0);
                    bias[(b * time + t) * keys + s] = hidden ? -1e9 : 0;
                  }
                }
              }
              return tf.tensor4d(bias, [batch, 1, time, keys]);
            }) as tf.Tensor4D)
          : null;
        const before = tf.memory().numTensors;
        const scale = 1 / Math.sqrt(headDim);
        expectSameAsReference((qi, ki, vi) => scaledDotAttention(qi as tf.Tensor4D, ki as tf.Tensor4D, vi as tf.Tensor4D, mask, scale), [q, k, v]);
        // and the fast value against the composition spelled out (repeat_kv, then batched matmuls)
        forceFastPaths(true);
        const fast = scaledDotAttention(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, mask, scale);
        const reference = tf.tidy(() => attentionReference(q as tf.Tensor4D, repeatHeads(k as tf.Tensor4D, heads / kvHeads), repeatHeads(v as tf.Tensor4D, heads / kvHeads), mask, scale));
        expect(relativeError(fast, reference)).toBeLessThan(1e-5);
        tf.dispose([fast, reference]);
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose([q, k, v, mask ?? []]);
      });
    }

    it('rmsNorm: value and x, weight gradients; a frozen weight gets none', () => {
      const x = seeded([37, 24], 12);
      const weight = tf.variable(tf.tidy(() => tf.add(1, tf.mul(seeded([24], 13), 0.1))));
      const norm = (xi: tf.Tensor, w: tf.Tensor) => {
        const ctx = { config: { normEps: 1e-6 } as ModelConfig, param: () => w, hooks: null, batch: 1, time: 37 };
        return rmsNorm(ctx, 'norm', xi as tf.Tensor2D);
      };
      const before = tf.memory().numTensors;
      expectSameAsReference(norm, [x, weight]);
      const frozen = tf.tidy(() => tf.add(weight, 0));
      expectSameAsReference((xi) => norm(xi, frozen), [x]);
      frozen.dispose();
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, weight]);
    });

    it('the softmax cross-entropy matches the log-softmax one in value and gradient, also for extreme logits', () => {
      const labels = tf.tensor2d([[IGNORE_INDEX, 3, 0, 9, IGNORE_INDEX], [1, 1, 2, IGNORE_INDEX, 5]], undefined, 'int32');
      // scale 30: rows where the target's probability underflows float32 next to rows that do not
      const logits = tf.tidy(() => tf.mul(seeded([2, 5, 11], 9), 30));
      const before = tf.memory().numTensors;
      expectSameAsReference((l) => causalLmLossSum(l as tf.Tensor3D, labels), [logits]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([labels, logits]);
    });

    it('copy kernels (slice, unstack, split, gather, transpose) give the cpu backend’s exact values', async () => {
      forceFastPaths(true); // installs the wasm kernels when the backend is wasm
      const x = tf.tensor3d(Array.from({ length: 4 * 6 * 40 }, (_, i) => i * 0.5 - 7), [4, 6, 40]);
      const ids = tf.tensor2d([[3, 0, 3], [1, 2, 0]], undefined, 'int32');
      const ops = (t: tf.Tensor3D, i: tf.Tensor2D): tf.Tensor[] => [
        tf.slice(t, [1, 2, 3], [2, 3, 30]),
        tf.slice(t, [2, 0, 0], [1, 6, 40]),
        tf.slice(t.reshape([2, 2, 6, 40]), [1, 0, 1, 5], [1, 2, 4, 9]),
        ...tf.unstack(t, 1),
        ...tf.split(t, [10, 30], 2),
        tf.gather(t, i),
        tf.gather(t, i.reshape([-1]), 2),
        tf.transpose(t, [0, 2, 1]),
        tf.transpose(t.reshape([24, 40])),
        tf.transpose(t, [1, 0, 2]),
      ];
      const before = tf.memory().numTensors;
      const here = tf.tidy(() => ops(x, ids));
      const values = here.map((t) => ({ shape: t.shape, data: Array.from(t.dataSync()) }));
      tf.dispose(here);
      expect(tf.memory().numTensors).toBe(before);
      const data = { x: Array.from(x.dataSync()), ids: Array.from(ids.dataSync()) };
      tf.dispose([x, ids]);
      await setNodeBackend('cpu');
      const cx = tf.tensor3d(data.x, [4, 6, 40]);
      const cids = tf.tensor2d(data.ids, [2, 3], 'int32');
      const reference = tf.tidy(() => ops(cx, cids));
      reference.forEach((t, i) => {
        expect(values[i].shape, `op ${i}`).toEqual(t.shape);
        expect(values[i].data, `op ${i}`).toEqual(Array.from(t.dataSync()));
      });
      tf.dispose([...reference, cx, cids]);
      await setNodeBackend(backend);
      const bad = tf.tensor1d([4], 'int32');
      const table = tf.zeros([4, 2]);
      expect(() => tf.gather(table, bad)).toThrow(/index value 4 is not in \[0, 3\]/);
      tf.dispose([bad, table]);
    });

    for (const [family, method] of [
      ['llama', 'lora'],
      ['llama', 'full'],
      ['gpt2', 'lora'],
      ['gpt2', 'full'],
    ] as const) {
      it(`${family} ${method}: training steps keep tf.memory().numTensors flat and match the plain paths`, async () => {
        const config = parseConfig(
          family === 'llama'
            ? { model_type: 'llama', hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 48, vocab_size: 64, tie_word_embeddings: true, max_position_embeddings: 64, eos_token_id: 1 }
            : { model_type: 'gpt2', n_embd: 32, n_layer: 2, n_head: 4, vocab_size: 64, n_positions: 64, eos_token_id: 1 },
        );
        const rng = new Rng(11);
        const rows = Array.from({ length: 3 }, (_, r) => {
          const ids = Array.from({ length: 9 + r }, () => 3 + rng.int(61));
          return { inputIds: ids, labels: ids.map((id, i) => (i < 2 ? IGNORE_INDEX : id)) };
        });
        const batch = collate(rows, 2, 11);
        const losses: number[][] = [];
        for (const fast of [true, false]) {
          forceFastPaths(fast);
          const decoder = Decoder.fromHost(config, randomWeights(config, 3));
          const model = createPeftModel(decoder, { name: method, config: method === 'lora' ? { lora_dropout: 0 } : {} }, 5);
          model.training = true;
          const params = model.trainableVariables();
          const optimizer = new AdamW({ betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 });
          const forward = (ids: tf.Tensor2D, mask: tf.Tensor2D) => model.forward(ids, mask);
          const run: number[] = [];
          run.push((await trainStep(forward, params, [batch], optimizer, { learningRate: 1e-2, maxGradNorm: 1 })).loss);
          const counted = tf.memory().numTensors;
          for (let step = 0; step < 3; step++) {
            run.push((await trainStep(forward, params, [batch], optimizer, { learningRate: 1e-2, maxGradNorm: 1 })).loss);
            expect(tf.memory().numTensors).toBe(counted);
          }
          losses.push(run);
          optimizer.dispose();
          model.dispose();
          decoder.dispose();
        }
        // four updates later the two paths still agree: the same model, trained the same way
        losses[0].forEach((loss, i) => expect(Math.abs(loss - losses[1][i]) / losses[1][i], `step ${i}`).toBeLessThan(1e-5));
        expect(losses[0][3]).toBeLessThan(losses[0][0]);
      });
    }
  });
}
