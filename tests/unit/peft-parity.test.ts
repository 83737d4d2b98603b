// The PEFT adapters in tests/fixtures/hf/*/adapters, as saved by PEFT 0.21, give the reference
// logits (logits.<method> in reference.safetensors, 1e-4 on unmasked positions) on the cpu and
// wasm backends; exporting and re-importing gives identical logits and PEFT's exact files.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { setNodeBackend } from '../../cli/node-backend';
import { PeftModel, exportAdapterFolder, readAdapterFolder } from '../../src/core/peft';
import { ADAPTERS, MODELS, loadFixture, logitsOf, maxDiffUnmasked, safetensorsIndex, type Fixture } from './peft-helpers';

const json = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`PEFT fixture parity on ${backend}`, () => {
    beforeAll(async () => {
      await setNodeBackend(backend);
    });

    for (const modelName of MODELS) {
      describe(modelName, () => {
        let fixture: Fixture;
        beforeAll(() => {
          fixture = loadFixture(modelName);
        });
        afterAll(() => fixture.decoder.dispose());

        it('base model matches logits.base', () => {
          const model = new PeftModel(fixture.decoder, null);
          const diff = maxDiffUnmasked(logitsOf(model, fixture), fixture.reference.get('logits.base')!.data, fixture.attentionMask);
          expect(diff).toBeLessThan(1e-4);
        });

        for (const adapter of ADAPTERS) {
          it(`${adapter}: imported adapter matches logits.${adapter}`, () => {
            const before = tf.memory().numTensors;
            const model = new PeftModel(fixture.decoder, readAdapterFolder(fixture.adapter(adapter), fixture.decoder));
            const diff = maxDiffUnmasked(logitsOf(model, fixture), fixture.reference.get(`logits.${adapter}`)!.data, fixture.attentionMask);
            expect(diff).toBeLessThan(1e-4);
            // and the adapter really changes the output (the reference differs from the base)
            const base = fixture.reference.get('logits.base')!.data;
            expect(maxDiffUnmasked(fixture.reference.get(`logits.${adapter}`)!.data, base, fixture.attentionMask)).toBeGreaterThan(1e-3);
            model.dispose();
            expect(tf.memory().numTensors).toBe(before);
          });

          it(`${adapter}: export → import gives identical logits and PEFT's files`, async () => {
            const source = fixture.adapter(adapter);
            const model = new PeftModel(fixture.decoder, readAdapterFolder(source, fixture.decoder));
            const exported = await exportAdapterFolder(model.method!, { baseModel: `hone-test/${modelName}` });
            expect([...exported.keys()].sort()).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors']);

            const config = json(exported.get('adapter_config.json')!);
            const original = json(source.get('adapter_config.json')!);
            expect(Object.keys(config).sort()).toEqual(Object.keys(original).sort());
            expect(config['base_model_name_or_path']).toBe(`hone-test/${modelName}`);
            for (const key of ['peft_type', 'task_type', 'r', 'lora_alpha', 'fan_in_fan_out', 'num_virtual_tokens', 'token_dim', 'num_attention_heads', 'num_layers', 'prefix_projection', 'encoder_hidden_size']) {
              expect(config[key], key).toEqual(original[key]);
            }
            for (const key of ['target_modules', 'feedforward_modules']) {
              if (Array.isArray(original[key])) expect(new Set(config[key] as string[]), key).toEqual(new Set(original[key] as string[]));
            }
            expect(safetensorsIndex(exported.get('adapter_model.safetensors')!, 'exported')).toEqual(
              safetensorsIndex(source.get('adapter_model.safetensors')!, 'fixture'),
            );
            const card = new TextDecoder().decode(exported.get('README.md')!);
            expect(card).toContain('library_name: peft');
            expect(card).toContain(`base_model: "hone-test/${modelName}"`);

            const reloaded = new PeftModel(fixture.decoder, readAdapterFolder(exported, fixture.decoder));
            const a = logitsOf(model, fixture);
            const b = logitsOf(reloaded, fixture);
            expect(b).toEqual(a);
            model.dispose();
            reloaded.dispose();
          });
        }
      });
    }
  });
}
