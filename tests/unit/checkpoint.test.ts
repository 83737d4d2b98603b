// loadCheckpoint on the fixtures, on variants transformers also writes (no `transformer.` prefix,
// sharded weights, buffers), and on broken folders: every error names the file and tensor or field.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CheckpointError, expectedWeights, loadCheckpoint, type ModelFiles } from '../../src/core/model/checkpoint';
import { ConfigError, parseConfig } from '../../src/core/model/config';
import { SafetensorsError, parseSafetensors, writeSafetensors, type HostTensor } from '../../src/core/model/safetensors';
import { TokenizerError } from '../../src/core/tokenizer/tokenizer';
import { readModelDir } from '../../cli/read-model-dir';

const fixtureDir = (model: string) => fileURLToPath(new URL(`../fixtures/hf/${model}/`, import.meta.url));
const files = async (model: string): Promise<ModelFiles> => readModelDir(fixtureDir(model));

const text = (s: string) => new TextEncoder().encode(s);
const json = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;

function weightsOf(f: ModelFiles): Map<string, HostTensor> {
  return parseSafetensors(f.get('model.safetensors')!, 'model.safetensors');
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected loadCheckpoint to throw');
}

/** Splits the single-file weights into two shards with an index, as save_pretrained(max_shard_size=…) does. */
function shard(f: ModelFiles): ModelFiles {
  const names = [...weightsOf(f).keys()].sort();
  const tensors = weightsOf(f);
  const halves = [names.slice(0, 7), names.slice(7)];
  const out: ModelFiles = new Map(f);
  out.delete('model.safetensors');
  const weightMap: Record<string, string> = {};
  halves.forEach((half, i) => {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    out.set(file, writeSafetensors(new Map(half.map((n) => [n, tensors.get(n)!])), { format: 'pt' }));
    for (const n of half) weightMap[n] = file;
  });
  out.set('model.safetensors.index.json', text(JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap })));
  return out;
}

describe('loading the fixtures', () => {
  it('tiny-gpt2: every canonical weight with its shape, the tokenizer, the config', async () => {
    const checkpoint = loadCheckpoint(await files('tiny-gpt2'));
    expect(checkpoint.config.family).toBe('gpt2');
    expect(checkpoint.rawConfig['n_embd']).toBe(32);
    expect(checkpoint.weights.size).toBe(28);
    expect([...checkpoint.weights.keys()]).toEqual([...expectedWeights(checkpoint.config).keys()]);
    expect(checkpoint.weights.get('transformer.h.1.attn.c_attn.weight')!.shape).toEqual([32, 96]);
    expect(checkpoint.weights.get('transformer.h.0.mlp.c_fc.weight')!.shape).toEqual([32, 128]);
    expect(checkpoint.weights.get('transformer.h.0.mlp.c_proj.weight')!.shape).toEqual([128, 32]);
    expect(checkpoint.weights.get('transformer.wpe.weight')!.shape).toEqual([64, 32]);
    expect(checkpoint.weights.has('lm_head.weight')).toBe(false);
    expect(checkpoint.weights.get('transformer.wte.weight')!.data[1]).toBe(0.008068440482020378);
    expect(checkpoint.tokenizer.eosTokenId).toBe(0);
  });

  it('tiny-llama: GQA projections, untied lm_head, chat template', async () => {
    const checkpoint = loadCheckpoint(await files('tiny-llama'));
    const shapes = Object.fromEntries([...checkpoint.weights].map(([n, t]) => [n, t.shape]));
    expect(Object.keys(shapes)).toHaveLength(21);
    expect(shapes['model.embed_tokens.weight']).toEqual([600, 32]);
    expect(shapes['lm_head.weight']).toEqual([600, 32]);
    expect(shapes['model.layers.1.self_attn.q_proj.weight']).toEqual([32, 32]);
    expect(shapes['model.layers.1.self_attn.k_proj.weight']).toEqual([16, 32]);
    expect(shapes['model.layers.1.self_attn.v_proj.weight']).toEqual([16, 32]);
    expect(shapes['model.layers.1.self_attn.o_proj.weight']).toEqual([32, 32]);
    expect(shapes['model.layers.0.mlp.down_proj.weight']).toEqual([32, 64]);
    expect(shapes['model.layers.0.mlp.gate_proj.weight']).toEqual([64, 32]);
    expect(shapes['model.norm.weight']).toEqual([32]);
    expect(checkpoint.tokenizer.bosTokenId).toBe(1);
    expect(checkpoint.tokenizer.chatTemplate).toContain("{% for m in messages %}");
  });

  it('expectedWeights: qwen2 has q/k/v biases but no o_proj bias; tied llama has no lm_head', () => {
    const qwen = parseConfig({
      model_type: 'qwen2', vocab_size: 10, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2,
      num_key_value_heads: 1, intermediate_size: 16, tie_word_embeddings: true,
    });
    const expected = expectedWeights(qwen);
    expect(expected.get('model.layers.0.self_attn.q_proj.bias')).toEqual([8]);
    expect(expected.get('model.layers.0.self_attn.k_proj.bias')).toEqual([4]);
    expect(expected.get('model.layers.0.self_attn.v_proj.bias')).toEqual([4]);
    expect(expected.has('model.layers.0.self_attn.o_proj.bias')).toBe(false);
    expect(expected.has('lm_head.weight')).toBe(false);
    expect(expected.size).toBe(1 + 12 + 1);
  });
});

