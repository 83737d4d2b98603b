// OpenAI chat format (fine-tuning JSONL, HuggingFaceH4 chat datasets):
// {"messages": [{"role": "system"|"user"|"assistant", "content": "…"}, …]}. Tool and function
// turns have no place in an instruction record and are reported, not dropped.
import type { RecordLocation } from '../record';
import { conversationRecord, MESSAGES_TURNS, readTurns } from './conversation';
import { FieldReader } from './fields';
import { jsonImporter } from './json-stream';
import type { Converted } from './types';

export function fromMessages(value: unknown, where: RecordLocation): Converted {
  const reader = new FieldReader(where, 'messages');
  const obj = reader.object(value);
  if (!obj) return { errors: reader.errors };
  const turns = readTurns(obj, MESSAGES_TURNS, reader);
  if (!turns) return { errors: reader.errors };
  const record = conversationRecord(turns, MESSAGES_TURNS, reader);
  return record ? reader.result(record) : { errors: reader.errors };
}

export const messagesImporter = jsonImporter('messages', fromMessages);
