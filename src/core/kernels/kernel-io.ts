// Hone's own fused kernels (AdamW, RMSNorm, SwiGLU, RoPE, the attention softmax) are written once,
// as loops over float32 arrays, and registered for two backends through this adapter:
//   wasm: outputs are allocated on the wasm heap (makeOutput) and every array is a view of the heap,
//         as the backend's own Concat does; no copy in or out.
//   cpu:  outputs are fresh Float32Arrays handed to the backend (makeTensorInfo keeps the array),
//         so the tests can check the same kernels against the plain composition on cpu.
// Every kernel writes NEW outputs only: inputs may share their data with clones (wasm-identity.ts).
// Outputs are allocated before any input is viewed: growing the wasm heap detaches older views.
import * as tf from '@tensorflow/tfjs';

export type TensorInfo = { dataId: object; shape: number[]; dtype: tf.DataType };

interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
}
interface CpuBackend {
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): TensorInfo;
  data: { get(dataId: object): { values: Float32Array } };
}

/** What a kernel body sees: its float32 inputs and outputs as arrays, its attributes. */
export interface KernelData {
  /** float32 views (wasm) or arrays (cpu) of the inputs, by input name */
  inputs: Record<string, Float32Array>;
  /** the inputs' shapes */
  shapes: Record<string, number[]>;
  /** the outputs, allocated from `outputShapes`, to be filled completely by the body */
  outputs: Float32Array[];
  attrs: Record<string, unknown>;
}

/** A kernel body plus the output shapes it needs, computed from the input shapes and attrs. */
export interface FusedKernel {
  name: string;
  outputShapes(shapes: Record<string, number[]>, attrs: Record<string, unknown>): number[][];
  run(data: KernelData): void;
}

type KernelArgs = { inputs: Record<string, TensorInfo>; backend: unknown; attrs: Record<string, unknown> };

function checkFloat(kernel: string, inputs: Record<string, TensorInfo>): void {
  for (const [name, info] of Object.entries(inputs)) {
    if (info.dtype !== 'float32') throw new Error(`${kernel}: input "${name}" is ${info.dtype}, expected float32`);
  }
}

function shapesOf(inputs: Record<string, TensorInfo>): Record<string, number[]> {
  return Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.shape]));
}

function wasmFunc(kernel: FusedKernel): (args: KernelArgs) => TensorInfo[] {
  return ({ inputs, backend, attrs }) => {
    checkFloat(kernel.name, inputs);
    const wasm = backend as WasmBackend;
    const shapes = shapesOf(inputs);
    const infos = kernel.outputShapes(shapes, attrs).map((s) => wasm.makeOutput(s, 'float32'));
    // views only now: every makeOutput above may have grown (and detached) the heap
    const outputs = infos.map((i) => wasm.typedArrayFromHeap(i) as Float32Array);
    const views = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, wasm.typedArrayFromHeap(v) as Float32Array]));
    kernel.run({ inputs: views, shapes, outputs, attrs });
    return infos;
  };
}

function cpuFunc(kernel: FusedKernel): (args: KernelArgs) => TensorInfo[] {
  return ({ inputs, backend, attrs }) => {
    checkFloat(kernel.name, inputs);
    const cpu = backend as CpuBackend;
    const shapes = shapesOf(inputs);
    const outShapes = kernel.outputShapes(shapes, attrs);
    const outputs = outShapes.map((s) => new Float32Array(tf.util.sizeFromShape(s)));
    const arrays = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, cpu.data.get(v.dataId).values]));
    kernel.run({ inputs: arrays, shapes, outputs, attrs });
    return outputs.map((values, i) => cpu.makeTensorInfo(outShapes[i], 'float32', values));
  };
}

/** Registers each kernel for wasm and cpu (once per name and backend). */
export function registerFusedKernels(kernels: FusedKernel[]): void {
  for (const kernel of kernels) {
    for (const [backendName, make] of [
      ['wasm', wasmFunc],
      ['cpu', cpuFunc],
    ] as const) {
      if (tf.getKernel(kernel.name, backendName)) continue;
      tf.registerKernel({ kernelName: kernel.name, backendName, kernelFunc: make(kernel) as unknown as tf.KernelFunc });
    }
  }
}

/** Runs a registered fused kernel on the current backend; always returns the outputs as an array. */
export function runFused(name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown> = {}): tf.Tensor[] {
  const out = tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap);
  return Array.isArray(out) ? (out as tf.Tensor[]) : [out as tf.Tensor];
}

/** Whether `name` is registered for the current backend (the fused paths fall back otherwise). */
export function hasFused(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}
