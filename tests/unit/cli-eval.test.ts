// `hone eval` and `hone metrics` as processes: eval on tiny-llama with the fixture LoRA adapter
// writes a report whose rows are exactly what the same evaluation gives in process (base = adapter
// off, tuned = adapter on) and prints its summary; without --adapter only the base model runs; Hone's
// eval lines with options rank them by log-likelihood; bad input (no references, an unknown metric,
// options the tokenizer cannot encode) exits non-zero with one clear line and writes nothing.
// `metrics --file golden.json` reproduces every reference value within 1e-6.
import { beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setNodeBackend } from '../../cli/node-backend';
import { readModelDir } from '../../cli/read-model-dir';
import { loadCheckpoint } from '../../src/core/model/checkpoint';
import { Decoder } from '../../src/core/model/decoder';
import { PeftModel, readAdapterFolder } from '../../src/core/peft';
import { evaluate } from '../../src/core/eval/evaluate';
import type { EvalReport } from '../../src/core/eval/report';

const root = fileURLToPath(new URL('../../', import.meta.url));
const modelDir = fileURLToPath(new URL('../fixtures/hf/tiny-llama/', import.meta.url));
const adapterDir = join(modelDir, 'adapters', 'lora');
const goldenPath = fileURLToPath(new URL('../fixtures/metrics/golden.json', import.meta.url));

