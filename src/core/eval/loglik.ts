// Log-likelihood scoring of answer options, as lm-evaluation-harness v0.4 does it for Hugging Face
// causal models (lm_eval/models/huggingface.py, lm_eval/api/model.py, lm_eval/api/task.py):
// - _encode_pair: trailing spaces of the context move to the front of the continuation; the
//   context + continuation is encoded whole and split at the context's own token length;
//   add_special_tokens=False (the harness's add_bos_token default); an empty context is the
//   prefix token (BOS, else EOS).
// - _loglikelihood_tokens: the model reads (context + continuation)[-(max_length+1):][:-1]; the
//   continuation's log-probability is the sum of log-softmax at its positions, and is_greedy says
//   whether the argmax at every position is the continuation's token.
// - multiple_choice process_results: acc = argmax of the summed log-probabilities, acc_norm =
//   argmax of log-probability / len(option) where len counts characters (Python `len(str)`, code
//   points) of the option without the target delimiter.
// The model is any function from id rows to host logits (computeLogits' shape), so a Decoder and a
// PeftModel (enabled or disabled) score the same way. Log-softmax runs on the host in float64.
import { pyRstrip } from './metrics/python-text';

/** Logits for right-padded id rows: data is [B, T, V] row-major. computeLogits(model, ids, mask) fits. */
export type LogitsFunction = (
  inputIds: number[][],
  attentionMask: number[][],
) => Promise<{ data: Float32Array; shape: [number, number, number] }>;

/** What scoring needs of a tokenizer; HoneTokenizer fits. */
export interface ScoringTokenizer {
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  /** options that encode to this id cannot be scored meaningfully */
  readonly unkTokenId?: number | null;
}

export class OptionEncodingError extends Error {
  override name = 'OptionEncodingError';
}

export interface EncodedPair {
  contextIds: number[];
  continuationIds: number[];
}

export interface EncodeOptions {
  /** add the tokenizer's special tokens (e.g. Llama's <s>) to each encoding; the harness default is false */
  addSpecialTokens?: boolean;
  /** names the continuation in error messages, e.g. 'question 3, option 2' */
  label?: string;
}

/** lm-evaluation-harness's _encode_pair (and its empty-context rule). Throws OptionEncodingError when the continuation gets no tokens of its own or unknown tokens. */
export function encodePair(tokenizer: ScoringTokenizer, context: string, continuation: string, opts: EncodeOptions = {}): EncodedPair {
  const addSpecialTokens = opts.addSpecialTokens ?? false;
  const encode = (text: string) => tokenizer.encode(text, { addSpecialTokens });
  const name = `${opts.label ? `${opts.label} ` : ''}${JSON.stringify(continuation)}`;
  let contextIds: number[];
  let continuationIds: number[];
  if (context === '') {
    const prefix = tokenizer.bosTokenId ?? tokenizer.eosTokenId;
    if (prefix === null) {
      throw new OptionEncodingError(`cannot score ${name} without a context: the tokenizer has neither a BOS nor an EOS token to start from; give a non-empty prompt`);
    }
    contextIds = [prefix];
    continuationIds = encode(continuation);
  } else {
    // the context's trailing whitespace (Python's, as context.rstrip()) belongs to the continuation
    const trimmed = pyRstrip(context);
    const whole = encode(context + continuation);
    contextIds = encode(trimmed);
    continuationIds = whole.slice(contextIds.length);
    if (continuationIds.length === 0) {
      throw new OptionEncodingError(
        `the tokenizer cannot encode ${name} as a continuation: context + option encodes to ${whole.length} tokens and the ` +
          `context alone to ${contextIds.length}, so the option gets no tokens of its own` +
          (continuation.length > 0 ? ' (its characters merge into the context\'s last tokens); rephrase the option or end the prompt differently' : '; options must not be empty'),
      );
    }
  }
  if (continuationIds.length === 0) {
    throw new OptionEncodingError(`the tokenizer cannot encode ${name}: it produces no tokens${continuation.length === 0 ? ' (the option is empty)' : ''}`);
  }
  const unk = tokenizer.unkTokenId;
  if (unk !== undefined && unk !== null && continuationIds.includes(unk)) {
    throw new OptionEncodingError(`the tokenizer cannot encode ${name}: it has characters outside the vocabulary (encoded as the unknown token, id ${unk})`);
  }
  return { contextIds, continuationIds };
}

export interface ContinuationScore {
  /** sum of the continuation tokens' log-probabilities given everything before them */
  logprob: number;
  /** greedy decoding from the context would produce exactly the continuation's tokens */
  isGreedy: boolean;
  tokenLogprobs: number[];
  /** the ids the model read: (context + continuation)[-(maxLength+1):][:-1] */
  inputIds: number[];
  continuationIds: number[];
}

