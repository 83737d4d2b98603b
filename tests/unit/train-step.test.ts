// One training step (step.ts): gradient accumulation by tokens and by micro-batches, the NaN/Inf
// skip, no leaks over 20 steps, and GPT-2's LoRA gradients against finite differences (its
// train_step reference ran with dropout, see train-parity.test.ts).
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { setNodeBackend } from '../../cli/node-backend';
import { readModelDir } from '../../cli/read-model-dir';
import { loadCheckpoint } from '../../src/core/model/checkpoint';
import { Decoder } from '../../src/core/model/decoder';
import { parseSafetensors, type HostTensor } from '../../src/core/model/safetensors';
import { LoraMethod } from '../../src/core/peft/lora/lora';
import { PeftModel } from '../../src/core/peft/model';
import { collate, type Row } from '../../src/core/train/batch';
import { AdamW } from '../../src/core/train/optim/adamw';
import { computeGradients, evaluateLoss, trainStep, type ForwardFn } from '../../src/core/train/step';

const X = -100;
const VOCAB = 5;

beforeAll(async () => {
  await setNodeBackend('cpu');
});

/** A bigram toy: logits = onehot(ids) · W + b, with W [V, V] and b [V] trainable. */
function toyModel(seed = 1) {
  let s = seed;
  const next = () => ((s = (s * 16807) % 2147483647) / 2147483647) - 0.5;
  const params = new Map<string, tf.Variable>([
    ['W', tf.tidy(() => tf.variable(tf.tensor2d(Array.from({ length: VOCAB * VOCAB }, next), [VOCAB, VOCAB])))],
    ['b', tf.tidy(() => tf.variable(tf.tensor1d(Array.from({ length: VOCAB }, next))))],
  ]);
  let poison = false;
  const forward: ForwardFn = (ids) =>
    tf.tidy(() => {
      const [batch, time] = ids.shape;
      const oneHot = tf.oneHot(ids.reshape([-1]), VOCAB).cast('float32'); // [B·T, V]
      const logits = tf.add(tf.matMul(oneHot, params.get('W')!), params.get('b')!).reshape([batch, time, VOCAB]) as tf.Tensor3D;
      return poison ? (tf.mul(logits, NaN) as tf.Tensor3D) : logits;
    });
  return {
    params,
    forward,
    setPoison: (on: boolean) => (poison = on),
    read: () => new Map([...params].map(([n, v]) => [n, new Float32Array(v.dataSync() as Float32Array)])),
    dispose: () => params.forEach((v) => v.dispose()),
  };
}

const ROWS: Row[] = [
  { inputIds: [1, 2, 3], labels: [X, 2, 3] },
  { inputIds: [4, 1], labels: [X, 1] },
  { inputIds: [2, 2, 2, 2], labels: [X, X, X, 2] },
];

function readGrads(grads: Map<string, tf.Tensor>): Map<string, Float32Array> {
  const out = new Map([...grads].map(([n, g]) => [n, new Float32Array(g.dataSync() as Float32Array)]));
  grads.forEach((g) => g.dispose());
  return out;
}

function expectClose(a: Map<string, Float32Array>, b: Map<string, Float32Array>, tolerance: number): void {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [name, values] of a) values.forEach((v, i) => expect(Math.abs(v - b.get(name)![i]), `${name}[${i}]`).toBeLessThan(tolerance));
}

