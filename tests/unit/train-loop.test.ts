// The Trainer (loop.ts) on a tiny random GPT-2 with LoRA: an interrupted and resumed run ends with
// the weights of an uninterrupted one; pause, cancel, AbortSignal; validation, early stopping and
// the best weights; progress events; no leaked tensors.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { setNodeBackend } from '../../cli/node-backend';
import { Trainer, type ProgressEvent, type TrainerData } from '../../src/core/train/loop';
import { learningRateAt } from '../../src/core/train/schedule';
import type { TrainerState } from '../../src/core/train/state';
import type { TrainerConfig } from '../../src/core/train/config';
import { MODEL_CONFIG, syntheticRows, tinyLoraModel } from './train-loop-fixture';

beforeAll(async () => {
  await setNodeBackend('cpu');
});

/** A fresh tiny GPT-2 with LoRA; `loraSeed` changes LoRA's A init (B starts at 0). */
function makeModel(loraSeed: number, dropout = 0) {
  const { model, dispose } = tinyLoraModel({ r: 4, lora_alpha: 8, lora_dropout: dropout, target_modules: ['c_attn', 'c_proj', 'c_fc'] }, loraSeed);
  return {
    model,
    weights: () => new Map([...model.trainableVariables()].map(([n, v]) => [n, new Float32Array(v.dataSync() as Float32Array)])),
    dispose,
  };
}

/**
 * A prompt of 2–5 random ids, then a completion of 1–4 ids and EOS (0). Rows fit the 12-token rows
 * the run uses, so nothing is truncated.
 */
const rows = (count: number, seed: number) =>
  syntheticRows(count, seed, { firstId: 1, vocab: MODEL_CONFIG.vocabSize, promptLength: (rng) => 2 + rng.int(4), completionLength: (rng) => 1 + rng.int(4), eos: 0 });

const DATA: TrainerData = { train: rows(10, 1), validation: rows(3, 2) };

const CONFIG: Partial<TrainerConfig> & Pick<TrainerConfig, 'totalSteps' | 'padTokenId'> = {
  totalSteps: 8,
  batchSize: 3,
  gradientAccumulationSteps: 2, // 6 rows per update: epochs of 10 rows wrap mid-run
  learningRate: 1e-2,
  schedule: 'cosine',
  warmupSteps: 2,
  weightDecay: 0.01,
  evalEvery: 3,
  seed: 7,
  padTokenId: 0,
};

function maxDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  let diff = 0;
  for (const [name, values] of a) values.forEach((v, i) => (diff = Math.max(diff, Math.abs(v - b.get(name)![i]))));
  return diff;
}

/** What storage does to a state: JSON through text, tensors copied into fresh arrays. */
function persisted(state: TrainerState): TrainerState {
  return {
    json: JSON.parse(JSON.stringify(state.json)),
    tensors: state.tensors.map((t) => ({ name: t.name, shape: [...t.shape], data: new Float32Array(t.data) })),
  };
}

async function uninterruptedRun() {
  const m = makeModel(11);
  const events: ProgressEvent[] = [];
  const trainer = new Trainer(m.model, DATA, CONFIG, { onProgress: (e) => events.push(e) });
  const result = await trainer.run();
  const weights = m.weights();
  trainer.dispose();
  m.dispose();
  return { result, events, weights };
}

