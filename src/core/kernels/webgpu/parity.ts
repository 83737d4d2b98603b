// The WebGPU kernels against the plain tfjs compositions they replace (also LoRA's up-projection,
// the step's read-back numbers, AdamW with clipping and packed moments, two whole train steps), run on the webgpu backend
// by tests/browser/webgpu-kernels.spec.ts (the unit test runs the AdamW check on cpu, where the
// switch routes AdamW to the cpu fused kernel). Each check computes values and
// gradients twice, with forceWebgpuFastPaths(true) and (false), from the same seeded inputs, and
// reports the largest difference relative to the reference's largest magnitude.
import * as tf from '@tensorflow/tfjs';
import { benchBatch, benchMethodConfig, benchMethods } from '../../bench/train-bench';
import { benchPreset } from '../../bench/presets';
import { Decoder } from '../../model/decoder';
import { randomWeightEntries } from '../../model/random';
import { AdamW } from '../../train/optim/adamw';
import { createPeftModel } from '../../train/run';
import { computeGradients, trainStep, weightsFiniteProbe } from '../../train/step';
import { forceWebgpuFastPaths, webgpuFastPaths } from './index';
import { attentionWebgpu } from './attention';
import { loraUpWebgpu, rmsNormWebgpu, ropeWebgpu, swiGluWebgpu } from './ops';
import { stepStatsWebgpu } from './stats';
import { attentionReference, repeatHeads } from '../../model/ops/attention-core';
import { buildMaskBias } from '../../model/attention';
import { causalLmLossSum } from '../../train/loss';
import { globalNorm } from '../../train/clip';

export interface ParityResult {
  name: string;
  /** max |fused − reference| / max |reference| over every compared tensor */
  relativeError: number;
  /** tf.memory().numTensors after minus before */
  tensorsLeaked: number;
}

function random(shape: number[], seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', seed);
}

async function relativeDifference(fused: tf.Tensor[], reference: tf.Tensor[]): Promise<number> {
  let worst = 0;
  for (let i = 0; i < reference.length; i++) {
    const [a, b] = [await fused[i].data(), await reference[i].data()];
    let scale = 0;
    let diff = 0;
    for (let j = 0; j < b.length; j++) {
      scale = Math.max(scale, Math.abs(b[j]));
      diff = Math.max(diff, Math.abs(a[j] - b[j]));
    }
    // NaN anywhere makes the result NaN, which no tolerance accepts
    worst = Math.max(worst, a.length === b.length ? diff / Math.max(scale, 1e-30) : Infinity);
    if (Number.isNaN(diff)) return NaN;
  }
  return worst;
}

type Side = () => tf.Tensor[] | Promise<tf.Tensor[]>;

/** Runs the fused side (the WebGPU switch forced on) and the reference side (forced off); compares them. */
async function compare(name: string, fused: Side, reference: Side): Promise<ParityResult> {
  const before = tf.memory().numTensors;
  let fusedOut: tf.Tensor[] = [];
  let referenceOut: tf.Tensor[] = [];
  let relativeError: number;
  try {
    forceWebgpuFastPaths(true);
    fusedOut = await fused();
    forceWebgpuFastPaths(false);
    referenceOut = await reference();
    relativeError = await relativeDifference(fusedOut, referenceOut);
  } finally {
    forceWebgpuFastPaths(null);
    tf.dispose([...fusedOut, ...referenceOut]);
  }
  return { name, relativeError, tensorsLeaked: tf.memory().numTensors - before };
}

/** The reference compositions, as blocks.ts and attention.ts write them without the fused kernels. */
function rmsNormReference(x: tf.Tensor2D, w: tf.Tensor1D, eps: number): tf.Tensor2D {
  const meanSquare = tf.mean(tf.square(x), -1, true); // [N, 1]
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, eps))), w) as tf.Tensor2D; // [N, d]
}

function ropeReference(x: tf.Tensor4D, cos: tf.Tensor4D, signedSin: tf.Tensor4D): tf.Tensor4D {
  const [x1, x2] = tf.split(x, 2, -1); // [B, h, T, hd/2] each
  return tf.add(tf.mul(x, cos), tf.mul(tf.concat([x2, x1], -1), signedSin)) as tf.Tensor4D; // [B, h, T, hd]
}

