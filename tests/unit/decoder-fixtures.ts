// Loads a tests/fixtures/hf checkpoint and its reference outputs for the decoder and generate tests.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll } from 'vitest';
import { setNodeBackend } from '../../cli/node-backend';
import { Decoder } from '../../src/core/model/decoder';
import { loadCheckpoint, type Checkpoint } from '../../src/core/model/checkpoint';
import { parseSafetensors, type HostTensor } from '../../src/core/model/safetensors';

export type FixtureName = 'tiny-gpt2' | 'tiny-llama';

export interface Reference {
  logits: { input_ids: number[][]; attention_mask: number[][] };
  greedy: { prompt_ids: number[]; output_ids: number[] };
}

export interface Fixture {
  checkpoint: Checkpoint;
  reference: Reference;
  tensors: Map<string, HostTensor>;
}

export async function loadFixture(name: FixtureName): Promise<Fixture> {
  const dir = new URL(`../fixtures/hf/${name}/`, import.meta.url);
  const read = async (file: string) => new Uint8Array(await readFile(new URL(file, dir)));
  const files = new Map<string, Uint8Array>();
  for (const file of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) files.set(file, await read(file));
  return {
    checkpoint: loadCheckpoint(files),
    reference: JSON.parse(await readFile(new URL('reference.json', dir), 'utf8')) as Reference,
    tensors: parseSafetensors(await read('reference.safetensors'), 'reference.safetensors'),
  };
}

/**
 * Inside a describe block: switches to `backend`, loads each fixture and builds its decoder before
 * the tests, disposes the decoders after. The maps fill in beforeAll.
 */
export function useFixtureDecoders(backend: 'cpu' | 'wasm', names: FixtureName[]) {
  const fixtures = new Map<FixtureName, Fixture>();
  const decoders = new Map<FixtureName, Decoder>();
  beforeAll(async () => {
    await setNodeBackend(backend);
    for (const name of names) {
      const fixture = await loadFixture(name);
      fixtures.set(name, fixture);
      decoders.set(name, Decoder.fromHost(fixture.checkpoint.config, fixture.checkpoint.weights));
    }
  });
  afterAll(() => {
    for (const decoder of decoders.values()) decoder.dispose();
  });
  return { fixtures, decoders };
}
