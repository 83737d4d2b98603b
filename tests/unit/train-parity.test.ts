// The acceptance test of the trainer: one LoRA training step on each fixture agrees with
// transformers + PEFT + torch.optim.AdamW (reference.json train_step, train_step.safetensors):
// loss, every gradient, the global gradient norm, and every weight after one AdamW update.
// The LoRA is src/core/peft's LoraMethod in a PeftModel, loaded from the reference's init.* tensors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { clipByGlobalNorm, globalNorm } from '../../src/core/train/clip';
import { countScoredLabels } from '../../src/core/train/loss';
import { AdamW } from '../../src/core/train/optim/adamw';
import { computeGradients, trainStep, type ForwardFn } from '../../src/core/train/step';
import type { Batch } from '../../src/core/train/batch';

interface TrainStepReference {
  method: string;
  input_ids: number[][];
  attention_mask: number[][];
  labels: number[][];
  loss_value: number;
  grad_global_norm: number;
  optimizer: { lr: number; betas: [number, number]; eps: number; weight_decay: number };
}

const dirOf = (model: string) => fileURLToPath(new URL(`../fixtures/hf/${model}/`, import.meta.url));

/** max|a − b| / max|b|: the README's "relative to its scale" */
function relativeError(actual: Float32Array, expected: Float32Array): number {
  expect(actual.length).toBe(expected.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}

async function setup(model: string) {
  const dir = dirOf(model);
  const reference = (JSON.parse(readFileSync(`${dir}reference.json`, 'utf8')) as { train_step: TrainStepReference }).train_step;
  const tensors = parseSafetensors(new Uint8Array(readFileSync(`${dir}train_step.safetensors`)), 'train_step.safetensors');
  const part = (prefix: string): Map<string, HostTensor> => {
    const out = new Map<string, HostTensor>();
    // PEFT's in-memory names carry the adapter name ("default"); saved adapters drop it, as LoraMethod names them
    for (const [name, t] of tensors) if (name.startsWith(prefix)) out.set(name.slice(prefix.length).replace('.default.weight', '.weight'), t);
    return out;
  };
  const checkpoint = loadCheckpoint(await readModelDir(dir));
  const decoder = Decoder.fromHost(checkpoint.config, checkpoint.weights);
  const match = /^lora r=(\d+) alpha=(\d+) on (.+)$/.exec(reference.method)!;
  const lora = LoraMethod.load(
    decoder,
    { r: Number(match[1]), lora_alpha: Number(match[2]), lora_dropout: 0, target_modules: match[3].split(',') },
    part('init.'),
    { config: 'adapter_config.json', weights: 'train_step.safetensors' },
  );
  const peft = new PeftModel(decoder, lora);
  peft.training = true; // lora_dropout is 0, so this only exercises the training path
  const forward: ForwardFn = (ids, mask) => peft.forward(ids, mask);
  const batch: Batch = {
    inputIds: reference.input_ids,
    attentionMask: reference.attention_mask,
    labels: reference.labels,
    scoredTokens: countScoredLabels(reference.labels),
    realTokens: reference.attention_mask.flat().reduce((a, b) => a + b, 0),
  };
  return { reference, decoder, lora, forward, batch, grads: part('grad.'), after: part('after.'), init: part('init.') };
}

/** AdamW from the reference's own init.* and grad.* must give its after.*: the optimizer alone. */
function checkAdamWAgainstReference(model: string, ref: Awaited<ReturnType<typeof setup>>): void {
  const { reference, grads: refGrads, after, init } = ref;
  const params = new Map<string, tf.Variable>();
  for (const [name, t] of init) params.set(name, tf.tidy(() => tf.variable(tf.tensor(t.data, t.shape), true)));
  const grads = new Map<string, tf.Tensor>([...refGrads].map(([name, t]) => [name, tf.tensor(t.data, t.shape)]));
  const norm = globalNorm(grads.values());
  expect(Math.abs(norm.dataSync()[0] - reference.grad_global_norm) / reference.grad_global_norm, model).toBeLessThan(1e-6);
  const { lr, betas, eps, weight_decay } = reference.optimizer;
  const optimizer = new AdamW({ betas, eps, weightDecay: weight_decay });
  optimizer.apply(params, grads, lr);
  for (const [name, v] of params) {
    expect(relativeError(v.dataSync() as Float32Array, after.get(name)!.data), name).toBeLessThan(1e-6);
  }
  optimizer.dispose();
  for (const t of [norm, ...params.values(), ...grads.values()]) t.dispose();
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`train_step parity (${backend})`, () => {
    beforeAll(async () => {
      await setNodeBackend(backend);
    });
    afterAll(async () => {
      await setNodeBackend('cpu');
    });

    for (const model of ['tiny-gpt2', 'tiny-llama']) {
      it(`${model}: AdamW on the reference gradients gives torch's weights; the global norm matches`, async () => {
        const ref = await setup(model);
        const before = tf.memory().numTensors;
        checkAdamWAgainstReference(model, ref);
        expect(tf.memory().numTensors).toBe(before);
        ref.lora.dispose();
        ref.decoder.dispose();
      });
    }

    // GPT-2 is left out of the forward/backward comparison: its reference step cannot be reproduced
    // deterministically. Base and LoRA logits match transformers/PEFT to 1e-4 (peft-parity.test.ts),
    // and the same loss code matches Llama's reference exactly, yet the GPT-2 loss differs by 0.047
    // and gradients only loosely agree (cosine −0.12 to 0.81 per tensor): the reference evidently ran in train mode
    // with GPT-2's dropout (attn/resid/embd_pdrop 0.1 in its config.json) active. Llama has no
    // dropout. The GPT-2 backward pass is checked against finite differences in train-step.test.ts.
    it('tiny-llama: loss, every gradient, grad norm and the AdamW update match PEFT + torch', async () => {
      const { reference, decoder, lora, forward, batch, grads: refGrads, after, init } = await setup('tiny-llama');
      const params = lora.variables();
      expect([...params.keys()].sort()).toEqual([...refGrads.keys()].sort());
      expect(params.size).toBe(28); // 2 layers × 7 modules × (A, B)

      const before = tf.memory().numTensors;
      const { loss, grads } = computeGradients(forward, params, [batch]);
      expect(Math.abs(loss.dataSync()[0] - reference.loss_value)).toBeLessThan(1e-5);
      expect(grads.size).toBe(params.size);
      for (const [name, grad] of grads) {
        expect(relativeError(grad.dataSync() as Float32Array, refGrads.get(name)!.data), name).toBeLessThan(1e-5);
      }
      const norm = globalNorm(grads.values());
      const normValue = norm.dataSync()[0];
      expect(Math.abs(normValue - reference.grad_global_norm) / reference.grad_global_norm).toBeLessThan(1e-5);
      // clip_grad_norm_(max_norm=1): the norm 2.278 comes down to 1 (within torch's 1e-6 guard)
      const clipped = clipByGlobalNorm(grads, 1, normValue);
      const clippedNorm = globalNorm(clipped.values());
      expect(clippedNorm.dataSync()[0]).toBeCloseTo(1 * (normValue / (normValue + 1e-6)), 5);
      for (const t of [loss, norm, clippedNorm, ...grads.values(), ...clipped.values()]) t.dispose();
      expect(tf.memory().numTensors).toBe(before);
      for (const [name, v] of params) expect(v.dataSync()).toEqual(init.get(name)!.data); // nothing applied yet

      // the reference is a plain optimizer.step() after backward: no clipping
      const { lr, betas, eps, weight_decay } = reference.optimizer;
      const optimizer = new AdamW({ betas, eps, weightDecay: weight_decay });
      const result = await trainStep(forward, params, [batch], optimizer, { learningRate: lr, maxGradNorm: null });
      expect(result.skipped).toBe(false);
      expect(Math.abs(result.loss - reference.loss_value)).toBeLessThan(1e-5);
      expect(Math.abs(result.gradNorm - reference.grad_global_norm) / reference.grad_global_norm).toBeLessThan(1e-5);
      expect(result.scoredTokens).toBe(6);
      expect(result.realTokens).toBe(12);
      for (const [name, v] of params) {
        expect(relativeError(v.dataSync() as Float32Array, after.get(name)!.data), name).toBeLessThan(1e-5);
      }
      expect(tf.memory().numTensors).toBe(before + 2 * params.size); // AdamW's m and v
      optimizer.dispose();
      expect(tf.memory().numTensors).toBe(before);
      lora.dispose();
      decoder.dispose();
    });
  });
}
