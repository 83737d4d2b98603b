// Scaled dot-product attention on WebGPU as six WGSL programs: forward probabilities and context,
// backward dScores, dQ, dK, dV. Grouped-query heads are read in place (query head h uses key/value
// head ⌊h / rep⌋), so repeat_kv's Tile, its slice-and-add gradient and the separate scale, mask,
// softmax and softmax-gradient kernels all go: 2 dispatches forward and 4 backward, against ~30 for
// the tfjs composition (attention-core.ts attentionReference over repeatHeads).
// The math is the textbook one (P = softmax(q·kᵀ·scale + mask), O = P·v; dS = P ⊙ (dP − Σ dP ⊙ P)·scale
// with dP = dO·vᵀ; dQ = dS·k, dK = dSᵀ·q, dV = Pᵀ·dO), in float32 with sequential sums.
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '../kernel-io';
import { HoneProgram, runProgram, wgslFloat } from './program';

type KernelArgs = { inputs: Record<string, TensorInfo | undefined>; backend: unknown; attrs: Record<string, unknown> };

interface Dims {
  batch: number;
  heads: number;
  kvHeads: number;
  time: number;
  keys: number;
  headDim: number;
}

function dimsOf(q: TensorInfo, k: TensorInfo): Dims {
  const [batch, heads, time, headDim] = q.shape;
  const [, kvHeads, keys] = k.shape;
  return { batch, heads, kvHeads, time, keys, headDim };
}

function key(name: string, d: Dims, extra: string): string {
  return `hone_attn_${name}_${d.batch}_${d.heads}_${d.kvHeads}_${d.time}_${d.keys}_${d.headDim}_${extra}`;
}

/** WGSL: row = (b·nh + h)·T + t of a [B, nh, T, ·] tensor → b, h, t and the key/value head's base offset. */
function rowPrologue(d: Dims): string {
  const rep = d.heads / d.kvHeads;
  return `
      let t = row % ${d.time};
      let h = (row / ${d.time}) % ${d.heads};
      let b = row / ${d.time * d.heads};
      let kvBase = ((b * ${d.kvHeads} + h / ${rep}) * ${d.keys}) * ${d.headDim};
      let maskBase = (b * ${d.time} + t) * ${d.keys};`;
}

