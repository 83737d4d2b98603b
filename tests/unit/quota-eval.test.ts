// Storage full while an evaluation is stored (issue 12, item 4): the report is one record written in
// one transaction, so a QuotaExceededError (stubbed on IndexedDB's put) leaves no evaluation at all —
// complete or absent — and the error shows the storage estimate. Also: record ids are time-ordered,
// so records made within one millisecond list in the order they were made (issue 12, item 6).
import 'fake-indexeddb/auto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { setNodeBackend } from '../../cli/node-backend';
import { Decoder } from '../../src/core/model/decoder';
import { createRun, listEvaluations, listRuns, openHoneDb, saveEvaluation, StorageQuotaError } from '../../src/core/store';
import { newId } from '../../src/core/store/transaction';
import { runEvalSession, type EvalModel } from '../../src/core/eval/session';
import { loadFixture } from './decoder-fixtures';

let decoder: Decoder;
let model: EvalModel;
beforeAll(async () => {
  await setNodeBackend('cpu');
  const fixture = await loadFixture('tiny-llama');
  decoder = Decoder.fromHost(fixture.checkpoint.config, fixture.checkpoint.weights);
  model = { id: 'tiny-llama', name: 'tiny-llama', decoder, tokenizer: fixture.checkpoint.tokenizer };
});
afterAll(() => decoder.dispose());
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

describe('an evaluation when storage is full', () => {
  it('is not stored at all, and the error shows the estimate', async () => {
    const db = await openHoneDb({ name: `hone-quota-eval-${crypto.randomUUID()}` });
    const original = IDBObjectStore.prototype.put;
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      if (this.name === 'evaluations') throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return original.apply(this, args);
    });
    vi.stubGlobal('navigator', { storage: { estimate: async () => ({ usage: 5_000_000, quota: 5_000_000 }) } });
    const items = [
      { id: 'a', instruction: 'Colour?', references: ['Blue'], task: 'qa', cluster: 'c' },
      { id: 'b', instruction: 'Fruit?', references: ['Apple'], task: 'qa', cluster: 'c' },
    ];
    const spec = { source: { kind: 'inline' as const, name: 'two', items }, tuned: { kind: 'none' as const }, metric: 'chrf', generation: { maxNewTokens: 2, greedy: true, seed: 0 } };
    const failure = await runEvalSession(db, model, spec).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(StorageQuotaError);
    expect((failure as Error).message).toMatch(
      /^Browser storage is full: saving the evaluation of model tiny-llama was refused \(it needed about [\d.]+ KB\)\. The browser reports 5\.0 MB used of 5\.0 MB allowed for this site\./,
    );
    expect((failure as Error).message.endsWith('Nothing was written.')).toBe(true);
    expect(await db.count('evaluations')).toBe(0);
    vi.restoreAllMocks();
    // with space again the same evaluation is stored whole
    const { id, report } = await runEvalSession(db, model, spec);
    expect(report.rows).toHaveLength(2);
    expect((await listEvaluations(db)).map((e) => e.id)).toEqual([id]);
    db.close();
  }, 60_000);
});

describe('record ids', () => {
  it('sort in creation order, also within one millisecond (a clock that steps back does not reorder them)', () => {
    vi.spyOn(Date, 'now').mockReturnValue(1_900_000_000_000);
    const ids = Array.from({ length: 5000 }, () => newId()); // more than the 4096 a millisecond holds
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ids[0].slice(0, 13).replace('-', '')).toBe((1_900_000_000_000).toString(16).padStart(12, '0'));
    vi.spyOn(Date, 'now').mockReturnValue(1_899_999_999_000); // the clock is set back a second
    expect(newId() > ids.at(-1)!).toBe(true);
  });

  it('list runs and evaluations made in the same millisecond newest first', async () => {
    const db = await openHoneDb({ name: `hone-ids-${crypto.randomUUID()}` });
    vi.spyOn(Date, 'now').mockReturnValue(2_000_000_000_000);
    const runs = [];
    for (let i = 0; i < 8; i++) runs.push((await createRun(db, { modelId: 'm', method: 'lora', config: {} })).id);
    const evaluations = [];
    for (let i = 0; i < 8; i++) evaluations.push((await saveEvaluation(db, { modelId: 'm', report: { i } })).id);
    expect((await listRuns(db)).map((r) => r.id)).toEqual([...runs].reverse());
    expect((await listEvaluations(db)).map((e) => e.id)).toEqual([...evaluations].reverse());
    db.close();
  });
});
