// Hone's own record shape, one JSON object per line: what `hone import --out` and the Hone export
// write, so an exported dataset comes back exactly. Validation is strict (unknown keys are errors)
// because there is no other format to be lenient towards.
import { validateRecord, type InstructionRecord, type RecordLocation } from '../record';
import { jsonImporter } from './json-stream';
import type { Converted } from './types';

export function fromHone(value: unknown, where: RecordLocation): Converted {
  const errors = validateRecord(value, where);
  return errors.length > 0 ? { errors } : { record: value as InstructionRecord };
}

export const honeImporter = jsonImporter('hone', fromHone);
