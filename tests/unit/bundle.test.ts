// Workspace bundles (src/core/store/bundle.ts) on fake-indexeddb: a filled database exported and
// imported into an empty one comes back record for record (binary, NaN losses and undefined fields
// included); damaged, truncated, wrong-version or inconsistent bundles are refused with the entry
// named, and the target database is left exactly as it was.
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createDataset,
  createRun,
  openHoneDb,
  saveCheckpoint,
  saveEvaluation,
  saveModel,
  saveRating,
  updateRun,
  type HoneDb,
} from '../../src/core/store';
import { BUNDLE_VERSION, BundleError, exportWorkspace, importWorkspace } from '../../src/core/store/bundle';
import { readZip, writeZip } from '../../src/core/zip';

const opened: HoneDb[] = [];
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
});

async function freshDb(): Promise<HoneDb> {
  const db = await openHoneDb({ name: `hone-bundle-${crypto.randomUUID()}` });
  opened.push(db);
  return db;
}

/** Every record of every store as structured clone returns it; ArrayBuffers as bytes so equality compares contents. */
async function dumpRaw(db: HoneDb, skip: string[] = []): Promise<Record<string, unknown[]>> {
  const bytes = (value: unknown): unknown => {
    if (value instanceof ArrayBuffer) return { bytes: [...new Uint8Array(value)] };
    if (Array.isArray(value)) return value.map(bytes);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, bytes(v)]));
    return value;
  };
  const dump: Record<string, unknown[]> = {};
  for (const name of [...db.objectStoreNames].sort()) if (!skip.includes(name)) dump[name] = (await db.getAll(name)).map(bytes);
  return dump;
}

const encode = (text: string) => new TextEncoder().encode(text);

/** A dataset (with a split and a conversation), a run with metrics (one NaN) and two checkpoints, an evaluation, two ratings, two models. */
async function filledDb(): Promise<{ db: HoneDb; datasetId: string; runId: string }> {
  const db = await freshDb();
  const user = await saveModel(db, { name: 'user-model', modelType: 'gpt2', family: 'gpt2', parameterCount: 3, architecture: { layers: 1 }, source: 'test' }, new Map([['config.json', encode('{"model_type":"gpt2"}')], ['model.safetensors', new Uint8Array([1, 2, 3, 250])]]));
  await saveModel(db, { id: 'built-in-hone-tiny', name: 'hone-tiny', modelType: 'llama', family: 'llama', parameterCount: 9, architecture: {}, source: 'built-in' }, new Map([['config.json', encode('{}')]]));
  const dataset = await createDataset(db, { name: 'class set', source: 'inline', recipe: { kind: 'mixture', weights: [0.5, 0.5] } }, [
    { instruction: 'Say hi', output: 'hi', split: 'train', task: 'greet', cluster: 'social', tags: ['a'] },
    { instruction: 'Add 2 and 3', context: 'numbers', output: '5', split: 'test', outputs: ['5', 'five'] },
    { instruction: '', conversation: [{ role: 'user', content: 'hello' }, { role: 'assistant', content: 'hey' }], kind: 'conversation' },
  ]);
  const run = await createRun(db, { modelId: user.id, datasetId: dataset.id, method: 'lora', config: { r: 4, alpha: 8, targets: ['c_attn'], dropout: undefined } });
  await updateRun(db, run.id, { status: 'diverged', error: 'loss became NaN', metrics: [{ step: 1, loss: 2.5, lr: 1e-3 }, { step: 2, loss: Number.NaN, valLoss: Infinity }] });
  await saveCheckpoint(db, { runId: run.id, step: 1, valLoss: 2.25, tensors: [{ name: 'lora_A', shape: [2, 2], data: new Float32Array([0.5, -1.25, 3, -0]) }], optimizer: { m: new Float32Array([1, 2]), t: 1 }, state: { cursor: 4, rng: [1, 2, 3] } });
  await saveCheckpoint(db, { runId: run.id, step: 2, tensors: [{ name: 'lora_A', shape: [1], data: new Float32Array([7]) }] });
  const evaluation = await saveEvaluation(db, { runId: run.id, modelId: user.id, report: { overall: { bleu: 12.5 }, items: [{ prompt: 'p', base: 'a', tuned: 'b' }] } });
  await saveRating(db, { evaluationId: evaluation.id, exampleId: 'e1', kind: 'thumbs', value: 'up' });
  await saveRating(db, { evaluationId: evaluation.id, exampleId: 'e2', kind: 'ab', value: 'tuned' });
  return { db, datasetId: dataset.id, runId: run.id };
}

