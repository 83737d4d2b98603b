// The pretraining loop over a storage interface (src/core/pretrain/loop.ts) and its IndexedDB runs
// (store-storage.ts, session.ts): pause / cancel / resume end bit-identical to an uninterrupted run,
// progress lines are never doubled by a resume, bad specs and foreign checkpoints fail clearly.
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { loadCheckpoint } from '../../src/core/model/checkpoint';
import { parseSafetensors } from '../../src/core/model/safetensors';
import { HONE_MICRO } from '../../src/core/pretrain/micro';
import { HONE_TINY, prepareCorpus, type PretrainSpec } from '../../src/core/pretrain/pretrain';
import { checkSpec, runPretrainLoop, specKey, type PretrainCheckpoint, type PretrainStorage, type ProgressLine } from '../../src/core/pretrain/loop';
import { createPretrainRun, getPretrainRun, listPretrainRuns, runStoredPretrain } from '../../src/core/pretrain/session';
import { StorePretrainStorage } from '../../src/core/pretrain/store-storage';
import { getRun, listCheckpoints, openHoneDb, updateRun, type HoneDb } from '../../src/core/store';

/** hone-micro's spec, cut to 6 steps so a test runs in a second or two */
const MICRO: PretrainSpec = { ...HONE_TINY, ...HONE_MICRO, steps: 6, warmupSteps: 1 };

/** Keeps everything in memory; counts saves so tests can see when a checkpoint was (not) taken. */
class MemoryStorage implements PretrainStorage {
  checkpoint: { key: string; value: PretrainCheckpoint } | null = null;
  lines: ProgressLine[] = [];
  saves: number[] = [];
  async load(spec: PretrainSpec): Promise<PretrainCheckpoint | null> {
    if (!this.checkpoint) return null;
    if (this.checkpoint.key !== specKey(spec)) throw new Error('memory storage: different spec');
    const step = this.checkpoint.value.state.json.step;
    this.lines = this.lines.filter((l) => l.step <= step);
    return this.checkpoint.value;
  }
  async save(spec: PretrainSpec, checkpoint: PretrainCheckpoint): Promise<void> {
    this.checkpoint = { key: specKey(spec), value: checkpoint };
    this.saves.push(checkpoint.state.json.step);
  }
  async appendProgress(line: ProgressLine): Promise<void> {
    this.lines.push(line);
  }
}

let corpus: ReturnType<typeof prepareCorpus>;
let reference: { weights: Uint8Array; loss: number | null };
const base = { checkpointEvery: 2, logEvery: 1, command: 'test' };

beforeAll(async () => {
  await tf.setBackend('cpu');
  corpus = prepareCorpus(MICRO);
  const whole = await runPretrainLoop(MICRO, new MemoryStorage(), { ...base, corpus });
  reference = { weights: whole.files!.get('model.safetensors')!, loss: whole.loss };
});

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/** An AbortController that fires when the loop reports `step`. */
function at(step: number): { controller: AbortController; onEvent: (e: { kind: string; step?: number }) => void } {
  const controller = new AbortController();
  return { controller, onEvent: (e) => e.kind === 'progress' && e.step === step && controller.abort() };
}

