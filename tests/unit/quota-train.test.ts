// Storage full mid-run (issue 12, item 4): IndexedDB's put is stubbed to throw the QuotaExceededError
// DOMException browsers raise, first while a checkpoint is written, then while metric points are, and
// last with the checkpoint's put accepted and refused when the transaction runs it (as Firefox does;
// idb-fail-when-run.ts), which aborts the transaction rather than the call.
// The run pauses (not fails) with a message that shows navigator.storage.estimate()'s usage and
// quota, the refused write leaves nothing behind (the previous checkpoint is byte-for-byte the one
// written before), and after space is freed the run resumes to the weights of an uninterrupted run.
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { getRun, listCheckpoints, loadLatestCheckpoint, openHoneDb, type CheckpointRecord, type HoneDb } from '../../src/core/store';
import { TrainingSession, listRunSummaries, type TrainEvent, type TrainSpec } from '../../src/core/train/session';
import { useSessionModel } from './train-session-fixture';
import { failWhenRun, quotaError } from './idb-fail-when-run';

const loaded = useSessionModel();

const SPEC: TrainSpec = {
  modelId: 'tiny-llama',
  examples: [
    { prompt: 'Say hi. ', completion: 'Hi!' },
    { prompt: 'Say bye. ', completion: 'Bye!' },
    { prompt: 'Count. ', completion: '1 2 3' },
  ],
  validationFraction: 0,
  method: { name: 'lora', config: { r: 2, lora_alpha: 4, lora_dropout: 0 } },
  trainer: { totalSteps: 6, batchSize: 2, learningRate: 1e-2, seed: 5 },
  maxLength: 16,
  checkpointEvery: 2,
  name: 'quota run',
};

const freshDb = () => openHoneDb({ name: `hone-quota-${crypto.randomUUID()}` });

/**
 * From the moment `arm` is called, put() on `store` throws the browser's quota error ('call'), or
 * is accepted and fails when the transaction runs it ('request').
 */
function stubQuota(store: 'checkpoints' | 'runs', refusal: 'call' | 'request') {
  let armed = false;
  const original = IDBObjectStore.prototype.put;
  vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
    if (!armed || this.name !== store) return original.apply(this, args);
    if (refusal === 'call') throw quotaError();
    return failWhenRun(this, 'put', args, original, () => () => {
      throw quotaError();
    });
  });
  vi.stubGlobal('navigator', { storage: { estimate: async () => ({ usage: 1_990_000_000, quota: 2_000_000_000 }) } });
  return { arm: () => (armed = true), disarm: () => (armed = false) };
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

async function weightsOf(db: HoneDb, runId: string): Promise<Map<string, number[]>> {
  const checkpoint = (await loadLatestCheckpoint(db, runId))!;
  return new Map(checkpoint.tensors.filter((t) => t.name.startsWith('weights/')).map((t) => [t.name, Array.from(new Float32Array(t.data))]));
}

async function uninterrupted(): Promise<Map<string, number[]>> {
  const db = await freshDb();
  const session = await TrainingSession.start(db, loaded.model, SPEC, () => {});
  expect((await session.run()).status).toBe('completed');
  const weights = await weightsOf(db, session.runId);
  db.close();
  return weights;
}

describe.each([
  { store: 'checkpoints' as const, refusal: 'call' as const, what: 'saving the step 4 checkpoint of run' },
  { store: 'runs' as const, refusal: 'call' as const, what: 'saving 2 metric points for run' },
  { store: 'checkpoints' as const, refusal: 'request' as const, what: 'saving the step 4 checkpoint of run' },
])('quota exceeded writing to $store (refused by the $refusal)', ({ store, refusal, what }) => {
  it('pauses with the storage estimate, keeps the previous checkpoint intact, and resumes to the uninterrupted weights', async () => {
    const expected = await uninterrupted();
    const db = await freshDb();
    const quota = stubQuota(store, refusal);
    const events: TrainEvent[] = [];
    let atStep2: Promise<CheckpointRecord | undefined> | null = null;
    const before = tf.memory().numTensors;
    const session = await TrainingSession.start(db, loaded.model, SPEC, (e) => {
      events.push(e);
      if (e.kind === 'checkpoint' && e.step === 2) {
        // a copy of the step-2 checkpoint as written; the disk "fills up" right after it
        atStep2 = loadLatestCheckpoint(db, session.runId).then((c) => c && structuredClone(c));
        quota.arm();
      }
    });
    const summary = await session.run();
    expect(tf.memory().numTensors).toBe(before);
    quota.disarm();

    const message =
      `Training paused at step 4: Browser storage is full: ${what} ${session.runId} was refused` +
      (store === 'checkpoints' ? ' (it needed about ' : '');
    expect(summary.status).toBe('paused');
    expect(summary.error).toContain(message);
    expect(summary.error).toContain('The browser reports 2.0 GB used of 2.0 GB allowed for this site.');
    expect(summary.error).toContain('Nothing was written. Resume continues from the step 2 checkpoint.');
    expect(events.at(-1)).toMatchObject({ kind: 'status', status: 'paused', message: summary.error });

    // nothing half-written: only the step-2 checkpoint, exactly as it was saved
    expect((await listCheckpoints(db, session.runId)).map((c) => c.step)).toEqual([2]);
    expect(await loadLatestCheckpoint(db, session.runId)).toEqual(await atStep2);
    const record = (await getRun(db, session.runId))!;
    // the status write itself was refused when runs are full: the record still says running, and is listed as paused
    expect(record.status).toBe(store === 'runs' ? 'running' : 'paused');
    expect((await listRunSummaries(db, null))[0]).toMatchObject({ id: session.runId, status: 'paused', step: 2 });
    expect(record.metrics.map((m) => m.step)).toEqual(store === 'runs' ? [1, 2] : [1, 2, 3, 4]);

    const resumed = await TrainingSession.resume(db, loaded.model, session.runId, () => {});
    expect((await resumed.run()).status).toBe('completed');
    const final = await weightsOf(db, session.runId);
    expect([...final.keys()]).toEqual([...expected.keys()]);
    for (const [name, values] of expected) {
      const got = final.get(name)!;
      expect(Math.max(...values.map((v, i) => Math.abs(v - got[i]))), name).toBeLessThanOrEqual(1e-6);
    }
    expect((await getRun(db, session.runId))!.metrics.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
    db.close();
  }, 120_000);
});
