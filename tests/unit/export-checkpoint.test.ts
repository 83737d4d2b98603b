// Exports that load back (issue 13, item 4): a full fine-tune, a layer-freezing run and LoRA merged
// into the base, each after a few training steps (so the weights are not the base's), written as a
// whole Hugging Face checkpoint, read back from disk through the CLI's reader and loadCheckpoint,
// give the tuned model's logits within 1e-5; the folder holds what AutoTokenizer and
// AutoModelForCausalLM read, with the file set, tensor names and config keys of the fixtures that
// transformers wrote (tied weights left out as it leaves them out).
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { readModelDir } from '../../cli/read-model-dir';
import { loadCheckpoint } from '../../src/core/model/checkpoint';
import { computeLogits, Decoder } from '../../src/core/model/decoder';
import { parseSafetensors } from '../../src/core/model/safetensors';
import { exportAdapterFolder } from '../../src/core/peft';
import { CHECKPOINT_FILES } from '../../src/core/peft/full/hf-folder';
import { exportMergedCheckpoint } from '../../src/core/peft/lora/merge-export';
import type { PeftModel } from '../../src/core/peft/model';
import { Trainer } from '../../src/core/train/loop';
import { prepareRun } from '../../src/core/train/run-builder';
import { MODELS, fixtureDir, type ModelName } from './peft-helpers';

// short TRL prompt-completion pairs: the fixtures' tokenizers are small, their positions 64
const RECORDS = [
  { kind: 'prompt-completion' as const, instruction: 'Colour?', output: ' Blue.' },
  { kind: 'prompt-completion' as const, instruction: '2+3=', output: '5' },
  { kind: 'prompt-completion' as const, instruction: 'Hi:', output: ' Hello there.' },
  { kind: 'text' as const, instruction: '', output: 'one two three' },
];
const INPUT_IDS = [
  [5, 17, 42, 99, 3, 250, 7],
  [11, 2, 64, 128, 9, 33, 1],
];
const work = mkdtempSync(join(tmpdir(), 'hone-export-'));

const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

async function trained(model: ModelName, method: string, config: Record<string, unknown> = {}) {
  const files = await readModelDir(fixtureDir(model));
  const checkpoint = loadCheckpoint(files);
  const decoder = Decoder.fromHost(checkpoint.config, checkpoint.weights);
  const run = prepareRun(decoder, checkpoint.tokenizer, { name: 'export-test', records: RECORDS }, {
    method: { name: method, config },
    trainer: { totalSteps: 3, batchSize: 2, learningRate: 2e-2, seed: 7 },
    rows: { maxLength: 48 },
    validationFraction: 0,
  });
  const trainer = new Trainer(run.peft, run.data, run.trainer);
  await trainer.run();
  trainer.dispose();
  return { files, checkpoint, decoder, peft: run.peft };
}

const tunedLogits = (peft: PeftModel) => computeLogits((ids, mask) => peft.forward(ids, mask), INPUT_IDS);

/** Writes the folder, reads it back as `hone` reads a model folder, and returns the reloaded logits. */
async function reload(name: string, files: Map<string, Uint8Array>) {
  const dir = join(work, name);
  mkdirSync(dir);
  for (const [file, bytes] of files) writeFileSync(join(dir, file), bytes);
  const checkpoint = loadCheckpoint(await readModelDir(dir));
  const decoder = Decoder.fromHost(checkpoint.config, checkpoint.weights);
  try {
    return { checkpoint, logits: await computeLogits(decoder, INPUT_IDS) };
  } finally {
    decoder.dispose();
  }
}

