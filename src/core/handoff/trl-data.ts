// A run's examples as TRL dataset rows (trl docs, "Dataset formats and types"), rendered exactly as
// the row builder renders them (src/core/train/rows/sequences.ts), so TRL's SFTTrainer — and Hone's
// own TRL importer — trains on the same token rows:
//   text record                        → {"text"}                      (language modeling, standard)
//   conversation                       → {"messages"}                  (language modeling, conversational)
//   TRL prompt-completion pair         → {"prompt", "completion"}      as given (standard or conversational)
//   instruction, 'alpaca' / 'template' → {"prompt", "completion"}      the rendered prompt, the answer
//   instruction, 'chat'                → {"prompt": [turns], "completion": [reply]}  (conversational pair:
//                                        completion-only loss masks the prompt, as the row builder does)
//   SNI record                         → as instruction, through SNI's prompt
// The split follows the run builder's rules (run-builder.ts buildRunData): test records never train,
// validation is the records' own split or the seeded held-out share per stage.
import { getTemplate, DEFAULT_DELIMITER, renderChat, renderExample, renderSni } from '../data/templates';
import { PARAPHRASE_TAG_PREFIX } from '../data/augment';
import { recordKind, type InstructionRecord, type Turn } from '../data/record';
import { DEFAULT_VALIDATION_FRACTION, splitOff, stageOf } from '../train/run-builder';
import { renderInstruction } from '../train/run';
import { shotsFor, templateFor, userTurn } from '../train/rows/sequences';
import type { PromptFormat } from '../train/rows';

export type TrlRow =
  | { text: string }
  | { messages: Turn[] }
  | { prompt: string; completion: string }
  | { prompt: Turn[]; completion: Turn[] };

/** TRL's four formats, by the keys of a row: what train_trl.py and axolotl.yaml dispatch on. */
export type TrlFormat = 'text' | 'messages' | 'prompt-completion' | 'conversational-prompt-completion';

export interface TrlRenderSettings {
  promptFormat: PromptFormat;
  /** the run's seed: the 'template' format's seeded template choice */
  seed: number;
  /** SNI prompts: demonstrations shown (the row builder's defaults 2 / 0) */
  sniPositives?: number;
  sniNegatives?: number;
}

const turns = (list: readonly Turn[]): Turn[] => list.map(({ role, content }) => ({ role, content }));

export function formatOf(row: TrlRow): TrlFormat {
  if ('text' in row) return 'text';
  if ('messages' in row) return 'messages';
  return typeof row.prompt === 'string' ? 'prompt-completion' : 'conversational-prompt-completion';
}

function need(record: InstructionRecord, index: number): string {
  if (typeof record.output !== 'string') throw new Error(`record ${index}, field "output": is missing; there is no answer to learn`);
  return record.output;
}

function instructionRow(records: readonly InstructionRecord[], record: InstructionRecord, index: number, settings: TrlRenderSettings): TrlRow {
  const output = need(record, index);
  const { promptFormat } = settings;
  if (promptFormat === 'alpaca') {
    const { prompt, completion } = renderInstruction({ ...record, output });
    return { prompt, completion };
  }
  const paraphrase = record.tags?.find((tag) => tag.startsWith(PARAPHRASE_TAG_PREFIX));
  if (promptFormat === 'template' && paraphrase !== undefined && record.templateId === undefined) {
    let delimiter = DEFAULT_DELIMITER;
    try {
      delimiter = getTemplate(paraphrase.slice(PARAPHRASE_TAG_PREFIX.length)).delimiter ?? DEFAULT_DELIMITER;
    } catch {
      // as the row builder: a template registered in another session gets FLAN's default delimiter
    }
    return { prompt: record.instruction + delimiter, completion: output };
  }
  const ctx = { records, seed: settings.seed };
  if (promptFormat === 'template') {
    const template = templateFor(ctx, record, index);
    const { prompt, completion } = renderExample(record, template, { shots: shotsFor(ctx, record, index, template) });
    return { prompt, completion };
  }
  let chat: Turn[] = [{ role: 'user', content: userTurn(record) }, { role: 'assistant', content: output }];
  if (record.templateId !== undefined) {
    const template = getTemplate(record.templateId);
    chat = renderChat(record, template, { shots: shotsFor(ctx, record, index, template) }).messages;
  }
  return { prompt: turns(chat.slice(0, -1)), completion: turns(chat.slice(-1)) };
}

