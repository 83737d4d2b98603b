// Rendering records into (prompt, completion) pairs, FLAN style (Wei et al. 2021; Longpre et al.
// 2023, github.com/google-research/FLAN, flan/v2/few_shot.py):
// - the prompt ends with the template's delimiter (FLAN's x_y_delimiter "\n\n" unless the template
//   says otherwise), so prompt + completion is the whole training text;
// - k-shot: each exemplar is its own prompt + completion, exemplars and query joined by "\n\n\n"
//   (FLAN's example_separator);
// - options render as "\n\nOPTIONS:\n- yes\n- no" where the template puts {options}, or at the end
//   of the prompt when it has no {options}; {options} is empty when there are none.
// Chat models get a messages array instead, for the tokenizer's own chat template; SNI-style
// prompts follow Tk-Instruct's encoding (Wang et al. 2022, "Super-NaturalInstructions"):
// definition, positive and negative examples with explanations, then the instance.
import type { Turn } from '../record';
import { fillTemplateText, formatOptions, usesPlaceholder } from './fill';
import { TemplateError, type RenderableRecord, type RenderedExample, type RenderOptions, type Template } from './types';

export const DEFAULT_DELIMITER = '\n\n';
export const EXAMPLE_SEPARATOR = '\n\n\n';

interface Parts {
  /** the prompt without its delimiter (what a chat user turn shows) */
  body: string;
  delimiter: string;
  completion: string;
}

const hasText = (s: string | undefined): s is string => s !== undefined && s.trim() !== '';

function fail(where: string, message: string): never {
  throw new TemplateError(`${where}: ${message}`);
}

/** Whether a template fits a record: it uses {context} exactly when the record has a context. */
export function templateFits(template: Template, record: RenderableRecord): boolean {
  return usesPlaceholder(template, 'context') === hasText(record.context);
}

function renderParts(record: RenderableRecord, template: Template | undefined, opts: RenderOptions, where: string): Parts {
  if (record.conversation) {
    fail(where, `is a conversation of ${record.conversation.length} turns; render it with renderChat instead`);
  }
  const mode = opts.mode ?? 'instructions';
  const options = opts.options ?? template?.options ?? [];
  const optionsText = options.length > 0 ? `\n\n${formatOptions(options)}` : '';
  if (mode === 'no-template' || mode === 'dataset-name') {
    if (record.output === undefined) fail(where, 'has no output to use as the completion');
    const input = hasText(record.context) ? record.context : record.instruction;
    let body = input;
    if (mode === 'dataset-name') {
      const name = opts.taskName ?? record.task;
      if (!hasText(name)) fail(where, 'has no task, and "dataset-name" rendering shows one; set taskName');
      body = `${name}: ${input}`;
    }
    return { body: body + optionsText, delimiter: opts.delimiter ?? DEFAULT_DELIMITER, completion: record.output };
  }
  if (mode !== 'instructions') fail(where, `unknown render mode "${String(mode)}" (known: instructions, no-template, dataset-name)`);
  if (!template) fail(where, 'needs a template in "instructions" mode');
  const name = `template "${template.id}"`;
  const usesContext = usesPlaceholder(template, 'context');
  if (usesContext && !hasText(record.context)) {
    fail(where, `${name} uses {context} but the record has no context; pick a template without {context}`);
  }
  if (!usesContext && hasText(record.context)) {
    fail(where, `${name} has no {context}, so the record's context would be dropped; pick a template with {context}`);
  }
  if (usesPlaceholder(template, 'output') && record.output === undefined) fail(where, `${name} uses {output} but the record has no output`);
  if (usesPlaceholder(template, 'instruction') && record.instruction === '') {
    fail(where, `${name} uses {instruction} but the record's instruction is empty (plain text is mixed in as is, not templated)`);
  }
  const values = { instruction: record.instruction, context: record.context ?? '', output: record.output ?? '', options: optionsText };
  let body = fillTemplateText(template.prompt, values, `${name}, prompt`);
  if (optionsText && !usesPlaceholder(template, 'options')) body += optionsText;
  const completion = fillTemplateText(template.completion, values, `${name}, completion`);
  return { body, delimiter: template.delimiter ?? DEFAULT_DELIMITER, completion };
}

/**
 * A record as one training example. With `shots`, each exemplar is rendered the same way (same
 * template, mode and options) and shown before the query. Throws TemplateError naming the record or
 * shot when the template does not fit it (see templateFits) or a field it needs is missing.
 */
