// Hone's own instruction record: the one shape every importer produces, the store keeps and the
// trainer reads. Importers translate each dataset's field names onto these; nothing downstream
// needs to know where a record came from.

export type Role = 'system' | 'user' | 'assistant';
export type Split = 'train' | 'validation' | 'test';

export interface Turn {
  role: Role;
  content: string;
}

export interface NegativeExample {
  output: string;
  explanation?: string;
}

export interface InstructionRecord {
  /** what the user asks; '' for pretraining text, which has only `output` */
  instruction: string;
  /** the input the instruction works on (Alpaca `input`, Dolly `context`, SNI instance input) */
  context?: string;
  /** the reference answer; absent only for multi-turn records, which carry `conversation` */
  output?: string;
  /** multi-turn chats (or chats with a system prompt); when present it is the full truth */
  conversation?: Turn[];
  /** fine-grained task name (Dolly category, SNI task file name) */
  task?: string;
  /** coarse task family used to hold whole clusters out (SNI Categories) */
  cluster?: string;
  split?: Split;
  /** where the record came from (dataset id, SNI Source) */
  source?: string;
  tags?: string[];
  /** wrong answers with, optionally, why they are wrong (SNI Negative Examples) */
  negatives?: NegativeExample[];
  /** every acceptable output, `output` first (SNI instances list several) */
  outputs?: string[];
}

/** Where in the input a problem is: `line` is 1-based (JSONL, CSV, text); `record` is the 0-based
 *  index in a JSON array, an SNI `Instances` list or a dataset-viewer table (its row_idx). */
export interface RecordLocation {
  line?: number;
  record?: number;
}

export interface ImportError extends RecordLocation {
  field?: string;
  message: string;
}

export const ROLES: readonly Role[] = ['system', 'user', 'assistant'];
export const SPLITS: readonly Split[] = ['train', 'validation', 'test'];

const RECORD_FIELDS = [
  'instruction', 'context', 'output', 'conversation', 'task', 'cluster', 'split', 'source', 'tags', 'negatives', 'outputs',
] as const;
const OPTIONAL_STRINGS = ['context', 'output', 'task', 'cluster', 'source'] as const;

/** A JSON value's kind as people name it: `null` and `array` are not lumped in with `object`. */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Builds an ImportError without undefined keys, so errors compare and serialise cleanly. */
export function importError(where: RecordLocation, field: string | undefined, message: string): ImportError {
  // key order line, record, field, message: how the CLI's JSON reads best
  const error: Partial<ImportError> = {};
  if (where.line !== undefined) error.line = where.line;
  if (where.record !== undefined) error.record = where.record;
  if (field !== undefined) error.field = field;
  error.message = message;
  return error as ImportError;
}

/** `line 7, field "output": expected a string, got number` */
export function formatImportError(error: ImportError): string {
  const where = [
    error.line !== undefined ? `line ${error.line}` : '',
    error.record !== undefined ? `record ${error.record}` : '',
    error.field !== undefined ? `field "${error.field}"` : '',
  ].filter(Boolean);
  return where.length > 0 ? `${where.join(', ')}: ${error.message}` : error.message;
}

function checkStringList(value: unknown, field: string, where: RecordLocation, errors: ImportError[]): void {
  if (!Array.isArray(value)) {
    errors.push(importError(where, field, `expected a list of strings, got ${typeName(value)}`));
    return;
  }
  value.forEach((item, i) => {
    if (typeof item !== 'string') errors.push(importError(where, `${field}[${i}]`, `expected a string, got ${typeName(item)}`));
  });
}

