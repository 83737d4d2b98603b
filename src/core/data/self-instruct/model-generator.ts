// The Self-Instruct generator over a loaded model: plain-text completion (Self-Instruct prompts a
// base LM; no chat template), the tokenizer's special tokens added as transformers does.
import type { Decoder } from '../../model/decoder';
import { generate } from '../../model/generate';
import type { HoneTokenizer } from '../../tokenizer/tokenizer';
import type { GenerateFn } from './pipeline';

export function modelGenerator(decoder: Decoder, tokenizer: HoneTokenizer): GenerateFn {
  return async (prompt, settings, signal) => {
    const promptIds = tokenizer.encode(prompt);
    let maxNewTokens = settings.maxNewTokens;
    const { family, maxPositions } = decoder.config;
    // GPT-2 has no positions past n_positions: shorten the answer to fit, or say why it cannot.
    if (family === 'gpt2') {
      const room = maxPositions - promptIds.length;
      if (room < 1) {
        throw new Error(
          `Self-Instruct: a prompt is ${promptIds.length} tokens, but this GPT-2 model reads at most ${maxPositions}; ` +
            'use a model with a longer context (or shorter seed instructions).',
        );
      }
      maxNewTokens = Math.min(maxNewTokens, room);
    }
    const result = await generate(
      decoder,
      promptIds,
      {
        maxNewTokens,
        temperature: settings.temperature, // 0 = greedy
        topP: settings.topP,
        repetitionPenalty: settings.repetitionPenalty,
        stopStrings: settings.stop,
        seed: settings.seed,
      },
      { decode: (ids) => tokenizer.decode(ids, { skipSpecialTokens: true }), signal },
    );
    return { text: result.text ?? '', truncated: result.stoppedBy === 'length' || result.stoppedBy === 'cancel' };
  };
}
