// The one run builder (src/core/train/run-builder.ts) on tiny-llama: the studio's training session
// (records imported into IndexedDB, fake-indexeddb) builds exactly the rows, validation and trainer
// settings the CLI builds from the same file, and both train to the same weights; a mixed-kind
// dataset keeps each record's kind (plain text unprompted, a system-turn conversation through the
// chat template); bad records and settings are refused by name with nothing stored.
import 'fake-indexeddb/auto';
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from '../../cli/args';
import { readRecordsFile, trainCommand } from '../../cli/commands/train';
import type { Decoder } from '../../src/core/model/decoder';
import { parseSafetensors } from '../../src/core/model/safetensors';
import { importDatasetFile } from '../../src/core/data/library/import';
import type { InstructionRecord } from '../../src/core/data/record';
import { getRun, loadLatestCheckpoint, openHoneDb, type HoneDb } from '../../src/core/store';
import { IGNORE_INDEX } from '../../src/core/train/batch';
import { buildRunData, prepareRun, splitOff } from '../../src/core/train/run-builder';
import { buildSessionRun, TrainingSession, type SessionModel, type TrainSpec } from '../../src/core/train/session';
import { useSessionModel } from './train-session-fixture';

const loaded = useSessionModel();
let decoder: Decoder;
let model: SessionModel;
beforeAll(() => ({ decoder, model } = loaded));

const modelDir = new URL('../fixtures/hf/tiny-llama/', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'hone-run-builder-'));
const freshDb = () => openHoneDb({ name: `hone-run-builder-${crypto.randomUUID()}` });

/** Every record kind a mixture can hold, in Hone's own JSONL (what `hone import --out` writes). */
const MIXED: InstructionRecord[] = [
  { instruction: 'Name a colour.', output: 'Blue.' },
  { instruction: '', output: 'The fox is red and the sky is blue.' }, // plain text: unprompted
  { instruction: 'Add the numbers.', context: '2 and 3', output: '5' },
  {
    instruction: '',
    conversation: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello.' },
      { role: 'user', content: 'Bye' },
      { role: 'assistant', content: 'Bye.' },
    ],
  },
  { instruction: 'Opposite of up?', output: 'down' },
  { instruction: '', output: 'Birds sing at dawn.' },
  { instruction: 'Say hello.', output: 'Hello there' },
  { instruction: 'A fruit, please.', output: 'An apple.' },
];

