// One record → one training sequence (token ids and labels, before truncation), by the record's
// kind, following TRL 1.13's SFTTrainer._prepare_dataset (trl/trainer/sft_trainer.py):
// - text: EOS appended unless the text ends with it, tokenized with the tokenizer's special tokens
//   (Llama's <s>), every token scored;
// - standard prompt-completion (TRL's own, and every instruction record rendered to a prompt): EOS
//   appended to the completion; prompt and prompt + completion tokenized separately and the first
//   len(prompt ids) tokens of the joint encoding masked (completion_only_loss);
// - conversations (TRL's `messages`): the chat template, every token scored, or with loss
//   'assistant' only the assistant turns (assistant_only_loss);
// - conversational prompt-completion: the prompt rendered with the generation prompt, prompt +
//   completion without, masked by the prompt's length (and by the assistant mask with 'assistant').
// Loss 'all' is completion_only_loss=False: nothing masked except what 'assistant' masks — and
// 'all' never masks anything.
import { recordKind, type InstructionRecord, type RecordKind, type Turn } from '../../data/record';
import { PARAPHRASE_TAG_PREFIX } from '../../data/augment';
import { DEFAULT_DELIMITER, getTemplate, pickTemplate, renderChat, renderExample, renderSni, TemplateError, templateFits, type Template } from '../../data/templates';
import { Rng } from '../../rng';
import type { HoneTokenizer } from '../../tokenizer/tokenizer';
import { IGNORE_INDEX } from '../batch';
import { renderInstruction } from '../run';
import { tokenizeChat, turnField, type ChatTemplate, type Where } from './chat';
import { RowsError } from './error';
import type { Sequence } from './pack';
import type { LossMode, PromptFormat } from './index';

export interface SequenceContext {
  tokenizer: HoneTokenizer;
  records: readonly InstructionRecord[];
  loss: LossMode;
  promptFormat: PromptFormat;
  sniPositives: number;
  sniNegatives: number;
  seed: number;
  /** the chat template in use; null when neither the tokenizer nor the settings give one */
  chat: ChatTemplate | null;
}

const hasText = (s: string | undefined): s is string => s !== undefined && s.trim() !== '';

function eosText(ctx: SequenceContext, index: number, kind: RecordKind): string {
  const id = ctx.tokenizer.eosTokenId;
  const text = id === null ? undefined : ctx.tokenizer.idToToken(id);
  if (text === undefined) {
    throw new RowsError('needs an EOS token to end on, and the tokenizer has none (tokenizer_config.json eos_token)', index, 'output', kind);
  }
  return text;
}

function requireOutput(record: InstructionRecord, index: number, kind: RecordKind): string {
  if (typeof record.output !== 'string') throw new RowsError('is missing; there is no answer to learn', index, 'output', kind);
  return record.output;
}

/** TRL's standard prompt-completion tokenization. */
function pair(ctx: SequenceContext, prompt: string, completion: string, index: number, kind: RecordKind): Sequence {
  const eos = eosText(ctx, index, kind);
  const withEos = completion.endsWith(eos) ? completion : completion + eos;
  const promptIds = ctx.tokenizer.encode(prompt);
  const inputIds = ctx.tokenizer.encode(prompt + withEos);
  const labels = ctx.loss === 'all' ? [...inputIds] : inputIds.map((id, t) => (t < promptIds.length ? IGNORE_INDEX : id));
  return { inputIds, labels };
}

function text(ctx: SequenceContext, record: InstructionRecord, index: number): Sequence {
  const body = requireOutput(record, index, 'text');
  if (body === '') throw new RowsError('is empty; a text record needs text to learn', index, 'output', 'text');
  const eos = eosText(ctx, index, 'text');
  const inputIds = ctx.tokenizer.encode(body.endsWith(eos) ? body : body + eos);
  return { inputIds, labels: [...inputIds] };
}

function chatOf(ctx: SequenceContext, index: number, kind: RecordKind): ChatTemplate {
  if (ctx.chat === null) {
    throw new RowsError('trains through a chat template, and the tokenizer has none (tokenizer_config.json chat_template); give one (--chat-template) or use another prompt format', index, 'conversation', kind);
  }
  return ctx.chat;
}

function checkAssistant(messages: readonly Turn[], index: number, kind: RecordKind, field: string): void {
  if (!messages.some((t) => t.role === 'assistant')) {
    throw new RowsError('has no assistant turn, so there is nothing to learn', index, field, kind);
  }
}

