import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  encodePair,
  multipleChoiceAccuracy,
  scoreContinuations,
  scoreMultipleChoice,
  scoreOptions,
  type EncodedPair,
  type LogitsFunction,
  type ScoringTokenizer,
} from '../../src/core/eval/loglik';
import { computeLogits, type Decoder } from '../../src/core/model/decoder';
import type { HostTensor } from '../../src/core/model/safetensors';
import { PeftModel } from '../../src/core/peft/model';
import { HoneTokenizer } from '../../src/core/tokenizer/tokenizer';
import { useFixtureDecoders, type FixtureName } from './decoder-fixtures';

/** log-softmax of reference logits [B, T, V] at (row, position), token; by hand in float64. */
function referenceLogprob(logits: HostTensor, row: number, position: number, token: number): number {
  const [, time, vocab] = logits.shape;
  const offset = (row * time + position) * vocab;
  let max = -Infinity;
  for (let v = 0; v < vocab; v++) max = Math.max(max, logits.data[offset + v]);
  let sum = 0;
  for (let v = 0; v < vocab; v++) sum += Math.exp(logits.data[offset + v] - max);
  return logits.data[offset + token] - max - Math.log(sum);
}

function referenceArgmax(logits: HostTensor, row: number, position: number): number {
  const [, time, vocab] = logits.shape;
  const offset = (row * time + position) * vocab;
  let best = 0;
  for (let v = 1; v < vocab; v++) if (logits.data[offset + v] > logits.data[offset + best]) best = v;
  return best;
}

/** What the reference logits say about a continuation of ids[row][0…split) by ids[row][split…end). */
function referenceScore(logits: HostTensor, ids: number[][], row: number, split: number, end: number) {
  let logprob = 0;
  let isGreedy = true;
  for (let p = split; p < end; p++) {
    logprob += referenceLogprob(logits, row, p - 1, ids[row][p]);
    if (referenceArgmax(logits, row, p - 1) !== ids[row][p]) isGreedy = false;
  }
  return { logprob, isGreedy };
}

const decoderForward =
  (decoder: Decoder): LogitsFunction =>
  (ids, mask) =>
    computeLogits(decoder, ids, mask);

const FIXTURES: FixtureName[] = ['tiny-gpt2', 'tiny-llama'];

