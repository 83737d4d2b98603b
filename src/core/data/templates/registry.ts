// Task name → template set, refusing duplicates like the PEFT method registry. A task without its
// own set uses the generic one, and so does a record no template of its task's set fits (an
// open_qa record that happens to carry a context).
import type { Rng } from '../../rng';
import { validateTemplate } from './fill';
import { templateFits } from './render';
import { BUILT_IN_TEMPLATE_SETS } from './sets';
import { TemplateError, type RenderableRecord, type Template, type TemplateSet } from './types';

export const GENERIC_TASK = 'generic';

const byTask = new Map<string, TemplateSet>();

/** Adds a set; throws when its task already has one, a template id repeats or a template is malformed. */
export function registerTemplateSet(set: TemplateSet): void {
  if (byTask.has(set.task)) throw new TemplateError(`template registry: task "${set.task}" already has a template set`);
  if (set.templates.length === 0) throw new TemplateError(`template set "${set.task}" has no templates`);
  const ids = new Set<string>();
  for (const template of set.templates) {
    if (ids.has(template.id)) throw new TemplateError(`template set "${set.task}": template id "${template.id}" is used twice`);
    ids.add(template.id);
    validateTemplate(template, `template set "${set.task}", template "${template.id}"`);
  }
  byTask.set(set.task, set);
}

for (const set of BUILT_IN_TEMPLATE_SETS) registerTemplateSet(set);

/** The set for a task; the generic set when the task has none (or no task is given). */
export function templateSetFor(task?: string): TemplateSet {
  return (task !== undefined ? byTask.get(task) : undefined) ?? byTask.get(GENERIC_TASK)!;
}

export function listTemplateSets(): TemplateSet[] {
  return [...byTask.values()];
}

/** A template by id across all sets ("closed_qa/3"). */
export function getTemplate(id: string): Template {
  for (const set of byTask.values()) {
    const found = set.templates.find((template) => template.id === id);
    if (found) return found;
  }
  throw new TemplateError(`no template has the id "${id}"`);
}

/**
 * The templates of `set` that fit the record, in set order: standard ones, or with
 * `inverted: true` the turned-around ones.
 */
export function fittingTemplates(set: TemplateSet, record: RenderableRecord, opts: { inverted?: boolean } = {}): Template[] {
  const inverted = opts.inverted ?? false;
  return set.templates.filter((template) => (template.inverted ?? false) === inverted && templateFits(template, record));
}

/**
 * A random fitting template for the record's task (one rng.int draw); the generic set when the
 * task's own set has none that fits. Throws when no template fits at all.
 */
export function pickTemplate(record: RenderableRecord, rng: Rng, opts: { inverted?: boolean; set?: TemplateSet } = {}): Template {
  let candidates = fittingTemplates(opts.set ?? templateSetFor(record.task), record, opts);
  if (candidates.length === 0) candidates = fittingTemplates(templateSetFor(GENERIC_TASK), record, opts);
  if (candidates.length === 0) {
    const kind = opts.inverted ? 'turned-around' : 'standard';
    throw new TemplateError(`no ${kind} template fits a record of task "${record.task ?? '(none)'}"`);
  }
  return candidates[rng.int(candidates.length)];
}
