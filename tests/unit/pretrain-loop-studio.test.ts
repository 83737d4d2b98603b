// What the studio's first-visit path and Pretrain view stand on: the built-in collection (stored once,
// held-out clusters in test), the FLAN micro preset on the committed micro model with its report kept
// in the evaluations store, experiment-wide progress, the parameter estimate, and pretraining runs
// living beside fine-tuning runs without breaking the Train view's list.
import 'fake-indexeddb/auto';
import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { setNodeBackend } from '../../cli/node-backend';
import { loadCheckpoint } from '../../src/core/model/checkpoint';
import { Decoder } from '../../src/core/model/decoder';
import { runFlanExperiment } from '../../src/core/experiment/flan';
import { HONE_TINY, type PretrainSpec } from '../../src/core/pretrain/pretrain';
import { BUILT_IN_COLLECTION, BUILT_IN_DATASET_ID, builtInCollectionInfo, ensureBuiltInCollection } from '../../src/core/experiment/collection';
import { FLAN_MICRO, flanConfig, progressTracker, trainingRuns } from '../../src/core/experiment/presets';
import { getFlanExperiment, listFlanExperiments, saveFlanExperiment } from '../../src/core/experiment/runs';
import { createPretrainRun, estimateParameters } from '../../src/core/pretrain/session';
import { listRunSummaries } from '../../src/core/train/session-runs';
import { getExamples, listDatasets, openHoneDb, saveEvaluation, type HoneDb } from '../../src/core/store';
import { CLUSTERS } from '../../src/core/world/tasks';

const MICRO_DIR = 'tests/fixtures/hone-micro';
let db: HoneDb;

beforeAll(async () => {
  await setNodeBackend('wasm'); // the experiment takes ~15 s here, over a minute on cpu
  db = await openHoneDb({ name: `hone-studio-${crypto.randomUUID()}` });
});
afterAll(() => db.close());

describe('built-in task collection', () => {
  it('is stored once with a fixed id, held-out clusters in test and the rest in train', async () => {
    const first = await ensureBuiltInCollection(db);
    expect(first.created).toBe(true);
    const perCluster = BUILT_IN_COLLECTION.perCluster;
    const heldOut = BUILT_IN_COLLECTION.heldOut.length;
    expect(first.dataset.counts).toEqual({ total: CLUSTERS.length * perCluster, train: (CLUSTERS.length - heldOut) * perCluster, validation: 0, test: heldOut * perCluster, unsplit: 0 });
    const again = await ensureBuiltInCollection(db);
    expect(again).toMatchObject({ created: false, dataset: { id: BUILT_IN_DATASET_ID, createdAt: first.dataset.createdAt } });
    expect((await listDatasets(db)).filter((d) => d.id === BUILT_IN_DATASET_ID)).toHaveLength(1);
    const test = await getExamples(db, BUILT_IN_DATASET_ID, { split: 'test' });
    expect(new Set(test.map((e) => e.cluster))).toEqual(new Set(['paraphrase', 'sentiment', 'factual_qa']));
  });

  it('describes every cluster with its templates, held-out flag and first records', async () => {
    const info = await builtInCollectionInfo(db, 2);
    expect(info.heldOut).toEqual(['paraphrase', 'sentiment', 'factual_qa']);
    expect(info.clusters.map((c) => c.name)).toEqual(CLUSTERS.map((c) => c.name));
    const sentiment = info.clusters.find((c) => c.name === 'sentiment')!;
    const source = CLUSTERS.find((c) => c.name === 'sentiment')!;
    expect(sentiment).toMatchObject({ heldOut: true, kind: 'classification', examples: 50, templates: source.templates.length });
    expect(sentiment.turnedAroundTemplates).toBe(source.templates.filter((t) => t.turnedAround).length);
    const stored = await getExamples(db, BUILT_IN_DATASET_ID, { cluster: 'sentiment', limit: 2 });
    expect(sentiment.samples).toEqual(stored.map((e) => ({ instruction: e.instruction, output: e.output })));
    expect(info.clusters.every((c) => c.templates >= 5 && c.samples.length === 2)).toBe(true);
  });
});

