// Greedy decoding of many prompts at once through any forward function (a PeftModel with any
// method, prefix and prompt tuning included), without a KV cache: rows are right-padded, each
// step runs the whole batch and reads the logits at every row's last real token. Right padding
// keeps every real token at its true position (causal attention never looks at the padding after
// it), which left padding would not without position ids — and PeftModel.forward takes none.
// For short answers from a small model this is cheaper than the per-prompt cached path.
import * as tf from '@tensorflow/tfjs';

export type BatchForward = (inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D) => tf.Tensor3D;

export interface GreedyBatchOptions {
  maxNewTokens: number;
  eosTokenId: number;
  padTokenId: number;
  /** prompts per forward call (default 16) */
  batchSize?: number;
  /** tokens after which a row stops too (kept in its output), e.g. every token holding a newline */
  stopTokenIds?: ReadonlySet<number>;
  signal?: AbortSignal;
}

/** New token ids per prompt (EOS not included), stopping at EOS or maxNewTokens. */
export async function greedyBatch(forward: BatchForward, prompts: readonly number[][], opts: GreedyBatchOptions): Promise<number[][]> {
  const batchSize = opts.batchSize ?? 16;
  const out: number[][] = [];
  for (let start = 0; start < prompts.length; start += batchSize) {
    out.push(...(await greedyChunk(forward, prompts.slice(start, start + batchSize), opts)));
  }
  return out;
}

async function greedyChunk(forward: BatchForward, prompts: readonly number[][], opts: GreedyBatchOptions): Promise<number[][]> {
  prompts.forEach((p, i) => {
    if (p.length === 0) throw new Error(`greedyBatch: prompt ${i} has no tokens`);
  });
  const rows = prompts.map((p) => [...p]);
  const generated: number[][] = prompts.map(() => []);
  const done = prompts.map(() => false);
  for (let step = 0; step < opts.maxNewTokens && done.some((d) => !d); step++) {
    if (opts.signal?.aborted) throw new DOMException('greedyBatch was cancelled', 'AbortError');
    // only the rows still decoding run: a row that has stopped costs nothing more
    const active = rows.map((_, b) => b).filter((b) => !done[b]);
    const live = active.map((b) => rows[b]);
    const width = Math.max(...live.map((r) => r.length));
    const ids = live.map((r) => [...r, ...new Array<number>(width - r.length).fill(opts.padTokenId)]);
    const mask = live.map((r) => [...new Array<number>(r.length).fill(1), ...new Array<number>(width - r.length).fill(0)]);
    const next = tf.tidy(() => {
      const logits = forward(tf.tensor2d(ids, undefined, 'int32'), tf.tensor2d(mask, undefined, 'int32')); // [A, W, V]
      const [batch, , vocab] = logits.shape;
      const flat = logits.reshape([batch * width, vocab]); // [A·W, V]
      const last = tf.tensor1d(live.map((r, a) => a * width + r.length - 1), 'int32'); // [A]
      return tf.argMax(tf.gather(flat, last), -1); // [A]
    });
    const tokens = Array.from(await next.data());
    next.dispose();
    tokens.forEach((token, a) => {
      const b = active[a];
      if (token === opts.eosTokenId) {
        done[b] = true;
        return;
      }
      generated[b].push(token);
      rows[b].push(token);
      if (opts.stopTokenIds?.has(token)) done[b] = true;
    });
  }
  return generated;
}
