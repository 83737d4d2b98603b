// Gradient checkpointing (activation recomputation, ops/recompute.ts): for every PEFT method the
// loss and every gradient equal those without checkpointing within 1e-5 relative, dropout masks
// included (LoRA and adapter with dropout > 0), with padded and packed batches, on cpu and wasm
// (wasm runs the fused kernels); the tape keeps less; nothing leaks across steps; a block that
// reads a variable-derived tensor from outside is refused instead of losing its gradient.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { setNodeBackend, type NodeBackend } from '../../cli/node-backend';
import { Decoder } from '../../src/core/model/decoder';
import { randomWeightEntries } from '../../src/core/model/random';
import { PeftModel, createMethod } from '../../src/core/peft';
import { collate, type Batch, type Row } from '../../src/core/train/batch';
import { parseArgs } from '../../cli/args';
import { methodLine } from '../../cli/commands/bench';
import { runTrainBench } from '../../src/core/bench/train-bench';
import { settingsFrom } from '../../cli/commands/train';
import { TRAINER_DEFAULTS, trainerConfig } from '../../src/core/train/config';
import { Trainer } from '../../src/core/train/loop';
import { checkSpec } from '../../src/core/train/session-spec';
import { AdamW } from '../../src/core/train/optim/adamw';
import { computeGradients, trainStep } from '../../src/core/train/step';
import { parseConfig } from '../../src/core/model/config';
import { relativeError } from './compare';
import { loadFixture, type Fixture, type ModelName } from './peft-helpers';
import * as recompute from '../../src/core/model/ops/recompute';
import { tapeSavedBytes } from '../../src/core/model/ops/recompute';

const METHODS: readonly [string, Record<string, unknown>][] = [
  ['lora', { r: 4, lora_dropout: 0.3, target_modules: 'all-linear' }],
  ['ia3', {}],
  ['adapter', { kind: 'houlsby', reduction_factor: 4, dropout: 0.2 }],
  ['prefix', { num_virtual_tokens: 3, prefix_projection: true, encoder_hidden_size: 8 }],
  ['prompt', { num_virtual_tokens: 3 }],
  ['full', {}],
  ['freeze', { trainable_layers: 1 }],
];

/** Rows of different lengths (padded), and the same tokens packed two sequences to a row. */
function batches(vocab: number): { padded: Batch; packed: Batch } {
  const ids = (n: number, offset: number) => Array.from({ length: n }, (_, i) => 1 + ((i * 7 + offset * 13) % (vocab - 1)));
  const rows: Row[] = [
    { inputIds: ids(9, 1), labels: [-100, -100, ...ids(9, 1).slice(2)] },
    { inputIds: ids(6, 2), labels: ids(6, 2) },
    { inputIds: ids(11, 3), labels: [-100, ...ids(11, 3).slice(1)] },
  ];
  const padded = collate(rows, 0);
  const pack = (a: Row, b: Row): Row => ({
    inputIds: [...a.inputIds, ...b.inputIds],
    labels: [...a.labels, ...b.labels],
    positionIds: [...a.inputIds.map((_, i) => i), ...b.inputIds.map((_, i) => i)],
  });
  const packed = collate([pack(rows[0], rows[1]), pack(rows[2], rows[1])], 0);
  return { padded, packed };
}

/** Moves every trainable variable off its initialisation (LoRA B, adapter up start at zero), seeded. */
function perturb(model: PeftModel, seed: number): void {
  let i = 0;
  for (const v of model.trainableVariables().values()) {
    tf.tidy(() => v.assign(tf.add(v, tf.mul(tf.randomNormal(v.shape, 0, 1, 'float32', seed + i++), 0.05))));
  }
}

interface Grads {
  loss: number;
  grads: Map<string, tf.Tensor>;
  randomAfter: number | null;
}

function gradientsOf(model: PeftModel, batch: Batch, checkpointing: boolean, randomState: number | null): Grads {
  if (randomState !== null) model.setRandomState(randomState);
  model.gradientCheckpointing = checkpointing;
  const { loss, grads } = computeGradients((ids, mask, packed) => model.forward(ids, mask, packed), model.trainableVariables(), [batch]);
  const value = loss.dataSync()[0];
  loss.dispose();
  return { loss: value, grads, randomAfter: model.randomState() };
}

