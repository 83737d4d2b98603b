// Hostile model folders (issue 12): config.json with a billion layers or other huge sizes, an
// activation named after an Object.prototype member, a RoPE base of 0 or −1, weights holding NaN
// or Infinity, and safetensors dtypes "constructor" / "__proto__". Each is refused through
// loadCheckpoint (the path the Models view and the CLI take) with an error naming the file and the
// field or tensor, before any table or buffer is sized by the bad value.
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { CheckpointError, loadCheckpoint, type ModelFiles } from '../../src/core/model/checkpoint';
import { activationFor } from '../../src/core/model/blocks';
import { CONFIG_LIMITS, ConfigError, parseConfig, SUPPORTED_ACTIVATIONS } from '../../src/core/model/config';
import { firstNonFinite, nonFiniteDetail } from '../../src/core/model/finite';
import { parseSafetensors, SafetensorsError, writeSafetensors } from '../../src/core/model/safetensors';
import { readModelDir } from '../../cli/read-model-dir';

const fixtureDir = (model: string) => fileURLToPath(new URL(`../fixtures/hf/${model}/`, import.meta.url));
const encode = (s: string) => new TextEncoder().encode(s);

async function folder(model: 'tiny-gpt2' | 'tiny-llama', configEdit?: (config: Record<string, unknown>) => void): Promise<ModelFiles> {
  const files = await readModelDir(fixtureDir(model));
  if (configEdit) {
    const config = JSON.parse(new TextDecoder().decode(files.get('config.json')!)) as Record<string, unknown>;
    configEdit(config);
    files.set('config.json', encode(JSON.stringify(config)));
  }
  return files;
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('config.json sizes are bounded before anything is built from them', () => {
  it('n_layer 1e9 is refused at once, naming the field (it ran out of heap after 29 s)', async () => {
    const files = await folder('tiny-gpt2', (c) => (c['n_layer'] = 1e9));
    const start = performance.now();
    const error = thrown(() => loadCheckpoint(files));
    expect(performance.now() - start).toBeLessThan(2000);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe('n_layer');
    expect(error.message).toBe(
      'config.json (field "n_layer"): is 1000000000, more than the 1,024 Hone supports; no released checkpoint comes near that, so the file is broken',
    );
  });

  it.each([
    ['gpt2', 'n_embd', 1e9],
    ['gpt2', 'n_head', 1e6],
    ['gpt2', 'vocab_size', 1e10],
    ['gpt2', 'n_positions', 1e12],
    ['gpt2', 'n_inner', 1e9],
    ['llama', 'hidden_size', 1e9],
    ['llama', 'num_attention_heads', 1e9],
    ['llama', 'num_key_value_heads', 1e9],
    ['llama', 'intermediate_size', 1e9],
    ['llama', 'max_position_embeddings', 1e12],
    ['llama', 'head_dim', 1e6],
    ['llama', 'num_hidden_layers', 1e9],
  ] as const)('%s %s = %d is refused naming the field', async (family, field, value) => {
    const files = await folder(family === 'gpt2' ? 'tiny-gpt2' : 'tiny-llama', (c) => (c[field] = value));
    const error = thrown(() => loadCheckpoint(files));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe(field);
    expect(error.message).toContain('more than the');
  });

  it('a layer count within the maxima but beyond the tensors present is refused before the name table', async () => {
    const files = await folder('tiny-llama', (c) => (c['num_hidden_layers'] = CONFIG_LIMITS.layers));
    const error = thrown(() => loadCheckpoint(files));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(
      'config.json (field "num_hidden_layers"): is 1024, but model.safetensors holds weights for 2 layers (model.layers.0 … model.layers.1); config.json does not describe these weights',
    );
  });

  it('the fixtures still load with their own sizes', async () => {
    expect(loadCheckpoint(await folder('tiny-gpt2')).config.numLayers).toBe(2);
    expect(loadCheckpoint(await folder('tiny-llama')).config.numLayers).toBe(2);
  });
});

describe('activation names are looked up as own properties', () => {
  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])('hidden_act %s is refused by parseConfig, naming the field', async (name) => {
    const files = await folder('tiny-llama', (c) => (c['hidden_act'] = name));
    const refused = thrown(() => loadCheckpoint(files));
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as ConfigError).field).toBe('hidden_act');
    expect(refused.message).toBe(`config.json (field "hidden_act"): activation ${JSON.stringify(name)} is not supported (supported: ${SUPPORTED_ACTIVATIONS.join(', ')})`);
  });

  it('activation_function "constructor" on GPT-2 is refused too', async () => {
    const files = await folder('tiny-gpt2', (c) => (c['activation_function'] = 'constructor'));
    expect((thrown(() => loadCheckpoint(files)) as ConfigError).field).toBe('activation_function');
  });

  it('blocks.ts activationFor refuses prototype names, and implements every name parseConfig accepts', () => {
    for (const name of ['constructor', 'toString', '__proto__']) expect(() => activationFor(name)).toThrow(`activation "${name}" is not supported`);
    for (const name of SUPPORTED_ACTIVATIONS) expect(typeof activationFor(name)).toBe('function');
  });
});

