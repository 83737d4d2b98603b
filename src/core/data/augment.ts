// Augmentation: new records made from existing ones.
//
//   invertRecord(record) → InstructionRecord | undefined     answer → question generation
//   invertRecords(records) → { records, skipped }
//   paraphraseRecord(record, rng, { exclude?, set? }) → InstructionRecord | undefined
//   paraphraseRecords(records, { seed, perRecord? }) → { records, skipped }
//
// Inversion is FLAN's "turned around" task (Wei et al. 2021 §2.1) made into records: given the
// answer, produce the instruction (or, when the record has an input, given the task and the answer,
// produce the input), so the model also learns the mapping backwards. Paraphrase re-renders a
// record through a different template of its task (templates/), FLAN's several phrasings per task,
// and stores the rendered prompt as the instruction.
// New records keep the source record's task cluster, split, source and tags (plus a tag saying
// how they were made): an augmented test example must stay out of training. They drop negatives and
// alternative outputs, which belong to the original direction. Conversations, records without an
// output and plain text (empty instruction) are skipped, not errors: a mixed dataset is normal.
import { Rng } from '../rng';
import type { InstructionRecord } from './record';
import { fittingTemplates, renderExample, templateSetFor, GENERIC_TASK, type Template, type TemplateSet } from './templates';

/** What augmentation reads: an InstructionRecord or a stored example (its extra fields are not copied). */
export interface AugmentableRecord {
  instruction: string;
  context?: string;
  output?: string;
  conversation?: readonly { role: string; content: string }[];
  task?: string;
  cluster?: string;
  split?: InstructionRecord['split'];
  source?: string;
  tags?: readonly string[];
}

export const INVERTED_INSTRUCTION = 'Write an instruction or question to which the text below is a good response.';
export const INVERTED_WITH_INPUT_INSTRUCTION = 'Write an input for the task below so that the given answer is the correct response.';

export const INVERTED_TAG = 'inverted';
export const PARAPHRASE_TAG_PREFIX = 'paraphrase:';

function augmentable(record: AugmentableRecord): record is AugmentableRecord & { output: string } {
  return !record.conversation && record.output !== undefined && record.output.trim() !== '' && record.instruction.trim() !== '';
}

/** The fields an augmented record inherits, with `tag` added to its tags. */
function inherit(record: AugmentableRecord, tag: string, task: string | undefined): Partial<InstructionRecord> {
  const out: Partial<InstructionRecord> = {};
  if (task !== undefined) out.task = task;
  if (record.cluster !== undefined) out.cluster = record.cluster;
  if (record.split !== undefined) out.split = record.split;
  if (record.source !== undefined) out.source = record.source;
  out.tags = [...(record.tags ?? []), tag];
  return out;
}

/**
 * The turned-around record, or undefined when the record cannot be inverted (see the file comment).
 * Without an input: instruction ← INVERTED_INSTRUCTION, context ← the output, output ← the instruction.
 * With one: instruction ← INVERTED_WITH_INPUT_INSTRUCTION, context ← "Task: …\n\nAnswer: …", output ← the input.
 * Its task is "<task>:inverted" (or "inverted"), so mixing and held-out evaluation can tell it apart.
 */
export function invertRecord(record: AugmentableRecord): InstructionRecord | undefined {
  if (!augmentable(record)) return undefined;
  const task = record.task !== undefined ? `${record.task}:${INVERTED_TAG}` : INVERTED_TAG;
  const hasInput = record.context !== undefined && record.context.trim() !== '';
  const core: InstructionRecord = hasInput
    ? { instruction: INVERTED_WITH_INPUT_INSTRUCTION, context: `Task: ${record.instruction}\n\nAnswer: ${record.output}`, output: record.context }
    : { instruction: INVERTED_INSTRUCTION, context: record.output, output: record.instruction };
  return { ...core, ...inherit(record, INVERTED_TAG, task) };
}

export interface AugmentResult {
  records: InstructionRecord[];
  /** indices of the records that could not be augmented */
  skipped: number[];
}

export function invertRecords(records: readonly AugmentableRecord[]): AugmentResult {
  const out: InstructionRecord[] = [];
  const skipped: number[] = [];
  records.forEach((record, i) => {
    const inverted = invertRecord(record);
    if (inverted) out.push(inverted);
    else skipped.push(i);
  });
  return { records: out, skipped };
}

function paraphraseCandidates(record: AugmentableRecord & { output: string }, set: TemplateSet | undefined, exclude: readonly string[]): Template[] {
  const view = { instruction: record.instruction, context: record.context, output: record.output };
  const keep = (templates: Template[]) => templates.filter((t) => !exclude.includes(t.id));
  const own = keep(fittingTemplates(set ?? templateSetFor(record.task), view));
  return own.length > 0 ? own : keep(fittingTemplates(templateSetFor(GENERIC_TASK), view));
}

function paraphraseWith(record: AugmentableRecord & { output: string }, template: Template): InstructionRecord {
  const { prompt, completion } = renderExample({ instruction: record.instruction, context: record.context, output: record.output }, template);
  const delimiter = template.delimiter ?? '\n\n';
  // The delimiter is the seam between prompt and completion; as an instruction the prompt stands alone.
  const instruction = prompt.slice(0, prompt.length - delimiter.length);
  return { instruction, output: completion, ...inherit(record, `${PARAPHRASE_TAG_PREFIX}${template.id}`, record.task) };
}

/**
 * The record re-rendered through a random fitting standard template of its task (the generic set
 * when its task has none), other than those in `exclude`; undefined when it cannot be augmented or
 * no template is left. The rendered prompt (context included) becomes the instruction.
 */
export function paraphraseRecord(
  record: AugmentableRecord,
  rng: Rng,
  opts: { exclude?: readonly string[]; set?: TemplateSet } = {},
): InstructionRecord | undefined {
  if (!augmentable(record)) return undefined;
  const candidates = paraphraseCandidates(record, opts.set, opts.exclude ?? []);
  if (candidates.length === 0) return undefined;
  return paraphraseWith(record, candidates[rng.int(candidates.length)]);
}

/**
 * `perRecord` paraphrases of each record through distinct templates, seeded. A record with fewer
 * fitting templates gets as many as there are; one with none is listed in `skipped`.
 */
export function paraphraseRecords(records: readonly AugmentableRecord[], opts: { seed: number; perRecord?: number }): AugmentResult {
  const perRecord = opts.perRecord ?? 1;
  if (!Number.isInteger(perRecord) || perRecord < 1) throw new Error(`paraphraseRecords: perRecord must be a whole number ≥ 1, got ${perRecord}`);
  const rng = new Rng(opts.seed);
  const out: InstructionRecord[] = [];
  const skipped: number[] = [];
  records.forEach((record, i) => {
    const pool = augmentable(record) ? paraphraseCandidates(record, undefined, []) : [];
    if (!augmentable(record) || pool.length === 0) {
      skipped.push(i);
      return;
    }
    // a partial Fisher–Yates: the first perRecord of a seeded shuffle, so the templates are distinct
    for (let k = 0; k < Math.min(perRecord, pool.length); k++) {
      const j = k + rng.int(pool.length - k);
      [pool[k], pool[j]] = [pool[j], pool[k]];
      out.push(paraphraseWith(record, pool[k]));
    }
  });
  return { records: out, skipped };
}