/** Value and gradients of Σ(out ⊙ r) with respect to `vars`. */
function valueAndGrads(vars: tf.Variable[], forward: () => tf.Tensor, seed: number): tf.Tensor[] {
  return tf.tidy(() => {
    const out = forward(); // the value, then the gradients of a second forward
    const weights = random(out.shape, seed);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(forward(), weights)) as tf.Scalar, vars);
    return [out, ...vars.map((v) => grads[v.name])];
  });
}

/**
 * Every kernel on small shapes: RMSNorm (frozen and trainable weight), SwiGLU, RoPE (heads sharing
 * one table), two AdamW steps with weight decay. The fused side calls ops.ts's WGSL kernels; the
 * reference side is the composition (AdamW: its op-by-op update, the switch forced off).
 */
export async function runWebgpuKernelParity(): Promise<ParityResult[]> {
  const [rows, d, f] = [24, 16, 40];
  // the seeded draws are intermediates: only the variables and the tables leave the tidy
  const { x, weight, frozen, gate, up, q, cos, signedSin } = tf.tidy(() => {
    const angles = tf.mul(random([2, 1, 5, 4], 7), 3); // [B, 1, T, hd/2]
    const sin = tf.sin(angles);
    return {
      x: tf.variable(random([rows, d], 1), true, 'parity_x') as tf.Variable<tf.Rank.R2>,
      weight: tf.variable(tf.add(random([d], 2), 1), true, 'parity_w') as tf.Variable<tf.Rank.R1>,
      frozen: tf.variable(tf.add(random([d], 3), 1), false, 'parity_w_frozen') as tf.Variable<tf.Rank.R1>,
      gate: tf.variable(random([rows, f], 4), true, 'parity_gate'),
      up: tf.variable(random([rows, f], 5), true, 'parity_up'),
      q: tf.variable(random([2, 3, 5, 8], 6), true, 'parity_q') as tf.Variable<tf.Rank.R4>, // [B, h, T, hd]
      cos: tf.cos(tf.concat([angles, angles], -1)) as tf.Tensor4D, // [B, 1, T, hd]
      signedSin: tf.concat([tf.neg(sin), sin], -1) as tf.Tensor4D, // [B, 1, T, hd]
    };
  });
  const eps = 1e-5;
  const results: ParityResult[] = [];
  const pair = async (name: string, fused: () => tf.Tensor, reference: () => tf.Tensor, vars: tf.Variable[], seed: number) => {
    results.push(await compare(name, () => valueAndGrads(vars, fused, seed), () => valueAndGrads(vars, reference, seed)));
  };
  try {
    webgpuFastPaths(); // registers the kernels and the AddN fix on webgpu
    if (tf.getBackend() !== 'webgpu') {
      results.push(await compare('HoneAdamW, two steps', adamTwoSteps, adamTwoSteps)); // the WGSL programs need webgpu
      return results;
    }
    await pair('HoneRmsNorm, frozen weight', () => rmsNormWebgpu(x, frozen, eps), () => rmsNormReference(x, frozen, eps), [x], 11);
    await pair('HoneRmsNorm, trainable weight', () => rmsNormWebgpu(x, weight, eps), () => rmsNormReference(x, weight, eps), [x, weight], 12);
    await pair('HoneSwiGlu', () => swiGluWebgpu(gate, up), () => tf.mul(tf.mul(gate, tf.sigmoid(gate)), up), [gate, up], 13);
    await pair('HoneRope', () => ropeWebgpu(q, cos, signedSin), () => ropeReference(q, cos, signedSin), [q], 14);
    // grouped-query attention (4 query heads over 2 key/value heads), causal mask with padding, and no mask
    const [kv, aq] = [tf.variable(random([2, 2, 6, 8], 15), true, 'parity_k'), tf.variable(random([2, 4, 6, 8], 16), true, 'parity_aq')] as tf.Variable<tf.Rank.R4>[];
    const vv = tf.variable(random([2, 2, 6, 8], 17), true, 'parity_v') as tf.Variable<tf.Rank.R4>;
    const padding = tf.tensor2d([[1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1]], [2, 6], 'int32');
    const mask = buildMaskBias(2, 0, 6, padding);
    try {
      const scale = 1 / Math.sqrt(8);
      for (const [label, m] of [['masked', mask], ['unmasked', null]] as const) {
        await pair(`attention (GQA, ${label})`, () => attentionWebgpu(aq, kv, vv, m, scale), () => attentionReference(aq, repeatHeads(kv, 2), repeatHeads(vv, 2), m, scale), [aq, kv, vv], 18);
        // token-rows output: the reference's context [B, nh, T, hd] → [B·T, nh·hd] as mergeHeads does
        const asRows = (c: tf.Tensor) => c.transpose([0, 2, 1, 3]).reshape([2 * 6, 4 * 8]);
        await pair(`attention rows (GQA, ${label})`, () => attentionWebgpu(aq, kv, vv, m, scale, 'rows'), () => asRows(attentionReference(aq, repeatHeads(kv, 2), repeatHeads(vv, 2), m, scale)), [aq, kv, vv], 18);
      }
    } finally {
      tf.dispose([kv, aq, vv, padding, mask!]);
    }
    // the loss through loss.ts (the switch picks the WGSL cross-entropy or the composition): labels with −100
    const logits = tf.variable(tf.mul(random([2, 5, 11], 19), 3), true, 'parity_logits') as tf.Variable<tf.Rank.R3>;
    const labels = tf.tensor2d([[-100, 3, 10, 0, -100], [-100, -100, 7, 7, 1]], [2, 5], 'int32');
    try {
      const loss = () => valueAndGrads([logits], () => causalLmLossSum(logits, labels), 20);
      results.push(await compare('cross-entropy (loss.ts)', loss, loss));
    } finally {
      tf.dispose([logits, labels]);
    }
    // the global gradient norm through clip.ts: sizes below, at and above one workgroup's 64 lanes
    const normOf = () => [tf.tidy(() => globalNorm([random([5], 23), random([64], 24), random([3, 300], 25)]))];
    results.push(await compare('gradient norm (clip.ts)', normOf, normOf));
    // AddN of more inputs than one program can bind (addn.ts): against chained adds
    const addends = () => Array.from({ length: 16 }, (_, i) => random([3, 4], 50 + i));
    const viaAddN = () => [tf.tidy(() => tf.addN(addends()))];
    const viaAdds = () => [tf.tidy(() => addends().reduce((a, b) => tf.add(a, b)))];
    results.push(await compare('AddN of 16 tensors', viaAddN, viaAdds));
    results.push(await compare('HoneAdamW, two steps', adamTwoSteps, adamTwoSteps));
    const clipped = () => adamTwoSteps(0.37);
    results.push(await compare('AdamW with the clip coefficient, two steps', clipped, clipped));
    results.push(await compare('AdamW state, saved and loaded between steps', adamStateRoundTrip, adamStateRoundTrip));
    results.push(await compare('AdamW, 8 parameters (2 moment groups), one without a gradient in step 2', adamGroups, adamGroups));
    // LoRA's up-projection (lora.ts): y + (d·Bᵀ)·s against the matmul, Multiply and Add it replaces
    const [ly, ld, lb] = [tf.variable(random([2, 3, 10], 60), true, 'parity_lora_y'), tf.variable(random([6, 3], 61), true, 'parity_lora_d'), tf.variable(random([10, 3], 62), true, 'parity_lora_b')];
    try {
      const loraReference = () => tf.add(ly, tf.mul(tf.matMul(ld, lb, false, true), 2).reshape([2, 3, 10]));
      await pair('LoRA up-projection', () => loraUpWebgpu(ly, ld as tf.Tensor2D, lb as tf.Tensor2D, 2), loraReference, [ly, ld, lb], 63);
    } finally {
      tf.dispose([ly, ld, lb]);
    }
    // the step's read-back numbers (step.ts): 18 tensors (3 programs' worth), and 60 (vectors concatenated first)
    for (const count of [9, 30]) results.push(await compare(`step statistics, ${2 * count} tensors`, () => stepStats(count, false), () => stepStats(count, false)));
    results.push(await nonFiniteWeights());
    results.push(await compare('hone-micro LoRA step: loss and every gradient', microStep, microStep));
    results.push(await compare('hone-micro LoRA, two clipped train steps: results and weights', microTrainSteps, microTrainSteps));
  } finally {
    tf.dispose([x, weight, frozen, gate, up, q, cos, signedSin]);
  }
  return results;
}

