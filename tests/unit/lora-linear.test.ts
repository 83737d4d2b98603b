// The fused LoRA layer (src/core/model/ops/lora-linear.ts) against the plain tfjs composition it
// replaces — x·W(ᵀ) + bias + s·(dropout(x)·Aᵀ)·Bᵀ differentiated by tfjs's own autograd — in value
// and in the x, A, B gradients within 1e-5 relative, for both weight layouts, both row-count
// branches of the product choice, with and without bias and dropout, on cpu and wasm; its
// gradients are lazy (a frozen input's dx is never computed); nothing leaks; and a LoRA model on
// the fast path matches the composed path, dropout masks and the tied head included.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { setNodeBackend } from '../../cli/node-backend';
import { parseConfig } from '../../src/core/model/config';
import { Decoder } from '../../src/core/model/decoder';
import { forceFastPaths, type WeightLayout } from '../../src/core/model/ops/linear';
import { loraLinear } from '../../src/core/model/ops/lora-linear';
import { randomWeights } from '../../src/core/model/random';
import { createPeftModel } from '../../src/core/train/run';
import { relativeError, seeded } from './compare';

interface Case {
  layout: WeightLayout;
  /** [batch, time, in, out]: batch·time rows */
  shape: [number, number, number, number];
  bias: boolean;
  dropout: number;
}

const RANK = 4;
const SCALING = 0.75; // not a power of two: the scale's placement changes rounding, within 1e-5

/** The layer as PEFT composes it, on plain tfjs ops (transpose flags, autograd's gradients). */
function composed(x: tf.Tensor, w: tf.Tensor2D, layout: WeightLayout, bias: tf.Tensor1D | null, a: tf.Tensor2D, b: tf.Tensor2D, dropout: number, seed: number): tf.Tensor {
  const inF = x.shape[x.rank - 1] as number;
  const rows = x.reshape([-1, inF]) as tf.Tensor2D; // [N, in]
  const base = tf.matMul(rows, w, false, layout === 'out-in'); // [N, out]
  const withBias = bias ? tf.add(base, bias) : base;
  const branch = dropout > 0 ? tf.dropout(rows, dropout, undefined, seed) : rows; // [N, in]
  const up = tf.matMul(tf.matMul(branch, a, false, true), b, false, true); // [N, out]
  return tf.add(withBias, tf.mul(up, SCALING)).reshape([...x.shape.slice(0, -1), -1]);
}

function fused(x: tf.Tensor, w: tf.Tensor2D, layout: WeightLayout, bias: tf.Tensor1D | null, a: tf.Tensor2D, b: tf.Tensor2D, dropout: number, seed: number): tf.Tensor {
  // the hook's dropout: on the branch input, the same seeded call (lora.ts)
  const branch = dropout > 0 ? tf.dropout(x, dropout, undefined, seed) : null;
  return loraLinear(x, branch, { weight: w, layout, bias, a, b, scaling: SCALING });
}

