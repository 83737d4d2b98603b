// AdamW as torch.optim.AdamW computes it (torch/optim/adamw.py → adam.py, _single_tensor_adam with
// decoupled weight decay, amsgrad=False, maximize=False), in the same order of operations:
//   step += 1
//   p ← p · (1 − lr·wd)                                  decoupled weight decay, before the moments
//   m ← m + (g − m)·(1 − β1)                             exp_avg.lerp_(grad, 1 − β1)
//   v ← v·β2 + (1 − β2)·g·g                              exp_avg_sq.mul_(β2).addcmul_(g, g, 1 − β2)
//   denom = √v / √(1 − β2^step) + eps
//   p ← p − (lr / (1 − β1^step)) · m / denom
// The bias corrections are computed in double precision on the host, as torch does with Python floats.
// A parameter without a gradient in a step is left alone (torch skips params whose grad is None),
// so each parameter keeps its own step count.
// On WebGPU the moments of up to six parameters share one buffer (a group: each member's m then v)
// and the update takes the clip coefficient (gradScale) itself: one dispatch per group for the
// moments, one per parameter (kernels/webgpu/adamw.ts). Elsewhere each parameter has m and v apart.
import * as tf from '@tensorflow/tfjs';
import type { HostTensor } from '../../model/safetensors';
import { readHostAll } from '../../peft/types';
import { ADAMW_KERNEL, type AdamWAttrs } from '../../kernels/adamw-kernel';
import { hasFused, runFused } from '../../kernels/kernel-io';
import { fastPathsEnabled } from '../../model/ops/linear';
import { adamMomentsWebgpu, adamParamWebgpu, maxGroupSize, webgpuFastPaths, webgpuProgramsActive, type MomentMember } from '../../kernels/webgpu';

export interface AdamWConfig {
  /** β1, β2: torch's defaults (0.9, 0.999) */
  betas: [number, number];
  /** added to the denominator for stability: torch's default 1e-8 */
  eps: number;
  /** decoupled decay per step, scaled by lr: HF TrainingArguments defaults to 0, torch to 0.01 */
  weightDecay: number;
  /** which parameters decay; default all (HF excludes biases and norm weights of full fine-tuning) */
  decays?: (name: string) => boolean;
}

/** WebGPU: the moments of several parameters in one flat variable, member i's m then v at its base. */
interface MomentGroup {
  moments: tf.Variable;
  names: string[];
  members: MomentMember[];
}

/** A parameter's moments: m and v apart, or (WebGPU) its place in a group. */
interface Slot {
  m: tf.Variable | null;
  v: tf.Variable | null;
  group: MomentGroup | null;
  step: number;
  /** the parameter's shape (a group holds its moments flat) */
  shape: number[];
}

/** Optimizer state on the host: per-parameter step counts and moments `m/<name>`, `v/<name>`. */
export interface AdamWState {
  steps: Record<string, number>;
  tensors: Map<string, HostTensor>;
}

export class AdamW {
  private readonly slots = new Map<string, Slot>();

