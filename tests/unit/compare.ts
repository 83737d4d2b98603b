// Comparisons the parity tests share: logits [B, T, V] row-major, judged only where the mask is 1.

/** Largest |a − b| over positions where the attention mask is 1 (vocab size derived from the shapes). */
export function maxDiffUnmasked(a: Float32Array, b: Float32Array, mask: number[][]): number {
  const batch = mask.length;
  const time = mask[0].length;
  const vocab = a.length / (batch * time);
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < batch; i++) {
    for (let t = 0; t < time; t++) {
      if (mask[i][t] !== 1) continue;
      const offset = (i * time + t) * vocab;
      for (let v = 0; v < vocab; v++) worst = Math.max(worst, Math.abs(a[offset + v] - b[offset + v]));
    }
  }
  return worst;
}