function writeJsonl(name: string, records: readonly InstructionRecord[]): string {
  const file = join(work, name);
  writeFileSync(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return file;
}

/** The studio's side: the file imported into IndexedDB as the Data view does it. */
async function importIntoStore(db: HoneDb, file: string): Promise<string> {
  const outcome = await importDatasetFile(db, { name: file.split('/').at(-1)!, bytes: new Uint8Array(readFileSync(file)) }, { format: 'hone' });
  if (outcome.status !== 'imported') throw new Error(`import failed: ${JSON.stringify(outcome)}`);
  return outcome.dataset.id;
}

async function storeContents(db: HoneDb) {
  return { runs: JSON.stringify(await db.getAll('runs')), checkpoints: (await db.getAllKeys('checkpoints')).sort() };
}

const METHOD = { name: 'lora', config: { r: 4, lora_alpha: 8, lora_dropout: 0 } };

describe('the studio and the CLI build the same run', () => {
  it('same rows, validation, summary and trainer settings from the same file and settings; same weights after training', { timeout: 240_000 }, async () => {
    const file = writeJsonl('mixed.jsonl', MIXED);
    const db = await freshDb();
    const datasetId = await importIntoStore(db, file);
    const settings = { maxLength: 256, validationFraction: 0.25, steps: 3, batch: 2, lr: 1e-2, seed: 5 };
    const spec: TrainSpec = {
      modelId: model.id,
      datasetId,
      validationFraction: settings.validationFraction,
      maxLength: settings.maxLength,
      method: METHOD,
      trainer: { totalSteps: settings.steps, batchSize: settings.batch, learningRate: settings.lr, seed: settings.seed },
      name: 'same-run',
    };
    const before = tf.memory().numTensors;
    const studio = await buildSessionRun(db, model, spec);
    const cli = prepareRun(decoder, model.tokenizer, await readRecordsFile(file, 'hone'), {
      method: METHOD,
      trainer: spec.trainer,
      rows: { maxLength: settings.maxLength },
      validationFraction: settings.validationFraction,
    });
    studio.peft.dispose();
    cli.peft.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(studio.data).toEqual(cli.data);
    expect(studio.trainerInput).toEqual(cli.trainer);
    expect(studio.stored.data).toEqual(cli.summary);
    // 8 records, 2 held out (round(0.25 · 8)), every one used; evalEvery ten times a run: max(1, round(3 / 10))
    expect(cli.summary).toMatchObject({ examples: 8, used: 8, skipped: { test: 0 }, dropped: [], rows: { train: 6, validation: 2 }, validationFrom: 'held-out' });
    expect(cli.trainer).toMatchObject({ evalEvery: 1, padTokenId: model.tokenizer.eosTokenId, seed: 5, batchSize: 2, learningRate: 1e-2, totalSteps: 3 });
    expect(cli.summary.scoredTokens.train).toBe(cli.data.train.reduce((n, row) => n + row.labels.slice(1).filter((l) => l !== IGNORE_INDEX).length, 0));

    // both sides train: the session's stored weights equal the CLI's written folder
    const session = await TrainingSession.start(db, model, spec, () => {});
    expect(await session.run()).toMatchObject({ status: 'completed', step: 3 });
    const out = join(work, 'same-run-out');
    const args = parseArgs([
      'train', '--model', modelDir, '--data', file, '--format', 'hone', '--method', 'lora', '--config', JSON.stringify(METHOD.config), '--out', out,
      '--steps', '3', '--batch', '2', '--lr', '0.01', '--seed', '5', '--max-length', '256', '--val-fraction', '0.25',
    ]);
    const summary = await trainCommand(args);
    expect(summary.data).toEqual(cli.summary);
    expect(summary.settings.trainer).toEqual(cli.trainer);
    const written = parseSafetensors(readFileSync(join(out, 'adapter_model.safetensors')), 'written');
    const checkpoint = (await loadLatestCheckpoint(db, session.runId))!;
    const stored = new Map(checkpoint.tensors.filter((t) => t.name.startsWith('weights/')).map((t) => [t.name.slice('weights/'.length), new Float32Array(t.data)]));
    expect([...written.keys()].sort()).toEqual([...stored.keys()].sort());
    for (const [name, t] of written) {
      const diff = Math.max(...t.data.map((v, i) => Math.abs(v - stored.get(name)![i])));
      expect(diff, name).toBeLessThanOrEqual(1e-6);
    }
    const run = (await getRun(db, session.runId))!;
    expect(run.config).toMatchObject({ promptFormat: 'alpaca', loss: 'completion', packing: false, maxLength: 256, rows: { train: 6, validation: 2, dropped: 0 } });
  });

  it('every record trains as what it is: plain text unprompted and fully scored, the system-turn conversation through the chat template', () => {
    const { train, validation, summary } = buildRunData(MIXED, model.tokenizer, { maxLength: 256, validationFraction: 0, seed: 1 });
    expect(validation).toEqual([]);
    expect(summary).toMatchObject({ examples: 8, used: 8, dropped: [] });
    const text = (i: number) => model.tokenizer.decode(train[i].inputIds);
    expect(text(0)).toContain('### Instruction:\nName a colour.');
    // plain text: no prompt around it, and every token after the first is scored
    expect(text(1)).not.toContain('### Instruction');
    expect(text(1)).toContain('The fox is red and the sky is blue.');
    expect(train[1].labels.slice(1).every((l) => l !== IGNORE_INDEX)).toBe(true);
    // the conversation keeps its system turn and both assistant turns, rendered by the tokenizer's chat template
    expect(text(3)).toContain('system\nBe brief.');
    expect(text(3)).toContain('assistant\nBye.');
    expect(text(3)).not.toContain('### Instruction');
    // loss 'assistant' (TRL's assistant_only_loss) scores both assistant turns and nothing the user or system said
    const assistant = buildRunData([MIXED[3]], model.tokenizer, { maxLength: 256, validationFraction: 0, seed: 1, loss: 'assistant' });
    const row = assistant.train[0];
    const scoredText = model.tokenizer.decode(row.inputIds.filter((_, i) => i > 0 && row.labels[i] !== IGNORE_INDEX));
    expect(scoredText).toContain('Hello.');
    expect(scoredText).toContain('Bye.');
    expect(scoredText).not.toContain('Be brief');
    expect(scoredText).not.toContain('Hi');
    expect(assistant.summary.scoredTokens.train).toBe(row.labels.slice(1).filter((l) => l !== IGNORE_INDEX).length);
  });
});

describe('bad records and settings', () => {
  it('a conversation with no assistant turn, an unknown prompt format, packing that is not a switch: refused by name, nothing stored', { timeout: 60_000 }, async () => {
    const db = await freshDb();
    const good = await importIntoStore(db, writeJsonl('good.jsonl', MIXED));
    const noAssistant = await importIntoStore(
      db,
      writeJsonl('no-assistant.jsonl', [...MIXED, { instruction: '', conversation: [{ role: 'system', content: 'x' }, { role: 'user', content: 'Hi' }] }]),
    );
    const base: TrainSpec = { modelId: model.id, datasetId: good, maxLength: 256, method: METHOD, trainer: { totalSteps: 1 }, validationFraction: 0 };
    await (await TrainingSession.start(db, model, base, () => {})).run();
    const before = await storeContents(db);
    const tensors = tf.memory().numTensors;
    const cases: [TrainSpec, RegExp][] = [
      [{ ...base, datasetId: noAssistant }, /record 8 \(conversation\), field "conversation/],
      [{ ...base, promptFormat: 'markdown' as never }, /promptFormat must be one of alpaca, template, chat, got "markdown"/],
      [{ ...base, loss: 'prompt' as never }, /loss must be one of completion, assistant, all, got "prompt"/],
      [{ ...base, packing: 'yes' as never }, /packing must be true or false, got "yes"/],
      [{ ...base, chatTemplate: '  ' }, /chatTemplate must be a Jinja chat template/],
      [{ ...base, trainer: { totalSteps: 2, earlyStoppingPatience: 1 } }, /trainer\.earlyStoppingPatience needs validation examples/],
      [{ ...base, trainer: { totalSteps: 2, loadBestAtEnd: true } }, /trainer\.loadBestAtEnd needs validation examples/],
      [{ ...base, trainer: { totalSteps: 2, earlyStoppingThreshold: -1 } }, /earlyStoppingThreshold must be ≥ 0, got -1/],
    ];
    for (const [bad, message] of cases) {
      await expect(TrainingSession.start(db, model, bad, () => {}), message.source).rejects.toThrow(message);
    }
    expect(await storeContents(db)).toEqual(before);
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('the validation share is of examples, seeded, never all of them', () => {
    expect(splitOff(['a', 'b', 'c', 'd'], 0.25, 3).validation).toHaveLength(1);
    expect(() => buildRunData(MIXED, model.tokenizer, { maxLength: 256, validationFraction: 1, seed: 1 })).toThrow('validationFraction must be a number in [0, 1), got 1');
    const a = buildRunData(MIXED, model.tokenizer, { maxLength: 256, validationFraction: 0.25, seed: 1 });
    expect(buildRunData(MIXED, model.tokenizer, { maxLength: 256, validationFraction: 0.25, seed: 1 })).toEqual(a);
    expect(a.summary.rows).toEqual({ train: 6, validation: 2 });
  });
});
