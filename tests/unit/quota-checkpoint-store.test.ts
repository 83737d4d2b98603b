// Storage full while a checkpoint is saved, as browsers really refuse it (issue 12, item 4): not as
// a synchronous throw from put() (quota-train.test.ts covers that), but after the write was queued —
// the request fails when it runs (Firefox), or the transaction is refused as it ends, after the new
// checkpoint was put and the older one pruned inside it (Chromium checks quota at commit). Either way
// the transaction rolls back whole: the previous checkpoint is there byte for byte, no new one is,
// the error is a StorageQuotaError naming the step with the storage estimate, and once space is free
// the same save succeeds and prunes as it should.
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createRun,
  listCheckpoints,
  loadCheckpoint,
  loadLatestCheckpoint,
  openHoneDb,
  saveCheckpoint,
  StorageQuotaError,
  type CheckpointRecord,
  type HoneDb,
} from '../../src/core/store';
import { failWhenRun, quotaError } from './idb-fail-when-run';
import { dumpAll } from './store-helpers';

const freshDb = () => openHoneDb({ name: `hone-quota-checkpoint-${crypto.randomUUID()}` });

function tensorsOf(seed: number) {
  const values = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 100 + i) * 0.5);
  return [
    { name: 'weights/lora_A', shape: [4, 8], data: values(32) },
    { name: 'weights/lora_B', shape: [8, 4], data: values(32).map((v) => v * 2) },
    { name: 'optimizer/m', shape: [32], data: values(32).map((v) => v / 3) },
  ];
}

async function runWithStep2(db: HoneDb): Promise<{ runId: string; step2: CheckpointRecord }> {
  const run = await createRun(db, { modelId: 'tiny-llama', method: 'lora', config: {}, status: 'running' });
  await saveCheckpoint(db, { runId: run.id, step: 2, tensors: tensorsOf(2), state: { trainer: { step: 2 } } }, { keepRecent: 1 });
  const step2 = (await loadLatestCheckpoint(db, run.id))!;
  expect(step2.step).toBe(2);
  return { runId: run.id, step2: structuredClone(step2) };
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

describe('saving a checkpoint when the browser refuses the write after queuing it', () => {
  it('a put that fails when it runs rolls back whole and keeps the previous checkpoint', async () => {
    const db = await freshDb();
    const { runId, step2 } = await runWithStep2(db);
    const before = await dumpAll(db);
    vi.stubGlobal('navigator', { storage: { estimate: async () => ({ usage: 1_990_000_000, quota: 2_000_000_000 }) } });
    const realPut = IDBObjectStore.prototype.put;
    let refused = 0;
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      if (this.name !== 'checkpoints') return realPut.apply(this, args);
      return failWhenRun(this, 'put', args, realPut, () => () => {
        refused++;
        throw quotaError();
      });
    });

    const failure = await saveCheckpoint(db, { runId, step: 4, tensors: tensorsOf(4), state: { trainer: { step: 4 } } }, { keepRecent: 1 }).catch((e: unknown) => e);
    expect(refused).toBe(1);
    expect(failure).toBeInstanceOf(StorageQuotaError);
    const error = failure as StorageQuotaError;
    expect(error.what).toBe(`saving the step 4 checkpoint of run ${runId}`);
    expect(error.bytes).toBe(3 * 32 * 4);
    expect([error.usage, error.quota]).toEqual([1_990_000_000, 2_000_000_000]);
    expect(error.message).toContain('The browser reports 2.0 GB used of 2.0 GB allowed for this site.');

    // nothing of the refused transaction is left, and the step-2 checkpoint is exactly as saved
    expect(await dumpAll(db)).toEqual(before);
    expect((await listCheckpoints(db, runId)).map((c) => c.step)).toEqual([2]);
    expect(await loadLatestCheckpoint(db, runId)).toEqual(step2);

    // space freed: the same save goes through and prunes step 2 (keepRecent 1)
    vi.restoreAllMocks();
    await saveCheckpoint(db, { runId, step: 4, tensors: tensorsOf(4), state: { trainer: { step: 4 } } }, { keepRecent: 1 });
    expect((await listCheckpoints(db, runId)).map((c) => c.step)).toEqual([4]);
    const step4 = (await loadLatestCheckpoint(db, runId))!;
    expect(Array.from(new Float32Array(step4.tensors[0].data))).toEqual(Array.from(tensorsOf(4)[0].data));
    db.close();
  });

  it('a transaction refused as it ends, after the new checkpoint was put and the old one pruned in it, restores the old one', async () => {
    const db = await freshDb();
    const { runId, step2 } = await runWithStep2(db);
    const before = await dumpAll(db);
    vi.stubGlobal('navigator', { storage: { estimate: async () => ({ usage: 1_990_000_000, quota: 2_000_000_000 }) } });
    const order: string[] = [];
    const realPut = IDBObjectStore.prototype.put;
    const realDelete = IDBObjectStore.prototype.delete;
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      if (this.name !== 'checkpoints') return realPut.apply(this, args);
      // the new checkpoint is written for real; the refusal comes last
      return failWhenRun(this, 'put', args, realPut, (operation) => (...a) => {
        const key = operation(...a);
        order.push(`put step ${(args[0] as CheckpointRecord).step}`);
        return key;
      });
    });
    vi.spyOn(IDBObjectStore.prototype, 'delete').mockImplementation(function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['delete']>) {
      if (this.name !== 'checkpoints' || args[0] !== step2.id) return realDelete.apply(this, args);
      // the prune of step 2 runs, inside the transaction, and then the transaction is refused
      return failWhenRun(this, 'delete', args, realDelete, (operation) => (...a) => {
        operation(...a);
        order.push('pruned step 2');
        throw quotaError();
      });
    });

    const failure = await saveCheckpoint(db, { runId, step: 4, tensors: tensorsOf(4), state: { trainer: { step: 4 } } }, { keepRecent: 1 }).catch((e: unknown) => e);
    expect(order).toEqual(['put step 4', 'pruned step 2']);
    expect(failure).toBeInstanceOf(StorageQuotaError);
    expect((failure as StorageQuotaError).what).toBe(`saving the step 4 checkpoint of run ${runId}`);
    expect((failure as StorageQuotaError).message).toContain('The browser reports 2.0 GB used of 2.0 GB allowed for this site.');

    // rolled back whole: step 2 is back byte for byte, step 4 was never kept
    expect(await dumpAll(db)).toEqual(before);
    expect((await listCheckpoints(db, runId)).map((c) => c.step)).toEqual([2]);
    expect(await loadCheckpoint(db, step2.id)).toEqual(step2);
    expect(Array.from(new Float32Array(step2.tensors[1].data))).toEqual(Array.from(tensorsOf(2)[1].data));

    vi.restoreAllMocks();
    await saveCheckpoint(db, { runId, step: 4, tensors: tensorsOf(4), state: { trainer: { step: 4 } } }, { keepRecent: 1 });
    expect((await listCheckpoints(db, runId)).map((c) => c.step)).toEqual([4]);
    expect(await loadCheckpoint(db, step2.id)).toBeUndefined();
    db.close();
  });
});
