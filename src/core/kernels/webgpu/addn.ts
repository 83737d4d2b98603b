// tfjs-backend-webgpu 4.22's AddN binds every input as a storage buffer in one program, so more
// than maxStorageBuffersPerShaderStage − 1 inputs (7 on a default device, SwiftShader's included)
// make an invalid pipeline. WebGPU reports that only as a console warning, and the whole command
// buffer it sits in (up to 15 dispatches) then never runs: measured on a hone-tiny LoRA step, where
// step.ts's weights check adds 16 per-parameter sums, the loss read back as 0 and the AdamW updates
// of that command buffer were lost. This replacement adds in chunks that fit, with the backend's
// own AddN for each chunk (a tree: ⌈n / 7⌉ dispatches and then their partial sums).
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '../kernel-io';

type KernelFunc = (args: { inputs: TensorInfo[]; backend: unknown; attrs?: unknown }) => TensorInfo;

let installed = false;

/** The most inputs one AddN program may bind on this backend's device. */
function maxInputs(backend: unknown): number {
  const limit = (backend as { device?: { limits?: { maxStorageBuffersPerShaderStage?: number } } }).device?.limits?.maxStorageBuffersPerShaderStage;
  return Math.max(2, (limit ?? 8) - 1); // one binding is the output
}

/** Replaces webgpu's AddN with the chunked one (once; nothing when the webgpu backend has no AddN). */
export function installWebgpuAddN(): void {
  if (installed) return;
  const original = tf.getKernel('AddN', 'webgpu');
  if (!original) return;
  installed = true;
  const addN = original.kernelFunc as unknown as KernelFunc;
  const chunked: KernelFunc = ({ inputs, backend, attrs }) => {
    const limit = maxInputs(backend);
    if (inputs.length <= limit) return addN({ inputs, backend, attrs });
    const partials: TensorInfo[] = [];
    for (let i = 0; i < inputs.length; i += limit) {
      const chunk = inputs.slice(i, i + limit);
      partials.push(chunk.length === 1 ? chunk[0] : addN({ inputs: chunk, backend, attrs }));
    }
    const sum = chunked({ inputs: partials, backend, attrs });
    // the partial sums are this kernel's own intermediates (never an input, which chunks of one pass through)
    for (const p of partials) if (!inputs.includes(p)) (backend as { disposeData(id: object): void }).disposeData(p.dataId);
    return sum;
  };
  tf.unregisterKernel('AddN', 'webgpu');
  tf.registerKernel({ ...original, kernelFunc: chunked as unknown as tf.KernelFunc });
}