describe('computeGradients: accumulation', () => {
  it("'tokens' (HF ≥ 4.46): micro-batches give the gradient of one batch holding all their rows", () => {
    const toy = toyModel();
    const micro = [collate(ROWS.slice(0, 1), 0), collate(ROWS.slice(1), 0)]; // 2 tokens, then 1 + 1
    const accumulated = computeGradients(toy.forward, toy.params, micro, 'tokens');
    const whole = computeGradients(toy.forward, toy.params, [collate(ROWS, 0)]);
    expect(accumulated.loss.dataSync()[0]).toBeCloseTo(whole.loss.dataSync()[0], 6);
    expectClose(readGrads(accumulated.grads), readGrads(whole.grads), 1e-6);
    accumulated.loss.dispose();
    whole.loss.dispose();
    toy.dispose();
  });

  it("'micro-batches': the mean of each micro-batch's mean-loss gradient", () => {
    const toy = toyModel();
    const micro = [collate(ROWS.slice(0, 1), 0), collate(ROWS.slice(1), 0)];
    const accumulated = computeGradients(toy.forward, toy.params, micro, 'micro-batches');
    const first = computeGradients(toy.forward, toy.params, [micro[0]]);
    const second = computeGradients(toy.forward, toy.params, [micro[1]]);
    const [l1, l2] = [first.loss.dataSync()[0], second.loss.dataSync()[0]];
    expect(accumulated.loss.dataSync()[0]).toBeCloseTo((l1 + l2) / 2, 6);
    const g1 = readGrads(first.grads);
    const g2 = readGrads(second.grads);
    const mean = new Map([...g1].map(([n, v]) => [n, v.map((x, i) => (x + g2.get(n)![i]) / 2)]));
    expectClose(readGrads(accumulated.grads), mean, 1e-6);
    [accumulated.loss, first.loss, second.loss].forEach((t) => t.dispose());
    toy.dispose();
  });

  it('refuses a non-trainable variable and an empty step', () => {
    const frozen = tf.tidy(() => tf.variable(tf.zeros([1]), false));
    const toy = toyModel();
    expect(() => computeGradients(toy.forward, new Map([['frozen', frozen]]), [collate(ROWS, 0)])).toThrow(
      'parameter "frozen" is a non-trainable tf.Variable',
    );
    expect(() => computeGradients(toy.forward, toy.params, [])).toThrow('no micro-batches given');
    frozen.dispose();
    toy.dispose();
  });
});

describe('trainStep', () => {
  it('skips a step with a NaN loss: weights and optimizer state stay bit-identical', async () => {
    const toy = toyModel();
    const optimizer = new AdamW({ betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 });
    const batch = collate(ROWS, 0);
    const ok = await trainStep(toy.forward, toy.params, [batch], optimizer, { learningRate: 0.1, maxGradNorm: 1 });
    expect(ok.skipped).toBe(false);
    const weights = toy.read();
    const state = await optimizer.state();
    toy.setPoison(true);
    const bad = await trainStep(toy.forward, toy.params, [batch], optimizer, { learningRate: 0.1, maxGradNorm: 1 });
    expect(bad.skipped).toBe(true);
    expect(Number.isNaN(bad.loss)).toBe(true);
    expect(toy.read()).toEqual(weights);
    expect(await optimizer.state()).toEqual(state);
    optimizer.dispose();
    toy.dispose();
  });

  it('reports loss, pre-clip grad norm and token counts; clipping bounds the update', async () => {
    const toy = toyModel();
    const optimizer = new AdamW({ betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 });
    const batch = collate(ROWS, 0);
    const expected = computeGradients(toy.forward, toy.params, [batch]);
    const expectedLoss = expected.loss.dataSync()[0];
    let sq = 0;
    for (const g of readGrads(expected.grads).values()) for (const v of g) sq += v * v;
    expected.loss.dispose();
    const result = await trainStep(toy.forward, toy.params, [batch], optimizer, { learningRate: 0.1, maxGradNorm: 1e-3 });
    expect(result.loss).toBeCloseTo(expectedLoss, 6);
    expect(result.gradNorm).toBeCloseTo(Math.sqrt(sq), 6);
    expect([result.scoredTokens, result.realTokens]).toEqual([4, 9]);
    expect((await evaluateLoss(toy.forward, [batch])).loss).toBeLessThan(expectedLoss);
    optimizer.dispose();
    toy.dispose();
  });

  it('keeps tf.memory().numTensors flat across 20 steps (with accumulation and clipping)', async () => {
    const toy = toyModel();
    const optimizer = new AdamW({ betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 });
    const micro = [collate(ROWS.slice(0, 2), 0), collate(ROWS.slice(2), 0)];
    const step = () => trainStep(toy.forward, toy.params, micro, optimizer, { learningRate: 0.01, maxGradNorm: 0.5 });
    await step(); // creates AdamW's m and v
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) await step();
    toy.setPoison(true);
    await step(); // a skipped step frees everything too
    expect(tf.memory().numTensors).toBe(before);
    optimizer.dispose();
    toy.dispose();
  });
});

