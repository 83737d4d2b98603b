// The Train form's settings → the run spec's (src/state/train-form.ts): every trainer feature the
// form shows reaches the spec under the trainer's own name, and a bad field is refused in the form's words.
import { describe, expect, it } from 'vitest';
import { FALLBACK, formSettings } from '../../src/state/train-form';
import { checkSpec } from '../../src/core/train/session-spec';

describe('formSettings', () => {
  it('maps every field, with the form defaults giving the trainer defaults', () => {
    const spec = formSettings({
      ...FALLBACK,
      totalSteps: 30,
      learningRate: 0.05,
      batchSize: 3,
      maxLength: 256,
      gradientAccumulationSteps: 2,
      weightDecay: 0.01,
      schedule: 'cosine',
      warmupSteps: 3,
      evalEvery: 2,
      validationFraction: 0.25,
      promptFormat: 'chat',
      loss: 'assistant',
      packing: true,
      earlyStoppingPatience: 3,
      earlyStoppingThreshold: 0.001,
      keepBest: true,
      gradientCheckpointing: true,
      seed: 9,
    });
    expect(spec).toEqual({
      validationFraction: 0.25,
      trainer: {
        totalSteps: 30, learningRate: 0.05, batchSize: 3, warmupSteps: 3, schedule: 'cosine', evalEvery: 2, seed: 9,
        gradientAccumulationSteps: 2, weightDecay: 0.01, earlyStoppingPatience: 3, earlyStoppingThreshold: 0.001, loadBestAtEnd: true, gradientCheckpointing: true,
      },
      maxLength: 256,
      promptFormat: 'chat',
      loss: 'assistant',
      packing: true,
    });
    checkSpec({ modelId: 'm', examples: [{ prompt: 'a', completion: 'b' }], method: { name: 'lora' }, ...spec });
    const plain = formSettings(FALLBACK);
    expect(plain.trainer).toMatchObject({ gradientCheckpointing: false, earlyStoppingPatience: null, earlyStoppingThreshold: 0, loadBestAtEnd: false, gradientAccumulationSteps: 1, weightDecay: 0 });
    expect(plain).not.toHaveProperty('maxLength'); // empty: the worker picks what the model allows
  });

  it('refuses a bad field in the form\'s words', () => {
    expect(() => formSettings({ ...FALLBACK, gradientAccumulationSteps: 0 })).toThrow('Gradient accumulation must be a whole number above 0, got 0.');
    expect(() => formSettings({ ...FALLBACK, weightDecay: -1 })).toThrow('Weight decay must be a number ≥ 0, got -1.');
    expect(() => formSettings({ ...FALLBACK, earlyStoppingPatience: 1.5 })).toThrow('Early stopping patience must be a whole number ≥ 0 (0 = off), got 1.5.');
    expect(() => formSettings({ ...FALLBACK, evalEvery: 0, earlyStoppingPatience: 2 })).toThrow('Early stopping needs validation: set "Validate every" above 0.');
    expect(() => formSettings({ ...FALLBACK, evalEvery: 0, keepBest: true })).toThrow('Keep the best checkpoint needs validation: set "Validate every" above 0.');
  });
});
