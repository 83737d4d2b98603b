// Chat-shaped sources (ShareGPT, OpenAI messages) share one mapping onto InstructionRecord:
// a plain one-question-one-answer chat becomes { kind: 'conversation', instruction, output }, so it
// displays and exports like any Alpaca record yet still trains through the chat template as the
// chat it is (TRL's `messages`); anything richer (several turns, a system prompt) keeps the whole
// `conversation` — the source of truth for training — with `instruction` set to the first user
// turn so lists and searches still have something to show. `output` is set only for single-turn
// chats: for multi-turn ones "the answer" is ambiguous and the trainer reads `conversation`.
import { previewValue, typeName, type InstructionRecord, type Role, type Turn } from '../record';
import type { FieldReader } from './fields';

export interface TurnShape {
  /** the list's key in the source object: `conversations` or `messages` */
  listKey: string;
  roleKey: string;
  contentKey: string;
  /** source role name → Hone role */
  roles: Record<string, Role>;
}

export const SHAREGPT_TURNS: TurnShape = {
  listKey: 'conversations',
  roleKey: 'from',
  contentKey: 'value',
  roles: { human: 'user', user: 'user', gpt: 'assistant', assistant: 'assistant', chatgpt: 'assistant', system: 'system' },
};

export const MESSAGES_TURNS: TurnShape = {
  listKey: 'messages',
  roleKey: 'role',
  contentKey: 'content',
  roles: { system: 'system', developer: 'system', user: 'user', assistant: 'assistant' },
};

/** OpenAI content may be a list of parts; text parts are joined, anything else (images) is refused. */
function textContent(value: unknown, field: string, reader: FieldReader): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const texts: string[] = [];
    for (let i = 0; i < value.length; i++) {
      const part = value[i] as Record<string, unknown> | null;
      if (part === null || typeof part !== 'object' || part.type !== 'text' || typeof part.text !== 'string') {
        reader.fail(`${field}[${i}]`, 'only {"type": "text", "text": "…"} content parts can be imported');
        return undefined;
      }
      texts.push(part.text);
    }
    return texts.join('');
  }
  reader.fail(field, `expected a string, got ${typeName(value)}`);
  return undefined;
}

export function readTurns(obj: Record<string, unknown>, shape: TurnShape, reader: FieldReader): Turn[] | undefined {
  const list = reader.list(obj, shape.listKey, `{"${shape.roleKey}", "${shape.contentKey}"} turns`);
  if (!list) return undefined;
  const turns: Turn[] = [];
  const before = reader.errors.length;
  list.forEach((item, i) => {
    const field = `${shape.listKey}[${i}]`;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      reader.fail(field, `expected a {"${shape.roleKey}", "${shape.contentKey}"} object, got ${typeName(item)}`);
      return;
    }
    const turn = item as Record<string, unknown>;
    const sourceRole = turn[shape.roleKey];
    // own property: a role named "constructor" must not find Object.prototype's
    const role = typeof sourceRole === 'string' && Object.hasOwn(shape.roles, sourceRole) ? shape.roles[sourceRole] : undefined;
    if (role === undefined) {
      reader.fail(
        `${field}.${shape.roleKey}`,
        `expected one of ${Object.keys(shape.roles).join(', ')}, got ${sourceRole === undefined ? 'nothing' : previewValue(sourceRole)}`,
      );
      return;
    }
    const content = textContent(turn[shape.contentKey], `${field}.${shape.contentKey}`, reader);
    if (content !== undefined) turns.push({ role, content });
  });
  return reader.errors.length > before ? undefined : turns;
}

export function conversationRecord(turns: Turn[], shape: TurnShape, reader: FieldReader): InstructionRecord | undefined {
  const firstUser = turns.findIndex((t) => t.role === 'user');
  if (firstUser === -1) {
    reader.fail(shape.listKey, 'has no user turn, so there is no instruction');
    return undefined;
  }
  const reply = turns.findIndex((t, i) => i > firstUser && t.role === 'assistant');
  if (reply === -1) {
    reader.fail(shape.listKey, 'has no assistant turn after the first user turn, so there is nothing to learn');
    return undefined;
  }
  const singleTurn = turns.length === 2 && firstUser === 0 && reply === 1;
  if (singleTurn) return { kind: 'conversation', instruction: turns[0].content, output: turns[1].content };
  return { instruction: turns[firstUser].content, conversation: turns };
}
