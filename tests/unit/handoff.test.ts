// The hand-off (issue 13, item 5) on hone-tiny: `hone handoff` writes data.jsonl, eval.jsonl,
// train_trl.py, axolotl.yaml and README.md whose settings are the run's (the run builder's
// prepareRun on the same flags), whose rows re-imported through Hone's TRL importer build exactly
// the run's training and validation rows, and whose script is valid Python (python3's ast; torch
// and trl are not installed here, so the script is not run).
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from '../../cli/args';
import { handoffCommand } from '../../cli/commands/handoff';
import { readModelDir } from '../../cli/read-model-dir';
import { importText } from '../../src/core/data/import';
import type { InstructionRecord } from '../../src/core/data/record';
import { handoffFolder, readAxolotlYaml, settingsOfScript } from '../../src/core/handoff';
import { loadCheckpoint } from '../../src/core/model/checkpoint';
import { Decoder } from '../../src/core/model/decoder';
import { buildRunData, prepareRun } from '../../src/core/train/run-builder';

const MODEL_DIR = new URL('../../public/models/hone-tiny/', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'hone-handoff-'));
const checkpoint = loadCheckpoint(await readModelDir(MODEL_DIR));
const tokenizer = checkpoint.tokenizer;

const ALPACA = Array.from({ length: 8 }, (_, i) => ({
  instruction: `Name the colour of thing ${i}.`,
  input: i % 2 ? `Thing ${i} is a fox.` : '',
  output: i % 3 ? 'Red.' : 'Blue.',
}));

/** Every record kind the run builder trains, mixed, in Hone's own record shape. */
const MIXED: InstructionRecord[] = [
  { instruction: 'Name a colour.', output: 'Blue.' },
  { kind: 'text', instruction: '', output: 'The fox is red and the sky is blue.' },
  { instruction: 'Add the numbers.', context: '2 and 3', output: '5' },
  {
    kind: 'conversation',
    instruction: '',
    conversation: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi?' },
      { role: 'assistant', content: 'Hello.' },
      { role: 'user', content: 'Sky?' },
      { role: 'assistant', content: 'Blue.' },
    ],
  },
  { kind: 'prompt-completion', instruction: 'The fox is', output: ' red.' },
  {
    kind: 'prompt-completion',
    instruction: 'Sky?',
    conversation: [
      { role: 'user', content: 'Sky?' },
      { role: 'assistant', content: 'Blue.' },
    ],
    promptTurns: 1,
  },
  { kind: 'sni', instruction: 'Answer yes or no.', context: 'Is the sky blue?', output: 'yes', positives: [{ input: 'Is the fox red?', output: 'yes' }] },
  { instruction: 'What is the capital?', context: 'Velan has a capital called Oro.', output: 'Oro', task: 'closed_qa', templateId: 'closed_qa/2' },
  { instruction: 'Name a season.', output: 'Winter.', split: 'test' },
];

async function reimported(text: string): Promise<InstructionRecord[]> {
  const result = await importText(text, { format: 'trl', fileName: 'data.jsonl' });
  expect(result.errors).toEqual([]);
  return result.records;
}

/** Runs Python on the script as a module (its torch / trl imports are inside main(), so loading it needs neither). */
function python(script: string, code: string): string {
  const prelude = 'import importlib.util, json, sys\nspec = importlib.util.spec_from_file_location("train_trl", sys.argv[1])\nm = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(m)\n';
  return execFileSync('python3', ['-c', prelude + code, script], { encoding: 'utf8' }).trim();
}

const ast = (file: string): string => execFileSync('python3', ['-c', 'import ast, sys; ast.parse(open(sys.argv[1]).read()); print("ok")', file], { encoding: 'utf8' }).trim();

