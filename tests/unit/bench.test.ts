// The training bench's core on the cpu backend, on the 137k smoke preset: two timed steps of two
// methods give a complete, self-consistent result (exact token, parameter and FLOP counts, positive
// finite rates, a profile, memory samples) with tensor counts flat across steps and nothing leaked.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { setNodeBackend } from '../../cli/node-backend';
import { benchBatch, benchMethods, runTrainBench, type TrainBenchResult } from '../../src/core/bench/train-bench';
import { benchPreset } from '../../src/core/bench/presets';
import { countGpuWork } from '../../src/core/bench/probes';
import { formatBenchJson, formatBenchTable } from '../../src/core/bench/report';
import { methodDefaults } from '../../src/core/train/run';

describe('training bench (cpu, smoke preset)', () => {
  let result: TrainBenchResult;
  let leaked: number;

  beforeAll(async () => {
    await setNodeBackend('cpu');
    const before = tf.memory().numTensors;
    result = await runTrainBench({ preset: 'smoke', methods: ['lora', 'ia3'], warmupSteps: 0, steps: 2, matmulMinMs: 20 });
    leaked = tf.memory().numTensors - before;
  }, 120_000);

  it('reports the backend, the preset model and a matmul probe of its own size', () => {
    expect(result.backend).toBe('cpu');
    expect(result.preset).toBe('smoke');
    // gpt2, 2 blocks, d=64, vocab 512, 64 positions: wte 32768 + wpe 4096 + 2·49984 per block + ln_f 128
    const parameters = 32768 + 4096 + 2 * 49984 + 128;
    expect(result.model).toEqual({
      modelType: 'gpt2',
      numLayers: 2,
      hiddenSize: 64,
      numHeads: 4,
      numKvHeads: 4,
      intermediateSize: 256,
      vocabSize: 512,
      parameters,
      weightBytes: 4 * parameters,
      batchSize: 4,
      seqLength: 32,
      promptTokens: 8,
      realTokensPerStep: 128,
    });
    expect([result.warmupSteps, result.steps]).toEqual([0, 2]);
    // [batch·seq, d] × [d, FFN]
    expect(result.matmul.shape).toEqual([128, 64, 256]);
    expect(result.matmul.reps).toBeGreaterThanOrEqual(1);
    expect(result.matmul.gflops).toBeCloseTo((2 * 128 * 64 * 256 * result.matmul.reps) / (result.matmul.ms * 1e6), 9);
    expect(result.flopsFormula).toContain('full: 3·F; other methods: 4·N_matmul − 2·N_qkv0 + 12·L·T·d_attn + 6·N_trainable');
    // weights plus nothing else on cpu (no transposed copies there)
    expect(result.memory.tensorBytesAfterLoad).toBe(4 * parameters);
    const { beforeLoad, afterLoad } = result.memory;
    expect(beforeLoad && afterLoad && afterLoad.peakRssBytes >= beforeLoad.peakRssBytes && afterLoad.rssBytes > 0).toBe(true);
  });

  it('times each method with exact token, trainable-parameter and FLOP counts', () => {
    expect(result.methods.map((m) => m.method)).toEqual(['lora', 'ia3']);
    expect(result.skipped).toEqual([]);
    const [lora, ia3] = result.methods;
    // as the studio trains them by default, LoRA without dropout as the PyTorch peer
    expect(lora.config).toEqual({ ...methodDefaults('lora').method, lora_dropout: 0 });
    expect(lora.config).toMatchObject({ r: 8, lora_alpha: 16 });
    expect(lora.learningRate).toBe(methodDefaults('lora').trainer.learningRate);
    expect(ia3.learningRate).toBe(methodDefaults('ia3').trainer.learningRate);
    // LoRA r=8 on c_attn (64 → 192) in 2 blocks: A [8, 64] + B [192, 8] per block
    expect(lora.trainableParameters).toBe(2 * (8 * 64 + 192 * 8));
    // IA³ on gpt2: c_attn output scale [192] + mlp.c_proj input scale [256] per block
    expect(ia3.trainableParameters).toBe(2 * (192 + 256));
    // F = 2·131072 matmul weights + 4·2 layers·32·64 = 278528 per token; frozen base: F, dx of every
    // matmul but block 0's c_attn [64, 192], the attention products' backward, 6·trainable
    expect(lora.flopsPerToken).toBe(278528 + 2 * 131072 - 2 * 64 * 192 + 2 * (4 * 2 * 32 * 64) + 6 * 4096);
    expect(lora.flopsPerToken).toBe(4 * 131072 - 2 * 12288 + 12 * 2 * 32 * 64 + 6 * 4096);
    expect(ia3.flopsPerToken).toBe(4 * 131072 - 2 * 12288 + 12 * 2 * 32 * 64 + 6 * 896);
    for (const m of result.methods) {
      expect(m.steps).toBe(2);
      expect(m.realTokens).toBe(256); // 2 steps of 4 full rows of 32 tokens
      for (const value of [m.seconds, m.tokensPerSecond, m.msPerStep, m.lastLoss, m.trainablePercent, m.trainingGflops]) {
        expect(Number.isFinite(value) && value > 0, `${m.method}: ${value}`).toBe(true);
      }
      expect(m.tokensPerSecond).toBeCloseTo(m.realTokens / m.seconds, 6);
      expect(m.trainingGflops).toBeCloseTo((m.flopsPerToken * m.tokensPerSecond) / 1e9, 9);
      expect(m.matmulFraction).toBeCloseTo(m.trainingGflops / result.matmul.gflops, 9);
      // random weights, 512 classes: the loss is near ln 512 ≈ 6.24
      expect(Math.abs(m.lastLoss - Math.log(512))).toBeLessThan(0.2);
      expect(m.gpuPerStep).toBeNull();
      expect(m.memoryAfterSteps!.peakRssBytes).toBeGreaterThanOrEqual(result.memory.afterLoad!.peakRssBytes);
    }
  });

  it('keeps tf.memory().numTensors flat across steps and leaks nothing', () => {
    for (const m of result.methods) {
      expect(m.numTensorsPerStep).toHaveLength(2);
      expect(m.numTensorsPerStep[1]).toBe(m.numTensorsPerStep[0]);
      expect(m.tensorsLeaked).toBe(0);
    }
    expect(result.tensorsLeaked).toBe(0);
    expect(leaked).toBe(0);
  });

  it('profiles one step per method: kernel counts and the top kernels by time', () => {
    for (const m of result.methods) {
      const p = m.profile!;
      expect(p.kernels).toBeGreaterThan(50);
      expect(p.top.length).toBeGreaterThan(0);
      expect(p.top.length).toBeLessThanOrEqual(8);
      const times = p.top.map((k) => k.ms);
      expect([...times].sort((a, b) => b - a)).toEqual(times);
      expect(times.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(p.kernelMs + 1e-6);
      // every linear layer is a matmul: 2 blocks × 4 Conv1D + the head, forward alone
      expect(p.top.find((k) => k.name === 'BatchMatMul')?.calls ?? 0).toBeGreaterThanOrEqual(9);
    }
  });

  it('counts GPU work only on webgpu', () => {
    expect(countGpuWork()).toBeNull();
  });

  it('uses full rows of random ids: 8 unscored prompt tokens, the rest scored', () => {
    const batch = benchBatch(benchPreset('smoke'), 1234);
    expect(batch.realTokens).toBe(128);
    expect(batch.scoredTokens).toBe(4 * 24);
    expect(batch.attentionMask.flat().every((v) => v === 1)).toBe(true);
    expect(batch.inputIds.flat().every((id) => id >= 1 && id < 512)).toBe(true);
    expect(batch.labels.map((row) => row.slice(0, 8).every((l) => l === -100))).toEqual([true, true, true, true]);
    expect(benchBatch(benchPreset('smoke'), 1234)).toEqual(batch);
  });

  it('runs the issue table methods by default and rejects unknown methods and zero timed steps', async () => {
    expect(benchMethods().map((m) => m.label)).toEqual(['lora', 'prefix', 'houlsby', 'full']);
    expect(() => benchMethods(['lora', 'dora'])).toThrow('train bench: unknown method "dora" (known: lora, ia3, prefix, prompt, adapter, full, freeze)');
    await expect(runTrainBench({ steps: 0 })).rejects.toThrow('steps must be at least 1');
    await expect(runTrainBench({ preset: 'nope' })).rejects.toThrow('unknown preset "nope"');
  });

  it('runs a preset at another batch shape when asked (what fits in memory), and refuses rows with nothing scored', async () => {
    const before = tf.memory().numTensors;
    const r = await runTrainBench({ preset: 'micro', batchSize: 2, seqLength: 12, methods: ['lora'], steps: 1, warmupSteps: 0, profile: false, matmulMinMs: 1 });
    expect([r.model.batchSize, r.model.seqLength, r.model.realTokensPerStep]).toEqual([2, 12, 24]);
    expect(r.matmul.shape).toEqual([24, 16, 32]);
    expect(r.methods[0].realTokens).toBe(24);
    expect(r.methods[0].profile).toBeNull();
    expect(tf.memory().numTensors).toBe(before);
    await expect(runTrainBench({ preset: 'micro', seqLength: 8 })).rejects.toThrow('seqLength must be over the 8 unscored prompt tokens, got 8');
    await expect(runTrainBench({ preset: 'micro', batchSize: 0 })).rejects.toThrow('batchSize must be at least 1');
  });

  it('starts no method once the time budget is spent, and says which were skipped', async () => {
    const before = tf.memory().numTensors;
    const late = await runTrainBench({ preset: 'micro', methods: ['prefix', 'adapter'], steps: 1, matmulMinMs: 1, timeBudgetSeconds: 0 });
    expect(late.methods).toEqual([]);
    expect(late.skipped).toEqual(['prefix', 'houlsby']);
    expect(tf.memory().numTensors).toBe(before);
    const lines = formatBenchTable([{ runtime: 'chromium', backend: 'webgpu', result: late }]).split('\n');
    expect(lines[0].split(/\s+/)).toEqual(['backend', 'GFLOP/s', 'prefix', 'houlsby', 'steps']);
    expect(lines[2]).toMatch(/^chromium webgpu\s+[\d.]+\s+skip\s+skip\s+1\+1$/);
  });

  it('prints a row per backend with the GFLOP/s column and the reason a backend is missing', () => {
    const table = formatBenchTable([
      { runtime: 'node', backend: 'cpu', result },
      { runtime: 'chromium', backend: 'webgpu', error: 'unavailable: no adapter' },
    ]);
    const lines = table.split('\n');
    expect(lines[0].split(/\s+/)).toEqual(['backend', 'GFLOP/s', 'lora', 'ia3', 'steps']);
    expect(lines[2]).toMatch(/^node cpu\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+0\+2$/);
    expect(lines[3]).toMatch(/^chromium webgpu\s+-\s+-\s+-\s+-$/);
    expect(table).toContain('chromium webgpu: unavailable: no adapter');
    expect(table).toContain('GFLOP/s: [128, 64] × [64, 256] float32 matmuls');
  });

  it('prints JSON that parses back to the result, numbers to 6 significant digits', () => {
    const text = formatBenchJson({ runs: [{ runtime: 'node', backend: 'cpu', result }] });
    const back = JSON.parse(text) as { runs: { result: TrainBenchResult }[] };
    const lora = back.runs[0].result.methods[0];
    expect(lora.tokensPerSecond).toBe(Number(result.methods[0].tokensPerSecond.toPrecision(6)));
    expect(lora.config).toEqual(result.methods[0].config);
    expect(back.runs[0].result.model).toEqual(result.model);
  });
});
