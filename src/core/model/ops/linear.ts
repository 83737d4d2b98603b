// Matrix products of token rows with weight matrices, forward and backward on plain 2-D matmuls.
// Why: tfjs-backend-wasm 4.22's BatchMatMul reaches XNNPACK only when neither operand is transposed
// and the batch is 1; with transposeA/transposeB it runs a naive loop, measured 12–50× slower
// (PLATFORM.md). nn.Linear weights are stored [out, in] and multiplied transposed, and autograd's
// matMul gradient passes the transpose flags, so every linear layer's backward hit the slow loop.
// Here the custom gradient spells out every product as a plain matmul of explicitly transposed
// operands, choosing per call the cheaper thing to transpose (the weight or the token rows), and
// the weight is held once, in its checkpoint layout: nothing is cached per weight.
// Other backends transpose for free inside their matmuls and keep tfjs's own autograd.
import * as tf from '@tensorflow/tfjs';
import { installFusedKernels, installWasmKernels } from '../../kernels';

/** GPT-2's Conv1D stores [in, out]; nn.Linear stores [out, in]. */
export type WeightLayout = 'in-out' | 'out-in';

let forced: boolean | null = null;

/**
 * Whether the plain-matmul paths (this file, attention-core.ts, the embedding and loss gradients)
 * are used: on the wasm backend, unless a test forces them on or off (null = by backend).
 */
export function fastPathsEnabled(): boolean {
  const on = forced ?? tf.getBackend() === 'wasm';
  if (on && tf.getBackend() === 'wasm') installWasmKernels(); // the studio worker gets them here too
  else if (on) installFusedKernels(); // forced on elsewhere (tests): the fused kernels' cpu versions
  return on;
}

/** Tests only: run the fast paths on any backend (true), never (false), or by backend (null). */
export function forceFastPaths(value: boolean | null): void {
  forced = value;
}

/**
 * A customGrad gradient function run in its own tidy. tfjs calls a customGrad's gradFunc outside
 * any scope (tape.ts backpropagateGradients), so its intermediates would otherwise live until the
 * whole backward pass ends: per-head matrices and transposed weights of every layer at once.
 */
export function scopedGrad(fn: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[]): (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] {
  return (dy, saved) => tf.tidy(() => fn(dy, saved));
}

/** a [n, k] · b [k, m], plain. */
export function plain(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(a, b);
}

// XNNPACK, behind tfjs-backend-wasm's matmul, packs the right-hand operand and caches the packed
// copy, keyed by that tensor, until the tensor is disposed (batch_mat_mul_impl.cc's operator cache).
// A frozen weight that is ever a plain right-hand operand (the input gradient dy·W of an [out, in]
// weight, GPT-2's forward x·W) is therefore held twice for as long as the model lives: about 1× the
// weights more at the step's peak (measured on smollm2-135m, docs/PERFORMANCE.md). In the memory-
// lean mode (gradient checkpointing) those products multiply by row chunks of the weight copied
// out for the product, so every packed copy is transient and at most one chunk's size.
let transientPacking = false;
/** Weight chunks of at most this many floats (8 MB) in the lean mode. */
const LEAN_CHUNK_FLOATS = 2 ** 21;

/** Runs `fn` with frozen weights never left packed by a product (see above); ops capture the mode when built. */
export function withTransientPacking<T>(fn: () => T): T {
  const before = transientPacking;
  transientPacking = true;
  try {
    return fn();
  } finally {
    transientPacking = before;
  }
}

/** Whether ops built now keep frozen weights out of XNNPACK's cache (withTransientPacking). */
export function transientPackingOn(): boolean {
  return transientPacking;
}

/**
 * a [n, k] · w [k, m] for a frozen weight w: plain, or with `transient` as a sum over row chunks of
 * w copied out (a contiguous slice is a copy) times the matching column slices of a, so that what
 * XNNPACK packs and caches is a temporary, freed with it at the end of the enclosing scope.
 */
export function timesFrozen(a: tf.Tensor2D, w: tf.Tensor2D, transient: boolean): tf.Tensor2D {
  if (!transient) return plain(a, w);
  const [k, m] = w.shape;
  const chunkRows = Math.max(1, Math.floor(LEAN_CHUNK_FLOATS / m));
  if (chunkRows >= k) return tf.tidy(() => plain(a, tf.slice(w, [0, 0], [k, m]))); // one copy of w, gone with its packing
  let sum: tf.Tensor2D | null = null;
  for (let row = 0; row < k; row += chunkRows) {
    const rows = Math.min(chunkRows, k - row);
    const part = tf.tidy(() => plain(tf.slice(a, [0, row], [-1, rows]), tf.slice(w, [row, 0], [rows, m]))); // [n, m], its copies gone
    if (sum === null) sum = part;
    else {
      const next: tf.Tensor2D = tf.add(sum, part);
      sum.dispose();
      part.dispose();
      sum = next;
    }
  }
  return sum!;
}

