// The bench's presets against the PyTorch peer's configs (tests/fixtures/bench/*.json, copied from
// ../shared/bench/ where torch_step.py reads them): the same shapes, batches and parameter counts,
// and the FLOPs formula's exact per-token counts on two shapes worked out by hand.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig, type ModelConfig } from '../../src/core/model/config';
import { expectedWeights } from '../../src/core/model/weight-names';
import { BENCH_PRESETS, benchPreset } from '../../src/core/bench/presets';
import { firstBlockQkvParameters, matmulParameters, stepFlops } from '../../src/core/bench/flops';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/bench/${name}.json`, import.meta.url), 'utf8')) as Record<string, unknown>;

/** What decides the shape and the work of a step; eps and special token ids do not. */
function shapeOf(c: ModelConfig) {
  return {
    family: c.family,
    modelType: c.modelType,
    vocabSize: c.vocabSize,
    hiddenSize: c.hiddenSize,
    numLayers: c.numLayers,
    numHeads: c.numHeads,
    numKvHeads: c.numKvHeads,
    headDim: c.headDim,
    intermediateSize: c.intermediateSize,
    maxPositions: c.maxPositions,
    tieWordEmbeddings: c.tieWordEmbeddings,
    ropeTheta: c.family === 'llama' ? c.ropeTheta : null,
    qkvBias: c.qkvBias,
    outBias: c.outBias,
    mlpBias: c.mlpBias,
    activation: c.activation,
  };
}

const parameters = (c: ModelConfig) => [...expectedWeights(c).values()].reduce((n, shape) => n + shape.reduce((a, b) => a * b, 1), 0);

describe('bench presets', () => {
  it.each([
    ['hone-tiny', 8, 128, 918_656],
    ['small', 8, 128, 5_770_496],
    ['gpt2-small', 4, 256, 124_439_808],
    ['smollm2-135m', 2, 64, 134_515_008],
  ])('%s has the shape of the peer config, batch %i × %i, %i parameters', (name, batchSize, seqLength, count) => {
    const preset = benchPreset(name);
    expect(shapeOf(preset.config)).toEqual(shapeOf(parseConfig(fixture(name))));
    expect([preset.batchSize, preset.seqLength, preset.promptTokens]).toEqual([batchSize, seqLength, 8]);
    expect(parameters(preset.config)).toBe(count);
  });

  it('lists the peer shapes, the 137k smoke model and a micro model for tests, and names the known ones when asked for another', () => {
    expect(BENCH_PRESETS.map((p) => p.name)).toEqual(['hone-tiny', 'small', 'gpt2-small', 'smollm2-135m', 'smoke', 'micro']);
    expect(parameters(benchPreset('smoke').config)).toBe(136_960);
    expect(() => benchPreset('gpt3')).toThrow('train bench: unknown preset "gpt3" (known: hone-tiny, small, gpt2-small, smollm2-135m, smoke, micro)');
  });

  it('counts matmul FLOPs by hand on micro (Llama, tied) and smoke (GPT-2)', () => {
    // micro: q 16·16 + k 8·16 + v 8·16 + o 16·16 + gate/up/down 3·16·32 = 2304, tied head 300·16 = 4800
    const micro = benchPreset('micro').config;
    expect(matmulParameters(micro)).toBe(2304 + 4800);
    // F = 2·7104 + 4·1 layer·16 tokens·16 = 15232 (attention products 1024 of it); LoRA r 8 on q and v: 448 trainable.
    // Frozen base: F + dx of every matmul (2·7104) but the first block's q/k/v (2·512: their input is the
    // frozen embedding) + the attention products' backward (2·1024) + 6·448 = 33152
    expect(firstBlockQkvParameters(micro)).toBe(16 * 16 + 8 * 16 + 8 * 16);
    expect(stepFlops(micro, 16, 'lora', 448)).toEqual({ forwardPerToken: 15232, trainingPerToken: 15232 + 2 * 7104 - 2 * 512 + 2 * 1024 + 6 * 448 });
    expect(stepFlops(micro, 16, 'lora', 448).trainingPerToken).toBe(4 * 7104 - 2 * 512 + 12 * 1 * 16 * 16 + 6 * 448);
    expect(stepFlops(micro, 16, 'lora', 448).trainingPerToken).toBe(33152);
    expect(stepFlops(micro, 16, 'full', 7152).trainingPerToken).toBe(3 * 15232);
    // prompt tuning trains virtual token embeddings the first block reads: its q/k/v dx is counted
    expect(stepFlops(micro, 26, 'prompt', 160).trainingPerToken).toBe(4 * 7104 + 12 * 1 * 26 * 16 + 6 * 160);
    // smoke: per block c_attn 64·192 + c_proj 64·64 + c_fc 64·256 + mlp.c_proj 256·64 = 49152; tied head 512·64
    const smoke = benchPreset('smoke').config;
    expect(matmulParameters(smoke)).toBe(2 * 49152 + 32768);
    // prefix's 10 virtual tokens lengthen the attended context: 4·2·(32 + 10)·64
    expect(stepFlops(smoke, 42, 'prefix', 0).forwardPerToken).toBe(2 * 131072 + 4 * 2 * 42 * 64);
    // GPT-2's first-block q/k/v is c_attn [64, 192]
    expect(firstBlockQkvParameters(smoke)).toBe(64 * 192);
    expect(stepFlops(smoke, 42, 'prefix', 0).trainingPerToken).toBe(4 * 131072 - 2 * 64 * 192 + 12 * 2 * 42 * 64);
  });

  it('counts an untied head once, from lm_head.weight', () => {
    const untied = parseConfig({ ...fixture('small'), tie_word_embeddings: false });
    expect(matmulParameters(untied)).toBe(matmulParameters(benchPreset('small').config));
  });
});