/** Without an assistant mask nothing proves the template rendered the replies; check they are in the text. */
function checkRendered(ctx: SequenceContext, chat: ChatTemplate, messages: readonly Turn[], where: Where): void {
  const rendered = ctx.tokenizer.applyChatTemplate([...messages], { chatTemplate: chat.marked ?? chat.source });
  messages.forEach((turn, i) => {
    if (turn.role === 'assistant' && turn.content !== '' && !rendered.includes(turn.content)) {
      throw new RowsError('the chat template renders no assistant turn with this text, so the reply would not be trained on', where.record, turnField(where, i), where.kind);
    }
  });
}

/** A whole conversation (TRL's `messages`); `where` names the record's field for the turns. */
function conversation(ctx: SequenceContext, messages: readonly Turn[], index: number, where: Where): Sequence {
  checkAssistant(messages, index, 'conversation', where.field);
  const chat = chatOf(ctx, index, 'conversation');
  const assistant = ctx.loss === 'assistant';
  if (!assistant) checkRendered(ctx, chat, messages, where);
  const { ids, assistantMask } = tokenizeChat(ctx.tokenizer, chat, messages, { assistantMask: assistant }, where);
  return { inputIds: ids, labels: ids.map((id, t) => (assistantMask && assistantMask[t] === 0 ? IGNORE_INDEX : id)) };
}

/** A conversational prompt-completion pair: `promptTurns` leading turns of `messages` are the prompt. */
function chatPair(ctx: SequenceContext, messages: readonly Turn[], promptTurns: number, where: Where): Sequence {
  const { record: index, field } = where;
  const kind = where.kind as RecordKind;
  checkAssistant(messages.slice(promptTurns), index, kind, field);
  const chat = chatOf(ctx, index, kind);
  const assistant = ctx.loss === 'assistant';
  if (!assistant) checkRendered(ctx, chat, messages, where);
  const promptIds = tokenizeChat(ctx.tokenizer, chat, messages.slice(0, promptTurns), { addGenerationPrompt: true }, where).ids;
  const { ids, assistantMask } = tokenizeChat(ctx.tokenizer, chat, messages, { assistantMask: assistant }, where);
  const completionOnly = ctx.loss !== 'all';
  const labels = ids.map((id, t) => ((completionOnly && t < promptIds.length) || (assistantMask && assistantMask[t] === 0) ? IGNORE_INDEX : id));
  return { inputIds: ids, labels };
}

/** The instruction as a chat user turn: instruction and context, as the Alpaca prompt shows them. */
export function userTurn(record: InstructionRecord): string {
  return hasText(record.context) ? `${record.instruction}\n\n${record.context}` : record.instruction;
}

function templateError(error: unknown, index: number, field: string, kind: RecordKind): never {
  if (error instanceof TemplateError) throw new RowsError(error.message, index, field, kind);
  throw error;
}

/** 32-bit FNV-1a of a string's UTF-16 code units: a stable seed from a record's text. */
function textHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}

/** The FLAN template for an instruction record: the one shaping stored, else a seeded pick from its task's set. */
export function templateFor(ctx: Pick<SequenceContext, 'seed' | 'records'>, record: InstructionRecord, index: number): Template {
  try {
    if (record.templateId !== undefined) return getTemplate(record.templateId);
  } catch (error) {
    templateError(error, index, 'templateId', 'instruction');
  }
  try {
    // seeded by the record's own text, so a record gets the same template wherever it sits in a mixture
    return pickTemplate(record, new Rng(ctx.seed * 4294967296 + textHash(`${record.instruction}\u0000${record.context ?? ''}\u0000${record.output ?? ''}`)));
  } catch (error) {
    return templateError(error, index, 'task', 'instruction');
  }
}

/** k-shot exemplars: the next `shots` instruction records of the same task (after this one, wrapping) that fit the template. */
export function shotsFor(ctx: Pick<SequenceContext, 'records'>, record: InstructionRecord, index: number, template: Template): InstructionRecord[] {
  const wanted = record.shots ?? 0;
  const shots: InstructionRecord[] = [];
  for (let step = 1; step < ctx.records.length && shots.length < wanted; step++) {
    const other = ctx.records[(index + step) % ctx.records.length];
    if (other.task === record.task && recordKind(other) === 'instruction' && typeof other.output === 'string' && templateFits(template, other)) shots.push(other);
  }
  return shots;
}

