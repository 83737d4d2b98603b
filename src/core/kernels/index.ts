// Hone's own wasm kernels, installed in one place for the CLI, the tests and the studio worker:
// Identity without a copy (wasm-identity.ts) and the heap-view copy kernels (wasm-copies.ts).
// Each installs once and does nothing where the wasm backend is not registered.
import { installWasmCopyKernels } from './wasm-copies';
import { installWasmIdentityKernel } from './wasm-identity';

export function installWasmKernels(): void {
  installWasmIdentityKernel();
  installWasmCopyKernels();
}
