// AdamW's update for one parameter as a single kernel: new p, m and v from p, g, m, v in one pass.
// Why: the op-by-op update (adamw.ts) runs ten kernels per parameter, each a full pass over the
// parameter with its own output allocation: 10.9 ms a step for hone-tiny, 81 ms for small (wasm,
// Node, measured). Here every intermediate stays a local.
// Exactness: the same float32 operations in the same order as the op-by-op update, each rounded
// with Math.fround (a double-precision +, −, ×, ÷ or √ of float32 values, rounded once to float32,
// is the correctly rounded float32 result), and the constants rounded to float32 as tfjs rounds a
// scalar operand. So the outputs are bit for bit those of adamw.ts's tensor path.
import type { FusedKernel } from './kernel-io';

export const ADAMW_KERNEL = 'HoneAdamW';

/** Attributes: each a float32 constant of the update (see adamw.ts for their meaning). */
export interface AdamWAttrs {
  /** 1 − lr·wd, or 1 when the parameter does not decay (×1 is exact) */
  decay: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  biasCorrection2Sqrt: number;
  eps: number;
  stepSize: number;
}

export const adamWKernel: FusedKernel = {
  name: ADAMW_KERNEL,
  outputShapes: (shapes) => [shapes.param, shapes.param, shapes.param],
  run({ inputs, outputs, attrs }) {
    const { param, grad, m, v } = inputs;
    const [pOut, mOut, vOut] = outputs;
    const f = Math.fround;
    const a = attrs as unknown as AdamWAttrs;
    const decay = f(a.decay);
    const c1 = f(a.oneMinusBeta1);
    const b2 = f(a.beta2);
    const c2 = f(a.oneMinusBeta2);
    const bc2 = f(a.biasCorrection2Sqrt);
    const eps = f(a.eps);
    const stepSize = f(a.stepSize);
    for (let i = 0; i < param.length; i++) {
      const g = grad[i];
      const mi = m[i];
      const m1 = f(mi + f(f(g - mi) * c1)); // m + (g − m)·(1 − β1)
      const v1 = f(f(v[i] * b2) + f(f(g * g) * c2)); // v·β2 + g·g·(1 − β2)
      const denom = f(f(f(Math.sqrt(v1)) / bc2) + eps); // √v / √(1 − β2^t) + eps, √v rounded as tf.sqrt's output
      pOut[i] = f(param[i] * decay) - f(f(m1 * stepSize) / denom); // the store rounds the last subtraction
      mOut[i] = m1;
      vOut[i] = v1;
    }
  },
};
