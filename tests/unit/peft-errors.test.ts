// Bad adapter folders: an adapter for the other fixture model, unknown or unsupported config keys,
// unknown types, missing files. Each error names the file and the tensor or field; a failed load
// leaves the decoder's weights untouched and leaks no tensors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { setNodeBackend } from '../../cli/node-backend';
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../src/core/model/config';
import { Decoder } from '../../src/core/model/decoder';
import { randomWeights } from '../../src/core/model/random';
import { parseSafetensors, writeSafetensors } from '../../src/core/model/safetensors';
import { PeftError, createMethod, exportAdapterFolder, readAdapterFolder, registerMethod } from '../../src/core/peft';
import { fixtureDir, loadFixture, sameBits, snapshot, type Fixture } from './peft-helpers';

const text = (s: string) => new TextEncoder().encode(s);
const json = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('reading bad adapter folders', () => {
  let gpt2: Fixture;
  let llama: Fixture;
  let weights: Map<string, Float32Array>;
  let tensorsBefore: number;

  beforeAll(async () => {
    await setNodeBackend('cpu');
    gpt2 = loadFixture('tiny-gpt2');
    llama = loadFixture('tiny-llama');
    weights = snapshot(llama.decoder);
    tensorsBefore = tf.memory().numTensors;
  });
  afterAll(() => {
    // nothing in the decoder changed and nothing leaked, whatever failed above
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(sameBits(snapshot(llama.decoder), weights)).toBe(true);
    gpt2.decoder.dispose();
    llama.decoder.dispose();
  });

  it('a GPT-2 prefix adapter on the Llama model: names the tensor and both shapes', () => {
    const error = errorOf(() => readAdapterFolder(gpt2.adapter('prefix'), llama.decoder));
    expect(error).toBeInstanceOf(PeftError);
    expect(error.message).toContain('adapter_model.safetensors');
    expect(error.message).toContain('tensor "prompt_embeddings" has shape [3,128] but the base model needs [3,64]');
    const projection = errorOf(() => readAdapterFolder(gpt2.adapter('prefix_projection'), llama.decoder));
    expect(projection.message).toContain('has shape [4,128] but the base model needs [4,64]');
  });

  it('a Llama prefix adapter on GPT-2 (the other direction)', () => {
    expect(errorOf(() => readAdapterFolder(llama.adapter('prefix'), gpt2.decoder)).message).toContain(
      'tensor "prompt_embeddings" has shape [3,64] but the base model needs [3,128]',
    );
  });

  it('a LoRA tensor whose shape does not fit: names the tensor and both shapes', () => {
    const files = llama.adapter('lora');
    const tensors = parseSafetensors(files.get('adapter_model.safetensors')!, 'x');
    const name = 'base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight';
    tensors.set(name, { shape: [32, 4], data: new Float32Array(128) }); // k_proj has 16 outputs here (2 kv heads × 8)
    files.set('adapter_model.safetensors', writeSafetensors(tensors));
    const error = errorOf(() => readAdapterFolder(files, llama.decoder));
    expect(error.message).toBe(
      `adapter_model.safetensors (${name}): tensor "${name}" has shape [32,4] but the base model needs [16,4] ` +
        '(16 output features, r=4); this adapter was probably made for a different base model',
    );
  });

  it("a GPT-2 LoRA or IA³ adapter on Llama: its target modules don't exist there", () => {
    expect(errorOf(() => readAdapterFolder(gpt2.adapter('lora'), llama.decoder)).message).toContain(
      'adapter_config.json (target_modules): target_modules ["c_fc","c_proj","c_attn"] match no layer of this llama model',
    );
    expect(errorOf(() => readAdapterFolder(gpt2.adapter('ia3'), llama.decoder)).message).toContain('match no layer of this llama model');
  });

  it('an extra tensor in the file is refused, not ignored', () => {
    const files = llama.adapter('ia3');
    const tensors = parseSafetensors(files.get('adapter_model.safetensors')!, 'x');
    tensors.set('base_model.model.lm_head.ia3_l', { shape: [600, 1], data: new Float32Array(600) });
    files.set('adapter_model.safetensors', writeSafetensors(tensors));
    expect(errorOf(() => readAdapterFolder(files, llama.decoder)).message).toContain('"base_model.model.lm_head.ia3_l"');
  });

  it('unknown config keys are listed', () => {
    for (const adapter of ['lora', 'prefix', 'prompt', 'ia3']) {
      const files = llama.adapter(adapter);
      const config = { ...json(files.get('adapter_config.json')!), lora_magic: 1, use_turbo: true };
      files.set('adapter_config.json', text(JSON.stringify(config)));
      const error = errorOf(() => readAdapterFolder(files, llama.decoder));
      expect(error).toBeInstanceOf(PeftError);
      expect(error.message).toContain('adapter_config.json (lora_magic): unknown config key(s) "lora_magic", "use_turbo"');
    }
  });

  it('PEFT options Hone cannot honour are refused by name', () => {
    const files = llama.adapter('lora');
    files.set('adapter_config.json', text(JSON.stringify({ ...json(files.get('adapter_config.json')!), use_dora: true })));
    expect(errorOf(() => readAdapterFolder(files, llama.decoder)).message).toBe(
      `adapter_config.json (use_dora): true is not supported by Hone; only false (PEFT's default) is`,
    );
  });

  it('unknown peft_type, missing files, bad JSON', () => {
    const files = llama.adapter('lora');
    files.set('adapter_config.json', text(JSON.stringify({ ...json(files.get('adapter_config.json')!), peft_type: 'LOHA' })));
    expect(errorOf(() => readAdapterFolder(files, llama.decoder)).message).toContain('adapter type "LOHA" is not supported');
    const noWeights = llama.adapter('lora');
    noWeights.delete('adapter_model.safetensors');
    expect(errorOf(() => readAdapterFolder(noWeights, llama.decoder)).message).toBe('adapter_model.safetensors: is missing');
    expect(errorOf(() => readAdapterFolder(new Map(), llama.decoder)).message).toContain('adapter_config.json: is missing');
    expect(errorOf(() => readAdapterFolder(new Map([['adapter_config.json', text('{oops')]]), llama.decoder)).message).toContain(
      'adapter_config.json: is not valid JSON',
    );
  });

  it('every method exported for a wider Llama is refused on tiny-llama, naming the tensor or field and both sizes', async () => {
    // the same architecture with hidden size 48 (6 heads, 3 kv heads): only the shapes differ
    const raw = JSON.parse(readFileSync(fixtureDir('tiny-llama') + 'config.json', 'utf8'));
    const wideConfig = parseConfig({ ...raw, hidden_size: 48, num_attention_heads: 6, num_key_value_heads: 3 });
    const wide = Decoder.fromHost(wideConfig, randomWeights(wideConfig, 1));
    const expected: [string, Record<string, unknown>, string][] = [
      ['lora', { r: 4 }, 'has shape [4,48] but the base model needs [4,32] (r=4, 32 input features); this adapter was probably made for a different base model'],
      ['ia3', {}, 'has shape [24,1] but the base model needs [16,1]'],
      ['prefix', { num_virtual_tokens: 3 }, 'tensor "prompt_embeddings" has shape [3,96] but the base model needs [3,64]'],
      ['prompt', { num_virtual_tokens: 3 }, 'tensor "prompt_embeddings" has shape [3,48] but the base model needs [3,32]'],
      ['adapter', { kind: 'houlsby' }, "adapter_config.json (hidden_size): is 48 but the base model's hidden size is 32; this adapter was made for a different base model"],
    ];
    for (const [name, config, message] of expected) {
      const method = createMethod(name, wide, config, { seed: 1 });
      const files = await exportAdapterFolder(method, { baseModel: 'wide-llama' });
      method.dispose();
      const error = errorOf(() => readAdapterFolder(files, llama.decoder));
      expect(error, name).toBeInstanceOf(PeftError);
      expect(error.message, name).toContain(message);
    }
    wide.dispose();
  });

  it('a bottleneck adapter for another model type names model_type before any tensor', async () => {
    const method = createMethod('adapter', gpt2.decoder, { kind: 'pfeiffer' }, { seed: 1 });
    const files = await exportAdapterFolder(method, { baseModel: 'gpt2' });
    method.dispose();
    expect(errorOf(() => readAdapterFolder(files, llama.decoder)).message).toBe(
      'adapter_config.json (model_type): is "gpt2" but the base model is llama; this adapter was made for a different base model',
    );
    const config = json(files.get('adapter_config.json')!);
    files.set('adapter_config.json', text(JSON.stringify({ ...config, model_type: 'llama', hidden_size: 32, colour: 'red' })));
    expect(errorOf(() => readAdapterFolder(files, llama.decoder)).message).toContain('adapter_config.json (colour): unknown config key(s) "colour"');
  });

  it('the registry refuses a second method with a taken name', () => {
    expect(() => registerMethod({ name: 'lora', savedType: null, description: '', create: () => null as never })).toThrow(
      'PEFT registry: a method named "lora" is already registered',
    );
    expect(() => registerMethod({ name: 'lora2', savedType: 'LORA', description: '', create: () => null as never })).toThrow(
      'saved type "LORA" is already claimed by "lora"',
    );
  });
});
