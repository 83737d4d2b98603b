import { describe, expect, it } from 'vitest';
import type { LogitsFunction, ScoringTokenizer } from '../../src/core/eval/loglik';
import { corpusBleu } from '../../src/core/eval/metrics';
import { listMetrics, runEvaluation, type EvalExample, type ExampleResult, type GenerateFunction } from '../../src/core/eval/run';
import type { GenerationSettings } from '../../src/core/model/generate';

const QA: EvalExample[] = [
  { id: 'a', prompt: 'Capital of France?', references: ['Paris'], task: 'qa', cluster: 'knowledge' },
  { id: 'b', prompt: 'Colour of the sky?', references: ['blue', 'light blue'], task: 'qa', cluster: 'knowledge' },
  { id: 'c', prompt: 'Opposite of hot?', references: ['cold'], task: 'antonyms', cluster: 'language' },
];

/** Answers from a table; records what it was asked with. */
function tableModel(answers: Record<string, string>, calls: { prompt: string; settings: GenerationSettings }[]): GenerateFunction {
  return async (prompt, settings) => {
    calls.push({ prompt, settings });
    return answers[prompt] ?? '';
  };
}

describe('runEvaluation with generation metrics', () => {
  it('scores base and tuned with the same settings, streams results in order and aggregates them', async () => {
    const baseCalls: { prompt: string; settings: GenerationSettings }[] = [];
    const tunedCalls: typeof baseCalls = [];
    const base = tableModel({ 'Capital of France?': 'Lyon', 'Colour of the sky?': 'Blue.', 'Opposite of hot?': 'warm' }, baseCalls);
    const tuned = tableModel({ 'Capital of France?': 'The Paris', 'Colour of the sky?': 'green', 'Opposite of hot?': 'cold' }, tunedCalls);
    const streamed: [string, number, number][] = [];
    const generation = { maxNewTokens: 16, greedy: true, seed: 7 };
    const run = await runEvaluation(QA, { base: { generate: base }, tuned: { generate: tuned } }, {
      metric: 'squad_em',
      generation,
      bootstrap: { seed: 1, resamples: 200 },
      onResult: (r: ExampleResult, done, total) => streamed.push([r.id, done, total]),
    });
    expect(streamed).toEqual([['a', 1, 3], ['b', 2, 3], ['c', 3, 3]]);
    expect(baseCalls.map((c) => c.settings)).toEqual([generation, generation, generation]);
    expect(tunedCalls.map((c) => c.settings)).toEqual(baseCalls.map((c) => c.settings));
    expect(run.results.map((r) => [r.base.output, r.base.score, r.tuned.output, r.tuned.score, r.winner])).toEqual([
      ['Lyon', 0, 'The Paris', 1, 'tuned'],
      ['Blue.', 1, 'green', 0, 'base'],
      ['warm', 0, 'cold', 1, 'tuned'],
    ]);
    expect(run.cancelled).toBe(false);
    expect(run.comparison!.overall).toEqual({ count: 3, base: 1 / 3, tuned: 2 / 3, difference: 1 / 3 });
    expect(run.comparison!.byCluster.knowledge).toEqual({ count: 2, base: 0.5, tuned: 0.5, difference: 0 });
    expect(run.comparison!.byTask.antonyms.difference).toBe(1);
    expect(run.comparison!.wins).toEqual({ tuned: 2, base: 1, tie: 0 });
  });

  it('reports corpus BLEU from summed statistics next to the sentence scores', async () => {
    const examples: EvalExample[] = [
      { id: '1', prompt: 'p1', references: ['the cat sat on the mat'], task: 't', cluster: 'c' },
      { id: '2', prompt: 'p2', references: ['a dog ran in the park today'], task: 't', cluster: 'c' },
    ];
    const run = await runEvaluation(examples, {
      base: { generate: async () => 'nothing like it' },
      tuned: { generate: async (prompt) => (prompt === 'p1' ? 'the cat sat on the mat' : 'a dog ran in the park today') },
    }, { metric: 'bleu' });
    const streams = [examples.map((e) => e.references![0])];
    expect(run.corpus!.base).toBe(corpusBleu(['nothing like it', 'nothing like it'], streams).score);
    expect(run.corpus!.base).toBe(0); // no unigram matches
    expect(run.corpus!.tuned).toBeCloseTo(100, 10);
    run.results.forEach((r) => expect(r.tuned.score).toBeCloseTo(100, 10));
  });

  it('scores IFEval checks strict and loose, with the prompt- and instruction-level report', async () => {
    const examples: EvalExample[] = [
      { id: 'x', prompt: 'Say hello in lowercase without commas.', task: 'ifeval', cluster: 'format', checks: [{ id: 'punctuation:no_comma' }, { id: 'change_case:english_lowercase' }] },
    ];
    const run = await runEvaluation(examples, {
      base: { generate: async () => 'Hello, World' },
      tuned: { generate: async () => 'Sure:\nhello world' },
    }, { metric: 'ifeval_strict' });
    expect([run.results[0].base.score, run.results[0].tuned.score]).toEqual([0, 0]); // "Sure:" breaks lowercase when strict
    expect(run.ifeval!.tuned.strict).toMatchObject({ promptLevel: 0, instructionLevel: 0.5 });
    expect(run.ifeval!.tuned.loose).toMatchObject({ promptLevel: 1, instructionLevel: 1 });
    expect(run.ifeval!.base.loose).toMatchObject({ promptLevel: 0, instructionLevel: 0 });
  });

  it('stops when cancelled and returns what finished', async () => {
    const controller = new AbortController();
    const run = await runEvaluation(QA, { base: { generate: async () => 'Paris' }, tuned: { generate: async () => 'Paris' } }, {
      metric: 'squad_f1',
      signal: controller.signal,
      onResult: () => controller.abort(),
    });
    expect(run.cancelled).toBe(true);
    expect(run.results.map((r) => r.id)).toEqual(['a']);
    expect(run.comparison!.overall.count).toBe(1);

    // aborted inside a generation: the run ends cancelled rather than failing
    const inside = new AbortController();
    const slow: GenerateFunction = (_prompt, _settings, signal) =>
      new Promise<string>((_resolve, reject) => {
        signal?.addEventListener('abort', () => reject(signal.reason));
        setTimeout(() => inside.abort(), 5);
      });
    const stopped = await runEvaluation(QA, { base: { generate: slow }, tuned: { generate: slow } }, { metric: 'squad_f1', signal: inside.signal });
    expect(stopped).toMatchObject({ cancelled: true, results: [], comparison: null });
  });
});

