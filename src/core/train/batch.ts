// Training rows and padded batches with completion-only labels; the rows themselves are built by
// rows/ (buildTrainingRows). Follows the conventions of transformers' causal-LM loss and TRL's
// SFTTrainer: labels are a copy of the input ids with −100 wherever a token is not scored (prompt,
// padding, the first token of each packed sequence); the loss shifts them left by one itself
// (loss.ts), so labels[i] is the target for logits[i − 1]. Padding is on the right
// (DataCollatorForLanguageModeling with padding_side='right').

/** The label value the loss ignores, as torch's cross_entropy ignore_index. */
export const IGNORE_INDEX = -100;

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
