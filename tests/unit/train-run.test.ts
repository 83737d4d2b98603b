// src/core/train/run.ts: the Alpaca prompt, per-method defaults for every registry method,
// createPeftModel on top of them, and the row-length check. (Rows from records: rows-*.test.ts.)
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { listMethods } from '../../src/core/peft';
import { checkRowLength, createPeftModel, methodDefaults, renderInstruction, trainableMethodNames, virtualTokensOf } from '../../src/core/train/run';
import { useFixtureDecoders } from './decoder-fixtures';

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

describe('models on tiny-llama and tiny-gpt2', () => {
  const { decoders } = useFixtureDecoders('cpu', ['tiny-llama', 'tiny-gpt2']);

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
