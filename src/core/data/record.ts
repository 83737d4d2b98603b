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
  /** the demonstration's input (SNI task files give one; older imports dropped it) */
  input?: string;
  output: string;
  explanation?: string;
}

/** An SNI positive example: a demonstration of the task done right. */
export interface PositiveExample {
  input: string;
  output: string;
  explanation?: string;
}

/**
 * What a record is, which decides how it trains (src/core/train/rows):
 * - 'instruction': instruction (+ context) and output, through the run's prompt format;
 * - 'text': plain text in `output` (instruction ''), every token scored, never wrapped in a prompt;
 * - 'conversation': `conversation` (or a single-turn chat kept as instruction/output) through the
 *   tokenizer's chat template;
 * - 'prompt-completion': TRL's prompt/completion pair, used exactly as given: standard (prompt in
 *   `instruction`, completion in `output`) or conversational (`conversation` whose first
 *   `promptTurns` turns are the prompt);
 * - 'sni': a Super-NaturalInstructions instance: definition in `instruction`, input in `context`,
 *   the task's `positives` and `negatives`, in SNI's own prompt shape.
 * Records stored before kinds existed have none; recordKind infers theirs from their fields.
 */
export type RecordKind = 'instruction' | 'text' | 'conversation' | 'prompt-completion' | 'sni';
export const RECORD_KINDS: readonly RecordKind[] = ['instruction', 'text', 'conversation', 'prompt-completion', 'sni'];

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
  /** what the record is (see RecordKind); absent on records from before kinds, inferred by recordKind */
  kind?: RecordKind;
  /** conversational prompt-completion: how many leading turns of `conversation` are the prompt */
  promptTurns?: number;
  /** SNI positive examples (the task's demonstrations), shown before the instance */
  positives?: PositiveExample[];
  /** the FLAN template shaping chose for this record ("closed_qa/3"); the 'template' prompt format renders through it */
  templateId?: string;
  /** k-shot: exemplars of the same task shown before the record in the 'template' format (default 0) */
  shots?: number;
}

/** The record's kind: its own `kind`, else what its fields say (records stored before kinds existed). */
export function recordKind(record: Pick<InstructionRecord, 'kind' | 'instruction' | 'conversation' | 'promptTurns' | 'positives' | 'negatives'>): RecordKind {
  if (record.kind !== undefined) return record.kind;
  if (record.promptTurns !== undefined) return 'prompt-completion';
  if (record.conversation !== undefined) return 'conversation';
  if (record.positives !== undefined || record.negatives !== undefined) return 'sni';
  return record.instruction === '' ? 'text' : 'instruction';
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
  'kind', 'promptTurns', 'positives', 'templateId', 'shots',
] as const;
const OPTIONAL_STRINGS = ['context', 'output', 'task', 'cluster', 'source', 'templateId'] as const;

/** A JSON value's kind as people name it: `null` and `array` are not lumped in with `object`. */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * A bad value as an error message shows it: JSON for small values, cut to about `maxChars`, and
 * never deeper than a few levels. JSON.stringify would recurse through a 100,000-deep `role` and
 * overflow the stack, or copy a megabyte string into the message.
 */
export function previewValue(value: unknown, maxChars = 60): string {
  let budget = maxChars;
  const walk = (v: unknown, depth: number): string => {
    if (budget <= 0) return '…';
    let out: string;
    if (typeof v === 'string') out = JSON.stringify(v.length > budget ? `${v.slice(0, budget)}…` : v);
    else if (v === undefined) out = 'undefined';
    else if (v === null || typeof v === 'number' || typeof v === 'boolean') out = String(v);
    else if (Array.isArray(v)) {
      if (depth >= 3) out = v.length === 0 ? '[]' : '[…]';
      else {
        const items: string[] = [];
        for (let i = 0; i < v.length && budget > 0; i++, budget--) items.push(walk(v[i], depth + 1)); // budget--: the comma
        out = `[${items.join(',')}${items.length < v.length ? ',…' : ''}]`;
      }
    } else if (typeof v === 'object') {
      const keys = Object.keys(v);
      if (depth >= 3) out = keys.length === 0 ? '{}' : '{…}';
      else {
        const items: string[] = [];
        for (let i = 0; i < keys.length && budget > 0; i++, budget--) items.push(`${JSON.stringify(keys[i].slice(0, 40))}:${walk((v as Record<string, unknown>)[keys[i]], depth + 1)}`);
        out = `{${items.join(',')}${items.length < keys.length ? ',…' : ''}}`;
      }
    } else out = typeof v;
    budget -= out.length;
    return out;
  };
  return walk(value, 0);
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
      errors.push(importError(where, `${field}.role`, `expected one of ${ROLES.join(', ')}, got ${previewValue(turn.role)}`));
    }
    if (typeof turn.content !== 'string') {
      errors.push(importError(where, `${field}.content`, `expected a string, got ${typeName(turn.content)}`));
    }
    for (const key of Object.keys(turn)) {
      if (key !== 'role' && key !== 'content') errors.push(importError(where, `${field}.${key}`, 'is not a turn field (role, content)'));
    }
  });
}

