// The memory check before a download and before a run (src/core/hub/memory.ts deviceFit, and the
// `refuse` hook pullModel calls once config.json is in): the largest tensor against the GPU
// adapter's buffer limits, the whole estimate against navigator.deviceMemory, with a suggestion
// per use; a refusal fetches no weight and leaves nothing staged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cardConfigJson, MODEL_CARDS } from '../../src/core/hub/cards';
import { deviceFit, estimateMemory, largestTensorBytes } from '../../src/core/hub/memory';
import { pullModel } from '../../src/core/hub/pull';
import { HubError } from '../../src/core/hub/client';
import { MemoryPullStorage } from '../../src/core/hub/storage';
import { parseConfig } from '../../src/core/model/config';
import { startStandInHub, type StandInHub } from './hub-server';

const config = (repo: string) => parseConfig(cardConfigJson(MODEL_CARDS.find((c) => c.repo === repo)!.architecture));
const noLimits = { maxBufferSize: null, maxStorageBufferBindingSize: null, deviceMemoryGb: null };

describe('deviceFit', () => {
  it('the largest tensor: the embedding for inference, the batch logits when training', () => {
    const qwen = config('Qwen/Qwen2.5-0.5B');
    expect(largestTensorBytes(qwen)).toBe(4 * 151936 * 896); // 544,538,624: embed_tokens [V, d]
    expect(largestTensorBytes(qwen, { use: 'peft', batch: 4, sequenceLength: 256 })).toBe(4 * 4 * 256 * 151936); // 622,329,856: logits [4, 256, V]
  });

  it('refuses a tensor over maxStorageBufferBindingSize (WebGPU default 128 MiB), suggesting what fits', () => {
    const qwen = config('Qwen/Qwen2.5-0.5B');
    const limits = { maxBufferSize: 268_435_456, maxStorageBufferBindingSize: 134_217_728, deviceMemoryGb: null };
    const fit = deviceFit(qwen, estimateMemory(qwen), limits);
    expect(fit.fits).toBe(false);
    expect(fit.message).toBe(
      'its largest tensor is 544.5 MB but this GPU adapter takes at most 134.2 MB per buffer (maxStorageBufferBindingSize / maxBufferSize). ' +
        'Suggestion: pick a smaller model (see the cards below), or use the CLI, which has no browser limits',
    );
    const gpt2 = config('openai-community/gpt2'); // wte 50257 × 768 × 4 = 154.4 MB: over 128 MiB too
    expect(deviceFit(gpt2, estimateMemory(gpt2), { ...limits, maxStorageBufferBindingSize: 2 ** 31 }).fits).toBe(true);
  });

  it('against navigator.deviceMemory: full fine-tuning refused with "LoRA instead", a PEFT run with "smaller batch"', () => {
    const smol = config('HuggingFaceTB/SmolLM2-360M');
    const full = estimateMemory(smol, { use: 'full', batch: 4, sequenceLength: 256 });
    expect(full.totalBytes).toBeGreaterThan(4e9);
    const refusal = deviceFit(smol, full, { ...noLimits, deviceMemoryGb: 4 }, { use: 'full' });
    expect(refusal.message).toContain(`this device reports 4 GB of memory. Suggestion: train with LoRA instead of full fine-tuning`);
    const peft = estimateMemory(smol, { use: 'peft', batch: 64, sequenceLength: 2048 });
    expect(deviceFit(smol, peft, { ...noLimits, deviceMemoryGb: 4 }, { use: 'peft', batch: 64, sequenceLength: 2048 }).message).toContain('use a smaller batch or shorter sequences');
    // a default LoRA run (batch 4 × 256) of 360M needs ~4.4 GB, of 135M ~2.4 GB: only the smaller fits 4 GB
    expect(deviceFit(smol, estimateMemory(smol, { use: 'peft' }), { ...noLimits, deviceMemoryGb: 4 }, { use: 'peft' }).fits).toBe(false);
    const small = config('HuggingFaceTB/SmolLM2-135M');
    expect(deviceFit(small, estimateMemory(small, { use: 'peft' }), { ...noLimits, deviceMemoryGb: 4 }, { use: 'peft' }).fits).toBe(true);
    // 8 GB is Chromium's cap ("8 GB or more"): not a reason to refuse
    expect(deviceFit(smol, full, { ...noLimits, deviceMemoryGb: 8 }, { use: 'full' }).fits).toBe(true);
  });

  it('gradient checkpointing: suggested when a run does not fit, and counted as block inputs plus one block', () => {
    const smol = config('HuggingFaceTB/SmolLM2-360M');
    const plain = estimateMemory(smol, { use: 'peft' });
    const refusal = deviceFit(smol, plain, { ...noLimits, deviceMemoryGb: 4 }, { use: 'peft' });
    expect(refusal.message).toContain('Suggestion: turn on gradient checkpointing, use a smaller batch or shorter sequences, or pick a smaller model');
    const lean = estimateMemory(smol, { use: 'peft', gradientCheckpointing: true });
    // 360M, batch 4 × 256: 32 layers × 1,024 tokens × 960 kept, one block (8d + 3f + heads·T per token) and the logits twice
    const tokens = 4 * 256;
    const perLayer = tokens * (8 * 960 + 3 * 2560 + 15 * 256);
    expect([smol.numLayers, smol.hiddenSize, smol.intermediateSize, smol.numHeads, smol.vocabSize]).toEqual([32, 960, 2560, 15, 49152]);
    expect(lean.activationBytes).toBe(4 * (32 * tokens * 960 + perLayer + 2 * tokens * 49152));
    expect(plain.activationBytes).toBe(4 * (32 * perLayer + 2 * tokens * 49152));
    const fit = deviceFit(smol, lean, { ...noLimits, deviceMemoryGb: 4 }, { use: 'peft', gradientCheckpointing: true });
    expect(fit).toMatchObject({ fits: true, message: null });
    // already on: not suggested again
    const big = estimateMemory(smol, { use: 'peft', batch: 64, sequenceLength: 2048, gradientCheckpointing: true });
    const stillTooBig = deviceFit(smol, big, { ...noLimits, deviceMemoryGb: 4 }, { use: 'peft', gradientCheckpointing: true });
    expect(stillTooBig.message).toContain('Suggestion: use a smaller batch or shorter sequences, or pick a smaller model');
  });
});

describe('pullModel refuse hook', () => {
  let hub: StandInHub;
  beforeAll(async () => {
    hub = await startStandInHub();
  });
  afterAll(() => hub.close());

  it('a refusal after config.json requests no weights and stages nothing', async () => {
    const storage = new MemoryPullStorage();
    const before = hub.requests.length;
    const error = await pullModel({ endpoint: hub.endpoint, repo: 'test/tiny-llama', storage, refuse: (c) => (c.numLayers === 2 ? 'too big for this test' : null) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HubError);
    expect((error as HubError).kind).toBe('too-large');
    expect((error as HubError).message).toBe('test/tiny-llama: too big for this test; nothing was downloaded');
    const paths = hub.requests.slice(before).map((r) => r.path);
    expect(paths.some((p) => p.endsWith('.safetensors'))).toBe(false);
    expect(await storage.staged('config.json')).toBeNull();
    expect(storage.manifest).toBeNull();
  });
});
