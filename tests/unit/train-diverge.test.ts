// Training that diverges stops as 'diverged' (issue 12, item 2): learning rates past MAX_LEARNING_RATE
// are refused naming the field; an update that leaves non-finite weights is found by the next step's
// read-back and rolled back to the last finite state (the latest state() taken: a checkpoint);
// maxConsecutiveBadSteps bad updates in a row end the run with those finite weights in place.
// Non-finite weights are injected between updates (what an update with lr 1e39 did before), and a
// poisoned forward gives non-finite losses; the tiny GPT-2 with LoRA is the model, as in train-loop.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { setNodeBackend } from '../../cli/node-backend';
import { MAX_LEARNING_RATE, trainerConfig, type TrainerConfig } from '../../src/core/train/config';
import { Trainer, type ProgressEvent, type TrainableModel } from '../../src/core/train/loop';
import { stateIsFinite, tensorsWithPrefix, type TrainerState } from '../../src/core/train/state';
import { MODEL_CONFIG, syntheticRows, tinyLoraModel } from './train-loop-fixture';

beforeAll(async () => {
  await setNodeBackend('cpu');
});

const makeModel = () => tinyLoraModel({ r: 2, lora_alpha: 4, lora_dropout: 0, target_modules: ['c_attn'] }, 1);

const rows = (count: number, seed: number) =>
  syntheticRows(count, seed, { firstId: 1, vocab: MODEL_CONFIG.vocabSize, promptLength: () => 3, completionLength: () => 2, eos: 0 });

const DATA = { train: rows(6, 1) };
const CONFIG: Partial<TrainerConfig> & Pick<TrainerConfig, 'totalSteps' | 'padTokenId'> = { totalSteps: 10, batchSize: 2, learningRate: 1e-2, seed: 3, padTokenId: 0 };

const hostWeights = (variables: Map<string, tf.Variable>) => new Map([...variables].map(([n, v]) => [n, Array.from(v.dataSync())]));
const stateWeights = (state: TrainerState) => new Map([...tensorsWithPrefix(state, 'weights/')].map(([n, t]) => [n, Array.from(t.data)]));

/** Writes NaN into the first element of one LoRA matrix, as a runaway update would. */
function poisonWeights(variables: Map<string, tf.Variable>): void {
  const [name, variable] = [...variables].find(([n]) => n.includes('lora_B'))!;
  expect(name).toMatch(/lora_B/);
  tf.tidy(() => {
    const values = Float32Array.from(variable.dataSync());
    values[0] = Number.NaN;
    variable.assign(tf.tensor(values, variable.shape, 'float32'));
  });
}

/** Trains to step 2, takes the state there (the session's checkpoint), then runs on with `onStep`. */
async function trainFromCheckpoint(onStep: (e: ProgressEvent, variables: Map<string, tf.Variable>) => void, model: TrainableModel, overrides: Partial<TrainerConfig> = {}) {
  let trainer: Trainer | null = null;
  const variables = model.trainableVariables();
  trainer = new Trainer(model, DATA, { ...CONFIG, ...overrides }, {
    onProgress: (e) => {
      if (e.step === 2 && trainer!.currentStatus === 'running' && !checkpoint) trainer!.cancel();
      else if (checkpoint) onStep(e, variables);
    },
  });
  let checkpoint: TrainerState | null = null;
  expect((await trainer.run()).status).toBe('cancelled');
  checkpoint = await trainer.state();
  const result = await trainer.run();
  return { trainer, checkpoint, result, variables };
}

describe('learning-rate range', () => {
  it('refuses learning rates float32 weights cannot survive, naming the field', () => {
    const base = { totalSteps: 1, padTokenId: 0 };
    expect(MAX_LEARNING_RATE).toBe(10);
    expect(trainerConfig({ ...base, learningRate: 10 }).learningRate).toBe(10);
    expect(() => trainerConfig({ ...base, learningRate: 1e39 })).toThrow(
      'TrainerConfig.learningRate must be at most 10 (AdamW moves every weight by about the learning rate each update), got 1e+39',
    );
    expect(() => trainerConfig({ ...base, learningRate: 10.5 })).toThrow('TrainerConfig.learningRate must be at most 10');
    expect(() => trainerConfig({ ...base, learningRate: Number.POSITIVE_INFINITY })).toThrow('TrainerConfig.learningRate must be a positive finite number, got Infinity');
    expect(() => trainerConfig({ ...base, learningRate: Number.NaN })).toThrow('TrainerConfig.learningRate must be a positive finite number, got NaN');
    expect(() => trainerConfig({ ...base, maxConsecutiveBadSteps: 0 })).toThrow('TrainerConfig.maxConsecutiveBadSteps must be a positive integer, got 0');
    expect(trainerConfig(base).maxConsecutiveBadSteps).toBe(3);
  });
});

