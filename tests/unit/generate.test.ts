import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { generate } from '../../src/core/model/generate';
import { useFixtureDecoders, type FixtureName } from './decoder-fixtures';

const FIXTURES: FixtureName[] = ['tiny-gpt2', 'tiny-llama'];
/** A decode that makes every token visible, so stop strings and streamed pieces are exact. */
const bracketDecode = (ids: number[]) => ids.map((id) => `<${id}>`).join('');
const SAMPLING = { temperature: 0.9, topK: 40, topP: 0.95, repetitionPenalty: 1.1 };

describe.each(['cpu', 'wasm'] as const)('generate on %s', (backend) => {
  const { fixtures, decoders } = useFixtureDecoders(backend, FIXTURES);

  describe.each(FIXTURES)('%s', (name) => {
    const prompt = () => fixtures.get(name)!.reference.greedy.prompt_ids;

    it('reproduces transformers greedy output ids exactly, with and without the cache', async () => {
      const expected = fixtures.get(name)!.reference.greedy.output_ids;
      for (const useCache of [true, false]) {
        const result = await generate(decoders.get(name)!, prompt(), { maxNewTokens: 12, greedy: true, useCache });
        expect(result.ids).toEqual(expected);
        expect(result.newIds).toEqual(expected.slice(prompt().length));
        expect(result.stoppedBy).toBe('length');
      }
    });

    it('samples the same tokens with and without the cache for a seed', async () => {
      const settings = { maxNewTokens: 16, seed: 1234, eosTokenIds: [], ...SAMPLING };
      const cached = await generate(decoders.get(name)!, prompt(), { ...settings, useCache: true });
      const uncached = await generate(decoders.get(name)!, prompt(), { ...settings, useCache: false });
      expect(cached.newIds).toHaveLength(16);
      expect(uncached.ids).toEqual(cached.ids);
    });

    it('repeats itself for the same seed and differs for another', async () => {
      const run = (seed: number) =>
        generate(decoders.get(name)!, prompt(), { maxNewTokens: 16, seed, temperature: 1.5, eosTokenIds: [] });
      const a = await run(7);
      const b = await run(7);
      const c = await run(8);
      expect(b.ids).toEqual(a.ids);
      expect(c.ids).not.toEqual(a.ids);
    });

    it('stops at a stop string, cutting the text before it, and streams each token once', async () => {
      const greedy = fixtures.get(name)!.reference.greedy.output_ids.slice(prompt().length);
      const stopAt = greedy.findIndex((id, i) => i >= 3 && !greedy.slice(0, i).includes(id));
      const stop = `<${greedy[stopAt]}>`;
      const streamed: [number, string][] = [];
      const result = await generate(
        decoders.get(name)!,
        prompt(),
        { maxNewTokens: 12, greedy: true, stopStrings: [stop] },
        { decode: bracketDecode, onToken: (id, text) => streamed.push([id, text]) },
      );
      expect(result.stoppedBy).toBe('stop');
      expect(result.newIds).toEqual(greedy.slice(0, stopAt + 1));
      expect(result.text).toBe(bracketDecode(greedy.slice(0, stopAt)));
      expect(streamed.map(([id]) => id)).toEqual(result.newIds);
      expect(streamed.map(([, text]) => text).join('')).toBe(result.text);
    });

    it('stops at an end-of-sequence token and keeps it', async () => {
      const greedy = fixtures.get(name)!.reference.greedy.output_ids.slice(prompt().length);
      const eos = greedy[3];
      const result = await generate(decoders.get(name)!, prompt(), { maxNewTokens: 12, greedy: true, eosTokenIds: [eos] });
      expect(result.stoppedBy).toBe('eos');
      expect(result.newIds).toEqual(greedy.slice(0, greedy.indexOf(eos) + 1));
    });

    it('stops with "cancel" when the signal is aborted', async () => {
      const controller = new AbortController();
      let tokens = 0;
      const result = await generate(
        decoders.get(name)!,
        prompt(),
        { maxNewTokens: 12, greedy: true },
        { signal: controller.signal, onToken: () => ++tokens === 3 && controller.abort() },
      );
      expect(result.stoppedBy).toBe('cancel');
      expect(result.newIds).toHaveLength(3);
      const aborted = new AbortController();
      aborted.abort();
      const none = await generate(decoders.get(name)!, prompt(), { maxNewTokens: 12, greedy: true }, { signal: aborted.signal });
      expect(none).toEqual({ ids: prompt(), newIds: [], stoppedBy: 'cancel' });
    });

    it('leaks no tensors, with or without the cache, also when cancelled', async () => {
      const decoder = decoders.get(name)!;
      await generate(decoder, prompt(), { maxNewTokens: 2, greedy: true }); // warm-up
      const before = tf.memory().numTensors;
      await generate(decoder, prompt(), { maxNewTokens: 6, greedy: true });
      await generate(decoder, prompt(), { maxNewTokens: 6, seed: 1, useCache: false });
      const controller = new AbortController();
      await generate(decoder, prompt(), { maxNewTokens: 6, greedy: true }, { signal: controller.signal, onToken: () => controller.abort() });
      expect(tf.memory().numTensors).toBe(before);
    });
  });

  it('refuses GPT-2 generations past n_positions before starting', async () => {
    const before = tf.memory().numTensors;
    await expect(generate(decoders.get('tiny-gpt2')!, [1, 2], { maxNewTokens: 63 })).rejects.toThrow(
      'prompt (2 tokens) + maxNewTokens (63) = 65 exceeds this GPT-2 model\'s n_positions (64)',
    );
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses prompts and settings it cannot use', async () => {
    const decoder = decoders.get('tiny-llama')!;
    await expect(generate(decoder, [], { maxNewTokens: 1 })).rejects.toThrow('the prompt is empty');
    await expect(generate(decoder, [600], { maxNewTokens: 1 })).rejects.toThrow('prompt token 0 is 600, outside the vocabulary [0, 600)');
    await expect(generate(decoder, [1], { maxNewTokens: 1, stopStrings: ['x'] })).rejects.toThrow('stopStrings need opts.decode');
    await expect(generate(decoder, [1], { maxNewTokens: 1.5 })).rejects.toThrow('maxNewTokens must be a whole number');
  });
});
