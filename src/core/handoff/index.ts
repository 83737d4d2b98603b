// The hand-off folder (issue 13, item 5): a run, ready to continue on a cluster.
//   data.jsonl / eval.jsonl  the run's training / validation examples as TRL rows (trl-data.ts)
//   train_trl.py             TRL SFTTrainer with the run's settings embedded (trl-script.ts)
//   axolotl.yaml             the same run for axolotl, where axolotl has the method (axolotl.ts)
//   README.md                how to continue, on one GPU, several, a CPU, or a cluster
// Built from a prepared run (run-builder.ts prepareRun) and the records it was prepared from, so the
// CLI (`hone handoff`) and the studio (a run's "Hand-off" download) write the same folder.
import type { InstructionRecord } from '../data/record';
import type { PreparedRun } from '../train/run-builder';
import type { LossMode, PromptFormat } from '../train/rows';
import { axolotlFileFor, axolotlYaml } from './axolotl';
import { handoffSettings, type HandoffSettings } from './settings';
import { formatOf, handoffData, jsonLines, type TrlFormat, type TrlRow } from './trl-data';
import { trlScript } from './trl-script';

export { readAxolotlYaml, axolotlConfig } from './axolotl';
export { settingsOfScript } from './trl-script';
export { handoffData, trlRowOf, type TrlRow } from './trl-data';
export type { HandoffSettings } from './settings';

export interface HandoffInput {
  run: PreparedRun;
  records: readonly InstructionRecord[];
  method: string;
  /** the Hub id or path train_trl.py and axolotl.yaml load */
  baseModel: string;
  rows: { promptFormat?: PromptFormat; loss?: LossMode; packing?: boolean; chatTemplate?: string; sniPositives?: number; sniNegatives?: number };
  validationFraction?: number;
}

export interface HandoffFolder {
  files: Map<string, Uint8Array>;
  settings: HandoffSettings;
}

const rowsOf = (rows: readonly TrlRow[], format: TrlFormat): TrlRow[] => rows.filter((row) => formatOf(row) === format);
const asMessages = (row: TrlRow): TrlRow => ('prompt' in row && Array.isArray(row.prompt) ? { messages: [...row.prompt, ...(row.completion as typeof row.prompt)] } : row);

function readme(settings: HandoffSettings, axolotl: boolean, counts: { train: number; validation: number }): string {
  const lines = [
    `# Hone hand-off: ${settings.method} on ${settings.base_model}`,
    '',
    `The run as Hone would train it: ${counts.train} training examples in \`data.jsonl\`` +
      (counts.validation ? ` and ${counts.validation} validation examples in \`eval.jsonl\`` : '') +
      ` (TRL's ${settings.dataset_formats.join(' / ')} format), ${settings.max_steps} steps, batch ${settings.per_device_train_batch_size} × ${settings.gradient_accumulation_steps} accumulation, ` +
      `learning rate ${settings.learning_rate} (${settings.lr_scheduler_type}, ${settings.warmup_steps} warm-up steps), rows of at most ${settings.max_length} tokens` +
      `${settings.packing ? ', packed' : ''}, loss on ${settings.loss === 'all' ? 'every token' : settings.loss === 'assistant' ? 'assistant turns only' : 'completions only'}.`,
    '',
    '## TRL',
    '',
    '```sh',
    'pip install torch transformers trl datasets peft accelerate' + (settings.method === 'adapter' ? ' adapters' : ''),
    'python train_trl.py --max-steps 2          # smoke test (CPU is fine)',
    'python train_trl.py                        # one GPU',
    'accelerate launch train_trl.py             # every GPU of this machine (accelerate config for several machines)',
    'python train_trl.py --model /path/to/model --max-steps 1000',
    '```',
    '',
    `The result is written under \`./output\` (${settings.peft_config ? 'the adapter folder in PEFT\'s layout, the one `hone logits --adapter` reads' : settings.adapter_config ? 'the adapter in AdapterHub\'s layout' : 'a whole checkpoint'}). bf16 is used only where the GPU supports it; elsewhere float32, as Hone trains.`,
    'The settings are the JSON block at the top of `train_trl.py`; edit them there.',
    '',
  ];
  if (axolotl) {
    lines.push('## axolotl', '', '```sh', 'pip install axolotl', 'axolotl train axolotl.yaml', '```', '');
  } else {
    lines.push('## axolotl', '', `axolotl has no ${settings.method} method (it trains LoRA, QLoRA and full fine-tunes), so there is no axolotl.yaml; use train_trl.py.`, '');
  }
  lines.push(
    '## On a cluster',
    '',
    'Copy this folder next to the model (or give a Hub id with `--model`), and launch with the scheduler, e.g. Slurm:',
    '',
    '```sh',
    'srun --gres=gpu:4 accelerate launch --num_processes 4 train_trl.py --max-steps 5000',
    '```',
    '',
    'With several GPUs the effective batch is GPUs × batch × accumulation; lower `gradient_accumulation_steps` in the settings to keep the run\'s.',
    'Differences from the browser run: TRL shuffles the whole dataset (Hone shuffles within each stage of a staged plan). SFTTrainer takes one TRL format per dataset: train_trl.py trains plain text beside prompt/completion pairs (as pairs with an empty prompt) and stops, naming the formats, on other mixtures; axolotl.yaml lists one dataset per format.',
    '',
  );
  return lines.join('\n');
}

/** config.json's `_name_or_path` when it reads as a Hub id (ORG/NAME), else null: what the scripts can load. */
export function checkpointHubId(rawConfig: Record<string, unknown> | undefined): string | null {
  const name = rawConfig?.['_name_or_path'];
  return typeof name === 'string' && /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/.test(name) ? name : null;
}

export async function handoffFolder(input: HandoffInput): Promise<HandoffFolder> {
  const promptFormat = input.rows.promptFormat ?? 'alpaca';
  const seed = input.run.trainer.seed;
  const data = handoffData(input.records, { promptFormat, seed, sniPositives: input.rows.sniPositives, sniNegatives: input.rows.sniNegatives, validationFraction: input.validationFraction });
  const settings = await handoffSettings({
    run: input.run,
    method: input.method,
    baseModel: input.baseModel,
    promptFormat,
    loss: input.rows.loss ?? 'completion',
    packing: input.rows.packing ?? false,
    ...(input.rows.chatTemplate !== undefined ? { chatTemplate: input.rows.chatTemplate } : {}),
    formats: data.formats,
    hasValidation: data.validation.length > 0,
  });
  const encoder = new TextEncoder();
  const files = new Map<string, Uint8Array>();
  files.set(settings.train_file, encoder.encode(jsonLines(data.train)));
  if (settings.eval_file) files.set(settings.eval_file, encoder.encode(jsonLines(data.validation)));
  files.set('train_trl.py', encoder.encode(trlScript(settings)));
  const yaml = axolotlYaml(settings);
  if (yaml !== null) {
    files.set('axolotl.yaml', encoder.encode(yaml));
    for (const format of settings.dataset_formats) {
      for (const [part, rows, file] of [['train', data.train, settings.train_file], ['eval', data.validation, settings.eval_file]] as const) {
        if (file === null) continue;
        const name = axolotlFileFor(format, part, settings.dataset_formats, file);
        if (name !== file) files.set(name, encoder.encode(jsonLines(rowsOf(rows, format).map(asMessages))));
      }
    }
  }
  files.set('README.md', encoder.encode(readme(settings, yaml !== null, { train: data.train.length, validation: data.validation.length })));
  return { files, settings };
}
