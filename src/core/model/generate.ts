// Autoregressive generation over a Decoder: prefill the prompt once, then one token per step
// with the key/value cache (or, with useCache false, the whole sequence again each step, which
// exists to prove the cache changes nothing). Sampling follows transformers' generate; see sampling.ts.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../rng';
import { KVCache, type Decoder } from './decoder';
import { checkSamplingSettings, sampleToken } from './sampling';

export interface GenerationSettings {
  maxNewTokens: number;
  /** always the most likely token (same as temperature 0) */
  greedy?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  repetitionPenalty?: number;
  /** stop when the decoded new text contains one of these; the text is cut before it (needs opts.decode) */
  stopStrings?: string[];
  /** same seed, same settings, same model → same tokens; unset = a fresh random seed */
  seed?: number;
  /** tokens that end generation (kept in the output); unset = the config's eos ids, [] = none */
  eosTokenIds?: number[];
  /** reuse past keys/values (default true); false recomputes the whole sequence every step */
  useCache?: boolean;
}

export interface GenerationResult {
  /** prompt followed by the new tokens */
  ids: number[];
  newIds: number[];
  /** decoded new tokens, cut at a stop string; only when opts.decode was given */
  text?: string;
  stoppedBy: 'eos' | 'stop' | 'length' | 'cancel';
}

export interface GenerationCallbacks {
  decode?: (ids: number[]) => string;
  /** once per new token, with the text it added (may be '' while a multi-byte character is incomplete) */
  onToken?: (id: number, text: string) => void;
  signal?: AbortSignal;
}

export async function generate(
  decoder: Decoder,
  promptIds: number[],
  settings: GenerationSettings,
  opts: GenerationCallbacks = {},
): Promise<GenerationResult> {
  const { config } = decoder;
  checkGenerationSettings(decoder, promptIds, settings, opts);
  const rng = new Rng(settings.seed ?? Math.floor(Math.random() * 4294967296));
  const eos = new Set(settings.eosTokenIds ?? config.eosTokenIds);
  const stopStrings = settings.stopStrings?.filter((s) => s.length > 0) ?? [];
  const ids = [...promptIds];
  const newIds: number[] = [];
  let stoppedBy: GenerationResult['stoppedBy'] = 'length';
  let text = '';
  let streamed = '';
  let cache: KVCache | null = settings.useCache === false ? null : new KVCache();

  try {
    for (let step = 0; step < settings.maxNewTokens; step++) {
      if (opts.signal?.aborted) {
        stoppedBy = 'cancel';
        break;
      }
      let logits: Float32Array;
      if (cache) {
        // Prefill: the whole prompt once; afterwards only the token just chosen.
        const next = await lastLogits(decoder, step === 0 ? promptIds : [ids[ids.length - 1]], cache);
        cache.dispose();
        cache = next.cache;
        logits = next.logits;
      } else {
        logits = (await lastLogits(decoder, ids, null)).logits;
      }
      const id = sampleToken(logits, ids, settings, rng);
      ids.push(id);
      newIds.push(id);

      let stopAt = -1;
      if (opts.decode) {
        const full = opts.decode(newIds);
        stopAt = firstStop(full, stopStrings);
        text = stopAt >= 0 ? full.slice(0, stopAt) : full;
      }
      // Hold back a trailing U+FFFD: it is usually half of a character whose other bytes come next.
      let piece = '';
      if (text.startsWith(streamed) && !text.endsWith('\uFFFD')) {
        piece = text.slice(streamed.length);
        streamed = text;
      }
      opts.onToken?.(id, piece);

      if (eos.has(id)) {
        stoppedBy = 'eos';
        break;
      }
      if (stopAt >= 0) {
        stoppedBy = 'stop';
        break;
      }
      // Let the worker's message loop run between tokens so a cancel or a UI update gets through.
      await yieldToEventLoop();
    }
  } finally {
    cache?.dispose();
  }
  return opts.decode ? { ids, newIds, text, stoppedBy } : { ids, newIds, stoppedBy };
}

function checkGenerationSettings(decoder: Decoder, promptIds: number[], settings: GenerationSettings, opts: GenerationCallbacks): void {
  const { config } = decoder;
  if (!Number.isInteger(settings.maxNewTokens) || settings.maxNewTokens < 0) {
    throw new Error(`generate: maxNewTokens must be a whole number ≥ 0, got ${settings.maxNewTokens}`);
  }
  if (promptIds.length === 0) throw new Error('generate: the prompt is empty; give at least one token (e.g. the BOS token)');
  promptIds.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= config.vocabSize) {
      throw new Error(`generate: prompt token ${i} is ${id}, outside the vocabulary [0, ${config.vocabSize})`);
    }
  });
  // GPT-2 has a learned position table: past it there are no positions to look up.
  const total = promptIds.length + settings.maxNewTokens;
  if (config.family === 'gpt2' && total > config.maxPositions) {
    throw new Error(
      `generate: prompt (${promptIds.length} tokens) + maxNewTokens (${settings.maxNewTokens}) = ${total} exceeds this GPT-2 model's ` +
        `n_positions (${config.maxPositions}); shorten the prompt or lower maxNewTokens`,
    );
  }
  if (settings.stopStrings?.length && !opts.decode) {
    throw new Error('generate: stopStrings need opts.decode (the tokenizer) to read the generated text');
  }
  checkSamplingSettings(settings);
}

/** Runs the decoder on `tokens` and reads back the logits of the last position. */
async function lastLogits(decoder: Decoder, tokens: number[], cache: KVCache | null): Promise<{ logits: Float32Array; cache: KVCache | null }> {
  let next = null as KVCache | null;
  const row = tf.tidy(() => {
    const input = tf.tensor2d([tokens], [1, tokens.length], 'int32'); // [1, T]
    const out = decoder.forward(input, cache ? { cache } : {});
    next = out.cache ?? null;
    // The new cache's tensors were made inside this tidy: keep them past its end.
    for (const { key, value } of next?.layers ?? []) (tf.keep(key), tf.keep(value));
    const time = out.logits.shape[1];
    return out.logits.slice([0, time - 1, 0], [1, 1, -1]).reshape([-1]); // [V]
  });
  const logits = (await row.data()) as Float32Array;
  row.dispose();
  return { logits, cache: next };
}

function firstStop(text: string, stopStrings: string[]): number {
  let first = -1;
  for (const stop of stopStrings) {
    const at = text.indexOf(stop);
    if (at >= 0 && (first < 0 || at < first)) first = at;
  }
  return first;
}

/** A macrotask turn: setImmediate in Node, a MessageChannel hop in workers (no 4 ms timer clamp). */
function yieldToEventLoop(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (callback: () => void) => void }).setImmediate;
  if (immediate) return new Promise((resolve) => immediate(resolve));
  if (typeof MessageChannel === 'function') {
    return new Promise((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        channel.port1.close();
        resolve();
      };
      channel.port2.postMessage(null);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}
