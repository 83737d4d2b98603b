import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useFixtureDecoders } from './decoder-fixtures';
import { generate } from '../../src/core/model/generate';
import { Decoder } from '../../src/core/model/decoder';
import { randomWeights } from '../../src/core/model/random';
import { greedyBatch } from '../../src/core/experiment/greedy-batch';
import { FLAN_QUICK, evalItems, runFlanExperiment, trainExamples, type FlanConfig } from '../../src/core/experiment/flan';
import { HONE_TINY, modelConfig, prepareCorpus, type PretrainSpec } from '../../src/core/pretrain/pretrain';
import { makeWorld } from '../../src/core/world/world';

describe('greedyBatch', () => {
  const { decoders } = useFixtureDecoders('cpu', ['tiny-llama', 'tiny-gpt2']);

  it('gives exactly the ids of per-prompt cached greedy generation, for prompts of different lengths', async () => {
    for (const name of ['tiny-llama', 'tiny-gpt2'] as const) {
      const decoder = decoders.get(name)!;
      const prompts = [[1, 45, 300, 12], [1, 7], [1, 99, 98, 97, 96, 95, 94]];
      const eos = decoder.config.eosTokenIds[0] ?? 0;
      const before = tf.memory().numTensors;
      const batched = await greedyBatch((ids, mask) => decoder.forward(ids, { attentionMask: mask }).logits, prompts, {
        maxNewTokens: 6,
        eosTokenId: eos,
        padTokenId: 0,
        batchSize: 2,
      });
      expect(tf.memory().numTensors).toBe(before);
      for (let i = 0; i < prompts.length; i++) {
        const single = await generate(decoder, prompts[i], { maxNewTokens: 6, greedy: true, eosTokenIds: [eos] });
        const expected = single.newIds.filter((id) => id !== eos);
        expect(batched[i], `${name} prompt ${i}`).toEqual(expected);
      }
      // a stop token ends its row right after it (kept), other rows run on
      const stop = batched[0][1];
      const stopped = await greedyBatch((ids, mask) => decoder.forward(ids, { attentionMask: mask }).logits, prompts, {
        maxNewTokens: 6,
        eosTokenId: eos,
        padTokenId: 0,
        stopTokenIds: new Set([stop]),
      });
      expect(stopped[0]).toEqual(batched[0].slice(0, batched[0].indexOf(stop) + 1));
      for (let i = 1; i < prompts.length; i++) {
        const cut = batched[i].indexOf(stop);
        expect(stopped[i]).toEqual(cut === -1 ? batched[i] : batched[i].slice(0, cut + 1));
      }
    }
  });
});

describe('FLAN experiment (micro model, mechanics only)', () => {
  const MICRO: PretrainSpec = { ...HONE_TINY, documents: 200, vocabSize: 300, hiddenSize: 16, layers: 1, heads: 2, kvHeads: 1, intermediateSize: 32, seqLen: 64 };
  const config: FlanConfig = {
    ...FLAN_QUICK,
    heldOut: ['antonyms', 'sentiment'],
    trainPerCluster: 2,
    evalPerCluster: 3,
    steps: 2,
    batchSize: 4,
    maxLength: 120,
    sweep: [1],
    shots: 1,
    maxNewTokens: 3,
    bootstrapResamples: 50,
  };

  it('renders held-out items from forward templates only, and training data from the other clusters', () => {
    const world = makeWorld(1);
    const items = evalItems(world, config);
    expect(items.length).toBe(6);
    expect(items.every((i) => i.template !== 'turned')).toBe(true);
    expect(items.filter((i) => i.cluster === 'sentiment').every((i) => i.options?.includes(i.answer))).toBe(true);
    const train = trainExamples(world, ['spelling'], 'dataset-name', config);
    expect(train.every((e) => e.prompt.startsWith('spelling: ') && e.prompt.endsWith('\n\n'))).toBe(true);
    // the answer follows the blank line led by a space, as words are in the corpus: "s p e l l"
    expect(train.every((e) => e.completion.startsWith(' ') && !e.completion.startsWith('  '))).toBe(true);
  });

  it('runs base, tuned, prefix, ablation and sweep end to end with a complete report and no leaked tensors', async () => {
    const corpus = prepareCorpus(MICRO);
    const cfg = modelConfig(MICRO, corpus.tokenizer.vocabSize);
    const decoder = Decoder.fromHost(cfg, randomWeights(cfg, 1));
    const before = tf.memory().numTensors;
    const stages: string[] = [];
    const report = await runFlanExperiment(decoder, corpus.tokenizer, config, { onProgress: (p) => stages.includes(p.stage) || stages.push(p.stage) });
    expect(tf.memory().numTensors).toBe(before);
    decoder.dispose();
    expect(report.heldOut).toEqual(['antonyms', 'sentiment']);
    expect(report.trainClusters.length).toBe(11);
    expect(Object.keys(report.base.perCluster).sort()).toEqual(['antonyms', 'sentiment']);
    expect(Object.keys(report.base.rankPerCluster)).toEqual(['sentiment']);
    expect(report.base.items.length).toBe(6);
    expect(report.baseFewShot?.items.length).toBe(6);
    expect(report.tuned.method).toBe('full');
    expect(report.efficient.method).toBe('prefix');
    expect(report.efficient.trainablePercent).toBeLessThan(report.tuned.trainablePercent);
    expect(report.tuned.trainablePercent).toBeCloseTo(100, 5);
    expect(report.ablation.map((a) => a.rendering)).toEqual(['no-template', 'dataset-name', 'instructions']);
    expect(report.sweep.map((s) => s.clusters)).toEqual([0, 1, 11]);
    expect(report.sweep[0].overall).toBe(report.base.overall);
    for (const v of [report.base.overall, report.tuned.overall, report.tuned.vsBase.overall.low, report.tuned.vsBase.overall.high]) expect(Number.isFinite(v)).toBe(true);
    expect(stages).toEqual([
      'base zero-shot',
      'base 1-shot',
      'tune full',
      'tune full: evaluating',
      'tune prefix',
      'tune prefix: evaluating',
      'ablation no-template',
      'ablation no-template: evaluating',
      'ablation dataset-name',
      'ablation dataset-name: evaluating',
      'sweep 1 clusters',
      'sweep 1 clusters: evaluating',
    ]);
  }, 120_000);
});
