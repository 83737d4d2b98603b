// The Train view's pure helpers: chart scales and paths (src/ui/common/chart.ts, shared with the Pretrain
// view's curve), the method form's value conversion, and the built-in sample instructions (every one
// becomes a training row on both fixture tokenizers).
import { describe, expect, it } from 'vitest';
import { formatTick, linePath, linearScale, series, ticks, valueScale } from '../../src/ui/common/chart';
import { configValue, fieldsFor, initialValue, METHOD_FIELDS, type MethodField } from '../../src/ui/train/method-fields';
import { SAMPLE_EXAMPLES } from '../../src/ui/train/sample-examples';
import { formatDuration } from '../../src/ui/train/format';
import { methodDefaults } from '../../src/core/train/run';
import { buildTrainingRows } from '../../src/core/train/rows';
import { pairRecord } from '../../src/core/train/run-builder';
import { loadFixture } from './decoder-fixtures';

describe('loss chart helpers', () => {
  it('maps values linearly and draws one M/L command per point', () => {
    const x = linearScale(0, 10, 40, 140); // 10 px per step
    const y = linearScale(2, 4, 200, 0); // higher loss is higher up
    expect(x.at(5)).toBe(90);
    expect(y.at(3)).toBe(100);
    const points = [
      { step: 1, value: 4 },
      { step: 2, value: 3 },
      { step: 10, value: 2 },
    ];
    expect(linePath(points, x, y)).toBe('M50.0 0.0 L60.0 100.0 L140.0 200.0');
    expect(linePath([], x, y)).toBe('');
  });

  it('centres a flat series instead of dividing by zero', () => {
    const y = linearScale(5, 5, 100, 0);
    expect(y.at(5)).toBe(50);
    expect(y.min).toBe(2.5);
    expect(y.max).toBe(7.5);
  });

  it('scales over the lowest to the highest value, and 0 to 1 with no points', () => {
    const y = valueScale([{ step: 1, value: 4 }, { step: 2, value: 2 }, { step: 3, value: 3 }], 200, 0);
    expect([y.min, y.max, y.at(2), y.at(4), y.at(3)]).toEqual([2, 4, 200, 0, 100]);
    const empty = valueScale([], 200, 0);
    expect([empty.min, empty.max, empty.at(0.25)]).toEqual([0, 1, 150]);
  });

  it('picks round ticks and short labels', () => {
    expect(ticks(0, 30, 5)).toEqual([0, 10, 20, 30]);
    expect(ticks(6.2, 6.41, 4)).toEqual([6.2, 6.3, 6.4]); // step 0.0525 rounds up to 0.1
    expect(ticks(6.2, 6.41, 8)).toEqual([6.2, 6.25, 6.3, 6.35, 6.4]);
    expect(ticks(0, 0.0003, 3)).toEqual([0, 0.0001, 0.0002, 0.0003]);
    expect(formatTick(0.0003)).toBe('3e−4');
    expect(formatTick(6.25)).toBe('6.25');
    expect(formatTick(0)).toBe('0');
  });

  it('keeps only finite values of a metric', () => {
    const rows = [{ step: 1, valLoss: 3 }, { step: 2 }, { step: 3, valLoss: Number.NaN }, { step: 4, valLoss: 2.5 }];
    expect(series(rows, (r) => r.valLoss)).toEqual([
      { step: 1, value: 3 },
      { step: 4, value: 2.5 },
    ]);
  });

  it('formats an ETA', () => {
    expect(formatDuration(42.4)).toBe('42 s');
    expect(formatDuration(75)).toBe('1 min 15 s');
    expect(formatDuration(7300)).toBe('2 h 1 min');
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('–');
  });
});