let adamRuns = 0;

/** Two AdamW steps (weight decay 0.01) on fresh copies of two parameters (gradients ·gradScale when given); returns the params. */
function adamTwoSteps(gradScale?: number): tf.Tensor[] {
  adamRuns++;
  const [a, b] = tf.tidy(() => [
    tf.variable(random([7, 5], 21), true, `parity_adam_a_${adamRuns}`),
    tf.variable(random([13], 22), true, `parity_adam_b_${adamRuns}`),
  ]);
  const params = new Map([
    ['a', a],
    ['b', b],
  ]);
  const optimizer = new AdamW({ betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 });
  try {
    for (const [step, lr] of [
      [1, 1e-3],
      [2, 5e-4],
    ] as const) {
      const grads = new Map([...params].map(([name, p]) => [name, random(p.shape, 30 + step)]));
      optimizer.apply(params, grads, lr, gradScale);
      tf.dispose([...grads.values()]);
    }
    return [...params.values()].map((p) => p.clone());
  } finally {
    optimizer.dispose();
    tf.dispose([...params.values()]);
  }
}

/**
 * One AdamW step, the state saved to the host and loaded into a fresh optimizer, a second step:
 * the params, then the saved moments (packed [m | v] on WebGPU, apart in the composition).
 */
async function adamStateRoundTrip(): Promise<tf.Tensor[]> {
  adamRuns++;
  const [a, b] = tf.tidy(() => [tf.variable(random([6, 4], 70), true, `parity_adam_rt_a_${adamRuns}`), tf.variable(random([9], 71), true, `parity_adam_rt_b_${adamRuns}`)]);
  const params = new Map([
    ['a', a],
    ['b', b],
  ]);
  const config = { betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: 0.01 };
  const [first, second] = [new AdamW(config), new AdamW(config)];
  try {
    const gradsAt = (seed: number) => new Map([...params].map(([name, p]) => [name, random(p.shape, seed)]));
    const g1 = gradsAt(72);
    first.apply(params, g1, 1e-3, 0.5);
    const saved = await first.state();
    second.load(saved, params);
    const g2 = gradsAt(73);
    second.apply(params, g2, 1e-3);
    const again = await second.state();
    tf.dispose([...g1.values(), ...g2.values()]);
    const host = [...saved.tensors.entries(), ...again.tensors.entries()].sort(([x], [y]) => x.localeCompare(y)).map(([, t]) => tf.tensor(t.data, t.shape));
    return [...[...params.values()].map((p) => p.clone()), ...host];
  } finally {
    first.dispose();
    second.dispose();
    tf.dispose([...params.values()]);
  }
}

