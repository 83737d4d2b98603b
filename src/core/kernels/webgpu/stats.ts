// The numbers one training step reads back (step.ts), on WebGPU in a handful of dispatches: the
// loss, the global gradient norm as torch.nn.utils.clip_grad_norm_ computes it (‖(‖g₁‖, ‖g₂‖, …)‖₂)
// and whether every weight is finite. The compositions cost 3 dispatches per gradient for the
// norms (clip.ts) and 2 per weight plus a tree of AddN for the weights check (step.ts
// weightsFiniteProbe): 59 on a hone-tiny LoRA step with 16 parameters. Here:
//   1. one program per chunk of tensors (as many as one program may bind): one workgroup per tensor
//      reduces it, a gradient to its L2 norm √Σg², a weight to its count of non-finite values (an
//      exponent of all ones, tested on the bits: a compiler may assume no NaN and fold w·0 to 0);
//   2. one program combining the chunks' vectors and the loss into [loss, global norm, count].
// The weights check is 0 exactly when every weight is finite, as weightsFiniteProbe's Σ(w·0) is.
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '../kernel-io';
import { HoneProgram, runKernelFirst as run, runProgram } from './program';

type KernelArgs = { inputs: Record<string, TensorInfo | undefined>; backend: unknown; attrs: Record<string, unknown> };

const LANES = 64; // = HoneProgram's workgroup size

/** What a slot's workgroup computes: a gradient's L2 norm, or a weight's count of non-finite values. */
export type SlotKind = 'norm' | 'nonfinite';

/** each kind's letter in the shader keys (the backend caches pipelines by key: distinct code, distinct key) */
const KEY: Record<SlotKind, string> = { norm: 'n', nonfinite: 'f' };

function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The most inputs one program may bind on this backend's device (one binding is the output). */
export function maxProgramInputs(backend: unknown): number {
  const limit = (backend as { device?: { limits?: { maxStorageBuffersPerShaderStage?: number } } }).device?.limits?.maxStorageBuffersPerShaderStage;
  return Math.max(2, (limit ?? 8) - 1);
}

/** inputs x0 … x(k−1), attrs.kinds [k] → [k]: slot j's norm or non-finite count, one workgroup each. */
function slotReduce({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const kinds = attrs.kinds as SlotKind[];
  const xs = kinds.map((_, j) => inputs[`x${j}`]!);
  const names = xs.map((_, j) => `X${j}`);
  const sizes = xs.map((x) => sizeOf(x.shape));
  const accumulate = xs
    .map((_, j) => {
      const term = kinds[j] === 'norm' ? 'let v = X' + j + '[i]; sum = sum + v * v;' : `if ((bitcast<u32>(X${j}[i]) & 0x7f800000u) == 0x7f800000u) { sum = sum + 1.0; }`;
      return `if (slot == ${j}) { for (var i = lane; i < ${sizes[j]}; i = i + ${LANES}) { ${term} } }`;
    })
    .join('\n      else ');
  const finish = kinds.map((k, j) => (k === 'norm' ? `if (slot == ${j}) { total = sqrt(total); }` : '')).join(' ');
  const key = `hone_slots_${kinds.map((k, j) => `${KEY[k]}${sizes[j]}`).join('_')}`;
  const program = new HoneProgram(key, names, [kinds.length], kinds.length * LANES, `
      let lane = index % ${LANES};
      let slot = index / ${LANES};
      var sum = 0.0;
      ${accumulate}
      partial[lane] = sum;
      workgroupBarrier();
      for (var stride = ${LANES / 2}; stride > 0; stride = stride / 2) {
        if (lane < stride) { partial[lane] = partial[lane] + partial[lane + stride]; }
        workgroupBarrier();
      }
      if (lane == 0) {
        var total = partial[0];
        ${finish}
        result[slot] = total;
      }`, undefined, `var<workgroup> partial : array<f32, ${LANES}>;`);
  return [runProgram(backend, program, xs)];
}

/**
 * inputs loss [] and p0 … p(m−1), the slot vectors in order; attrs.kinds, every slot's kind in that
 * order → [loss, √Σ norm², Σ non-finite counts], by one thread (a few hundred values at most).
 */
function combine({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const kinds = attrs.kinds as SlotKind[];
  const count = attrs.parts as number;
  const parts = Array.from({ length: count }, (_, j) => inputs[`p${j}`]!);
  let offset = 0;
  const lines: string[] = [];
  parts.forEach((p, j) => {
    const n = sizeOf(p.shape);
    for (let i = 0; i < n; i++) {
      const kind = kinds[offset + i];
      lines.push(kind === 'norm' ? `{ let v = P${j}[${i}]; squares = squares + v * v; }` : `bad = bad + P${j}[${i}];`);
    }
    offset += n;
  });
  if (offset !== kinds.length) throw new Error(`HoneWebgpuStepStats: ${offset} slot values for ${kinds.length} kinds`);
  const key = `hone_step_stats_${parts.map((p) => sizeOf(p.shape)).join('_')}_${kinds.map((k) => KEY[k]).join('')}`;
  const program = new HoneProgram(key, ['LOSS', ...parts.map((_, j) => `P${j}`)], [3], 1, `
      var squares = 0.0;
      var bad = 0.0;
      ${lines.join('\n      ')}
      result[0] = LOSS[0];
      result[1] = sqrt(squares);
      result[2] = bad;`);
  return [runProgram(backend, program, [inputs.loss!, ...parts])];
}

export const STATS_KERNELS: Record<string, (args: KernelArgs) => TensorInfo[]> = {
  HoneWebgpuSlotReduce: slotReduce,
  HoneWebgpuStepStats: combine,
};


/**
 * [loss, global gradient norm, non-finite weight values] as one float32 tensor [3] (the caller
 * disposes it), for loss [], the gradients and the weights; read back once.
 */
export function stepStatsWebgpu(loss: tf.Scalar, grads: Iterable<tf.Tensor>, weights: Iterable<tf.Tensor>): tf.Tensor1D {
  return tf.tidy(() => {
    const slots: { x: tf.Tensor; kind: SlotKind }[] = [
      ...[...grads].map((x) => ({ x, kind: 'norm' as const })),
      ...[...weights].map((x) => ({ x, kind: 'nonfinite' as const })),
    ].filter((s) => s.x.size > 0);
    const limit = maxProgramInputs(tf.backend());
    let parts: tf.Tensor[] = []; // none when there is nothing to reduce: the loss alone
    for (let i = 0; i < slots.length; i += limit) {
      const chunk = slots.slice(i, i + limit);
      const inputs = Object.fromEntries(chunk.map((s, j) => [`x${j}`, s.x]));
      parts.push(run('HoneWebgpuSlotReduce', inputs, { kinds: chunk.map((s) => s.kind) }));
    }
    // the combining program binds the loss and every vector: beyond that, one vector first
    if (parts.length + 1 > limit) parts = [tf.concat(parts)];
    const inputs: Record<string, tf.Tensor> = { loss, ...Object.fromEntries(parts.map((p, j) => [`p${j}`, p])) };
    return run('HoneWebgpuStepStats', inputs, { kinds: slots.map((s) => s.kind), parts: parts.length }) as tf.Tensor1D;
  });
}
