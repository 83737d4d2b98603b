// Hone's own wasm kernels, installed in one place for the CLI, the tests and the studio worker:
// Identity without a copy (wasm-identity.ts), the heap-view copy kernels (wasm-copies.ts), and the
// fused kernels (AdamW, RMSNorm, SwiGLU's backward, RoPE: adamw-kernel.ts,
// fused-kernels.ts, registered for wasm and cpu through kernel-io.ts).
// Each installs once; the replacements do nothing where the wasm backend is not registered.
import { adamWKernel } from './adamw-kernel';
import { FUSED_KERNELS } from './fused-kernels';
import { registerFusedKernels } from './kernel-io';
import { installWasmCopyKernels } from './wasm-copies';
import { installWasmIdentityKernel } from './wasm-identity';

export function installWasmKernels(): void {
  installWasmIdentityKernel();
  installWasmCopyKernels();
  installFusedKernels();
}

let fusedInstalled = false;

/** The fused kernels, for wasm and cpu (new kernel names: nothing of tfjs's is replaced). */
export function installFusedKernels(): void {
  if (fusedInstalled) return;
  registerFusedKernels([adamWKernel, ...FUSED_KERNELS]);
  fusedInstalled = true;
}
