// Every case TRL 1.13's SFTTrainer was run on (tests/fixtures/trl/<model>/cases.json, copied from
// ../shared/fixtures/trl): the records are imported from JSONL as a user would give them (format
// 'trl', and auto-detected), and buildTrainingRows must give TRL's rows exactly — input_ids, labels
// and, for packed rows, position_ids, in TRL's order. Packed rows are also checked for what
// packing promises: the same sequences, no more rows than TRL, none longer than max_length.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { importText } from '../../src/core/data/import';
import { HoneTokenizer } from '../../src/core/tokenizer/tokenizer';
import { buildTrainingRows, type LossMode, type TrainingRows } from '../../src/core/train/rows';

interface TrlRow {
  input_ids: number[];
  labels: number[];
  position_ids?: number[];
}

interface TrlCase {
  name: string;
  dataset_type: string;
  chat_template: string | null;
  config: { max_length: number; completion_only_loss?: boolean; assistant_only_loss?: boolean; packing?: boolean; packing_strategy?: string };
  examples: Record<string, unknown>[];
  rows: TrlRow[];
}

const MODELS = ['tiny-gpt2', 'tiny-llama'] as const;

function fixture(path: string): string {
  return readFileSync(fileURLToPath(new URL(`../fixtures/${path}`, import.meta.url)), 'utf8');
}

function tokenizerOf(model: string): HoneTokenizer {
  return HoneTokenizer.fromJson(fixture(`hf/${model}/tokenizer.json`), fixture(`hf/${model}/tokenizer_config.json`));
}

function casesOf(model: string): TrlCase[] {
  const file = JSON.parse(fixture(`trl/${model}/cases.json`)) as { trl: string; cases: TrlCase[] };
  expect(file.trl).toBe('1.13.0');
  return file.cases;
}

/** SFTConfig → RowSettings: assistant_only_loss is loss 'assistant', completion_only_loss=False is 'all'. */
function lossOf(config: TrlCase['config']): LossMode {
  if (config.assistant_only_loss) return 'assistant';
  return config.completion_only_loss === false ? 'all' : 'completion';
}

async function rowsFor(model: string, c: TrlCase, format: 'trl' | 'auto'): Promise<TrainingRows> {
  const jsonl = c.examples.map((e) => JSON.stringify(e)).join('\n') + '\n';
  const imported = await importText(jsonl, { format });
  expect(imported.errors).toEqual([]);
  return buildTrainingRows(imported.records, tokenizerOf(model), {
    maxLength: c.config.max_length,
    loss: lossOf(c.config),
    packing: c.config.packing ?? false,
    chatTemplate: c.chat_template ?? undefined,
  });
}

function asTrl(built: TrainingRows): TrlRow[] {
  return built.rows.map((r) => ({ input_ids: r.inputIds, labels: r.labels, ...(r.positionIds ? { position_ids: r.positionIds } : {}) }));
}

/** A packed row's sequences, cut where position_ids restart. */
function sequencesOf(rows: TrlRow[]): string[] {
  const out: string[] = [];
  for (const row of rows) {
    let start = 0;
    for (let t = 1; t <= row.input_ids.length; t++) {
      if (t === row.input_ids.length || row.position_ids![t] === 0) {
        out.push(row.input_ids.slice(start, t).join(','));
        start = t;
      }
    }
  }
  return out.sort();
}

describe.each(MODELS)('TRL 1.13 rows, %s', (model) => {
  const cases = casesOf(model);

  it('has the eight cases the fixture README lists', () => {
    expect(cases.map((c) => c.name)).toEqual([
      'prompt_completion',
      'prompt_completion_full_loss',
      'text_lm',
      'text_truncated',
      'packing_bfd',
      'conversation_assistant_only',
      'conversation_all_tokens',
      'conversation_prompt_completion',
    ]);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: identical rows', async (_name, c) => {
    const built = await rowsFor(model, c, 'trl');
    expect(asTrl(built)).toEqual(c.rows);
    expect(built.summary.rows).toBe(c.rows.length);
    expect(built.summary.examples).toBe(c.examples.length);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: auto-detected format gives the same rows', async (_name, c) => {
    expect(asTrl(await rowsFor(model, c, 'auto'))).toEqual(c.rows);
  });

  it('packing: the same sequences, no more rows than TRL, none longer than max_length, labels −100 at each restart', async () => {
    const c = cases.find((x) => x.name === 'packing_bfd')!;
    const rows = asTrl(await rowsFor(model, c, 'trl'));
    expect(rows.length).toBeLessThanOrEqual(c.rows.length);
    expect(sequencesOf(rows)).toEqual(sequencesOf(c.rows));
    for (const row of rows) {
      expect(row.input_ids.length).toBeLessThanOrEqual(c.config.max_length);
      row.position_ids!.forEach((p, t) => p === 0 && expect(row.labels[t]).toBe(-100));
    }
  });

  it('counts the example truncation leaves with nothing to score, and where it is', async () => {
    const c = cases.find((x) => x.name === 'conversation_prompt_completion')!;
    const { summary } = await rowsFor(model, c, 'trl');
    expect(summary.used).toBe(3);
    expect(summary.dropped).toEqual([{ reason: 'no scored token left after truncation to 96 tokens', count: 1, firstIndex: 2 }]);
    // labels scored after the shift, summed over TRL's own rows
    const scored = c.rows.reduce((n, r) => n + r.labels.slice(1).filter((l) => l !== -100).length, 0);
    expect(summary.scoredTokens).toBe(scored);
  });
});

describe("tokenizing a chat template's text as transformers 5 does", () => {
  it('gives the legacy Llama tokenizer its "▁" at the text\'s start only, not after each special token', () => {
    const llama = tokenizerOf('tiny-llama');
    // TRL's rows begin "<s>user\nWho…" with [1, 309, 307, 337, 260, …]: no 321 ("▁") after <s>
    expect(llama.encode('<s>user\n', { addSpecialTokens: false })).toEqual([1, 309, 307, 337, 260]);
    expect(llama.encode('x</s>\n<s>user', { addSpecialTokens: false })).toEqual([321, 312, 2, 260, 1, 309, 307, 337]);
    expect(llama.encode('user', { addSpecialTokens: false })).toEqual([321, 309, 307, 337]);
  });
});