function hone(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node', ['--import', 'tsx', 'cli/hone.ts', ...args], { cwd: root }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const work = mkdtempSync(join(tmpdir(), 'hone-cli-eval-'));
const write = (name: string, lines: unknown[]) => {
  const file = join(work, name);
  writeFileSync(file, lines.map((line) => JSON.stringify(line)).join('\n') + '\n');
  return file;
};
const ALPACA = [
  { instruction: 'Name a color.', input: '', output: 'Blue' },
  { instruction: 'Add the numbers.', input: '2 and 3', output: '5' },
  { instruction: 'Say hello.', input: '', output: 'Hello there' },
];
const alpacaFile = write('alpaca.jsonl', ALPACA);
const common = ['--model', modelDir, '--backend', 'wasm', '--max-new-tokens', '4'];

describe('hone eval', () => {
  beforeAll(async () => {
    await setNodeBackend('wasm');
  });

  it('compares base and adapter on an Alpaca file exactly as the in-process evaluation does', async () => {
    const out = join(work, 'report.json');
    const run = await hone(['eval', ...common, '--adapter', adapterDir, '--data', alpacaFile, '--out', out, '--metric', 'chrf', '--shots', '1']);
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout);
    const report = JSON.parse(readFileSync(out, 'utf8')) as EvalReport;
    const progress = run.stderr.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
    expect(progress.map((p) => `${p.phase} ${p.done}/${p.total}`)).toEqual(['zero-shot 1/3', 'zero-shot 2/3', 'zero-shot 3/3', '1-shot 1/3', '1-shot 2/3', '1-shot 3/3']);

    // the same evaluation in process
    const checkpoint = loadCheckpoint(await readModelDir(modelDir));
    const decoder = Decoder.fromHost(checkpoint.config, checkpoint.weights);
    const files = new Map(readdirSync(adapterDir).map((name) => [name, new Uint8Array(readFileSync(join(adapterDir, name)))]));
    const peft = new PeftModel(decoder, readAdapterFolder(files, decoder));
    const items = ALPACA.map((r, i) => ({ id: String(i + 1), instruction: r.instruction, ...(r.input ? { context: r.input } : {}), references: [r.output], task: '(none)', cluster: '(none)' }));
    const expected = await evaluate({ items, peft, tokenizer: checkpoint.tokenizer }, { metric: 'chrf', generation: { maxNewTokens: 4, greedy: true, seed: 0 }, shots: 1 });
    peft.dispose();
    decoder.dispose();
    expect(report.rows).toEqual(expected.rows);
    expect(report.comparison).toEqual(expected.comparison);
    expect(report).toMatchObject({ status: 'completed', tuned: { kind: 'adapter', name: 'lora', method: 'lora' }, evalSet: { kind: 'file', name: 'alpaca.jsonl', count: 3 } });

    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(summary).toMatchObject({ out, status: 'completed', metric: 'chrf', examples: 3, skipped: 0, fewShot: { shots: 1 } });
    expect(summary.base).toBeCloseTo(mean(report.rows.map((r) => r.base.score)), 12);
    expect(summary.tuned).toBeCloseTo(mean(report.rows.map((r) => r.tuned!.score)), 12);
    expect(summary.difference).toBeCloseTo(summary.tuned - summary.base, 12);
    expect(summary.interval.low).toBeLessThanOrEqual(summary.difference);
    expect(summary.interval.high).toBeGreaterThanOrEqual(summary.difference);
    expect(summary.corpus.base).toBe(report.corpus!.base);
  });

  it('runs the base model alone without --adapter, and ranks options of Hone eval lines', async () => {
    const out = join(work, 'base.json');
    const run = await hone(['eval', ...common, '--data', alpacaFile, '--out', out, '--metric', 'squad_f1']);
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({ examples: 3, tuned: null, difference: null, interval: null, wins: null, fewShot: null });
    const report = JSON.parse(readFileSync(out, 'utf8')) as EvalReport;
    expect(report.rows.every((r) => r.tuned === null)).toBe(true);

    const quiz = write('quiz.jsonl', [
      { id: 'sky', prompt: 'Is the sky blue?\nAnswer:', options: ['yes', 'no'], gold: 0, task: 'yesno', cluster: 'facts' },
      { id: 'ice', prompt: 'Is ice hot?\nAnswer:', options: ['yes', 'no'], gold: 1, task: 'yesno', cluster: 'facts' },
    ]);
    const mc = await hone(['eval', ...common, '--adapter', adapterDir, '--data', quiz, '--out', join(work, 'quiz-report.json'), '--metric', 'acc_norm']);
    expect(mc.code, mc.stderr).toBe(0);
    const rows = (JSON.parse(readFileSync(join(work, 'quiz-report.json'), 'utf8')) as EvalReport).rows;
    expect(rows.map((r) => r.id)).toEqual(['sky', 'ice']);
    for (const row of rows) {
      expect(['yes', 'no']).toContain(row.base.output);
      expect([0, 1]).toContain(row.tuned!.score);
      expect((row.base.details as { logprobs: number[] }).logprobs).toHaveLength(2);
    }
  });

  it('refuses an eval set without references, an unknown metric and options the tokenizer cannot encode, writing nothing', async () => {
    const out = join(work, 'never.json');
    const noRefs = write('no-refs.jsonl', [{ instruction: 'Why?', input: '', output: '' }]);
    const a = await hone(['eval', ...common, '--data', noRefs, '--out', out]);
    expect(a.code).toBe(1);
    expect(a.stderr.trim().split('\n').at(-1)).toBe(
      `hone: --data ${noRefs}, example 1 (id "1") has no references, but the metric "rougeL" compares outputs with references; add "references" or choose a metric without them (ifeval_strict, ifeval_loose)`,
    );
    const b = await hone(['eval', ...common, '--data', alpacaFile, '--out', out, '--metric', 'bleurt']);
    expect(b.code).toBe(2);
    expect(b.stderr.trim().split('\n').at(-1)).toMatch(/^hone: --metric: unknown metric "bleurt" \(known: bleu, chrf, chrf\+\+, rouge1, rouge2, rougeL, rougeLsum, squad_em, squad_f1, exact_match, ifeval_strict, ifeval_loose, acc, acc_norm\)$/);
    const merged = write('merged.jsonl', [{ id: 'li', prompt: 'Q: What does Li count? A:', options: ['moons', 'stars.'], gold: 0, task: 't', cluster: 'c' }]);
    const c = await hone(['eval', ...common, '--data', merged, '--out', out, '--metric', 'acc']);
    expect(c.code).toBe(1);
    expect(c.stderr.trim().split('\n').at(-1)).toBe(
      `hone: --data ${merged}, example 1 (id "li"): the tokenizer cannot encode option 2 of 2 " stars." as a continuation: context + option encodes to 5 tokens and the context alone to 5, so the option gets no tokens of its own (its characters merge into the context's last tokens); rephrase the option or end the prompt differently`,
    );
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(work).filter((name) => name.includes('partial'))).toEqual([]);
  });
});

describe('hone metrics', () => {
  it('reproduces every golden.json case (sacrebleu 2.6.0, rouge-score, SQuAD v1.1) within 1e-6', async () => {
    const run = await hone(['metrics', '--file', goldenPath]);
    expect(run.code, run.stderr).toBe(0);
    const results = JSON.parse(run.stdout) as unknown[];
    const cases = (JSON.parse(readFileSync(goldenPath, 'utf8')) as { cases: { expected: unknown }[] }).cases;
    expect(results).toHaveLength(cases.length);
    const close = (actual: unknown, expected: unknown, path: string): void => {
      if (typeof expected === 'number') {
        expect(Math.abs((actual as number) - expected), path).toBeLessThanOrEqual(1e-6);
      } else if (Array.isArray(expected) || (typeof expected === 'object' && expected !== null)) {
        for (const [key, value] of Object.entries(expected)) close((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
      } else {
        expect(actual, path).toEqual(expected);
      }
    };
    results.forEach((result, i) => close(result, cases[i].expected, `case ${i}`));
  });
});
