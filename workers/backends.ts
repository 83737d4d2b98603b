// Registers tfjs's browser backends inside the studio worker and chooses one with
// src/core/backend/select.ts. Only the worker imports this: it pulls in all of tfjs (PLATFORM.md §6).
import * as tf from '@tensorflow/tfjs'; // brings cpu + webgl and the gradients (PLATFORM.md §1)
import '@tensorflow/tfjs-backend-webgpu'; // registers 'webgpu' whenever navigator.gpu exists
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm'; // registers 'wasm'
// Vite copies the binaries into dist/ and serves them as application/wasm (PLATFORM.md §5).
import wasmPlainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import {
  restoreSelection,
  selectBackend,
  selectFallback,
  timeWorkload,
  type AdapterSummary,
  type BackendEnvironment,
  type BackendName,
  type BackendReport,
} from '../src/core/backend/select';

setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlainUrl,
  'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedUrl,
});

let adapterSummary: AdapterSummary | undefined;

// tfjs registers 'webgpu' even where no adapter exists, and setBackend then fails with
// "Cannot read properties of null (reading 'features')" (PLATFORM.md, Headless Chromium and WebGPU):
// ask for an adapter ourselves first and keep its description for the status bar.
async function webgpuUnavailableReason(): Promise<string | null> {
  if (!('gpu' in navigator) || !navigator.gpu) return 'navigator.gpu missing (this browser has no WebGPU)';
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) return 'no WebGPU adapter (WebGPU is disabled or no GPU is usable)';
  adapterSummary = await describeAdapter(adapter);
  return null;
}

async function describeAdapter(adapter: GPUAdapter): Promise<AdapterSummary> {
  // Chromium ≥ 114 has adapter.info; older ones requestAdapterInfo(); isFallbackAdapter moved from
  // the adapter onto its info in 2024.
  const legacy = adapter as GPUAdapter & {
    requestAdapterInfo?: () => Promise<GPUAdapterInfo>;
    isFallbackAdapter?: boolean;
  };
  const info: Partial<GPUAdapterInfo> | undefined =
    'info' in adapter ? adapter.info : legacy.requestAdapterInfo ? await legacy.requestAdapterInfo() : undefined;
  return {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    description: info?.description ?? '',
    isFallbackAdapter: Boolean(info?.isFallbackAdapter ?? legacy.isFallbackAdapter),
  };
}

function webglUnavailableReason(): string | null {
  if (typeof OffscreenCanvas === 'undefined') return 'OffscreenCanvas missing (tfjs needs it for WebGL in a worker)';
  const gl = new OffscreenCanvas(1, 1).getContext('webgl2');
  if (!gl) return 'WebGL2 context failed (WebGL is disabled or no GPU driver)';
  gl.getExtension('WEBGL_lose_context')?.loseContext(); // give the probe's context back
  return null;
}

function wasmUnavailableReason(): string | null {
  return typeof WebAssembly === 'object' ? null : 'WebAssembly missing';
}

const browserEnvironment: BackendEnvironment = {
  async unavailableReason(name: BackendName) {
    if (tf.findBackendFactory(name) === null) return `tfjs has no "${name}" backend registered here`;
    if (name === 'webgpu') return webgpuUnavailableReason();
    if (name === 'webgl') return webglUnavailableReason();
    if (name === 'wasm') return wasmUnavailableReason();
    return null;
  },
  async activate(name) {
    const ok = await tf.setBackend(name);
    await tf.ready();
    return ok && tf.getBackend() === name;
  },
  measure: (_name, { giveUpAboveMs }) => timeWorkload(tf, () => performance.now(), { giveUpAboveMs }),
  adapter: async () => adapterSummary,
};

/** Measures (or honours the pin), leaves the chosen backend active and reports why. */
export async function initBackend(pin?: BackendName | 'auto'): Promise<BackendReport> {
  return selectBackend(browserEnvironment, { pin });
}

/** A restarted worker: back onto the backend the previous worker ran on (its report), unmeasured. */
export async function restoreBackend(previous: BackendReport): Promise<BackendReport> {
  return restoreSelection(browserEnvironment, previous);
}

/** `lost` stopped working (its WebGPU device was lost): the next fastest backend, made active. */
export async function fallbackBackend(report: BackendReport, lost: BackendName, cause: string): Promise<BackendReport> {
  return selectFallback(browserEnvironment, report, lost, cause);
}