/**
 * a [n, k] · wᵀ for w [m, k] without a transpose flag. Transposing w costs m·k copies; when the
 * rows are fewer (n·(k + m) < m·k: decoding, short prompts) it is cheaper to compute (w · aᵀ)ᵀ,
 * transposing the small operands instead, with the big weight as a plain left operand.
 */
export function timesTransposed(a: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  const [n, k] = a.shape;
  const m = w.shape[0];
  if (n * (k + m) < m * k) return tf.transpose(tf.matMul(w, tf.transpose(a))); // [n, m]
  return tf.matMul(a, tf.transpose(w)); // [n, m]
}

/** aᵀ · b for a [n, k], b [n, m] → [k, m]: transpose whichever of a or the result is smaller. */
export function transposedTimes(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  const [n, k] = a.shape;
  const m = b.shape[1];
  // (bᵀ · a)ᵀ transposes b [n, m] and the [m, k] result; aᵀ · b transposes a [n, k] only
  if (n * m + m * k < n * k) return tf.transpose(tf.matMul(tf.transpose(b), a)); // [k, m]
  return tf.matMul(tf.transpose(a), b); // [k, m]
}

/** x [N, in] times the weight: x·w for 'in-out', x·wᵀ for 'out-in'. */
export function forwardProduct(x: tf.Tensor2D, weight: tf.Tensor2D, layout: WeightLayout, transient = false): tf.Tensor2D {
  return layout === 'in-out' ? timesFrozen(x, weight, transient) : timesTransposed(x, weight);
}

/** The input gradient dy [N, out] · Wᵀ in [in, out] terms → [N, in]: plain for an [out, in] weight. */
export function inputGradient(dy: tf.Tensor2D, weight: tf.Tensor2D, layout: WeightLayout, transient = false): tf.Tensor2D {
  return layout === 'out-in' ? timesFrozen(dy, weight, transient) : timesTransposed(dy, weight);
}

export function isTrainable(t: tf.Tensor | null): boolean {
  return t instanceof tf.Variable && t.trainable;
}

/**
 * y = x · W (+ bias) for token rows x [N, in] and a weight in `layout`, bias [out] or null.
 * Gradients flow to x always, and to the weight and bias when they are trainable tf.Variables
 * (the only tensors Hone trains): a frozen weight's gradient is never computed, which for LoRA
 * and the other adapter methods is a third of the backward pass's matmul work.
 */
export function linearRows(x: tf.Tensor2D, weight: tf.Tensor2D, layout: WeightLayout, bias: tf.Tensor1D | null = null): tf.Tensor2D {
  if (!fastPathsEnabled()) {
    const transposeB = layout === 'out-in';
    // tfjs-backend-wasm 4.22's _FusedMatMul adds the bias wrongly under transposeB (off by up to 9.4
    // on a [2, 64]·[48, 64]ᵀ product, measured against cpu), so the bias is a separate add there
    if (bias && transposeB && tf.getBackend() === 'wasm') return tf.add(tf.matMul(x, weight, false, true), bias) as tf.Tensor2D; // [N, out]
    return bias
      ? (tf.fused.matMul({ a: x, b: weight, transposeB, bias }) as tf.Tensor2D) // [N, out], bias added in the kernel
      : tf.matMul(x, weight, false, transposeB); // [N, out]
  }
  const trainWeight = isTrainable(weight);
  const trainBias = bias !== null && isTrainable(bias);
  // customGrad differentiates with respect to its inputs only; frozen tensors ride along as saved values
  const inputs: tf.Tensor[] = [x];
  if (trainWeight) inputs.push(weight);
  if (trainBias) inputs.push(bias!);
  // a trained weight is no cached operand: its packed copy is per call anyway (it changes every step)
  const transient = transientPacking && !trainWeight;
  const op = tf.customGrad(((...args: unknown[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const xIn = args[0] as tf.Tensor2D;
    const product = forwardProduct(xIn, weight, layout, transient); // [N, out]
    const value = bias ? tf.add(product, bias) : product; // [N, out]
    save([xIn, weight]);
    return {
      value,
      gradFunc: scopedGrad((dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedX, savedW] = saved as tf.Tensor2D[];
        const dOut = dy as tf.Tensor2D; // [N, out]
        const grads: tf.Tensor[] = [inputGradient(dOut, savedW, layout, transient)]; // [N, in]
        if (trainWeight) grads.push(layout === 'out-in' ? transposedTimes(dOut, savedX) : transposedTimes(savedX, dOut)); // [out, in] | [in, out]
        if (trainBias) grads.push(tf.sum(dOut, 0)); // [out]
        return grads;
      }),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (op as unknown as (...t: tf.Tensor[]) => tf.Tensor2D)(...inputs);
}