function describeOn(backend: NodeBackend, modelName: ModelName): void {
  describe(`gradient checkpointing on ${backend}, ${modelName}`, () => {
    let fixture: Fixture;
    beforeAll(async () => {
      await setNodeBackend(backend);
      fixture = loadFixture(modelName);
    });
    afterAll(() => fixture.decoder.dispose());

    for (const [name, config] of METHODS) {
      it(`${name}: the same loss and gradients as without, padded and packed rows`, () => {
        const before = tf.memory().numTensors;
        const model = new PeftModel(fixture.decoder, createMethod(name, fixture.decoder, config, { seed: 3 }));
        model.training = true;
        perturb(model, 11);
        const { padded, packed } = batches(fixture.decoder.config.vocabSize);
        for (const batch of [padded, packed]) {
          const start = model.randomState();
          const plain = gradientsOf(model, batch, false, start);
          const recomputed = gradientsOf(model, batch, true, start);
          expect(Number.isFinite(plain.loss)).toBe(true);
          expect(Math.abs(recomputed.loss - plain.loss) / Math.abs(plain.loss)).toBeLessThan(1e-5);
          // the recompute replays the masks and leaves the RNG where the plain step leaves it
          expect(recomputed.randomAfter).toBe(plain.randomAfter);
          expect([...recomputed.grads.keys()].sort()).toEqual([...plain.grads.keys()].sort());
          expect(plain.grads.size).toBe(model.trainableVariables().size);
          let nonZero = 0;
          for (const [variable, g] of plain.grads) {
            expect(relativeError(recomputed.grads.get(variable)!, g), `${variable}`).toBeLessThan(1e-5);
            if (tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]) > 0) nonZero++;
          }
          expect(nonZero).toBe(plain.grads.size);
          tf.dispose([...plain.grads.values(), ...recomputed.grads.values()]);
        }
        model.dispose();
        expect(tf.memory().numTensors).toBe(before);
      });
    }

    it('a Trainer run with trainer.gradientCheckpointing ends at the weights of one without (LoRA, dropout on)', async () => {
      const vocab = fixture.decoder.config.vocabSize;
      const rowsOf = (seed: number): Row[] =>
        Array.from({ length: 6 }, (_, r) => {
          const ids = Array.from({ length: 5 + ((r + seed) % 4) }, (_, i) => 1 + ((r * 17 + i * 5 + seed) % (vocab - 1)));
          return { inputIds: ids, labels: ids };
        });
      const trained = async (gradientCheckpointing: boolean): Promise<Map<string, Float32Array>> => {
        const model = new PeftModel(fixture.decoder, createMethod('lora', fixture.decoder, METHODS[0][1], { seed: 8 }));
        const trainer = new Trainer(model, { train: rowsOf(1) }, { totalSteps: 4, batchSize: 2, learningRate: 1e-2, seed: 2, padTokenId: 0, gradientCheckpointing });
        expect(model.gradientCheckpointing).toBe(gradientCheckpointing);
        await trainer.run();
        const weights = new Map([...model.trainableVariables()].map(([n, v]) => [n, new Float32Array(v.dataSync())]));
        trainer.dispose();
        model.dispose();
        return weights;
      };
      const plain = await trained(false);
      const recomputed = await trained(true);
      for (const [name, w] of plain) {
        const other = recomputed.get(name)!;
        let diff = 0;
        let scale = 0;
        for (let i = 0; i < w.length; i++) {
          diff = Math.max(diff, Math.abs(other[i] - w[i]));
          scale = Math.max(scale, Math.abs(w[i]));
        }
        expect(diff / scale, name).toBeLessThan(1e-4);
      }
    });

    it('LoRA dropout really acts: a different mask gives a different gradient', () => {
      const model = new PeftModel(fixture.decoder, createMethod('lora', fixture.decoder, METHODS[0][1], { seed: 3 }));
      model.training = true;
      perturb(model, 5);
      const { padded } = batches(fixture.decoder.config.vocabSize);
      const start = model.randomState()!;
      const a = gradientsOf(model, padded, true, start);
      const b = gradientsOf(model, padded, true, a.randomAfter); // the next masks
      const name = [...a.grads.keys()][0];
      expect(relativeError(b.grads.get(name)!, a.grads.get(name)!)).toBeGreaterThan(1e-3);
      tf.dispose([...a.grads.values(), ...b.grads.values()]);
      model.dispose();
    });
  });
}