describe('log-likelihood scoring on the fixture models', () => {
  const { fixtures, decoders } = useFixtureDecoders('cpu', FIXTURES);

  describe.each(FIXTURES)('%s', (name) => {
    it("Log-likelihood scoring of options matches summed token log-probabilities computed from the fixture model's reference logits", async () => {
      const { reference, tensors } = fixtures.get(name)!;
      const logits = tensors.get('logits.base')!; // [2, 7, V]
      const ids = reference.logits.input_ids; // row 1 is real for 5 tokens
      const greedyNext = referenceArgmax(logits, 0, 3);
      const pairs: EncodedPair[] = [
        { contextIds: ids[0].slice(0, 3), continuationIds: ids[0].slice(3, 7) },
        { contextIds: ids[1].slice(0, 2), continuationIds: ids[1].slice(2, 5) },
        { contextIds: ids[0].slice(0, 4), continuationIds: [greedyNext] },
        { contextIds: ids[0].slice(0, 1), continuationIds: ids[0].slice(1, 7) },
      ];
      const expected = [
        referenceScore(logits, ids, 0, 3, 7),
        referenceScore(logits, ids, 1, 2, 5),
        { logprob: referenceLogprob(logits, 0, 3, greedyNext), isGreedy: true },
        referenceScore(logits, ids, 0, 1, 7),
      ];
      const forward = decoderForward(decoders.get(name)!);
      const batched = await scoreContinuations(forward, pairs, { batchSize: 4 }); // one right-padded batch
      const single = await scoreContinuations(forward, pairs, { batchSize: 1 });
      batched.forEach((score, i) => {
        expect(Math.abs(score.logprob - expected[i].logprob)).toBeLessThan(1e-4);
        expect(score.isGreedy).toBe(expected[i].isGreedy);
        expect(Math.abs(single[i].logprob - score.logprob)).toBeLessThan(1e-5);
        expect(score.continuationIds).toEqual(pairs[i].continuationIds);
      });
      const worst = Math.max(...batched.map((s, i) => Math.abs(s.logprob - expected[i].logprob)));
      console.log(`${name}: summed log-probs ${batched.map((s) => s.logprob.toFixed(5)).join(', ')}; max |scorer − reference| = ${worst.toExponential(2)}`);
      // the model reads (context + continuation)[:-1] and each token's own log-prob is the reference's
      expect(batched[0].inputIds).toEqual(ids[0].slice(0, 6));
      expect(batched[1].inputIds).toEqual(ids[1].slice(0, 4));
      batched[3].tokenLogprobs.forEach((lp, j) => expect(Math.abs(lp - referenceLogprob(logits, 0, j, ids[0][j + 1]))).toBeLessThan(1e-4));
      expect(batched[0].tokenLogprobs).toHaveLength(4);
    });

    it('scores through a PeftModel the same as through the decoder (disabled method = base)', async () => {
      const decoder = decoders.get(name)!;
      const ids = fixtures.get(name)!.reference.logits.input_ids;
      const pairs = [{ contextIds: ids[0].slice(0, 3), continuationIds: ids[0].slice(3, 7) }];
      const peft = new PeftModel(decoder, null);
      const viaPeft = await scoreContinuations((i, m) => computeLogits((x, y) => peft.forward(x, y), i, m), pairs);
      const viaDecoder = await scoreContinuations(decoderForward(decoder), pairs);
      expect(viaPeft[0].logprob).toBe(viaDecoder[0].logprob);
    });

    it('leaves no tensors behind', async () => {
      const decoder = decoders.get(name)!;
      const tokenizer = fixtures.get(name)!.checkpoint.tokenizer;
      const run = () => scoreOptions(decoderForward(decoder), tokenizer, 'Hello', ['world', 'there', 'x'], { batchSize: 2 });
      await run(); // warm-up: backends create kernels' helper tensors on first use
      const before = tf.memory().numTensors;
      await run();
      expect(tf.memory().numTensors).toBe(before);
    });
  });

  it('splits a GPT-2 context and option as the harness and matches the reference logits', async () => {
    const { checkpoint, tensors, reference } = fixtures.get('tiny-gpt2')!;
    const tokenizer = checkpoint.tokenizer;
    const logits = tensors.get('logits.base')!;
    // reference row 1 is " Tpppp read 28" = [267, 265, 265, 338, 449] (+ padding)
    expect(encodePair(tokenizer, ' Tpppp', ' read 28')).toEqual({ contextIds: [267, 265, 265], continuationIds: [338, 449] });
    // the context's trailing space moves to the continuation (harness _encode_pair)
    expect(encodePair(tokenizer, ' Tpppp ', 'read 28')).toEqual({ contextIds: [267, 265, 265], continuationIds: [338, 449] });
    expect(encodePair(tokenizer, 'Hello', ' world')).toEqual({ contextIds: [40, 69, 76, 76, 79], continuationIds: [221, 87, 79, 82, 275] });
    // an empty context is the BOS token (GPT-2: <|endoftext|> = 0)
    expect(encodePair(tokenizer, '', ' world')).toEqual({ contextIds: [0], continuationIds: [221, 87, 79, 82, 275] });

    const forward = decoderForward(decoders.get('tiny-gpt2')!);
    const expected = referenceScore(logits, reference.logits.input_ids, 1, 3, 5).logprob;
    const withDelimiter = await scoreOptions(forward, tokenizer, ' Tpppp', ['read 28', 'pppp']);
    const withTrailingSpace = await scoreOptions(forward, tokenizer, ' Tpppp ', ['read 28', 'pppp'], { targetDelimiter: '' });
    expect(Math.abs(withDelimiter.logprobs[0] - expected)).toBeLessThan(1e-4);
    expect(withTrailingSpace.logprobs).toEqual(withDelimiter.logprobs);
    expect(withDelimiter.lengths).toEqual([7, 4]); // characters of the option, without the delimiter
    expect(withDelimiter.tokenCounts[0]).toBe(2);
  });

  it('keeps the last maxLength + 1 tokens, as the harness truncates on the left', async () => {
    const ids = fixtures.get('tiny-llama')!.reference.logits.input_ids;
    const forward = decoderForward(decoders.get('tiny-llama')!);
    const [score] = await scoreContinuations(forward, [{ contextIds: ids[0].slice(0, 3), continuationIds: ids[0].slice(3, 7) }], { maxLength: 5 });
    expect(score.inputIds).toEqual(ids[0].slice(1, 6));
    await expect(scoreContinuations(forward, [{ contextIds: ids[0].slice(0, 1), continuationIds: ids[0].slice(1, 7) }], { maxLength: 5 })).rejects.toThrow(
      /pair 0 has 6 continuation tokens, more than the model's 5-token window/,
    );
  });

  it('names the option the tokenizer cannot encode', async () => {
    const llama = fixtures.get('tiny-llama')!.checkpoint.tokenizer;
    const forward = decoderForward(decoders.get('tiny-llama')!);
    // this tokenizer merges " stars." into the context's last tokens: the whole encodes to 5 tokens, the context to 5
    await expect(scoreOptions(forward, llama, 'Q: What does Li count? A:', ['moons', 'stars.'])).rejects.toThrow(
      'the tokenizer cannot encode option 2 of 2 " stars." as a continuation: context + option encodes to 5 tokens and the context alone to 5',
    );
    await expect(scoreOptions(forward, llama, 'Q:', ['yes', ''])).rejects.toThrow('option 2 of 2 "": the option is empty');
    await expect(scoreMultipleChoice(forward, llama, [{ context: 'Q:', options: ['a'] }, { context: 'Q:', options: [] }])).rejects.toThrow('question 2 has no options to score');

    const wordPiece = HoneTokenizer.fromJson(
      JSON.stringify({
        model: { type: 'WordPiece', vocab: { '[UNK]': 0, yes: 1, no: 2 }, unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100 },
        pre_tokenizer: { type: 'Whitespace' },
      }),
    );
    expect(wordPiece.unkTokenId).toBe(0);
    await expect(scoreOptions(forward, wordPiece, 'yes', ['no', 'zebra'])).rejects.toThrow(
      'the tokenizer cannot encode option 2 of 2 " zebra": it has characters outside the vocabulary (encoded as the unknown token, id 0)',
    );
    await expect(scoreOptions(forward, wordPiece, '', ['no'])).rejects.toThrow('without a context: the tokenizer has neither a BOS nor an EOS token');
  });
});

