// Conversations through a chat template, tokenized as transformers' apply_chat_template(tokenize=True)
// does (the rendered text encoded without adding special tokens: the template writes its own), with
// the assistant-token mask TRL's assistant_only_loss reads (return_assistant_tokens_mask).
//
// transformers finds assistant text by the template's {% generation %} … {% endgeneration %} blocks.
// @huggingface/jinja parses those tags but renders nothing for them, so a template that has them is
// rewritten: each tag becomes a block that writes a private-use marker character, with the tag's
// own whitespace control, so trim_blocks / lstrip_blocks treat it as they treat the original tag.
// Templates without markers (most shipped ones): each assistant turn i is found by rendering the
// conversation up to turn i − 1 with the generation prompt and up to turn i without; the turn is
// what the second adds to the first. When the renderings are not prefixes of one another (a
// template that renders earlier turns differently depending on later ones), the row is refused.
//
// Character spans become token spans as transformers' char_to_token would place them: the token
// holding a span's first character through the token holding its last. The tokenizer library has
// no offsets, so a boundary is placed by encoding the text before it and comparing with the whole
// encoding: where the two part is the token that holds the boundary.
import type { Turn } from '../../data/record';
import type { HoneTokenizer } from '../../tokenizer/tokenizer';
import { RowsError } from './error';

const START = '\uE000';
const END = '\uE001';
const GENERATION_TAG = /{%(-?)\s*(end)?generation\s*(-?)%}/g;

export interface ChatTemplate {
  /** the template as given (tokenizer_config.json chat_template, or the run's override) */
  source: string;
  /** the rewritten template that writes START / END around generation blocks; null when it has none */
  marked: string | null;
}

export interface Where {
  record: number;
  kind: string;
  field: string;
  /** false when the turns were made from the record's fields (an instruction's prompt and output): name `field` alone */
  turnFields?: boolean;
}

/** The field to name for turn i: `conversation[2]`, or the record field the turn was made from. */
export function turnField(where: Where, i: number): string {
  return where.turnFields === false ? where.field : `${where.field}[${i}]`;
}

export function chatTemplateOf(tokenizer: HoneTokenizer, override: string | undefined): ChatTemplate | null {
  const source = override ?? tokenizer.chatTemplate;
  if (source === null) return null;
  GENERATION_TAG.lastIndex = 0;
  const hasMarkers = GENERATION_TAG.test(source);
  const marked = hasMarkers
    ? source.replace(GENERATION_TAG, (_tag, left: string, end: string | undefined, right: string) => `{%${left} if true %}${end ? END : START}{% endif ${right}%}`)
    : null;
  return { source, marked };
}

function render(tokenizer: HoneTokenizer, template: string, messages: readonly Turn[], addGenerationPrompt: boolean, where: Where): string {
  try {
    return tokenizer.applyChatTemplate([...messages], { addGenerationPrompt, chatTemplate: template });
  } catch (error) {
    throw new RowsError(`the chat template cannot render it: ${(error as Error).message}`, where.record, where.field, where.kind);
  }
}

/** Strips the markers, returning the text and the spans [start, end) they enclosed. */
function markedSpans(rendered: string, where: Where): { text: string; spans: [number, number][] } {
  let text = '';
  let open = -1;
  const spans: [number, number][] = [];
  for (const char of rendered) {
    if (char === START) {
      if (open !== -1) throw new RowsError('the chat template opens a {% generation %} block inside another', where.record, where.field, where.kind);
      open = text.length;
    } else if (char === END) {
      if (open === -1) throw new RowsError('the chat template closes a {% generation %} block it never opened', where.record, where.field, where.kind);
      spans.push([open, text.length]);
      open = -1;
    } else text += char;
  }
  if (open !== -1) throw new RowsError('the chat template leaves a {% generation %} block open', where.record, where.field, where.kind);
  return { text, spans };
}

