// `hone pull` and `--model ORG/NAME` end to end against the stand-in Hub (HF_ENDPOINT, HF_TOKEN,
// HONE_CACHE from the environment): summary JSON on stdout, progress JSON lines on stderr.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStandInHub, type StandInHub } from './hub-server';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixture = (file: string) => new Uint8Array(readFileSync(new URL(`../fixtures/hf/tiny-gpt2/${file}`, import.meta.url)));

let hub: StandInHub;
beforeAll(async () => {
  hub = await startStandInHub();
});
afterAll(() => hub.close());

function hone(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const { HF_TOKEN: _token, ...rest } = process.env;
    execFile('node', ['--import', 'tsx', 'cli/hone.ts', ...args], { cwd: root, env: { ...rest, HF_ENDPOINT: hub.endpoint, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('hone pull', () => {
  it('pulls into --out, summary on stdout, progress lines on stderr', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'hone-pull-cli-'));
    const out = join(parent, 'gpt2');
    const result = await hone(['pull', 'test/tiny-gpt2', '--out', out]);
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ repo: 'test/tiny-gpt2', revision: 'main', sha: hub.repos.get('test/tiny-gpt2')!.sha, out, reused: false });
    expect(summary.files).toContainEqual({ name: 'model.safetensors', bytes: 178216 });
    expect(new Uint8Array(readFileSync(join(out, 'model.safetensors')))).toEqual(fixture('model.safetensors'));
    expect(readdirSync(parent)).toEqual(['gpt2']);
    const lines = result.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    expect(lines.some((l) => l.kind === 'estimate' && l.parameters === summary.parameters)).toBe(true);
    const progress = lines.filter((l) => l.kind === 'progress');
    expect(progress.at(-1)).toMatchObject({ bytes: summary.bytes, totalBytes: summary.bytes, etaSeconds: 0 });
    expect(typeof progress.at(-1).bytesPerSecond).toBe('number');
  });

  it('says what to do for a gated repo, a missing repo and a model over --max-memory', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'hone-pull-cli-'));
    const gated = await hone(['pull', 'gated/tiny-gpt2', '--out', join(parent, 'g')]);
    expect(gated.code).toBe(1);
    expect(gated.stderr).toContain('hone: gated/tiny-gpt2 (revision main): the Hub needs a token (401)');
    const withToken = await hone(['pull', 'gated/tiny-gpt2', '--out', join(parent, 'g')], { HF_TOKEN: hub.token });
    expect(withToken.code, withToken.stderr).toBe(0);
    const missing = await hone(['pull', 'test/nope', '--out', join(parent, 'n')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`hone: test/nope: the repo or revision "main" does not exist on ${hub.endpoint}`);
    const big = await hone(['pull', 'test/tiny-llama', '--out', join(parent, 'big'), '--max-memory', '10KB']);
    expect(big.code).toBe(1);
    expect(big.stderr).toMatch(/hone: test\/tiny-llama: needs about .* but the limit is 10\.0 KB; nothing was downloaded/);
    expect(readdirSync(parent)).toEqual(['g']);
  });

  it('--model ORG/NAME pulls into HONE_CACHE once and reads from there', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'hone-cache-'));
    const reference = JSON.parse(readFileSync(new URL('../fixtures/hf/tiny-gpt2/reference.json', import.meta.url), 'utf8'));
    const probe = reference.tokenizer[7];
    const first = await hone(['tokenize', '--model', 'test/tiny-gpt2', '--text', probe.text], { HONE_CACHE: cache });
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({ ids: probe.ids });
    expect(existsSync(join(cache, 'models--test--tiny-gpt2', 'main', 'model.safetensors'))).toBe(true);
    const before = hub.requests.length;
    const second = await hone(['tokenize', '--model', 'test/tiny-gpt2', '--text', probe.text], { HONE_CACHE: cache });
    expect(JSON.parse(second.stdout)).toEqual({ ids: probe.ids });
    expect(hub.requests.length).toBe(before); // the complete cached folder is reused without a request
  });
});
