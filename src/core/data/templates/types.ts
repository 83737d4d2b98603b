// The shapes templates work with. A template is FLAN's (input pattern, output pattern) pair over a
// record's fields; a template set is all the phrasings of one task (FLAN used ten per dataset,
// some "turned around" so the model learns the inverse task too).
import type { Turn } from '../record';

/** The record fields rendering reads. InstructionRecord fits; so does anything with these fields. */
export interface RenderableRecord {
  instruction: string;
  context?: string;
  output?: string;
  conversation?: readonly Turn[];
  task?: string;
  negatives?: readonly { output: string; explanation?: string }[];
}

/**
 * One phrasing. `prompt` and `completion` may use the placeholders {instruction}, {context},
 * {output} and {options}; `{{` and `}}` write literal braces.
 * A template that uses {context} applies only to records with a non-empty context, and one that
 * does not applies only to records without: a record's input is never silently dropped.
 */
export interface Template {
  /** unique within its set, e.g. "generic/3"; shown in the UI and kept in paraphrase tags */
  id: string;
  prompt: string;
  /** usually "{output}"; a turned-around template produces something else, e.g. "{instruction}" */
  completion: string;
  /** true for templates that invert the task (given the answer, produce the question) */
  inverted?: boolean;
  /** answer choices shown as FLAN's OPTIONS list (classification); RenderOptions.options overrides */
  options?: readonly string[];
  /** text between prompt and completion; default "\n\n", FLAN's x_y_delimiter */
  delimiter?: string;
}

export interface TemplateSet {
  /** the task name records carry (Dolly category, SNI task file name), or "generic" */
  task: string;
  /** one line for people choosing templates */
  description: string;
  templates: readonly Template[];
}

/**
 * How to render:
 * - 'instructions': through the template (the default);
 * - 'no-template': the input alone (context when present, else instruction), FLAN's "no template" ablation;
 * - 'dataset-name': "<task name>: <input>", FLAN's "dataset name only" ablation.
 */
export type RenderMode = 'instructions' | 'no-template' | 'dataset-name';

export interface RenderOptions {
  mode?: RenderMode;
  /** k-shot exemplars shown before the query, each rendered the same way; none = zero-shot */
  shots?: readonly RenderableRecord[];
  /** answer choices; [] hides the template's own */
  options?: readonly string[];
  /** 'dataset-name' mode: the name to show; default the record's task */
  taskName?: string;
  /** 'no-template' and 'dataset-name' modes: text between prompt and completion (default "\n\n") */
  delimiter?: string;
}

/** What the trainer tokenizes: prompt + completion is the full text, and only completion is scored. */
export interface RenderedExample {
  prompt: string;
  completion: string;
}

export class TemplateError extends Error {
  override name = 'TemplateError';
}
