// Staged plans and early stopping through the run builder and the studio's training session
// (tiny-llama, fake-indexeddb): a 2-stage plan with replay and 30% plain text, made by the Data
// view's shaping code, trains stage after stage (stored per-stage steps in order), shuffled only
// within a stage, with a validation share held out of each stage; early stopping ends a run whose
// validation loss rises, and the export (zip and CLI folder) holds the best step's weights, compared
// number for number with a run stopped at that step.
import 'fake-indexeddb/auto';
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from '../../cli/args';
import { trainCommand } from '../../cli/commands/train';
import type { Decoder } from '../../src/core/model/decoder';
import { parseSafetensors } from '../../src/core/model/safetensors';
import { planDatasets, PRETRAINING_TAG, type PlanSpec } from '../../src/core/data/shaping';
import { createDataset, getExamples, getRun, loadLatestCheckpoint, openHoneDb, type HoneDb } from '../../src/core/store';
import { DataOrder } from '../../src/core/train/order';
import { exportRun } from '../../src/core/train/run-export';
import type { RunDataSummary } from '../../src/core/train/run-builder';
import { buildSessionRun, listRunSummaries, TrainingSession, type SessionModel, type TrainSpec } from '../../src/core/train/session';
import { readZip } from '../../src/core/zip';
import { useSessionModel } from './train-session-fixture';

const loaded = useSessionModel();
let decoder: Decoder;
let model: SessionModel;
beforeAll(() => ({ decoder, model } = loaded));

const freshDb = () => openHoneDb({ name: `hone-stages-${crypto.randomUUID()}` });
const METHOD = { name: 'lora', config: { r: 4, lora_alpha: 8, lora_dropout: 0 } };

describe('DataOrder with stages', () => {
  it('visits the stages in order, shuffles only within each, and never mixes two in one batch', () => {
    const order = DataOrder.create(18, 7, true, [9, 9]);
    const batches = Array.from({ length: 6 }, () => {
      const rows = order.next(4);
      return { rows, stage: order.lastGroup };
    });
    expect(batches.map((b) => b.rows.length)).toEqual([4, 4, 1, 4, 4, 1]);
    expect(batches.map((b) => b.stage)).toEqual([0, 0, 0, 1, 1, 1]);
    const first = batches.slice(0, 3).flatMap((b) => b.rows);
    const second = batches.slice(3).flatMap((b) => b.rows);
    expect([...first].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect([...second].sort((a, b) => a - b)).toEqual([9, 10, 11, 12, 13, 14, 15, 16, 17]);
    expect(first).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]); // shuffled within the stage
    expect(second).not.toEqual([9, 10, 11, 12, 13, 14, 15, 16, 17]);
    // the next epoch starts again at stage 1, with a new shuffle; a saved state continues exactly
    const saved = DataOrder.fromState(order.state());
    expect(order.next(4)).toEqual(saved.next(4));
    expect(order.lastGroup).toBe(0);
    // one group is the plain whole-set shuffle, as before stages existed
    expect(DataOrder.create(18, 7, true, [18]).state().order).toEqual(DataOrder.create(18, 7).state().order);
    expect(() => DataOrder.create(18, 7, true, [9, 8])).toThrow('the groups hold 17 rows but there are 18');
  });
});

/** Two instruction datasets and one plain-text dataset, as the Data view stores imports. */
async function sources(db: HoneDb) {
  const qa = await createDataset(db, { name: 'QA', source: 'test' }, Array.from({ length: 30 }, (_, i) => ({ instruction: `What is ${i} plus one?`, output: `${i + 1}` })));
  const words = await createDataset(db, { name: 'Words', source: 'test' }, Array.from({ length: 30 }, (_, i) => ({ instruction: `Spell word ${i}.`, output: `w-${i}` })));
  const text = await createDataset(db, { name: 'Prose', source: 'test' }, Array.from({ length: 30 }, (_, i) => ({ instruction: '', output: `The river ${i} runs to the sea.` })));
  return { qa, words, text };
}