describe('variants transformers writes', () => {
  it('GPT-2 saved from GPT2Model (no `transformer.` prefix), with mask buffers and a tied lm_head', async () => {
    const f = await files('tiny-gpt2');
    const original = weightsOf(f);
    const renamed = new Map([...original].map(([n, t]) => [n.replace(/^transformer\./, ''), t]));
    renamed.set('h.0.attn.bias', { shape: [1, 1, 64, 64], data: new Float32Array(64 * 64) });
    renamed.set('h.1.attn.masked_bias', { shape: [], data: new Float32Array([-1e4]) });
    renamed.set('lm_head.weight', original.get('transformer.wte.weight')!);
    f.set('model.safetensors', writeSafetensors(renamed));
    const checkpoint = loadCheckpoint(f);
    expect([...checkpoint.weights.keys()].sort()).toEqual([...original.keys()].sort());
    for (const [name, tensor] of original) expect(checkpoint.weights.get(name)).toEqual(tensor);
  });

  it('a 2-shard checkpoint loads exactly like the single file', async () => {
    const single = loadCheckpoint(await files('tiny-llama'));
    const sharded = loadCheckpoint(shard(await files('tiny-llama')));
    expect([...sharded.weights.keys()]).toEqual([...single.weights.keys()]);
    for (const [name, tensor] of single.weights) expect(sharded.weights.get(name)).toEqual(tensor);
  });

  it('readModelDir reads shards named by the index from disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hone-shards-'));
    for (const [name, bytes] of shard(await files('tiny-llama'))) writeFileSync(join(dir, name), bytes);
    const read = await readModelDir(dir);
    expect([...read.keys()].filter((n) => n.endsWith('.safetensors')).sort()).toEqual([
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
    ]);
    expect(loadCheckpoint(read).weights.size).toBe(21);
  });

  it('a tied Llama may carry lm_head.weight and rotary inv_freq buffers; both are ignored', async () => {
    const f = await files('tiny-llama');
    f.set('config.json', text(JSON.stringify({ ...json(f.get('config.json')!), tie_word_embeddings: true })));
    const tensors = weightsOf(f);
    tensors.set('model.layers.0.self_attn.rotary_emb.inv_freq', { shape: [4], data: new Float32Array(4) });
    f.set('model.safetensors', writeSafetensors(tensors));
    const checkpoint = loadCheckpoint(f);
    expect(checkpoint.weights.has('lm_head.weight')).toBe(false);
    expect(checkpoint.weights.size).toBe(20);
  });
});

