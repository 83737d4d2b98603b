import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { runPretraining } from '../../cli/commands/pretrain';
import { readModelDir } from '../../cli/read-model-dir';
import { loadCheckpoint } from '../../src/core/model/checkpoint';
import { parseSafetensors } from '../../src/core/model/safetensors';
import { HONE_MICRO } from '../../src/core/pretrain/micro';
import { HONE_TINY, packDocuments, prepareCorpus, type PretrainSpec } from '../../src/core/pretrain/pretrain';

/** hone-micro's spec, cut to 6 steps so a test runs in a second or two */
const MICRO: PretrainSpec = { ...HONE_TINY, ...HONE_MICRO, steps: 6, warmupSteps: 1 };

const dirs: string[] = [];
const tmp = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'hone-pretrain-'));
  dirs.push(dir);
  return dir;
};

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const opts = (dir: string, maxMinutes = Infinity) => ({
  work: join(dir, 'work'),
  out: join(dir, 'out'),
  checkpointEvery: 2,
  maxMinutes,
  logEvery: 1,
  command: 'test',
  quiet: true,
});

describe('pretraining hone-tiny (micro spec)', () => {
  it('packs the corpus into full rows of BOS … EOS documents with labels = inputs', () => {
    const corpus = prepareCorpus(MICRO);
    const rows = packDocuments(corpus.tokenizer, corpus.documents, MICRO.seqLen);
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.every((r) => r.inputIds.length === 16 && r.labels.join() === r.inputIds.join())).toBe(true);
    expect(rows[0].inputIds[0]).toBe(0); // <s>
    const first = corpus.tokenizer.encode(corpus.documents[0]);
    expect(rows.flatMap((r) => r.inputIds).slice(0, first.length + 1)).toEqual([...first, 1]);
  });

  it('a run cut off repeatedly and resumed from its checkpoint file ends bit-identical to an uninterrupted run', async () => {
    const before = tf.memory().numTensors;
    const a = tmp();
    const whole = await runPretraining(MICRO, opts(a));
    expect(whole.status).toBe('completed');
    expect(whole.step).toBe(6);
    const b = tmp();
    let result = await runPretraining(MICRO, opts(b, 1e-9)); // stops after its first update
    expect(result.status).toBe('paused');
    expect(result.step).toBe(1);
    let calls = 1;
    while (result.status === 'paused' && calls < 20) {
      result = await runPretraining(MICRO, opts(b, 1e-9));
      calls++;
    }
    expect(result.status).toBe('completed');
    expect(calls).toBe(6);
    const wa = readFileSync(join(a, 'out', 'model.safetensors'));
    const wb = readFileSync(join(b, 'out', 'model.safetensors'));
    expect(Buffer.compare(wa, wb)).toBe(0);
    const progress = readFileSync(join(b, 'work', 'progress.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number });
    expect(progress.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('writes a Hugging Face Llama checkpoint with the fixture’s file layout, tokenizer and manifest', async () => {
    const dir = tmp();
    await runPretraining(MICRO, opts(dir));
    const out = join(dir, 'out');
    expect(readdirSync(out).sort()).toEqual(['config.json', 'manifest.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const checkpoint = loadCheckpoint(await readModelDir(out));
    expect(checkpoint.config.modelType).toBe('llama');
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    const fixtureConfig = JSON.parse(readFileSync('tests/fixtures/hf/tiny-llama/config.json', 'utf8')) as Record<string, unknown>;
    // every key the fixture's LlamaConfig carries (rope settings as rope_theta, which transformers also reads)
    for (const key of Object.keys(fixtureConfig)) {
      if (key === 'rope_parameters' || key === 'transformers_version') continue;
      expect(config, key).toHaveProperty(key);
    }
    expect(config.architectures).toEqual(['LlamaForCausalLM']);
    const layerPattern = (name: string) => name.replace(/layers\.\d+\./, 'layers.N.');
    const ours = new Set([...parseSafetensors(readFileSync(join(out, 'model.safetensors')), 'ours').keys()].map(layerPattern));
    const theirs = new Set([...parseSafetensors(readFileSync('tests/fixtures/hf/tiny-llama/model.safetensors'), 'fixture').keys()].map(layerPattern));
    theirs.delete('lm_head.weight'); // hone-tiny ties its output head to the embedding (tie_word_embeddings: true)
    expect([...ours].sort()).toEqual([...theirs].sort());
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ name: 'hone-tiny', command: 'test', seed: MICRO.seed, tokensSeen: 6 * 4 * 16, backend: 'cpu' });
    expect(typeof manifest.corpusHash).toBe('string');
    expect(Number.isFinite(manifest.finalLoss)).toBe(true);
  });
});
