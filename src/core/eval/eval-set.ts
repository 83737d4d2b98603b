// Eval sets: the items an evaluation runs on, where they come from (a stored dataset's test split or
// its held-out task clusters, inline items, a JSONL file) and how each becomes a prompt.
// Rendering follows FLAN (Wei et al. 2021; flan/v2/few_shot.py): zero-shot is the item alone,
// k-shot puts k solved exemplars of the same task in front, each rendered the same way and joined by
// FLAN's example separator. Two prompt formats:
// - 'alpaca': the Alpaca prompt that `hone train` and the Train view train with (renderInstruction),
//   so a tuned model is asked in the format it learned;
// - 'task': the data studio's template for the item's task (its first fitting standard template).
// No tensors, no DOM: the worker, the CLI and the UI (types only) share it.
import { EXAMPLE_SEPARATOR, fittingTemplates, GENERIC_TASK, renderExample, templateSetFor, type Template } from '../data/templates';
import type { InstructionRecord } from '../data/record';
import type { ExampleRecord } from '../store/schema';
import { Rng } from '../rng';
import { renderInstruction } from '../train/run';
import type { InstructionSpec } from './ifeval';
import { EvalSetupError, type EvalExample } from './scorers';

/** One thing to evaluate, before it is rendered into a prompt. */
export interface EvalItem {
  /** unique within the set; ratings and reports refer to it */
  id: string;
  instruction: string;
  context?: string;
  /** a ready prompt, used as is (zero-shot) instead of rendering instruction and context */
  prompt?: string;
  /** acceptable answers, best first; empty when the set has none */
  references: string[];
  task: string;
  cluster: string;
  /** multiple choice (acc / acc_norm): the options and the index of the correct one(s) */
  options?: string[];
  gold?: number | number[];
  /** IFEval instructions the answer must follow */
  checks?: InstructionSpec[];
}

export type PromptFormat = 'alpaca' | 'task';
export const PROMPT_FORMATS: readonly PromptFormat[] = ['alpaca', 'task'];
/** FLAN's figure uses up to five exemplars; more rarely fit a small model's context. */
export const MAX_SHOTS = 5;
/** what a task or cluster is called when the data does not say */
export const UNLABELLED = '(none)';

/** A stored example as an eval item; conversations have no single answer and give null. */
export function itemFromExample(example: ExampleRecord): EvalItem | null {
  if (example.conversation) return null;
  return itemFromRecord(example, example.id);
}

/** An imported record as an eval item (references: every acceptable output, `output` first). */
export function itemFromRecord(record: InstructionRecord | ExampleRecord, id: string): EvalItem | null {
  if (record.conversation) return null;
  const references = record.outputs?.length ? [...record.outputs] : record.output !== undefined && record.output.trim() !== '' ? [record.output] : [];
  const item: EvalItem = { id, instruction: record.instruction, references, task: record.task || UNLABELLED, cluster: record.cluster || record.task || UNLABELLED };
  if (record.context?.trim()) item.context = record.context;
  return item;
}

/** Keys that only Hone's eval lines carry: a file with them on its first line is read as eval items. */
export const EVAL_ONLY_KEYS = ['prompt', 'references', 'options', 'gold', 'checks'] as const;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isStrings = (value: unknown): value is string[] => Array.isArray(value) && value.every((v) => typeof v === 'string');

/**
 * Parses one line of Hone's eval JSONL: {id?, instruction? | prompt?, context?, references? |
 * output?, task?, cluster?, options?, gold?, checks?}. Errors name the line and the field.
 */
