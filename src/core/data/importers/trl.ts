// TRL's SFT dataset formats (huggingface/trl, docs "Dataset formats and types"), one JSON object
// per line or a JSON array, each record one of:
//   {"text": "…"}                                   language modeling, standard   → kind 'text'
//   {"messages": [{role, content}, …]}              language modeling, conversational → kind 'conversation'
//   {"prompt": "…", "completion": "…"}              prompt-completion, standard    → kind 'prompt-completion'
//   {"prompt": [turns…], "completion": [turns…]}    prompt-completion, conversational → kind 'prompt-completion'
// The records keep their kind so the trainer handles each as TRL's SFTTrainer does (EOS on text and
// standard completions; chat template for conversations; completion-only loss by the prompt's
// length). A standard prompt is stored in `instruction` (what lists show) and used verbatim, never
// wrapped in another prompt; a conversational one is the first `promptTurns` turns of
// `conversation`. Other keys (ids, metadata columns) are ignored, as TRL ignores unused columns.
import type { InstructionRecord, RecordLocation, Turn } from '../record';
import { MESSAGES_TURNS, readTurns, type TurnShape } from './conversation';
import { FieldReader } from './fields';
import { jsonImporter } from './json-stream';
import { fromMessages } from './messages';
import type { Converted } from './types';

const turnsUnder = (listKey: string): TurnShape => ({ ...MESSAGES_TURNS, listKey });

function conversationalPair(obj: Record<string, unknown>, reader: FieldReader): InstructionRecord | undefined {
  const prompt = readTurns(obj, turnsUnder('prompt'), reader);
  const completion = readTurns(obj, turnsUnder('completion'), reader);
  if (!prompt || !completion) return undefined;
  if (!completion.some((t) => t.role === 'assistant')) {
    reader.fail('completion', 'has no assistant turn, so there is nothing to learn');
    return undefined;
  }
  const conversation: Turn[] = [...prompt, ...completion];
  const firstUser = prompt.find((t) => t.role === 'user');
  return { kind: 'prompt-completion', instruction: firstUser?.content ?? '', conversation, promptTurns: prompt.length };
}

export function fromTrl(value: unknown, where: RecordLocation): Converted {
  const reader = new FieldReader(where, 'TRL');
  const obj = reader.object(value);
  if (!obj) return { errors: reader.errors };
  if (obj.messages !== undefined) return fromMessages(obj, where);
  if (obj.prompt !== undefined || obj.completion !== undefined) {
    if (Array.isArray(obj.prompt) || Array.isArray(obj.completion)) {
      const record = conversationalPair(obj, reader);
      return record ? reader.result(record) : { errors: reader.errors };
    }
    const prompt = reader.required(obj, 'prompt');
    const completion = reader.required(obj, 'completion');
    return reader.result({ kind: 'prompt-completion', instruction: prompt ?? '', output: completion ?? '' });
  }
  if (obj.text !== undefined) {
    const text = reader.required(obj, 'text');
    if (text !== undefined && text.trim() === '') reader.fail('text', 'is empty; a language-modeling record needs text to learn');
    return reader.result({ kind: 'text', instruction: '', output: text ?? '' });
  }
  reader.fail(undefined, 'has none of the keys TRL reads: "text", "messages", or "prompt" with "completion"');
  return { errors: reader.errors };
}

export const trlImporter = jsonImporter('trl', fromTrl);