/** probs [B, nh, T, S] = softmax(q·kᵀ·scale + maskBias) from q [B, nh, T, hd], k [B, nKv, S, hd], mask [B, 1, T, S] | absent. */
function attentionProbs({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const q = inputs.q!;
  const k = inputs.k!;
  const mask = inputs.maskBias;
  const d = dimsOf(q, k);
  const rows = d.batch * d.heads * d.time;
  const scale = wgslFloat(attrs.scale as number);
  const masked = mask !== undefined;
  // two passes over the keys: scores into the output row with their maximum, then exp and the sum
  const program = new HoneProgram(key('probs', d, `${masked}_${scale}`), masked ? ['Q', 'K', 'MASK'] : ['Q', 'K'], [d.batch, d.heads, d.time, d.keys], rows, `
      let row = index;
      ${rowPrologue(d)}
      let qBase = row * ${d.headDim};
      let outBase = row * ${d.keys};
      var best = -3.402823e38;
      for (var s = 0; s < ${d.keys}; s++) {
        var acc = 0.0;
        for (var j = 0; j < ${d.headDim}; j++) { acc = acc + Q[qBase + j] * K[kvBase + s * ${d.headDim} + j]; }
        let score = acc * ${scale}${masked ? ' + MASK[maskBase + s]' : ''};
        result[outBase + s] = score;
        best = max(best, score);
      }
      var sum = 0.0;
      for (var s = 0; s < ${d.keys}; s++) { let e = exp(result[outBase + s] - best); result[outBase + s] = e; sum = sum + e; }
      for (var s = 0; s < ${d.keys}; s++) { result[outBase + s] = result[outBase + s] / sum; }`);
  return [runProgram(backend, program, masked ? [q, k, mask!] : [q, k])];
}

/**
 * context = probs · v, one thread per output value: [B, nh, T, hd], or with attrs.rows the token
 * rows [B·T, nh·hd] that the output projection reads (mergeHeads's transpose folded in).
 */
function attentionContext({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const probs = inputs.probs!;
  const v = inputs.v!;
  const [batch, heads, time, keys] = probs.shape;
  const [, kvHeads, , headDim] = v.shape;
  const d: Dims = { batch, heads, kvHeads, time, keys, headDim };
  const rowsOut = attrs.rows === true;
  const outputShape = rowsOut ? [batch * time, heads * headDim] : [batch, heads, time, headDim];
  // rows layout: index = ((b·T + t)·nh + h)·hd + j; heads layout: index = row·hd + j
  const rowOf = rowsOut
    ? `((index / ${headDim * heads * time}) * ${heads} + (index / ${headDim}) % ${heads}) * ${time} + (index / ${headDim * heads}) % ${time}`
    : `index / ${headDim}`;
  const program = new HoneProgram(key('context', d, `${rowsOut}`), ['P', 'V'], outputShape, batch * heads * time * headDim, `
      let row = ${rowOf};
      let j = index % ${headDim};
      ${rowPrologue(d)}
      let pBase = row * ${keys};
      var sum = 0.0;
      for (var s = 0; s < ${keys}; s++) { sum = sum + P[pBase + s] * V[kvBase + s * ${headDim} + j]; }
      result[index] = sum;`);
  return [runProgram(backend, program, [probs, v])];
}

/**
 * The backward: from dO ([B, nh, T, hd], or token rows [B·T, nh·hd] with attrs.rows), the saved
 * q, k, v and probs, returns dQ, dK, dV.
 * dScores is one program (dP = dO·vᵀ written into the row, then the softmax gradient in place).
 */
function attentionGrad({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const [dy, q, k, v, probs] = [inputs.dy!, inputs.q!, inputs.k!, inputs.v!, inputs.probs!];
  const d = dimsOf(q, k);
  const { batch, heads, kvHeads, time, keys, headDim } = d;
  const rep = heads / kvHeads;
  const scale = wgslFloat(attrs.scale as number);
  const rows = batch * heads * time;
  const rowsIn = attrs.rows === true;
  // where dO's row (b, h, t) starts: token rows put the heads of one token side by side
  const dyRow = (b: string, h: string, t: string) => (rowsIn ? `((${b} * ${time} + ${t}) * ${heads} + ${h}) * ${headDim}` : `((${b} * ${heads} + ${h}) * ${time} + ${t}) * ${headDim}`);
  const dScores = runProgram(
    backend,
    new HoneProgram(key('dscores', d, `${scale}_${rowsIn}`), ['DY', 'V', 'P'], [batch, heads, time, keys], rows, `
      let row = index;
      ${rowPrologue(d)}
      let dyBase = ${dyRow('b', 'h', 't')};
      let outBase = row * ${keys};
      var rowDot = 0.0;
      for (var s = 0; s < ${keys}; s++) {
        var dp = 0.0;
        for (var j = 0; j < ${headDim}; j++) { dp = dp + DY[dyBase + j] * V[kvBase + s * ${headDim} + j]; }
        result[outBase + s] = dp;
        rowDot = rowDot + dp * P[outBase + s];
      }
      for (var s = 0; s < ${keys}; s++) { result[outBase + s] = (P[outBase + s] * (result[outBase + s] - rowDot)) * ${scale}; }`),
    [dy, v, probs],
  );
  const dQ = runProgram(
    backend,
    new HoneProgram(key('dq', d, ''), ['DS', 'K'], q.shape, rows * headDim, `
      let row = index / ${headDim};
      let j = index % ${headDim};
      ${rowPrologue(d)}
      let sBase = row * ${keys};
      var sum = 0.0;
      for (var s = 0; s < ${keys}; s++) { sum = sum + DS[sBase + s] * K[kvBase + s * ${headDim} + j]; }
      result[index] = sum;`),
    [dScores, k],
  );
  // dK and dV: one thread per key/value entry [b, kvh, s, j], summing over the rep query heads and T
  const perKey = (name: string, weights: string, valueAt: string) => `
      let j = index % ${headDim};
      let s = (index / ${headDim}) % ${keys};
      let kvh = (index / ${headDim * keys}) % ${kvHeads};
      let b = index / ${headDim * keys * kvHeads};
      var sum = 0.0;
      for (var g = 0; g < ${rep}; g++) {
        let head = kvh * ${rep} + g;
        let row0 = (b * ${heads} + head) * ${time};
        for (var t = 0; t < ${time}; t++) {
          let row = row0 + t;
          sum = sum + ${weights}[row * ${keys} + s] * ${valueAt};
        }
      }
      result[index] = sum; // ${name}`;
  const kvSize = batch * kvHeads * keys * headDim;
  const dK = runProgram(backend, new HoneProgram(key('dk', d, ''), ['DS', 'Q'], k.shape, kvSize, perKey('dK', 'DS', `Q[row * ${headDim} + j]`)), [dScores, q]);
  const dV = runProgram(backend, new HoneProgram(key('dv', d, `${rowsIn}`), ['P', 'DY'], v.shape, kvSize, perKey('dV', 'P', `DY[${dyRow('b', 'head', 't')} + j]`)), [probs, dy]);
  (backend as { disposeData(id: object): void }).disposeData(dScores.dataId);
  return [dQ, dK, dV];
}

export const ATTENTION_KERNELS: Record<string, (args: KernelArgs) => TensorInfo[]> = {
  HoneWebgpuAttentionProbs: attentionProbs,
  HoneWebgpuAttentionContext: attentionContext,
  HoneWebgpuAttentionGrad: attentionGrad,
};

function run(name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown> = {}): tf.Tensor[] {
  const out = tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap);
  return Array.isArray(out) ? (out as tf.Tensor[]) : [out as tf.Tensor];
}

/**
 * softmax(q·kᵀ·scale + maskBias)·v for q [B, nh, T, hd] over keys and values [B, nKv, S, hd]
 * (nh a multiple of nKv), maskBias [B, 1, T, S] or null. The context comes as [B, nh, T, hd], or
 * with layout 'rows' as the token rows [B·T, nh·hd] the output projection takes (no transpose
 * either way). Gradients flow to q, k and v; only the inputs and the probabilities are kept.
 */
export function attentionWebgpu(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, maskBias: tf.Tensor4D | null, scale: number, layout: 'heads' | 'rows' = 'heads'): tf.Tensor {
  if (q.shape[1] % k.shape[1] !== 0) throw new Error(`attentionWebgpu: ${q.shape[1]} query heads are not a multiple of ${k.shape[1]} key/value heads`);
  const rows = layout === 'rows';
  const op = tf.customGrad(((qIn: tf.Tensor4D, kIn: tf.Tensor4D, vIn: tf.Tensor4D, save: tf.GradSaveFunc) => {
    const [probs] = run('HoneWebgpuAttentionProbs', maskBias ? { q: qIn, k: kIn, maskBias } : { q: qIn, k: kIn }, { scale }); // [B, nh, T, S]
    const [context] = run('HoneWebgpuAttentionContext', { probs, v: vIn }, { rows }); // [B, nh, T, hd] | [B·T, nh·hd]
    save([qIn, kIn, vIn, probs]);
    return {
      value: context,
      gradFunc: (dy: tf.Tensor, [sq, sk, sv, sp]: tf.Tensor[]) => run('HoneWebgpuAttentionGrad', { dy, q: sq, k: sk, v: sv, probs: sp }, { scale, rows }), // dQ, dK, dV
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (op as unknown as (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.Tensor)(q, k, v);
}
