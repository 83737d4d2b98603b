// The method-specific settings the Train view shows, by method name, with the config key each one
// writes (PEFT's / AdapterHub's key names, so a run's config reads like the exported file).
// Keys a method's defaults carry that are not listed here are shown after these, as plain inputs.

export type FieldKind = 'int' | 'number' | 'bool' | 'list' | 'text' | { options: readonly string[] };

export interface MethodField {
  key: string;
  label: string;
  kind: FieldKind;
  /** a short hint after the label */
  hint?: string;
  /** used when the method's defaults do not carry the key */
  fallback: FormValue;
}

/** What an input holds: numbers (null while the input is empty), checkboxes, text. */
export type FormValue = number | boolean | string | null;

export const METHOD_FIELDS: Record<string, readonly MethodField[]> = {
  lora: [
    { key: 'r', label: 'Rank r', kind: 'int', fallback: 8 },
    { key: 'lora_alpha', label: 'Alpha', kind: 'number', fallback: 8 },
    { key: 'lora_dropout', label: 'Dropout', kind: 'number', fallback: 0 },
    { key: 'target_modules', label: 'Target modules', kind: 'list', hint: 'comma-separated; empty = the model’s default', fallback: '' },
    { key: 'use_rslora', label: 'rsLoRA scaling (alpha/√r)', kind: 'bool', fallback: false },
  ],
  ia3: [
    { key: 'target_modules', label: 'Target modules', kind: 'list', hint: 'comma-separated; empty = the model’s default', fallback: '' },
    { key: 'feedforward_modules', label: 'Feed-forward modules', kind: 'list', hint: 'scaled on their input', fallback: '' },
  ],
  prefix: [
    { key: 'num_virtual_tokens', label: 'Virtual tokens', kind: 'int', fallback: 8 },
    { key: 'prefix_projection', label: 'Reparameterization MLP', kind: 'bool', fallback: false },
    { key: 'encoder_hidden_size', label: 'MLP hidden size', kind: 'int', hint: 'with the MLP; empty = hidden size', fallback: null },
  ],
  prompt: [
    { key: 'num_virtual_tokens', label: 'Virtual tokens', kind: 'int', fallback: 8 },
    { key: 'prompt_tuning_init', label: 'Initialisation', kind: { options: ['RANDOM', 'TEXT'] }, fallback: 'RANDOM' },
    { key: 'prompt_tuning_init_text', label: 'Initial text', kind: 'text', hint: 'with TEXT initialisation', fallback: '' },
  ],
  adapter: [
    { key: 'kind', label: 'Adapter kind', kind: { options: ['houlsby', 'pfeiffer'] }, hint: 'Houlsby: after attention and feed-forward; Pfeiffer: after feed-forward', fallback: 'houlsby' },
    { key: 'reduction_factor', label: 'Reduction factor', kind: 'number', hint: 'hidden size ÷ bottleneck size', fallback: 16 },
    { key: 'dropout', label: 'Dropout', kind: 'number', fallback: 0 },
  ],
  freeze: [
    { key: 'trainable_layers', label: 'Top k blocks to train', kind: 'int', fallback: 1 },
    { key: 'train_norms', label: 'Also train every norm', kind: 'bool', fallback: false },
  ],
  full: [],
};

/** Config keys that only describe the file (PEFT bookkeeping): never shown, never sent. */
const BOOKKEEPING = new Set(['peft_type', 'peft_version', 'task_type', 'base_model_name_or_path', 'revision', 'inference_mode', 'auto_mapping', 'architecture']);

function isPrimitive(value: unknown): value is number | boolean | string {
  return typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string';
}

/** The fields to show for a method: the curated ones, then the other simple keys its defaults carry. */
export function fieldsFor(method: string, defaults: Record<string, unknown>): MethodField[] {
  const curated = METHOD_FIELDS[method] ?? [];
  const known = new Set(curated.map((f) => f.key));
  const extra: MethodField[] = Object.entries(defaults)
    .filter(([key, value]) => !known.has(key) && !BOOKKEEPING.has(key) && (isPrimitive(value) || isStringList(value)))
    .map(([key, value]) => ({
      key,
      label: key,
      kind: isStringList(value) ? 'list' : typeof value === 'boolean' ? 'bool' : typeof value === 'number' ? 'number' : 'text',
      fallback: null,
    }));
  return [...curated, ...extra];
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** The input value a field starts with: the method default when there is one, else the field's fallback. */
export function initialValue(field: MethodField, defaults: Record<string, unknown>): FormValue {
  const value = defaults[field.key];
  if (value === undefined || value === null) return field.fallback;
  if (Array.isArray(value)) return value.join(', ');
  return isPrimitive(value) ? value : field.fallback;
}

/**
 * The config value a field sends, or undefined to leave the key out (the method's own default).
 * Throws naming the field when the input is not a valid value.
 */
export function configValue(field: MethodField, value: FormValue): unknown {
  const kind = field.kind;
  if (kind === 'bool') return Boolean(value);
  if (kind === 'int' || kind === 'number') {
    if (value === null || value === '') {
      if (field.fallback === null) return undefined;
      throw new Error(`${field.label} (${field.key}) needs a number.`);
    }
    const n = Number(value);
    if (!Number.isFinite(n)) throw new Error(`${field.label} (${field.key}) must be a finite number, got "${String(value)}".`);
    if (kind === 'int' && !Number.isInteger(n)) throw new Error(`${field.label} (${field.key}) must be a whole number, got ${n}.`);
    return n;
  }
  const text = typeof value === 'string' ? value.trim() : value === null ? '' : String(value);
  if (kind === 'list') {
    const items = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    return items.length ? items : undefined;
  }
  if (kind === 'text') return text.length ? text : undefined;
  if (!kind.options.includes(text)) throw new Error(`${field.label} (${field.key}) must be one of ${kind.options.join(', ')}, got "${text}".`);
  return text;
}
