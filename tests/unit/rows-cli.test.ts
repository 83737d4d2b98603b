// `hone rows` end to end: TRL's records as a JSONL file (auto-detected) → the rows on stdout, one
// JSON line each, exactly TRL's; the summary as one JSON line on stderr; bad input exits non-zero
// with a one-line error that names the record and field.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));

function hone(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node', ['--import', 'tsx', 'cli/hone.ts', ...args], { cwd: root, maxBuffer: 1 << 26 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

interface TrlCase {
  name: string;
  chat_template: string | null;
  examples: unknown[];
  rows: unknown[];
}

function trlCase(model: string, name: string): TrlCase {
  const file = JSON.parse(readFileSync(join(fixtures, `trl/${model}/cases.json`), 'utf8')) as { cases: TrlCase[] };
  return file.cases.find((c) => c.name === name)!;
}

const work = mkdtempSync(join(tmpdir(), 'hone-rows-'));
function writeCase(c: TrlCase): { data: string; template: string } {
  const data = join(work, `${c.name}.jsonl`);
  writeFileSync(data, c.examples.map((e) => JSON.stringify(e)).join('\n') + '\n');
  const template = join(work, `${c.name}.jinja`);
  if (c.chat_template !== null) writeFileSync(template, c.chat_template);
  return { data, template };
}

const lines = (text: string) => text.split('\n').filter((l) => l !== '');

describe('hone rows', () => {
  it("prints TRL's assistant-only rows for tiny-llama's chat case, and the summary on stderr", async () => {
    const c = trlCase('tiny-llama', 'conversation_assistant_only');
    const { data, template } = writeCase(c);
    const out = await hone(['rows', '--model', join(fixtures, 'hf/tiny-llama'), '--data', data, '--max-length', '96', '--loss', 'assistant', '--chat-template', template]);
    expect(out.stderr.split('\n').filter((l) => l.startsWith('hone:'))).toEqual([]);
    expect(out.code).toBe(0);
    expect(lines(out.stdout).map((l) => JSON.parse(l))).toEqual(c.rows);
    const summary = JSON.parse(lines(out.stderr).at(-1)!);
    expect(summary).toEqual({
      examples: 5,
      used: 5,
      skipped: { test: 0 },
      dropped: [],
      scoredTokens: { train: 34, validation: 0 },
      rows: { train: 5, validation: 0 },
      validationFrom: 'none',
    });
  });

  it("--packing prints TRL's packed rows with position_ids for tiny-gpt2", async () => {
    const c = trlCase('tiny-gpt2', 'packing_bfd');
    const { data } = writeCase(c);
    const out = await hone(['rows', '--model', join(fixtures, 'hf/tiny-gpt2'), '--data', data, '--max-length', '40', '--packing']);
    expect(out.code).toBe(0);
    expect(lines(out.stdout).map((l) => JSON.parse(l))).toEqual(c.rows);
  });

  it('refuses a conversation with no assistant turn in one line naming the record and field, and prints no rows', async () => {
    const data = join(work, 'no-assistant.jsonl');
    const records = [
      { kind: 'prompt-completion', instruction: 'Say yes.', output: ' yes' },
      { kind: 'conversation', instruction: 'Hi', conversation: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }] },
    ];
    writeFileSync(data, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const out = await hone(['rows', '--model', join(fixtures, 'hf/tiny-llama'), '--data', data, '--format', 'hone', '--max-length', '64']);
    expect(out.code).toBe(1);
    expect(out.stdout).toBe('');
    expect(lines(out.stderr).at(-1)).toBe('hone: training rows: record 1 (conversation), field "conversation": has no assistant turn, so there is nothing to learn');
  });

  it('needs --max-length', async () => {
    const c = trlCase('tiny-gpt2', 'text_lm');
    const { data } = writeCase(c);
    const out = await hone(['rows', '--model', join(fixtures, 'hf/tiny-gpt2'), '--data', data]);
    expect(out.code).toBe(2);
    expect(lines(out.stderr).at(-1)).toBe('hone: rows: --max-length is required (the longest row, in tokens)');
  });
});