describe('non-finite weights', () => {
  it('rolls one bad update back to the last finite state and trains on to the end', async () => {
    const { model, dispose } = makeModel();
    const before = tf.memory().numTensors;
    let atStep4: Map<string, number[]> | null = null;
    const skipped: number[] = [];
    const { trainer, checkpoint, result, variables } = await trainFromCheckpoint((e, vars) => {
      if (e.skipped) skipped.push(e.step);
      if (e.step === 3) poisonWeights(vars); // step 3's update "went wrong"
      if (e.step === 4) atStep4 = hostWeights(vars);
    }, model);
    expect(result).toMatchObject({ status: 'completed', step: 10, skippedSteps: 1 });
    expect(skipped).toEqual([4]); // step 4's read-back found the NaN: skipped, rolled back
    expect(checkpoint.json.step).toBe(2);
    expect(atStep4).toEqual(stateWeights(checkpoint)); // exactly the checkpoint's weights, bit for bit
    const final = await trainer.state();
    expect(stateIsFinite(final)).toBe(true);
    expect(final.json.consecutiveBadSteps).toBe(0); // later good updates ended the bad stretch
    expect(hostWeights(variables)).not.toEqual(stateWeights(checkpoint)); // and trained on after it
    trainer.dispose();
    expect(tf.memory().numTensors).toBe(before);
    dispose();
  });

  it('ends the run as diverged after maxConsecutiveBadSteps rolled-back updates, with the checkpoint’s weights in place', async () => {
    const { model, dispose } = makeModel();
    const before = tf.memory().numTensors;
    const steps: number[] = [];
    const { trainer, checkpoint, result, variables } = await trainFromCheckpoint((e, vars) => {
      steps.push(e.step);
      // every update from step 3 on leaves a NaN behind (step 6 is the last: its event comes after the verdict)
      if (e.step < 6) poisonWeights(vars);
    }, model);
    // 3 poisons; 4, 5, 6 find one each and roll back: the third in a row ends the run
    expect(result).toEqual({ status: 'diverged', step: 6, skippedSteps: 3, best: null, lastFiniteStep: 2 });
    expect(steps).toEqual([3, 4, 5, 6]);
    expect(hostWeights(variables)).toEqual(stateWeights(checkpoint));
    const state = await trainer.state();
    expect(stateIsFinite(state)).toBe(true);
    expect(state.json.consecutiveBadSteps).toBe(3);
    // a diverged trainer stays diverged: running again trains nothing
    expect((await trainer.run()).status).toBe('diverged');
    expect(trainer.currentStep).toBe(6);
    trainer.dispose();
    expect(tf.memory().numTensors).toBe(before);
    dispose();
  });

  it('checks the last update once more when the run ends', async () => {
    const { model, dispose } = makeModel();
    const { trainer, checkpoint, result, variables } = await trainFromCheckpoint((e, vars) => {
      if (e.step === 10) poisonWeights(vars);
    }, model);
    // one bad update is not divergence: the run completes, with the last finite weights
    expect(result).toMatchObject({ status: 'completed', step: 10, skippedSteps: 0 });
    expect(hostWeights(variables)).toEqual(stateWeights(checkpoint));
    trainer.dispose();
    dispose();
  });
});

describe('non-finite losses', () => {
  it('skips them, and ends as diverged after maxConsecutiveBadSteps in a row', async () => {
    const { model: peft, dispose } = makeModel();
    let poisoned = false;
    const model: TrainableModel = {
      forward: (ids, mask, packed) => tf.tidy(() => (poisoned ? tf.mul(peft.forward(ids, mask, packed), Number.NaN) : peft.forward(ids, mask, packed))) as tf.Tensor3D,
      trainableVariables: () => peft.trainableVariables(),
    };
    const before = tf.memory().numTensors;
    let afterStep1: Map<string, number[]> | null = null;
    const events: ProgressEvent[] = [];
    const trainer = new Trainer(model, DATA, { ...CONFIG, maxConsecutiveBadSteps: 2 }, {
      onProgress: (e) => {
        events.push(e);
        if (e.step === 1) {
          afterStep1 = hostWeights(peft.trainableVariables());
          poisoned = true;
        }
      },
    });
    const result = await trainer.run();
    expect(result).toEqual({ status: 'diverged', step: 3, skippedSteps: 2, best: null, lastFiniteStep: 0 });
    expect(events.map((e) => e.skipped)).toEqual([false, true, true]);
    expect(Number.isNaN(events[2].loss)).toBe(true);
    // skipped updates leave the weights alone: still step 1's, which were finite (no rollback)
    expect(hostWeights(peft.trainableVariables())).toEqual(afterStep1);
    trainer.dispose();
    expect(tf.memory().numTensors).toBe(before);
    dispose();
  });
});
