// Runs, checkpoints (exact tensor bytes, pruning to N recent + best), evaluations with ratings,
// and persistent-storage requests with and without a storage manager.
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  appendRunMetrics,
  createRun,
  deleteEvaluation,
  deleteRun,
  getRun,
  listCheckpoints,
  listEvaluations,
  listRatings,
  listRuns,
  loadBestCheckpoint,
  loadCheckpoint,
  loadLatestCheckpoint,
  openHoneDb,
  requestPersistentStorage,
  saveCheckpoint,
  saveEvaluation,
  saveRating,
  StoreNotFoundError,
  updateRun,
  type HoneDb,
} from '../../src/core/store';

const opened: HoneDb[] = [];
async function freshDb(): Promise<HoneDb> {
  const db = await openHoneDb({ name: `hone-test-${crypto.randomUUID()}` });
  opened.push(db);
  return db;
}
afterEach(() => {
  vi.unstubAllGlobals();
  for (const db of opened.splice(0)) db.close();
});

const tensor = (name: string, values: number[], shape = [values.length]) => ({
  name,
  shape,
  data: new Float32Array(values),
});

describe('runs', () => {
  it('creates, updates, appends metrics and lists by model', async () => {
    const db = await freshDb();
    const run = await createRun(db, { modelId: 'm1', datasetId: 'd1', method: 'lora', config: { rank: 8 } });
    expect(run).toMatchObject({ modelId: 'm1', datasetId: 'd1', method: 'lora', status: 'pending', metrics: [] });
    await createRun(db, { modelId: 'm2', method: 'full', config: {} });

    const running = await updateRun(db, run.id, { status: 'running' });
    expect(running.status).toBe('running');
    await appendRunMetrics(db, run.id, [{ step: 1, loss: 2.5, lr: 1e-3 }]);
    const after = await appendRunMetrics(db, run.id, [{ step: 2, loss: 2.25 }, { step: 2, valLoss: 2.4 }]);
    expect(after.metrics).toEqual([{ step: 1, loss: 2.5, lr: 1e-3 }, { step: 2, loss: 2.25 }, { step: 2, valLoss: 2.4 }]);
    const failed = await updateRun(db, run.id, { status: 'failed', error: 'loss became NaN at step 3' });
    expect(await getRun(db, run.id)).toEqual(failed);

    expect((await listRuns(db, { modelId: 'm1' })).map((r) => r.id)).toEqual([run.id]);
    expect(await listRuns(db)).toHaveLength(2);
    await expect(updateRun(db, 'nope', { status: 'running' })).rejects.toBeInstanceOf(StoreNotFoundError);
  });

  it('round-trips checkpoint tensors byte for byte, only the view’s bytes', async () => {
    const db = await freshDb();
    const run = await createRun(db, { modelId: 'm', method: 'lora', config: {} });
    const backing = new Float32Array([9, 1.5, -2.25, 3e-8, 9]);
    const saved = await saveCheckpoint(db, {
      runId: run.id,
      step: 10,
      tensors: [{ name: 'lora_A', shape: [1, 3], data: backing.subarray(1, 4) }, tensor('lora_B', [0, 0], [2, 1])],
      optimizer: { m: [0.1], t: 10 },
      state: { rng: 1234, cursor: 80 },
    });
    const loaded = (await loadCheckpoint(db, saved.id))!;
    expect(loaded.tensors.map((t) => [t.name, t.shape, Array.from(new Float32Array(t.data))])).toEqual([
      ['lora_A', [1, 3], [1.5, -2.25, Math.fround(3e-8)]],
      ['lora_B', [2, 1], [0, 0]],
    ]);
    expect([loaded.optimizer, loaded.state, loaded.step]).toEqual([{ m: [0.1], t: 10 }, { rng: 1234, cursor: 80 }, 10]);
    await expect(
      saveCheckpoint(db, { runId: run.id, step: 11, tensors: [tensor('w', [1, 2, 3], [2, 2])] }),
    ).rejects.toThrow(
      `Checkpoint for run ${run.id}, step 11: tensor w has shape [2, 2] (4 float32 values, 16 bytes) but 12 bytes of data.`,
    );
  });

  it('keeps the N most recent checkpoints plus the best, replacing a re-saved step', async () => {
    const db = await freshDb();
    const run = await createRun(db, { modelId: 'm', method: 'lora', config: {} });
    const valLosses = [3.0, 1.2, 2.0, 2.5, undefined, 2.2];
    for (let i = 0; i < valLosses.length; i++) {
      await saveCheckpoint(db, { runId: run.id, step: (i + 1) * 100, valLoss: valLosses[i], tensors: [tensor('w', [i])] }, { keepRecent: 2 });
    }
    // Steps 500 and 600 are the two most recent; 200 has the lowest validation loss.
    const kept = await listCheckpoints(db, run.id);
    expect(kept.map(({ step, valLoss }) => [step, valLoss])).toEqual([
      [200, 1.2],
      [500, undefined],
      [600, 2.2],
    ]);
    expect('valLoss' in kept[1]).toBe(false);
    expect((await loadLatestCheckpoint(db, run.id))!.step).toBe(600);
    expect((await loadBestCheckpoint(db, run.id))!.step).toBe(200);

    await saveCheckpoint(db, { runId: run.id, step: 600, valLoss: 1.0, tensors: [tensor('w', [42])] }, { keepRecent: 2 });
    const summaries = await listCheckpoints(db, run.id);
    expect(summaries.map((s) => s.step)).toEqual([500, 600]);
    const best = (await loadBestCheckpoint(db, run.id))!;
    expect([best.step, Array.from(new Float32Array(best.tensors[0].data))]).toEqual([600, [42]]);
  });

  it('saving a checkpoint for an unknown run writes nothing; deleteRun removes its checkpoints', async () => {
    const db = await freshDb();
    await expect(saveCheckpoint(db, { runId: 'gone', step: 1, tensors: [] })).rejects.toThrow(
      'No run with id “gone” is stored in this browser',
    );
    expect(await db.count('checkpoints')).toBe(0);
    const run = await createRun(db, { modelId: 'm', method: 'lora', config: {} });
    const other = await createRun(db, { modelId: 'm', method: 'lora', config: {} });
    await saveCheckpoint(db, { runId: run.id, step: 1, tensors: [tensor('w', [1])] });
    await saveCheckpoint(db, { runId: other.id, step: 1, tensors: [tensor('w', [2])] });
    await deleteRun(db, run.id);
    expect(await getRun(db, run.id)).toBeUndefined();
    expect(await loadLatestCheckpoint(db, run.id)).toBeUndefined();
    expect((await listCheckpoints(db, other.id)).map((c) => c.step)).toEqual([1]);
  });
});

