// What the training bench reads besides time: the backend's plain matmul GFLOP/s, the process's
// memory (Node only), the top kernels of one step (tf.profile), and on WebGPU the GPU dispatches,
// queue submits and readbacks. DOM-free and Node-free: `process` is looked up at run time, so the
// same file runs in the studio worker.
import * as tf from '@tensorflow/tfjs';

export interface MatmulResult {
  /** [m, k, n]: [batch·seq, hidden] × [hidden, FFN], the model's own largest per-layer product */
  shape: [number, number, number];
  /** matmuls in the timed batch */
  reps: number;
  ms: number;
  /** 2·m·k·n·reps / time */
  gflops: number;
}

/** Runs `reps` independent matmuls and waits for the last: the backend runs them in order. */
async function timeMatmuls(a: tf.Tensor2D, b: tf.Tensor2D, reps: number): Promise<number> {
  const start = performance.now();
  let last: tf.Tensor | null = null;
  for (let i = 0; i < reps; i++) {
    last?.dispose(); // queued GPU work keeps its buffer until done; disposing only frees it for reuse
    last = tf.matMul(a, b);
  }
  await last!.data();
  const ms = performance.now() - start;
  last!.dispose();
  return ms;
}

/** Plain (untransposed) matmul throughput of the active backend at [m, k] × [k, n]. */
export async function matmulProbe(shape: [number, number, number], minMs = 300): Promise<MatmulResult> {
  if (!shape.every((n) => Number.isInteger(n) && n > 0)) throw new Error(`train bench: matmul shape must be positive integers, got [${shape}]`);
  const [m, k, n] = shape;
  const a = tf.randomNormal([m, k], 0, 1, 'float32', 1) as tf.Tensor2D;
  const b = tf.randomNormal([k, n], 0, 1, 'float32', 2) as tf.Tensor2D;
  try {
    await timeMatmuls(a, b, 1); // compiles the kernel
    let reps = 1;
    let ms = await timeMatmuls(a, b, reps);
    // Grow the batch until it is long enough to time; the cap bounds a pathologically slow backend.
    while (ms < minMs && reps < 4096) {
      reps = Math.min(4096, Math.max(reps * 2, Math.ceil((reps * minMs * 1.2) / Math.max(ms, 0.01))));
      ms = await timeMatmuls(a, b, reps);
    }
    // The best of three batches: on a shared machine the slowest ones measure the neighbours.
    for (let i = 0; i < 2 && ms >= minMs; i++) ms = Math.min(ms, await timeMatmuls(a, b, reps));
    return { shape: [m, k, n], reps, ms, gflops: (2 * m * k * n * reps) / (ms * 1e6) };
  } finally {
    a.dispose();
    b.dispose();
  }
}

export interface MemorySample {
  /** resident set size now */
  rssBytes: number;
  /** the process's peak resident set size so far (getrusage maxrss) */
  peakRssBytes: number;
}

interface NodeProcessLike {
  memoryUsage?: { rss?: () => number };
  resourceUsage?: () => { maxRSS: number };
}

/** RSS now and the peak so far, or null outside Node (a browser has no such figure for a worker). */
export function sampleMemory(): MemorySample | null {
  const proc = (globalThis as { process?: NodeProcessLike }).process;
  if (!proc?.memoryUsage?.rss || !proc.resourceUsage) return null;
  // maxRSS is in kibibytes (getrusage's ru_maxrss on Linux)
  return { rssBytes: proc.memoryUsage.rss(), peakRssBytes: proc.resourceUsage().maxRSS * 1024 };
}

/**
 * The wasm backend's heap (its WebAssembly.Memory), null on other backends. It only ever grows, so
 * its size is the high-water mark of tensor memory on wasm, fragmentation included.
 */
export function wasmHeapBytes(): number | null {
  if (tf.getBackend() !== 'wasm') return null;
  const heap = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8;
  return heap ? heap.byteLength : null;
}