for (const backend of ['cpu', 'wasm'] as const) {
  describeOn(backend, 'tiny-gpt2');
  describeOn(backend, 'tiny-llama');
}

describe('gradient checkpointing: memory, leaks, probes, refusals (wasm)', () => {
  let decoder: Decoder;
  beforeAll(async () => {
    await setNodeBackend('wasm');
    const config = parseConfig({
      model_type: 'llama',
      vocab_size: 256,
      hidden_size: 64,
      intermediate_size: 192,
      num_hidden_layers: 4,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: 128,
      rms_norm_eps: 1e-5,
      tie_word_embeddings: true,
    });
    decoder = Decoder.fromHost(config, randomWeightEntries(config, 7));
  });
  afterAll(() => decoder.dispose());

  function rows(n: number, width: number): Batch {
    const list: Row[] = Array.from({ length: n }, (_, r) => {
      const inputIds = Array.from({ length: width }, (_, i) => 1 + ((r * 31 + i * 17) % 255));
      return { inputIds, labels: inputIds };
    });
    return collate(list, 0);
  }

  /** bytes the tape keeps for the backward once the forward has returned its logits (unique buffers) */
  function tapeBytes(model: PeftModel, batch: Batch): number {
    let held = 0;
    const { loss, grads } = computeGradients(
      (ids, mask, packed) => {
        const logits = model.forward(ids, mask, packed);
        held = tapeSavedBytes();
        return logits;
      },
      model.trainableVariables(),
      [batch],
    );
    tf.dispose([loss, ...grads.values()]);
    return held;
  }

  it('the tape keeps less: the block inputs instead of every intermediate', () => {
    const model = new PeftModel(decoder, createMethod('lora', decoder, { r: 8, target_modules: ['q_proj', 'v_proj'] }, { seed: 1 }));
    model.training = true;
    const batch = rows(4, 32);
    const plain = tapeBytes(model, batch);
    model.gradientCheckpointing = true;
    const checkpointed = tapeBytes(model, batch);
    const blockInputs = 4 * (4 * 32) * 64 * 4; // 4 layers × [N, d] float32
    // the block inputs, plus what the embedding, final norm and head keep, and the mask and RoPE tables
    expect(checkpointed).toBeGreaterThanOrEqual(blockInputs);
    expect(checkpointed).toBeLessThan(5 * blockInputs);
    expect(plain).toBeGreaterThan(10 * checkpointed);
    model.dispose();
  });

  it('numTensors stays flat across training steps, and each block is probed once', async () => {
    const model = new PeftModel(decoder, createMethod('lora', decoder, { r: 4, lora_dropout: 0.1, target_modules: 'all-linear' }, { seed: 2 }));
    model.training = true;
    model.gradientCheckpointing = true;
    const optimizer = new AdamW({ betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 });
    const params = model.trainableVariables();
    const batch = rows(2, 16);
    const forward = (ids: tf.Tensor2D, mask: tf.Tensor2D) => model.forward(ids, mask);
    const counts: number[] = [];
    const probesBefore = recompute.probeCount;
    const losses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await trainStep(forward, params, [batch], optimizer, { learningRate: 1e-2, maxGradNorm: 1 });
      losses.push(r.loss);
      counts.push(tf.memory().numTensors);
    }
    expect(recompute.probeCount - probesBefore).toBe(decoder.config.numLayers);
    expect(new Set(counts.slice(1)).size).toBe(1);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[3]).toBeLessThan(losses[0]); // it trains
    optimizer.dispose();
    model.dispose();
  });

  it('off a tape (evaluation) the checkpointed model gives the same logits', () => {
    const model = new PeftModel(decoder, createMethod('lora', decoder, { r: 4, init_lora_weights: false }, { seed: 4 }));
    const ids = tf.tensor2d([[1, 5, 9, 14, 3]], undefined, 'int32');
    const a = model.forward(ids);
    model.gradientCheckpointing = true;
    const b = model.forward(ids);
    expect(relativeError(b, a)).toBe(0);
    tf.dispose([ids, a, b]);
    model.dispose();
  });

  it('refuses a block that reads a tensor computed from a trainable variable outside it', () => {
    const scale = tf.variable(tf.ones([64]), true, 'test/outside-scale');
    const ids = tf.tensor2d([[1, 2, 3, 4]], undefined, 'int32');
    const run = (checkpoint: boolean) =>
      tf.variableGrads(() => {
        const doubled = tf.mul(scale, 2); // computed under the tape, outside the blocks
        decoder.hooks = { afterMlp: (_layer, h) => tf.mul(h, doubled) as tf.Tensor3D };
        try {
          const logits = decoder.forward(ids, { checkpoint: checkpoint ? { key: {} } : undefined }).logits;
          return tf.mean(logits) as tf.Scalar;
        } finally {
          decoder.hooks = null;
        }
      }, [scale]);
    const plain = run(false);
    expect(Object.keys(plain.grads)).toEqual([scale.name]);
    tf.dispose([plain.value, ...Object.values(plain.grads)]);
    expect(() => run(true)).toThrow(/computed from trainable variables outside the block/);
    tf.dispose([ids, scale]); // the refused step's tape is abandoned, as after any error inside tf.variableGrads
  });
});