describe('runPretrainLoop', () => {
  it('paused at steps 3 and 5 (checkpoint each time) and resumed, ends bit-identical to one uninterrupted run', async () => {
    const before = tf.memory().numTensors;
    const storage = new MemoryStorage();
    const first = at(3);
    const a = await runPretrainLoop(MICRO, storage, { ...base, corpus, pauseSignal: first.controller.signal, onEvent: first.onEvent });
    expect(a).toMatchObject({ status: 'paused', step: 3, totalSteps: 6 });
    expect(a.files).toBeUndefined();
    expect(storage.saves).toEqual([2, 3]); // the every-2 checkpoint, then the pause's
    const second = at(5);
    const b = await runPretrainLoop(MICRO, storage, { ...base, corpus, pauseSignal: second.controller.signal, onEvent: second.onEvent });
    expect(b).toMatchObject({ status: 'paused', step: 5 });
    const c = await runPretrainLoop(MICRO, storage, { ...base, corpus });
    expect(c.status).toBe('completed');
    expect(c.loss).toBe(reference.loss);
    expect(sameBytes(c.files!.get('model.safetensors')!, reference.weights)).toBe(true);
    expect(storage.lines.map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(storage.checkpoint!.value.tokens).toBe(6 * MICRO.batchSize * MICRO.seqLen);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('cancel stops without a new checkpoint; the resume repeats the lost step and logs it once', async () => {
    const storage = new MemoryStorage();
    const cancel = at(3);
    const a = await runPretrainLoop(MICRO, storage, { ...base, corpus, signal: cancel.controller.signal, onEvent: cancel.onEvent });
    expect(a).toMatchObject({ status: 'cancelled', step: 3 });
    expect(storage.saves).toEqual([2]);
    expect(storage.lines.map((l) => l.step)).toEqual([1, 2, 3]);
    const b = await runPretrainLoop(MICRO, storage, { ...base, corpus });
    expect(b.status).toBe('completed');
    expect(storage.lines.map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(sameBytes(b.files!.get('model.safetensors')!, reference.weights)).toBe(true);
  });

  it('exports a loadable Llama checkpoint with a manifest that records the run', async () => {
    const result = await runPretrainLoop(MICRO, new MemoryStorage(), { ...base, corpus, checkpointEvery: 10 });
    const files = result.files!;
    expect([...files.keys()].sort()).toEqual(['config.json', 'manifest.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const checkpoint = loadCheckpoint(files);
    expect(checkpoint.config).toMatchObject({ modelType: 'llama', hiddenSize: 16, numLayers: 1, vocabSize: corpus.tokenizer.vocabSize });
    expect(result.manifest).toMatchObject({ name: 'hone-tiny', command: 'test', seed: MICRO.seed, corpusHash: corpus.hash, tokensSeen: 6 * 4 * 16, backend: 'cpu' });
    const tensors = parseSafetensors(files.get('model.safetensors')!, 'model.safetensors');
    expect(result.manifest!.parameters).toBe([...tensors.values()].reduce((n, t) => n + t.data.length, 0));
  });

  it('refuses a checkpoint of another spec, and bad specs, naming the field', async () => {
    const storage = new MemoryStorage();
    const stop = at(1);
    await runPretrainLoop(MICRO, storage, { ...base, corpus, pauseSignal: stop.controller.signal, onEvent: stop.onEvent });
    await expect(runPretrainLoop({ ...MICRO, steps: 7 }, storage, base)).rejects.toThrow('memory storage: different spec');
    expect(() => checkSpec({ ...MICRO, heads: 3 })).toThrow('hiddenSize 16 is not a multiple of heads 3');
    expect(() => checkSpec({ ...MICRO, steps: 0 })).toThrow('steps must be positive, got 0');
    expect(() => checkSpec({ ...MICRO, layers: 1.5 })).toThrow('layers must be a whole number, got 1.5');
    expect(() => checkSpec({ ...MICRO, extra: 1 } as PretrainSpec)).toThrow('unknown field(s) extra');
    await expect(runPretrainLoop(MICRO, storage, { ...base, checkpointEvery: 0 })).rejects.toThrow('checkpointEvery and logEvery must be ≥ 1');
  });

  it('a failing progress write stops the run with that error, saves nothing and frees its tensors', async () => {
    const before = tf.memory().numTensors;
    const storage = new MemoryStorage();
    storage.appendProgress = async () => {
      throw new Error('disk full');
    };
    await expect(runPretrainLoop(MICRO, storage, { ...base, corpus })).rejects.toThrow('disk full');
    expect(storage.saves).toEqual([]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('specKey is independent of key order and equal to the CLI’s JSON.stringify of HONE_TINY', () => {
    const reversed = Object.fromEntries(Object.entries(MICRO).reverse()) as unknown as PretrainSpec;
    expect(specKey(reversed)).toBe(specKey(MICRO));
    expect(specKey(HONE_TINY)).toBe(JSON.stringify(HONE_TINY));
  });
});

describe('pretraining runs in IndexedDB', () => {
  let db: HoneDb;
  beforeAll(async () => {
    db = await openHoneDb({ name: `hone-pretrain-${crypto.randomUUID()}` });
  });
  afterAll(() => db.close());

  it('a run paused, cancelled, resumed: status kept in the run record, one checkpoint kept, finished model handed over', async () => {
    const run = await createPretrainRun(db, { spec: { ...MICRO }, checkpointEvery: 2, logEvery: 1 });
    expect(run).toMatchObject({ method: 'pretrain', status: 'paused', modelId: `pretrained-${run.id}` });
    const stored: Map<string, Uint8Array>[] = [];
    const storeModel = async (files: Map<string, Uint8Array>) => {
      stored.push(files);
      return 'model-1';
    };
    const pause = at(3);
    const a = await runStoredPretrain(db, run.id, { storeModel, pauseSignal: pause.controller.signal, onEvent: pause.onEvent });
    expect(a.summary).toMatchObject({ status: 'paused', step: 3, totalSteps: 6, modelId: null });
    expect(a.summary.checkpoint).toMatchObject({ step: 3, tokens: 3 * 4 * 16 });
    const bytesAtPause = a.summary.checkpoint!.bytes;
    expect((await listCheckpoints(db, run.id)).map((c) => c.step)).toEqual([3]); // only the latest is kept

    const cancel = at(5);
    const b = await runStoredPretrain(db, run.id, { storeModel, signal: cancel.controller.signal, onEvent: cancel.onEvent });
    expect(b.summary).toMatchObject({ status: 'cancelled', step: 4 }); // the every-2 checkpoint at 4; step 5 is lost
    expect((await getRun(db, run.id))!.metrics.map((m) => m.step)).toEqual([1, 2, 3, 4, 5]);

    const c = await runStoredPretrain(db, run.id, { storeModel });
    expect(c.summary).toMatchObject({ status: 'completed', step: 6, modelId: 'model-1' });
    expect(c.summary.metrics.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(stored).toHaveLength(1);
    expect(sameBytes(stored[0].get('model.safetensors')!, reference.weights)).toBe(true);
    // the checkpoint holds the weights and AdamW's two moments, float32
    expect(bytesAtPause).toBe(3 * 4 * c.manifest!.parameters);
    expect(c.manifest!.command).toContain('Pretrain view (spec changes: documents=300');
    await expect(runStoredPretrain(db, run.id, { storeModel })).rejects.toThrow('has already completed');
    expect((await listPretrainRuns(db, null)).map((r) => r.id)).toEqual([run.id]);
  });

  it('a run left "running" by a closed tab lists as paused at its checkpoint step', async () => {
    const run = await createPretrainRun(db, { spec: { ...MICRO }, checkpointEvery: 2, logEvery: 1 });
    const storage = new StorePretrainStorage(db, run.id);
    const stop = at(3);
    await runPretrainLoop(MICRO, storage, { ...base, corpus, signal: stop.controller.signal, onEvent: stop.onEvent });
    await updateRun(db, run.id, { status: 'running' });
    expect(await getPretrainRun(db, run.id, null)).toMatchObject({ status: 'paused', step: 2 });
    expect(await getPretrainRun(db, run.id, run.id)).toMatchObject({ status: 'running' });
    await expect(new StorePretrainStorage(db, run.id).load({ ...MICRO, steps: 9 })).rejects.toThrow('was saved for a different spec');
  });

  it('refuses bad options before storing anything', async () => {
    const before = (await listPretrainRuns(db, null)).length;
    await expect(createPretrainRun(db, { spec: { hiddenSize: 0 } })).rejects.toThrow('hiddenSize must be positive, got 0');
    await expect(createPretrainRun(db, { checkpointEvery: 0 })).rejects.toThrow('checkpointEvery must be a whole number ≥ 1, got 0');
    expect((await listPretrainRuns(db, null)).length).toBe(before);
  });
});
