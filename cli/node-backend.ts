// Picks the tfjs backend for Node entry points (CLI, tests, benchmarks).
// cpu: plain JS kernels, always available, slow. wasm: XNNPACK kernels with SIMD; tfjs disables wasm
// threads in Node by itself (tfjs #3830), which PLATFORM.md measured as no loss on 2 cores.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm'; // importing registers the 'wasm' backend
import { installWasmKernels } from '../src/core/kernels';

export type NodeBackend = 'cpu' | 'wasm';

let wasmPathsSet = false;

export async function setNodeBackend(name: NodeBackend): Promise<void> {
  if (name !== 'cpu' && name !== 'wasm') {
    throw new Error(`setNodeBackend: backend must be "cpu" or "wasm", got ${JSON.stringify(name)}`);
  }
  if (name === 'wasm' && !wasmPathsSet) {
    // The .wasm binaries sit next to the package's Node entry (dist/); the trailing slash makes
    // setWasmPaths treat the string as a folder prefix rather than a single file.
    const entry = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
    setWasmPaths(dirname(entry) + '/');
    wasmPathsSet = true;
  }
  // tf.clone without a copy and heap-view copy kernels (src/core/kernels)
  if (name === 'wasm') installWasmKernels();
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`setNodeBackend: tfjs could not initialise the "${name}" backend (see the messages above)`);
  await tf.ready();
}