describe('hone handoff', () => {
  it('writes the run’s settings into train_trl.py and axolotl.yaml, and its rows into data.jsonl / eval.jsonl', async () => {
    const data = join(work, 'alpaca.jsonl');
    writeFileSync(data, ALPACA.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const out = join(work, 'lora-handoff');
    const flags = ['--model', MODEL_DIR, '--data', data, '--method', 'lora', '--steps', '30', '--lr', '1e-3', '--batch', '2', '--grad-accum', '2', '--warmup', '3', '--schedule', 'cosine', '--val-fraction', '0.25', '--seed', '5', '--max-length', '128', '--config', '{"r":4}'];
    const before = tf.memory().numTensors;
    const summary = await handoffCommand(parseArgs(['handoff', ...flags, '--base-model', 'hone/hone-tiny', '--out', out]));
    expect(tf.memory().numTensors).toBe(before);
    expect(summary).toMatchObject({ method: 'lora', baseModel: 'hone/hone-tiny', examples: { train: 6, validation: 2 }, formats: ['prompt-completion'] });
    expect(readdirSync(out).sort()).toEqual(['README.md', 'axolotl.yaml', 'data.jsonl', 'eval.jsonl', 'train_trl.py']);

    // the same run, prepared by the builder from the same file and settings
    const decoder = Decoder.fromHost(checkpoint.config, checkpoint.weights);
    const source = { name: 'alpaca.jsonl', records: (await importText(readFileSync(data, 'utf8'), { format: 'alpaca' })).records };
    const run = prepareRun(decoder, tokenizer, source, {
      method: { name: 'lora', config: { r: 4 } },
      trainer: { totalSteps: 30, learningRate: 1e-3, batchSize: 2, gradientAccumulationSteps: 2, warmupSteps: 3, schedule: 'cosine', seed: 5 },
      rows: { maxLength: 128, packing: false },
      validationFraction: 0.25,
    });
    const target = ['q_proj', 'v_proj'];
    try {
      const settings = settingsOfScript(readFileSync(join(out, 'train_trl.py'), 'utf8'));
      expect(settings).toEqual({
        base_model: 'hone/hone-tiny',
        method: 'lora',
        method_config: run.methodConfig,
        peft_config: expect.objectContaining({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 4, lora_alpha: 16, lora_dropout: 0.05, inference_mode: false, base_model_name_or_path: 'hone/hone-tiny' }),
        adapter_config: null,
        trainable_parameters: null,
        dataset_formats: ['prompt-completion'],
        train_file: 'data.jsonl',
        eval_file: 'eval.jsonl',
        prompt_format: 'alpaca',
        chat_template: null,
        loss: 'completion',
        completion_only_loss: true,
        assistant_only_loss: false,
        max_length: 128,
        packing: false,
        learning_rate: 1e-3,
        lr_scheduler_type: 'cosine',
        warmup_steps: 3,
        weight_decay: run.trainer.weightDecay,
        adam_beta1: 0.9,
        adam_beta2: 0.999,
        adam_epsilon: 1e-8,
        max_grad_norm: 1,
        per_device_train_batch_size: 2,
        gradient_accumulation_steps: 2,
        max_steps: 30,
        seed: 5,
        eval_steps: 3, // ten points on the validation curve: round(30 / 10)
        early_stopping_patience: null,
        early_stopping_threshold: 0,
        load_best_model_at_end: false,
        gradient_checkpointing: false,
        output_dir: 'output',
      });
      expect(run.trainer.evalEvery).toBe(3);
      expect([...(settings.peft_config!['target_modules'] as string[])].sort()).toEqual(target);

      const yaml = readAxolotlYaml(readFileSync(join(out, 'axolotl.yaml'), 'utf8'));
      expect(Object.fromEntries(yaml)).toMatchObject({
        base_model: 'hone/hone-tiny',
        datasets: [{ path: 'data.jsonl', ds_type: 'json', type: { field_instruction: 'prompt', field_output: 'completion', format: '{instruction}', no_input_format: '{instruction}' } }],
        test_datasets: [{ path: 'eval.jsonl', ds_type: 'json', split: 'train' }],
        adapter: 'lora',
        lora_r: 4,
        lora_alpha: 16,
        lora_dropout: 0.05,
        sequence_len: 128,
        sample_packing: false,
        train_on_inputs: false,
        micro_batch_size: 2,
        gradient_accumulation_steps: 2,
        learning_rate: 1e-3,
        lr_scheduler: 'cosine',
        warmup_steps: 3,
        max_steps: 30,
        eval_steps: 3,
        seed: 5,
        output_dir: './output',
      });
      expect([...(yaml.get('lora_target_modules') as string[])].sort()).toEqual(target);

      // the data carries over exactly: TRL rows → Hone's TRL importer → the run's rows
      const train = await reimported(readFileSync(join(out, 'data.jsonl'), 'utf8'));
      const validation = await reimported(readFileSync(join(out, 'eval.jsonl'), 'utf8'));
      expect(buildRunData(train, tokenizer, { maxLength: 128, validationFraction: 0, seed: 5 }).train).toEqual(run.data.train);
      expect(buildRunData(validation, tokenizer, { maxLength: 128, validationFraction: 0, seed: 5 }).train).toEqual(run.data.validation);
      expect(ast(join(out, 'train_trl.py'))).toBe('ok');
      // Python's json.loads of the embedded block reads the very settings the test read
      expect(JSON.parse(python(join(out, 'train_trl.py'), 'print(json.dumps(m.SETTINGS))'))).toEqual(settings);
      expect(readFileSync(join(out, 'README.md'), 'utf8')).toContain('accelerate launch train_trl.py');
    } finally {
      run.peft.dispose();
      decoder.dispose();
    }
  });

  it('carries --gradient-checkpointing into train_trl.py (non-reentrant) and axolotl.yaml; leaves axolotl without it otherwise', async () => {
    const data = join(work, 'alpaca-gc.jsonl');
    writeFileSync(data, ALPACA.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const base = ['--model', MODEL_DIR, '--data', data, '--method', 'lora', '--steps', '4', '--base-model', 'hone/hone-tiny'];
    const on = join(work, 'gc-on');
    const off = join(work, 'gc-off');
    await handoffCommand(parseArgs(['handoff', ...base, '--gradient-checkpointing', '--out', on]));
    await handoffCommand(parseArgs(['handoff', ...base, '--out', off]));
    const script = readFileSync(join(on, 'train_trl.py'), 'utf8');
    expect(settingsOfScript(script).gradient_checkpointing).toBe(true);
    expect(settingsOfScript(readFileSync(join(off, 'train_trl.py'), 'utf8')).gradient_checkpointing).toBe(false);
    expect(script).toContain('gradient_checkpointing=SETTINGS["gradient_checkpointing"],');
    expect(script).toContain('gradient_checkpointing_kwargs={"use_reentrant": False} if SETTINGS["gradient_checkpointing"] else None,');
    expect(ast(join(on, 'train_trl.py'))).toBe('ok');
    expect(readAxolotlYaml(readFileSync(join(on, 'axolotl.yaml'), 'utf8')).get('gradient_checkpointing')).toBe(true);
    expect(readAxolotlYaml(readFileSync(join(off, 'axolotl.yaml'), 'utf8')).has('gradient_checkpointing')).toBe(false);
  });

  it('refuses an existing --out and a bad --method before reading anything', async () => {
    await expect(handoffCommand(parseArgs(['handoff', '--model', MODEL_DIR, '--data', 'x.jsonl', '--method', 'nope', '--out', join(work, 'n')]))).rejects.toThrow(/^--method: /);
    await expect(handoffCommand(parseArgs(['handoff', '--model', MODEL_DIR, '--data', 'x.jsonl', '--method', 'lora', '--out', MODEL_DIR]))).rejects.toThrow(/already exists and is not an empty folder/);
  });
});

describe.each([
  ['alpaca', 'completion', false],
  ['chat', 'assistant', true],
  ['template', 'all', false],
  ['chat', 'completion', true],
] as const)('TRL rows of every record kind, prompt format %s, loss %s, packing %s', (promptFormat, loss, packing) => {
  it('re-import through the TRL importer into the run’s rows, train and validation', async () => {
    const decoder = Decoder.fromHost(checkpoint.config, checkpoint.weights);
    const rows = { maxLength: 192, loss, packing, promptFormat };
    const run = prepareRun(decoder, tokenizer, { name: 'mixed', records: MIXED }, { method: { name: 'prefix' }, trainer: { totalSteps: 4, seed: 3 }, rows, validationFraction: 0.25 });
    try {
      const { files, settings } = await handoffFolder({ run, records: MIXED, method: 'prefix', baseModel: 'hone/hone-tiny', rows, validationFraction: 0.25 });
      const decode = (name: string) => new TextDecoder().decode(files.get(name));
      const again = (text: string) => reimported(text).then((records) => buildRunData(records, tokenizer, { ...rows, maxLength: run.maxLength, validationFraction: 0, seed: 3 }).train);
      expect(await again(decode('data.jsonl'))).toEqual(run.data.train);
      expect(await again(decode('eval.jsonl'))).toEqual(run.data.validation);
      // 9 records: 1 test, 8 left, round(0.25 · 8) = 2 held out
      expect(decode('data.jsonl').trim().split('\n')).toHaveLength(6);
      expect(settings).toMatchObject({ method: 'prefix', prompt_format: promptFormat, loss, packing, completion_only_loss: loss !== 'all', assistant_only_loss: loss === 'assistant', max_length: run.maxLength, max_steps: 4, seed: 3 });
      expect(settings.peft_config).toMatchObject({ peft_type: 'PREFIX_TUNING', num_virtual_tokens: 10 });
      expect(files.has('axolotl.yaml')).toBe(false); // axolotl has no prefix tuning; README says so
      expect(decode('README.md')).toContain('axolotl has no prefix method');
    } finally {
      run.peft.dispose();
      decoder.dispose();
    }
  });
});

describe('a mixed-format LoRA hand-off', () => {
  it('gives axolotl one dataset file per format, and train_trl.py trains text beside pairs as pairs', async () => {
    const decoder = Decoder.fromHost(checkpoint.config, checkpoint.weights);
    const rows = { maxLength: 192, promptFormat: 'alpaca' as const };
    const run = prepareRun(decoder, tokenizer, { name: 'mixed', records: MIXED }, { method: { name: 'lora' }, trainer: { totalSteps: 4, seed: 3 }, rows, validationFraction: 0 });
    try {
      const { files, settings } = await handoffFolder({ run, records: MIXED, method: 'lora', baseModel: 'hone/hone-tiny', rows, validationFraction: 0 });
      expect(settings.dataset_formats).toEqual(['prompt-completion', 'text', 'messages', 'conversational-prompt-completion']);
      const yaml = readAxolotlYaml(new TextDecoder().decode(files.get('axolotl.yaml')));
      const datasets = yaml.get('datasets') as { path: string; type: unknown }[];
      expect(datasets.map((d) => d.path)).toEqual(settings.dataset_formats.map((f) => `axolotl-train-${f}.jsonl`));
      const lines = (name: string) => new TextDecoder().decode(files.get(name)).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      // alpaca-rendered instructions, the SNI prompt and the TRL pair; the text; the conversation; the chat pair as messages
      expect(datasets.map((d) => lines(d.path).length)).toEqual([5, 1, 1, 1]);
      expect(lines('axolotl-train-text.jsonl')).toEqual([{ text: 'The fox is red and the sky is blue.' }]);
      expect(lines('axolotl-train-conversational-prompt-completion.jsonl')).toEqual([{ messages: [{ role: 'user', content: 'Sky?' }, { role: 'assistant', content: 'Blue.' }] }]);
      expect(datasets[0].type).toEqual({ field_instruction: 'prompt', field_output: 'completion', format: '{instruction}', no_input_format: '{instruction}' });

      const script = join(work, 'mixed-train_trl.py');
      writeFileSync(script, files.get('train_trl.py')!);
      const pairs = [{ prompt: 'P', completion: 'C' }, { text: 'T' }];
      expect(JSON.parse(python(script, `print(json.dumps(m.one_format(${JSON.stringify(pairs)}, "data.jsonl")))`))).toEqual([{ prompt: 'P', completion: 'C' }, { prompt: '', completion: 'T' }]);
      expect(() => python(script, 'm.one_format([{"text": "T"}, {"messages": []}], "data.jsonl")')).toThrow(/several TRL formats \(messages, text\)/);
    } finally {
      run.peft.dispose();
      decoder.dispose();
    }
  });
});

describe('hand-off method configs', () => {
  it.each([
    ['ia3', { peft_config: expect.objectContaining({ peft_type: 'IA3', task_type: 'CAUSAL_LM' }), adapter_config: null }],
    ['prompt', { peft_config: expect.objectContaining({ peft_type: 'PROMPT_TUNING', num_virtual_tokens: 8, prompt_tuning_init: 'RANDOM' }), adapter_config: null }],
    ['adapter', { peft_config: null, adapter_config: expect.objectContaining({ config: expect.objectContaining({ architecture: 'bottleneck', reduction_factor: 16 }) }) }],
  ] as const)('%s: the config its own export writes, and no axolotl.yaml', async (method, expected) => {
    const decoder = Decoder.fromHost(checkpoint.config, checkpoint.weights);
    const records = ALPACA.map((r) => ({ instruction: r.instruction, output: r.output }));
    const run = prepareRun(decoder, tokenizer, { name: 'a', records }, { method: { name: method }, trainer: { totalSteps: 2 }, rows: {}, validationFraction: 0 });
    try {
      const { files, settings } = await handoffFolder({ run, records, method, baseModel: 'hone/hone-tiny', rows: {}, validationFraction: 0 });
      expect(settings).toMatchObject({ method, method_config: run.methodConfig, trainable_parameters: null, ...expected });
      expect([...files.keys()].sort()).toEqual(['README.md', 'data.jsonl', 'train_trl.py']);
    } finally {
      run.peft.dispose();
      decoder.dispose();
    }
  });
});

describe('hand-off of the whole-model methods', () => {
  it.each(['full', 'freeze'] as const)('%s: no PEFT config; freeze lists exactly the parameters that train', async (method) => {
    const decoder = Decoder.fromHost(checkpoint.config, checkpoint.weights);
    const records = ALPACA.map((r) => ({ instruction: r.instruction, ...(r.input ? { context: r.input } : {}), output: r.output }));
    const run = prepareRun(decoder, tokenizer, { name: 'a', records }, { method: { name: method }, trainer: { totalSteps: 5 }, rows: {}, validationFraction: 0 });
    try {
      const { files, settings } = await handoffFolder({ run, records, method, baseModel: '/models/hone-tiny', rows: {}, validationFraction: 0 });
      expect(settings).toMatchObject({ peft_config: null, adapter_config: null, eval_file: null, eval_steps: null, max_length: 256, learning_rate: method === 'full' ? 5e-5 : 1e-4 });
      const yaml = readAxolotlYaml(new TextDecoder().decode(files.get('axolotl.yaml')));
      expect(yaml.get('adapter')).toBeUndefined();
      expect(yaml.get('val_set_size')).toBe(0);
      if (method === 'freeze') {
        // the top block of hone-tiny's 4 (trainable_layers 1), norms frozen
        expect(settings.trainable_parameters).toEqual([...run.peft.method!.variables().keys()].sort());
        expect(settings.trainable_parameters!.every((name) => name.startsWith('model.layers.3.'))).toBe(true);
        expect(settings.trainable_parameters).toHaveLength(9);
        expect(yaml.get('unfrozen_parameters')).toEqual(settings.trainable_parameters!.map((n) => `^${n.replaceAll('.', '\\.')}$`));
      } else {
        expect(settings.trainable_parameters).toBeNull();
      }
      const script = join(work, `${method}-train_trl.py`);
      writeFileSync(script, files.get('train_trl.py')!);
      expect(ast(script)).toBe('ok');
    } finally {
      run.peft.dispose();
      decoder.dispose();
    }
  });
});
