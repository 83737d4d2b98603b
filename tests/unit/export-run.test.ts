// The studio's exports of a stored run (fake-indexeddb, tiny-llama stored as the studio stores an
// imported model): a full fine-tune downloads as a whole checkpoint with the base's tokenizer files,
// a LoRA run as a merged checkpoint, and any run as a hand-off zip; the zipped checkpoints reload
// through loadCheckpoint with the tuned logits (1e-5), the hand-off's settings are the run's.
import 'fake-indexeddb/auto';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { readModelDir } from '../../cli/read-model-dir';
import { readAxolotlYaml, settingsOfScript } from '../../src/core/handoff';
import { handoffRun } from '../../src/core/handoff/run-handoff';
import { loadCheckpoint } from '../../src/core/model/checkpoint';
import { computeLogits, Decoder } from '../../src/core/model/decoder';
import { readAdapterFolder } from '../../src/core/peft';
import { PeftModel } from '../../src/core/peft/model';
import { openHoneDb, saveModel, type HoneDb } from '../../src/core/store';
import { exportMergedRun, exportRun } from '../../src/core/train/run-export';
import { TrainingSession, type SessionModel, type TrainSpec } from '../../src/core/train/session';
import { readZip } from '../../src/core/zip';
import { useSessionModel } from './train-session-fixture';

const loaded = useSessionModel();
let model: SessionModel;
let db: HoneDb;
const MODEL_DIR = new URL('../fixtures/hf/tiny-llama/', import.meta.url).pathname;
const INPUT_IDS = [[5, 17, 42, 99, 3, 250, 7]];

const EXAMPLES = [
  ['Colour?', 'Blue.'],
  ['2+2?', 'Four.'],
  ['Hi.', 'Hello!'],
  ['Cows?', 'Moo.'],
  ['Ice?', 'Cold.'],
  ['Fox?', 'Red.'],
].map(([prompt, completion]) => ({ prompt, completion }));

function spec(method: TrainSpec['method']): TrainSpec {
  return {
    modelId: 'tiny-llama',
    examples: EXAMPLES,
    validationFraction: 0,
    method,
    trainer: { totalSteps: 3, batchSize: 2, learningRate: 2e-2, seed: 3 },
    maxLength: 24,
    checkpointEvery: 3,
    name: `test ${method.name}`,
  };
}

async function trainedRun(method: TrainSpec['method']): Promise<{ runId: string; session: TrainingSession }> {
  const session = await TrainingSession.start(db, model, spec(method), () => {});
  expect(await session.run()).toMatchObject({ status: 'completed', step: 3 });
  return { runId: session.runId, session };
}

const unzip = (bytes: Uint8Array): Map<string, Uint8Array> => new Map(readZip(bytes).map((e) => [e.name.split('/').slice(1).join('/'), e.bytes]));
const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

async function reloadedLogits(files: Map<string, Uint8Array>): Promise<Float32Array> {
  const checkpoint = loadCheckpoint(files);
  const decoder = Decoder.fromHost(checkpoint.config, checkpoint.weights);
  try {
    return (await computeLogits(decoder, INPUT_IDS)).data;
  } finally {
    decoder.dispose();
  }
}

beforeAll(async () => {
  model = loaded.model;
  db = await openHoneDb({ name: `hone-export-run-${crypto.randomUUID()}` });
  const files = await readModelDir(MODEL_DIR);
  await saveModel(db, { id: 'tiny-llama', name: 'tiny-llama', modelType: 'llama', family: 'llama', parameterCount: 0, architecture: {}, source: 'test' }, files);
});

describe('studio exports of a stored run', () => {
  it('a full fine-tune downloads as a complete checkpoint that reloads with the tuned logits', { timeout: 60_000 }, async () => {
    const { runId } = await trainedRun({ name: 'full' });
    const before = tf.memory().numTensors;
    const exported = await exportRun(db, model, runId);
    expect(tf.memory().numTensors).toBe(before);
    expect(exported.fileName).toBe('test-full.zip');
    const files = unzip(exported.bytes);
    expect([...files.keys()].sort()).toEqual(['README.md', 'config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const base = (await computeLogits(model.decoder, INPUT_IDS)).data;
    const tuned = await reloadedLogits(files);
    expect(maxDiff(tuned, base)).toBeGreaterThan(1e-3);
  });

  it('a LoRA run downloads merged into the base, with the adapter’s logits', { timeout: 60_000 }, async () => {
    const { runId } = await trainedRun({ name: 'lora', config: { r: 4 } });
    const adapter = unzip((await exportRun(db, model, runId)).bytes);
    const before = tf.memory().numTensors;
    const merged = await exportMergedRun(db, model, runId);
    expect(tf.memory().numTensors).toBe(before);
    expect(merged.fileName).toBe('test-lora-merged.zip');
    const files = unzip(merged.bytes);
    expect(files.has('tokenizer.json') && files.has('generation_config.json')).toBe(true);
    // the adapter zip on the base = the merged checkpoint alone
    const peft = new PeftModel(model.decoder, readAdapterFolder(adapter, model.decoder));
    try {
      const withAdapter = (await computeLogits((ids, mask) => peft.forward(ids, mask), INPUT_IDS)).data;
      expect(maxDiff(await reloadedLogits(files), withAdapter)).toBeLessThanOrEqual(1e-5);
    } finally {
      peft.dispose();
    }
    await expect(exportMergedRun(db, model, (await trainedRun({ name: 'ia3' })).runId)).rejects.toThrow('trained ia3; only LoRA runs can be merged');
  });

  it('any run downloads as a hand-off with its settings', { timeout: 60_000 }, async () => {
    const { runId } = await trainedRun({ name: 'lora', config: { r: 4 } });
    const before = tf.memory().numTensors;
    const handoff = await handoffRun(db, model, runId);
    expect(tf.memory().numTensors).toBe(before);
    expect(handoff.fileName).toBe('test-lora-handoff.zip');
    const files = unzip(handoff.bytes);
    expect([...files.keys()].sort()).toEqual(['README.md', 'axolotl.yaml', 'data.jsonl', 'train_trl.py']);
    const settings = settingsOfScript(new TextDecoder().decode(files.get('train_trl.py')));
    expect(settings).toMatchObject({ base_model: 'tiny-llama', method: 'lora', max_steps: 3, per_device_train_batch_size: 2, learning_rate: 2e-2, seed: 3, max_length: 24, eval_file: null });
    expect(settings.peft_config).toMatchObject({ peft_type: 'LORA', r: 4 });
    expect(readAxolotlYaml(new TextDecoder().decode(files.get('axolotl.yaml'))).get('lora_r')).toBe(4);
    // the inline examples as TRL standard prompt-completion rows, in order
    expect(new TextDecoder().decode(files.get('data.jsonl')).trim().split('\n').map((line) => JSON.parse(line))).toEqual(EXAMPLES);
  });
});
