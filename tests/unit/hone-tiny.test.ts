// The committed built-in model, public/models/hone-tiny: Hugging Face Llama layout exactly (what
// transformers' LlamaForCausalLM.from_pretrained reads), within 10 MB, with a manifest that ties it to
// the committed spec and command; and it loads and runs through the studio's own checkpoint path.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { readModelDir } from '../../cli/read-model-dir';
import { loadCheckpoint } from '../../src/core/model/checkpoint';
import { Decoder } from '../../src/core/model/decoder';
import { generate } from '../../src/core/model/generate';
import { parseSafetensors } from '../../src/core/model/safetensors';
import { HONE_TINY, llamaConfigJson } from '../../src/core/pretrain/pretrain';
import { FLAN_QUICK, evalItems, formatAnswer, formatPrompt } from '../../src/core/experiment/flan';
import { makeWorld } from '../../src/core/world/world';

const DIR = 'public/models/hone-tiny';
const FIXTURE = 'tests/fixtures/hf/tiny-llama';
const FILES = ['config.json', 'manifest.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('the committed hone-tiny', () => {
  it('has exactly the Hugging Face files, 10 MB at most', () => {
    expect(readdirSync(DIR).sort()).toEqual(FILES);
    const bytes = FILES.reduce((n, f) => n + statSync(join(DIR, f)).size, 0);
    expect(bytes).toBeLessThanOrEqual(10 * 1024 * 1024);
  });

  it('has a LlamaConfig with every key of the Llama fixture and the committed spec’s sizes', () => {
    const config = json(join(DIR, 'config.json'));
    const fixture = json(join(FIXTURE, 'config.json'));
    for (const key of Object.keys(fixture)) {
      if (key === 'rope_parameters' || key === 'transformers_version') continue; // rope as rope_theta, which transformers also reads
      expect(config, key).toHaveProperty(key);
    }
    expect(config).toEqual(llamaConfigJson(HONE_TINY, HONE_TINY.vocabSize));
    expect(config).toMatchObject({ architectures: ['LlamaForCausalLM'], model_type: 'llama', tie_word_embeddings: true, torch_dtype: 'float32' });
  });

  it('has the Llama fixture’s tensor names, float32, with shapes that follow the config', () => {
    const ours = parseSafetensors(readFileSync(join(DIR, 'model.safetensors')), 'hone-tiny');
    const theirs = parseSafetensors(readFileSync(join(FIXTURE, 'model.safetensors')), 'fixture');
    const pattern = (name: string) => name.replace(/layers\.\d+\./, 'layers.N.');
    const fixtureNames = new Set([...theirs.keys()].map(pattern));
    fixtureNames.delete('lm_head.weight'); // tied to the embedding (tie_word_embeddings: true), as transformers saves it
    expect(new Set([...ours.keys()].map(pattern))).toEqual(fixtureNames);
    const { hiddenSize: d, layers, heads, kvHeads, intermediateSize: ffn, vocabSize: vocab } = HONE_TINY;
    const head = d / heads;
    const expected = new Map<string, number[]>([
      ['model.embed_tokens.weight', [vocab, d]],
      ['model.norm.weight', [d]],
    ]);
    for (let l = 0; l < layers; l++) {
      const p = `model.layers.${l}.`;
      expected.set(`${p}input_layernorm.weight`, [d]);
      expected.set(`${p}post_attention_layernorm.weight`, [d]);
      expected.set(`${p}self_attn.q_proj.weight`, [heads * head, d]);
      expected.set(`${p}self_attn.k_proj.weight`, [kvHeads * head, d]);
      expected.set(`${p}self_attn.v_proj.weight`, [kvHeads * head, d]);
      expected.set(`${p}self_attn.o_proj.weight`, [d, heads * head]);
      expected.set(`${p}mlp.gate_proj.weight`, [ffn, d]);
      expected.set(`${p}mlp.up_proj.weight`, [ffn, d]);
      expected.set(`${p}mlp.down_proj.weight`, [d, ffn]);
    }
    expect(ours.size).toBe(expected.size);
    for (const [name, tensor] of ours) {
      expect(tensor.shape, name).toEqual(expected.get(name));
      expect(tensor.data).toBeInstanceOf(Float32Array);
      expect(tensor.data.every(Number.isFinite), name).toBe(true);
    }
  });

  it('has a manifest tying it to the committed spec and command', () => {
    const manifest = json(join(DIR, 'manifest.json'));
    expect(manifest).toMatchObject({
      name: 'hone-tiny',
      command: 'npm run --silent hone -- pretrain',
      spec: HONE_TINY,
      seed: HONE_TINY.seed,
      corpusDocuments: HONE_TINY.documents,
      tokensSeen: HONE_TINY.steps * HONE_TINY.batchSize * HONE_TINY.seqLen,
      backend: 'wasm',
      parameters: 918_656,
    });
    expect(manifest.corpusHash).toMatch(/^[0-9a-f]{8,}$/);
    expect(manifest.finalLoss).toBeGreaterThan(0);
    expect(manifest.finalLoss).toBeLessThan(1.5);
    expect(manifest.wallSeconds).toBeGreaterThan(0);
  });

  it('loads through the studio’s checkpoint path and continues a corpus sentence with its facts', async () => {
    const checkpoint = loadCheckpoint(await readModelDir(DIR));
    expect(checkpoint.config.modelType).toBe('llama');
    const { tokenizer } = checkpoint;
    expect([tokenizer.bosTokenId, tokenizer.eosTokenId]).toEqual([0, 1]);
    const before = tf.memory().numTensors;
    const decoder = Decoder.fromHost(checkpoint.config, checkpoint.weights);
    try {
      const { newIds } = await generate(decoder, tokenizer.encode(PROMPT), { maxNewTokens: 1, greedy: true });
      const next = newIds[0];
      expect(tokenizer.decode([next])).toBe(NEXT);
    } finally {
      decoder.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('tokenizes every quick-experiment prompt the same alone and followed by its answer', async () => {
    const { tokenizer } = loadCheckpoint(await readModelDir(DIR));
    const items = evalItems(makeWorld(FLAN_QUICK.worldSeed), FLAN_QUICK);
    expect(items.length).toBe(FLAN_QUICK.heldOut.length * FLAN_QUICK.evalPerCluster);
    for (const item of items) {
      const prompt = tokenizer.encode(formatPrompt(item.prompt));
      const full = tokenizer.encode(formatPrompt(item.prompt) + formatAnswer(item.answer));
      expect(full.slice(0, prompt.length), item.prompt).toEqual(prompt);
      expect(tokenizer.decode(full.slice(prompt.length), { skipSpecialTokens: true })).toBe(formatAnswer(item.answer));
    }
  });
});

// filled in from the committed model: a fact the corpus states (world seed 1)
const PROMPT = 'The fox is';
const NEXT = ' red';