function checkLayout(model: ModelName, files: Map<string, Uint8Array>, base: Map<string, Uint8Array>): void {
  const fixture = fixtureDir(model);
  for (const name of CHECKPOINT_FILES) expect(files.has(name), name).toBe(true);
  // the tokenizer is the base's, byte for byte
  for (const name of ['tokenizer.json', 'tokenizer_config.json']) expect(Buffer.from(files.get(name)!).equals(Buffer.from(base.get(name)!)), name).toBe(true);
  const config = JSON.parse(new TextDecoder().decode(files.get('config.json'))) as Record<string, unknown>;
  const reference = JSON.parse(readFileSync(join(fixture, 'config.json'), 'utf8')) as Record<string, unknown>;
  // every key transformers wrote, with its value (the export only adds keys and sets the dtype)
  for (const [key, value] of Object.entries(reference)) expect(config[key], key).toEqual(value);
  expect(config).toMatchObject({
    architectures: [model === 'tiny-gpt2' ? 'GPT2LMHeadModel' : 'LlamaForCausalLM'],
    model_type: reference['model_type'],
    torch_dtype: 'float32',
    dtype: 'float32',
  });
  const generation = JSON.parse(new TextDecoder().decode(files.get('generation_config.json'))) as Record<string, unknown>;
  expect(generation).toMatchObject({ _from_model_config: true, bos_token_id: reference['bos_token_id'], eos_token_id: reference['eos_token_id'] });
  expect('pad_token_id' in generation).toBe(false); // null in config.json: from_model_config leaves it out
  // the tensor names (and shapes) transformers saved: GPT-2's tied lm_head is absent, Llama's untied one present
  const written = parseSafetensors(files.get('model.safetensors')!, 'export');
  const saved = parseSafetensors(new Uint8Array(readFileSync(join(fixture, 'model.safetensors'))), 'fixture');
  expect([...written.keys()].sort()).toEqual([...saved.keys()].sort());
  for (const [name, tensor] of saved) expect(written.get(name)!.shape, name).toEqual(tensor.shape);
  expect(written.has('lm_head.weight')).toBe(model === 'tiny-llama');
}

describe.each(MODELS)('checkpoint exports of %s', (model) => {
  it.each([
    ['full', {}],
    ['freeze', { trainable_layers: 1, train_norms: true }],
  ] as const)('a %s fine-tune exports a whole checkpoint that reloads with equal logits', async (method, config) => {
    const before = tf.memory().numTensors;
    const { files: base, checkpoint, decoder, peft } = await trained(model, method, config);
    try {
      const tuned = await tunedLogits(peft);
      const baseLogits = await computeLogits(decoder, INPUT_IDS);
      expect(maxDiff(tuned.data, baseLogits.data)).toBeGreaterThan(1e-3); // training moved the weights
      const files = await exportAdapterFolder(peft.method!, { baseModel: `hone-test/${model}`, rawConfig: checkpoint.rawConfig, baseFiles: base });
      checkLayout(model, files, base);
      const back = await reload(`${model}-${method}`, files);
      expect(back.logits.shape).toEqual(tuned.shape);
      expect(maxDiff(back.logits.data, tuned.data)).toBeLessThanOrEqual(1e-5);
      expect(back.checkpoint.tokenizer.encode('Hello world')).toEqual(checkpoint.tokenizer.encode('Hello world'));
    } finally {
      peft.dispose();
      decoder.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('LoRA merged into the base reloads with the adapter’s logits, and leaves decoder and adapter as they were', async () => {
    const before = tf.memory().numTensors;
    const { files: base, checkpoint, decoder, peft } = await trained(model, 'lora', { r: 4, lora_alpha: 8 });
    try {
      const tuned = await tunedLogits(peft);
      const baseLogits = await computeLogits(decoder, INPUT_IDS);
      expect(maxDiff(tuned.data, baseLogits.data)).toBeGreaterThan(1e-4);
      const files = await exportMergedCheckpoint(decoder, peft.method!, { baseModel: `hone-test/${model}`, rawConfig: checkpoint.rawConfig, baseFiles: base });
      checkLayout(model, files, base);
      const back = await reload(`${model}-lora-merged`, files);
      expect(maxDiff(back.logits.data, tuned.data)).toBeLessThanOrEqual(1e-5);
      // unmerged again: the base decoder is the base, and the adapter still applies on top of it
      expect(maxDiff((await computeLogits(decoder, INPUT_IDS)).data, baseLogits.data)).toBe(0);
      expect(maxDiff((await tunedLogits(peft)).data, tuned.data)).toBe(0);
    } finally {
      peft.dispose();
      decoder.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('merged export refusals', () => {
  it('refuses a method that is not LoRA, by name', async () => {
    const { files: base, decoder, peft } = await trained('tiny-llama', 'ia3');
    try {
      await expect(exportMergedCheckpoint(decoder, peft.method!, { baseModel: 'b', baseFiles: base })).rejects.toThrow('merged export (method): is "ia3"; only LoRA adapters can be merged');
    } finally {
      peft.dispose();
      decoder.dispose();
    }
  });

  it('refuses base files without tokenizer.json, naming it', async () => {
    const { decoder, peft } = await trained('tiny-llama', 'lora');
    try {
      await expect(exportMergedCheckpoint(decoder, peft.method!, { baseModel: 'b', baseFiles: new Map() })).rejects.toThrow(/^tokenizer\.json: the base model's files do not include it/);
      expect(decoder.params.size).toBeGreaterThan(0);
    } finally {
      peft.dispose();
      decoder.dispose();
    }
  });
});
