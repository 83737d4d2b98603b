// src/core/train/run.ts: the Alpaca prompt, TRL-style joint tokenization with exact ids on
// tiny-llama, the error when truncation leaves no completion, validation splits, per-method defaults
// for every registry method and createPeftModel on top of them.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { listMethods } from '../../src/core/peft';
import { IGNORE_INDEX } from '../../src/core/train/batch';
import {
  buildRows,
  checkRowLength,
  createPeftModel,
  methodDefaults,
  renderInstruction,
  splitRows,
  tokenizeExample,
  trainableMethodNames,
  virtualTokensOf,
} from '../../src/core/train/run';
import { useFixtureDecoders } from './decoder-fixtures';

const X = IGNORE_INDEX;

describe('renderInstruction', () => {
  it('writes the Alpaca prompt, with the Input section only when there is a context', () => {
    expect(renderInstruction({ instruction: 'Name a color.', output: 'Blue' })).toEqual({
      prompt:
        'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n' +
        '### Instruction:\nName a color.\n\n### Response:\n',
      completion: 'Blue',
    });
    expect(renderInstruction({ instruction: 'Translate.', context: 'chat', output: 'Katze' })).toEqual({
      prompt:
        'Below is an instruction that describes a task, paired with an input that provides further context. ' +
        'Write a response that appropriately completes the request.\n\n' +
        '### Instruction:\nTranslate.\n\n### Input:\nchat\n\n### Response:\n',
      completion: 'Katze',
    });
    // a blank context is no context
    expect(renderInstruction({ instruction: 'a', context: '  ', output: 'b' }).prompt).not.toContain('### Input');
  });
});