/** SNI demonstrations: `negatives` ({input?, output, explanation?}) and `positives` ({input, output, explanation?}). */
function checkExamples(value: unknown, list: 'negatives' | 'positives', where: RecordLocation, errors: ImportError[]): void {
  const shape = list === 'negatives' ? '{input?, output, explanation?}' : '{input, output, explanation?}';
  if (!Array.isArray(value)) {
    errors.push(importError(where, list, `expected a list of ${shape}, got ${typeName(value)}`));
    return;
  }
  value.forEach((example, i) => {
    const field = `${list}[${i}]`;
    if (!isPlainObject(example)) {
      errors.push(importError(where, field, `expected an ${shape} object, got ${typeName(example)}`));
      return;
    }
    if (typeof example.output !== 'string') {
      errors.push(importError(where, `${field}.output`, `expected a string, got ${typeName(example.output)}`));
    }
    if ((list === 'positives' || example.input !== undefined) && typeof example.input !== 'string') {
      errors.push(importError(where, `${field}.input`, `expected a string, got ${typeName(example.input)}`));
    }
    if (example.explanation !== undefined && typeof example.explanation !== 'string') {
      errors.push(importError(where, `${field}.explanation`, `expected a string, got ${typeName(example.explanation)}`));
    }
    for (const key of Object.keys(example)) {
      if (key !== 'input' && key !== 'output' && key !== 'explanation') {
        errors.push(importError(where, `${field}.${key}`, `is not an example field (input, output, explanation)`));
      }
    }
  });
}

/** kind, promptTurns and shots: known values, and the fields each kind needs. */
function checkKind(value: Record<string, unknown>, where: RecordLocation, errors: ImportError[]): void {
  const { kind, promptTurns, shots } = value;
  if (kind !== undefined && !RECORD_KINDS.includes(kind as RecordKind)) {
    errors.push(importError(where, 'kind', `expected one of ${RECORD_KINDS.join(', ')}, got ${previewValue(kind)}`));
  }
  if (shots !== undefined && !(Number.isInteger(shots) && (shots as number) >= 0)) {
    errors.push(importError(where, 'shots', `expected a whole number ≥ 0, got ${previewValue(shots)}`));
  }
  if (promptTurns !== undefined) {
    const turns = Array.isArray(value.conversation) ? value.conversation.length : 0;
    if (!Number.isInteger(promptTurns) || (promptTurns as number) < 1 || (promptTurns as number) >= turns) {
      errors.push(importError(where, 'promptTurns', `expected a whole number from 1 to ${Math.max(1, turns - 1)} (the conversation's prompt turns, before the completion), got ${previewValue(promptTurns)}`));
    }
    if (kind !== undefined && kind !== 'prompt-completion') {
      errors.push(importError(where, 'promptTurns', `belongs to prompt-completion records, but kind is ${previewValue(kind)}`));
    }
  }
  if (kind === 'text' && value.instruction !== '') errors.push(importError(where, 'instruction', 'must be "" for a text record (the text is in "output")'));
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
    errors.push(importError(where, 'split', `expected one of ${SPLITS.join(', ')}, got ${previewValue(value.split)}`));
  }
  if (value.conversation !== undefined) checkConversation(value.conversation, where, errors);
  if (value.tags !== undefined) checkStringList(value.tags, 'tags', where, errors);
  if (value.outputs !== undefined) checkStringList(value.outputs, 'outputs', where, errors);
  if (value.negatives !== undefined) checkExamples(value.negatives, 'negatives', where, errors);
  if (value.positives !== undefined) checkExamples(value.positives, 'positives', where, errors);
  checkKind(value, where, errors);
  if (errors.length === 0) {
    const hasText = value.instruction !== '' || (value.output ?? '') !== '' || value.conversation !== undefined;
    if (!hasText) errors.push(importError(where, undefined, 'record has no text: instruction and output are empty and there is no conversation'));
  }
  return errors;
}
