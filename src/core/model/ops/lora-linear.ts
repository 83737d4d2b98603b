// A LoRA-adapted linear layer as one differentiable op (wasm fast path):
//   y = x·Wᵀ (+ bias) + s·(x̃·Aᵀ)·Bᵀ,   W frozen, A [r, in] and B [out, r] trained, x̃ = x or dropout(x)
// PEFT's Linear.forward composes base(x) + lora_B(lora_A(dropout(x))) * scaling; composed from
// linearRows that is three custom gradients, a scalar multiply, reshapes and an add, each with
// its own tape node and saved clones, and autograd's backward of the multiply, the reshapes and
// the add on top. Here the backward is written out, every product a plain 2-D matmul (XNNPACK
// never sees a transpose flag: see linear.ts), the scale applied to the small [N, r] tensor:
//   g  = s·dy·B                 [N, r]
//   dx = dy·W (+ g·A if x̃ = x)  [N, in]
//   dx̃ = g·A                    [N, in]   with dropout: tf.dropout's own gradient applies the mask
//   dA = gᵀ·x̃                   [r, in]
//   dB = dyᵀ·(s·x̃·Aᵀ)           [out, r]
// saving x (and x̃) and the [N, r] product s·x̃·Aᵀ, plus clones of W, A and B (sharing their data).
// The gradients are lazy, like a registered kernel's: tfjs asks only for those on a path to a
// trained tensor, so the first block's dx (its input is the frozen embedding) is never computed,
// as autograd skips it for the plain composition. tf.customGrad computes every gradient eagerly,
// so this builds the tape node through the engine's runKernelFunc, which customGrad itself calls
// (tfjs-core 4.22 engine.ts). Measured (hone-tiny LoRA step, wasm): 2,032 → 1,892 kernels.
import * as tf from '@tensorflow/tfjs';
import { forwardProduct, inputGradient, timesTransposed, transientPackingOn, transposedTimes, type WeightLayout } from './linear';

export interface LoraLinearWeights {
  /** the frozen base weight: [out, in] for 'out-in' (nn.Linear), [in, out] for 'in-out' (Conv1D) */
  weight: tf.Tensor2D;
  layout: WeightLayout;
  /** frozen bias [out], or null */
  bias: tf.Tensor1D | null;
  /** lora_A [r, in] and lora_B [out, r], as PEFT stores them for both layouts */
  a: tf.Tensor2D;
  b: tf.Tensor2D;
  /** lora_alpha / r (or / √r with rsLoRA) */
  scaling: number;
}

type LazyGradients = Record<string, () => tf.Tensor>;

/** The part of tfjs-core's Engine (engine.ts, private in its typings) that tf.customGrad runs on. */
interface KernelFuncEngine {
  runKernelFunc(params: {
    forwardFunc: (backend: unknown, save: tf.GradSaveFunc) => tf.Tensor;
    backwardsFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => LazyGradients;
    inputs: tf.NamedTensorMap;
  }): tf.Tensor;
}

function kernelFuncEngine(): KernelFuncEngine {
  const engine = tf.engine() as unknown as Partial<KernelFuncEngine>;
  if (typeof engine.runKernelFunc !== 'function') {
    throw new Error(`loraLinear: this tfjs (${tf.version.tfjs}) has no Engine.runKernelFunc, which tfjs-core 4.22 has; update src/core/model/ops/lora-linear.ts for it`);
  }
  return engine as KernelFuncEngine;
}

/**
 * y [..., out] for x [..., in]. `branchInput` is the LoRA branch's input when it differs from x
 * (dropout while training), else null. The weights stay the caller's; the op keeps clones of
 * what its backward reads (weight, A, B share their data with them).
 */
export function loraLinear(x: tf.Tensor, branchInput: tf.Tensor | null, weights: LoraLinearWeights): tf.Tensor {
  const { weight, layout, bias, a, b, scaling } = weights;
  const inFeatures = x.shape[x.rank - 1] as number;
  const outFeatures = layout === 'out-in' ? weight.shape[0] : weight.shape[1];
  const rows = x.size / inFeatures;
  const outShape = [...x.shape.slice(0, -1), outFeatures];
  const inputs: tf.NamedTensorMap = branchInput ? { x, branch: branchInput, a, b } : { x, a, b };
  const transient = transientPackingOn(); // the frozen weight kept out of XNNPACK's cache (linear.ts)

  const forwardFunc = (_backend: unknown, save: tf.GradSaveFunc): tf.Tensor => {
    const xRows = x.reshape([rows, inFeatures]) as tf.Tensor2D; // [N, in]
    const branchRows = branchInput ? (branchInput.reshape([rows, inFeatures]) as tf.Tensor2D) : xRows; // [N, in]
    const base = forwardProduct(xRows, weight, layout, transient); // [N, out]
    const down = tf.mul(timesTransposed(branchRows, a), scaling) as tf.Tensor2D; // [N, r], s·x̃·Aᵀ
    const y = tf.add(bias ? tf.add(base, bias) : base, timesTransposed(down, b)); // [N, out]
    save(branchInput ? [xRows, down, weight, a, b, branchRows] : [xRows, down, weight, a, b]);
    return y.reshape(outShape);
  };

  const backwardsFunc = (dy: tf.Tensor, saved: tf.Tensor[]): LazyGradients => {
    const [xRows, down, savedWeight, savedA, savedB, savedBranch] = saved as tf.Tensor2D[];
    const branchRows = savedBranch ?? xRows; // [N, in]
    // Outside any scope (tape.ts calls gradient functions bare): these two live until the
    // backward pass ends; the reshape shares dy's data and g is [N, r].
    const dOut = dy.reshape([rows, outFeatures]) as tf.Tensor2D; // [N, out]
    const g = tf.tidy(() => tf.mul(tf.matMul(dOut, savedB), scaling)) as tf.Tensor2D; // [N, r], s·dy·B
    // each gradient runs in its own tidy (tape.ts), and only if tfjs needs it
    const grads: LazyGradients = {
      a: () => transposedTimes(g, branchRows), // [r, in]
      b: () => transposedTimes(dOut, down), // [out, r]
    };
    if (branchInput) {
      grads.x = () => inputGradient(dOut, savedWeight, layout, transient).reshape(x.shape); // [..., in]
      grads.branch = () => tf.matMul(g, savedA).reshape(branchInput.shape); // [..., in]
    } else {
      grads.x = () => tf.add(inputGradient(dOut, savedWeight, layout, transient), tf.matMul(g, savedA)).reshape(x.shape); // [..., in]
    }
    return grads;
  };

  return kernelFuncEngine().runKernelFunc({ forwardFunc, backwardsFunc, inputs });
}