/** The bundle with one entry changed (or removed, when `change` returns null). */
function editBundle(bytes: Uint8Array, name: string, change: (entry: Uint8Array) => Uint8Array | null): Uint8Array {
  const entries = readZip(bytes).flatMap((entry) => {
    if (entry.name !== name) return [entry];
    const changed = change(entry.bytes);
    return changed ? [{ name, bytes: changed }] : [];
  });
  return writeZip(entries);
}
const editJson = (bytes: Uint8Array, name: string, change: (json: any) => unknown) =>
  editBundle(bytes, name, (entry) => encode(JSON.stringify(change(JSON.parse(new TextDecoder().decode(entry))))));

describe('workspace bundle round trip', () => {
  it('an export imported into an empty database equals the original in every store but the models', async () => {
    const { db, runId } = await filledDb();
    const { bytes, manifest } = await exportWorkspace(db, { now: 1_700_000_000_000, leaveOutModels: ['built-in-hone-tiny'] });
    expect(manifest).toEqual({
      format: 'hone-workspace',
      version: BUNDLE_VERSION,
      databaseVersion: db.version,
      createdAt: 1_700_000_000_000,
      includesModels: false,
      stores: Object.fromEntries(
        [['checkpoints', 2], ['datasets', 1], ['evaluations', 1], ['examples', 3], ['ratings', 2], ['runs', 1]].map(([name, records]) => [name, { entry: `stores/${name}.json`, records }]),
      ),
    });
    const target = await freshDb();
    const summary = await importWorkspace(target, bytes, { file: 'class.zip' });
    expect(summary.records).toEqual({ checkpoints: 2, datasets: 1, evaluations: 1, examples: 3, ratings: 2, runs: 1 });
    expect(summary.missingModels).toHaveLength(1); // the user model was not included
    expect(await dumpRaw(target, ['models', 'modelFiles'])).toStrictEqual(await dumpRaw(db, ['models', 'modelFiles']));
    expect(await target.count('models')).toBe(0);

    // the values JSON cannot hold came back as themselves
    const run = await target.get('runs', runId);
    expect(run!.metrics[1]).toStrictEqual({ step: 2, loss: Number.NaN, valLoss: Infinity });
    expect(Object.hasOwn(run!.config, 'dropout')).toBe(true);
    const [first] = await target.getAll('checkpoints');
    expect([...new Float32Array(first.tensors[0].data)]).toEqual([0.5, -1.25, 3, -0]);
    expect(Object.is(new Float32Array(first.tensors[0].data)[3], -0)).toBe(true);
    expect((first.optimizer as { m: Float32Array }).m).toStrictEqual(new Float32Array([1, 2]));
  });

  it('models are included only when asked, and never the built-in one', async () => {
    const { db } = await filledDb();
    const { bytes, manifest } = await exportWorkspace(db, { includeModels: true, leaveOutModels: ['built-in-hone-tiny'] });
    expect([manifest.includesModels, manifest.stores.models.records, manifest.stores.modelFiles.records]).toEqual([true, 1, 2]);
    const target = await freshDb();
    const summary = await importWorkspace(target, bytes);
    expect(summary.missingModels).toEqual([]);
    const original = (await db.getAll('models')).filter((m) => m.id !== 'built-in-hone-tiny');
    expect(await target.getAll('models')).toStrictEqual(original);
    const files = await target.getAll('modelFiles');
    expect(files.map((f) => [f.name, [...new Uint8Array(f.bytes)]])).toEqual([['config.json', [...encode('{"model_type":"gpt2"}')]], ['model.safetensors', [1, 2, 3, 250]]]);
  });

  it('importing the same bundle twice leaves one copy; a replaced dataset loses the examples the bundle lacks', async () => {
    const { db, datasetId } = await filledDb();
    const { bytes } = await exportWorkspace(db);
    const target = await freshDb();
    await importWorkspace(target, bytes);
    await importWorkspace(target, bytes);
    expect(await dumpRaw(target, ['models', 'modelFiles'])).toStrictEqual(await dumpRaw(db, ['models', 'modelFiles']));
    // a bundle whose dataset has one example fewer replaces the stored dataset whole
    const smaller = editJson(
      editJson(bytes, 'stores/examples.json', (examples: unknown[]) => examples.slice(0, 2)),
      'stores/datasets.json',
      ([dataset]: any[]) => [{ ...dataset, counts: { total: 2, train: 1, validation: 0, test: 1, unsplit: 0 } }],
    );
    const fixedManifest = editJson(smaller, 'manifest.json', (m: any) => ({ ...m, stores: { ...m.stores, examples: { ...m.stores.examples, records: 2 } } }));
    await importWorkspace(target, fixedManifest);
    expect((await target.getAllFromIndex('examples', 'byDataset')).map((e) => e.instruction)).toEqual(['Say hi', 'Add 2 and 3']);
    expect((await target.get('datasets', datasetId))!.counts.total).toBe(2);
  });
});