function checkConversation(value: unknown, where: RecordLocation, errors: ImportError[]): void {
  if (!Array.isArray(value)) {
    errors.push(importError(where, 'conversation', `expected a list of {role, content} turns, got ${typeName(value)}`));
    return;
  }
  if (value.length === 0) errors.push(importError(where, 'conversation', 'is empty; leave it out instead'));
  value.forEach((turn, i) => {
    const field = `conversation[${i}]`;
    if (!isPlainObject(turn)) {
      errors.push(importError(where, field, `expected a {role, content} object, got ${typeName(turn)}`));
      return;
    }
    if (!ROLES.includes(turn.role as Role)) {
      errors.push(importError(where, `${field}.role`, `expected one of ${ROLES.join(', ')}, got ${JSON.stringify(turn.role)}`));
    }
    if (typeof turn.content !== 'string') {
      errors.push(importError(where, `${field}.content`, `expected a string, got ${typeName(turn.content)}`));
    }
    for (const key of Object.keys(turn)) {
      if (key !== 'role' && key !== 'content') errors.push(importError(where, `${field}.${key}`, 'is not a turn field (role, content)'));
    }
  });
}

function checkNegatives(value: unknown, where: RecordLocation, errors: ImportError[]): void {
  if (!Array.isArray(value)) {
    errors.push(importError(where, 'negatives', `expected a list of {output, explanation?}, got ${typeName(value)}`));
    return;
  }
  value.forEach((negative, i) => {
    const field = `negatives[${i}]`;
    if (!isPlainObject(negative)) {
      errors.push(importError(where, field, `expected an {output, explanation?} object, got ${typeName(negative)}`));
      return;
    }
    if (typeof negative.output !== 'string') {
      errors.push(importError(where, `${field}.output`, `expected a string, got ${typeName(negative.output)}`));
    }
    if (negative.explanation !== undefined && typeof negative.explanation !== 'string') {
      errors.push(importError(where, `${field}.explanation`, `expected a string, got ${typeName(negative.explanation)}`));
    }
    for (const key of Object.keys(negative)) {
      if (key !== 'output' && key !== 'explanation') errors.push(importError(where, `${field}.${key}`, 'is not a negative-example field (output, explanation)'));
    }
  });
}

/**
 * Checks that `value` is a well-formed InstructionRecord. Returns every problem found (empty when
 * valid) rather than throwing, so an import can report all bad fields of all bad records at once.
 * Unknown keys are errors: in Hone's own format a stray key is almost always a misspelt field.
 */
export function validateRecord(value: unknown, where: RecordLocation = {}): ImportError[] {
  const errors: ImportError[] = [];
  if (!isPlainObject(value)) {
    return [importError(where, undefined, `expected a record object, got ${typeName(value)}`)];
  }
  for (const key of Object.keys(value)) {
    if (!(RECORD_FIELDS as readonly string[]).includes(key)) {
      errors.push(importError(where, key, `is not a Hone record field (known: ${RECORD_FIELDS.join(', ')})`));
    }
  }
  if (value.instruction === undefined) errors.push(importError(where, 'instruction', 'is missing (use "" for plain text)'));
  else if (typeof value.instruction !== 'string') {
    errors.push(importError(where, 'instruction', `expected a string, got ${typeName(value.instruction)}`));
  }
  for (const field of OPTIONAL_STRINGS) {
    const v = value[field];
    if (v !== undefined && typeof v !== 'string') errors.push(importError(where, field, `expected a string, got ${typeName(v)}`));
  }
  if (value.split !== undefined && !SPLITS.includes(value.split as Split)) {
    errors.push(importError(where, 'split', `expected one of ${SPLITS.join(', ')}, got ${JSON.stringify(value.split)}`));
  }
  if (value.conversation !== undefined) checkConversation(value.conversation, where, errors);
  if (value.tags !== undefined) checkStringList(value.tags, 'tags', where, errors);
  if (value.outputs !== undefined) checkStringList(value.outputs, 'outputs', where, errors);
  if (value.negatives !== undefined) checkNegatives(value.negatives, where, errors);
  if (errors.length === 0) {
    const hasText = value.instruction !== '' || (value.output ?? '') !== '' || value.conversation !== undefined;
    if (!hasText) errors.push(importError(where, undefined, 'record has no text: instruction and output are empty and there is no conversation'));
  }
  return errors;
}