export interface KernelTime {
  name: string;
  calls: number;
  ms: number;
}

export interface StepProfile {
  /** kernels run in the step */
  kernels: number;
  /** their summed kernel time (wasm/cpu: wall time of each kernel; webgpu: GPU timestamps where supported) */
  kernelMs: number;
  /** wall time of the profiled step, profiling overhead included */
  wallMs: number;
  /** the kernels taking the most time, summed by name */
  top: KernelTime[];
}

/** Runs `step` once under tf.profile and sums kernel time by kernel name. */
export async function profileStep(step: () => Promise<unknown>, topN = 8): Promise<StepProfile> {
  const start = performance.now();
  // tf.profile's result type is a TensorContainer; the step returns plain numbers, which fit.
  const info = await tf.profile(async () => (await step()) as tf.TensorContainer);
  const wallMs = performance.now() - start;
  const byName = new Map<string, KernelTime>();
  let kernelMs = 0;
  for (const kernel of info.kernels) {
    const raw = kernel.kernelTimeMs as number | { error: string };
    const ms = typeof raw === 'number' ? raw : 0;
    kernelMs += ms;
    const entry = byName.get(kernel.name) ?? { name: kernel.name, calls: 0, ms: 0 };
    entry.calls += 1;
    entry.ms += ms;
    byName.set(kernel.name, entry);
  }
  const top = [...byName.values()].sort((a, b) => b.ms - a.ms || a.name.localeCompare(b.name)).slice(0, topN);
  return { kernels: info.kernels.length, kernelMs, wallMs, top };
}

export interface GpuCounts {
  /** compute dispatches recorded (one per WebGPU program run) */
  dispatches: number;
  /** command buffers submitted to the queue */
  submits: number;
  /** GPU → CPU copies waited on (mapAsync of a staging buffer, or a synchronous canvas readback) */
  readbacks: number;
}

export interface GpuCounter {
  read(): GpuCounts;
  /** puts the backend's own methods back */
  restore(): void;
}

type Method = (...args: unknown[]) => unknown;

/**
 * Counts the WebGPU backend's dispatches, submits and readbacks by wrapping the instance methods
 * every one of them goes through in tfjs-backend-webgpu 4.22 (backend_webgpu.ts): recordAndSubmit
 * (one dispatchWorkgroups each), submitQueue (queue.submit), getBufferData (the async read path:
 * copy to a staging buffer, mapAsync) and readSync when the values are not cached on the CPU.
 * Returns null on any other backend, or if a method is missing (a tfjs version that moved them).
 */
export function countGpuWork(): GpuCounter | null {
  if (tf.getBackend() !== 'webgpu') return null;
  const backend = tf.backend() as unknown as Record<string, unknown> & { tensorMap?: { get(id: unknown): { values?: unknown } | undefined } };
  const names = ['recordAndSubmit', 'submitQueue', 'getBufferData', 'readSync'] as const;
  if (!names.every((n) => typeof backend[n] === 'function')) return null;
  const counts: GpuCounts = { dispatches: 0, submits: 0, readbacks: 0 };
  const originals = new Map<string, Method>();
  const wrap = (name: (typeof names)[number], count: (args: unknown[]) => void) => {
    const original = backend[name] as Method;
    originals.set(name, original);
    backend[name] = function (this: unknown, ...args: unknown[]) {
      count(args);
      return original.apply(this, args);
    };
  };
  wrap('recordAndSubmit', () => counts.dispatches++);
  wrap('submitQueue', () => counts.submits++);
  wrap('getBufferData', () => counts.readbacks++);
  wrap('readSync', (args) => {
    if (backend.tensorMap?.get(args[0])?.values == null) counts.readbacks++;
  });
  return {
    read: () => ({ ...counts }),
    restore: () => {
      for (const [name, original] of originals) backend[name] = original;
    },
  };
}