  constructor(readonly config: AdamWConfig) {
    const [b1, b2] = config.betas;
    if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) throw new Error(`AdamW: betas must lie in [0, 1), got [${config.betas}]`);
    if (!(config.eps >= 0)) throw new Error(`AdamW: eps must be ≥ 0, got ${config.eps}`);
    if (!(config.weightDecay >= 0)) throw new Error(`AdamW: weightDecay must be ≥ 0, got ${config.weightDecay}`);
  }

  /**
   * Updates each parameter that has a gradient, in place. `grads` stay the caller's. `gradScale`,
   * when given, scales every gradient first (g·gradScale in float32: clip.ts's clipping
   * coefficient), inside the update on WebGPU.
   */
  apply(params: Map<string, tf.Variable>, grads: Map<string, tf.Tensor>, lr: number, gradScale?: number): void {
    for (const [name, grad] of grads) {
      const param = params.get(name);
      if (!param) throw new Error(`AdamW.apply: gradient for "${name}" but no such trainable parameter`);
      if (!sameShape(param.shape, grad.shape)) {
        throw new Error(`AdamW.apply: gradient for "${name}" is [${grad.shape}] but the parameter is [${param.shape}]`);
      }
    }
    if (webgpuProgramsActive()) {
      this.applyWebgpu(params, grads, lr, gradScale ?? 1);
      return;
    }
    if (gradScale !== undefined) {
      // the scaled gradients first, exactly as clipByGlobalNorm makes them
      const scaled = new Map([...grads].map(([name, g]) => [name, tf.mul(g, gradScale)] as const));
      try {
        this.apply(params, scaled, lr);
      } finally {
        for (const g of scaled.values()) g.dispose();
      }
      return;
    }
    // the fused kernel on wasm (and wherever a test forces the fast paths); elsewhere the ops below
    const fused = (fastPathsEnabled() || webgpuFastPaths()) && hasFused(ADAMW_KERNEL);
    for (const [name, grad] of grads) {
      const param = params.get(name)!;
      const slot = this.slotFor(name, param, false);
      const { m: slotM, v: slotV } = this.separate(slot);
      const attrs = this.stepAttrs(name, slot, lr);
      if (fused) {
        // one kernel per parameter (kernels/adamw-kernel.ts), bit for bit the ops below
        const [updated, m, v] = runFused(ADAMW_KERNEL, { param, grad, m: slotM, v: slotV }, attrs as unknown as Record<string, unknown>);
        // assign takes the new tensors' data; dropping the handles leaves them owned by the variables
        slotM.assign(m);
        slotV.assign(v);
        param.assign(updated);
        tf.dispose([updated, m, v]);
        continue;
      }
      const [b1, b2] = this.config.betas;
      tf.tidy(() => {
        const decays = (this.config.decays ? this.config.decays(name) : true) && this.config.weightDecay !== 0;
        const decayed = decays ? tf.mul(param, 1 - lr * this.config.weightDecay) : param; // p·(1 − lr·wd)
        const m = tf.add(slotM, tf.mul(tf.sub(grad, slotM), 1 - b1)); // lerp toward g
        const v = tf.add(tf.mul(slotV, b2), tf.mul(tf.mul(grad, grad), 1 - b2));
        const denom = tf.add(tf.div(tf.sqrt(v), attrs.biasCorrection2Sqrt), this.config.eps);
        const updated = tf.sub(decayed, tf.div(tf.mul(m, attrs.stepSize), denom));
        slotM.assign(m);
        slotV.assign(v);
        param.assign(updated);
      });
    }
  }

  /** WebGPU: one moments program per group with a gradient, then one program per parameter. */
  private applyWebgpu(params: Map<string, tf.Variable>, grads: Map<string, tf.Tensor>, lr: number, gradScale: number): void {
    const [b1, b2] = this.config.betas;
    const slots = new Map([...grads.keys()].map((name) => [name, this.slotFor(name, params.get(name)!, true)] as const));
    this.group([...slots].filter(([, s]) => !s.group).map(([name]) => name)); // moments held apart (after load or a forced switch)
    const groups = new Set([...slots.values()].map((s) => s.group!));
    const moments = { oneMinusBeta1: 1 - b1, beta2: b2, oneMinusBeta2: 1 - b2 };
    for (const group of groups) {
      const next = adamMomentsWebgpu(group.moments, group.members, group.names.map((n) => grads.get(n) ?? null), moments, gradScale);
      group.moments.assign(next);
      next.dispose();
    }
    for (const [name, slot] of slots) {
      const param = params.get(name)!;
      const group = slot.group!;
      const updated = adamParamWebgpu(param, group.moments, group.members[group.names.indexOf(name)].base, this.stepAttrs(name, slot, lr));
      param.assign(updated);
      updated.dispose();
    }
  }

  /** Counts the step and returns its attributes (adamw-kernel.ts's): bias corrections in double precision. */
  private stepAttrs(name: string, slot: Slot, lr: number): AdamWAttrs {
    const [b1, b2] = this.config.betas;
    slot.step += 1;
    const decay = this.config.decays ? this.config.decays(name) : true;
    return {
      decay: decay && this.config.weightDecay !== 0 ? 1 - lr * this.config.weightDecay : 1,
      oneMinusBeta1: 1 - b1,
      beta2: b2,
      oneMinusBeta2: 1 - b2,
      biasCorrection2Sqrt: Math.sqrt(1 - b2 ** slot.step),
      eps: this.config.eps,
      stepSize: lr / (1 - b1 ** slot.step),
    };
  }

  /**
   * Copies the state to the host (for a checkpoint). Step counts and moments are captured when
   * called (the moments as clones), so an update landing during the read-back does not leak in.
   */
  async state(): Promise<AdamWState> {
    const steps: Record<string, number> = {};
    const moments = new Map<string, tf.Tensor>();
    const groups: MomentGroup[] = [];
    for (const [name, slot] of this.slots) {
      steps[name] = slot.step;
      if (slot.group) {
        if (!groups.includes(slot.group)) groups.push(slot.group);
        continue;
      }
      moments.set(`m/${name}`, slot.m!);
      moments.set(`v/${name}`, slot.v!);
    }
    groups.forEach((g, i) => moments.set(`group/${i}`, g.moments));
    const host = await readHostAll(moments);
    const tensors = new Map<string, HostTensor>();
    for (const [key, t] of host) if (!key.startsWith('group/')) tensors.set(key, t);
    groups.forEach((g, i) => {
      // each member's m and v in its parameter's shape: the m/ and v/ tensors of a checkpoint
      const data = host.get(`group/${i}`)!.data;
      g.names.forEach((name, j) => {
        const { base, size } = g.members[j];
        const shape = [...this.slots.get(name)!.shape];
        tensors.set(`m/${name}`, { shape, data: data.slice(base, base + size) });
        tensors.set(`v/${name}`, { shape, data: data.slice(base + size, base + 2 * size) });
      });
    });
    return { steps, tensors };
  }

  /** Replaces the state with a saved one; shapes are checked against the parameters. */
  load(state: AdamWState, params: Map<string, tf.Variable>): void {
    // Check everything before touching the current state, so a bad checkpoint leaves it intact.
    for (const [name, step] of Object.entries(state.steps)) {
      const param = params.get(name);
      if (!param) throw new Error(`AdamW.load: the saved optimizer state has "${name}" but the model has no such trainable parameter`);
      if (!Number.isInteger(step) || step < 0) throw new Error(`AdamW.load: step count for "${name}" is ${step}, not a non-negative integer`);
      for (const what of ['m', 'v']) {
        const t = state.tensors.get(`${what}/${name}`);
        if (!t) throw new Error(`AdamW.load: the saved optimizer state lacks ${what}/${name}`);
        if (!sameShape(t.shape, param.shape)) {
          throw new Error(`AdamW.load: ${what}/${name} is [${t.shape}] but the parameter is [${param.shape}]`);
        }
      }
    }
    this.dispose();
    const variable = (t: HostTensor): tf.Variable => tf.tidy(() => tf.variable(tf.tensor(t.data, t.shape, 'float32'), false));
    for (const [name, step] of Object.entries(state.steps)) {
      const [m, v] = [state.tensors.get(`m/${name}`)!, state.tensors.get(`v/${name}`)!];
      this.slots.set(name, { m: variable(m), v: variable(v), group: null, step, shape: [...m.shape] });
    }
    if (webgpuProgramsActive()) this.group([...this.slots.keys()]); // host arrays in, one buffer per group
  }

  dispose(): void {
    const groups = new Set<MomentGroup>();
    for (const slot of this.slots.values()) {
      if (slot.group) groups.add(slot.group);
      else tf.dispose([slot.m!, slot.v!]);
    }
    for (const g of groups) g.moments.dispose();
    this.slots.clear();
  }

  private slotFor(name: string, param: tf.Variable, grouped: boolean): Slot {
    let slot = this.slots.get(name);
    if (!slot) {
      // tidy disposes the zeros; the variables keep their own reference to the data
      slot = grouped
        ? { m: null, v: null, group: null, step: 0, shape: [...param.shape] } // grouped (with zeros) by applyWebgpu
        : { m: tf.tidy(() => tf.variable(tf.zerosLike(param), false)), v: tf.tidy(() => tf.variable(tf.zerosLike(param), false)), group: null, step: 0, shape: [...param.shape] };
      this.slots.set(name, slot);
    }
    return slot;
  }

  /** Puts the named slots' moments (apart, or none yet: zeros) into new groups of up to maxGroupSize members. */
  private group(names: string[]): void {
    const size = maxGroupSize(tf.backend());
    for (let i = 0; i < names.length; i += size) {
      const chunk = names.slice(i, i + size);
      const members: MomentMember[] = [];
      let base = 0;
      for (const name of chunk) {
        const n = sizeOf(this.slots.get(name)!.shape);
        members.push({ base, size: n });
        base += 2 * n;
      }
      const moments = tf.tidy(() => {
        const parts = chunk.flatMap((name) => {
          const s = this.slots.get(name)!;
          return s.m ? [s.m.reshape([-1]), s.v!.reshape([-1])] : [tf.zeros([2 * sizeOf(s.shape)])];
        });
        return tf.variable(parts.length === 1 ? parts[0] : tf.concat(parts), false);
      });
      const group: MomentGroup = { moments, names: chunk, members };
      for (const name of chunk) {
        const s = this.slots.get(name)!;
        if (s.m) tf.dispose([s.m, s.v!]);
        Object.assign(s, { m: null, v: null, group });
      }
    }
  }

  /** The slot's moments apart, in the parameter's shape (its whole group taken apart if it had one). */
  private separate(slot: Slot): { m: tf.Variable; v: tf.Variable } {
    const group = slot.group;
    if (group) {
      group.names.forEach((name, j) => {
        const s = this.slots.get(name)!;
        const { base, size } = group.members[j];
        const [m, v] = tf.tidy(() => [
          tf.variable(tf.slice(group.moments, base, size).reshape(s.shape), false),
          tf.variable(tf.slice(group.moments, base + size, size).reshape(s.shape), false),
        ]);
        Object.assign(s, { m, v, group: null });
      });
      group.moments.dispose();
    }
    return { m: slot.m!, v: slot.v! };
  }
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}