/**
 * One record as a TRL row. `records` is the list the row builder sees with it (k-shot exemplars
 * come from there) and `index` its place in that list.
 */
export function trlRowOf(records: readonly InstructionRecord[], index: number, settings: TrlRenderSettings): TrlRow {
  const record = records[index];
  const kind = recordKind(record);
  switch (kind) {
    case 'text':
      return { text: need(record, index) };
    case 'prompt-completion':
      if (record.conversation !== undefined) {
        const split = record.promptTurns ?? 1;
        return { prompt: turns(record.conversation.slice(0, split)), completion: turns(record.conversation.slice(split)) };
      }
      return { prompt: record.instruction, completion: need(record, index) };
    case 'conversation':
      if (record.conversation !== undefined) return { messages: turns(record.conversation) };
      return { messages: [{ role: 'user', content: userTurn(record) }, { role: 'assistant', content: need(record, index) }] };
    case 'sni': {
      const output = need(record, index);
      const positives = (record.positives ?? []).slice(0, settings.sniPositives ?? 2).map(({ input, output: answer }) => ({ input, output: answer }));
      const negatives = (record.negatives ?? []).slice(0, settings.sniNegatives ?? 0);
      const { prompt, completion } = renderSni({ ...record, output }, { positives, negatives, explanations: true });
      if (settings.promptFormat === 'chat') return { prompt: [{ role: 'user', content: prompt.trimEnd() }], completion: [{ role: 'assistant', content: completion }] };
      return { prompt, completion };
    }
    case 'instruction':
      return instructionRow(records, record, index, settings);
    default:
      throw new Error(`record ${index}, field "kind": unknown kind ${JSON.stringify(kind)}`);
  }
}

export interface HandoffData {
  /** what the run trains on, in the run's order (stage after stage) */
  train: TrlRow[];
  /** what the run validates on */
  validation: TrlRow[];
  /** the formats present in train and validation, in first-seen order */
  formats: TrlFormat[];
}

/** The run's examples split as the run builder splits them, each rendered as a TRL row. */
export function handoffData(records: readonly InstructionRecord[], settings: TrlRenderSettings & { validationFraction?: number }): HandoffData {
  const fraction = settings.validationFraction ?? DEFAULT_VALIDATION_FRACTION;
  const stages = records.map((record, i) => stageOf(record, i));
  const order = [...new Set(stages)].sort((a, b) => (a ?? 0) - (b ?? 0));
  const hasSplit = records.some((r) => r.split === 'validation');
  const train: TrlRow[] = [];
  const validation: TrlRow[] = [];
  order.forEach((stage, g) => {
    const kept = records.map((_, i) => i).filter((i) => stages[i] === stage && records[i].split !== 'test');
    const split = hasSplit
      ? { train: kept.filter((i) => records[i].split !== 'validation'), validation: kept.filter((i) => records[i].split === 'validation') }
      : splitOff(kept, fraction, settings.seed + g);
    for (const [part, out] of [[split.train, train], [split.validation, validation]] as const) {
      // the row builder renders each part on its own, so k-shot exemplars come from within the part
      const partRecords = part.map((i) => records[i]);
      partRecords.forEach((_, local) => {
        try {
          out.push(trlRowOf(partRecords, local, settings));
        } catch (error) {
          throw new Error((error as Error).message.replace(`record ${local}`, `record ${part[local]}`), { cause: error });
        }
      });
    }
  });
  const formats = [...new Set([...train, ...validation].map(formatOf))];
  return { train, validation, formats };
}

/** JSON Lines, one row a line, as `datasets.load_dataset("json", …)` and Hone's TRL importer read it. */
export function jsonLines(rows: readonly TrlRow[]): string {
  return rows.map((row) => JSON.stringify(row)).join('\n') + (rows.length ? '\n' : '');
}