export function parseEvalLine(value: unknown, line: number): EvalItem {
  const where = `line ${line}`;
  if (!isObject(value)) throw new EvalSetupError(`${where}: an eval item must be a JSON object`);
  const known = new Set(['id', 'instruction', 'context', 'input', 'prompt', 'references', 'output', 'task', 'cluster', 'options', 'gold', 'checks']);
  const unknown = Object.keys(value).filter((key) => !known.has(key));
  if (unknown.length > 0) throw new EvalSetupError(`${where}: unknown field "${unknown[0]}" (an eval item has ${[...known].join(', ')})`);
  const text = (field: string): string | undefined => {
    const v = value[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw new EvalSetupError(`${where}, field "${field}": must be a string`);
    return v;
  };
  const instruction = text('instruction') ?? '';
  const prompt = text('prompt');
  if (instruction.trim() === '' && prompt === undefined) throw new EvalSetupError(`${where}: give "instruction" (rendered into a prompt) or "prompt" (used as is)`);
  let references: string[] = [];
  if (value['references'] !== undefined) {
    if (!isStrings(value['references'])) throw new EvalSetupError(`${where}, field "references": must be a list of strings`);
    references = value['references'];
  } else if (text('output') !== undefined) {
    references = [text('output')!];
  }
  const item: EvalItem = {
    id: text('id') ?? String(line),
    instruction,
    references,
    task: text('task') || UNLABELLED,
    cluster: text('cluster') || text('task') || UNLABELLED,
  };
  const context = text('context') ?? text('input');
  if (context?.trim()) item.context = context;
  if (prompt !== undefined) item.prompt = prompt;
  if (value['options'] !== undefined) {
    if (!isStrings(value['options'])) throw new EvalSetupError(`${where}, field "options": must be a list of strings`);
    item.options = value['options'];
  }
  if (value['gold'] !== undefined) item.gold = value['gold'] as number | number[]; // range-checked with the metric
  if (value['checks'] !== undefined) {
    if (!Array.isArray(value['checks'])) throw new EvalSetupError(`${where}, field "checks": must be a list of IFEval instructions`);
    item.checks = value['checks'] as InstructionSpec[];
  }
  return item;
}

/** Whether a JSONL file's first record is one of Hone's eval lines rather than a dataset record. */
export function isEvalLine(value: unknown): boolean {
  return isObject(value) && EVAL_ONLY_KEYS.some((key) => key in value);
}

/** Checks ids are unique and the set is not empty, naming the offending item. */
export function checkItems(items: readonly EvalItem[], what: string): void {
  if (items.length === 0) throw new EvalSetupError(`${what} has no examples to evaluate`);
  const seen = new Set<string>();
  items.forEach((item, i) => {
    if (seen.has(item.id)) throw new EvalSetupError(`${what}: example ${i + 1} has the id ${JSON.stringify(item.id)} of an earlier one; ids must be unique`);
    seen.add(item.id);
  });
}

/**
 * For log-likelihood metrics on data without options (a stored classification task): each task's
 * distinct first references become its options, FLAN's OPTIONS for classification. Items that
 * already have options keep them. Throws when a task has fewer than 2 or more than 20 answers.
 */
export function optionsFromTasks(items: readonly EvalItem[]): EvalItem[] {
  const answers = new Map<string, string[]>();
  for (const item of items) {
    if (item.options || item.references.length === 0) continue;
    const list = answers.get(item.task) ?? [];
    if (!list.includes(item.references[0])) list.push(item.references[0]);
    answers.set(item.task, list);
  }
  for (const [task, list] of answers) {
    if (list.length < 2 || list.length > 20) {
      throw new EvalSetupError(
        `task ${JSON.stringify(task)} has ${list.length} distinct answer(s); ranking options by log-likelihood needs 2 to 20 (a classification task), ` +
          'so choose a generation metric (e.g. rougeL) for it, or give the items "options" and "gold"',
      );
    }
    list.sort();
  }
  return items.map((item) => {
    if (item.options || item.references.length === 0) return item;
    const options = answers.get(item.task)!;
    return { ...item, options, gold: options.indexOf(item.references[0]) };
  });
}

/** The answer an exemplar shows: the correct option for multiple choice, else the first reference. */
function answerOf(item: EvalItem): string | undefined {
  if (item.options && item.gold !== undefined) return item.options[Array.isArray(item.gold) ? item.gold[0] : item.gold];
  return item.references[0];
}

/** The data studio's template for an item: its task's first fitting standard template, else the generic set's. */
export function templateFor(item: EvalItem): Template {
  const record = { instruction: item.instruction, context: item.context, task: item.task };
  const fitting = fittingTemplates(templateSetFor(item.task), record);
  const found = fitting[0] ?? fittingTemplates(templateSetFor(GENERIC_TASK), record)[0];
  if (!found) throw new EvalSetupError(`no template fits example ${JSON.stringify(item.id)} of task ${JSON.stringify(item.task)}`);
  return found;
}

/** The item's prompt with k exemplars (none = zero-shot) in front. */
export function renderPrompt(item: EvalItem, format: PromptFormat, shots: readonly EvalItem[] = []): string {
  if (item.prompt !== undefined) {
    // a ready prompt: exemplars are shown as their own prompt (or instruction) followed by the answer
    const exemplars = shots.map((shot) => (shot.prompt ?? renderPrompt({ ...shot, prompt: undefined }, format)) + answerOf(shot) + EXAMPLE_SEPARATOR);
    return exemplars.join('') + item.prompt;
  }
  if (format === 'alpaca') {
    const exemplars = shots.map((shot) => {
      const rendered = renderInstruction({ instruction: shot.instruction, context: shot.context, output: answerOf(shot) ?? '' });
      return rendered.prompt + rendered.completion + EXAMPLE_SEPARATOR;
    });
    return exemplars.join('') + renderInstruction({ instruction: item.instruction, context: item.context, output: '' }).prompt;
  }
  if (format !== 'task') throw new EvalSetupError(`unknown prompt format ${JSON.stringify(format)} (known: ${PROMPT_FORMATS.join(', ')})`);
  const template = templateFor(item);
  const record = (it: EvalItem) => ({ instruction: it.instruction, context: it.context, output: answerOf(it), task: it.task });
  // exemplars must fit the query's template (same use of context): render each with its own when not
  const sameShape = shots.every((shot) => Boolean(shot.context?.trim()) === Boolean(item.context?.trim()));
  if (sameShape) return renderExample(record(item), template, { shots: shots.map(record), options: item.options }).prompt;
  const exemplars = shots.map((shot) => {
    const rendered = renderExample(record(shot), templateFor(shot), { options: shot.options });
    return rendered.prompt + rendered.completion + EXAMPLE_SEPARATOR;
  });
  return exemplars.join('') + renderExample(record(item), template, { options: item.options }).prompt;
}

/**
 * k exemplars for each item, FLAN style: solved examples of the same task first, then of other
 * tasks, never the item itself; a seeded shuffle picks among them so the same seed gives the same
 * prompts. The pool is the dataset's training examples when there are any, else the eval set.
 */
export function pickShots(items: readonly EvalItem[], pool: readonly EvalItem[], k: number, seed: number): EvalItem[][] {
  if (!Number.isInteger(k) || k < 0 || k > MAX_SHOTS) throw new EvalSetupError(`shots must be a whole number from 0 to ${MAX_SHOTS}, got ${k}`);
  if (k === 0) return items.map(() => []);
  const solved = pool.filter((item) => answerOf(item) !== undefined);
  const rng = new Rng(seed);
  const order = solved.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const shuffled = order.map((i) => solved[i]);
  return items.map((item) => {
    const others = shuffled.filter((candidate) => candidate.id !== item.id || candidate.prompt !== item.prompt || candidate.instruction !== item.instruction);
    const same = others.filter((candidate) => candidate.task === item.task);
    const picked = [...same, ...others.filter((candidate) => candidate.task !== item.task)].slice(0, k);
    if (picked.length < k) {
      throw new EvalSetupError(`a ${k}-shot prompt for example ${JSON.stringify(item.id)} needs ${k} solved exemplars besides it, but only ${picked.length} are available; lower the shots or add training examples`);
    }
    return picked;
  });
}

/** Items as the runner's examples (prompt rendered) for one prompt per item. */
export function toExamples(items: readonly EvalItem[], prompts: readonly string[]): EvalExample[] {
  return items.map((item, i) => {
    const example: EvalExample = { id: item.id, prompt: prompts[i], task: item.task, cluster: item.cluster };
    if (item.references.length > 0) example.references = item.references;
    if (item.options) example.options = item.options;
    if (item.gold !== undefined) example.gold = item.gold;
    if (item.checks) example.checks = item.checks;
    return example;
  });
}
