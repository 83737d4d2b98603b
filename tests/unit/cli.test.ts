// The CLI end to end, as scripts use it: JSON on stdout, one-line errors and non-zero exits on bad input.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSafetensors } from '../../src/core/model/safetensors';
import { maxDiffUnmasked } from './compare';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixture = (model: string) => fileURLToPath(new URL(`../fixtures/hf/${model}/`, import.meta.url));

function hone(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node', ['--import', 'tsx', 'cli/hone.ts', ...args], { cwd: root }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const models = ['tiny-gpt2', 'tiny-llama'] as const;

describe.each(models)('CLI on %s', (model) => {
  const dir = fixture(model);
  const reference = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8'));

  it('tokenize and decode reproduce the reference ids and text', async () => {
    const probe = reference.tokenizer[7];
    const tokenized = await hone(['tokenize', '--model', dir, '--text', probe.text]);
    expect(tokenized.code, tokenized.stderr).toBe(0);
    expect(JSON.parse(tokenized.stdout)).toEqual({ ids: probe.ids });
    const decoded = await hone(['decode', '--model', dir, '--ids', probe.ids.join(',')]);
    expect(decoded.code, decoded.stderr).toBe(0);
    expect(JSON.parse(decoded.stdout)).toEqual({ text: probe.decoded });
  });

  it.each(['cpu', 'wasm'])('logits on %s match the reference within 1e-4', async (backend) => {
    const work = mkdtempSync(join(tmpdir(), 'hone-cli-'));
    const request = join(work, 'req.json');
    const out = join(work, 'out.safetensors');
    writeFileSync(request, JSON.stringify({ input_ids: reference.logits.input_ids, attention_mask: reference.logits.attention_mask }));
    const result = await hone(['logits', '--model', dir, '--input', request, '--out', out, '--backend', backend]);
    expect(result.code, result.stderr).toBe(0);
    const logits = parseSafetensors(readFileSync(out), 'out.safetensors').get('logits')!;
    const expected = parseSafetensors(readFileSync(join(dir, 'reference.safetensors')), 'reference.safetensors').get('logits.base')!;
    expect(logits.shape).toEqual(expected.shape);
    expect(maxDiffUnmasked(logits.data, expected.data, reference.logits.attention_mask)).toBeLessThan(1e-4);
  });

  it('generate --greedy reproduces the reference ids', async () => {
    const { prompt_ids, output_ids } = reference.greedy;
    const result = await hone(['generate', '--model', dir, '--prompt-ids', prompt_ids.join(','), '--max-new-tokens', String(output_ids.length - prompt_ids.length), '--greedy']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).ids).toEqual(output_ids);
  });
});

describe('CLI logits --adapter', () => {
  it.each([
    ['tiny-gpt2', 'lora'],
    ['tiny-gpt2', 'ia3'],
    ['tiny-llama', 'prefix'],
    ['tiny-llama', 'prompt'],
  ])('%s with the PEFT %s folder gives the reference logits', async (model, method) => {
    const dir = fixture(model);
    const reference = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8'));
    const work = mkdtempSync(join(tmpdir(), 'hone-cli-'));
    const request = join(work, 'req.json');
    const out = join(work, 'out.safetensors');
    writeFileSync(request, JSON.stringify({ input_ids: reference.logits.input_ids, attention_mask: reference.logits.attention_mask }));
    const result = await hone(['logits', '--model', dir, '--input', request, '--out', out, '--adapter', join(dir, 'adapters', method), '--backend', 'cpu']);
    expect(result.code, result.stderr).toBe(0);
    const logits = parseSafetensors(readFileSync(out), 'out.safetensors').get('logits')!;
    const references = parseSafetensors(readFileSync(join(dir, 'reference.safetensors')), 'reference.safetensors');
    expect(maxDiffUnmasked(logits.data, references.get(`logits.${method}`)!.data, reference.logits.attention_mask)).toBeLessThan(1e-4);
    // and the adapter really changes the output
    expect(maxDiffUnmasked(logits.data, references.get('logits.base')!.data, reference.logits.attention_mask)).toBeGreaterThan(1e-3);
  });

  it('refuses an adapter made for another base model and writes nothing', async () => {
    const work = mkdtempSync(join(tmpdir(), 'hone-cli-'));
    const request = join(work, 'req.json');
    const out = join(work, 'out.safetensors');
    writeFileSync(request, JSON.stringify({ input_ids: [[1, 2, 3]] }));
    const result = await hone(['logits', '--model', fixture('tiny-llama'), '--input', request, '--out', out, '--adapter', join(fixture('tiny-gpt2'), 'adapters', 'prefix'), '--backend', 'cpu']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('prompt_embeddings');
    expect(existsSync(out)).toBe(false);
  });
});

describe('CLI errors', () => {
  it('exits non-zero with one line for an unknown command', async () => {
    const result = await hone(['frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('unknown command "frobnicate"');
  });

  it('names a missing model folder', async () => {
    const result = await hone(['tokenize', '--model', '/nonexistent/model', '--text', 'x']);
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('/nonexistent/model');
  });

  it('rejects ragged input_ids and writes nothing', async () => {
    const work = mkdtempSync(join(tmpdir(), 'hone-cli-'));
    const request = join(work, 'req.json');
    const out = join(work, 'out.safetensors');
    writeFileSync(request, JSON.stringify({ input_ids: [[1, 2, 3], [4, 5]] }));
    const result = await hone(['logits', '--model', fixture('tiny-gpt2'), '--input', request, '--out', out, '--backend', 'cpu']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('row 1 has 2 entries');
    expect(existsSync(out)).toBe(false);
  });

  it('rejects token ids outside the vocabulary', async () => {
    const result = await hone(['decode', '--model', fixture('tiny-gpt2'), '--ids', '1,99999']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('token id 99999 is outside the vocabulary (size 512)');
  });
});