describe('method form', () => {
  const field = (key: string, method = 'lora'): MethodField => METHOD_FIELDS[method].find((f) => f.key === key)!;

  it('starts from the method defaults the trainer uses', () => {
    for (const method of ['lora', 'prefix', 'prompt', 'adapter', 'freeze', 'ia3', 'full']) {
      const defaults = methodDefaults(method).method;
      const fields = fieldsFor(method, defaults);
      // every default key is shown, so the form never hides a setting the run will use
      for (const key of Object.keys(defaults)) expect(fields.map((f) => f.key)).toContain(key);
    }
    const lora = methodDefaults('lora').method;
    expect(initialValue(field('r'), lora)).toBe(8);
    expect(initialValue(field('lora_alpha'), lora)).toBe(16);
    expect(initialValue(field('target_modules'), { target_modules: ['q_proj', 'v_proj'] })).toBe('q_proj, v_proj');
    expect(initialValue(field('kind', 'adapter'), methodDefaults('adapter').method)).toBe('houlsby');
  });

  it('converts inputs to config values and names the field when one is wrong', () => {
    expect(configValue(field('r'), 4)).toBe(4);
    expect(configValue(field('target_modules'), ' q_proj , v_proj,')).toEqual(['q_proj', 'v_proj']);
    expect(configValue(field('target_modules'), '')).toBeUndefined(); // the model's default targets
    expect(configValue(field('use_rslora'), true)).toBe(true);
    expect(configValue(field('encoder_hidden_size', 'prefix'), null)).toBeUndefined();
    expect(() => configValue(field('r'), 2.5)).toThrow('Rank r (r) must be a whole number, got 2.5.');
    expect(() => configValue(field('r'), null)).toThrow('Rank r (r) needs a number.');
    expect(() => configValue(field('lora_alpha'), Number.NaN)).toThrow('Alpha (lora_alpha) must be a finite number, got "NaN".');
    expect(() => configValue(field('kind', 'adapter'), 'parallel')).toThrow('Adapter kind (kind) must be one of houlsby, pfeiffer, got "parallel".');
  });

  it('shows extra simple keys of the defaults but never PEFT bookkeeping', () => {
    const fields = fieldsFor('lora', { r: 8, bias: 'none', peft_type: 'LORA', layers_to_transform: null, rank_pattern: {} });
    expect(fields.map((f) => f.key)).toEqual(['r', 'lora_alpha', 'lora_dropout', 'target_modules', 'use_rslora', 'bias']);
  });
});

describe('sample instructions', () => {
  it('are 40 distinct prompt/completion pairs', () => {
    expect(SAMPLE_EXAMPLES).toHaveLength(40);
    expect(new Set(SAMPLE_EXAMPLES.map((e) => e.prompt)).size).toBe(40);
    expect(SAMPLE_EXAMPLES[0]).toEqual({ prompt: 'Repeat the word: cat\nAnswer:', completion: ' cat' });
    expect(SAMPLE_EXAMPLES).toContainEqual({ prompt: 'What is the opposite of hot?\nAnswer:', completion: ' cold' });
  });

  // 64 tokens: the fixtures' positions, which is the row length the run builder picks for them when the
  // Train view leaves max length empty (min(256, positions)). Scored tokens differ by tokenizer:
  // tiny-llama's joint encoding merges "Answer:" with the answer's "▁", so masking by the prompt's
  // length (TRL) leaves fewer completion tokens scored.
  it.each([
    ['tiny-gpt2', 207],
    ['tiny-llama', 135],
  ] as const)('all become whole training rows with scored tokens on %s', async (name, scoredTokens) => {
    const { checkpoint } = await loadFixture(name);
    const { rows, summary } = buildTrainingRows(SAMPLE_EXAMPLES.map(pairRecord), checkpoint.tokenizer, { maxLength: 64 });
    expect(summary).toEqual({ examples: 40, used: 40, dropped: [], scoredTokens, rows: 40 });
    // none was cut: each row is its pair's whole encoding, ending in EOS
    const eos = checkpoint.tokenizer.eosTokenId!;
    rows.forEach((row, i) => {
      const { prompt, completion } = SAMPLE_EXAMPLES[i];
      expect(row.inputIds).toEqual(checkpoint.tokenizer.encode(prompt + completion + checkpoint.tokenizer.idToToken(eos)!));
      expect(row.labels.at(-1)).toBe(eos);
    });
  });
});
