// axolotl.yaml from the hand-off's settings (axolotl's config reference: base_model, datasets with
// their type, adapter + lora_*, sequence_len, micro_batch_size, gradient_accumulation_steps,
// learning_rate, lr_scheduler, warmup_steps, max_steps, output_dir). Each value is written as JSON,
// which is YAML (1.2 flow style), so readAxolotlYaml — and any YAML reader — gets exactly the values.
// Axolotl trains LoRA and full fine-tunes (and freezing through unfrozen_parameters); it has no
// prefix / prompt tuning, (IA)³ or bottleneck adapters, so those runs get no axolotl.yaml.
import type { HandoffSettings } from './settings';
import type { TrlFormat } from './trl-data';

export const AXOLOTL_METHODS = ['lora', 'full', 'freeze'] as const;
/**
 * The file axolotl reads a format's rows from: data.jsonl / eval.jsonl itself when it holds one format
 * that axolotl reads as is; else a file of that format's rows only (axolotl takes one type per
 * dataset), with conversational pairs as `messages` (handoffFolder writes them).
 */
export function axolotlFileFor(format: TrlFormat, part: 'train' | 'eval', formats: readonly TrlFormat[], file: string): string {
  if (formats.length === 1 && format !== 'conversational-prompt-completion') return file;
  return `axolotl-${part}-${format}.jsonl`;
}

/** axolotl's dataset `type` for each TRL format (prompt/completion through its user-defined format). */
function datasetType(format: TrlFormat): Record<string, unknown> {
  switch (format) {
    case 'text':
      return { type: 'completion', field: 'text' };
    case 'messages':
      return { type: 'chat_template', field_messages: 'messages', message_property_mappings: { role: 'role', content: 'content' } };
    case 'prompt-completion':
      return { type: { field_instruction: 'prompt', field_output: 'completion', format: '{instruction}', no_input_format: '{instruction}' } };
    case 'conversational-prompt-completion':
      // axolotl reads conversations as `messages`: AXOLOTL_CHAT_FILE holds prompt + completion turns, the reply trained
      return { type: 'chat_template', field_messages: 'messages', roles_to_train: ['assistant'], train_on_eos: 'turn' };
  }
}

const escapeRegex = (name: string): string => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The config as ordered key → value; null when axolotl has no equivalent of the method. */
export function axolotlConfig(settings: HandoffSettings): Map<string, unknown> | null {
  if (!(AXOLOTL_METHODS as readonly string[]).includes(settings.method)) return null;
  const config = new Map<string, unknown>();
  config.set('base_model', settings.base_model);
  config.set('datasets', settings.dataset_formats.map((format) => ({ path: axolotlFileFor(format, 'train', settings.dataset_formats, settings.train_file), ds_type: 'json', ...datasetType(format) })));
  if (settings.eval_file) config.set('test_datasets', settings.dataset_formats.map((format) => ({ path: axolotlFileFor(format, 'eval', settings.dataset_formats, settings.eval_file!), ds_type: 'json', split: 'train', ...datasetType(format) })));
  else config.set('val_set_size', 0);
  if (settings.chat_template !== null) {
    config.set('chat_template', 'jinja');
    config.set('chat_template_jinja', settings.chat_template);
  }
  if (settings.method === 'lora') {
    const peft = settings.peft_config ?? {};
    config.set('adapter', 'lora');
    config.set('lora_r', peft['r']);
    config.set('lora_alpha', peft['lora_alpha']);
    config.set('lora_dropout', peft['lora_dropout']);
    config.set('lora_target_modules', peft['target_modules']);
    if (peft['use_rslora'] === true) config.set('peft_use_rslora', true);
  } else if (settings.method === 'freeze') {
    config.set('unfrozen_parameters', (settings.trainable_parameters ?? []).map((name) => `^${escapeRegex(name)}$`));
  }
  config.set('sequence_len', settings.max_length);
  config.set('sample_packing', settings.packing);
  config.set('train_on_inputs', !settings.completion_only_loss);
  config.set('micro_batch_size', settings.per_device_train_batch_size);
  config.set('gradient_accumulation_steps', settings.gradient_accumulation_steps);
  config.set('learning_rate', settings.learning_rate);
  config.set('lr_scheduler', settings.lr_scheduler_type === 'constant_with_warmup' ? 'constant' : settings.lr_scheduler_type);
  config.set('warmup_steps', settings.warmup_steps);
  config.set('max_steps', settings.max_steps);
  config.set('optimizer', 'adamw_torch');
  config.set('adam_beta1', settings.adam_beta1);
  config.set('adam_beta2', settings.adam_beta2);
  config.set('adam_epsilon', settings.adam_epsilon);
  config.set('weight_decay', settings.weight_decay);
  config.set('max_grad_norm', settings.max_grad_norm);
  config.set('seed', settings.seed);
  if (settings.gradient_checkpointing) config.set('gradient_checkpointing', true);
  if (settings.eval_steps !== null && settings.eval_file) config.set('eval_steps', settings.eval_steps);
  if (settings.early_stopping_patience !== null && settings.eval_file) config.set('early_stopping_patience', settings.early_stopping_patience);
  config.set('bf16', 'auto');
  config.set('output_dir', './output');
  return config;
}

/** The YAML text: a comment, then one `key: <JSON>` line per key. */
export function axolotlYaml(settings: HandoffSettings): string | null {
  const config = axolotlConfig(settings);
  if (config === null) return null;
  const lines = [
    `# Hone hand-off: ${settings.method} on ${settings.base_model}. Run: axolotl train axolotl.yaml`,
    '# (or accelerate launch -m axolotl.cli.train axolotl.yaml). Values are JSON, which YAML reads as is.',
  ];
  for (const [key, value] of config) lines.push(`${key}: ${JSON.stringify(value)}`);
  return lines.join('\n') + '\n';
}

/** Reads what axolotlYaml writes (comments, blank lines and `key: <JSON>` lines), naming the bad line. */
export function readAxolotlYaml(text: string): Map<string, unknown> {
  const out = new Map<string, unknown>();
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    const match = /^([A-Za-z_][A-Za-z0-9_]*): (.*)$/.exec(line);
    if (!match) throw new Error(`axolotl.yaml, line ${i + 1}: not "key: value"`);
    try {
      out.set(match[1], JSON.parse(match[2]));
    } catch (error) {
      throw new Error(`axolotl.yaml, line ${i + 1}: the value of ${match[1]} is not JSON (${(error as Error).message})`);
    }
  });
  return out;
}