describe('a staged plan trains as shaped', () => {
  it('stage after stage, per-stage steps stored in order, a validation share from each stage, plain text unprompted', { timeout: 240_000 }, async () => {
    const db = await freshDb();
    const { qa, words, text } = await sources(db);
    const plan: PlanSpec = {
      name: 'curriculum',
      stages: [
        { name: 'arithmetic', sources: [{ datasetId: qa.id }], rule: { kind: 'proportional' }, pretraining: { datasetId: text.id, ratio: 0.3 }, steps: 3 },
        { name: 'spelling', sources: [{ datasetId: words.id }], rule: { kind: 'proportional' }, pretraining: { datasetId: text.id, ratio: 0.3 }, steps: 3, replay: 0.25 },
      ],
      examplesPerStep: 4,
      seed: 3,
    };
    const dataset = await planDatasets(db, plan);
    const stored = await getExamples(db, dataset.id);
    expect(stored.length).toBe(24);
    const spec: TrainSpec = {
      modelId: model.id,
      datasetId: dataset.id,
      validationFraction: 0.25,
      maxLength: 256,
      method: METHOD,
      trainer: { totalSteps: 6, batchSize: 3, learningRate: 1e-2, seed: 4 },
      name: 'staged',
    };
    // each stage's 12 examples: 3 held out (round(0.25 · 12)), 9 train = 3 updates of 3 rows
    const built = await buildSessionRun(db, model, spec);
    built.peft.dispose();
    const summary = built.stored.data as RunDataSummary;
    expect(summary.stages).toEqual([
      { stage: 1, name: 'arithmetic', examples: { train: 9, validation: 3 }, rows: { train: 9, validation: 3 } },
      { stage: 2, name: 'spelling', examples: { train: 9, validation: 3 }, rows: { train: 9, validation: 3 } },
    ]);
    expect(built.data.stages).toEqual([9, 9]);
    expect(summary.validationFrom).toBe('held-out');
    // the plan's plain text (30% of each stage's draws) trains unprompted: no row of it carries the Alpaca prompt
    const decoded = [...built.data.train, ...built.data.validation!].map((row) => model.tokenizer.decode(row.inputIds));
    const textCount = stored.filter((e) => e.tags?.includes(PRETRAINING_TAG)).length;
    expect(textCount).toBeGreaterThan(0);
    expect(decoded.filter((t) => t.includes('The river') && !t.includes('### Instruction')).length).toBe(textCount);
    expect(decoded.filter((t) => t.includes('### Instruction')).length).toBe(24 - textCount);
    // stage 1 rows are stage 1's examples: no spelling task before the plan reaches stage 2
    expect(decoded.slice(0, 9).some((t) => t.includes('Spell word'))).toBe(false);

    const events: number[] = [];
    const session = await TrainingSession.start(db, model, spec, (e) => e.kind === 'progress' && events.push(e.stage!));
    expect(await session.run()).toMatchObject({ status: 'completed', step: 6 });
    expect(events).toEqual([1, 1, 1, 2, 2, 2]);
    const run = (await getRun(db, session.runId))!;
    expect(run.metrics.map((m) => [m.step, m.stage])).toEqual([[1, 1], [2, 1], [3, 1], [4, 2], [5, 2], [6, 2]]);
    const [listed] = await listRunSummaries(db, null);
    expect(listed.stageSteps).toEqual([
      { stage: 1, firstStep: 1, lastStep: 3 },
      { stage: 2, firstStep: 4, lastStep: 6 },
    ]);
    expect(listed.data?.stages?.map((s) => s.name)).toEqual(['arithmetic', 'spelling']);
  });
});