describe('rows and models on tiny-llama', () => {
  const { fixtures, decoders } = useFixtureDecoders('cpu', ['tiny-llama', 'tiny-gpt2']);
  const tokenizer = () => fixtures.get('tiny-llama')!.checkpoint.tokenizer;
  const example = renderInstruction({ instruction: 'Name a color.', output: 'Blue' });

  it('splits the joint encoding after the prompt (TRL), so the completion has no leading ▁', () => {
    const tok = tokenizer();
    const { promptIds, completionIds } = tokenizeExample(tok, example);
    expect(promptIds).toEqual(tok.encode(example.prompt)); // <s> + the prompt
    expect(promptIds).toHaveLength(121);
    expect(promptIds[0]).toBe(1);
    expect(completionIds).toEqual([69, 301, 309, 294]); // "Blue" continuing "…Response:\n"
    // on its own the Metaspace normalizer would prepend ▁ (321): the seam the joint encoding avoids
    expect(tok.encode('Blue', { addSpecialTokens: false })).toEqual([321, 69, 301, 309, 294]);
    expect(tok.decode(completionIds)).toBe('Blue');
  });

  it('builds rows with exact ids: prompt cut from the start, completion + EOS scored', () => {
    const { rows, dropped } = buildRows(tokenizer(), [example], { maxLength: 16 });
    expect(dropped).toBe(0);
    expect(rows).toEqual([
      {
        // the last 11 prompt tokens ("▁Response:\n"), then "Blue" and </s> (2)
        inputIds: [321, 85, 294, 307, 305, 304, 303, 307, 294, 274, 260, 69, 301, 309, 294, 2],
        labels: [X, X, X, X, X, X, X, X, X, X, X, 69, 301, 309, 294, 2],
      },
    ]);
    expect(tokenizer().decode(rows[0].inputIds.slice(0, 11))).toBe('Response:\n'); // the decoder drops a leading ▁
    // without truncation the whole prompt stays
    const whole = buildRows(tokenizer(), [example], { maxLength: 512 }).rows[0];
    expect(whole.inputIds).toEqual([...tokenizer().encode(example.prompt), 69, 301, 309, 294, 2]);
  });

  it('throws a clear error when no example keeps a completion token after truncation', () => {
    const examples = [example, renderInstruction({ instruction: 'Name a fruit.', output: 'Apple' })];
    expect(() => buildRows(tokenizer(), examples, { maxLength: 32, truncation: 'keep-start' })).toThrow(
      'buildRows: no example has completion tokens left after truncation to 32 tokens (2 dropped); raise maxLength or shorten the prompts; ' +
        'all 2 example(s) were dropped, nothing to train on',
    );
    // one short pair survives: the long one is counted, not silently lost
    const mixed = buildRows(tokenizer(), [example, { prompt: 'Hi', completion: ' there' }], { maxLength: 32, truncation: 'keep-start' });
    expect([mixed.rows.length, mixed.dropped]).toEqual([1, 1]);
    expect(() => buildRows(tokenizer(), [], { maxLength: 32 })).toThrow('buildRows: the dataset has no examples');
    expect(() => buildRows(tokenizer(), [{ prompt: 'a' } as never], { maxLength: 32 })).toThrow('example 0 must have string "prompt" and "completion" fields');
  });

  it('has defaults for every registry method, and createPeftModel builds each from them', () => {
    const decoder = decoders.get('tiny-llama')!;
    expect(trainableMethodNames().sort()).toEqual(listMethods().map((m) => m.name).sort());
    const before = tf.memory().numTensors;
    for (const { name } of listMethods()) {
      const defaults = methodDefaults(name);
      expect(defaults.trainer.learningRate, name).toBeGreaterThan(0);
      const model = createPeftModel(decoder, { name }, 3);
      expect(model.method!.name).toBe(name);
      expect(model.trainableParameterCount().trainable, name).toBeGreaterThan(0);
      model.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    // the spec's keys override the defaults; the defaults handed out are copies
    const lora = createPeftModel(decoder, { name: 'lora', config: { r: 2 } }, 3);
    expect(lora.method!.config).toMatchObject({ r: 2, lora_alpha: 16, lora_dropout: 0.05 });
    lora.dispose();
    methodDefaults('lora').method['r'] = 99;
    expect(methodDefaults('lora').method['r']).toBe(8);
    const prefix = createPeftModel(decoder, { name: 'prefix', config: { num_virtual_tokens: 4 } }, 3);
    expect(virtualTokensOf(prefix)).toBe(4);
    prefix.dispose();
    expect(() => methodDefaults('lorax')).toThrow('PEFT method "lorax" is not known (known: lora, ia3, prefix, prompt, adapter, full, freeze)');
  });

  it('the same seed gives the same initial weights', async () => {
    const decoder = decoders.get('tiny-llama')!;
    const values = async (seed: number) => {
      const model = createPeftModel(decoder, { name: 'adapter' }, seed);
      const data = await Promise.all([...model.trainableVariables().values()].map(async (v) => Array.from(await v.data())));
      model.dispose();
      return data.flat();
    };
    expect(await values(5)).toEqual(await values(5));
    expect(await values(5)).not.toEqual(await values(6));
  });

  it('refuses a row length GPT-2 positions cannot hold (virtual tokens included)', () => {
    const llama = createPeftModel(decoders.get('tiny-llama')!, { name: 'prompt' }, 1);
    expect(() => checkRowLength(llama, 500)).not.toThrow(); // rotary positions have no table to run off
    llama.dispose();
    const gpt2 = createPeftModel(decoders.get('tiny-gpt2')!, { name: 'prompt' }, 1); // 8 virtual tokens, 64 positions
    expect(() => checkRowLength(gpt2, 56)).not.toThrow();
    expect(() => checkRowLength(gpt2, 57)).toThrow(
      "maxLength 57 + 8 virtual tokens exceeds the model's 64 positions (n_positions); lower maxLength to 56 or fewer",
    );
    gpt2.dispose();
  });
});

describe('splitRows', () => {
  const rows = Array.from({ length: 10 }, (_, i) => ({ inputIds: [i, i], labels: [X, i] }));

  it('holds out ⌊fraction · n⌋ rows (at least 1), seeded, keeping the dataset order', () => {
    const a = splitRows(rows, 0.2, 1);
    expect([a.train.length, a.validation.length]).toEqual([8, 2]);
    expect(splitRows(rows, 0.2, 1)).toEqual(a);
    expect([...a.train, ...a.validation].map((r) => r.inputIds[0]).sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const ids = a.train.map((r) => r.inputIds[0]);
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(splitRows(rows, 0.01, 1).validation).toHaveLength(1);
    expect(splitRows(rows, 0, 1)).toEqual({ train: rows, validation: [] });
    expect(splitRows(rows, 0.2, 2)).not.toEqual(a);
  });

  it('explains impossible splits', () => {
    expect(() => splitRows(rows, 1, 1)).toThrow('the validation fraction must be in [0, 1), got 1');
    expect(() => splitRows(rows, Number.NaN, 1)).toThrow('got NaN');
    expect(() => splitRows(rows.slice(0, 1), 0.5, 1)).toThrow('1 row(s) cannot be split');
  });
});
