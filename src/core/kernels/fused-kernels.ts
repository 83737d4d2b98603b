// Forward and backward kernels for the per-layer elementwise chains of a Llama block, each one pass
// over its operands instead of 3–9 tfjs kernels with an allocation apiece (ops/fused.ts wraps them
// in custom gradients). Why: hone-tiny's step ran ~2,300 kernels, and at its size the per-kernel
// overhead, not the arithmetic, held it back (docs/PERFORMANCE.md).
// Intermediates are doubles, rounded to float32 once when stored (Math.fround after every operation
// measured 2.5× slower in V8): the values match the tfjs compositions to float32 rounding, not bit for bit.
// Measured and dropped on wasm (slower than the tfjs kernels they replaced, Node, 2 cores, 18:58 UTC):
// RoPE (2.1 ms a call against ~0.5 ms for the matmul swap and three XNNPACK kernels; the kernel stays
// for ropeFused), scale+mask before the softmax (3.5 ms against ~1 ms), the softmax's backward
// (3.6 ms against ~1.4 ms on small), and any kernel computing exp in JS (~15 ns an element:
// SwiGLU's forward and sigmoid stay XNNPACK's).
// A JS loop runs ~2–10 ns per element here against ~0.5–1 ns for one XNNPACK kernel, so a fusion pays
// only where it replaces several kernels and needs no transcendental function.
import type { FusedKernel } from './kernel-io';

/** rows × width of a [..., width] shape */
function rowsOf(shape: number[]): [number, number] {
  const width = shape[shape.length - 1];
  const size = shape.reduce((a, b) => a * b, 1);
  return [width === 0 ? 0 : size / width, width];
}

/** y = x · r · w with r = (mean(x²) + eps)^−½ per row; x [N, d], w [d] → y [N, d], r [N, 1]. */
export const rmsNormKernel: FusedKernel = {
  name: 'HoneRmsNorm',
  outputShapes: (s) => [s.x, [rowsOf(s.x)[0], 1]],
  run({ inputs: { x, weight }, shapes, outputs: [y, inverse], attrs }) {
    const [rows, d] = rowsOf(shapes.x);
    const eps = attrs.eps as number;
    for (let r = 0; r < rows; r++) {
      const base = r * d;
      let sum = 0;
      for (let j = base; j < base + d; j++) sum += x[j] * x[j];
      const inv = Math.fround(1 / Math.sqrt(sum / d + eps)); // rounded once: the backward reads it back
      inverse[r] = inv;
      for (let j = 0; j < d; j++) y[base + j] = x[base + j] * inv * weight[j];
    }
  },
};

/**
 * RMSNorm's gradient: with x̂ = x·r and g = dy·w, dx = r·(g − x̂·mean(g ⊙ x̂)), dw = Σ_rows dy ⊙ x̂.
 * Inputs dy, x [N, d], inverse [N, 1], weight [d]; outputs dx, and dw [d] when attrs.weightGrad.
 */
export const rmsNormGradKernel: FusedKernel = {
  name: 'HoneRmsNormGrad',
  outputShapes: (s, attrs) => (attrs.weightGrad ? [s.x, [s.x[s.x.length - 1]]] : [s.x]),
  run({ inputs: { dy, x, inverse, weight }, shapes, outputs: [dx, dw], attrs }) {
    const [rows, d] = rowsOf(shapes.x);
    const dwSum = attrs.weightGrad ? new Float64Array(d) : null;
    for (let r = 0; r < rows; r++) {
      const base = r * d;
      const inv = inverse[r];
      let projection = 0;
      for (let j = 0; j < d; j++) projection += dy[base + j] * weight[j] * x[base + j] * inv;
      const mean = projection / d;
      for (let j = 0; j < d; j++) {
        const normed = x[base + j] * inv;
        dx[base + j] = (dy[base + j] * weight[j] - normed * mean) * inv;
        if (dwSum) dwSum[j] += dy[base + j] * normed;
      }
    }
    if (dw && dwSum) dw.set(dwSum);
  },
};

/**
 * SwiGLU's gradient given σ(gate) (the forward's tf.sigmoid, XNNPACK's vectorised kernel: an exp in
 * JS costs ~15 ns, ten times a fused multiply here): d up = dy · gate·σ, d gate = dy · up · σ·(1 + gate·(1 − σ)).
 */
export const swiGluGradKernel: FusedKernel = {
  name: 'HoneSwiGluGrad',
  outputShapes: (s) => [s.gate, s.gate],
  run({ inputs: { dy, gate, sigmoid, up }, outputs: [dGate, dUp] }) {
    for (let i = 0; i < gate.length; i++) {
      const g = gate[i];
      const s = sigmoid[i];
      const d = dy[i];
      dUp[i] = d * g * s;
      dGate[i] = d * up[i] * s * (1 + g * (1 - s));
    }
  },
};

/**
 * RoPE in the rotate_half convention with the sign folded into the sine table:
 * y[j] = x[j]·cos[j] + x[σ(j)]·signedSin[j], σ(j) = (j + hd/2) mod hd, for x [B, h, T, hd] and
 * tables [B, 1, T, hd] shared by the heads. With attrs.transpose the adjoint (the gradient):
 * dx[j] = dy[j]·cos[j] + dy[σ(j)]·signedSin[σ(j)] (σ is its own inverse). Kept for ropeFused's
 * callers (the WebGPU kernels share its contract); wasm's attention does not use it (slower there).
 */
export const ropeKernel: FusedKernel = {
  name: 'HoneRope',
  outputShapes: (s) => [s.x],
  run({ inputs: { x, cos, signedSin }, shapes, outputs: [y], attrs }) {
    const [batch, heads, time, hd] = shapes.x;
    const half = hd / 2;
    const adjoint = attrs.transpose === true;
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < heads; h++) {
        for (let t = 0; t < time; t++) {
          const row = ((b * heads + h) * time + t) * hd;
          const table = (b * time + t) * hd;
          for (let j = 0; j < half; j++) {
            const lo = row + j;
            const hi = lo + half;
            // the first half reads the second and back; the adjoint reads the sine at the source
            y[lo] = x[lo] * cos[table + j] + x[hi] * signedSin[table + (adjoint ? j + half : j)];
            y[hi] = x[hi] * cos[table + j + half] + x[lo] * signedSin[table + (adjoint ? j : j + half)];
          }
        }
      }
    }
  },
};

export const FUSED_KERNELS: FusedKernel[] = [rmsNormKernel, rmsNormGradKernel, swiGluGradKernel, ropeKernel];