describe('FLAN experiment in the studio', () => {
  it('the micro preset runs end to end on the committed micro model; the report is stored and found again', async () => {
    const files = new Map(readdirSync(MICRO_DIR).map((name) => [name, new Uint8Array(readFileSync(`${MICRO_DIR}/${name}`))]));
    const checkpoint = loadCheckpoint(files);
    const decoder = Decoder.fromHost(checkpoint.config, checkpoint.weights);
    const before = tf.memory().numTensors;
    const track = progressTracker(FLAN_MICRO);
    const seen: number[] = [];
    const report = await runFlanExperiment(decoder, checkpoint.tokenizer, FLAN_MICRO, { onProgress: (p) => seen.push(track(p).stepsDone) });
    expect(tf.memory().numTensors).toBe(before);
    decoder.dispose();
    expect(report.heldOut).toEqual(FLAN_MICRO.heldOut);
    expect(report.base.items).toHaveLength(FLAN_MICRO.heldOut.length * FLAN_MICRO.evalPerCluster);
    expect(report.ablation.map((a) => a.rendering)).toEqual(['no-template', 'dataset-name', 'instructions']);
    expect(report.sweep.map((s) => s.clusters)).toEqual([0, 2, 10]);
    expect(seen.at(-1)).toBe(trainingRuns(FLAN_MICRO) * FLAN_MICRO.steps); // every run's steps counted once
    expect(seen).toEqual([...seen].sort((a, b) => a - b));

    await saveEvaluation(db, { modelId: 'other', report: { version: 1, rows: [] } }); // an Evaluate-view report
    const stored = await saveFlanExperiment(db, 'micro', { id: 'm1', name: 'hone-micro' }, report);
    expect((await listFlanExperiments(db)).map((e) => e.id)).toEqual([stored.id]);
    const again = await getFlanExperiment(db, stored.id);
    expect(again).toMatchObject({ preset: 'micro', model: { id: 'm1', name: 'hone-micro' } });
    expect(again.report.tuned.overall).toBe(report.tuned.overall);
    await expect(getFlanExperiment(db, 'nope')).rejects.toThrow('FLAN experiment "nope" is not stored');
  });

  it('progress counts each training run once and its evaluation as the run finished', () => {
    let clock = 0;
    const track = progressTracker({ ...FLAN_MICRO, steps: 2, ablation: false, sweep: [] }, () => clock);
    expect(trainingRuns({ ...FLAN_MICRO, ablation: false, sweep: [] })).toBe(2);
    const done = (stage: string, step?: number) => {
      clock += 1000;
      return track(step === undefined ? { stage } : { stage, step, totalSteps: 2, loss: 1 });
    };
    expect(done('base zero-shot')).toMatchObject({ stepsDone: 0, stepsTotal: 4, etaSeconds: null });
    expect(done('tune full', 1)).toMatchObject({ stepsDone: 1, elapsedSeconds: 2, etaSeconds: 6 });
    expect(done('tune full: evaluating')).toMatchObject({ stepsDone: 2 });
    expect(done('tune prefix', 1)).toMatchObject({ stepsDone: 3 });
    expect(done('tune prefix', 2)).toMatchObject({ stepsDone: 4, etaSeconds: 0 });
    expect(() => flanConfig('huge' as 'quick')).toThrow('unknown preset "huge"');
  });
});

describe('pretraining runs beside fine-tuning runs', () => {
  it('the parameter estimate matches the exported micro model and hone-tiny’s size', () => {
    const manifest = JSON.parse(readFileSync(`${MICRO_DIR}/manifest.json`, 'utf8')) as { spec: PretrainSpec; parameters: number };
    expect(estimateParameters(manifest.spec)).toBe(manifest.parameters);
    expect(estimateParameters(HONE_TINY)).toBe(918_656);
  });

  it('the Train view’s run list leaves pretraining runs out (they belong to the Pretrain view) and still reads', async () => {
    const run = await createPretrainRun(db, { spec: { steps: 5 } });
    const listed = await listRunSummaries(db, null);
    expect(listed.find((r) => r.id === run.id)).toBeUndefined();
    expect(listed.every((r) => r.method !== 'pretrain')).toBe(true);
  });
});
