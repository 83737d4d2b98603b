// Reading one source record's fields with errors that name the field as the source file spells it
// (`input`, `response`, `conversations[2].value`), because that is what the person will go and fix.
import { importError, isPlainObject, typeName, type ImportError, type InstructionRecord, type RecordLocation } from '../record';
import type { Converted } from './types';

export class FieldReader {
  readonly errors: ImportError[] = [];

  constructor(
    readonly where: RecordLocation,
    /** the format's name, used in "every Alpaca record needs …" */
    readonly formatLabel: string,
  ) {}

  /** Records must be JSON objects; anything else is one error and nothing more to read. */
  object(value: unknown): Record<string, unknown> | undefined {
    if (isPlainObject(value)) return value;
    this.errors.push(importError(this.where, undefined, `expected a JSON object (one ${this.formatLabel} record), got ${typeName(value)}`));
    return undefined;
  }

  fail(field: string | undefined, message: string): void {
    this.errors.push(importError(this.where, field, message));
  }

  /** A string that must be there; an empty string is allowed. */
  required(obj: Record<string, unknown>, key: string, field = key): string | undefined {
    const value = obj[key];
    if (value === undefined) {
      this.fail(field, `is missing; every ${this.formatLabel} record needs "${key}"`);
      return undefined;
    }
    if (typeof value !== 'string') {
      this.fail(field, `expected a string, got ${typeName(value)}`);
      return undefined;
    }
    return value;
  }

  /** A string that may be absent; null counts as absent because dataset exports write it for empty cells. */
  optional(obj: Record<string, unknown>, key: string, field = key): string | undefined {
    const value = obj[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') {
      this.fail(field, `expected a string, got ${typeName(value)}`);
      return undefined;
    }
    return value;
  }

  /** A list that must be there and hold at least one item. */
  list(obj: Record<string, unknown>, key: string, what: string, field = key): unknown[] | undefined {
    const value = obj[key];
    if (value === undefined) {
      this.fail(field, `is missing; every ${this.formatLabel} record needs "${key}" (${what})`);
      return undefined;
    }
    if (!Array.isArray(value)) {
      this.fail(field, `expected a list of ${what}, got ${typeName(value)}`);
      return undefined;
    }
    if (value.length === 0) {
      this.fail(field, `is empty; it needs at least one of ${what}`);
      return undefined;
    }
    return value;
  }

  result(record: InstructionRecord): Converted {
    return this.errors.length > 0 ? { errors: this.errors } : { record };
  }
}

/** Drops undefined and empty optional strings so records compare equal however they were produced. */
export function compact(record: InstructionRecord): InstructionRecord {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (value === undefined) continue;
    if (key !== 'instruction' && value === '') continue;
    out[key] = value;
  }
  return out as unknown as InstructionRecord;
}
