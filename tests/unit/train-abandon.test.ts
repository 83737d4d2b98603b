// TrainingSession.abandon (issue 12, a lost WebGPU device): the device under the run cannot be
// trusted any more, so the session writes nothing further — no metrics, no checkpoint — and ends
// "paused" at its last stored checkpoint; a resume (on another backend, in the worker) finishes with
// the weights of an uninterrupted run. A step that throws while the device is lost (the session's
// `interrupted` hook says so) is abandoned the same way instead of failing the run. No tensor leaks.
import 'fake-indexeddb/auto';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Decoder } from '../../src/core/model/decoder';
import { getRun, listCheckpoints, loadLatestCheckpoint, openHoneDb, type HoneDb } from '../../src/core/store';
import { TrainingSession, type SessionModel, type TrainEvent, type TrainSpec } from '../../src/core/train/session';
import { useSessionModel } from './train-session-fixture';

const loaded = useSessionModel();
let model: SessionModel;
beforeAll(() => ({ model } = loaded));

const EXAMPLES = [
  ['Name a colour.', 'Blue.'],
  ['What is two plus two?', 'Four.'],
  ['Say hello.', 'Hello there!'],
  ['Capital of France?', 'Paris.'],
  ['Opposite of hot?', 'Cold.'],
  ['A fruit, please.', 'An apple.'],
  ['Count to three.', 'One, two, three.'],
  ['What do cows say?', 'Moo.'],
].map(([prompt, completion]) => ({ prompt, completion }));

const SPEC: TrainSpec = {
  modelId: 'tiny-llama',
  examples: EXAMPLES,
  validationFraction: 0.25,
  method: { name: 'lora', config: { r: 4, lora_alpha: 8, lora_dropout: 0 } },
  trainer: { totalSteps: 8, batchSize: 2, learningRate: 1e-2, evalEvery: 2, seed: 5, warmupSteps: 1 },
  maxLength: 24,
  checkpointEvery: 3,
  name: 'abandon test',
};

const freshDb = () => openHoneDb({ name: `hone-abandon-${crypto.randomUUID()}` });

async function finalWeights(db: HoneDb, runId: string): Promise<Map<string, Float32Array>> {
  const checkpoint = (await loadLatestCheckpoint(db, runId))!;
  return new Map(checkpoint.tensors.filter((t) => t.name.startsWith('weights/')).map((t) => [t.name, new Float32Array(t.data)]));
}

function maxDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  let worst = 0;
  for (const [name, values] of a) values.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b.get(name)![i]))));
  return worst;
}

let straight: Map<string, Float32Array>;
beforeAll(async () => {
  const db = await freshDb();
  const session = await TrainingSession.start(db, model, SPEC, () => {});
  expect((await session.run()).status).toBe('completed');
  straight = await finalWeights(db, session.runId);
}, 120_000);

/** Starts a run whose `onEvent` may act on the session (abandon it at some step). */
async function startWith(db: HoneDb, on: (event: TrainEvent, session: TrainingSession) => void, options: Parameters<typeof TrainingSession.start>[4] = {}, m = model) {
  const events: TrainEvent[] = [];
  let session: TrainingSession | null = null;
  session = await TrainingSession.start(db, m, SPEC, (e) => {
    events.push(e);
    on(e, session!);
  }, options);
  return { session, events };
}

describe('TrainingSession.abandon', () => {
  it('mid-segment: nothing more is stored, the run pauses at its step-3 checkpoint, and a resume gives the uninterrupted weights', { timeout: 120_000 }, async () => {
    const db = await freshDb();
    const before = tf.memory().numTensors;
    const { session, events } = await startWith(db, (e, s) => {
      if (e.kind === 'progress' && e.step === 5) expect(s.abandon('The WebGPU device was lost (destroyed).')).toBe(true);
    });
    const summary = await session.run();
    expect(tf.memory().numTensors).toBe(before);
    expect(session.abandoned).toBe(true);
    expect(summary).toMatchObject({ status: 'paused', step: 3 });
    expect((await listCheckpoints(db, session.runId)).map((c) => c.step)).toEqual([3]);
    const run = (await getRun(db, session.runId))!;
    expect(run.status).toBe('paused');
    expect(run.metrics.map((m) => m.step)).toEqual([1, 2, 3]); // steps 4 and 5 were never flushed
    expect(events.at(-1)).toEqual({ kind: 'status', runId: session.runId, status: 'paused', message: 'The WebGPU device was lost (destroyed).' });
    expect(session.abandon('again')).toBe(false);

    const resumed = await TrainingSession.resume(db, model, session.runId, () => {});
    expect((await resumed.run()).status).toBe('completed');
    expect(tf.memory().numTensors).toBe(before);
    expect(maxDiff(await finalWeights(db, session.runId), straight)).toBeLessThanOrEqual(1e-6);
    expect((await getRun(db, session.runId))!.metrics.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('at a checkpoint step: that checkpoint is not written (its weights came from the lost device); the resume starts from step 0', { timeout: 120_000 }, async () => {
    const db = await freshDb();
    const { session } = await startWith(db, (e, s) => {
      if (e.kind === 'progress' && e.step === 3) s.abandon('lost');
    });
    expect(await session.run()).toMatchObject({ status: 'paused', step: 0 });
    expect(await listCheckpoints(db, session.runId)).toEqual([]);
    expect((await getRun(db, session.runId))!.metrics).toEqual([]);
    const resumed = await TrainingSession.resume(db, model, session.runId, () => {});
    expect((await resumed.run()).status).toBe('completed');
    expect(maxDiff(await finalWeights(db, session.runId), straight)).toBeLessThanOrEqual(1e-6);
  });

  it('a step that throws on a lost device is abandoned, not failed; without the hook saying so it fails', { timeout: 120_000 }, async () => {
    const { checkpoint } = loaded.fixture;
    for (const lost of [true, false]) {
      const db = await freshDb();
      const before = tf.memory().numTensors;
      // its own decoder, whose weights vanish after step 4 as a lost device's buffers do: step 5 throws
      const decoder = Decoder.fromHost(checkpoint.config, checkpoint.weights);
      const own: SessionModel = { ...model, decoder };
      const asked: string[] = [];
      const interrupted = async (error: unknown) => {
        asked.push(error instanceof Error ? error.message : String(error));
        return lost ? 'the WebGPU device was lost (unknown)' : null;
      };
      const { session, events } = await startWith(db, (e) => e.kind === 'progress' && e.step === 4 && decoder.dispose(), { interrupted }, own);
      if (lost) {
        expect(await session.run()).toMatchObject({ status: 'paused', step: 3 });
        expect((await getRun(db, session.runId))!.status).toBe('paused');
        expect(events.at(-1)).toMatchObject({ kind: 'status', status: 'paused', message: 'the WebGPU device was lost (unknown)' });
      } else {
        await expect(session.run()).rejects.toThrow(/embed_tokens.weight" is missing/);
        expect((await getRun(db, session.runId))!.status).toBe('failed');
      }
      expect(asked).toHaveLength(1);
      expect(asked[0]).toMatch(/embed_tokens.weight" is missing/);
      expect((await listCheckpoints(db, session.runId)).map((c) => c.step)).toEqual([3]);
      expect(tf.memory().numTensors).toBe(before);
    }
  });
});
