// Identity (tf.clone) for the wasm backend without a copy: the output shares the input's data, as
// the cpu backend's Identity does (tfjs-backend-cpu kernels/Identity.ts: incRef, same dataId).
// Why: tfjs's engine keeps every tensor a gradient needs by cloning it (engine.ts
// saveTensorsForBackwardMode: keep(clone(t))), and a customGrad's save() does the same. On
// tfjs-backend-wasm 4.22 Identity copies the bytes (makeOutput + set), so each matmul in a recorded
// forward pass copied its weight: one LoRA step of the SmolLM2-135M layout (2 × 64 tokens) grew the
// wasm heap from 1.18 GB to 3.90 GB, measured with `hone bench --preset smollm2-135m`. Tensors are
// immutable in tfjs (a Variable's assign swaps its dataId, it never writes in place), so sharing
// is safe; the backend already shares data the same way for Reshape (refCount per dataId).
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from './kernel-io';

/** The part of tfjs-backend-wasm's BackendWasm this kernel uses (public there). */
interface WasmBackend {
  incRef(dataId: object): void;
}

let original: tf.KernelFunc | null = null;

function identity(args: { inputs: Record<string, TensorInfo>; backend: WasmBackend }): TensorInfo | tf.TensorInfo {
  const { x } = args.inputs;
  // strings live outside the heap: the backend's own kernel handles them
  if (x.dtype === 'string') return original!(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** Replaces the wasm backend's Identity (once). Does nothing where the wasm backend is not registered. */
export function installWasmIdentityKernel(): void {
  if (original) return;
  const config = tf.getKernel('Identity', 'wasm');
  if (!config) return;
  original = config.kernelFunc;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({ kernelName: 'Identity', backendName: 'wasm', kernelFunc: identity as unknown as tf.KernelFunc });
}

/** Tests only: puts the backend's own copying Identity back. */
export function uninstallWasmIdentityKernel(): void {
  if (!original) return;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({ kernelName: 'Identity', backendName: 'wasm', kernelFunc: original });
  original = null;
}