export interface ScoreOptions {
  /** rows per forward call (default 16) */
  batchSize?: number;
  /** rows × padded length per forward call (default 1024): the host logits are this many × vocab floats */
  maxBatchTokens?: number;
  /** the model's context window; longer inputs lose tokens on the left as in the harness (default: no limit) */
  maxLength?: number;
  signal?: AbortSignal;
  /** after each forward call, with the number of pairs scored so far */
  onProgress?: (done: number, total: number) => void;
}

/** lm-evaluation-harness's _loglikelihood_tokens over already encoded pairs; results in input order. */
export async function scoreContinuations(forward: LogitsFunction, pairs: readonly EncodedPair[], opts: ScoreOptions = {}): Promise<ContinuationScore[]> {
  const batchSize = positiveInteger(opts.batchSize ?? 16, 'batchSize');
  const maxBatchTokens = positiveInteger(opts.maxBatchTokens ?? 1024, 'maxBatchTokens');
  const maxLength = opts.maxLength === undefined ? Infinity : positiveInteger(opts.maxLength, 'maxLength');
  const inputs = pairs.map((pair, index) => {
    if (pair.continuationIds.length === 0) throw new OptionEncodingError(`scoreContinuations: pair ${index} has no continuation tokens`);
    if (pair.contextIds.length === 0) throw new OptionEncodingError(`scoreContinuations: pair ${index} has no context tokens; start it with the BOS token`);
    if (pair.continuationIds.length > maxLength) {
      throw new OptionEncodingError(`scoreContinuations: pair ${index} has ${pair.continuationIds.length} continuation tokens, more than the model's ${maxLength}-token window`);
    }
    const all = [...pair.contextIds, ...pair.continuationIds];
    return all.slice(Math.max(0, all.length - (maxLength + 1)), -1);
  });
  // Longest first, as the harness orders requests, so each batch pads little.
  const order = inputs.map((_, i) => i).sort((a, b) => inputs[b].length - inputs[a].length || a - b);
  const results: ContinuationScore[] = new Array(pairs.length);
  let done = 0;
  for (let start = 0; start < order.length; ) {
    opts.signal?.throwIfAborted();
    const width = inputs[order[start]].length;
    const rows = Math.max(1, Math.min(batchSize, Math.floor(maxBatchTokens / width)));
    const batch = order.slice(start, start + rows);
    const ids = batch.map((i) => [...inputs[i], ...new Array<number>(width - inputs[i].length).fill(0)]); // [B, T] right-padded
    const mask = batch.map((i) => inputs[i].map(() => 1).concat(new Array<number>(width - inputs[i].length).fill(0))); // [B, T]
    const { data, shape } = await forward(ids, mask);
    if (shape[0] !== batch.length || shape[1] !== width) {
      throw new Error(`scoreContinuations: the model returned logits [${shape}] for inputs [${batch.length}, ${width}]`);
    }
    const vocab = shape[2];
    batch.forEach((pairIndex, row) => {
      const continuation = pairs[pairIndex].continuationIds;
      const length = inputs[pairIndex].length;
      const tokenLogprobs: number[] = [];
      let isGreedy = true;
      continuation.forEach((token, j) => {
        if (!Number.isInteger(token) || token < 0 || token >= vocab) {
          throw new OptionEncodingError(`scoreContinuations: pair ${pairIndex} has token id ${token}, outside the model's vocabulary of ${vocab}`);
        }
        const position = length - continuation.length + j; // logits there predict continuation[j]
        const offset = (row * width + position) * vocab;
        const { logprob, argmax } = logSoftmaxAt(data, offset, vocab, token);
        tokenLogprobs.push(logprob);
        if (argmax !== token) isGreedy = false;
      });
      results[pairIndex] = {
        logprob: tokenLogprobs.reduce((sum, x) => sum + x, 0),
        isGreedy,
        tokenLogprobs,
        inputIds: inputs[pairIndex],
        continuationIds: continuation,
      };
    });
    start += batch.length;
    done += batch.length;
    opts.onProgress?.(done, pairs.length);
  }
  return results;
}

/** log-softmax of one logits row at `token`, in float64, and the row's first argmax (torch's tie rule). */
function logSoftmaxAt(data: Float32Array, offset: number, vocab: number, token: number): { logprob: number; argmax: number } {
  let max = -Infinity;
  let argmax = 0;
  for (let v = 0; v < vocab; v++) {
    const x = data[offset + v];
    if (x > max) {
      max = x;
      argmax = v;
    }
  }
  let sum = 0;
  for (let v = 0; v < vocab; v++) sum += Math.exp(data[offset + v] - max);
  return { logprob: data[offset + token] - max - Math.log(sum), argmax };
}

