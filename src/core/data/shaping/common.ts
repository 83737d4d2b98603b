// What every shaping operation (mixtures.ts, augment.ts, preview.ts) shares: the error a refused
// spec throws, the checks of names, seeds and counts, the tags shaping sets on the examples it
// writes, and a stored example's record fields. Its own file so that the operations depend on it
// and not on each other.
import type { ExampleInput, ExampleRecord } from '../../store';

export class ShapeError extends Error {
  override name = 'ShapeError';
}

/** Most examples one shaping call writes: a larger mixture would not fit a browser tab's memory. */
export const MAX_SHAPED_EXAMPLES = 500_000;
export const FROM_TAG_PREFIX = 'from:';
export const STAGE_TAG_PREFIX = 'stage:';
export const PRETRAINING_TAG = 'pretraining';

export function fail(message: string): never {
  throw new ShapeError(message);
}

// ---- checking specs (before any read or write) -------------------------------------------------

export function checkName(name: unknown, what: string): string {
  if (typeof name !== 'string' || name.trim() === '') fail(`${what}: give the new dataset a name`);
  return name.trim();
}

export function checkSeed(seed: unknown, what: string): void {
  if (typeof seed !== 'number' || !Number.isFinite(seed)) fail(`${what}: seed must be a number, got ${String(seed)}`);
}

export function checkWhole(value: unknown, what: string, field: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) fail(`${what}: ${field} must be a whole number ≥ ${min}, got ${String(value)}`);
  return value;
}

export function checkFraction(value: unknown, what: string, field: string): void {
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) fail(`${what}: ${field} must be at least 0 and below 1, got ${String(value)}`);
}

/** A stored example's record fields, without the store's id, datasetId and position. */
export function recordFields(record: ExampleRecord): ExampleInput {
  const { id: _id, datasetId: _datasetId, position: _position, ...fields } = record;
  return fields;
}