describe('rope_theta must be a positive finite number', () => {
  const base = { model_type: 'llama', vocab_size: 10, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16 };
  it.each([0, -1])('rope_parameters.rope_theta %d is refused naming the field (every logit was NaN)', (theta) => {
    const error = thrown(() => parseConfig({ ...base, rope_parameters: { rope_type: 'default', rope_theta: theta } }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(`config.json (field "rope_parameters.rope_theta"): must be a positive finite number, got ${theta}`);
  });

  it('top-level rope_theta 0, −1, 1e999 (Infinity after JSON.parse) and a string are refused', () => {
    for (const theta of [0, -1, JSON.parse('1e999') as number, '10000']) {
      expect((thrown(() => parseConfig({ ...base, rope_theta: theta })) as ConfigError).field).toBe('rope_theta');
    }
    expect(parseConfig({ ...base, rope_theta: 500000 }).ropeTheta).toBe(500000);
  });

  it('through loadCheckpoint on the Llama fixture', async () => {
    const files = await folder('tiny-llama', (c) => ((c['rope_parameters'] as Record<string, unknown>)['rope_theta'] = -1));
    expect((thrown(() => loadCheckpoint(files)) as ConfigError).field).toBe('rope_parameters.rope_theta');
  });
});

describe('non-finite weights are refused naming the tensor', () => {
  it.each([NaN, Infinity, -Infinity])('a %d in model.safetensors', async (bad) => {
    const files = await folder('tiny-llama');
    const tensors = parseSafetensors(files.get('model.safetensors')!, 'model.safetensors');
    const name = 'model.layers.1.mlp.up_proj.weight';
    const tensor = tensors.get(name)!;
    tensor.data[5 * 32 + 3] = bad; // row 5, column 3 of [64, 32]
    files.set('model.safetensors', writeSafetensors(tensors));
    const error = thrown(() => loadCheckpoint(files));
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as CheckpointError).tensor).toBe(name);
    const shown = Number.isNaN(bad) ? 'NaN' : bad > 0 ? 'Infinity' : '-Infinity';
    expect(error.message).toBe(`model.safetensors: tensor "${name}" holds ${shown} at [5, 3] (shape [64, 32]); the weights are corrupt`);
  });

  it('firstNonFinite / nonFiniteDetail', () => {
    expect(firstNonFinite(new Float32Array([0, -1e38, 3.4e38]))).toBe(-1);
    expect(firstNonFinite(new Float32Array([0, 1, NaN, Infinity]))).toBe(2);
    expect(nonFiniteDetail(new Float32Array([0, 0, 0, 0, 0, -Infinity]), [2, 3])).toBe('holds -Infinity at [1, 2] (shape [2, 3])');
    expect(nonFiniteDetail(new Float32Array([1, 2]), [2])).toBeNull();
  });
});

describe('safetensors dtypes are looked up as own properties', () => {
  function rawFile(header: unknown): Uint8Array {
    const json = encode(JSON.stringify(header).padEnd(64, ' '));
    const out = new Uint8Array(8 + json.length + 8);
    new DataView(out.buffer).setUint32(0, json.length, true);
    out.set(json, 8);
    return out;
  }

  it.each(['constructor', '__proto__', 'toString', 'valueOf'])('dtype %s is rejected as an unsupported dtype, naming it', (dtype) => {
    const error = thrown(() => parseSafetensors(rawFile({ w: { dtype, shape: [2], data_offsets: [0, 8] } }), 'model.safetensors'));
    expect(error).toBeInstanceOf(SafetensorsError);
    expect(error.message).toContain(`unsupported dtype ${JSON.stringify(dtype)} (Hone reads F32, F16 and BF16)`);
    expect(error.message).not.toContain('NaN');
  });
});
