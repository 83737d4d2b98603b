// Number formatting for scores on a metric's own scale: 0–100 metrics (BLEU, chrF) with one
// decimal, 0–1 metrics (ROUGE, SQuAD, accuracies) with three.

export function formatScore(value: number | null | undefined, best: number): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return value.toFixed(best >= 10 ? 1 : 3);
}

export function formatDifference(value: number | null | undefined, best: number): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  const text = formatScore(Math.abs(value), best);
  return value > 0 ? `+${text}` : value < 0 ? `−${text}` : text;
}

export function formatInterval(interval: { low: number; high: number } | null | undefined, best: number): string {
  if (!interval) return '–';
  return `[${formatDifference(interval.low, best)}, ${formatDifference(interval.high, best)}]`;
}

/** A stable pseudo-random bit per (evaluation, example): which side is "A" in blind review. */
export function tunedIsA(evaluationId: string, exampleId: string): boolean {
  let h = 0x811c9dc5;
  for (const ch of `${evaluationId}\u0000${exampleId}`) {
    h ^= ch.codePointAt(0)!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h & 1) === 1;
}