describe('early stopping and the best checkpoint', () => {
  /**
   * Train answers "alpha", validation asks the same questions answered "omega": once the format is
   * learnt, learning one raises the other's loss (measured: 6.444, 6.379, 6.368, 6.366, 6.367, 6.369,
   * best at step 4, stopped at 6).
   */
  const records = [
    ...Array.from({ length: 8 }, (_, i) => ({ instruction: `Question ${i}?`, output: 'alpha alpha', split: 'train' as const })),
    ...Array.from({ length: 4 }, (_, i) => ({ instruction: `Question ${i}?`, output: 'omega omega', split: 'validation' as const })),
  ];
  const trainer = { totalSteps: 30, batchSize: 4, learningRate: 5e-2, schedule: 'constant' as const, warmupSteps: 0, seed: 2, evalEvery: 1 };

  async function weightsOf(db: HoneDb, runId: string): Promise<Map<string, Float32Array>> {
    const checkpoint = (await loadLatestCheckpoint(db, runId))!;
    return new Map(checkpoint.tensors.filter((t) => t.name.startsWith('weights/')).map((t) => [t.name.slice('weights/'.length), new Float32Array(t.data)]));
  }
  const maxDiff = (a: Map<string, Float32Array>, b: Map<string, { data: Float32Array }>): number => {
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    let worst = 0;
    for (const [name, values] of a) values.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b.get(name)!.data[i]))));
    return worst;
  };

  it('ends a run whose validation loss rises; the zip and the CLI folder hold the best step\'s weights', { timeout: 240_000 }, async () => {
    const db = await freshDb();
    const dataset = await createDataset(db, { name: 'alpha', source: 'test' }, records);
    const spec: TrainSpec = {
      modelId: model.id,
      datasetId: dataset.id,
      maxLength: 256,
      method: METHOD,
      trainer: { ...trainer, earlyStoppingPatience: 2, earlyStoppingThreshold: 0, loadBestAtEnd: true },
      name: 'early',
    };
    const before = tf.memory().numTensors;
    const valLosses: number[] = [];
    const session = await TrainingSession.start(db, model, spec, (e) => e.kind === 'progress' && e.valLoss !== undefined && valLosses.push(e.valLoss));
    const result = await session.run();
    expect(tf.memory().numTensors).toBe(before);
    expect(result.status).toBe('stopped-early');
    const best = Math.min(...valLosses);
    const bestStep = valLosses.indexOf(best) + 1;
    // patience 2: the run ends two evaluations after its best, well before step 30
    expect(result.step).toBe(bestStep + 2);
    expect(result.step).toBeLessThan(30);
    expect(valLosses.at(-1)!).toBeGreaterThan(best);
    expect(result.bestValLoss).toBe(best);

    // the same run stopped at the best step, and the same run stopped where early stopping ended it
    const atBest = await TrainingSession.start(db, model, { ...spec, trainer: { ...trainer, totalSteps: bestStep }, name: 'at-best' }, () => {});
    await atBest.run();
    const atLast = await TrainingSession.start(db, model, { ...spec, trainer: { ...trainer, totalSteps: result.step }, name: 'at-last' }, () => {});
    await atLast.run();
    const bestWeights = await weightsOf(db, atBest.runId);
    const exported = readZip((await exportRun(db, model, session.runId)).bytes);
    const file = exported.find((e) => e.name.endsWith('adapter_model.safetensors'))!;
    const zipped = parseSafetensors(file.bytes, file.name);
    expect(maxDiff(bestWeights, zipped)).toBeLessThanOrEqual(1e-6);
    const last = await weightsOf(db, atLast.runId);
    expect(maxDiff(last, zipped)).toBeGreaterThan(1e-4); // not the last weights

    // keep-best without early stopping, cancelled where early stopping ended the run: its export is the best step's too
    const cancelled: TrainingSession = await TrainingSession.start(db, model, { ...spec, trainer: { ...trainer, loadBestAtEnd: true }, name: 'cancelled' }, (e) => {
      if (e.kind === 'progress' && e.step === result.step) cancelled.cancel();
    });
    expect(await cancelled.run()).toMatchObject({ status: 'cancelled', step: result.step });
    const cancelledZip = readZip((await exportRun(db, model, cancelled.runId)).bytes).find((e) => e.name.endsWith('adapter_model.safetensors'))!;
    expect(maxDiff(bestWeights, parseSafetensors(cancelledZip.bytes, cancelledZip.name))).toBeLessThanOrEqual(1e-6);
    expect(maxDiff(await weightsOf(db, cancelled.runId), zipped)).toBeGreaterThan(1e-4); // its checkpoint's own weights are the last ones

    // the CLI: the same data file and flags write the same best weights
    const work = mkdtempSync(join(tmpdir(), 'hone-early-'));
    const data = join(work, 'early.jsonl');
    writeFileSync(data, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const out = join(work, 'out');
    const summary = await trainCommand(
      parseArgs([
        'train', '--model', new URL('../fixtures/hf/tiny-llama/', import.meta.url).pathname, '--data', data, '--format', 'hone', '--method', 'lora',
        '--config', JSON.stringify(METHOD.config), '--out', out, '--max-length', '256', '--steps', '30', '--batch', '4', '--lr', '0.05',
        '--schedule', 'constant', '--warmup', '0', '--seed', '2', '--eval-every', '1', '--early-stopping-patience', '2', '--early-stopping-min-delta', '0', '--keep-best',
      ]),
    );
    expect(summary).toMatchObject({ status: 'stopped-early', steps: result.step, exported: 'best', best: { step: bestStep, valLoss: best } });
    const written = parseSafetensors(readFileSync(join(out, 'adapter_model.safetensors')), 'written');
    expect(maxDiff(bestWeights, written)).toBeLessThanOrEqual(1e-6);
  });
});
