// A minimal WebGPUProgram for Hone's own WGSL kernels, run by tfjs-backend-webgpu 4.22's
// `runWebGPUProgram(program, inputs, dtype, uniforms)` (the interface of its dist/webgpu_program.d.ts).
// The backend generates the bindings around the user code: each input i is
// `var<storage, read> <variableNames[i]>: array<f32>`, the output is `result`, scalars passed as
// program-defined uniforms are fields of `uniforms`. The user code defines `fn main(index: i32)`,
// called once per thread with the flat thread index (the dispatch is one-dimensional).
// Shapes are baked into the code as constants, so each program's shaderKey names them: the backend
// caches compiled pipelines by shaderKey plus the inputs' ranks and dtypes, not their sizes.
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '../kernel-io';

const WORKGROUP = 64;

export interface ProgramUniform {
  type: 'float32' | 'int32';
  data: number[];
}

/** The part of tfjs-backend-webgpu's WebGPUBackend these kernels use. */
export interface WebgpuBackendLike {
  runWebGPUProgram(program: HoneProgram, inputs: TensorInfo[], outputDtype: tf.DataType, uniforms?: ProgramUniform[]): TensorInfo;
}

export class HoneProgram {
  readonly variableNames: string[];
  readonly outputShape: number[];
  shaderKey: string;
  readonly dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  readonly uniforms?: string;
  private readonly code: string;

  /**
   * `threads` threads run `code`'s main(index) (index < threads is checked here, not by the body);
   * `uniforms` declares the program-defined uniform fields, e.g. 'eps : f32,'. `shared` is
   * module-scope WGSL (workgroup memory) for a body that synchronises its workgroup: then the
   * threads must be a whole number of workgroups and there is no early return (a barrier must be
   * reached by every thread).
   */
  constructor(key: string, variableNames: string[], outputShape: number[], threads: number, body: string, uniforms?: string, shared?: string) {
    this.shaderKey = key;
    this.variableNames = variableNames;
    this.outputShape = outputShape;
    // a flat layout over every output axis: the backend then calls main(getGlobalIndex())
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    this.dispatch = [Math.max(1, Math.ceil(threads / WORKGROUP)), 1, 1];
    this.uniforms = uniforms;
    // The guard reads a uniform on purpose: the backend always binds its uniform buffer, and a
    // pipeline layout 'auto' drops bindings the shader never reads, which invalidates the bind group.
    if (shared !== undefined && threads % WORKGROUP !== 0) throw new Error(`HoneProgram ${key}: ${threads} threads are not whole workgroups of ${WORKGROUP}`);
    const guard = shared === undefined ? `if (index >= ${threads} || uniforms.NAN == 1.0) { return; }` : '_ = uniforms.NAN;';
    this.code = `
      ${shared ?? ''}
      fn main(index : i32) {
        ${guard}
        ${body}
      }`;
  }

  getUserCode(): string {
    return this.code;
  }
}

/** Runs one program on the webgpu backend: one dispatch, one float32 output. */
export function runProgram(backend: unknown, program: HoneProgram, inputs: TensorInfo[], uniforms?: ProgramUniform[]): TensorInfo {
  return (backend as WebgpuBackendLike).runWebGPUProgram(program, inputs, 'float32', uniforms);
}

/** WGSL float literal of a JS number (WGSL wants a decimal point or exponent). */
export function wgslFloat(value: number): string {
  const text = String(Math.fround(value));
  return /[.eE]/.test(text) ? text : `${text}.0`;
}

/** Runs a registered kernel by name and returns its (first) output tensor. */
export function runKernelFirst(name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>): tf.Tensor {
  const out = tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[];
  return Array.isArray(out) ? out[0] : out;
}
