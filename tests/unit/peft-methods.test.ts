// Every method on both fixtures: a fresh LoRA / IA³ / bottleneck adapter leaves the logits
// unchanged; enabled=false is exactly the base model; LoRA merge/unmerge restores weights bit for
// bit; trainable counts are exact; nothing leaks; round trips for the non-PEFT methods.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { setNodeBackend } from '../../cli/node-backend';
import { parameterCount } from '../../src/core/model/weight-names';
import { parseSafetensors } from '../../src/core/model/safetensors';
import { LoraMethod, PeftModel, createMethod, exportAdapterFolder, readAdapterFolder } from '../../src/core/peft';
import { MODELS, loadFixture, logitsOf, maxDiff, sameBits, snapshot, type Fixture } from './peft-helpers';

const FRESH: Record<string, Record<string, unknown>> = {
  lora: { r: 4, lora_alpha: 8, target_modules: 'all-linear' },
  ia3: {},
  adapter_houlsby: { kind: 'houlsby', reduction_factor: 4 },
  adapter_pfeiffer: { kind: 'pfeiffer', reduction_factor: 4 },
  prefix: { num_virtual_tokens: 3 },
  prefix_projection: { num_virtual_tokens: 2, prefix_projection: true, encoder_hidden_size: 8 },
  prompt: { num_virtual_tokens: 3 },
  full: {},
  freeze: { trainable_layers: 1, train_norms: true },
};
const methodName = (key: string) => key.replace(/_(houlsby|pfeiffer|projection)$/, '');
const json = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;

beforeAll(async () => {
  await setNodeBackend('cpu');
});