describe('broken checkpoints', () => {
  it('a truncated model.safetensors names the file and the first tensor cut off', async () => {
    const f = await files('tiny-gpt2');
    const bytes = f.get('model.safetensors')!;
    f.set('model.safetensors', bytes.subarray(0, bytes.length - 1000));
    const error = errorOf(() => loadCheckpoint(f));
    expect(error).toBeInstanceOf(SafetensorsError);
    expect(error.message).toBe(
      'model.safetensors: tensor "transformer.wte.weight": data_offsets [110080, 175616] run past the end of the file (174616 bytes of tensor data follow the header); the file is truncated',
    );
  });

  it('a header length past the end of the file', async () => {
    const f = await files('tiny-gpt2');
    f.set('model.safetensors', f.get('model.safetensors')!.subarray(0, 100));
    const error = errorOf(() => loadCheckpoint(f));
    expect(error).toBeInstanceOf(SafetensorsError);
    expect(error.message).toContain('model.safetensors: header length 2592 runs past the end of the file (100 bytes)');
  });

  it('an unsupported dtype names the tensor', async () => {
    const f = await files('tiny-llama');
    const bytes = new Uint8Array(f.get('model.safetensors')!);
    const header = new TextDecoder().decode(bytes.subarray(8, 200));
    const at = 8 + header.indexOf('"F32"'); // the first entry: lm_head.weight
    bytes.set(text('"I32"'), at);
    f.set('model.safetensors', bytes);
    const error = errorOf(() => loadCheckpoint(f));
    expect(error).toBeInstanceOf(SafetensorsError);
    expect(error.message).toContain('model.safetensors: tensor "lm_head.weight": unsupported dtype "I32"');
  });

  it('a tensor whose shape disagrees with config.json', async () => {
    const f = await files('tiny-llama');
    const tensors = weightsOf(f);
    tensors.set('model.layers.0.self_attn.k_proj.weight', { shape: [32, 32], data: new Float32Array(32 * 32) });
    f.set('model.safetensors', writeSafetensors(tensors));
    const error = errorOf(() => loadCheckpoint(f)) as CheckpointError;
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.tensor).toBe('model.layers.0.self_attn.k_proj.weight');
    expect(error.message).toMatch(
      /^model\.safetensors: tensor "model\.layers\.0\.self_attn\.k_proj\.weight" has shape \[32, 32\] but config\.json implies \[16, 32\]/,
    );
  });

  it('a missing tensor', async () => {
    const f = await files('tiny-llama');
    const tensors = weightsOf(f);
    tensors.delete('model.layers.1.post_attention_layernorm.weight');
    f.set('model.safetensors', writeSafetensors(tensors));
    expect(errorOf(() => loadCheckpoint(f)).message).toBe(
      'model.safetensors: tensor "model.layers.1.post_attention_layernorm.weight" is missing; config.json (llama with 2 layers) needs it with shape [32]',
    );
  });

  it('a tensor of another architecture', async () => {
    const f = await files('tiny-gpt2');
    const tensors = weightsOf(f);
    tensors.set('transformer.h.2.ln_1.weight', { shape: [32], data: new Float32Array(32) });
    f.set('model.safetensors', writeSafetensors(tensors));
    expect(errorOf(() => loadCheckpoint(f)).message).toMatch(
      /^model\.safetensors: tensor "transformer\.h\.2\.ln_1\.weight" is not part of a gpt2 with 2 layers as config\.json describes it/,
    );
  });

  it('an invalid tokenizer.json names the file and field', async () => {
    const f = await files('tiny-llama');
    f.set('tokenizer.json', text('{"version": "1.0", "added_tokens": []}'));
    const error = errorOf(() => loadCheckpoint(f));
    expect(error).toBeInstanceOf(TokenizerError);
    expect(error.message).toContain('tokenizer.json (field "model"): is missing or not an object');
    f.delete('tokenizer.json');
    expect(errorOf(() => loadCheckpoint(f)).message).toMatch(/^tokenizer\.json: is missing/);
  });

  it('a tokenizer with more ids than the embedding has rows', async () => {
    const f = await files('tiny-gpt2');
    f.set('config.json', text(JSON.stringify({ ...json(f.get('config.json')!), vocab_size: 500 })));
    expect(errorOf(() => loadCheckpoint(f)).message).toMatch(/^tokenizer\.json: has 512 token ids but config\.json has vocab_size 500/);
  });

  it('a missing shard, and a tensor the index places in a shard that lacks it', async () => {
    const sharded = shard(await files('tiny-llama'));
    const missing = new Map(sharded);
    missing.delete('model-00002-of-00002.safetensors');
    const error = errorOf(() => loadCheckpoint(missing));
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.message).toBe(
      'model.safetensors.index.json: lists shard "model-00002-of-00002.safetensors", which is missing; download every shard of the checkpoint',
    );

    const index = json(sharded.get('model.safetensors.index.json')!) as { weight_map: Record<string, string> };
    index.weight_map['model.norm.weight'] = 'model-00001-of-00002.safetensors';
    sharded.set('model.safetensors.index.json', text(JSON.stringify(index)));
    expect(errorOf(() => loadCheckpoint(sharded)).message).toMatch(
      /^model-00001-of-00002\.safetensors: tensor "model\.norm\.weight" is missing, though model\.safetensors\.index\.json places it in this shard/,
    );
  });

  it('config.json missing or not JSON is a ConfigError naming config.json', async () => {
    const f = await files('tiny-gpt2');
    f.set('config.json', text('{"model_type": "gpt2",}'));
    const error = errorOf(() => loadCheckpoint(f));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/^config\.json: is not valid JSON \(/);
    f.delete('config.json');
    expect(errorOf(() => loadCheckpoint(f)).message).toMatch(/^config\.json: is missing/);
  });

  it('no weights at all', async () => {
    const f = await files('tiny-gpt2');
    f.delete('model.safetensors');
    expect(errorOf(() => loadCheckpoint(f)).message).toMatch(/^model\.safetensors: is missing, and so is model\.safetensors\.index\.json/);
  });

  it('readModelDir: a folder that does not exist, or has no config.json', async () => {
    await expect(readModelDir('/nonexistent/hone-model')).rejects.toThrow('model folder "/nonexistent/hone-model" does not exist');
    const empty = mkdtempSync(join(tmpdir(), 'hone-empty-'));
    await expect(readModelDir(empty)).rejects.toThrow(`${join(empty, 'config.json')}: is missing`);
  });
});
