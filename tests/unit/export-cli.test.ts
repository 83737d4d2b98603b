// `hone export --merge` and `hone train --method full --out`: the folders reload through the CLI's
// own reader. PEFT's LoRA adapters in the fixtures, merged by Hone, give transformers + PEFT's
// reference logits (logits.lora, 1e-4 on unmasked positions, the fixtures' tolerance) and Hone's
// unmerged adapter logits (1e-5); a full fine-tune written by `hone train` now carries its tokenizer
// (it failed with "tokenizer.json: is missing" before).
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from '../../cli/args';
import { exportCommand } from '../../cli/commands/export';
import { trainCommand } from '../../cli/commands/train';
import { readModelDir } from '../../cli/read-model-dir';
import { loadCheckpoint } from '../../src/core/model/checkpoint';
import { Decoder } from '../../src/core/model/decoder';
import { PeftModel, readAdapterFolder } from '../../src/core/peft';
import { MODELS, fixtureDir, loadFixture, logitsOf, maxDiffUnmasked } from './peft-helpers';

const work = mkdtempSync(join(tmpdir(), 'hone-export-cli-'));

describe.each(MODELS)('hone export --merge on %s', (model) => {
  it('PEFT’s LoRA adapter merged into the base gives the reference logits, and reloads', async () => {
    const out = join(work, `${model}-merged`);
    const before = tf.memory().numTensors;
    const summary = await exportCommand(parseArgs(['export', '--model', fixtureDir(model), '--adapter', `${fixtureDir(model)}adapters/lora`, '--merge', '--out', out]));
    expect(tf.memory().numTensors).toBe(before);
    expect(summary).toMatchObject({ merged: true, method: 'lora', baseModel: model });
    expect(readdirSync(out).sort()).toEqual(['README.md', 'config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);

    const fixture = loadFixture(model);
    const checkpoint = loadCheckpoint(await readModelDir(out));
    const merged = Decoder.fromHost(checkpoint.config, checkpoint.weights);
    const adapter = new PeftModel(fixture.decoder, readAdapterFolder(fixture.adapter('lora'), fixture.decoder));
    try {
      const mergedLogits = logitsOf(new PeftModel(merged, null), fixture);
      const reference = fixture.reference.get('logits.lora')!.data;
      expect(maxDiffUnmasked(mergedLogits, reference, fixture.attentionMask)).toBeLessThan(1e-4);
      expect(maxDiffUnmasked(mergedLogits, logitsOf(adapter, fixture), fixture.attentionMask)).toBeLessThanOrEqual(1e-5);
    } finally {
      adapter.dispose();
      merged.dispose();
      fixture.decoder.dispose();
    }
  });
});

describe('hone export refusals', () => {
  it('asks for --merge, and refuses a non-empty --out', async () => {
    const dir = fixtureDir('tiny-llama');
    await expect(exportCommand(parseArgs(['export', '--model', dir, '--adapter', `${dir}adapters/lora`, '--out', join(work, 'x')]))).rejects.toThrow(/give --merge/);
    await expect(exportCommand(parseArgs(['export', '--model', dir, '--adapter', `${dir}adapters/lora`, '--merge', '--out', dir]))).rejects.toThrow(/already exists and is not an empty folder/);
  });

  it('names the adapter folder when the adapter is not LoRA', async () => {
    const dir = fixtureDir('tiny-llama');
    await expect(exportCommand(parseArgs(['export', '--model', dir, '--adapter', `${dir}adapters/ia3`, '--merge', '--out', join(work, 'ia3')]))).rejects.toThrow(
      `--adapter ${dir}adapters/ia3: merged export (method): is "ia3"; only LoRA adapters can be merged`,
    );
    expect(readdirSync(work)).not.toContain('ia3');
  });
});

describe('hone train --method full', () => {
  it('writes a checkpoint the CLI loads back, tokenizer included', async () => {
    const data = join(work, 'pairs.jsonl');
    writeFileSync(data, ['{"prompt":"Colour?","completion":" Blue."}', '{"prompt":"2+3=","completion":"5"}'].join('\n') + '\n');
    const out = join(work, 'full-out');
    await trainCommand(parseArgs(['train', '--model', fixtureDir('tiny-llama'), '--data', data, '--method', 'full', '--steps', '2', '--batch', '2', '--max-length', '32', '--out', out]));
    expect(readdirSync(out).sort()).toEqual(['README.md', 'config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const checkpoint = loadCheckpoint(await readModelDir(out));
    expect(checkpoint.rawConfig).toMatchObject({ architectures: ['LlamaForCausalLM'], model_type: 'llama', torch_dtype: 'float32' });
    expect(checkpoint.tokenizer.encode('Hello')).toEqual(loadCheckpoint(await readModelDir(fixtureDir('tiny-llama'))).tokenizer.encode('Hello'));
  });
});
