// The Self-Instruct review queue in IndexedDB (fake-indexeddb): enqueueing a run's kept examples,
// listing them by instruction, accepting into a dataset (one transaction, counts and positions
// kept right) and rejecting; bad requests leave the store exactly as it was.
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { runSelfInstruct } from '../../src/core/data/self-instruct/pipeline';
import {
  REVIEW_QUEUE_NAME,
  REVIEW_QUEUE_SOURCE,
  acceptCandidates,
  enqueueResult,
  listReviewQueue,
  queueExamples,
  rejectCandidates,
} from '../../src/core/data/self-instruct/review-queue';
import {
  StoreNotFoundError,
  appendExamples,
  createDataset,
  deleteExamples,
  getDataset,
  getExamples,
  listDatasets,
  moveExamples,
  openHoneDb,
  type HoneDb,
} from '../../src/core/store';
import { LIMERICK, MAMMAL, RAIN, SEEDS, stubGenerator } from './self-instruct-stub';
import { dumpAll } from './store-helpers';

const opened: HoneDb[] = [];
async function freshDb(): Promise<HoneDb> {
  const db = await openHoneDb({ name: `hone-si-test-${crypto.randomUUID()}` });
  opened.push(db);
  return db;
}
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
});

const scriptedRun = () => runSelfInstruct(stubGenerator().generate, { seedTasks: SEEDS, numInstructions: 5, seed: 42 });

