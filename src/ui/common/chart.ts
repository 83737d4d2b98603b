// Scales, ticks and SVG paths for the studio's line charts: the Train view's loss chart (train and
// validation loss on the left axis, the learning rate on its own right axis) and the Pretrain view's
// loss curve.

export interface Point {
  step: number;
  value: number;
}

export interface Box {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

export interface Scale {
  min: number;
  max: number;
  /** data value → pixel */
  at(value: number): number;
}

export function linearScale(min: number, max: number, from: number, to: number): Scale {
  // a flat series (one point, or a constant lr) still gets a visible, centred line
  const span = max - min || Math.abs(max) || 1;
  const low = max - min ? min : min - span / 2;
  return { min: low, max: low + span, at: (value) => from + ((value - low) / span) * (to - from) };
}

/** A scale over the points' values, from their lowest to their highest (0 to 1 while there are none). */
export function valueScale(points: readonly Point[], from: number, to: number): Scale {
  if (points.length === 0) return linearScale(0, 1, from, to);
  let min = Infinity;
  let max = -Infinity;
  for (const p of points) {
    min = Math.min(min, p.value);
    max = Math.max(max, p.value);
  }
  return linearScale(min, max, from, to);
}

/** Round tick values ("nice numbers": 1, 2 or 5 × 10^k apart) covering [min, max]. */
export function ticks(min: number, max: number, count = 4): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max) || max <= min) return Number.isFinite(min) ? [min] : [];
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** "M x y L x y …" through the points; '' for none. */
export function linePath(points: readonly Point[], x: Scale, y: Scale): string {
  return points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x.at(p.step).toFixed(1)} ${y.at(p.value).toFixed(1)}`).join(' ');
}

/** The finite values of one metric, in step order. */
export function series<T extends { step: number }>(rows: readonly T[], pick: (row: T) => number | undefined): Point[] {
  const out: Point[] = [];
  for (const row of rows) {
    const value = pick(row);
    if (value !== undefined && Number.isFinite(value)) out.push({ step: row.step, value });
  }
  return out;
}

/** Short axis labels: 0.0003 → "3e-4", 2.5 → "2.5". */
export function formatTick(value: number): string {
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs < 1e-2 || abs >= 1e5) return value.toExponential(0).replace('e-', 'e−');
  return Number(value.toPrecision(3)).toString();
}
