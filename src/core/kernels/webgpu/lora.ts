// LoRA's up-projection on WebGPU: out = y + (d · Bᵀ) · scaling for the base output y [N, out], the
// down-projection d = x · Aᵀ [N, r] and B [out, r], as one program (a thread per output value sums
// r products), with a custom gradient of two programs: d d = (dy·s) · B [N, r] and
// d B = (dy·s)ᵀ · d [out, r]; y's gradient is dy itself. The composition (lora.ts) runs a matmul, a
// Multiply and an Add forward and a Multiply and two matmuls backward. The arithmetic follows it in
// float32: the r-term product first, then ·scaling, then + y; backward dy·s before the sums.
// The op (custom gradient) is ops.ts's loraUpWebgpu.
import type { TensorInfo } from '../kernel-io';
import { HoneProgram, runProgram, wgslFloat } from './program';

type KernelArgs = { inputs: Record<string, TensorInfo | undefined>; backend: unknown; attrs: Record<string, unknown> };

/** y [N, out], d [N, r], b [out, r], attrs.scaling → y + (d·bᵀ)·scaling [N, out]. */
function loraUp({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const [y, d, b] = [inputs.y!, inputs.d!, inputs.b!];
  const [rows, out] = y.shape;
  const r = d.shape[1];
  const s = wgslFloat(attrs.scaling as number);
  const program = new HoneProgram(`hone_lora_up_${rows}_${out}_${r}_${s}`, ['Y', 'D', 'B'], y.shape, rows * out, `
      let n = index / ${out};
      let j = index % ${out};
      var sum = 0.0;
      for (var k = 0; k < ${r}; k++) { sum = sum + D[n * ${r} + k] * B[j * ${r} + k]; }
      result[index] = Y[index] + sum * ${s};`);
  return [runProgram(backend, program, [y, d, b])];
}

/** dy [N, out], d [N, r], b [out, r], attrs.scaling → d d [N, r], d b [out, r]. */
function loraUpGrad({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const [dy, d, b] = [inputs.dy!, inputs.d!, inputs.b!];
  const [rows, out] = dy.shape;
  const r = d.shape[1];
  const s = wgslFloat(attrs.scaling as number);
  const dD = runProgram(
    backend,
    new HoneProgram(`hone_lora_up_grad_d_${rows}_${out}_${r}_${s}`, ['DY', 'B'], d.shape, rows * r, `
      let n = index / ${r};
      let k = index % ${r};
      var sum = 0.0;
      for (var j = 0; j < ${out}; j++) { sum = sum + (DY[n * ${out} + j] * ${s}) * B[j * ${r} + k]; }
      result[index] = sum;`),
    [dy, b],
  );
  const dB = runProgram(
    backend,
    new HoneProgram(`hone_lora_up_grad_b_${rows}_${out}_${r}_${s}`, ['DY', 'D'], b.shape, out * r, `
      let j = index / ${r};
      let k = index % ${r};
      var sum = 0.0;
      for (var n = 0; n < ${rows}; n++) { sum = sum + (DY[n * ${out} + j] * ${s}) * D[n * ${r} + k]; }
      result[index] = sum;`),
    [dy, d],
  );
  return [dD, dB];
}

export const LORA_KERNELS: Record<string, (args: KernelArgs) => TensorInfo[]> = {
  HoneWebgpuLoraUp: loraUp,
  HoneWebgpuLoraUpGrad: loraUpGrad,
};