describe('Self-Instruct review queue', () => {
  it('queues the kept examples of kept candidates, tagged pending', async () => {
    const result = await scriptedRun();
    const examples = queueExamples(result);
    expect(examples.map((e) => [e.instruction, e.context ?? '', e.output])).toEqual([
      [LIMERICK, '', 'There once was a cat from Peru who swam the whole lake through.'],
      [MAMMAL, 'Sentence: The whale sang to its calf.', 'Mammal'],
      [MAMMAL, 'Sentence: The robin built a nest.', 'Bird'],
      [MAMMAL, 'Sentence: The bat hung from the ceiling.', 'Mammal'],
      [MAMMAL, 'Sentence: The owl hooted all night.', 'Bird'],
      [MAMMAL, 'Sentence: The dog barked at the postman.', 'Mammal'],
      [RAIN, '', 'Rain is liquid water; snow is frozen water that falls as flakes.'],
    ]);
    expect(examples[0]).toEqual({
      instruction: LIMERICK,
      output: 'There once was a cat from Peru who swam the whole lake through.',
      source: 'Self-Instruct, seed 42',
      tags: ['pending', 'self-instruct', 'generation'],
    });
    expect(examples[1].tags).toEqual(['pending', 'self-instruct', 'classification']);

    const db = await freshDb();
    expect(await listReviewQueue(db)).toEqual({ datasetId: null, total: 0, groups: [] });
    const { datasetId, added } = await enqueueResult(db, result);
    expect(added).toBe(7);
    const queue = (await getDataset(db, datasetId!))!;
    expect(queue).toMatchObject({ name: REVIEW_QUEUE_NAME, source: REVIEW_QUEUE_SOURCE, counts: { total: 7, unsplit: 7 } });

    // A second run appends to the same queue, after the last position.
    await enqueueResult(db, result);
    expect((await listDatasets(db)).filter((d) => d.source === REVIEW_QUEUE_SOURCE)).toHaveLength(1);
    const stored = await getExamples(db, datasetId!);
    expect(stored.map((e) => e.position)).toEqual([...Array(14).keys()]);
    expect((await getDataset(db, datasetId!))!.counts.total).toBe(14);

    const listed = await listReviewQueue(db);
    expect(listed.total).toBe(14);
    expect(listed.groups.map((g) => [g.instruction, g.kind, g.items.length])).toEqual([
      [LIMERICK, 'generation', 2],
      [MAMMAL, 'classification', 10],
      [RAIN, 'generation', 2],
    ]);
    expect(listed.groups[1].items[0]).toEqual({
      id: stored[1].id,
      instruction: MAMMAL,
      input: 'Sentence: The whale sang to its calf.',
      output: 'Mammal',
      kind: 'classification',
      source: 'Self-Instruct, seed 42',
    });
  });

  it('accepts into a dataset in one move and rejects by deleting', async () => {
    const db = await freshDb();
    const target = await createDataset(db, { name: 'mine', source: 'test' }, [
      { instruction: 'a', output: '1' },
      { instruction: 'b', output: '2', split: 'train' },
    ]);
    const { datasetId } = await enqueueResult(db, await scriptedRun());
    const queued = await getExamples(db, datasetId!);
    const chosen = [queued[0].id, queued[2].id, queued[1].id];

    expect(await acceptCandidates(db, chosen, target.id)).toBe(3);
    const inTarget = await getExamples(db, target.id);
    expect(inTarget.map((e) => [e.instruction, e.output, e.position])).toEqual([
      ['a', '1', 0],
      ['b', '2', 1],
      [LIMERICK, 'There once was a cat from Peru who swam the whole lake through.', 2],
      [MAMMAL, 'Bird', 3],
      [MAMMAL, 'Mammal', 4],
    ]);
    expect(inTarget[2]).toMatchObject({ id: queued[0].id, datasetId: target.id, tags: ['self-instruct', 'generation'] });
    expect((await getDataset(db, target.id))!.counts).toEqual({ total: 5, train: 1, validation: 0, test: 0, unsplit: 4 });
    expect((await getDataset(db, datasetId!))!.counts.total).toBe(4);

    const rest = (await listReviewQueue(db)).groups.flatMap((g) => g.items.map((i) => i.id));
    expect(rest).toEqual(queued.slice(3).map((e) => e.id));
    expect(await rejectCandidates(db, rest.slice(0, 2))).toBe(2);
    expect((await listReviewQueue(db)).groups.map((g) => [g.instruction, g.items.length])).toEqual([
      [MAMMAL, 1],
      [RAIN, 1],
    ]);
    expect((await getDataset(db, datasetId!))!.counts.total).toBe(2);
    expect(await getExamples(db, target.id)).toHaveLength(5);
  });

  it('refuses ids outside the queue, an unknown target or the queue as target, changing nothing', async () => {
    const db = await freshDb();
    const other = await createDataset(db, { name: 'other', source: 'test' }, [{ instruction: 'x', output: 'y' }]);
    const { datasetId } = await enqueueResult(db, await scriptedRun());
    const queued = await getExamples(db, datasetId!);
    const [outside] = await getExamples(db, other.id);
    const before = await dumpAll(db);

    await expect(acceptCandidates(db, [queued[0].id, outside.id], other.id)).rejects.toThrow(
      `Accepting candidates: “${outside.id}” is not waiting in the review queue`,
    );
    await expect(acceptCandidates(db, [queued[0].id, 'nope'], other.id)).rejects.toThrow(/“nope” is not waiting in the review queue/);
    await expect(acceptCandidates(db, [queued[0].id], 'no-such-dataset')).rejects.toThrow(/No dataset with id “no-such-dataset”/);
    await expect(acceptCandidates(db, [queued[0].id], datasetId!)).rejects.toThrow(/other than the review queue itself/);
    await expect(rejectCandidates(db, [outside.id])).rejects.toThrow(/Rejecting candidates: .* is not waiting in the review queue/);
    await expect(rejectCandidates(db, [])).rejects.toThrow(/no candidates were selected/);
    expect(await dumpAll(db)).toEqual(before);
  });

  it('says so when the queue does not exist yet', async () => {
    const db = await freshDb();
    await expect(rejectCandidates(db, ['x'])).rejects.toThrow(/review queue is empty; run Self-Instruct first/);
  });

  it('moves all or nothing, appends after the last position and deletes in one transaction (store helpers)', async () => {
    const db = await freshDb();
    const from = await createDataset(db, { name: 'from', source: 'test' }, [
      { instruction: 'p', output: '1', split: 'test', tags: ['pending', 'keep'] },
      { instruction: 'q', output: '2', tags: ['pending'] },
    ]);
    const to = await createDataset(db, { name: 'to', source: 'test' }, [{ instruction: 'r', output: '3' }, { instruction: 's', output: '4' }]);
    const [p, q] = await getExamples(db, from.id);
    const before = await dumpAll(db);
    await expect(moveExamples(db, [p.id, 'missing'], to.id)).rejects.toBeInstanceOf(StoreNotFoundError);
    await expect(appendExamples(db, 'missing', [{ instruction: 'z' }])).rejects.toBeInstanceOf(StoreNotFoundError);
    expect(await dumpAll(db)).toEqual(before);

    // Moved examples go after the target's current last one (r at 0 once s is deleted).
    const [, s] = await getExamples(db, to.id);
    expect(await deleteExamples(db, [s.id, 'missing', s.id])).toBe(1);
    const moved = await moveExamples(db, [q.id, p.id], to.id, { removeTags: ['pending'] });
    expect(moved.map((e) => [e.instruction, e.position, e.tags])).toEqual([
      ['q', 1, undefined],
      ['p', 2, ['keep']],
    ]);
    expect('tags' in moved[0]).toBe(false);
    expect((await getDataset(db, to.id))!.counts).toEqual({ total: 3, train: 0, validation: 0, test: 1, unsplit: 2 });
    expect((await getDataset(db, from.id))!.counts).toEqual({ total: 0, train: 0, validation: 0, test: 0, unsplit: 0 });
    const appended = await appendExamples(db, to.id, [{ instruction: 't', output: '5', split: 'validation' }]);
    expect(appended[0].position).toBe(3);
    expect((await getDataset(db, to.id))!.counts).toMatchObject({ total: 4, validation: 1 });
  });
});
