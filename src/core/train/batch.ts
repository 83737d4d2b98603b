// Training rows and batches from (prompt, completion) token ids, with completion-only labels.
// Follows the conventions of transformers' causal-LM loss and TRL's SFTTrainer:
// labels are a copy of the input ids with −100 wherever a token is not scored (prompt, padding);
// the loss shifts them left by one itself (loss.ts), so labels[i] is the target for logits[i − 1].
// Padding is on the right (DataCollatorForLanguageModeling with padding_side='right').

/** The label value the loss ignores, as torch's cross_entropy ignore_index. */
export const IGNORE_INDEX = -100;

export interface TokenizedExample {
  promptIds: number[];
  completionIds: number[];
}

/** One unpadded training row: inputIds and labels have the same length (≤ maxLength). */
export interface Row {
  inputIds: number[];
  labels: number[];
  /**
   * Packed rows only: each token's position within its own sequence, restarting at 0 where a new
   * packed sequence starts (TRL's position_ids). Attention never crosses such a restart.
   */
  positionIds?: number[];
}

export interface RowOptions {
  /** longest row in tokens; longer pairs are truncated (see `truncation`) */
  maxLength: number;
  /** end-of-sequence id: appended to completions and used as the packing separator */
  eosTokenId: number;
  /**
   * Append EOS to each completion that does not already end with it (default true): without it
   * the model never learns where an answer stops. TRL's SFTTrainer does the same.
   */
  appendEos?: boolean;
  /**
   * 'keep-completion' (default): cut the start of the prompt so the whole completion fits (the
   * end of a prompt is what the answer responds to); a completion longer than the row keeps the
   * last ⌊maxLength/2⌋ prompt tokens and is cut on the right.
   * 'keep-start': cut the row's end, as TRL's truncation_mode='keep_start'; a prompt that fills
   * the row leaves no completion tokens and the pair is dropped.
   */
  truncation?: 'keep-completion' | 'keep-start';
  /**
   * Concatenate examples (each ending in EOS) into rows of exactly maxLength tokens (the last row
   * may be shorter). Attention is not reset at example boundaries, as in TRL's classic packing.
   */
  packing?: boolean;
}

export interface RowsResult {
  rows: Row[];
  /** pairs (or, with packing, rows) removed because no completion token was left to score */
  dropped: number;
}

/** A padded batch on the host: every row is `width` long. */
export interface Batch {
  inputIds: number[][];
  attentionMask: number[][];
  labels: number[][];
  /**
   * Only when a row is packed: every row's positions (0, 1, … for unpacked rows), restarting per
   * packed sequence; padding continues the count. The step derives attention's sequence ids from it.
   */
  positionIds?: number[][];
  /** labels scored after the shift (labels[:, 1:] ≠ −100): the loss's denominator */
  scoredTokens: number;
  /** real (non-padding) tokens: what tokens/second counts */
  realTokens: number;
}

/** Number of labels the causal loss scores: position 0 has no preceding logit, so it never counts. */
export function scoredTokenCount(labels: readonly number[]): number {
  let n = 0;
  for (let i = 1; i < labels.length; i++) if (labels[i] !== IGNORE_INDEX) n++;
  return n;
}

function checkIds(ids: readonly number[], what: string, index: number): void {
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0) {
      throw new Error(`buildRows: example ${index} has ${what} id ${id}; token ids must be non-negative integers`);
    }
  }
}

/** Truncates one pair to maxLength tokens; returns the kept prompt and completion. */
function truncatePair(
  prompt: number[],
  completion: number[],
  maxLength: number,
  mode: 'keep-completion' | 'keep-start',
): { prompt: number[]; completion: number[] } {
  if (prompt.length + completion.length <= maxLength) return { prompt, completion };
  if (mode === 'keep-start') {
    const keptPrompt = prompt.slice(0, maxLength);
    return { prompt: keptPrompt, completion: completion.slice(0, maxLength - keptPrompt.length) };
  }
  if (completion.length < maxLength) {
    return { prompt: prompt.slice(prompt.length - (maxLength - completion.length)), completion };
  }
  const promptKept = Math.min(prompt.length, Math.floor(maxLength / 2));
  return { prompt: prompt.slice(prompt.length - promptKept), completion: completion.slice(0, maxLength - promptKept) };
}

/**
 * Builds unpadded training rows. Without packing each pair becomes one row (prompt labels −100);
 * pairs with nothing left to score are dropped and counted. Throws when every pair was dropped.
 */