describe('Trainer', () => {
  it('a run cancelled after 3 steps and resumed from its saved state ends with the same weights', async () => {
    const straight = await uninterruptedRun();
    expect(straight.result).toMatchObject({ status: 'completed', step: 8, skippedSteps: 0 });

    const first = makeModel(11);
    const firstEvents: ProgressEvent[] = [];
    const interrupted = new Trainer(first.model, DATA, CONFIG, {
      onProgress: (e) => {
        firstEvents.push(e);
        if (e.step === 3) interrupted.cancel();
      },
    });
    expect((await interrupted.run()).status).toBe('cancelled');
    expect(interrupted.currentStep).toBe(3);
    const state = persisted(await interrupted.state());
    interrupted.dispose();
    first.dispose();
    expect(state.json.step).toBe(3);
    expect(state.tensors.filter((t) => t.name.startsWith('optimizer/m/'))).toHaveLength(16);

    const second = makeModel(999); // different LoRA init: the state must bring the weights back
    const secondEvents: ProgressEvent[] = [];
    const resumed = Trainer.resume(second.model, DATA, state, { onProgress: (e) => secondEvents.push(e) });
    const result = await resumed.run();
    expect(result.status).toBe('completed');
    expect(maxDiff(second.weights(), straight.weights)).toBeLessThanOrEqual(1e-6);
    expect([...firstEvents, ...secondEvents].map((e) => [e.step, e.loss, e.valLoss])).toEqual(
      straight.events.map((e) => [e.step, e.loss, e.valLoss]),
    );
    resumed.dispose();
    second.dispose();
  });

  it('with LoRA dropout, the saved state carries the dropout RNG: the resumed run draws the same masks', async () => {
    const run = async (cancelAt: number | null, seed: number, state?: TrainerState) => {
      const m = makeModel(seed, 0.3);
      const trainer = state
        ? Trainer.resume(m.model, DATA, state)
        : new Trainer(m.model, DATA, CONFIG, { onProgress: (e) => e.step === cancelAt && trainer.cancel() });
      await trainer.run();
      const saved = persisted(await trainer.state());
      const weights = m.weights();
      trainer.dispose();
      m.dispose();
      return { saved, weights };
    };
    const straight = await run(null, 11);
    const first = await run(3, 11);
    expect(first.saved.json.modelRandomState).toEqual(expect.any(Number));
    const resumed = await run(null, 999, first.saved); // another seed: another dropout stream unless restored
    expect(maxDiff(resumed.weights, straight.weights)).toBeLessThanOrEqual(1e-6);
    // and the masks matter: resuming without the RNG state ends elsewhere
    const { modelRandomState: _, ...withoutRng } = first.saved.json;
    const drifted = await run(null, 999, { ...first.saved, json: withoutRng });
    expect(maxDiff(drifted.weights, straight.weights)).toBeGreaterThan(1e-4);
  });

  it('emits one progress event per update with the scheduled lr, validation on schedule, and an ETA', async () => {
    const { events, result } = await uninterruptedRun();
    expect(events.map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const schedule = { kind: 'cosine' as const, learningRate: 1e-2, warmupSteps: 2, totalSteps: 8 };
    expect(events.map((e) => e.lr)).toEqual(events.map((e) => learningRateAt(schedule, e.step - 1)));
    expect(events.filter((e) => e.valLoss !== undefined).map((e) => e.step)).toEqual([3, 6, 8]);
    expect(events.every((e) => Number.isFinite(e.loss) && e.totalSteps === 8 && e.tokensPerSecond > 0 && !e.skipped)).toBe(true);
    expect(events.at(-1)!.etaSeconds).toBe(0);
    expect(events.at(-1)!.epoch).toBe(3); // epochs of 10 rows are batches of 3, 3, 3, 1: two updates each
    const best = events.filter((e) => e.valLoss !== undefined).reduce((a, b) => (b.valLoss! < a.valLoss! ? b : a));
    expect(result.best).toEqual({ step: best.step, valLoss: best.valLoss });
  });

  it('pause() holds the run between updates; unpause() continues it to the same result', async () => {
    const straight = await uninterruptedRun();
    const m = makeModel(11);
    const trainer = new Trainer(m.model, DATA, CONFIG, { onProgress: (e) => e.step === 2 && trainer.pause() });
    const running = trainer.run();
    // wait for the pause itself, not a fixed time: two updates took over the old 100 ms on a busy machine
    for (let i = 0; i < 2000 && trainer.currentStatus !== 'paused'; i++) await new Promise((r) => setTimeout(r, 5));
    expect(trainer.currentStatus).toBe('paused');
    expect(trainer.currentStep).toBe(2);
    await new Promise((r) => setTimeout(r, 20));
    expect(trainer.currentStep).toBe(2);
    trainer.unpause();
    expect((await running).status).toBe('completed');
    expect(maxDiff(m.weights(), straight.weights)).toBe(0);
    trainer.dispose();
    m.dispose();
  });

  it('an AbortSignal cancels before the next update', async () => {
    const m = makeModel(11);
    const controller = new AbortController();
    const trainer = new Trainer(m.model, DATA, CONFIG, { onProgress: (e) => e.step === 2 && controller.abort() });
    expect(await trainer.run(controller.signal)).toMatchObject({ status: 'cancelled', step: 2 });
    trainer.dispose();
    m.dispose();
  });

  it('stops early after `patience` evaluations without improvement and restores the best weights', async () => {
    const config = { ...CONFIG, evalEvery: 1, earlyStoppingPatience: 2, earlyStoppingThreshold: 1e9, loadBestAtEnd: true };
    // the weights after update 1 of this very schedule
    const reference = makeModel(11);
    const one = new Trainer(reference.model, DATA, config, { onProgress: (e) => e.step === 1 && one.cancel() });
    await one.run();
    const afterOne = reference.weights();
    one.dispose();
    reference.dispose();

    const m = makeModel(11);
    const trainer = new Trainer(m.model, DATA, config);
    const result = await trainer.run();
    // eval 1 sets the best; evals 2 and 3 cannot beat it by 1e9; patience 2 stops after update 3
    expect(result.status).toBe('stopped-early');
    expect(result.step).toBe(3);
    expect(result.best!.step).toBe(1);
    expect(maxDiff(m.weights(), afterOne)).toBe(0);
    expect(maxDiff(new Map([...(await trainer.bestWeights())!].map(([n, t]) => [n, t.data])), afterOne)).toBe(0);
    // a stopped run's state resumes as stopped: nothing more happens
    const state = persisted(await trainer.state());
    expect(state.json.stoppedEarly).toBe(true);
    const again = Trainer.resume(m.model, DATA, state);
    expect((await again.run()).step).toBe(3);
    again.dispose();
    trainer.dispose();
    m.dispose();
  });

  it('leaves no tensors behind: model, trainer and run together', async () => {
    const before = tf.memory().numTensors;
    const m = makeModel(11);
    const trainer = new Trainer(m.model, DATA, { ...CONFIG, totalSteps: 3 });
    await trainer.run();
    await trainer.state();
    trainer.dispose();
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses to resume on different data, and explains bad settings', async () => {
    const m = makeModel(11);
    const trainer = new Trainer(m.model, DATA, { ...CONFIG, totalSteps: 1 });
    await trainer.run();
    const state = await trainer.state();
    const other = { train: DATA.train.slice(1), validation: DATA.validation };
    expect(() => Trainer.resume(m.model, other, state)).toThrow('the training rows differ from the saved run');
    expect(() => Trainer.resume(m.model, DATA, { ...state, json: { ...state.json, version: 9 } })).toThrow('saved state version 9 is not supported');
    expect(() => new Trainer(m.model, DATA, { ...CONFIG, evalEvery: null, earlyStoppingPatience: 2 })).toThrow(
      'earlyStoppingPatience and loadBestAtEnd need validation; set evalEvery',
    );
    expect(() => new Trainer(m.model, { train: DATA.train }, CONFIG)).toThrow('evalEvery is set but there is no validation data');
    trainer.dispose();
    m.dispose();
  });
});