describe('evaluations and ratings', () => {
  it('round-trips evaluations and their ratings', async () => {
    const db = await freshDb();
    const evaluation = await saveEvaluation(db, { modelId: 'm1', runId: 'r1', report: { exactMatch: 0.75, rows: [1, 2] } });
    const other = await saveEvaluation(db, { modelId: 'm2', report: {} });
    expect(await listEvaluations(db, { runId: 'r1' })).toEqual([evaluation]);
    expect((await listEvaluations(db, { modelId: 'm2' })).map((e) => e.id)).toEqual([other.id]);
    expect(await listEvaluations(db)).toHaveLength(2);

    const up = await saveRating(db, { evaluationId: evaluation.id, exampleId: 'e1', kind: 'thumbs', value: 'up' });
    await new Promise((resolve) => setTimeout(resolve, 2));
    const ab = await saveRating(db, { evaluationId: evaluation.id, exampleId: 'e2', kind: 'ab', value: 'B' });
    await saveRating(db, { evaluationId: other.id, exampleId: 'e1', kind: 'thumbs', value: 'down' });
    expect(await listRatings(db, evaluation.id)).toEqual([up, ab]);

    await new Promise((resolve) => setTimeout(resolve, 2));
    // Passing the id changes that rating (now the latest given) instead of adding another.
    await saveRating(db, { ...up, value: 'down' });
    expect((await listRatings(db, evaluation.id)).map((r) => [r.id, r.value])).toEqual([
      [ab.id, 'B'],
      [up.id, 'down'],
    ]);

    await expect(saveRating(db, { evaluationId: 'gone', exampleId: 'e1', kind: 'thumbs', value: 'up' })).rejects.toThrow(
      'No evaluation with id “gone” is stored in this browser',
    );
    await deleteEvaluation(db, evaluation.id);
    expect(await listRatings(db, evaluation.id)).toEqual([]);
    expect(await listRatings(db, other.id)).toHaveLength(1);
  });
});

describe('persistent storage', () => {
  it('reports not persisted where there is no storage manager (Node)', async () => {
    vi.stubGlobal('navigator', undefined);
    expect(await requestPersistentStorage()).toEqual({ persisted: false });
  });

  it('asks for persistence and reports usage and quota', async () => {
    const persist = vi.fn(async () => true);
    vi.stubGlobal('navigator', { storage: { persist, estimate: async () => ({ usage: 1000, quota: 5000 }) } });
    expect(await requestPersistentStorage()).toEqual({ persisted: true, usage: 1000, quota: 5000 });
    expect(persist).toHaveBeenCalledTimes(1);
  });

  it('never throws, even when the browser does', async () => {
    vi.stubGlobal('navigator', {
      storage: {
        persist: async () => {
          throw new Error('denied');
        },
        estimate: async () => {
          throw new Error('unavailable');
        },
      },
    });
    expect(await requestPersistentStorage()).toEqual({ persisted: false });
  });
});