describe('runEvaluation with acc / acc_norm', () => {
  // characters are tokens; every position has the same logits, so option log-probs are sums of known terms
  const chars = ['<s>', ' ', 'a', 'b', 'é', 'Q'];
  const tokenizer: ScoringTokenizer = { encode: (text) => Array.from(text).map((ch) => chars.indexOf(ch)), bosTokenId: 0, eosTokenId: null };
  const constantModel =
    (weights: number[]): LogitsFunction =>
    async (ids) => {
      const [b, t, v] = [ids.length, ids[0].length, chars.length];
      const data = new Float32Array(b * t * v);
      for (let i = 0; i < b * t; i++) weights.forEach((w, k) => (data[i * v + k] = Math.log(w)));
      return { data, shape: [b, t, v] };
    };
  const example: EvalExample = { id: 'mc', prompt: 'Q', options: ['a', 'bbb', 'é'], gold: 1, task: 'mc', cluster: 'c' };
  const base = constantModel([1, 5, 1, 3, 2, 1]); // prefers "é" in total, "bbb" per character
  const tuned = constantModel([1, 5, 1, 9, 1, 1]); // prefers "bbb" either way

  it('ranks options by log-likelihood for each model', async () => {
    const acc = await runEvaluation([example], { base: { forward: base }, tuned: { forward: tuned } }, { metric: 'acc', tokenizer });
    expect([acc.results[0].base.output, acc.results[0].base.score, acc.results[0].tuned.output, acc.results[0].tuned.score]).toEqual(['é', 0, 'bbb', 1]);
    const accNorm = await runEvaluation([example], { base: { forward: base }, tuned: { forward: tuned } }, { metric: 'acc_norm', tokenizer });
    expect([accNorm.results[0].base.output, accNorm.results[0].base.score, accNorm.results[0].tuned.score]).toEqual(['bbb', 1, 1]);
    expect(accNorm.results[0].winner).toBe('tie');
  });

  it('names the example whose option cannot be scored', async () => {
    const bad = { ...example, options: ['a', 'zz'] };
    await expect(runEvaluation([bad], { base: { forward: base }, tuned: { forward: tuned } }, { metric: 'acc', tokenizer })).rejects.toThrow(
      /^example "mc": scoreContinuations: pair 1 has token id -1, outside the model's vocabulary of 6/,
    );
  });
});

