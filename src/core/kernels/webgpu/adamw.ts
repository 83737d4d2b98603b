// AdamW on WebGPU with the moments of a group of parameters in one buffer (member i's m then v, at
// its base offset) and the gradient clipping folded in: one dispatch per group for all its moments
// (up to maxStorageBuffersPerShaderStage − 2 gradients each: the buffer and the output bind too),
// then one per parameter, against three per parameter for HoneAdamW (one program per output: p, m,
// v) plus one for clip.ts's g·coef. The clip coefficient comes from the host (step.ts computes it
// from the read-back norm, as clipByGlobalNorm does) as a uniform, and the kernel multiplies
// g·coef in float32 first, as clip-then-AdamW does; the update then follows adamw-kernel.ts
// operation by operation:
//   m ← m + (g − m)·(1 − β1),  v ← v·β2 + (g·g)·(1 − β2),  p ← p·decay − (m·stepSize) / (√v / bc2 + eps)
// A member without a gradient this step keeps its moments (copied through).
import * as tf from '@tensorflow/tfjs';
import type { AdamWAttrs } from '../adamw-kernel';
import type { TensorInfo } from '../kernel-io';
import { HoneProgram, runKernelFirst as run, runProgram } from './program';
import { maxProgramInputs } from './stats';

type KernelArgs = { inputs: Record<string, TensorInfo | undefined>; backend: unknown; attrs: Record<string, unknown> };

/** One parameter's place in its group's buffer: m at [base, base + size), v right after. */
export interface MomentMember {
  base: number;
  size: number;
}

function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The most gradients one group's moments program may bind (the moments buffer binds too). */
export function maxGroupSize(backend: unknown): number {
  return Math.max(1, maxProgramInputs(backend) - 1);
}

/**
 * g0 … g(k−1) (the members with a gradient, in member order), moments [Σ 2·size]; attrs members
 * (MomentMember & { grad: index into the g's, or −1 }), c1, b2, c2, gradScale → the new moments.
 */
function moments({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const members = attrs.members as (MomentMember & { grad: number })[];
  const mv = inputs.moments!;
  const total = sizeOf(mv.shape);
  const grads: TensorInfo[] = [];
  const branches = members.map(({ base, size, grad }, i) => {
    const last = i === members.length - 1;
    const test = last ? '' : `if (index < ${base + 2 * size}) `;
    if (grad < 0) return `${test}{ result[index] = MV[index]; }`; // no gradient: the moments stay
    const g = inputs[`g${grad}`]!;
    if (sizeOf(g.shape) !== size) throw new Error(`HoneWebgpuAdamMoments: gradient ${grad} [${g.shape}] for a member of ${size} values`);
    grads.push(g);
    return `${test}{
        let local = index - ${base};
        if (local < ${size}) {
          let g = G${grad}[local] * uniforms.scale;
          let m = MV[index];
          result[index] = m + (g - m) * uniforms.c1;
        } else {
          let g = G${grad}[local - ${size}] * uniforms.scale;
          result[index] = MV[index] * uniforms.b2 + (g * g) * uniforms.c2;
        }
      }`;
  });
  const end = members.length === 0 ? 0 : members[members.length - 1].base + 2 * members[members.length - 1].size;
  if (end !== total) throw new Error(`HoneWebgpuAdamMoments: members cover ${end} values of a ${total}-value buffer`);
  const a = attrs as Record<string, number>;
  const key = `hone_adam_moments_${members.map((m) => `${m.size}${m.grad < 0 ? 'x' : 'g'}`).join('_')}`;
  const program = new HoneProgram(key, [...grads.map((_, j) => `G${j}`), 'MV'], mv.shape, total, branches.join('\n      else '), 'scale : f32, c1 : f32, b2 : f32, c2 : f32,');
  const uniforms = [a.gradScale, a.oneMinusBeta1, a.beta2, a.oneMinusBeta2].map((x) => ({ type: 'float32' as const, data: [x] }));
  return [runProgram(backend, program, [...grads, mv], uniforms)];
}

/** param [n…], its group's new moments; attrs base, decay, bc2, eps, stepSize → the new param. */
function update({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const [param, mv] = [inputs.param!, inputs.moments!];
  const n = sizeOf(param.shape);
  const base = attrs.base as number;
  if (base + 2 * n > sizeOf(mv.shape)) throw new Error(`HoneWebgpuAdamParam: moments at ${base} for ${n} values overrun a ${sizeOf(mv.shape)}-value buffer`);
  const a = attrs as Record<string, number>;
  const program = new HoneProgram(`hone_adam_param_${n}_${base}`, ['P', 'MV'], param.shape, n, `
      let denom = sqrt(MV[index + ${base + n}]) / uniforms.bc2 + uniforms.eps;
      result[index] = P[index] * uniforms.decay - (MV[index + ${base}] * uniforms.stepSize) / denom;`, 'decay : f32, bc2 : f32, eps : f32, stepSize : f32,');
  const uniforms = [a.decay, a.biasCorrection2Sqrt, a.eps, a.stepSize].map((x) => ({ type: 'float32' as const, data: [x] }));
  return [runProgram(backend, program, [param, mv], uniforms)];
}

export const ADAMW_KERNELS: Record<string, (args: KernelArgs) => TensorInfo[]> = {
  HoneWebgpuAdamMoments: moments,
  HoneWebgpuAdamParam: update,
};


/**
 * The new moments of a group (a new tensor): `grads[i]` is member i's gradient, or null to keep
 * its moments; every gradient is scaled by gradScale first.
 */
export function adamMomentsWebgpu(moments: tf.Tensor, members: readonly MomentMember[], grads: readonly (tf.Tensor | null)[], attrs: Pick<AdamWAttrs, 'oneMinusBeta1' | 'beta2' | 'oneMinusBeta2'>, gradScale: number): tf.Tensor {
  const inputs: Record<string, tf.Tensor> = { moments };
  let k = 0;
  const described = members.map((m, i) => {
    const g = grads[i];
    if (!g) return { ...m, grad: -1 };
    inputs[`g${k}`] = g;
    return { ...m, grad: k++ };
  });
  const { oneMinusBeta1, beta2, oneMinusBeta2 } = attrs;
  return run('HoneWebgpuAdamMoments', inputs, { members: described, oneMinusBeta1, beta2, oneMinusBeta2, gradScale });
}

/** A parameter's update from its group's new moments (member at `base`): a new tensor. */
export function adamParamWebgpu(param: tf.Tensor, moments: tf.Tensor, base: number, attrs: AdamWAttrs): tf.Tensor {
  return run('HoneWebgpuAdamParam', { param, moments }, { ...attrs, base });
}
