// Slice, Unpack, SplitV, GatherV2 and matrix Transpose for the wasm backend, in JS on views of the
// wasm heap.
// Why: tfjs-backend-wasm 4.22's Slice reads its input through backend.readSync, which copies the
// WHOLE input tensor out of the wasm heap (HEAPU8.slice) before taking the slice; Unpack and
// SplitV call that Slice once per output. Cutting a [32, 128, 32] tensor into its 32 heads cost
// 5.5 ms that way (measured, Node, 2 cores), against a few µs per head here: the same copies,
// read from a view of the heap instead (typedArrayFromHeap, as the backend's own Concat does).
// GatherV2 (embedding lookups): the backend's took 3.7 ms for 1,024 rows of a [1024, 128] table;
// here each row is one contiguous copy.
// Transpose of matrices ([R, C] and [G, R, C] by [0, 2, 1]): the backend's C loop moved ~100 M
// floats/s on [1024, 128] (0.9–1.3 ms); a tiled copy in JS measured ~3× faster, and the linear
// layers and attention transpose on every call (model/ops). Strings, ranks above 4, other
// permutations and batched gathers go to the backend's own kernels. Values are copied bit for bit.
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from './kernel-io';

/** The parts of tfjs-backend-wasm's BackendWasm these kernels use (all public there). */
interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
}
type KernelArgs = { inputs: Record<string, TensorInfo>; backend: WasmBackend; attrs: Record<string, unknown> };

let original: Record<string, tf.KernelFunc> | null = null;

/**
 * Replaces the wasm backend's Slice, Unpack, SplitV, Transpose and GatherV2 kernels (once). Call
 * after the wasm backend is registered; does nothing when it is not. tf.slice, tf.unstack and
 * tf.split then cost the size of their outputs instead of their inputs'.
 */
export function installWasmCopyKernels(): void {
  if (original) return;
  const names = ['Slice', 'Unpack', 'SplitV', 'Transpose', 'GatherV2'];
  const configs = names.map((name) => tf.getKernel(name, 'wasm'));
  if (configs.some((c) => !c)) return; // wasm backend not registered here
  original = Object.fromEntries(configs.map((c) => [c!.kernelName, c!.kernelFunc]));
  const funcs: Record<string, (args: KernelArgs) => TensorInfo | TensorInfo[]> = {
    Slice: sliceKernel,
    Unpack: unpackKernel,
    SplitV: splitVKernel,
    Transpose: transposeKernel,
    GatherV2: gatherKernel,
  };
  configs.forEach((config, i) => {
    const name = names[i];
    tf.unregisterKernel(name, 'wasm');
    // the backend's setup still runs on (re)initialisation: the fallbacks call its compiled kernels
    tf.registerKernel({ ...config!, kernelFunc: funcs[name] as unknown as tf.KernelFunc });
  });
}

function sliceKernel(args: KernelArgs): TensorInfo {
  const { x } = args.inputs;
  const { begin, size } = args.attrs as { begin: number | number[]; size?: number | number[] };
  const [begin_, size_] = tf.slice_util.parseSliceParams(x as unknown as tf.TensorInfo, begin, size);
  return sliceInfo(args, x, begin_, size_);
}

function sliceInfo(args: KernelArgs, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  if (x.dtype === 'string' || x.shape.length > 4) {
    return original!.Slice({ ...args, inputs: { x }, attrs: { begin, size } } as unknown as Parameters<tf.KernelFunc>[0]) as TensorInfo;
  }
  const { backend } = args;
  const out = backend.makeOutput(size, x.dtype);
  const source = backend.typedArrayFromHeap(x);
  const target = backend.typedArrayFromHeap(out);
  const strides = tf.util.computeStrides(x.shape);
  if (tf.slice_util.isSliceContinous(x.shape, begin, size)) {
    const offset = tf.slice_util.computeFlatOffset(begin, strides);
    target.set(source.subarray(offset, offset + tf.util.sizeFromShape(size)));
    return out;
  }
  // Copy runs of the innermost axis; outer axes as up to three nested loops (rank ≤ 4).
  const rank = x.shape.length;
  const pad = 4 - rank;
  const b = [0, 0, 0, 0].map((_, i) => (i < pad ? 0 : begin[i - pad]));
  const s = [1, 1, 1, 1].map((_, i) => (i < pad ? 1 : size[i - pad]));
  const st = [0, 0, 0].map((_, i) => (i < pad ? 0 : strides[i - pad]));
  const run = s[3];
  let o = 0;
  for (let i = b[0]; i < b[0] + s[0]; i++) {
    for (let j = b[1]; j < b[1] + s[1]; j++) {
      for (let k = b[2]; k < b[2] + s[2]; k++) {
        copyRun(source, target, i * st[0] + j * st[1] + k * st[2] + b[3], o, run);
        o += run;
      }
    }
  }
  return out;
}

type HeapView = Float32Array | Int32Array | Uint8Array;

