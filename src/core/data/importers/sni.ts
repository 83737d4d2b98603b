// Super-NaturalInstructions task files (allenai/natural-instructions, tasks/taskNNN_*.json):
// one JSON object per task with a `Definition`, `Positive Examples`, `Negative Examples` and
// `Instances` whose `output` is a list of acceptable answers. Each instance becomes one record:
//   kind = 'sni', instruction = Definition, context = instance input, output = first answer,
//   outputs = all, positives / negatives = the task's examples (input, output, explanation), cluster
//   = first of Categories, task = file name.
// The demonstrations are kept whole because SNI's prompt shape shows them (Wang et al. 2022):
// the trainer chooses how many of each to show (src/core/train/rows).
// The file is parsed as one document: task files are at most tens of MB, and a record per
// instance has to hold the shared definition anyway.
import { importError, isPlainObject, typeName, type ImportError, type InstructionRecord, type PositiveExample } from '../record';
import { readAll } from './lines';
import { parseJsonDocument } from './json-stream';
import type { Importer, ParseItem, ParseOptions } from './types';

function taskName(fileName: string | undefined): string | undefined {
  if (!fileName) return undefined;
  const base = fileName.split(/[\\/]/).pop() ?? fileName;
  return base.replace(/\.json$/i, '') || undefined;
}

/** Definition, Categories and Source are lists of strings in the released files; a bare string is accepted too. */
function stringOrList(value: unknown, field: string, errors: ImportError[], required: boolean): string[] | undefined {
  if (value === undefined || value === null) {
    if (required) errors.push(importError({}, field, 'is missing; every Super-NaturalInstructions task needs it'));
    return undefined;
  }
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  errors.push(importError({}, field, `expected a string or a list of strings, got ${typeName(value)}`));
  return undefined;
}

function examples(value: unknown, field: string, errors: ImportError[]): PositiveExample[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    errors.push(importError({}, field, `expected a list of {input, output, explanation} examples, got ${typeName(value)}`));
    return [];
  }
  const out: PositiveExample[] = [];
  value.forEach((example, i) => {
    if (!isPlainObject(example)) {
      errors.push(importError({}, `${field}[${i}]`, `expected an {input, output, explanation} object, got ${typeName(example)}`));
      return;
    }
    for (const key of ['input', 'output'] as const) {
      if (typeof example[key] !== 'string') {
        errors.push(importError({}, `${field}[${i}].${key}`, `expected a string, got ${typeName(example[key])}`));
      }
    }
    const explanation = example.explanation;
    if (explanation !== undefined && typeof explanation !== 'string') {
      errors.push(importError({}, `${field}[${i}].explanation`, `expected a string, got ${typeName(explanation)}`));
    }
    if (typeof example.input === 'string' && typeof example.output === 'string') {
      const kept: PositiveExample = { input: example.input, output: example.output };
      if (typeof explanation === 'string' && explanation !== '') kept.explanation = explanation;
      out.push(kept);
    }
  });
  return out;
}

function instanceRecord(instance: unknown, index: number, shared: InstructionRecord): InstructionRecord | ImportError[] {
  const where = { record: index };
  const field = `Instances[${index}]`;
  if (!isPlainObject(instance)) return [importError(where, field, `expected an {id, input, output} object, got ${typeName(instance)}`)];
  const errors: ImportError[] = [];
  if (typeof instance.input !== 'string') {
    errors.push(importError(where, `${field}.input`, `expected a string, got ${typeName(instance.input)}`));
  }
  let outputs: string[] = [];
  const raw = instance.output;
  if (typeof raw === 'string') outputs = [raw];
  else if (Array.isArray(raw) && raw.length > 0 && raw.every((o) => typeof o === 'string')) outputs = raw as string[];
  else if (Array.isArray(raw) && raw.length === 0) errors.push(importError(where, `${field}.output`, 'is an empty list; an instance needs at least one answer'));
  else if (Array.isArray(raw)) {
    const bad = raw.findIndex((o) => typeof o !== 'string');
    errors.push(importError(where, `${field}.output[${bad}]`, `expected a string, got ${typeName(raw[bad])}`));
  } else errors.push(importError(where, `${field}.output`, `expected a list of answer strings, got ${typeName(raw)}`));
  if (errors.length > 0) return errors;
  const record: InstructionRecord = { ...shared, context: instance.input as string, output: outputs[0], outputs };
  if (record.context === '') delete record.context;
  return record;
}

export const sniImporter: Importer = {
  format: 'sni',
  async *parse(chunks: AsyncIterable<string>, opts: ParseOptions = {}): AsyncGenerator<ParseItem> {
    const text = await readAll(chunks);
    if (text.trim() === '') return;
    const parsed = parseJsonDocument(text);
    if ('error' in parsed) {
      yield parsed;
      return;
    }
    const task = parsed.value;
    if (!isPlainObject(task)) {
      yield { error: importError({}, undefined, `expected one Super-NaturalInstructions task object, got ${typeName(task)}`) };
      return;
    }
    const errors: ImportError[] = [];
    const definition = stringOrList(task.Definition, 'Definition', errors, true);
    const categories = stringOrList(task.Categories, 'Categories', errors, false);
    const sources = stringOrList(task.Source, 'Source', errors, false);
    const positives = examples(task['Positive Examples'], 'Positive Examples', errors);
    const negatives = examples(task['Negative Examples'], 'Negative Examples', errors);
    const instances = task.Instances;
    if (!Array.isArray(instances)) {
      errors.push(importError({}, 'Instances', instances === undefined ? 'is missing; the task has no instances to import' : `expected a list, got ${typeName(instances)}`));
    }
    if (errors.length > 0 || !Array.isArray(instances)) {
      for (const error of errors) yield { error };
      return;
    }
    const shared: InstructionRecord = { kind: 'sni', instruction: (definition ?? []).join('\n') };
    const name = taskName(opts.fileName);
    if (name) shared.task = name;
    if (categories && categories.length > 0) shared.cluster = categories[0];
    if (sources && sources.length > 0) shared.source = sources.join(', ');
    if (positives.length > 0) shared.positives = positives;
    if (negatives.length > 0) shared.negatives = negatives;
    for (let i = 0; i < instances.length; i++) {
      const result = instanceRecord(instances[i], i, shared);
      if (Array.isArray(result)) for (const error of result) yield { error };
      else yield { record: result };
    }
  },
};
