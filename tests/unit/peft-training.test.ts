// What the trainer relies on: gradients reach exactly the method's variables, dropout acts only
// in training mode, and initialisations follow PEFT (LoRA bounds, prompt TEXT init).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { setNodeBackend } from '../../cli/node-backend';
import { PeftModel, createMethod } from '../../src/core/peft';
import { loadFixture, logitsOf, maxDiff, type Fixture } from './peft-helpers';

describe('PEFT methods under training', () => {
  let fixture: Fixture;
  beforeAll(async () => {
    await setNodeBackend('cpu');
    fixture = loadFixture('tiny-gpt2');
  });
  afterAll(() => fixture.decoder.dispose());

  /** Mean logit of the model, a stand-in loss that depends on every output. */
  function gradients(model: PeftModel): Map<string, number> {
    const variables = model.trainableVariables();
    const ids = tf.tensor2d(fixture.inputIds, undefined, 'int32');
    const mask = tf.tensor2d(fixture.attentionMask, undefined, 'int32');
    const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(model.forward(ids, mask))) as tf.Scalar, [...variables.values()]);
    const norms = new Map<string, number>();
    for (const [name, variable] of variables) {
      const grad = grads[variable.name];
      norms.set(name, grad ? tf.tidy(() => tf.norm(grad).dataSync()[0]) : NaN);
    }
    tf.dispose([value, ids, mask, ...Object.values(grads)]);
    return norms;
  }

  for (const [name, config] of [
    ['lora', { r: 2, target_modules: ['c_attn', 'c_fc'] }],
    ['ia3', {}],
    ['prefix', { num_virtual_tokens: 2, prefix_projection: true, encoder_hidden_size: 8 }],
    ['prompt', { num_virtual_tokens: 2 }],
    ['adapter', { kind: 'pfeiffer', reduction_factor: 8 }],
    ['freeze', { trainable_layers: 1 }],
  ] as const) {
    it(`${name}: every trainable variable gets a gradient, nothing leaks`, () => {
      const before = tf.memory().numTensors;
      const model = new PeftModel(fixture.decoder, createMethod(name, fixture.decoder, config, { seed: 1 }));
      model.training = true;
      const norms = gradients(model);
      expect(norms.size).toBeGreaterThan(0);
      for (const [variable, norm] of norms) {
        // LoRA A and the adapter's down-projection see zero gradient while B / up are zero (PEFT's init)
        const startsBlocked = /lora_A|adapter_down/.test(variable);
        if (startsBlocked) expect(norm, variable).toBe(0);
        else expect(norm, variable).toBeGreaterThan(0);
      }
      model.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('LoRA dropout acts only while training', () => {
    const model = new PeftModel(fixture.decoder, createMethod('lora', fixture.decoder, { r: 4, lora_dropout: 0.5, init_lora_weights: false }, { seed: 9 }));
    const evalA = logitsOf(model, fixture);
    expect(logitsOf(model, fixture)).toEqual(evalA);
    model.training = true;
    expect(maxDiff(logitsOf(model, fixture), evalA)).toBeGreaterThan(1e-4);
    model.dispose();
  });

  it('LoRA A starts kaiming-uniform (|a| ≤ 1/√in) and B at zero', () => {
    const method = createMethod('lora', fixture.decoder, { r: 4 }, { seed: 4 });
    const a = method.variables().get('base_model.model.transformer.h.0.attn.c_attn.lora_A.weight')!;
    const b = method.variables().get('base_model.model.transformer.h.0.attn.c_attn.lora_B.weight')!;
    expect(a.shape).toEqual([4, 32]);
    expect(b.shape).toEqual([96, 4]);
    const values = a.dataSync();
    expect(Math.max(...values.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(32));
    expect(Math.max(...values.map(Math.abs))).toBeGreaterThan(0.8 / Math.sqrt(32));
    expect(b.dataSync().every((v) => v === 0)).toBe(true);
    method.dispose();
  });

  it('prompt tuning TEXT init: the embeddings of the text, repeated to P tokens', () => {
    const ids = fixture.tokenize('hello');
    const p = 2 * ids.length + 1;
    const method = createMethod('prompt', fixture.decoder, { num_virtual_tokens: p, prompt_tuning_init: 'TEXT', prompt_tuning_init_text: 'hello' }, { tokenize: fixture.tokenize });
    const prompt = method.variables().get('prompt_embeddings')!;
    const table = fixture.decoder.params.get('transformer.wte.weight')!;
    const expected = tf.tidy(() => tf.gather(table, tf.tensor1d([...ids, ...ids, ids[0]], 'int32')));
    expect(prompt.dataSync()).toEqual(expected.dataSync());
    expected.dispose();
    method.dispose();
    expect(() => createMethod('prompt', fixture.decoder, { num_virtual_tokens: 2, prompt_tuning_init: 'TEXT', prompt_tuning_init_text: 'hi' })).toThrow(
      'prompt_tuning_init "TEXT" needs the tokenizer',
    );
  });
});