describe('gradient checkpointing: the setting', () => {
  it('defaults to off, is checked as a boolean, and comes from --gradient-checkpointing', () => {
    expect(TRAINER_DEFAULTS.gradientCheckpointing).toBe(false);
    expect(trainerConfig({ totalSteps: 1, padTokenId: 0 }).gradientCheckpointing).toBe(false);
    expect(trainerConfig({ totalSteps: 1, padTokenId: 0, gradientCheckpointing: true }).gradientCheckpointing).toBe(true);
    expect(() => trainerConfig({ totalSteps: 1, padTokenId: 0, gradientCheckpointing: 'yes' as unknown as boolean })).toThrow(
      'TrainerConfig.gradientCheckpointing must be true or false, got "yes"',
    );
    const spec = { modelId: 'm', examples: [{ prompt: 'a', completion: 'b' }], method: { name: 'lora' }, trainer: { totalSteps: 1, gradientCheckpointing: 1 as unknown as boolean } };
    expect(() => checkSpec(spec)).toThrow('Training settings: trainer.gradientCheckpointing must be true or false, got 1');
    expect(() => checkSpec({ ...spec, trainer: { totalSteps: 1, gradientCheckpointing: true } })).not.toThrow();
    const base = ['train', '--model', 'm', '--data', 'd.jsonl', '--out', 'o', '--method', 'lora'];
    expect(settingsFrom(parseArgs([...base, '--gradient-checkpointing'])).run.trainer.gradientCheckpointing).toBe(true);
    expect(settingsFrom(parseArgs(base)).run.trainer).not.toHaveProperty('gradientCheckpointing');
  });
});

describe('gradient checkpointing in the bench (micro preset, cpu)', () => {
  it('reports the setting and the activations; the same loss, less held, flat tensor counts', async () => {
    await setNodeBackend('cpu');
    const bench = (gradientCheckpointing: boolean) =>
      runTrainBench({ preset: 'micro', methods: ['lora'], steps: 2, warmupSteps: 0, profile: false, matmulMinMs: 1, gradientCheckpointing });
    const [plain, recomputed] = [await bench(false), await bench(true)];
    const [a, b] = [plain.methods[0], recomputed.methods[0]];
    expect([a.gradientCheckpointing, b.gradientCheckpointing]).toEqual([false, true]);
    expect(b.lastLoss).toBeCloseTo(a.lastLoss, 5);
    expect(b.activations.tapeSavedBytes).toBeGreaterThan(0);
    expect(b.activations.tapeSavedBytes).toBeLessThan(a.activations.tapeSavedBytes);
    expect(b.activations.forwardNumBytes).toBeLessThan(a.activations.forwardNumBytes);
    expect(new Set(b.numTensorsPerStep).size).toBe(1);
    expect(b.tensorsLeaked).toBe(0);
    const line = methodLine(recomputed, b);
    expect(line).toMatchObject({ gradientCheckpointing: true, activationTapeBytes: b.activations.tapeSavedBytes, activationForwardNumBytes: b.activations.forwardNumBytes });
    expect(line.peakRssOverTwoWeightsPlusActivations).toBeCloseTo(b.memoryAfterSteps!.peakRssBytes / (2 * recomputed.model.weightBytes + b.activations.tapeSavedBytes), 9);
  });
});