describe('GPT-2 LoRA gradients against finite differences', () => {
  it('match central differences of the loss on the largest entries of several tensors', async () => {
    const dir = fileURLToPath(new URL('../fixtures/hf/tiny-gpt2/', import.meta.url));
    const reference = JSON.parse(readFileSync(`${dir}reference.json`, 'utf8')).train_step as {
      input_ids: number[][];
      attention_mask: number[][];
      labels: number[][];
    };
    const tensors = parseSafetensors(new Uint8Array(readFileSync(`${dir}train_step.safetensors`)), 'train_step.safetensors');
    const init = new Map<string, HostTensor>();
    for (const [name, t] of tensors) if (name.startsWith('init.')) init.set(name.slice(5).replace('.default.weight', '.weight'), t);
    const checkpoint = loadCheckpoint(await readModelDir(dir));
    const decoder = Decoder.fromHost(checkpoint.config, checkpoint.weights);
    const lora = LoraMethod.load(decoder, { r: 4, lora_alpha: 8, lora_dropout: 0, target_modules: ['c_attn', 'c_proj', 'c_fc'] }, init, {
      config: 'adapter_config.json',
      weights: 'train_step.safetensors',
    });
    const model = new PeftModel(decoder, lora);
    const forward: ForwardFn = (ids, mask) => model.forward(ids, mask);
    const batch = collate(
      reference.input_ids.map((ids, r) => {
        const length = reference.attention_mask[r].reduce((a, b) => a + b, 0);
        return { inputIds: ids.slice(0, length), labels: reference.labels[r].slice(0, length) };
      }),
      0,
    );
    const params = model.trainableVariables();
    const { loss, grads } = computeGradients(forward, params, [batch]);
    loss.dispose();
    const analytic = readGrads(grads);
    const lossAt = async () => (await evaluateLoss(forward, [batch])).loss;
    // h = 3e-3: c_attn's curvature makes the central difference's O(h²) error 1e-2 at h = 1e-2; float32
    // rounding of the loss (~4e-7) limits how much smaller h can usefully go
    const h = 3e-3;
    const checked = [
      'base_model.model.transformer.wte', // not trainable: must have no gradient
      'base_model.model.transformer.h.0.attn.c_attn.lora_A.weight',
      'base_model.model.transformer.h.0.mlp.c_proj.lora_B.weight',
      'base_model.model.transformer.h.1.attn.c_proj.lora_A.weight',
      'base_model.model.transformer.h.1.mlp.c_fc.lora_B.weight',
    ];
    expect(analytic.has(checked[0])).toBe(false);
    for (const name of checked.slice(1)) {
      const g = analytic.get(name)!;
      const index = g.reduce((best, v, i) => (Math.abs(v) > Math.abs(g[best]) ? i : best), 0);
      const variable = params.get(name)!;
      const values = new Float32Array(variable.dataSync() as Float32Array);
      const at = async (delta: number) => {
        const shifted = values.slice();
        shifted[index] += delta;
        tf.tidy(() => variable.assign(tf.tensor(shifted, variable.shape)));
        return lossAt();
      };
      const numeric = ((await at(h)) - (await at(-h))) / (2 * h);
      tf.tidy(() => variable.assign(tf.tensor(values, variable.shape)));
      expect(Math.abs(numeric - g[index]) / Math.abs(g[index]), name).toBeLessThan(1e-2); // measured ≤ 3.2e-3
    }
    lora.dispose();
    decoder.dispose();
  });
});
