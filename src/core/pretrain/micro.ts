// hone-micro: a ~8k-parameter stand-in for hone-tiny that pretrains in seconds, for tests and the
// Pretrain view's `?pretrain=micro`. tests/fixtures/hone-micro was made with exactly this spec
// (scripts/make-micro-model.ts). Only the fields it changes in HONE_TINY (spread it over HONE_TINY),
// and only a type import, so the main thread can use it without pulling in corpus or tokenizer code.
import type { PretrainSpec } from './pretrain';

/** Everything but the seeds: a micro run draws the same world and corpus as hone-tiny, only fewer documents. */
export const HONE_MICRO: Readonly<Omit<PretrainSpec, 'worldSeed' | 'corpusSeed' | 'seed'>> = {
  documents: 300,
  vocabSize: 300,
  hiddenSize: 16,
  layers: 1,
  heads: 2,
  kvHeads: 1,
  intermediateSize: 32,
  seqLen: 16,
  batchSize: 4,
  steps: 20,
  learningRate: 1e-2,
  warmupSteps: 2,
};