/** Two AdamW steps over 8 parameters of assorted shapes, the third without a gradient in the second: params and saved moments. */
async function adamGroups(): Promise<tf.Tensor[]> {
  adamRuns++;
  const shapes = [[3, 4], [5], [2, 2, 3], [1], [7], [6, 2], [9], [4, 4]];
  const params = new Map(tf.tidy(() => shapes.map((shape, i) => [`p${i}`, tf.variable(random(shape, 90 + i), true, `parity_adam_group_${i}_${adamRuns}`)] as const)));
  const optimizer = new AdamW({ betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 });
  try {
    for (const step of [1, 2]) {
      const grads = new Map([...params].filter(([name]) => step === 1 || name !== 'p2').map(([name, p], i) => [name, random(p.shape, 100 + 10 * step + i)]));
      optimizer.apply(params, grads, 1e-3, 0.8);
      tf.dispose([...grads.values()]);
    }
    const saved = await optimizer.state();
    const host = [...saved.tensors.entries()].sort(([x], [y]) => x.localeCompare(y)).map(([, t]) => tf.tensor(t.data, t.shape));
    return [...[...params.values()].map((p) => p.clone()), ...host, tf.tensor1d(Object.values(saved.steps))];
  } finally {
    optimizer.dispose();
    tf.dispose([...params.values()]);
  }
}