export function renderExample(record: RenderableRecord, template: Template | undefined, opts: RenderOptions = {}): RenderedExample {
  const query = renderParts(record, template, opts, 'record');
  const shots = (opts.shots ?? []).map((shot, i) => renderParts(shot, template, opts, `shot ${i + 1}`));
  const exemplars = shots.map((s) => s.body + s.delimiter + s.completion + EXAMPLE_SEPARATOR).join('');
  return { prompt: exemplars + query.body + query.delimiter, completion: query.completion };
}

export interface ChatRenderOptions extends RenderOptions {
  /** a system turn to put first (a conversation's own system turn wins) */
  system?: string;
}

/**
 * A record as chat messages for the tokenizer's chat template: shots become earlier user/assistant
 * turns, the query the last user turn and the completion the assistant's answer. A multi-turn
 * record is its conversation as is.
 */
export function renderChat(record: RenderableRecord, template: Template | undefined, opts: ChatRenderOptions = {}): { messages: Turn[] } {
  const messages: Turn[] = [];
  const conversation = record.conversation ?? [];
  // Chat templates want the system turn first, before any exemplar turns.
  const ownSystem = conversation[0]?.role === 'system' ? conversation[0] : undefined;
  const system = ownSystem?.content ?? opts.system;
  if (system !== undefined) messages.push({ role: 'system', content: system });
  (opts.shots ?? []).forEach((shot, i) => {
    const parts = renderParts(shot, template, opts, `shot ${i + 1}`);
    messages.push({ role: 'user', content: parts.body }, { role: 'assistant', content: parts.completion });
  });
  if (record.conversation) {
    for (const turn of conversation.slice(ownSystem ? 1 : 0)) messages.push({ role: turn.role, content: turn.content });
    return { messages };
  }
  const parts = renderParts(record, template, opts, 'record');
  messages.push({ role: 'user', content: parts.body }, { role: 'assistant', content: parts.completion });
  return { messages };
}

export interface SniDemonstration {
  input?: string;
  output: string;
  explanation?: string;
}

export interface SniRenderOptions {
  /** the task definition; default the record's instruction (the SNI importer puts it there) */
  definition?: string;
  positives?: readonly SniDemonstration[];
  /** default the record's own negatives; [] shows none */
  negatives?: readonly SniDemonstration[];
  /** show explanations (Tk-Instruct's "pos + neg + expl" encoding); default true */
  explanations?: boolean;
}

function demonstration(kind: 'Positive' | 'Negative', n: number, demo: SniDemonstration, explanations: boolean): string {
  const lines = [`${kind} Example ${n} -`];
  if (hasText(demo.input)) lines.push(`Input: ${demo.input.trim()}`);
  lines.push(`Output: ${demo.output.trim()}`);
  if (explanations && hasText(demo.explanation)) lines.push(`Explanation: ${demo.explanation.trim()}`);
  return lines.join('\n') + '\n\n';
}

/**
 * Tk-Instruct's prompt: "Definition: …\n\n", positive then negative examples ("Positive Example 1 -\n
 * Input: …\nOutput: …\nExplanation: …\n\n"), then "Now complete the following example -\nInput: …\n
 * Output: ". Tk-Instruct's quirks are left out (it added a period to text without final punctuation
 * and a space before each example). A record without a context shows no Input line; negative
 * examples imported from SNI carry no input, so theirs is left out too.
 */
export function renderSni(record: RenderableRecord, opts: SniRenderOptions = {}): RenderedExample {
  if (record.conversation) fail('record', 'is a conversation; SNI-style prompts hold one instance');
  if (record.output === undefined) fail('record', 'has no output to use as the completion');
  const explanations = opts.explanations ?? true;
  const definition = opts.definition ?? record.instruction;
  let prompt = hasText(definition) ? `Definition: ${definition.trim()}\n\n` : '';
  (opts.positives ?? []).forEach((demo, i) => (prompt += demonstration('Positive', i + 1, demo, explanations)));
  (opts.negatives ?? record.negatives ?? []).forEach((demo, i) => (prompt += demonstration('Negative', i + 1, demo, explanations)));
  prompt += 'Now complete the following example -\n';
  if (hasText(record.context)) prompt += `Input: ${record.context.trim()}\n`;
  prompt += 'Output: ';
  return { prompt, completion: record.output };
}
