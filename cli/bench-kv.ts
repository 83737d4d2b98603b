// Key/value cache benchmark: greedy generation on a random Llama-style model with and without
// the cache. Both must give the same tokens; the cache should be several times faster.
//   node --import tsx cli/bench-kv.ts --backend wasm      → prints one JSON object
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../src/core/model/config';
import { Decoder } from '../src/core/model/decoder';
import { generate } from '../src/core/model/generate';
import { randomWeights } from '../src/core/model/random';
import { Rng } from '../src/core/rng';
import { setNodeBackend, type NodeBackend } from './node-backend';

/** 4 layers, d = 128, 4 query heads over 2 key/value heads, vocab 512: about 1M parameters. */
export const BENCH_CONFIG: ModelConfig = {
  family: 'llama',
  modelType: 'llama',
  vocabSize: 512,
  hiddenSize: 128,
  numLayers: 4,
  numHeads: 4,
  numKvHeads: 2,
  headDim: 32,
  intermediateSize: 352,
  maxPositions: 256,
  normEps: 1e-6,
  ropeTheta: 10000,
  tieWordEmbeddings: false,
  qkvBias: false,
  outBias: false,
  mlpBias: false,
  activation: 'silu',
  bosTokenId: null,
  eosTokenIds: [],
  padTokenId: null,
};

export interface KvBenchResult {
  backend: NodeBackend;
  promptTokens: number;
  newTokens: number;
  /** median wall time of `repeats` runs */
  withCacheMs: number;
  withoutCacheMs: number;
  speedup: number;
  sameIds: boolean;
  tensorsLeaked: number;
}

export async function benchKvCache(opts: { backend: NodeBackend; newTokens?: number; repeats?: number }): Promise<KvBenchResult> {
  const newTokens = opts.newTokens ?? 64;
  const repeats = opts.repeats ?? 3;
  await setNodeBackend(opts.backend);
  const decoder = Decoder.fromHost(BENCH_CONFIG, randomWeights(BENCH_CONFIG, 1234));
  const rng = new Rng(7);
  const prompt = Array.from({ length: 8 }, () => rng.int(BENCH_CONFIG.vocabSize));
  const before = tf.memory().numTensors;
  const run = async (useCache: boolean) => {
    const start = performance.now();
    const result = await generate(decoder, prompt, { maxNewTokens: newTokens, greedy: true, eosTokenIds: [], useCache });
    return { ms: performance.now() - start, ids: result.ids };
  };
  try {
    await run(true); // warm-up: kernels, wasm code paths, allocator
    await run(false);
    const withCache: number[] = [];
    const withoutCache: number[] = [];
    let cachedIds: number[] = [];
    let uncachedIds: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const a = await run(true);
      const b = await run(false);
      withCache.push(a.ms);
      withoutCache.push(b.ms);
      cachedIds = a.ids;
      uncachedIds = b.ids;
    }
    const withCacheMs = median(withCache);
    const withoutCacheMs = median(withoutCache);
    return {
      backend: opts.backend,
      promptTokens: prompt.length,
      newTokens,
      withCacheMs: round(withCacheMs),
      withoutCacheMs: round(withoutCacheMs),
      speedup: round(withoutCacheMs / withCacheMs),
      sameIds: cachedIds.length === uncachedIds.length && cachedIds.every((id, i) => id === uncachedIds[i]),
      tensorsLeaked: tf.memory().numTensors - before,
    };
  } finally {
    decoder.dispose();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

async function main(argv: string[]): Promise<void> {
  const at = argv.indexOf('--backend');
  const backend = at >= 0 ? argv[at + 1] : 'wasm';
  if (backend !== 'cpu' && backend !== 'wasm') throw new Error(`bench-kv: --backend must be cpu or wasm, got "${backend}"`);
  // stdout carries only the JSON result; tfjs's Node banner goes to stderr.
  console.log = (...parts: unknown[]) => console.error(...parts);
  const result = await benchKvCache({ backend });
  process.stdout.write(JSON.stringify(result) + '\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`bench-kv: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
