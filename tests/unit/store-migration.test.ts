// Upgrading a stored database: a v1 database with data is reopened with an extra v1→v2 migration
// (a new store, a new index, a transformed field) and keeps every record; a failing migration
// rolls the whole upgrade back; a database newer than the code is refused with a clear message.
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createDataset,
  createRun,
  getModelFiles,
  migrations,
  openHoneDb,
  saveCheckpoint,
  saveEvaluation,
  saveModel,
  saveRating,
  StoreVersionError,
  type HoneDb,
  type Migration,
} from '../../src/core/store';
import { dumpAll } from './store-helpers';

const opened: HoneDb[] = [];
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
});

async function open(name: string, steps?: Migration[]): Promise<HoneDb> {
  const db = await openHoneDb({ name, migrations: steps });
  opened.push(db);
  return db;
}

/** A v1 database holding one of everything. */
async function seedV1(name: string): Promise<{ modelId: string; datasetId: string }> {
  const db = await open(name);
  const model = await saveModel(
    db,
    { name: 'm', modelType: 'gpt2', family: 'gpt2', parameterCount: 10, architecture: {}, source: 'test' },
    new Map([['config.json', new Uint8Array([7, 8, 9])]]),
  );
  const dataset = await createDataset(db, { name: 'd', source: 'test' }, [
    { instruction: '  Add two numbers  ', output: '3', split: 'train', tags: ['math'] },
    { instruction: 'Name a colour', output: 'red' },
  ]);
  const run = await createRun(db, { modelId: model.id, datasetId: dataset.id, method: 'lora', config: { rank: 4 } });
  await saveCheckpoint(db, { runId: run.id, step: 5, valLoss: 1.5, tensors: [{ name: 'w', shape: [2], data: new Float32Array([1, 2]) }] });
  const evaluation = await saveEvaluation(db, { modelId: model.id, runId: run.id, report: { accuracy: 0.5 } });
  await saveRating(db, { evaluationId: evaluation.id, exampleId: 'e1', kind: 'thumbs', value: 'up' });
  db.close();
  return { modelId: model.id, datasetId: dataset.id };
}

/** v1→v2: a `notes` store, an index on example word counts, and every example gains `wordCount`
 * with its instruction trimmed. Async, awaiting only requests on the upgrade transaction. */
const toV2: Migration = async (db, tx) => {
  const notes = db.createObjectStore('notes', { keyPath: 'id' });
  notes.createIndex('byTarget', 'targetId');
  const examples = tx.objectStore('examples');
  examples.createIndex('byWordCount', 'wordCount');
  for (let cursor = await examples.openCursor(); cursor; cursor = await cursor.continue()) {
    const example = cursor.value as { instruction: string };
    const instruction = example.instruction.trim();
    await cursor.update({ ...example, instruction, wordCount: instruction.split(/\s+/).length });
  }
};

describe('migrations', () => {
  it('the built-in list is one migration: the current version is 1', () => {
    expect(migrations.length).toBe(1);
  });

  it('upgrades a v1 database to v2 keeping every record and transforming examples', async () => {
    const name = `hone-mig-${crypto.randomUUID()}`;
    const { modelId } = await seedV1(name);
    const v1 = await open(name);
    const before = await dumpAll(v1);
    v1.close();

    const v2 = await open(name, [...migrations, toV2]);
    expect(v2.version).toBe(2);
    expect([...v2.objectStoreNames].sort()).toEqual([...Object.keys(before), 'notes'].sort());
    const after = await dumpAll(v2);
    // Everything but examples is untouched.
    for (const store of Object.keys(before).filter((s) => s !== 'examples')) expect(after[store]).toEqual(before[store]);
    expect(after.notes).toEqual([]);
    const expected = (before.examples as { instruction: string }[]).map((e) => ({
      ...e,
      instruction: e.instruction.trim(),
      wordCount: e.instruction.trim().split(/\s+/).length,
    }));
    expect(after.examples).toEqual(expected);
    expect((after.examples as { wordCount: number }[]).map((e) => e.wordCount).sort()).toEqual([3, 3]);

    const tx = v2.transaction(['examples', 'notes'] as never, 'readonly');
    const raw = tx as unknown as { objectStore(n: string): IDBObjectStore };
    expect(raw.objectStore('examples').index('byWordCount').keyPath).toBe('wordCount');
    expect(raw.objectStore('notes').index('byTarget').keyPath).toBe('targetId');
    expect([...(await getModelFiles(v2, modelId)).get('config.json')!]).toEqual([7, 8, 9]);
  });

  it('a fresh database runs every migration from v0', async () => {
    const db = await open(`hone-mig-${crypto.randomUUID()}`, [...migrations, toV2]);
    expect(db.version).toBe(2);
    expect(db.objectStoreNames.contains('notes' as never)).toBe(true);
    expect(db.objectStoreNames.contains('checkpoints')).toBe(true);
  });

  it('a migration that fails after changing data rolls the whole upgrade back', async () => {
    const name = `hone-mig-${crypto.randomUUID()}`;
    await seedV1(name);
    const v1 = await open(name);
    const before = await dumpAll(v1);
    v1.close();

    const failing: Migration = async (db, tx) => {
      db.createObjectStore('notes', { keyPath: 'id' });
      const cursor = await tx.objectStore('examples').openCursor();
      await cursor!.update({ ...cursor!.value, instruction: 'half-migrated' });
      throw new Error('field “wordCount” could not be computed');
    };
    const error = await open(name, [...migrations, failing]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreVersionError);
    expect((error as Error).message).toBe(
      `Upgrading Hone's database “${name}” from version 1 to 2 failed: field “wordCount” could not be computed. ` +
        `The upgrade was rolled back and your data is unchanged; reload the page, and report this if it happens again.`,
    );

    const again = await open(name);
    expect(again.version).toBe(1);
    expect(again.objectStoreNames.contains('notes' as never)).toBe(false);
    expect(await dumpAll(again)).toEqual(before);
  });

  it('a synchronous throw in a migration is reported the same way', async () => {
    const name = `hone-mig-${crypto.randomUUID()}`;
    await seedV1(name);
    const error = await open(name, [
      ...migrations,
      () => {
        throw new Error('boom');
      },
    ]).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^Upgrading Hone's database “.*” from version 1 to 2 failed: boom\./);
    expect((await open(name)).version).toBe(1);
  });

  it('refuses a database saved by a newer Hone', async () => {
    const name = `hone-mig-${crypto.randomUUID()}`;
    (await open(name, [...migrations, toV2])).close();
    const error = await open(name).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreVersionError);
    expect((error as Error).message).toBe(
      `Hone's database “${name}” was saved by a newer version of Hone (this one understands version 1). ` +
        `Reload the page to get the newer Hone; opening it here could lose data.`,
    );
  });

  it('an open older connection closes itself so an upgrade in another tab is not blocked', async () => {
    const name = `hone-mig-${crypto.randomUUID()}`;
    let closedForUpgrade = false;
    const old = await openHoneDb({ name, onVersionChange: () => (closedForUpgrade = true) });
    opened.push(old);
    const upgraded = await open(name, [...migrations, toV2]);
    expect(upgraded.version).toBe(2);
    expect(closedForUpgrade).toBe(true);
  });
});