/** value and d/dx, d/dA, d/dB of sum(f(x, A, B) ⊙ a fixed random cotangent) */
function valueAndGrads(f: (x: tf.Tensor, a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor, xs: tf.Tensor[]): { value: tf.Tensor; grads: tf.Tensor[] } {
  const { value: weighted, grads } = tf.valueAndGrads((...t: tf.Tensor[]) => {
    const y = f(t[0], t[1] as tf.Tensor2D, t[2] as tf.Tensor2D);
    return tf.sum(tf.mul(y, seeded(y.shape, 99)));
  })(xs);
  weighted.dispose();
  return { value: tf.tidy(() => f(xs[0], xs[1] as tf.Tensor2D, xs[2] as tf.Tensor2D)), grads };
}

const CASES: Case[] = [];
for (const layout of ['out-in', 'in-out'] as WeightLayout[]) {
  // few rows (the products transpose the rows) and many (they transpose the weight)
  for (const shape of [[1, 2, 24, 40], [3, 20, 16, 12]] as [number, number, number, number][]) {
    for (const [bias, dropout] of [[false, 0], [true, 0], [true, 0.3]] as [boolean, number][]) CASES.push({ layout, shape, bias, dropout });
  }
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`loraLinear on ${backend}`, () => {
    beforeAll(async () => {
      await setNodeBackend(backend);
    });
    afterEach(() => forceFastPaths(null));
    afterAll(async () => {
      await setNodeBackend('cpu');
    });

    for (const { layout, shape, bias, dropout } of CASES) {
      const [batch, time, inF, outF] = shape;
      it(`${layout} [${batch}, ${time}, ${inF}] → ${outF}${bias ? ', bias' : ''}${dropout ? `, dropout ${dropout}` : ''}: value and x, A, B gradients as the composition`, () => {
        const x = seeded([batch, time, inF], 1);
        const w = seeded(layout === 'out-in' ? [outF, inF] : [inF, outF], 2) as tf.Tensor2D;
        const b0 = bias ? (seeded([outF], 3) as tf.Tensor1D) : null;
        const a = seeded([RANK, inF], 4) as tf.Tensor2D;
        const b = seeded([outF, RANK], 5) as tf.Tensor2D;
        const before = tf.memory().numTensors;
        const fast = valueAndGrads((xi, ai, bi) => fused(xi, w, layout, b0, ai, bi, dropout, 17), [x, a, b]);
        const plain = valueAndGrads((xi, ai, bi) => composed(xi, w, layout, b0, ai, bi, dropout, 17), [x, a, b]);
        expect(fast.value.shape).toEqual([batch, time, outF]);
        expect(relativeError(fast.value, plain.value)).toBeLessThan(1e-5);
        ['x', 'A', 'B'].forEach((name, i) => expect(relativeError(fast.grads[i], plain.grads[i]), `d${name}`).toBeLessThan(1e-5));
        if (dropout > 0) {
          // the mask matters: without dropout the value is another one
          const undropped = tf.tidy(() => composed(x, w, layout, b0, a, b, 0, 17));
          expect(relativeError(undropped, plain.value)).toBeGreaterThan(1e-3);
          undropped.dispose();
        }
        tf.dispose([fast.value, plain.value, ...fast.grads, ...plain.grads]);
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose([x, w, a, b, b0 ?? []]);
      });
    }

    it('computes dx only when asked: a frozen input costs its two products less', async () => {
      const x = seeded([4, 8, 16], 6);
      const w = seeded([24, 16], 7) as tf.Tensor2D;
      const a = tf.variable(seeded([RANK, 16], 8));
      const b = tf.variable(seeded([24, RANK], 9));
      const xVariable = tf.variable(x);
      const cotangent = seeded([4, 8, 24], 10);
      const loss = (input: tf.Tensor) => () => tf.sum(tf.mul(loraLinear(input, null, { weight: w, layout: 'out-in', bias: null, a: a as unknown as tf.Tensor2D, b: b as unknown as tf.Tensor2D, scaling: SCALING }), cotangent)) as tf.Scalar;
      const matmuls = async (run: () => tf.Tensor[]) => {
        let grads: tf.Tensor[] = [];
        const profile = await tf.profile(() => {
          grads = run();
          return grads as unknown as tf.TensorContainer;
        });
        return { grads, count: profile.kernels.filter((k) => k.name === 'BatchMatMul').length };
      };
      const before = tf.memory().numTensors;
      const adapterOnly = await matmuls(() => {
        const { value, grads } = tf.variableGrads(loss(x), [a, b]);
        value.dispose();
        return [grads[a.name], grads[b.name]];
      });
      const withInput = await matmuls(() => {
        const { value, grads } = tf.variableGrads(loss(xVariable), [xVariable, a, b]);
        value.dispose();
        return [grads[a.name], grads[b.name], grads[xVariable.name]];
      });
      // forward 3 (base, down, up) + g = s·dy·B, dA, dB; dx adds dy·W and g·A
      expect(adapterOnly.count).toBe(6);
      expect(withInput.count).toBe(8);
      expect(relativeError(adapterOnly.grads[0], withInput.grads[0])).toBe(0);
      expect(relativeError(adapterOnly.grads[1], withInput.grads[1])).toBe(0);
      tf.dispose([...adapterOnly.grads, ...withInput.grads]);
      // no tape: a plain forward, nothing saved
      tf.tidy(() => {
        loss(x)();
      });
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, w, a, b, xVariable, cotangent]);
    });

    for (const family of ['llama', 'gpt2'] as const) {
      it(`${family} LoRA (dropout, biases, ${family === 'llama' ? 'tied head' : 'Conv1D layout'}): logits, gradients and dropout draws as the composed path`, () => {
        const config = parseConfig(
          family === 'llama'
            ? { model_type: 'llama', hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 48, vocab_size: 64, tie_word_embeddings: true, max_position_embeddings: 64, eos_token_id: 1 }
            : { model_type: 'gpt2', n_embd: 32, n_layer: 2, n_head: 4, vocab_size: 64, n_positions: 64, eos_token_id: 1 },
        );
        // B random (init_lora_weights false) so the update is not zero; the head adapted on Llama (tied to the embedding)
        const lora = { r: RANK, lora_alpha: 3, lora_dropout: 0.2, init_lora_weights: false, target_modules: family === 'llama' ? ['q_proj', 'v_proj', 'down_proj', 'lm_head'] : ['c_attn', 'mlp.c_proj'] };
        const ids = tf.tensor2d([[5, 9, 13, 2, 7, 30], [11, 3, 3, 40, 22, 8]], undefined, 'int32');
        const cotangent = seeded([2, 6, 64], 12);
        const results: { logits: tf.Tensor; grads: tf.Tensor[]; draws: number }[] = [];
        const before = tf.memory().numTensors;
        for (const fast of [true, false]) {
          forceFastPaths(fast);
          const decoder = Decoder.fromHost(config, randomWeights(config, 3));
          const model = createPeftModel(decoder, { name: 'lora', config: lora }, 5);
          model.training = true;
          const variables = [...model.trainableVariables().values()];
          const { value, grads } = tf.variableGrads(() => {
            const logits = model.forward(ids);
            return tf.sum(tf.mul(logits, cotangent)) as tf.Scalar;
          }, variables);
          value.dispose();
          const logits = model.forward(ids); // the next dropout draws
          results.push({ logits, grads: variables.map((v) => grads[v.name]), draws: (model.method as unknown as { randomState(): number }).randomState() });
          model.dispose();
          decoder.dispose();
        }
        const [fast, plain] = results;
        expect(fast.draws).toBe(plain.draws);
        expect(relativeError(fast.logits, plain.logits)).toBeLessThan(1e-5);
        expect(fast.grads.length).toBe(family === 'llama' ? 2 * (2 * 3 + 1) : 2 * 2 * 2);
        fast.grads.forEach((g, i) => expect(relativeError(g, plain.grads[i]), `gradient ${i}`).toBeLessThan(1e-5));
        tf.dispose(results.flatMap((r) => [r.logits, ...r.grads]));
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose([ids, cotangent]);
      });
    }
  });
}