/** Characters as tokens; every position's logits are the same log-weights, so each option's log-prob is a sum of known terms. */
describe('acc and acc_norm', () => {
  const chars = ['<s>', ' ', 'a', 'b', 'é', 'Q'];
  const weights = [1, 5, 1, 3, 2, 1]; // log-softmax(ln w) = ln(w / 13)
  const tokenizer: ScoringTokenizer = {
    encode: (text) => Array.from(text).map((ch) => chars.indexOf(ch)),
    bosTokenId: 0,
    eosTokenId: null,
  };
  const forward: LogitsFunction = async (ids) => {
    const [b, t, v] = [ids.length, ids[0].length, chars.length];
    const data = new Float32Array(b * t * v);
    for (let i = 0; i < b * t; i++) weights.forEach((w, k) => (data[i * v + k] = Math.log(w)));
    return { data, shape: [b, t, v] };
  };
  const lp = (ch: string) => Math.log(weights[chars.indexOf(ch)] / 13);

  it('ranks by summed log-probability (acc) and by log-probability per character (acc_norm), as the harness', async () => {
    const score = await scoreOptions(forward, tokenizer, 'Q', ['a', 'bbb', 'é']);
    const expected = [lp(' ') + lp('a'), lp(' ') + 3 * lp('b'), lp(' ') + lp('é')]; // −3.5204, −5.3544, −2.8273
    score.logprobs.forEach((value, i) => expect(value).toBeCloseTo(expected[i], 6));
    expect(score.lengths).toEqual([1, 3, 1]);
    expect(score.prediction).toBe(2); // é: highest total
    expect(score.normalizedPrediction).toBe(1); // bbb: −1.785 per character
    expect(score.isGreedy).toEqual([false, false, false]); // the greedy token is ' '
    expect(multipleChoiceAccuracy(score, 1)).toEqual({ acc: 0, accNorm: 1, exactMatch: 0 });
    expect(multipleChoiceAccuracy(score, [1, 2])).toEqual({ acc: 1, accNorm: 1, exactMatch: 0 });
    expect(() => multipleChoiceAccuracy(score, 3)).toThrow('gold 3 is not an option index (0…2)');

    const byBytes = await scoreOptions(forward, tokenizer, 'Q', ['a', 'bbb', 'é'], { lengthUnit: 'bytes' });
    expect(byBytes.lengths).toEqual([1, 3, 2]);
    expect(byBytes.normalizedPrediction).toBe(2); // é: −1.414 per byte
  });

  it('greedy continuation: the option equals what greedy decoding would produce', async () => {
    const score = await scoreOptions(forward, tokenizer, 'Q', [' ', 'a'], { targetDelimiter: '' });
    expect(score.isGreedy).toEqual([true, false]);
    expect(multipleChoiceAccuracy(score, 0).exactMatch).toBe(1);
  });

  it('batches across questions and keeps their order; stops when aborted', async () => {
    const calls: number[][] = [];
    const counting: LogitsFunction = (ids, mask) => {
      calls.push([ids.length, ids[0].length]);
      return forward(ids, mask);
    };
    const scores = await scoreMultipleChoice(counting, tokenizer, [
      { context: 'Q', options: ['a', 'bbb'] },
      { context: 'QQ', options: ['é'] },
    ], { batchSize: 2 });
    expect(calls).toEqual([[2, 4], [1, 2]]); // longest first: "Q bbb" (reads 4 tokens) with "QQ é" (3, padded), then "Q a"
    expect(scores.map((s) => s.logprobs.length)).toEqual([2, 1]);
    expect(scores[1].logprobs[0]).toBeCloseTo(lp(' ') + lp('é'), 6);
    const controller = new AbortController();
    controller.abort();
    await expect(scoreOptions(forward, tokenizer, 'Q', ['a'], { signal: controller.signal })).rejects.toThrow(/abort/i);
  });
});
