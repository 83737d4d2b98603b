// Alpaca (tatsu-lab/stanford_alpaca): {"instruction", "input", "output"} as a JSON array or JSONL.
// `input` may be empty or absent (most Alpaca records have none); extra keys such as the
// pre-formatted `text` column of the Hub copy are ignored.
import type { RecordLocation } from '../record';
import { compact, FieldReader } from './fields';
import { jsonImporter } from './json-stream';
import type { Converted } from './types';

export function fromAlpaca(value: unknown, where: RecordLocation): Converted {
  const reader = new FieldReader(where, 'Alpaca');
  const obj = reader.object(value);
  if (!obj) return { errors: reader.errors };
  const instruction = reader.required(obj, 'instruction');
  const context = reader.optional(obj, 'input');
  const output = reader.required(obj, 'output');
  return reader.result(compact({ instruction: instruction ?? '', context, output }));
}

export const alpacaImporter = jsonImporter('alpaca', fromAlpaca);
