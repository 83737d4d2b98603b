// A run that diverges, end to end: `hone train --lr 1e39` is refused naming --lr; a run whose
// settings are legal but whose weights blow up (full fine-tuning of tiny-llama at lr 10 with weight
// decay 1000: every update multiplies each weight by 1 − 10·1000) ends 'diverged' — the CLI exits
// non-zero with one line and writes nothing; the studio's session stores status 'diverged', keeps
// its last finite checkpoint untouched, and Export gives exactly those (finite) weights.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { parseSafetensors } from '../../src/core/model/safetensors';
import { getRun, listCheckpoints, loadLatestCheckpoint, openHoneDb, type CheckpointRecord } from '../../src/core/store';
import { exportRun } from '../../src/core/train/run-export';
import { TrainingSession, listRunSummaries, type TrainEvent, type TrainSpec } from '../../src/core/train/session';
import { readZip } from '../../src/core/zip';
import { useSessionModel } from './train-session-fixture';

const root = fileURLToPath(new URL('../../', import.meta.url));
const modelDir = fileURLToPath(new URL('../fixtures/hf/tiny-llama/', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'hone-diverge-'));
const dataFile = join(work, 'data.jsonl');
writeFileSync(
  dataFile,
  [
    { instruction: 'Name a color.', input: '', output: 'Blue' },
    { instruction: 'Name a fruit.', input: '', output: 'Apple' },
    { instruction: 'Say hello.', input: '', output: 'Hello there' },
  ]
    .map((r) => JSON.stringify(r))
    .join('\n') + '\n',
);

function hone(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node', ['--import', 'tsx', 'cli/hone.ts', ...args], { cwd: root }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}
const messages = (stderr: string) => stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{') && !/^=+$|Hi, looks like you are running TensorFlow\.js/.test(l));
const trainArgs = (out: string, extra: string[]) => [
  'train', '--model', modelDir, '--data', dataFile, '--method', 'full', '--out', out, '--backend', 'cpu', '--batch', '2', '--max-length', '256', ...extra,
];

describe('hone train', () => {
  it('refuses --lr 1e39 naming the flag, and ends a diverging run non-zero with nothing written', async () => {
    const refused = join(work, 'refused');
    const [huge, diverging] = await Promise.all([
      hone(trainArgs(refused, ['--lr', '1e39'])),
      hone(trainArgs(join(work, 'diverged'), ['--steps', '30', '--lr', '10', '--weight-decay', '1000', '--schedule', 'constant'])),
    ]);
    expect(huge.code).toBe(2);
    expect(huge.stdout).toBe('');
    expect(messages(huge.stderr)).toEqual([
      'hone: --lr (TrainerConfig.learningRate) must be at most 10 (AdamW moves every weight by about the learning rate each update), got 1e+39; LoRA usually trains at 1e-4 to 1e-3, full fine-tuning at 1e-5 to 1e-4',
    ]);
    expect(existsSync(refused)).toBe(false);

    expect(diverging.code).toBe(1);
    expect(diverging.stdout).toBe('');
    const progress = diverging.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { step: number; skipped: boolean });
    // steps 1–3 update (the loss reaches 3.5e7 at step 2); the weights then overflow the logits and
    // steps 4–6 are skipped: three bad updates in a row
    expect(progress.map((p) => p.skipped)).toEqual([false, false, false, true, true, true]);
    expect(messages(diverging.stderr)).toEqual([
      `hone: training diverged at step 6: 3 updates in a row had a loss, gradient or weights that were not finite (NaN or Infinity); nothing was written to ${join(work, 'diverged')}. Lower --lr (it was 10) and train again`,
    ]);
    expect(existsSync(join(work, 'diverged'))).toBe(false);
  }, 300_000);
});

describe('TrainingSession', () => {
  const loaded = useSessionModel();

  it('stores a diverged run as "diverged", keeps its last finite checkpoint and exports it', async () => {
    const db = await openHoneDb({ name: `hone-diverge-${crypto.randomUUID()}` });
    const spec: TrainSpec = {
      modelId: 'tiny-llama',
      examples: [
        { prompt: 'Name a color. ', completion: 'Blue' },
        { prompt: 'Name a fruit. ', completion: 'Apple' },
        { prompt: 'Say hello. ', completion: 'Hello there' },
      ],
      validationFraction: 0,
      method: { name: 'full' },
      trainer: { totalSteps: 30, batchSize: 2, learningRate: 10, weightDecay: 1000, schedule: 'constant', seed: 42 },
      maxLength: 64,
      checkpointEvery: 2,
      name: 'runaway',
    };
    const events: TrainEvent[] = [];
    const saved = new Map<number, Promise<CheckpointRecord | undefined>>();
    const before = tf.memory().numTensors;
    const session = await TrainingSession.start(db, loaded.model, spec, (e) => {
      events.push(e);
      // a copy of each checkpoint as it was written, to compare with what is kept at the end
      if (e.kind === 'checkpoint') saved.set(e.step, loadLatestCheckpoint(db, session.runId).then((c) => c && structuredClone(c)));
    });
    const summary = await session.run();
    expect(tf.memory().numTensors).toBe(before);
    expect(summary.status).toBe('diverged');
    const last = events.at(-1)!;
    expect(last).toMatchObject({ kind: 'status', status: 'diverged' });
    const latest = (await loadLatestCheckpoint(db, session.runId))!;
    const message =
      `Training diverged at step ${session.currentStep}: 3 updates in a row had a loss, gradient or weights that were not finite (NaN or Infinity). ` +
      `The weights were rolled back to step ${latest.step}, the last checkpoint with finite weights; Export gives those. Start a new run with a lower learning rate (this one used 10).`;
    expect(last.kind === 'status' && last.message).toBe(message);
    expect(await getRun(db, session.runId)).toMatchObject({ status: 'diverged', error: message });
    expect((await listRunSummaries(db, null))[0]).toMatchObject({ id: session.runId, status: 'diverged', error: message });

    // the kept checkpoint is the last one written, unchanged, and every value in it is finite
    expect([...saved.keys()].at(-1)).toBe(latest.step);
    expect(latest).toEqual(await saved.get(latest.step));
    expect((await listCheckpoints(db, session.runId)).map((c) => c.step)).toEqual([latest.step]);
    for (const t of latest.tensors) expect(new Float32Array(t.data).every(Number.isFinite), t.name).toBe(true);

    // a diverged run is not resumed; Export gives the kept checkpoint's weights
    await expect(TrainingSession.resume(db, loaded.model, session.runId, () => {})).rejects.toThrow('Run “runaway” diverged');
    const exported = await exportRun(db, loaded.model, session.runId);
    const files = readZip(exported.bytes);
    const safetensors = files.find((f) => f.name.endsWith('/model.safetensors'))!;
    const tensors = parseSafetensors(safetensors.bytes, safetensors.name);
    let compared = 0;
    for (const [name, tensor] of tensors) {
      const data = tensor.data as Float32Array;
      expect(data.every(Number.isFinite), name).toBe(true);
      const saved = latest.tensors.find((t) => t.name === `weights/${name}`);
      if (saved) {
        expect(Array.from(data), name).toEqual(Array.from(new Float32Array(saved.data)));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(0);
    db.close();
  }, 120_000);
});
