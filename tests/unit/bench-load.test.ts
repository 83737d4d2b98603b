// The load path without extra copies of the weights: random weights streamed one tensor at a time
// (same values as the Map form), Decoder.fromHost from any iterable (and nothing left allocated
// when the source fails half-way), and checkpoints whose float32 tensors are views of the file.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { setNodeBackend } from '../../cli/node-backend';
import { readModelDir } from '../../cli/read-model-dir';
import { benchPreset } from '../../src/core/bench/presets';
import { loadCheckpoint } from '../../src/core/model/checkpoint';
import { Decoder } from '../../src/core/model/decoder';
import { randomWeightEntries, randomWeights } from '../../src/core/model/random';
import { parseSafetensors, type HostTensor } from '../../src/core/model/safetensors';

const fixturePath = (path: string) => fileURLToPath(new URL(`../fixtures/hf/${path}`, import.meta.url));

describe('load path', () => {
  beforeAll(async () => {
    await setNodeBackend('cpu');
  });

  it('streams the same random weights as randomWeights, one fresh array per tensor', () => {
    const config = benchPreset('micro').config;
    const map = randomWeights(config, 7);
    const streamed = [...randomWeightEntries(config, 7)];
    expect(streamed.map(([name]) => name)).toEqual([...map.keys()]);
    for (const [name, tensor] of streamed) {
      expect(tensor.shape).toEqual(map.get(name)!.shape);
      expect(Array.from(tensor.data)).toEqual(Array.from(map.get(name)!.data));
    }
    expect(new Set(streamed.map(([, t]) => t.data.buffer)).size).toBe(streamed.length);
    // seeded: the first embedding value is fixed (Normal(0, 0.02) from Rng(7))
    expect(streamed[0][1].data[0]).toBe(map.get('model.embed_tokens.weight')!.data[0]);
  });

  it('builds the same decoder from the generator as from the Map', async () => {
    const config = benchPreset('micro').config;
    const before = tf.memory().numTensors;
    const fromMap = Decoder.fromHost(config, randomWeights(config, 3));
    const fromStream = Decoder.fromHost(config, randomWeightEntries(config, 3));
    const ids = tf.tensor2d([[5, 17, 42, 299]], undefined, 'int32');
    const a = fromMap.forward(ids).logits;
    const b = fromStream.forward(ids).logits;
    expect(Array.from(await b.data())).toEqual(Array.from(await a.data()));
    tf.dispose([ids, a, b]);
    fromMap.dispose();
    fromStream.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('disposes the tensors it made when the weight source throws half-way', () => {
    const config = benchPreset('micro').config;
    const before = tf.memory().numTensors;
    function* failing(): Generator<[string, HostTensor]> {
      let n = 0;
      for (const entry of randomWeightEntries(config, 1)) {
        if (++n === 4) throw new Error('shard 2 could not be read');
        yield entry;
      }
    }
    expect(() => Decoder.fromHost(config, failing())).toThrow('shard 2 could not be read');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('shareBytes returns aligned float32 tensors as views of the file, unaligned ones as copies', () => {
    const bytes = new Uint8Array(readFileSync(fixturePath('tiny-llama/model.safetensors')));
    const copied = parseSafetensors(bytes, 'model.safetensors');
    const shared = parseSafetensors(bytes, 'model.safetensors', { shareBytes: true });
    for (const [name, tensor] of shared) {
      expect(tensor.data.buffer, name).toBe(bytes.buffer);
      expect(Array.from(tensor.data)).toEqual(Array.from(copied.get(name)!.data));
      expect(copied.get(name)!.data.buffer).not.toBe(bytes.buffer);
    }
    // at an odd offset no Float32Array view is possible: decoded into fresh arrays, same values
    const bigger = new Uint8Array(bytes.length + 3);
    bigger.set(bytes, 3);
    const odd = parseSafetensors(bigger.subarray(3), 'model.safetensors', { shareBytes: true });
    for (const [name, tensor] of odd) {
      expect(tensor.data.buffer).not.toBe(bigger.buffer);
      expect(Array.from(tensor.data)).toEqual(Array.from(copied.get(name)!.data));
    }
  });

  it('loadCheckpoint keeps no second copy: its weights are views of model.safetensors', async () => {
    const files = await readModelDir(fixturePath('tiny-llama'));
    const file = files.get('model.safetensors')!;
    const checkpoint = loadCheckpoint(files);
    expect(checkpoint.weights.size).toBeGreaterThan(0);
    for (const [name, tensor] of checkpoint.weights) expect(tensor.data.buffer, name).toBe(file.buffer);
  });
});
