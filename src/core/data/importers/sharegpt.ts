// ShareGPT: {"conversations": [{"from": "human"|"gpt"|"system", "value": "…"}, …]}, as a JSON
// array or JSONL. Some exports put the system prompt in a top-level "system" key instead of a
// turn; it becomes the conversation's first turn. See conversation.ts for the record mapping.
import type { RecordLocation } from '../record';
import { conversationRecord, readTurns, SHAREGPT_TURNS } from './conversation';
import { FieldReader } from './fields';
import { jsonImporter } from './json-stream';
import type { Converted } from './types';

export function fromShareGpt(value: unknown, where: RecordLocation): Converted {
  const reader = new FieldReader(where, 'ShareGPT');
  const obj = reader.object(value);
  if (!obj) return { errors: reader.errors };
  const system = reader.optional(obj, 'system');
  const turns = readTurns(obj, SHAREGPT_TURNS, reader);
  if (!turns) return { errors: reader.errors };
  if (system !== undefined && system !== '' && turns[0]?.role !== 'system') turns.unshift({ role: 'system', content: system });
  const record = conversationRecord(turns, SHAREGPT_TURNS, reader);
  return record ? reader.result(record) : { errors: reader.errors };
}

export const shareGptImporter = jsonImporter('sharegpt', fromShareGpt);
