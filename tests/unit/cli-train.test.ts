// `hone train` end to end: LoRA on tiny-llama for 5 steps from an Alpaca JSONL file writes a PEFT
// folder whose weights are exactly what the same run in process (the row builder's rows + Trainer)
// gives; `logits --adapter OUT` then differs from the base model and equals the in-process
// PeftModel. Bad arguments give one line on stderr, a non-zero exit, and no folder.
import { beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setNodeBackend } from '../../cli/node-backend';
import { loadCheckpoint } from '../../src/core/model/checkpoint';
import { Decoder, computeLogits } from '../../src/core/model/decoder';
import { parseSafetensors } from '../../src/core/model/safetensors';
import { PeftModel, exportAdapterFolder, readAdapterFolder } from '../../src/core/peft';
import { Trainer } from '../../src/core/train/loop';
import { createPeftModel, methodDefaults } from '../../src/core/train/run';
import { buildTrainingRows } from '../../src/core/train/rows';
import { readModelDir } from '../../cli/read-model-dir';
import { maxDiffUnmasked } from './compare';

const root = fileURLToPath(new URL('../../', import.meta.url));
const modelDir = fileURLToPath(new URL('../fixtures/hf/tiny-llama/', import.meta.url));
const reference = JSON.parse(readFileSync(join(modelDir, 'reference.json'), 'utf8')).logits as { input_ids: number[][]; attention_mask: number[][] };

function hone(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node', ['--import', 'tsx', 'cli/hone.ts', ...args], { cwd: root }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const RECORDS = [
  { instruction: 'Name a color.', input: '', output: 'Blue' },
  { instruction: 'Name a fruit.', input: '', output: 'Apple' },
  { instruction: 'Add the numbers.', input: '2 and 3', output: '5' },
  { instruction: 'Say hello.', input: '', output: 'Hello there' },
  { instruction: 'Opposite of up?', input: '', output: 'down' },
];
// the Alpaca prompt is ~120–170 tokens on tiny-llama's tokenizer; rows are cut from the right (TRL)
const SETTINGS = { steps: 5, lr: 1e-2, maxLength: 256, seed: 7, batch: 2 };

const work = mkdtempSync(join(tmpdir(), 'hone-cli-train-'));
const dataFile = join(work, 'data.jsonl');
writeFileSync(dataFile, RECORDS.map((r) => JSON.stringify(r)).join('\n') + '\n');

const trainArgs = (out: string, extra: string[] = []) => [
  'train', '--model', modelDir, '--data', dataFile, '--method', 'lora', '--out', out, '--backend', 'cpu',
  '--steps', String(SETTINGS.steps), '--lr', String(SETTINGS.lr), '--max-length', String(SETTINGS.maxLength),
  '--seed', String(SETTINGS.seed), '--batch', String(SETTINGS.batch), ...extra,
];

function readFolder(dir: string): Map<string, Uint8Array> {
  return new Map(readdirSync(dir).map((name) => [name, new Uint8Array(readFileSync(join(dir, name)))]));
}