/** Spans of the assistant turns found by rendering prefixes of the conversation (see the top). */
function prefixSpans(tokenizer: HoneTokenizer, template: string, messages: readonly Turn[], full: string, where: Where): [number, number][] {
  const spans: [number, number][] = [];
  messages.forEach((turn, i) => {
    if (turn.role !== 'assistant') return;
    const field = turnField(where, i);
    const before = render(tokenizer, template, messages.slice(0, i), true, where);
    const through = render(tokenizer, template, messages.slice(0, i + 1), false, where);
    if (!through.startsWith(before) || !full.startsWith(through)) {
      throw new RowsError(
        'the chat template renders the conversation differently from its start up to this assistant turn, so the turn cannot be located; ' +
          'give a chat template with {% generation %} markers around assistant replies, or train with loss "all"',
        where.record,
        field,
        where.kind,
      );
    }
    if (through.length === before.length) {
      throw new RowsError('the chat template renders no text for this assistant turn, so there is nothing to learn from it', where.record, field, where.kind);
    }
    spans.push([before.length, through.length]);
  });
  return spans;
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

/** The token holding character `at` of `text` (0 ≤ at < text.length), given text's encoding `ids`. */
function tokenAt(tokenizer: HoneTokenizer, text: string, ids: readonly number[], at: number): number {
  const before = tokenizer.encode(text.slice(0, at), { addSpecialTokens: false });
  return Math.min(commonPrefix(before, ids), ids.length - 1);
}

/** The token holding the last character before `end`. */
function tokenEndingAt(tokenizer: HoneTokenizer, text: string, ids: readonly number[], end: number): number {
  const through = tokenizer.encode(text.slice(0, end), { addSpecialTokens: false });
  const common = commonPrefix(through, ids);
  return Math.min(common === through.length ? common - 1 : common, ids.length - 1);
}

export interface TokenizedChat {
  ids: number[];
  /** 1 for tokens of assistant turns, 0 elsewhere; only when asked for */
  assistantMask?: number[];
}

/**
 * The conversation's token ids through the chat template, and with `assistantMask` the mask of its
 * assistant tokens. Throws RowsError (naming the record and field) when the template fails, or
 * with `assistantMask` when no assistant token is found.
 */
export function tokenizeChat(
  tokenizer: HoneTokenizer,
  template: ChatTemplate,
  messages: readonly Turn[],
  opts: { addGenerationPrompt?: boolean; assistantMask?: boolean },
  where: Where,
): TokenizedChat {
  for (const [i, turn] of messages.entries()) {
    if (turn.content.includes(START) || turn.content.includes(END)) {
      throw new RowsError('holds the private-use characters U+E000 / U+E001, which Hone uses to find assistant turns; remove them', where.record, where.turnFields === false ? where.field : `${where.field}[${i}].content`, where.kind);
    }
  }
  const addGenerationPrompt = opts.addGenerationPrompt ?? false;
  if (!opts.assistantMask) {
    const rendered = template.marked === null ? render(tokenizer, template.source, messages, addGenerationPrompt, where) : markedSpans(render(tokenizer, template.marked, messages, addGenerationPrompt, where), where).text;
    return { ids: tokenizer.encode(rendered, { addSpecialTokens: false }) };
  }
  let text: string;
  let spans: [number, number][];
  if (template.marked !== null) {
    ({ text, spans } = markedSpans(render(tokenizer, template.marked, messages, addGenerationPrompt, where), where));
  } else {
    text = render(tokenizer, template.source, messages, addGenerationPrompt, where);
    spans = prefixSpans(tokenizer, template.source, messages, text, where);
  }
  const ids = tokenizer.encode(text, { addSpecialTokens: false });
  const mask = new Array<number>(ids.length).fill(0);
  for (const [start, end] of spans) {
    if (end <= start || ids.length === 0) continue;
    const first = tokenAt(tokenizer, text, ids, start);
    const last = tokenEndingAt(tokenizer, text, ids, end);
    for (let t = first; t <= last; t++) mask[t] = 1;
  }
  if (!mask.includes(1)) {
    throw new RowsError(
      'the chat template renders no assistant turn for it (no {% generation %} block produced text), so loss "assistant" has no token to score; ' +
        'check the template, or train with loss "all"',
      where.record,
      where.field,
      where.kind,
    );
  }
  return { ids, assistantMask: mask };
}
