// Reading a method config (adapter_config.json or settings from the UI) against the key set the
// reference library writes. PEFT 0.21 writes every field of its config dataclass; Hone keeps the
// same keys so that an exported adapter_config.json loads in PEFT and round-trips unchanged.
// Keys Hone interprets are validated by the method; the rest must hold PEFT's default (a value
// Hone cannot honour is refused, never silently ignored), except pure bookkeeping keys.
import { PeftError } from './types';

export type Json = Record<string, unknown>;

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Merges `raw` over `defaults`. `interpreted` keys are the method's to validate; `bookkeeping`
 * keys accept any value; every other key must equal its default.
 */
export function mergeConfig(file: string, raw: unknown, defaults: Json, interpreted: readonly string[], bookkeeping: readonly string[]): Json {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new PeftError('is not a JSON object', file);
  }
  const input = raw as Json;
  const unknown = Object.keys(input).filter((key) => !(key in defaults));
  if (unknown.length > 0) {
    throw new PeftError(
      `unknown config key(s) ${unknown.map((k) => `"${k}"`).join(', ')}; the keys this adapter type has are: ${Object.keys(defaults).join(', ')}`,
      file,
      unknown[0],
    );
  }
  const free = new Set([...interpreted, ...bookkeeping]);
  const merged: Json = { ...defaults, ...input };
  for (const [key, value] of Object.entries(input)) {
    if (free.has(key) || deepEqual(value, defaults[key])) continue;
    throw new PeftError(
      `${JSON.stringify(value)} is not supported by Hone; only ${JSON.stringify(defaults[key])} (PEFT's default) is`,
      file,
      key,
    );
  }
  return merged;
}

export function positiveInt(file: string, config: Json, key: string): number {
  const value = config[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new PeftError(`must be a positive integer, got ${JSON.stringify(value)}`, file, key);
  }
  return value;
}

export function finiteNumber(file: string, config: Json, key: string, min: number, max = Infinity): number {
  const value = config[key];
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new PeftError(`must be a number in [${min}, ${max}], got ${JSON.stringify(value)}`, file, key);
  }
  return value;
}

export function bool(file: string, config: Json, key: string): boolean {
  const value = config[key];
  if (typeof value !== 'boolean') throw new PeftError(`must be true or false, got ${JSON.stringify(value)}`, file, key);
  return value;
}

export function oneOf<T extends string>(file: string, config: Json, key: string, allowed: readonly T[]): T {
  const value = config[key];
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new PeftError(`must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${JSON.stringify(value)}`, file, key);
  }
  return value as T;
}

/** target_modules-like field: null, a regex string, or a list of names. */
export function moduleSpec(file: string, config: Json, key: string): string | string[] | null {
  const value = config[key];
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') {
    try {
      new RegExp(value);
    } catch {
      throw new PeftError(`${JSON.stringify(value)} is not a valid regular expression`, file, key);
    }
    return value;
  }
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  throw new PeftError(`must be null, a regular expression or a list of module names, got ${JSON.stringify(value)}`, file, key);
}

/** layers_to_transform: null, one index or a list of indices. */
export function layerList(file: string, config: Json, key: string, numLayers: number): number[] | null {
  const value = config[key];
  if (value === null || value === undefined) return null;
  const list = typeof value === 'number' ? [value] : value;
  if (!Array.isArray(list) || !list.every((v) => Number.isInteger(v) && v >= 0 && v < numLayers)) {
    throw new PeftError(`must be null or layer indices in [0, ${numLayers - 1}], got ${JSON.stringify(value)}`, file, key);
  }
  return list as number[];
}

/** PEFT's task_type: Hone only builds causal language models. */
export function checkTaskType(file: string, config: Json): void {
  const value = config['task_type'];
  if (value !== null && value !== 'CAUSAL_LM') {
    throw new PeftError(`task_type ${JSON.stringify(value)} is not supported; Hone adapts causal language models ("CAUSAL_LM")`, file, 'task_type');
  }
}
