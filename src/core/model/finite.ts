// Finding NaN and ±Infinity in host tensors. A checkpoint or adapter with one such value makes
// every logit non-finite, silently; loaders refuse it instead, naming the tensor and the index.

/** Index of the first NaN or ±Infinity in `data`, or -1 when every value is finite. */
export function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    // v − v is 0 for every finite v and NaN for NaN and ±Infinity: one subtraction, no calls
    if (v - v !== 0) return i;
  }
  return -1;
}

/** "NaN at index 3 of [2, 4]" style detail for the first non-finite value, or null. */
export function nonFiniteDetail(data: ArrayLike<number>, shape: readonly number[]): string | null {
  const at = firstNonFinite(data);
  if (at === -1) return null;
  const value = data[at];
  const position: number[] = [];
  let rest = at;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    position.unshift(rest % shape[axis]);
    rest = Math.floor(rest / shape[axis]);
  }
  return `holds ${Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity'} at [${position.join(', ')}] (shape [${shape.join(', ')}])`;
}
