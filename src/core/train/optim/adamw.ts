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
import * as tf from '@tensorflow/tfjs';
import type { HostTensor } from '../../model/safetensors';
import { readHostAll } from '../../peft/types';
import { ADAMW_KERNEL, type AdamWAttrs } from '../../kernels/adamw-kernel';
import { hasFused, runFused } from '../../kernels/kernel-io';
import { fastPathsEnabled } from '../../model/ops/linear';
import { webgpuFastPaths } from '../../kernels/webgpu';

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

interface Slot {
  m: tf.Variable;
  v: tf.Variable;
  step: number;
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

  /** Updates each parameter that has a gradient, in place. `grads` stay the caller's. */
  apply(params: Map<string, tf.Variable>, grads: Map<string, tf.Tensor>, lr: number): void {
    const [b1, b2] = this.config.betas;
    // the fused kernel on wasm (and wherever a test forces the fast paths); elsewhere the ops below
    const fused = (fastPathsEnabled() || webgpuFastPaths()) && hasFused(ADAMW_KERNEL);
    for (const [name, grad] of grads) {
      const param = params.get(name);
      if (!param) throw new Error(`AdamW.apply: gradient for "${name}" but no such trainable parameter`);
      if (!sameShape(param.shape, grad.shape)) {
        throw new Error(`AdamW.apply: gradient for "${name}" is [${grad.shape}] but the parameter is [${param.shape}]`);
      }
      const slot = this.slotFor(name, param);
      slot.step += 1;
      const decay = this.config.decays ? this.config.decays(name) : true;
      const biasCorrection1 = 1 - b1 ** slot.step;
      const biasCorrection2Sqrt = Math.sqrt(1 - b2 ** slot.step);
      const stepSize = lr / biasCorrection1;
      const decayFactor = decay && this.config.weightDecay !== 0 ? 1 - lr * this.config.weightDecay : 1;
      if (fused) {
        // one kernel per parameter (kernels/adamw-kernel.ts), bit for bit the ops below
        const attrs: AdamWAttrs = {
          decay: decayFactor,
          oneMinusBeta1: 1 - b1,
          beta2: b2,
          oneMinusBeta2: 1 - b2,
          biasCorrection2Sqrt,
          eps: this.config.eps,
          stepSize,
        };
        const [updated, m, v] = runFused(ADAMW_KERNEL, { param, grad, m: slot.m, v: slot.v }, attrs as unknown as Record<string, unknown>);
        // assign takes the new tensors' data; dropping the handles leaves them owned by the variables
        slot.m.assign(m);
        slot.v.assign(v);
        param.assign(updated);
        tf.dispose([updated, m, v]);
        continue;
      }
      tf.tidy(() => {
        const decayed = decay && this.config.weightDecay !== 0 ? tf.mul(param, 1 - lr * this.config.weightDecay) : param; // p·(1 − lr·wd)
        const m = tf.add(slot.m, tf.mul(tf.sub(grad, slot.m), 1 - b1)); // lerp toward g
        const v = tf.add(tf.mul(slot.v, b2), tf.mul(tf.mul(grad, grad), 1 - b2));
        const denom = tf.add(tf.div(tf.sqrt(v), biasCorrection2Sqrt), this.config.eps);
        const updated = tf.sub(decayed, tf.div(tf.mul(m, stepSize), denom));
        slot.m.assign(m);
        slot.v.assign(v);
        param.assign(updated);
      });
    }
  }

  /**
   * Copies the state to the host (for a checkpoint). Step counts and moments are captured when
   * called (the moments as clones), so an update landing during the read-back does not leak in.
   */
  async state(): Promise<AdamWState> {
    const steps: Record<string, number> = {};
    const moments = new Map<string, tf.Tensor>();
    for (const [name, slot] of this.slots) {
      steps[name] = slot.step;
      moments.set(`m/${name}`, slot.m);
      moments.set(`v/${name}`, slot.v);
    }
    return { steps, tensors: await readHostAll(moments) };
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
      this.slots.set(name, { m: variable(state.tensors.get(`m/${name}`)!), v: variable(state.tensors.get(`v/${name}`)!), step });
    }
  }

  dispose(): void {
    for (const slot of this.slots.values()) {
      slot.m.dispose();
      slot.v.dispose();
    }
    this.slots.clear();
  }

  private slotFor(name: string, param: tf.Variable): Slot {
    let slot = this.slots.get(name);
    if (!slot) {
      // tidy disposes the zeros; the variables keep their own reference to the data
      slot = { m: tf.tidy(() => tf.variable(tf.zerosLike(param), false)), v: tf.tidy(() => tf.variable(tf.zerosLike(param), false)), step: 0 };
      this.slots.set(name, slot);
    }
    return slot;
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}