function instruction(ctx: SequenceContext, record: InstructionRecord, index: number): Sequence {
  const kind = 'instruction';
  const output = requireOutput(record, index, kind);
  if (ctx.promptFormat === 'alpaca') {
    const { prompt, completion } = renderInstruction({ ...record, output });
    return pair(ctx, prompt, completion, index, kind);
  }
  const paraphrase = record.tags?.find((tag) => tag.startsWith(PARAPHRASE_TAG_PREFIX));
  if (ctx.promptFormat === 'template' && paraphrase !== undefined && record.templateId === undefined) {
    // augmentation already rendered it (augment.ts): the instruction is the templated prompt without its delimiter
    let delimiter = DEFAULT_DELIMITER;
    try {
      delimiter = getTemplate(paraphrase.slice(PARAPHRASE_TAG_PREFIX.length)).delimiter ?? DEFAULT_DELIMITER;
    } catch {
      // a template registered in another session: FLAN's default delimiter
    }
    return pair(ctx, record.instruction + delimiter, output, index, kind);
  }
  if (ctx.promptFormat === 'template') {
    const template = templateFor(ctx, record, index);
    try {
      const { prompt, completion } = renderExample(record, template, { shots: shotsFor(ctx, record, index, template) });
      return pair(ctx, prompt, completion, index, kind);
    } catch (error) {
      return templateError(error, index, 'templateId', kind);
    }
  }
  let turns: Turn[] = [{ role: 'user', content: userTurn(record) }, { role: 'assistant', content: output }];
  if (record.templateId !== undefined) {
    try {
      // the template's prompt as the user turn and its completion (the output, or the instruction when
      // turned around) as the reply; k-shot exemplars become earlier user / assistant turns
      const template = getTemplate(record.templateId);
      turns = renderChat(record, template, { shots: shotsFor(ctx, record, index, template) }).messages;
    } catch (error) {
      templateError(error, index, 'templateId', kind);
    }
  }
  return chatPair(ctx, turns, turns.length - 1, { record: index, kind, field: 'output', turnFields: false });
}

/** SNI's prompt (templates/render.ts renderSni, Tk-Instruct's encoding): definition, positives, negatives with explanations, the instance. */
function sni(ctx: SequenceContext, record: InstructionRecord, index: number): Sequence {
  const kind = 'sni';
  if (!hasText(record.instruction)) throw new RowsError('is empty; an SNI task needs its definition here', index, 'instruction', kind);
  const output = requireOutput(record, index, kind);
  const positives = (record.positives ?? []).slice(0, ctx.sniPositives).map(({ input, output: answer }) => ({ input, output: answer }));
  const negatives = (record.negatives ?? []).slice(0, ctx.sniNegatives);
  const { prompt, completion } = renderSni({ ...record, output }, { positives, negatives, explanations: true });
  if (ctx.promptFormat === 'chat') {
    return chatPair(ctx, [{ role: 'user', content: prompt.trimEnd() }, { role: 'assistant', content: completion }], 1, { record: index, kind, field: 'output', turnFields: false });
  }
  return pair(ctx, prompt, completion, index, kind);
}

/** The record's training sequence; throws RowsError naming the record and field when it cannot be made. */
export function sequenceOf(ctx: SequenceContext, record: InstructionRecord, index: number): Sequence {
  const kind = recordKind(record);
  switch (kind) {
    case 'text':
      return text(ctx, record, index);
    case 'prompt-completion': {
      if (record.conversation !== undefined) {
        const promptTurns = record.promptTurns;
        if (promptTurns === undefined || !(promptTurns >= 1 && promptTurns < record.conversation.length)) {
          throw new RowsError(`must say how many of the ${record.conversation.length} turns are the prompt (1 to ${record.conversation.length - 1})`, index, 'promptTurns', kind);
        }
        return chatPair(ctx, record.conversation, promptTurns, { record: index, kind, field: 'conversation' });
      }
      return pair(ctx, record.instruction, requireOutput(record, index, kind), index, kind);
    }
    case 'conversation': {
      if (record.conversation !== undefined) return conversation(ctx, record.conversation, index, { record: index, kind, field: 'conversation' });
      // a single-turn chat kept as instruction / output (importers/conversation.ts)
      const output = requireOutput(record, index, kind);
      const turns: Turn[] = [{ role: 'user', content: userTurn(record) }, { role: 'assistant', content: output }];
      return conversation(ctx, turns, index, { record: index, kind, field: 'output', turnFields: false });
    }
    case 'sni':
      return sni(ctx, record, index);
    case 'instruction':
      return instruction(ctx, record, index);
    default:
      throw new RowsError(`unknown kind ${JSON.stringify(kind)}`, index, 'kind');
  }
}
