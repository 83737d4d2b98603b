// Every registry method trained by the Trainer for 21 updates on tiny-llama: tf.memory().numTensors
// is the same after every update (validation, dropout, state() and export included) and back to the
// start once the trainer and method are disposed; the base model's weights are bit-identical after
// training (full fine-tuning and layer freezing train copies, never the decoder's own tensors); the
// trainable weights did move, so the run really trained. Each method also with gradient checkpointing.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { exportAdapterFolder } from '../../src/core/peft';
import { Trainer } from '../../src/core/train/loop';
import { createPeftModel } from '../../src/core/train/run';
import { useFixtureDecoders } from './decoder-fixtures';
import { sameBits, snapshot } from './peft-helpers';
import { syntheticRows } from './train-loop-fixture';

const METHODS: [string, string, Record<string, unknown>][] = [
  ['lora (dropout on)', 'lora', { r: 4, lora_alpha: 8, lora_dropout: 0.1, target_modules: 'all-linear' }],
  ['ia3', 'ia3', {}],
  ['prefix', 'prefix', { num_virtual_tokens: 3 }],
  ['prefix with projection', 'prefix', { num_virtual_tokens: 3, prefix_projection: true, encoder_hidden_size: 8 }],
  ['prompt', 'prompt', { num_virtual_tokens: 3 }],
  ['adapter houlsby (dropout on)', 'adapter', { kind: 'houlsby', reduction_factor: 8, dropout: 0.1 }],
  ['adapter pfeiffer', 'adapter', { kind: 'pfeiffer', reduction_factor: 8 }],
  ['full', 'full', {}],
  ['freeze', 'freeze', { trainable_layers: 1, train_norms: true }],
];

/** A prompt of 2–5 random ids, then a completion of 1–3 ids and EOS (2, tiny-llama's). */
const rows = (count: number, seed: number, vocab: number) =>
  syntheticRows(count, seed, { firstId: 3, vocab, promptLength: (rng) => 2 + rng.int(4), completionLength: (rng) => 1 + rng.int(3), eos: 2 });

describe('training every method leaks nothing and leaves the base model untouched', () => {
  const { decoders } = useFixtureDecoders('cpu', ['tiny-llama']);

  for (const [label, name, config] of METHODS.flatMap(([l, n, c]) => [[l, n, c, false], [`${l}, gradient checkpointing`, n, c, true]] as const)) {
    const gradientCheckpointing = label.endsWith('gradient checkpointing');
    it(label, async () => {
      const decoder = decoders.get('tiny-llama')!;
      const vocab = decoder.config.vocabSize;
      const data = { train: rows(6, 1, vocab), validation: rows(2, 2, vocab) };
      const base = snapshot(decoder);
      const start = tf.memory().numTensors;
      const model = createPeftModel(decoder, { name, config }, 4);
      const initial = await Promise.all([...model.trainableVariables().values()].map(async (v) => new Float32Array(await v.data())));
      const counts: number[] = [];
      const trainer = new Trainer(
        model,
        data,
        { totalSteps: 21, batchSize: 2, learningRate: 1e-2, evalEvery: 5, seed: 3, padTokenId: 0, gradientCheckpointing },
        { onProgress: () => counts.push(tf.memory().numTensors) },
      );
      expect(model.gradientCheckpointing).toBe(gradientCheckpointing);
      const result = await trainer.run();
      expect(result).toMatchObject({ status: 'completed', step: 21, skippedSteps: 0 });
      // update 1 creates AdamW's moments; from then on every update ends where the last one did
      expect(counts).toHaveLength(21);
      expect(new Set(counts.slice(1)), `tensor counts after each update: ${counts}`).toEqual(new Set([counts[0]]));
      const steady = tf.memory().numTensors;
      await trainer.state();
      await exportAdapterFolder(model.method!, { baseModel: 'tiny-llama' });
      expect(tf.memory().numTensors).toBe(steady);

      const trained = await Promise.all([...model.trainableVariables().values()].map(async (v) => new Float32Array(await v.data())));
      const moved = trained.filter((values, i) => values.some((v, j) => v !== initial[i][j])).length;
      expect(moved, 'trainable tensors that changed').toBe(trained.length);
      trainer.dispose();
      model.dispose();
      expect(tf.memory().numTensors).toBe(start);
      expect(sameBits(snapshot(decoder), base)).toBe(true);
    });
  }
});