for (const modelName of MODELS) {
  describe(`PEFT methods on ${modelName}`, () => {
    let fixture: Fixture;
    let base: Float32Array;
    beforeAll(() => {
      fixture = loadFixture(modelName);
      base = logitsOf(new PeftModel(fixture.decoder, null), fixture);
    });
    afterAll(() => fixture.decoder.dispose());

    for (const [key, config] of Object.entries(FRESH)) {
      it(`${key}: disabled = base exactly, no leaks, decoder untouched`, () => {
        const weights = snapshot(fixture.decoder);
        const before = tf.memory().numTensors;
        const model = new PeftModel(fixture.decoder, createMethod(methodName(key), fixture.decoder, config, { seed: 7 }));
        const enabled = logitsOf(model, fixture);
        model.enabled = false;
        expect(logitsOf(model, fixture)).toEqual(base);
        model.enabled = true;
        expect(logitsOf(model, fixture)).toEqual(enabled);
        const count = model.trainableParameterCount();
        expect(count.trainable).toBeGreaterThan(0);
        expect(count.percent).toBeCloseTo((100 * count.trainable) / count.total, 10);
        model.dispose();
        expect(tf.memory().numTensors).toBe(before);
        expect(sameBits(snapshot(fixture.decoder), weights)).toBe(true);
      });
    }

    for (const key of ['lora', 'ia3', 'adapter_houlsby', 'adapter_pfeiffer', 'full', 'freeze']) {
      it(`${key}: at initialisation the logits equal the base logits`, () => {
        const model = new PeftModel(fixture.decoder, createMethod(methodName(key), fixture.decoder, FRESH[key], { seed: 3 }));
        expect(maxDiff(logitsOf(model, fixture), base)).toBeLessThanOrEqual(1e-6);
        model.dispose();
      });
    }

    for (const key of ['prefix', 'prefix_projection', 'prompt']) {
      it(`${key}: a fresh method changes the output and survives export → import`, async () => {
        const model = new PeftModel(fixture.decoder, createMethod(methodName(key), fixture.decoder, FRESH[key], { seed: 5 }));
        const logits = logitsOf(model, fixture);
        expect(maxDiff(logits, base)).toBeGreaterThan(1e-4);
        const reloaded = new PeftModel(fixture.decoder, readAdapterFolder(await exportAdapterFolder(model.method!, { baseModel: 'b' }), fixture.decoder));
        // the projection MLP is folded into the saved table, computed by the same ops
        expect(maxDiff(logitsOf(reloaded, fixture), logits)).toBeLessThanOrEqual(1e-6);
        model.dispose();
        reloaded.dispose();
      });
    }

    for (const [key, fixtureName] of [['lora', 'lora'], ['ia3', 'ia3'], ['prefix', 'prefix'], ['prefix_projection', 'prefix_projection'], ['prompt', 'prompt']]) {
      it(`${key}: a fresh method exports PEFT 0.21's exact config keys, tensor names and shapes`, async () => {
        const fixtureFiles = fixture.adapter(fixtureName);
        const original = json(fixtureFiles.get('adapter_config.json')!);
        // same hyper-parameters as the fixture, every other key left to its default
        const pick = ['r', 'lora_alpha', 'target_modules', 'feedforward_modules', 'num_virtual_tokens', 'prefix_projection', 'encoder_hidden_size'];
        const config = Object.fromEntries(pick.filter((k) => k in original).map((k) => [k, original[k]]));
        const method = createMethod(methodName(key), fixture.decoder, config, { seed: 1 });
        const files = await exportAdapterFolder(method, { baseModel: 'b' });
        const exported = json(files.get('adapter_config.json')!);
        expect(Object.keys(exported).sort()).toEqual(Object.keys(original).sort());
        for (const k of ['fan_in_fan_out', 'token_dim', 'num_attention_heads', 'num_layers', 'num_transformer_submodules', 'encoder_hidden_size', 'task_type', 'peft_type', 'inference_mode']) {
          expect(exported[k], k).toEqual(original[k]);
        }
        const shapes = (bytes: Uint8Array) => new Map([...parseSafetensors(bytes, 'x')].map(([n, t]) => [n, t.shape]));
        expect(shapes(files.get('adapter_model.safetensors')!)).toEqual(shapes(fixtureFiles.get('adapter_model.safetensors')!));
        method.dispose();
      });
    }

    it('LoRA: merge → unmerge restores base weights bit for bit; merged logits equal unmerged', () => {
      const weights = snapshot(fixture.decoder);
      const before = tf.memory().numTensors;
      const lora = LoraMethod.create(fixture.decoder, { r: 4, lora_alpha: 8, target_modules: 'all-linear', init_lora_weights: false }, { seed: 11 });
      const model = new PeftModel(fixture.decoder, lora);
      const unmerged = logitsOf(model, fixture);
      expect(maxDiff(unmerged, base)).toBeGreaterThan(1e-3); // B ≠ 0, so the adapter acts
      lora.merge();
      expect(lora.merged).toBe(true);
      expect(sameBits(snapshot(fixture.decoder), weights)).toBe(false);
      expect(maxDiff(logitsOf(model, fixture), unmerged)).toBeLessThan(1e-5);
      model.enabled = false; // a disabled merged adapter still gives the base model
      expect(logitsOf(model, fixture)).toEqual(base);
      model.enabled = true;
      lora.unmerge();
      expect(sameBits(snapshot(fixture.decoder), weights)).toBe(true);
      expect(logitsOf(model, fixture)).toEqual(unmerged);
      lora.merge();
      model.dispose(); // unmerges first
      expect(sameBits(snapshot(fixture.decoder), weights)).toBe(true);
      expect(tf.memory().numTensors).toBe(before);
    });

    it('the adapter exports in AdapterHub layout and round-trips', async () => {
      const method = createMethod('adapter', fixture.decoder, { kind: 'houlsby', reduction_factor: 8, name: 'task' }, { seed: 2 });
      const model = new PeftModel(fixture.decoder, method);
      for (const v of method.variables().values()) v.assign(tf.randomNormal(v.shape, 0, 0.1, 'float32', 4)); // train-like values
      const logits = logitsOf(model, fixture);
      expect(maxDiff(logits, base)).toBeGreaterThan(1e-4);
      const files = await exportAdapterFolder(method, { baseModel: 'base/x' });
      expect([...files.keys()].sort()).toEqual(['README.md', 'adapter.safetensors', 'adapter_config.json']);
      const config = json(files.get('adapter_config.json')!);
      expect(config['name']).toBe('task');
      expect(config['model_type']).toBe(fixture.decoder.config.modelType);
      expect((config['config'] as Record<string, unknown>)['architecture']).toBe('bottleneck');
      const block = modelName === 'tiny-gpt2' ? 'transformer.h' : 'model.layers';
      const shapes = new Map([...parseSafetensors(files.get('adapter.safetensors')!, 'a')].map(([n, t]) => [n, t.shape]));
      expect(shapes.get(`${block}.1.attention_adapters.adapters.task.adapter_down.0.weight`)).toEqual([4, 32]);
      expect(shapes.get(`${block}.1.output_adapters.adapters.task.adapter_up.weight`)).toEqual([32, 4]);
      expect(shapes.size).toBe(2 * 2 * 4);
      const reloaded = new PeftModel(fixture.decoder, readAdapterFolder(files, fixture.decoder));
      expect(logitsOf(reloaded, fixture)).toEqual(logits);
      model.dispose();
      reloaded.dispose();
    });

    it('full fine-tuning exports a whole checkpoint with the trained weights', async () => {
      const method = createMethod('full', fixture.decoder);
      const model = new PeftModel(fixture.decoder, method);
      const count = model.trainableParameterCount();
      expect(count).toEqual({ trainable: parameterCount(fixture.decoder.config), total: parameterCount(fixture.decoder.config), percent: 100 });
      const embedding = method.variables().get(fixture.decoder.embeddingName)!;
      embedding.assign(tf.mul(embedding, 2));
      const files = await exportAdapterFolder(method, { baseModel: 'base/x' });
      expect([...files.keys()].sort()).toEqual(['README.md', 'config.json', 'model.safetensors']);
      const saved = parseSafetensors(files.get('model.safetensors')!, 'model.safetensors');
      expect(saved.size).toBe(fixture.decoder.params.size);
      const original = fixture.decoder.params.get(fixture.decoder.embeddingName)!.dataSync();
      expect(saved.get(fixture.decoder.embeddingName)!.data[5]).toBe(Math.fround(original[5] * 2));
      expect(json(files.get('config.json')!)['model_type']).toBe(fixture.decoder.config.modelType);
      model.dispose();
    });
  });
}