describe('runEvaluation refuses a bad setup before running anything', () => {
  const never: GenerateFunction = async () => {
    throw new Error('must not run');
  };
  const models = { base: { generate: never }, tuned: { generate: never } };

  it('an unknown metric, listing the known ones', async () => {
    await expect(runEvaluation(QA, models, { metric: 'blue' })).rejects.toThrow(
      `unknown metric "blue" (known: ${listMetrics().map((m) => m.name).join(', ')})`,
    );
    expect(listMetrics().map((m) => m.name)).toEqual(['bleu', 'chrf', 'chrf++', 'rouge1', 'rouge2', 'rougeL', 'rougeLsum', 'squad_em', 'squad_f1', 'exact_match', 'ifeval_strict', 'ifeval_loose', 'acc', 'acc_norm']);
  });

  it('an eval set without references for a reference-based metric, naming the example', async () => {
    const noReferences = [QA[0], { ...QA[1], references: [] }];
    await expect(runEvaluation(noReferences, models, { metric: 'bleu' })).rejects.toThrow(
      'example 2 (id "b") has no references, but the metric "bleu" compares outputs with references',
    );
  });

  it('missing options, gold, checks or model functions', async () => {
    await expect(runEvaluation(QA, models, { metric: 'acc' })).rejects.toThrow('example 1 (id "a") needs "options" (at least two strings) for the metric "acc"');
    const noGold = [{ ...QA[0], options: ['x', 'y'], gold: 2 }];
    await expect(runEvaluation(noGold, models, { metric: 'acc_norm' })).rejects.toThrow('needs "gold", the index (0…1) of the correct option');
    await expect(runEvaluation(QA, models, { metric: 'ifeval_loose' })).rejects.toThrow('example 1 (id "a") has no "checks"');
    const badCheck = [{ ...QA[0], checks: [{ id: 'punctuation:no_comma' }, { id: 'nope' }] }];
    await expect(runEvaluation(badCheck, models, { metric: 'ifeval_strict' })).rejects.toThrow('example 1 (id "a"), instruction 2: unknown instruction id "nope"');
    const mc = [{ ...QA[0], options: ['x', 'y'], gold: 0 }];
    await expect(runEvaluation(mc, models, { metric: 'acc' })).rejects.toThrow('the metric "acc" ranks options by log-likelihood, but the base model has no forward function');
    await expect(runEvaluation(QA, { base: { generate: never }, tuned: {} }, { metric: 'chrf' })).rejects.toThrow('the tuned model has no generate function');
    await expect(runEvaluation([QA[0], { ...QA[1], id: 'a' }], models, { metric: 'chrf' })).rejects.toThrow('example 2 (id "a"): the id is used by an earlier example too');
    await expect(runEvaluation([], models, { metric: 'chrf' })).rejects.toThrow('the eval set has no examples');
  });
});