/** [loss, global norm, weights check] of `count` gradients and `count` weights of assorted sizes: stats.ts, or step.ts's composition. */
function stepStats(count: number, nonFinite: boolean, badGrad: number | null = null): tf.Tensor[] {
  return [
    tf.tidy(() => {
      const sizes = (i: number) => [[5], [64], [3, 300], [1], [7, 9]][i % 5];
      const grads = Array.from({ length: count }, (_, i) => random(sizes(i), 80 + i));
      const weights = new Map<string, tf.Variable>(Array.from({ length: count }, (_, i) => [`w${i}`, random(sizes(i + 2), 120 + i) as tf.Variable]));
      if (nonFinite) weights.set('bad', tf.tensor1d([1, Infinity, 2]) as tf.Variable);
      if (badGrad !== null) grads.push(tf.tensor1d([0.5, badGrad]));
      const loss = tf.scalar(3.25);
      if (webgpuFastPaths()) return stepStatsWebgpu(loss, grads, weights.values());
      return tf.stack([loss, globalNorm(grads), weightsFiniteProbe(weights)]);
    }),
  ];
}

/**
 * The weights check with an infinite weight: non-zero in stats.ts (a count), NaN in the
 * composition (Σ w·0), both "not finite"; and a NaN or infinite gradient makes both norms non-finite.
 */
async function nonFiniteWeights(): Promise<ParityResult> {
  const before = tf.memory().numTensors;
  const checks: number[] = [];
  const norms: number[] = [];
  try {
    for (const fused of [true, false]) {
      forceWebgpuFastPaths(fused);
      for (const bad of [false, true]) {
        const [t] = stepStats(9, bad);
        checks.push((await t.data())[2]);
        t.dispose();
      }
      for (const badGrad of [NaN, Infinity]) {
        const [t] = stepStats(9, false, badGrad);
        norms.push((await t.data())[1]);
        t.dispose();
      }
    }
  } finally {
    forceWebgpuFastPaths(null);
  }
  // checks: fused finite, fused infinite, composition finite, composition infinite; norms with a NaN or an infinite gradient
  const agree = checks[0] === 0 && checks[1] === 1 && checks[2] === 0 && Number.isNaN(checks[3]) && norms.every((n) => !Number.isFinite(n));
  return { name: 'non-finite weights and gradients', relativeError: agree ? 0 : Infinity, tensorsLeaked: tf.memory().numTensors - before };
}

/**
 * Two train steps (step.ts: clipping at 0.01, so the coefficient is below 1) of the hone-micro LoRA
 * model: each step's loss, norm and weights check, then every trainable weight.
 */
async function microTrainSteps(): Promise<tf.Tensor[]> {
  const preset = benchPreset('micro');
  const decoder = Decoder.fromHost(preset.config, randomWeightEntries(preset.config, 6));
  const model = createPeftModel(decoder, { name: 'lora', config: benchMethodConfig(benchMethods(['lora'])[0]) }, 6);
  const optimizer = new AdamW({ betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 });
  try {
    model.training = true;
    const params = model.trainableVariables();
    const batch = benchBatch(preset, 6);
    const numbers: number[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await trainStep((ids, mask, packed) => model.forward(ids, mask, packed), params, [batch], optimizer, { learningRate: 1e-2, maxGradNorm: 0.01 });
      if (r.skipped || !r.weightsFinite || !(r.gradNorm > 0.01)) throw new Error(`microTrainSteps: step ${i} ${JSON.stringify(r)}`);
      numbers.push(r.loss, r.gradNorm);
    }
    return [tf.tensor1d(numbers), ...[...params.values()].map((p) => p.clone())];
  } finally {
    optimizer.dispose();
    model.dispose();
    decoder.dispose();
  }
}

/**
 * Loss and the LoRA gradients of one step of the bench's hone-micro preset (Llama: RMSNorm,
 * RoPE with grouped-query heads, SwiGLU), through the real call sites in blocks.ts and attention.ts.
 */
export function microStep(): tf.Tensor[] {
  const preset = benchPreset('micro');
  const decoder = Decoder.fromHost(preset.config, randomWeightEntries(preset.config, 5));
  const model = createPeftModel(decoder, { name: 'lora', config: benchMethodConfig(benchMethods(['lora'])[0]) }, 5);
  try {
    model.training = true;
    const params = model.trainableVariables();
    // LoRA's B starts at 0, so A would get no gradient: give B values first, as after a step
    for (const [name, v] of params) if (/lora_B/.test(name)) tf.tidy(() => v.assign(random(v.shape, 40)));
    const { loss, grads } = computeGradients((ids, mask, packed) => model.forward(ids, mask, packed), params, [benchBatch(preset, 5)]);
    return [loss, ...[...params.keys()].map((name) => grads.get(name)!)];
  } finally {
    model.dispose();
    decoder.dispose();
  }
}
