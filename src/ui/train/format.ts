// Number formats of the Train view.

/** 75 → "1 min 15 s", 7300 → "2 h 2 min"; "–" when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** 43904 → "43,904" (one locale everywhere, so tests and screenshots agree). */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
