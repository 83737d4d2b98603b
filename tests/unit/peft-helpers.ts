// Shared by the peft-*.test.ts files: fixture loading, logits on the reference inputs, comparisons.
import * as tf from '@tensorflow/tfjs';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '../../src/core/model/checkpoint';
import { Decoder } from '../../src/core/model/decoder';
import { parseSafetensors, type HostTensor } from '../../src/core/model/safetensors';
import type { PeftModel } from '../../src/core/peft';

export const MODELS = ['tiny-gpt2', 'tiny-llama'] as const;
export type ModelName = (typeof MODELS)[number];
export const ADAPTERS = ['lora', 'prefix', 'prefix_projection', 'prompt', 'ia3'] as const;

export const fixtureDir = (model: string) => fileURLToPath(new URL(`../fixtures/hf/${model}/`, import.meta.url));

function readDir(dir: string): Map<string, Uint8Array> {
  return new Map(readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => [e.name, new Uint8Array(readFileSync(dir + e.name))]));
}

export interface Fixture {
  decoder: Decoder;
  inputIds: number[][];
  attentionMask: number[][];
  reference: Map<string, HostTensor>;
  adapter(name: string): Map<string, Uint8Array>;
  tokenize(text: string): number[];
}

export function loadFixture(model: ModelName): Fixture {
  const dir = fixtureDir(model);
  const checkpoint = loadCheckpoint(readDir(dir));
  const reference = JSON.parse(readFileSync(dir + 'reference.json', 'utf8')) as { logits: { input_ids: number[][]; attention_mask: number[][] } };
  return {
    decoder: Decoder.fromHost(checkpoint.config, checkpoint.weights),
    inputIds: reference.logits.input_ids,
    attentionMask: reference.logits.attention_mask,
    reference: parseSafetensors(new Uint8Array(readFileSync(dir + 'reference.safetensors')), 'reference.safetensors'),
    adapter: (name) => readDir(`${dir}adapters/${name}/`),
    tokenize: (text) => checkpoint.tokenizer.encode(text, { addSpecialTokens: true }),
  };
}

/** Logits [B, T, V] of a PeftModel on the reference inputs, read back. */
export function logitsOf(model: PeftModel, fixture: Fixture, withMask = true): Float32Array {
  const logits = tf.tidy(() => {
    const ids = tf.tensor2d(fixture.inputIds, undefined, 'int32');
    const mask = withMask ? tf.tensor2d(fixture.attentionMask, undefined, 'int32') : undefined;
    return model.forward(ids, mask);
  });
  const data = new Float32Array(logits.dataSync() as Float32Array);
  logits.dispose();
  return data;
}

export { maxDiffUnmasked } from './compare';

export function maxDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** Every decoder weight copied to the host, to prove a failed load changed nothing. */
export function snapshot(decoder: Decoder): Map<string, Float32Array> {
  return new Map([...decoder.params].map(([name, t]) => [name, new Float32Array(t.dataSync() as Float32Array)]));
}

export function sameBits(a: Map<string, Float32Array>, b: Map<string, Float32Array>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, values] of a) {
    const other = b.get(name);
    if (!other || other.length !== values.length) return false;
    const x = new Uint32Array(values.buffer, values.byteOffset, values.length);
    const y = new Uint32Array(other.buffer, other.byteOffset, other.length);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  }
  return true;
}

export function safetensorsIndex(bytes: Uint8Array, file: string): Map<string, number[]> {
  return new Map([...parseSafetensors(bytes, file)].map(([name, t]) => [name, t.shape]));
}
