// TrainingSession on tiny-llama with IndexedDB (fake-indexeddb): a run whose storage vanished
// mid-run (what a terminated worker leaves) resumes from its checkpoint to the same weights as an
// uninterrupted run; pause + resume likewise; bad input stores nothing; metrics and checkpoints land
// as promised; the export zip reads back as the same adapter; no tensor leaks; and the worker API
// cancels a run when the loaded model changes.
import 'fake-indexeddb/auto';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Decoder } from '../../src/core/model/decoder';
import { readAdapterFolder } from '../../src/core/peft';
import { parseSafetensors } from '../../src/core/model/safetensors';
import { createDataset, getRun, listCheckpoints, loadLatestCheckpoint, openHoneDb, type HoneDb } from '../../src/core/store';
import { loadRecords } from '../../src/core/train/session-spec';
import { splitOff } from '../../src/core/train/run-builder';
import { buildTrainingRows } from '../../src/core/train/rows';
import type { RunDataSummary } from '../../src/core/train/run-builder';
import { exportRun, slug } from '../../src/core/train/run-export';
import { buildSessionRun, listRunSummaries, runDetail, TrainingSession, type SessionModel, type TrainEvent, type TrainSpec } from '../../src/core/train/session';
import { readZip } from '../../src/core/zip';
import type { BackendReport } from '../../src/core/backend/select';
import { setBackendReport, setCurrent, type LoadedModel } from '../../workers/context';
import { trainingApi } from '../../workers/training';
import type { Fixture } from './decoder-fixtures';
import { useSessionModel } from './train-session-fixture';

const loaded = useSessionModel();
let fixture: Fixture;
let decoder: Decoder;
let model: SessionModel;
beforeAll(() => ({ fixture, decoder, model } = loaded));

const EXAMPLES = [
  ['Name a colour.', 'Blue.'],
  ['What is two plus two?', 'Four.'],
  ['Say hello.', 'Hello there!'],
  ['Capital of France?', 'Paris.'],
  ['Opposite of hot?', 'Cold.'],
  ['A fruit, please.', 'An apple.'],
  ['Count to three.', 'One, two, three.'],
  ['What do cows say?', 'Moo.'],
  ['Spell cat.', 'C-A-T.'],
  ['Is ice cold?', 'Yes, it is.'],
  ['First letter?', 'A.'],
  ['Last month?', 'December.'],
].map(([prompt, completion]) => ({ prompt, completion }));

function spec(method: TrainSpec['method'], overrides: Partial<TrainSpec> = {}): TrainSpec {
  return {
    modelId: 'tiny-llama',
    examples: EXAMPLES,
    validationFraction: 0.25,
    method,
    trainer: { totalSteps: 8, batchSize: 2, learningRate: 1e-2, evalEvery: 2, seed: 3, warmupSteps: 1 },
    maxLength: 24,
    checkpointEvery: 3,
    name: `test ${method.name}`,
    ...overrides,
  };
}

const freshDb = (name = `hone-session-${crypto.randomUUID()}`) => openHoneDb({ name });

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

async function storeContents(db: HoneDb) {
  const runs = await db.getAll('runs');
  const checkpoints = await db.getAllKeys('checkpoints');
  return { runs: JSON.stringify(runs), checkpoints: checkpoints.sort() };
}

const METHODS: TrainSpec['method'][] = [
  { name: 'lora', config: { r: 4, lora_alpha: 8, lora_dropout: 0 } },
  { name: 'prefix', config: { num_virtual_tokens: 4 } },
];

interface StraightRun {
  db: HoneDb;
  runId: string;
  events: TrainEvent[];
  weights: Map<string, Float32Array>;
}
const straightRuns = new Map<string, Promise<StraightRun>>();