export interface MultipleChoiceQuestion {
  /** the prompt the options continue */
  context: string;
  options: readonly string[];
}

export interface MultipleChoiceOptions extends ScoreOptions, Omit<EncodeOptions, 'label'> {
  /** put between the context and each option (the harness's target_delimiter, default ' ') */
  targetDelimiter?: string;
  /** what acc_norm divides by: 'characters' (code points, the harness) or 'bytes' (UTF-8) */
  lengthUnit?: 'characters' | 'bytes';
}

export interface MultipleChoiceScore {
  /** per option: summed log-probability of delimiter + option */
  logprobs: number[];
  isGreedy: boolean[];
  /** per option: what acc_norm divides by */
  lengths: number[];
  /** argmax of logprobs (first on ties, as numpy) */
  prediction: number;
  /** argmax of logprobs / lengths */
  normalizedPrediction: number;
  tokenCounts: number[];
}

/** Scores every option of every question, batching across all of them. Errors name the question and option. */
export async function scoreMultipleChoice(
  forward: LogitsFunction,
  tokenizer: ScoringTokenizer,
  questions: readonly MultipleChoiceQuestion[],
  opts: MultipleChoiceOptions = {},
): Promise<MultipleChoiceScore[]> {
  const delimiter = opts.targetDelimiter ?? ' ';
  const unit = opts.lengthUnit ?? 'characters';
  questions.forEach((question, q) => {
    if (question.options.length === 0) throw new OptionEncodingError(`${questions.length > 1 ? `question ${q + 1}` : 'the question'} has no options to score`);
  });
  const pairs: EncodedPair[] = [];
  questions.forEach((question, q) => {
    const where = questions.length > 1 ? `question ${q + 1}, ` : '';
    question.options.forEach((option, o) => {
      const label = `${where}option ${o + 1} of ${question.options.length}`;
      if (option.length === 0) throw new OptionEncodingError(`the tokenizer cannot encode ${label} "": the option is empty`);
      pairs.push(encodePair(tokenizer, question.context, delimiter + option, { addSpecialTokens: opts.addSpecialTokens, label }));
    });
  });
  const scores = await scoreContinuations(forward, pairs, opts);
  let next = 0;
  return questions.map((question) => {
    const own = scores.slice(next, (next += question.options.length));
    const logprobs = own.map((s) => s.logprob);
    const lengths = question.options.map((option) => (unit === 'bytes' ? new TextEncoder().encode(option).length : Array.from(option).length));
    return {
      logprobs,
      isGreedy: own.map((s) => s.isGreedy),
      lengths,
      prediction: argmax(logprobs),
      normalizedPrediction: argmax(logprobs.map((lp, i) => lp / lengths[i])),
      tokenCounts: own.map((s) => s.continuationIds.length),
    };
  });
}

/** One question; see scoreMultipleChoice. */
export async function scoreOptions(
  forward: LogitsFunction,
  tokenizer: ScoringTokenizer,
  context: string,
  options: readonly string[],
  opts: MultipleChoiceOptions = {},
): Promise<MultipleChoiceScore> {
  return (await scoreMultipleChoice(forward, tokenizer, [{ context, options }], opts))[0];
}

/** acc, acc_norm and exact_match (the gold option is the greedy continuation) for a gold index or several accepted ones. */
export function multipleChoiceAccuracy(score: MultipleChoiceScore, gold: number | readonly number[]): { acc: number; accNorm: number; exactMatch: number } {
  const golds = typeof gold === 'number' ? [gold] : gold;
  for (const g of golds) {
    if (!Number.isInteger(g) || g < 0 || g >= score.logprobs.length) {
      throw new RangeError(`multipleChoiceAccuracy: gold ${g} is not an option index (0…${score.logprobs.length - 1})`);
    }
  }
  return {
    acc: golds.includes(score.prediction) ? 1 : 0,
    accNorm: golds.includes(score.normalizedPrediction) ? 1 : 0,
    exactMatch: golds.some((g) => score.isGreedy[g]) ? 1 : 0,
  };
}

/** numpy's argmax: the first index of the largest value (NaN counts as largest, as numpy). */
export function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) {
    if (Number.isNaN(values[best])) break;
    if (Number.isNaN(values[i]) || values[i] > values[best]) best = i;
  }
  return best;
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`log-likelihood scoring: ${name} must be a positive integer, got ${value}`);
  return value;
}
