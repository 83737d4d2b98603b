// Prompt-completion pairs through the row builder with exact token ids on tiny-llama (a Metaspace
// tokenizer, so the seam between prompt and completion matters): the Alpaca prompt and its answer
// split as TRL splits them, EOS appended once, truncation from the right, and examples left with
// nothing to score dropped and counted while the rest train. These are the behaviours the
// pre-builder pair path was tested for, now held by buildTrainingRows.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { InstructionRecord } from '../../src/core/data/record';
import { HoneTokenizer } from '../../src/core/tokenizer/tokenizer';
import { IGNORE_INDEX as X } from '../../src/core/train/batch';
import { buildTrainingRows, RowsError } from '../../src/core/train/rows';
import { pairRecord } from '../../src/core/train/run-builder';
import { renderInstruction } from '../../src/core/train/run';

const read = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/hf/tiny-llama/${name}`, import.meta.url)), 'utf8');
const llama = HoneTokenizer.fromJson(read('tokenizer.json'), read('tokenizer_config.json'));

const colour: InstructionRecord = { instruction: 'Name a color.', output: 'Blue' };
const alpaca = renderInstruction({ instruction: 'Name a color.', output: 'Blue' });
// "Blue" continuing "…Response:\n", then </s> (2)
const BLUE_EOS = [69, 301, 309, 294, 2];
// <s> "Hi" then "▁there" </s>: the prompt is 4 tokens
const HI_THERE = { inputIds: [1, 321, 75, 298, 321, 308, 297, 337, 294, 2], labels: [X, X, X, X, 321, 308, 297, 337, 294, 2] };

describe('prompt-completion pairs on tiny-llama, exact ids', () => {
  it("split the joint encoding after the prompt's own length (TRL), so the completion has no leading ▁", () => {
    const promptIds = llama.encode(alpaca.prompt); // <s> + the prompt
    expect(promptIds).toHaveLength(121);
    expect(promptIds[0]).toBe(1);
    const { rows, summary } = buildTrainingRows([colour], llama, { maxLength: 512 });
    expect(rows).toEqual([{ inputIds: [...promptIds, ...BLUE_EOS], labels: [...promptIds.map(() => X), ...BLUE_EOS] }]);
    expect(summary).toEqual({ examples: 1, used: 1, dropped: [], scoredTokens: 5, rows: 1 });
    // on its own the Metaspace normalizer would prepend ▁ (321): the seam the joint encoding avoids
    expect(llama.encode('Blue', { addSpecialTokens: false })).toEqual([321, 69, 301, 309, 294]);
    expect(llama.decode(BLUE_EOS.slice(0, -1))).toBe('Blue');
    // the rendered pair given inline (the Train view's examples) is the same row as the instruction record
    expect(buildTrainingRows([pairRecord(alpaca)], llama, { maxLength: 512 }).rows).toEqual(rows);
  });

  it('append EOS once: a completion that already ends in </s> gets no second one', () => {
    expect(buildTrainingRows([pairRecord({ prompt: 'Hi', completion: ' there' })], llama, { maxLength: 32 }).rows).toEqual([HI_THERE]);
    expect(buildTrainingRows([pairRecord({ prompt: 'Hi', completion: ' there</s>' })], llama, { maxLength: 32 }).rows).toEqual([HI_THERE]);
  });

  it('are cut from the right: the prompt stays whole and the completion loses its end', () => {
    const promptIds = llama.encode(alpaca.prompt);
    const { rows, summary } = buildTrainingRows([colour], llama, { maxLength: 124 });
    expect(rows).toEqual([{ inputIds: [...promptIds, 69, 301, 309], labels: [...promptIds.map(() => X), 69, 301, 309] }]);
    expect(summary.scoredTokens).toBe(3);
  });

  it('drop and count a pair truncation leaves with nothing to score; the others still train', () => {
    const { rows, summary } = buildTrainingRows([pairRecord(alpaca), pairRecord({ prompt: 'Hi', completion: ' there' })], llama, { maxLength: 32 });
    expect(rows).toEqual([HI_THERE]);
    expect(summary).toEqual({
      examples: 2,
      used: 1,
      dropped: [{ reason: 'no scored token left after truncation to 32 tokens', count: 1, firstIndex: 0 }],
      scoredTokens: 6,
      rows: 1,
    });
  });

  it('refuse no records at all, and a pair without a completion, naming the field', () => {
    const refusal = (records: InstructionRecord[]) => {
      try {
        buildTrainingRows(records, llama, { maxLength: 32 });
      } catch (error) {
        expect(error).toBeInstanceOf(RowsError);
        return (error as Error).message;
      }
      throw new Error('expected a RowsError');
    };
    expect(refusal([])).toBe('training rows: field "records": there are no records to build rows from');
    expect(refusal([pairRecord({ prompt: 'Hi', completion: ' there' }), { kind: 'prompt-completion', instruction: 'Hi' }])).toBe(
      'training rows: record 1 (prompt-completion), field "output": is missing; there is no answer to learn',
    );
  });
});