/** The uninterrupted reference run of a method (shared by the tests that compare against it). */
function straightRun(method: TrainSpec['method']): Promise<StraightRun> {
  let run = straightRuns.get(method.name);
  if (!run) {
    run = (async () => {
      const db = await freshDb();
      const events: TrainEvent[] = [];
      const before = tf.memory().numTensors;
      const session = await TrainingSession.start(db, model, spec(method), (e) => events.push(e));
      const summary = await session.run();
      expect(tf.memory().numTensors).toBe(before); // session start → finish leaves no tensor behind
      expect(summary).toMatchObject({ id: session.runId, status: 'completed', step: 8, totalSteps: 8, method: method.name, name: `test ${method.name}` });
      return { db, runId: session.runId, events, weights: await finalWeights(db, session.runId) };
    })();
    straightRuns.set(method.name, run);
  }
  return run;
}

describe.each(METHODS)('TrainingSession ($name)', (method) => {
  let straight: StraightRun;

  beforeAll(async () => {
    straight = await straightRun(method);
  }, 120_000);

  it('streams progress, checkpoints at the interval and the end, and stores every step once', async () => {
    const { db, runId, events } = straight;
    expect(events.filter((e) => e.kind === 'progress').map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(events.filter((e) => e.kind === 'checkpoint').map((e) => e.step)).toEqual([3, 6, 8]);
    const statuses = events.filter((e) => e.kind === 'status');
    expect(statuses.map((e) => e.kind === 'status' && e.status)).toEqual(['running', 'completed']);
    const valSteps = events.flatMap((e) => (e.kind === 'progress' && e.valLoss !== undefined ? [e.step] : []));
    expect(valSteps).toEqual([2, 4, 6, 8]);

    const run = (await getRun(db, runId))!;
    expect(run.status).toBe('completed');
    expect(run.metrics.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const progress = events.filter((e) => e.kind === 'progress');
    run.metrics.forEach((m, i) => {
      const e = progress[i];
      expect(e.kind === 'progress' && [m.loss, m.lr, m.valLoss]).toEqual(e.kind === 'progress' && [e.loss, e.lr, e.valLoss]);
    });
    // keeps the latest (step 8) plus the best by validation loss
    const kept = await listCheckpoints(db, runId);
    expect(kept.at(-1)!.step).toBe(8);
    expect(kept.length).toBeLessThanOrEqual(2);
    const [summary] = await listRunSummaries(db, null);
    const best = Math.min(...run.metrics.flatMap((m) => (m.valLoss === undefined ? [] : [m.valLoss])));
    expect(summary).toMatchObject({ status: 'completed', step: 8, bestValLoss: best });
    expect(summary.trainable.trainable).toBeGreaterThan(0);
    expect(summary.trainable.percent).toBeCloseTo((100 * summary.trainable.trainable) / summary.trainable.total, 10);
    const detail = await runDetail(db, runId, null);
    expect(detail.metrics).toHaveLength(8);
    expect((detail.config as { spec: { examples: string } }).spec.examples).toBe('12 inline examples');
  });

  it('a run whose worker died after its step-3 checkpoint resumes to the uninterrupted weights (≤ 1e-6)', async () => {
    const name = `hone-crash-${crypto.randomUUID()}`;
    const db = await freshDb(name);
    const before = tf.memory().numTensors;
    const session = await TrainingSession.start(db, model, spec(method), (e) => {
      // Storage gone after step 5: nothing the session tries to write from here on lands, as when the worker is terminated.
      if (e.kind === 'progress' && e.step === 5) db.close();
    });
    const crash = await session.run().then(() => null, (e: Error) => e);
    expect(crash?.name).toBe('InvalidStateError'); // the step-6 metric write found the database gone
    expect(tf.memory().numTensors).toBe(before);

    const reopened = await freshDb(name);
    const stored = (await getRun(reopened, session.runId))!;
    expect(stored.status).toBe('running'); // the crash wrote no final status
    expect(stored.metrics.map((m) => m.step)).toEqual([1, 2, 3]);
    expect((await listCheckpoints(reopened, session.runId)).map((c) => c.step)).toEqual([3]);
    expect(await listRunSummaries(reopened, null)).toMatchObject([{ id: session.runId, status: 'paused', step: 3 }]);

    const events: TrainEvent[] = [];
    const resumed = await TrainingSession.resume(reopened, model, session.runId, (e) => events.push(e));
    expect(await resumed.run()).toMatchObject({ status: 'completed', step: 8 });
    expect(tf.memory().numTensors).toBe(before);
    expect(events[0]).toEqual({ kind: 'status', runId: session.runId, status: 'running', message: 'Resumed at step 3.' });
    expect(events.filter((e) => e.kind === 'progress').map((e) => e.step)).toEqual([4, 5, 6, 7, 8]);
    expect(maxDiff(await finalWeights(reopened, session.runId), straight.weights)).toBeLessThanOrEqual(1e-6);
    const metrics = (await getRun(reopened, session.runId))!.metrics;
    expect(metrics.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const reference = (await getRun(straight.db, straight.runId))!.metrics;
    metrics.forEach((m, i) => expect(Math.abs(m.loss! - reference[i].loss!)).toBeLessThanOrEqual(1e-6));
    reopened.close();
  });
});

describe('TrainingSession', () => {
  it('pause stops at a checkpoint and resume finishes with the uninterrupted weights', { timeout: 120_000 }, async () => {
    const method = METHODS[0];
    const reference = await straightRun(method);
    const db = await freshDb();
    const session: TrainingSession = await TrainingSession.start(db, model, spec(method), (e) => {
      if (e.kind === 'progress' && e.step === 2) expect(session.pause()).toBe(true);
    });
    const events: TrainEvent[] = [];
    expect(await session.run()).toMatchObject({ status: 'paused', step: 2 });
    expect(session.pause()).toBe(false);
    expect((await getRun(db, session.runId))!.status).toBe('paused');
    expect((await listCheckpoints(db, session.runId)).map((c) => c.step)).toEqual([2]);
    const resumed = await TrainingSession.resume(db, model, session.runId, (e) => events.push(e));
    expect(await resumed.run()).toMatchObject({ status: 'completed', step: 8 });
    expect(events.filter((e) => e.kind === 'checkpoint').map((e) => e.step)).toEqual([3, 6, 8]);
    expect(maxDiff(await finalWeights(db, session.runId), reference.weights)).toBeLessThanOrEqual(1e-6);
    await expect(TrainingSession.resume(db, model, session.runId, () => {})).rejects.toThrow(/has already completed/);
  });

  it('bad input is refused with an error naming the field, and nothing is stored', async () => {
    const db = await freshDb();
    await (await TrainingSession.start(db, model, spec(METHODS[0], { trainer: { totalSteps: 1 } }), () => {})).run();
    const before = await storeContents(db);
    const tensors = tf.memory().numTensors;
    const lora = METHODS[0];
    const cases: [TrainSpec, RegExp][] = [
      [spec(lora, { trainer: { totalSteps: 4, learningRate: NaN } }), /trainer\.learningRate must be a finite number, got NaN/],
      [spec({ name: 'lora', config: { r: 4, rank_typo: 8 } }), /unknown config key\(s\) "rank_typo"/],
      [spec({ name: 'lora', config: { r: -1 } }), /\(r\): must be a positive integer, got -1/],
      [spec({ name: 'nope' }), /PEFT method "nope" is not known/],
      [spec(lora, { trainer: { totalSteps: 4, warmup: 2 } as TrainSpec['trainer'] }), /trainer\.warmup is not a trainer setting/],
      [spec(lora, { trainer: { totalSteps: 0 } }), /trainer\.totalSteps must be a whole number ≥ 1, got 0/],
      [spec(lora, { modelId: 'other' }), /modelId "other" is not the loaded model/],
      [spec(lora, { examples: undefined, datasetId: 'missing' }), /dataset "missing" is not stored/],
      [spec(lora, { examples: [] }), /examples must be a non-empty list/],
      [spec(lora, { maxLength: 1 }), /maxLength must be a whole number ≥ 2, got 1/],
      [spec(lora, { validationFraction: 1 }), /validationFraction must be a number in \[0, 1\), got 1/],
      [spec(lora, { trainer: { totalSteps: 4, evalEvery: 0 } }), /evalEvery must be a positive integer, got 0/],
      [spec(lora, { validationFraction: 0 }), /trainer\.evalEvery is 2 but there are no validation examples/],
    ];
    for (const [bad, message] of cases) {
      await expect(TrainingSession.start(db, model, bad, () => {}), message.source).rejects.toThrow(message);
    }
    await expect(TrainingSession.resume(db, model, 'no-such-run', () => {})).rejects.toThrow(/Run "no-such-run" is not stored/);
    expect(await storeContents(db)).toEqual(before);
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('a non-finite loss skips the update, leaves the weights as they were and tells the user', async () => {
    // one NaN in the output projection makes every loss NaN, as a diverged run would
    const weights = new Map(fixture.checkpoint.weights);
    const head = weights.get('lm_head.weight')!;
    const poisoned = new Float32Array(head.data);
    poisoned[0] = NaN;
    weights.set('lm_head.weight', { shape: head.shape, data: poisoned });
    const broken = Decoder.fromHost(fixture.checkpoint.config, weights);
    try {
      const db = await freshDb();
      const messages: string[] = [];
      const short = spec(METHODS[0], { trainer: { totalSteps: 2, batchSize: 2, learningRate: 1e-3, seed: 3 }, validationFraction: 0 });
      const session = await TrainingSession.start(db, { ...model, decoder: broken }, short, (e) => {
        if (e.kind === 'status' && e.message) messages.push(e.message);
      });
      expect(await session.run()).toMatchObject({ status: 'completed', step: 2 });
      expect(messages).toEqual([1, 2].map((step) => `Step ${step}: the loss or a gradient was not a finite number (NaN or Infinity), so this update was skipped and the weights are unchanged. If this keeps happening, lower the learning rate.`));
      const final = await finalWeights(db, session.runId);
      const loraB = [...final].filter(([name]) => name.includes('lora_B'));
      expect(loraB.length).toBeGreaterThan(0);
      for (const [, values] of loraB) expect(values.every((v) => v === 0)).toBe(true); // B starts at 0 and was never updated
      expect((await getRun(db, session.runId))!.metrics).toEqual([{ step: 1, lr: 1e-3 }, { step: 2, lr: 5e-4 }]); // no NaN stored as a loss
    } finally {
      broken.dispose();
    }
  });

  it('exports the run as a zip holding the PEFT folder, which reads back as the trained weights', { timeout: 120_000 }, async () => {
    const { db, runId } = await straightRun(METHODS[0]);
    expect(slug('Mon run: LoRA ✓ (2024)')).toBe('mon-run-lora-2024');
    const tensors = tf.memory().numTensors;
    const { fileName, bytes } = await exportRun(db, model, runId);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(fileName).toBe('test-lora.zip');
    const entries = readZip(bytes);
    expect(entries.map((e) => e.name).sort()).toEqual(['test-lora/README.md', 'test-lora/adapter_config.json', 'test-lora/adapter_model.safetensors']);
    const files = new Map(entries.map((e) => [e.name.split('/')[1], e.bytes]));
    const config = JSON.parse(new TextDecoder().decode(files.get('adapter_config.json')));
    expect(config).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 8, base_model_name_or_path: 'tiny-llama' });
    expect(new TextDecoder().decode(files.get('README.md'))).toMatch(/library_name: peft/);
    const saved = parseSafetensors(files.get('adapter_model.safetensors')!, 'adapter_model.safetensors');
    const trained = await finalWeights(db, runId);
    expect(saved.size).toBe(trained.size);
    // the trainer saves variables under PEFT's own tensor names, so the file matches name for name
    for (const [name, values] of trained) {
      const peftName = name.slice('weights/'.length);
      expect(Array.from(saved.get(peftName)!.data), peftName).toEqual(Array.from(values));
    }
    const method = readAdapterFolder(files, decoder);
    method.dispose();
  });
});

describe('examples from a stored dataset', () => {
  it('uses the examples\' own splits, leaves out the test split, renders the Alpaca prompt, and refuses an output-less record by index', { timeout: 120_000 }, async () => {
    const db = await freshDb();
    const records = [
      { instruction: 'Name a colour.', output: 'Blue.', split: 'train' as const },
      { instruction: 'Say hello.', output: 'Hello!' },
      { instruction: 'Capital of France?', output: 'Paris.' },
      { instruction: 'Translate', context: 'chat', output: 'cat', split: 'validation' as const },
      { instruction: 'Held-out question', output: 'x', split: 'test' as const },
    ];
    const dataset = await createDataset(db, { name: 'tiny', source: 'test' }, records);
    const unanswered = await createDataset(db, { name: 'unanswered', source: 'test' }, [...records, { instruction: 'Unanswered' }]);
    const before = await storeContents(db);
    await expect(TrainingSession.start(db, model, spec(METHODS[0], { examples: undefined, datasetId: unanswered.id, maxLength: 256 }), () => {})).rejects.toThrow(
      'Training settings: training rows: record 5 (instruction), field "output": is missing',
    );
    expect(await storeContents(db)).toEqual(before);
    // the Alpaca prompt alone is ~120 tokens on this tokenizer (~170 with an input), and rows are cut from the right (TRL): 256 keeps every answer
    const fromDataset = spec(METHODS[0], { examples: undefined, datasetId: dataset.id, maxLength: 256, trainer: { totalSteps: 1, batchSize: 2, evalEvery: 1, seed: 3 } });
    const session = await TrainingSession.start(db, model, fromDataset, () => {});
    expect(await session.run()).toMatchObject({ status: 'completed', datasetId: dataset.id });
    const run = (await getRun(db, session.runId))!;
    expect(run.datasetId).toBe(dataset.id);
    // 3 train (1 train + 2 unsplit: an explicit validation split means nothing more is held out), 1 validation, the test record skipped
    const config = run.config as { rows: unknown; data: RunDataSummary; promptFormat: string };
    expect(config.rows).toEqual({ train: 3, validation: 1, dropped: 0 });
    expect(config.data).toMatchObject({ examples: 5, used: 4, skipped: { test: 1 }, dropped: [], validationFrom: 'split' });
    expect(config.promptFormat).toBe('alpaca');
    expect(run.metrics).toEqual([expect.objectContaining({ step: 1, valLoss: expect.any(Number) })]);

    const source = await loadRecords(db, fromDataset);
    expect(source.records.map((r) => r.instruction)).toEqual(records.map((r) => r.instruction));
    const built = await buildSessionRun(db, model, fromDataset);
    built.peft.dispose();
    const [validationRow] = built.data.validation!;
    const expected = buildTrainingRows([source.records[3]], model.tokenizer, { maxLength: 256 }).rows[0];
    expect(validationRow).toEqual(expected);
    expect(model.tokenizer.decode(validationRow.inputIds)).toContain('### Instruction:\nTranslate\n\n### Input:\nchat\n\n### Response:\n');
  });

  it('splits unsplit examples with a seeded shuffle: same seed, same split', () => {
    const items = Array.from({ length: 10 }, (_, i) => i);
    const a = splitOff(items, 0.25, 7);
    expect(a.validation).toHaveLength(3); // round(2.5)
    expect([...a.train, ...a.validation].sort((x, y) => x - y)).toEqual(items);
    expect(a.train).toEqual([...a.train].sort((x, y) => x - y)); // order kept
    expect(splitOff(items, 0.25, 7)).toEqual(a);
    expect([1, 2, 3, 4, 5].map((seed) => splitOff(items, 0.25, seed).validation.join())).not.toEqual(Array(5).fill(a.validation.join()));
    expect(splitOff([1], 0.5, 7)).toEqual({ train: [1], validation: [] });
    expect(splitOff(items, 0, 7).validation).toEqual([]);
  });
});

describe('exportRun layouts', () => {
  it('prefix-tuning as PEFT, bottleneck adapters as AdapterHub, full fine-tuning as a Hugging Face checkpoint', { timeout: 120_000 }, async () => {
    const prefix = await straightRun(METHODS[1]);
    const prefixFiles = new Map(readZip((await exportRun(prefix.db, model, prefix.runId)).bytes).map((e) => [e.name, e.bytes]));
    expect(JSON.parse(new TextDecoder().decode(prefixFiles.get('test-prefix/adapter_config.json')))).toMatchObject({ peft_type: 'PREFIX_TUNING', num_virtual_tokens: 4 });

    const db = await freshDb();
    const oneStep = { trainer: { totalSteps: 1, batchSize: 2, seed: 3 }, validationFraction: 0 };
    const layouts: [TrainSpec['method'], string[]][] = [
      [{ name: 'adapter' }, ['README.md', 'adapter.safetensors', 'adapter_config.json']],
      [{ name: 'full' }, ['README.md', 'config.json', 'model.safetensors']],
    ];
    for (const [method, expected] of layouts) {
      const session = await TrainingSession.start(db, model, spec(method, oneStep), () => {});
      await session.run();
      const tensors = tf.memory().numTensors;
      const { fileName, bytes } = await exportRun(db, model, session.runId);
      expect(tf.memory().numTensors).toBe(tensors);
      expect(fileName).toBe(`test-${method.name}.zip`);
      const files = new Map(readZip(bytes).map((e) => [e.name.split('/')[1], e.bytes]));
      expect([...files.keys()].sort()).toEqual(expected);
    }
  });
});

describe('trainingApi (worker)', () => {
  it('lists the methods with labels and gives per-method defaults for the form', () => {
    expect(trainingApi.trainingMethods().map((m) => `${m.name}:${m.label}`)).toEqual([
      'lora:LoRA',
      'ia3:(IA)³',
      'prefix:Prefix-tuning',
      'prompt:Prompt tuning',
      'adapter:Bottleneck adapters',
      'full:Full fine-tuning',
      'freeze:Layer freezing',
    ]);
    const prefix = trainingApi.trainingDefaults('prefix');
    expect(prefix).toMatchObject({ method: { num_virtual_tokens: 10 }, maxLength: 256, checkpointEvery: 10, validationFraction: 0.1 });
    expect(prefix.trainer).toMatchObject({ totalSteps: 100, learningRate: 1e-2, batchSize: 4, schedule: 'linear' });
    expect(prefix.trainer).not.toHaveProperty('padTokenId');
    expect(() => trainingApi.trainingDefaults('nope')).toThrow(/PEFT method "nope" is not known/);
  });

  it('cancels the run with a message when the loaded model changes, and lists it as cancelled', async () => {
    setBackendReport({ backend: 'cpu' } as unknown as BackendReport);
    const own = (): LoadedModel => ({
      summary: { id: 'tiny-llama', name: 'tiny-llama' } as LoadedModel['summary'],
      decoder: Decoder.fromHost(fixture.checkpoint.config, fixture.checkpoint.weights),
      tokenizer: fixture.checkpoint.tokenizer,
      checkpoint: fixture.checkpoint,
    });
    setCurrent(own());
    const events: TrainEvent[] = [];
    let second: Promise<Error | null> | null = null;
    const result = await trainingApi.startTraining(spec(METHODS[0]), (e) => {
      events.push(e);
      if (e.kind === 'progress' && e.step === 2) second = trainingApi.startTraining(spec(METHODS[1]), () => {}).then(() => null, (e: Error) => e);
      if (e.kind === 'progress' && e.step === 4) setCurrent(own()); // e.g. the user loads another model
    });
    expect((await second!)?.message).toMatch(/^A training run is already in progress/);
    expect(result).toMatchObject({ status: 'cancelled', step: 4 });
    const last = events.at(-1)!;
    expect(last).toMatchObject({ kind: 'status', status: 'cancelled' });
    expect(last.kind === 'status' && last.message).toMatch(/^The loaded model changed during training, so the run was cancelled at step 4/);
    expect(trainingApi.pauseTraining()).toBe(false);
    const runs = await trainingApi.listTrainingRuns();
    expect(runs.find((r) => r.id === result.id)).toMatchObject({ status: 'cancelled', step: 4 });
    const exported = await trainingApi.exportTrainingRun(result.id);
    expect(readZip(exported.bytes).map((e) => e.name.split('/')[1]).sort()).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors']);
    await trainingApi.deleteTrainingRun(result.id);
    expect((await trainingApi.listTrainingRuns()).find((r) => r.id === result.id)).toBeUndefined();
    setCurrent(null);
  });
});