/** target[to …] = source[from …], `length` values: one set() for long runs, a plain loop for short ones. */
function copyRun(source: HeapView, target: HeapView, from: number, to: number, length: number): void {
  if (length >= 64) target.set(source.subarray(from, from + length), to);
  else for (let e = 0; e < length; e++) target[to + e] = source[from + e]; // short runs: a loop beats a subarray per run
}

function unpackKernel(args: KernelArgs): TensorInfo[] {
  const { value } = args.inputs;
  let axis = args.attrs.axis as number;
  if (axis < 0) axis += value.shape.length;
  const outShape = value.shape.filter((_, i) => i !== axis);
  const begin = value.shape.map(() => 0);
  const size = [...value.shape];
  size[axis] = 1;
  const outs: TensorInfo[] = [];
  for (let i = 0; i < value.shape[axis]; i++) {
    begin[axis] = i;
    const piece = sliceInfo(args, value, [...begin], size);
    outs.push({ dataId: piece.dataId, dtype: piece.dtype, shape: outShape });
  }
  return outs;
}

function splitVKernel(args: KernelArgs): TensorInfo[] {
  const { x } = args.inputs;
  const { numOrSizeSplits, axis } = args.attrs as { numOrSizeSplits: number | number[]; axis: number };
  const $axis = tf.util.parseAxisParam(axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, numOrSizeSplits, $axis);
  const begin = x.shape.map(() => 0);
  return sizes.map((n) => {
    const size = [...x.shape];
    size[$axis] = n;
    const piece = sliceInfo(args, x, [...begin], size);
    begin[$axis] += n;
    return piece;
  });
}

/** Swaps the last two axes of [G, R, C] (G may be 1) into [G, C, R], in 16 × 16 tiles that stay in cache. */
function transposeMatrices(source: ArrayLike<number>, target: { [i: number]: number }, groups: number, rows: number, cols: number): void {
  const tile = 16;
  const size = rows * cols;
  for (let g = 0; g < groups; g++) {
    const base = g * size;
    for (let r0 = 0; r0 < rows; r0 += tile) {
      const rEnd = Math.min(r0 + tile, rows);
      for (let c0 = 0; c0 < cols; c0 += tile) {
        const cEnd = Math.min(c0 + tile, cols);
        for (let r = r0; r < rEnd; r++) {
          let from = base + r * cols + c0;
          let to = base + c0 * rows + r;
          for (let c = c0; c < cEnd; c++, from++, to += rows) target[to] = source[from];
        }
      }
    }
  }
}

function transposeKernel(args: KernelArgs): TensorInfo {
  const { x } = args.inputs;
  const perm = args.attrs.perm as number[];
  // Swapping the last two axes ([1, 0], [0, 2, 1]) is a batch of matrix transposes. Other
  // permutations keep the backend's kernel, which moves whole runs and was measured fast
  // (splitting heads' [0, 2, 1, 3]: 44 µs for [8, 128, 4, 32]).
  const rank = x.shape.length;
  const matrixSwap = x.dtype !== 'string' && (rank === 2 ? perm[0] === 1 : rank === 3 && perm[0] === 0 && perm[1] === 2);
  if (!matrixSwap) return original!.Transpose(args as unknown as Parameters<tf.KernelFunc>[0]) as TensorInfo;
  const groups = rank === 3 ? x.shape[0] : 1;
  const [rows, cols] = x.shape.slice(-2);
  const out = args.backend.makeOutput(perm.map((p) => x.shape[p]), x.dtype);
  transposeMatrices(args.backend.typedArrayFromHeap(x), args.backend.typedArrayFromHeap(out), groups, rows, cols);
  return out;
}

function gatherKernel(args: KernelArgs): TensorInfo {
  const { x, indices } = args.inputs;
  const batchDims = (args.attrs.batchDims as number | undefined) ?? 0;
  if (batchDims !== 0 || x.dtype === 'string' || indices.dtype !== 'int32') {
    return original!.GatherV2(args as unknown as Parameters<tf.KernelFunc>[0]) as TensorInfo;
  }
  const axis = tf.util.parseAxisParam(args.attrs.axis as number, x.shape)[0];
  const outer = tf.util.sizeFromShape(x.shape.slice(0, axis));
  const axisDim = x.shape[axis];
  const inner = tf.util.sizeFromShape(x.shape.slice(axis + 1));
  const ids = args.backend.typedArrayFromHeap(indices);
  for (let j = 0; j < ids.length; j++) {
    // the backend's own check and message
    if (ids[j] > axisDim - 1 || ids[j] < 0) throw new Error(`GatherV2: the index value ${ids[j]} is not in [0, ${axisDim - 1}]`);
  }
  const out = args.backend.makeOutput([...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)], x.dtype);
  const source = args.backend.typedArrayFromHeap(x);
  const target = args.backend.typedArrayFromHeap(out);
  const ids2 = args.backend.typedArrayFromHeap(indices); // views again: makeOutput may have grown the heap
  let to = 0;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < ids2.length; j++) {
      copyRun(source, target, (o * axisDim + ids2[j]) * inner, to, inner);
      to += inner;
    }
  }
  return out;
}