describe('trainable parameter counts', () => {
  it('LoRA r=4 on tiny-llama, by hand', () => {
    const fixture = loadFixture('tiny-llama'); // d 32, 4 heads × 8, 2 kv heads (kv 16), ffn 64, 2 layers
    const base = parameterCount(fixture.decoder.config);
    // default targets q_proj [32←32], v_proj [16←32]: A r×in + B out×r
    const qv = (4 * 32 + 32 * 4) + (4 * 32 + 16 * 4); // 256 + 192 = 448 per layer
    const model = new PeftModel(fixture.decoder, createMethod('lora', fixture.decoder, { r: 4 }));
    expect(model.trainableParameterCount()).toEqual({ trainable: 2 * qv, total: base + 896, percent: (100 * 896) / (base + 896) });
    model.dispose();
    // all seven projections: q 256, k 192, v 192, o 256, gate 384, up 384, down (4×64 + 32×4) 384 = 2048 per layer
    const all = new PeftModel(fixture.decoder, createMethod('lora', fixture.decoder, { r: 4, target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] }));
    expect(all.trainableParameterCount().trainable).toBe(4096);
    all.dispose();
    // freeze: top block (norms 2·32 + q 32·32 + k,v 2·16·32 + o 32·32 + mlp 3·32·64 = 9280) + final norm 32 + block-0 norms 64
    const freeze = new PeftModel(fixture.decoder, createMethod('freeze', fixture.decoder, { trainable_layers: 1, train_norms: true }));
    expect(freeze.trainableParameterCount()).toEqual({ trainable: 9280 + 32 + 64, total: base, percent: (100 * 9376) / base });
    freeze.dispose();
    fixture.decoder.dispose();
  });
});
