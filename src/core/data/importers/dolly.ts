// Dolly (databricks/databricks-dolly-15k): {"instruction", "context", "response", "category"}.
// `category` (open_qa, brainstorming, …) is the task, which is what held-out evaluation groups by.
import type { RecordLocation } from '../record';
import { compact, FieldReader } from './fields';
import { jsonImporter } from './json-stream';
import type { Converted } from './types';

export function fromDolly(value: unknown, where: RecordLocation): Converted {
  const reader = new FieldReader(where, 'Dolly');
  const obj = reader.object(value);
  if (!obj) return { errors: reader.errors };
  const instruction = reader.required(obj, 'instruction');
  const context = reader.optional(obj, 'context');
  const output = reader.required(obj, 'response');
  const task = reader.optional(obj, 'category');
  return reader.result(compact({ instruction: instruction ?? '', context, output, task }));
}

export const dollyImporter = jsonImporter('dolly', fromDolly);