export function buildRows(examples: readonly TokenizedExample[], options: RowOptions): RowsResult {
  const { maxLength, eosTokenId } = options;
  const appendEos = options.appendEos ?? true;
  const truncation = options.truncation ?? 'keep-completion';
  if (!Number.isInteger(maxLength) || maxLength < 2) {
    throw new Error(`buildRows: maxLength must be an integer ≥ 2 (one prompt token and one scored token), got ${maxLength}`);
  }
  if (!Number.isInteger(eosTokenId) || eosTokenId < 0) {
    throw new Error(`buildRows: eosTokenId must be a token id, got ${eosTokenId}; the tokenizer has no EOS token configured`);
  }
  if (examples.length === 0) throw new Error('buildRows: the dataset has no examples');

  const rows: Row[] = [];
  let dropped = 0;
  if (options.packing) {
    // One stream of tokens and labels; every example ends in EOS, which is scored as the answer's end.
    const ids: number[] = [];
    const labels: number[] = [];
    examples.forEach((ex, index) => {
      checkIds(ex.promptIds, 'prompt', index);
      checkIds(ex.completionIds, 'completion', index);
      const completion = ex.completionIds.at(-1) === eosTokenId ? ex.completionIds : [...ex.completionIds, eosTokenId];
      for (const id of ex.promptIds) (ids.push(id), labels.push(IGNORE_INDEX));
      for (const id of completion) (ids.push(id), labels.push(id));
    });
    for (let start = 0; start < ids.length; start += maxLength) {
      const row = { inputIds: ids.slice(start, start + maxLength), labels: labels.slice(start, start + maxLength) };
      if (scoredTokenCount(row.labels) === 0) dropped++;
      else rows.push(row);
    }
  } else {
    examples.forEach((ex, index) => {
      checkIds(ex.promptIds, 'prompt', index);
      checkIds(ex.completionIds, 'completion', index);
      const withEos =
        appendEos && ex.completionIds.at(-1) !== eosTokenId ? [...ex.completionIds, eosTokenId] : ex.completionIds;
      const { prompt, completion } = truncatePair(ex.promptIds, withEos, maxLength, truncation);
      const row = { inputIds: [...prompt, ...completion], labels: [...prompt.map(() => IGNORE_INDEX), ...completion] };
      if (scoredTokenCount(row.labels) === 0) dropped++;
      else rows.push(row);
    });
  }
  if (rows.length === 0) {
    throw new Error(
      `buildRows: no example has completion tokens left after truncation to ${maxLength} tokens ` +
        `(${dropped} dropped); raise maxLength or shorten the prompts`,
    );
  }
  return { rows, dropped };
}

/**
 * Pads rows on the right into one batch: pad id in inputIds, 0 in attentionMask, −100 in labels.
 * `width` defaults to the longest row (dynamic padding); pass maxLength for a fixed shape
 * (webgl recompiles shaders for every new shape, PLATFORM.md).
 */
export function collate(rows: readonly Row[], padTokenId: number, width?: number): Batch {
  if (rows.length === 0) throw new Error('collate: no rows to batch');
  const longest = Math.max(...rows.map((r) => r.inputIds.length));
  const w = width ?? longest;
  if (w < longest) throw new Error(`collate: width ${w} is shorter than the longest row (${longest} tokens)`);
  const packed = rows.some((row) => row.positionIds !== undefined);
  const batch: Batch = { inputIds: [], attentionMask: [], labels: [], scoredTokens: 0, realTokens: 0, ...(packed ? { positionIds: [] } : {}) };
  for (const row of rows) {
    const pad = w - row.inputIds.length;
    batch.inputIds.push([...row.inputIds, ...new Array<number>(pad).fill(padTokenId)]);
    batch.attentionMask.push([...new Array<number>(row.inputIds.length).fill(1), ...new Array<number>(pad).fill(0)]);
    batch.labels.push([...row.labels, ...new Array<number>(pad).fill(IGNORE_INDEX)]);
    if (packed) {
      const positions = row.positionIds ?? row.inputIds.map((_, i) => i);
      if (positions.length !== row.inputIds.length) {
        throw new Error(`collate: a packed row has ${positions.length} position ids for ${row.inputIds.length} tokens`);
      }
      const next = positions.length > 0 ? positions[positions.length - 1] + 1 : 0;
      batch.positionIds!.push([...positions, ...Array.from({ length: pad }, (_, i) => next + i)]);
    }
    batch.scoredTokens += scoredTokenCount(row.labels);
    batch.realTokens += row.inputIds.length;
  }
  return batch;
}

/**
 * Which packed sequence each token belongs to: a new one starts wherever the position restarts at 0
 * (TRL's position_ids convention). [[0,1,2,0,1]] → [[0,0,0,1,1]].
 */
export function sequenceIdsOf(positionIds: readonly (readonly number[])[]): number[][] {
  return positionIds.map((row) => {
    let sequence = -1;
    return row.map((position, i) => (position === 0 || i === 0 ? ++sequence : sequence));
  });
}

/** The pad id to use: the tokenizer's pad token, else EOS (as most causal-LM recipes do). */
export function padIdFor(padTokenId: number | null, eosTokenId: number | null): number {
  const id = padTokenId ?? eosTokenId;
  if (id === null) throw new Error('collate: the model has neither a pad token nor an EOS token; set pad_token_id in config.json');
  return id;
}
