// Writing records back out as JSONL in the shapes other tools read: Alpaca, OpenAI messages,
// ShareGPT, and Hone's own (lossless). Each is the inverse of its importer for the records that
// shape can hold, so export → import gives the same records back; what a shape cannot hold is an
// error naming the record, never silently dropped: a multi-turn chat has no Alpaca form.
// For the chat shapes a record's `context` is appended to the user turn after a blank line, the
// way Alpaca-style prompts present an input; it then comes back as part of `instruction`.
import type { InstructionRecord, Turn } from './record';

export type ExportShape = 'alpaca' | 'messages' | 'sharegpt' | 'hone';

export class ExportError extends Error {
  override name = 'ExportError';
  constructor(
    message: string,
    /** 0-based index of the record that cannot be exported */
    readonly record: number,
  ) {
    super(`record ${record}: ${message}`);
  }
}

export interface AlpacaRow {
  instruction: string;
  input: string;
  output: string;
}

export function toAlpaca(record: InstructionRecord, index: number): AlpacaRow {
  if (record.conversation) {
    throw new ExportError(
      `is a conversation of ${record.conversation.length} turns; Alpaca holds one instruction and one output, so export it as messages or sharegpt`,
      index,
    );
  }
  return { instruction: record.instruction, input: record.context ?? '', output: record.output ?? '' };
}

function turns(record: InstructionRecord, index: number): Turn[] {
  if (record.conversation) return record.conversation;
  if (record.output === undefined) throw new ExportError('has no output, so there is no assistant turn to write', index);
  const user = record.context ? `${record.instruction}\n\n${record.context}` : record.instruction;
  return [
    { role: 'user', content: user },
    { role: 'assistant', content: record.output },
  ];
}

export function toMessages(record: InstructionRecord, index: number): { messages: Turn[] } {
  return { messages: turns(record, index).map((t) => ({ role: t.role, content: t.content })) };
}

const SHAREGPT_FROM = { system: 'system', user: 'human', assistant: 'gpt' } as const;

export function toShareGpt(record: InstructionRecord, index: number): { conversations: { from: string; value: string }[] } {
  return { conversations: turns(record, index).map((t) => ({ from: SHAREGPT_FROM[t.role], value: t.content })) };
}

const SHAPES: Record<ExportShape, (record: InstructionRecord, index: number) => unknown> = {
  alpaca: toAlpaca,
  messages: toMessages,
  sharegpt: toShareGpt,
  hone: (record) => record,
};

/** One JSON line (without the newline) per record, lazily, so a large dataset is never one string. */
export function* exportLines(records: Iterable<InstructionRecord>, shape: ExportShape): Generator<string> {
  const convert = SHAPES[shape];
  let index = 0;
  for (const record of records) yield JSON.stringify(convert(record, index++));
}

/** The whole JSONL text, each line ending in \n. */
export function exportJsonl(records: Iterable<InstructionRecord>, shape: ExportShape): string {
  const lines = [...exportLines(records, shape)];
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}
