// Persistent [in, out] copies of [out, in] weights, for the wasm backend only.
// Why: wasm's BatchMatMul reaches XNNPACK only when neither operand is transposed and both have
// batch 1 (tfjs-backend-wasm/src/cc/batch_mat_mul_impl.cc); anything else runs a naive loop,
// measured 5–7× slower for the Llama projections. XNNPACK also caches its packed weights per
// tensor id, so the copy must be the same tensor on every call. Other backends transpose for free.
// Cost: one more copy of each nn.Linear weight while the backend is wasm.
import * as tf from '@tensorflow/tfjs';

export interface MatmulWeight {
  weight: tf.Tensor2D;
  /** multiply as x · weightᵀ (weight is [out, in]) */
  transposeB: boolean;
}

export class TransposedWeights {
  private readonly copies = new Map<string, { source: tf.Tensor; copy: tf.Tensor2D }>();

  /**
   * The weight to multiply by for an [out, in] tensor `source` registered under `key`. A plain
   * tensor on wasm gets a kept [in, out] copy, remade when a different tensor is swapped in.
   * A tf.Variable is used transposed as it is: its values change in place during training. The
   * copy of the tensor it replaced is kept meanwhile (that tensor usually comes back, and tensor
   * counts stay level across swaps).
   */
  get(key: string, source: tf.Tensor): MatmulWeight {
    if (tf.getBackend() !== 'wasm' || source instanceof tf.Variable) {
      return { weight: source as tf.Tensor2D, transposeB: true };
    }
    let entry = this.copies.get(key);
    if (!entry || entry.source !== source) {
      this.drop(key);
      entry = { source, copy: tf.keep(tf.transpose(source as tf.Tensor2D)) }; // [in, out]
      this.copies.set(key, entry);
    }
    return { weight: entry.copy, transposeB: false };
  }

  dispose(): void {
    for (const key of [...this.copies.keys()]) this.drop(key);
  }

  private drop(key: string): void {
    const entry = this.copies.get(key);
    if (!entry) return;
    entry.copy.dispose();
    this.copies.delete(key);
  }
}