describe('hone train', () => {
  beforeAll(async () => {
    await setNodeBackend('cpu');
  });

  it('trains LoRA for 5 steps and writes a PEFT folder that logits --adapter applies', async () => {
    const out = join(work, 'lora-out');
    const run = await hone(trainArgs(out));
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout);
    // r 8 on q_proj (32→32) and v_proj (32→16) of 2 layers: 2 · (8·32 + 32·8 + 8·32 + 16·8) = 1792
    expect(summary).toMatchObject({
      method: 'lora', status: 'completed', steps: 5, skippedSteps: 0, examples: 5, skippedExamples: 0, exported: 'last',
      rows: { train: 5, validation: 0, dropped: 0 },
      settings: { promptFormat: 'alpaca', loss: 'completion', packing: false, maxLength: 256 },
    });
    expect(summary.settings.trainer).toMatchObject({ totalSteps: 5, learningRate: 1e-2, batchSize: 2, seed: 7, evalEvery: null, loadBestAtEnd: false });
    expect(summary.trainable.trainable).toBe(1792);
    expect(summary.files).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors']);
    expect(summary.loss.last).toBeLessThan(summary.loss.first);
    expect(summary.tokensPerSecond).toBeGreaterThan(0);
    const progress = run.stderr.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
    expect(progress.map((p) => p.step)).toEqual([1, 2, 3, 4, 5]);
    expect(progress[0].loss).toBe(summary.loss.first);
    expect(readdirSync(out).sort()).toEqual(summary.files);
    const config = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({ peft_type: 'LORA', r: 8, lora_alpha: 16, base_model_name_or_path: 'tiny-llama' });

    // the same run in process: same rows, same method, same trainer settings, same seed
    const checkpoint = loadCheckpoint(await readModelDir(modelDir));
    const decoder = Decoder.fromHost(checkpoint.config, checkpoint.weights);
    const records = RECORDS.map((r) => ({ instruction: r.instruction, ...(r.input ? { context: r.input } : {}), output: r.output }));
    const { rows, summary: rowsSummary } = buildTrainingRows(records, checkpoint.tokenizer, { maxLength: SETTINGS.maxLength });
    expect(summary.data).toMatchObject({ examples: 5, used: 5, dropped: [], scoredTokens: { train: rowsSummary.scoredTokens, validation: 0 }, validationFrom: 'none' });
    const model = createPeftModel(decoder, { name: 'lora' }, SETTINGS.seed);
    const trainer = new Trainer(model, { train: rows }, {
      ...methodDefaults('lora').trainer,
      totalSteps: SETTINGS.steps,
      learningRate: SETTINGS.lr,
      batchSize: SETTINGS.batch,
      seed: SETTINGS.seed,
      padTokenId: checkpoint.tokenizer.eosTokenId!,
    });
    await trainer.run();
    trainer.dispose();
    const inProcess = parseSafetensors((await exportAdapterFolder(model.method!, { baseModel: 'tiny-llama' })).get('adapter_model.safetensors')!, 'in-process');
    const written = parseSafetensors(readFileSync(join(out, 'adapter_model.safetensors')), 'written');
    expect([...written.keys()].sort()).toEqual([...inProcess.keys()].sort());
    for (const [name, t] of written) {
      expect(t.shape, name).toEqual(inProcess.get(name)!.shape);
      const diff = Math.max(...t.data.map((v, i) => Math.abs(v - inProcess.get(name)!.data[i])));
      expect(diff, name).toBeLessThanOrEqual(1e-6);
    }

    // logits with the written folder: the CLI's equal the in-process PeftModel's, and differ from the base
    const request = join(work, 'req.json');
    const logitsOut = join(work, 'logits.safetensors');
    writeFileSync(request, JSON.stringify(reference));
    const logits = await hone(['logits', '--model', modelDir, '--input', request, '--out', logitsOut, '--adapter', out, '--backend', 'cpu']);
    expect(logits.code, logits.stderr).toBe(0);
    const cliLogits = parseSafetensors(readFileSync(logitsOut), 'logits').get('logits')!;
    const loaded = new PeftModel(decoder, readAdapterFolder(readFolder(out), decoder));
    const expected = await computeLogits((ids, mask) => loaded.forward(ids, mask), reference.input_ids, reference.attention_mask);
    expect(cliLogits.shape).toEqual([...expected.shape]);
    expect(maxDiffUnmasked(cliLogits.data, expected.data, reference.attention_mask)).toBeLessThanOrEqual(1e-6);
    const base = await computeLogits(decoder, reference.input_ids, reference.attention_mask);
    expect(maxDiffUnmasked(cliLogits.data, base.data, reference.attention_mask)).toBeGreaterThan(1e-4);
    loaded.dispose();
    model.dispose();
    decoder.dispose();
  }, 300_000); // two CLI processes and a training run in process

  it('refuses bad arguments with one line and a non-zero exit, writing nothing', async () => {
    const noOutputs = join(work, 'no-outputs.jsonl');
    writeFileSync(noOutputs, JSON.stringify({ instruction: 'q', input: '', output: '' }) + '\n');
    const taken = join(work, 'taken');
    mkdirSync(taken);
    writeFileSync(join(taken, 'keep.txt'), 'mine');
    const cases: [string[], string, string][] = [
      [['--lr', 'NaN'], 'bad-lr-nan', '--lr (TrainerConfig.learningRate) must be a positive finite number, got NaN'],
      [['--lr', '0'], 'bad-lr-zero', '--lr (TrainerConfig.learningRate) must be a positive finite number, got 0'],
      [['--lr', 'Infinity'], 'bad-lr-inf', 'must be a positive finite number, got Infinity'],
      [['--steps', '0'], 'bad-steps', '--steps must be a positive integer, got "0"'],
      [['--method', 'lorax'], 'bad-method', '--method: PEFT method "lorax" is not known'],
      [['--config', '{"lora_magic":1}'], 'bad-key', '--config: LoRA config (lora_magic): unknown config key(s) "lora_magic"'],
      [['--config', '[1]'], 'bad-config', '--config must be a JSON object of lora settings'],
      [['--val-fraction', '1'], 'bad-val', '--val-fraction must be in [0, 1), got "1"'],
      [['--data', join(work, 'missing.jsonl')], 'no-data', 'missing.jsonl: no such file'],
      [['--data', noOutputs], 'no-outputs', `--data ${noOutputs}: training rows: record 0 (instruction), field "output": is missing`],
      [['--prompt', 'markdown'], 'bad-prompt', '--prompt must be one of alpaca, template, chat, got "markdown"'],
      [['--loss', 'prompt'], 'bad-loss', '--loss must be one of completion, assistant, all, got "prompt"'],
      [['--schedule', 'step'], 'bad-schedule', '--schedule must be one of constant, linear, cosine, got "step"'],
      [['--weight-decay', '-1'], 'bad-decay', '--weight-decay (TrainerConfig.weightDecay) must be a finite number ≥ 0, got -1'],
      [['--early-stopping-patience', '2'], 'no-val-patience', '--early-stopping-patience (trainer.earlyStoppingPatience) needs validation examples'],
      [['--chat-template', join(work, 'missing.jinja')], 'no-template', 'missing.jinja: no such file'],
    ];
    // three processes at a time: each loads tfjs, and the test machines are small
    const results: Awaited<ReturnType<typeof hone>>[] = [];
    for (let i = 0; i < cases.length; i += 3) {
      results.push(...(await Promise.all(cases.slice(i, i + 3).map(([extra, outName]) => hone(trainArgs(join(work, outName), extra))))));
    }
    results.forEach((result, i) => {
      const [, outName, message] = cases[i];
      expect(result.code, outName).not.toBe(0);
      expect(result.stdout, outName).toBe('');
      const lines = result.stderr.trim().split('\n').filter((l) => !/^=+$|Hi, looks like you are running TensorFlow\.js/.test(l) && l !== '');
      expect(lines, outName).toHaveLength(1);
      expect(lines[0], outName).toContain(message);
      expect(existsSync(join(work, outName)), outName).toBe(false);
    });
    const existing = await hone(trainArgs(taken));
    expect(existing.code).toBe(2);
    expect(existing.stderr).toContain('already exists and is not an empty folder');
    expect(readdirSync(taken)).toEqual(['keep.txt']);
  }, 300_000);
});
