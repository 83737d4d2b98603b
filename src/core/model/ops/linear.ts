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
function plain(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(a, b);
}

/**
 * a [n, k] · wᵀ for w [m, k] without a transpose flag. Transposing w costs m·k copies; when the
 * rows are fewer (n·(k + m) < m·k: decoding, short prompts) it is cheaper to compute (w · aᵀ)ᵀ,
 * transposing the small operands instead, with the big weight as a plain left operand.
 */
function timesTransposed(a: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  const [n, k] = a.shape;
  const m = w.shape[0];
  if (n * (k + m) < m * k) return tf.transpose(tf.matMul(w, tf.transpose(a))); // [n, m]
  return tf.matMul(a, tf.transpose(w)); // [n, m]
}

/** aᵀ · b for a [n, k], b [n, m] → [k, m]: transpose whichever of a or the result is smaller. */
function transposedTimes(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  const [n, k] = a.shape;
  const m = b.shape[1];
  // (bᵀ · a)ᵀ transposes b [n, m] and the [m, k] result; aᵀ · b transposes a [n, k] only
  if (n * m + m * k < n * k) return tf.transpose(tf.matMul(tf.transpose(b), a)); // [k, m]
  return tf.matMul(tf.transpose(a), b); // [k, m]
}

/** x [N, in] times the weight: x·w for 'in-out', x·wᵀ for 'out-in'. */
function forwardProduct(x: tf.Tensor2D, weight: tf.Tensor2D, layout: WeightLayout): tf.Tensor2D {
  return layout === 'in-out' ? plain(x, weight) : timesTransposed(x, weight);
}

function isTrainable(t: tf.Tensor | null): boolean {
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
  const op = tf.customGrad(((...args: unknown[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const xIn = args[0] as tf.Tensor2D;
    const product = forwardProduct(xIn, weight, layout); // [N, out]
    const value = bias ? tf.add(product, bias) : product; // [N, out]
    save([xIn, weight]);
    return {
      value,
      gradFunc: scopedGrad((dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedX, savedW] = saved as tf.Tensor2D[];
        const dOut = dy as tf.Tensor2D; // [N, out]
        // dx = dy · Wᵀ in [in, out] terms: plain for an [out, in] weight
        const grads: tf.Tensor[] = [layout === 'out-in' ? plain(dOut, savedW) : timesTransposed(dOut, savedW)]; // [N, in]
        if (trainWeight) grads.push(layout === 'out-in' ? transposedTimes(dOut, savedX) : transposedTimes(savedX, dOut)); // [out, in] | [in, out]
        if (trainBias) grads.push(tf.sum(dOut, 0)); // [out]
        return grads;
      }),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (op as unknown as (...t: tf.Tensor[]) => tf.Tensor2D)(...inputs);
}
