// Bad settings fail before anything trains, with an error that names the setting: learning rates
// that are not positive finite numbers, misspelt trainer settings, unknown method keys (every
// registry method), and a dataset whose completions all vanish under truncation.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { listMethods } from '../../src/core/peft';
import { trainerConfig } from '../../src/core/train/config';
import { buildTrainingRows, RowsError } from '../../src/core/train/rows';
import { createPeftModel } from '../../src/core/train/run';
import { pairRecord } from '../../src/core/train/run-builder';
import { useFixtureDecoders } from './decoder-fixtures';
import { sameBits, snapshot } from './peft-helpers';

const BASE = { totalSteps: 10, padTokenId: 0 };

describe('trainerConfig', () => {
  it('refuses a learning rate that is NaN, zero, negative or infinite, naming the field', () => {
    for (const learningRate of [Number.NaN, 0, -1e-3, Infinity, -Infinity]) {
      expect(() => trainerConfig({ ...BASE, learningRate })).toThrow(`TrainerConfig.learningRate must be a positive finite number, got ${learningRate}`);
    }
    expect(() => trainerConfig({ ...BASE, learningRate: '1e-3' as unknown as number })).toThrow('TrainerConfig.learningRate must be a positive finite number, got 1e-3');
    expect(trainerConfig({ ...BASE, learningRate: 1e-3 }).learningRate).toBe(1e-3);
  });

  it('names every other bad field', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ weightDecay: -0.1 }, 'TrainerConfig.weightDecay must be a finite number ≥ 0, got -0.1'],
      [{ weightDecay: Number.NaN }, 'TrainerConfig.weightDecay must be a finite number ≥ 0, got NaN'],
      [{ eps: Infinity }, 'TrainerConfig.eps must be a finite number ≥ 0, got Infinity'],
      [{ warmupSteps: 1.5 }, 'TrainerConfig.warmupSteps must be a non-negative integer, got 1.5'],
      [{ schedule: 'cosine-restarts' }, 'TrainerConfig.schedule must be "constant", "linear" or "cosine", got "cosine-restarts"'],
      [{ betas: [0.9, 1] }, 'TrainerConfig.betas must be two numbers in [0, 1), got [0.9,1]'],
      [{ maxGradNorm: Infinity }, 'TrainerConfig.maxGradNorm must be a positive finite number or null, got Infinity'],
      [{ totalSteps: 0 }, 'TrainerConfig.totalSteps must be a positive integer, got 0'],
      [{ batchSize: Number.NaN }, 'TrainerConfig.batchSize must be a positive integer, got NaN'],
      [{ seed: Number.NaN }, 'TrainerConfig.seed must be a finite number, got NaN'],
      [{ shuffle: 'yes' }, 'TrainerConfig.shuffle must be true or false, got "yes"'],
    ];
    for (const [bad, message] of cases) expect(() => trainerConfig({ ...BASE, ...bad })).toThrow(message);
  });

  it('refuses misspelt settings instead of silently using the default; undefined means "not given"', () => {
    expect(() => trainerConfig({ ...BASE, lr: 1e-3, warmup: 2 } as never)).toThrow('TrainerConfig: unknown setting(s) "lr", "warmup"; the settings are batchSize,');
    expect(trainerConfig({ ...BASE, learningRate: undefined }).learningRate).toBe(2e-4);
  });
});

describe('method settings and datasets on tiny-llama', () => {
  const { fixtures, decoders } = useFixtureDecoders('cpu', ['tiny-llama']);

  it('every registry method refuses an unknown key by name, leaving the model as it was', () => {
    const decoder = decoders.get('tiny-llama')!;
    const weights = snapshot(decoder);
    const before = tf.memory().numTensors;
    const names = listMethods().map((m) => m.name);
    expect(names.sort()).toEqual(['adapter', 'freeze', 'full', 'ia3', 'lora', 'prefix', 'prompt']);
    for (const name of names) {
      let message = '';
      try {
        createPeftModel(decoder, { name, config: { lora_magic: 1 } }, 1).dispose();
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message, name).toMatch(/\(lora_magic\): unknown (config key|setting)\(s\) "?lora_magic"?/);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(sameBits(snapshot(decoder), weights)).toBe(true);
  });

  it('a value a method cannot honour is named too (LoRA use_dora, a negative rank)', () => {
    const decoder = decoders.get('tiny-llama')!;
    expect(() => createPeftModel(decoder, { name: 'lora', config: { use_dora: true } }, 1)).toThrow(
      "LoRA config (use_dora): true is not supported by Hone; only false (PEFT's default) is",
    );
    expect(() => createPeftModel(decoder, { name: 'lora', config: { r: -2 } }, 1)).toThrow('LoRA config (r): must be a positive integer, got -2');
  });

  it('a dataset whose prompts leave no room for a completion fails before training', () => {
    const tokenizer = fixtures.get('tiny-llama')!.checkpoint.tokenizer;
    const long = 'word '.repeat(60);
    const records = [
      { prompt: long, completion: 'yes' },
      { prompt: long + 'again', completion: 'no' },
    ].map(pairRecord);
    const build = () => buildTrainingRows(records, tokenizer, { maxLength: 16 });
    expect(build).toThrow(RowsError);
    expect(build).toThrow(
      'training rows: field "maxLength": every one of the 2 record(s) was dropped (2 × no scored token left after truncation to 16 tokens); ' +
        'raise maxLength or shorten the prompts',
    );
  });
});