describe('values JSON cannot hold', () => {
  it('a record with its own "$hone" field, a Map, a Set, a bigint and a Date come back as they were', async () => {
    const db = await freshDb();
    const report = { $hone: 'bytes', blob: 'not a tag', scores: new Map([['bleu', 1.5]]), seen: new Set(['a']), big: 12345678901234567890n, at: new Date(5), bytes: new Uint16Array([1, 65535]) };
    await saveEvaluation(db, { id: 'e', modelId: 'm', report });
    const target = await freshDb();
    await importWorkspace(target, (await exportWorkspace(db)).bytes);
    expect((await target.get('evaluations', 'e'))!.report).toStrictEqual(report);
  });
});

describe('refused bundles leave the database unchanged', () => {
  async function expectRefused(bytes: Uint8Array, entry: string, message: RegExp): Promise<void> {
    const { db: target } = await filledDb(); // not empty: an all-or-nothing import must leave all of this be
    const before = await dumpRaw(target);
    const error = await importWorkspace(target, bytes, { file: 'class.zip' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BundleError);
    expect((error as BundleError).entry).toBe(entry);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain('Nothing was imported.');
    expect(await dumpRaw(target)).toStrictEqual(before);
  }

  async function bundle(): Promise<Uint8Array> {
    const { db } = await filledDb();
    return (await exportWorkspace(db)).bytes;
  }

  it('a damaged entry (CRC) is named', async () => {
    const bytes = await bundle();
    const damaged = bytes.slice();
    const at = new TextDecoder('latin1').decode(damaged).indexOf('"status":"diverged"'); // inside stores/runs.json's data
    expect(at).toBeGreaterThan(0);
    damaged[at + 11] ^= 0x20;
    await expectRefused(damaged, 'stores/runs.json', /stores\/runs\.json fails its CRC-32 check/);
  });

  it('a truncated file is refused', async () => {
    const bytes = await bundle();
    await expectRefused(bytes.slice(0, bytes.length - 40), 'class.zip', /no end-of-central-directory record/);
  });

  it('a newer format version is refused naming the manifest', async () => {
    const bytes = editJson(await bundle(), 'manifest.json', (m: any) => ({ ...m, version: BUNDLE_VERSION + 1 }));
    await expectRefused(bytes, 'manifest.json', /format version 2; this Hone reads version 1/);
  });

  it('a zip that is not a bundle is refused', async () => {
    await expectRefused(writeZip([{ name: 'readme.txt', bytes: encode('hi') }]), 'manifest.json', /has no manifest\.json/);
  });

  it('a record without its key, a missing binary entry, a wrong count and a dangling reference are each named', async () => {
    const bytes = await bundle();
    await expectRefused(
      editJson(bytes, 'stores/examples.json', (examples: any[]) => examples.map((e, i) => (i === 1 ? { ...e, id: undefined } : e))),
      'stores/examples.json',
      /stores\/examples\.json, record 2: its key field “id” is missing/,
    );
    await expectRefused(editBundle(bytes, 'blobs/checkpoints-000001.bin', () => null), 'stores/checkpoints.json', /record 1\.tensors\[0\]\.data: its binary data, entry blobs\/checkpoints-000001\.bin, is missing/);
    await expectRefused(
      editJson(bytes, 'manifest.json', (m: any) => ({ ...m, stores: { ...m.stores, ratings: { ...m.stores.ratings, records: 3 } } })),
      'stores/ratings.json',
      /holds 2 records, manifest\.json says 3/,
    );
    await expectRefused(
      editJson(bytes, 'stores/examples.json', (examples: any[]) => examples.slice(0, 2)),
      'stores/examples.json',
      /holds 2 records, manifest\.json says 3/,
    );
    const fewerExamples = editJson(
      editJson(bytes, 'stores/examples.json', (examples: unknown[]) => examples.slice(0, 2)),
      'manifest.json',
      (m: any) => ({ ...m, stores: { ...m.stores, examples: { ...m.stores.examples, records: 2 } } }),
    );
    await expectRefused(fewerExamples, 'stores/datasets.json', /record 1 \(dataset “class set”\) counts 3 examples, but the bundle holds 2 of them/);
    const orphan = editJson(bytes, 'stores/checkpoints.json', (cps: any[]) => cps.map((c) => ({ ...c, runId: 'no-such-run' })));
    await expectRefused(orphan, 'stores/checkpoints.json', /record 1: its runId “no-such-run” is neither in the bundle nor stored here/);
  });
});
