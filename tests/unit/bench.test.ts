// The training bench's core on the cpu backend: one timed step of two methods gives a complete,
// self-consistent result (exact token and parameter counts, positive finite rates) and leaks nothing.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { setNodeBackend } from '../../cli/node-backend';
import { benchBatch, benchMethods, runTrainBench, type TrainBenchResult } from '../../src/core/bench/train-bench';
import { formatBenchJson, formatBenchTable } from '../../src/core/bench/report';
import { methodDefaults } from '../../src/core/train/run';

describe('training bench (cpu)', () => {
  let result: TrainBenchResult;
  let leaked: number;

  beforeAll(async () => {
    await setNodeBackend('cpu');
    const before = tf.memory().numTensors;
    result = await runTrainBench({ methods: ['lora', 'ia3'], warmupSteps: 0, steps: 1, matmulSize: 64, matmulMinMs: 20 });
    leaked = tf.memory().numTensors - before;
  }, 120_000);

  it('reports the backend, the fixed model and the matmul probe', () => {
    expect(result.backend).toBe('cpu');
    // gpt2, 2 blocks, d=64, vocab 512, 64 positions: wte 32768 + wpe 4096 + 2·49984 per block + ln_f 128
    expect(result.model).toEqual({
      modelType: 'gpt2',
      numLayers: 2,
      hiddenSize: 64,
      numHeads: 4,
      vocabSize: 512,
      parameters: 32768 + 4096 + 2 * 49984 + 128,
      batchSize: 4,
      seqLength: 32,
      realTokensPerStep: 128,
    });
    expect(result.warmupSteps).toBe(0);
    expect(result.steps).toBe(1);
    expect(result.matmul.size).toBe(64);
    expect(result.matmul.reps).toBeGreaterThanOrEqual(1);
    expect(Number.isFinite(result.matmul.gflops) && result.matmul.gflops > 0).toBe(true);
    // GFLOP/s is exactly 2·n³·reps over the timed milliseconds
    expect(result.matmul.gflops).toBeCloseTo((2 * 64 ** 3 * result.matmul.reps) / (result.matmul.ms * 1e6), 9);
  });

  it('times each requested method with exact token and trainable-parameter counts', () => {
    expect(result.methods.map((m) => m.method)).toEqual(['lora', 'ia3']);
    expect(result.skipped).toEqual([]);
    const [lora, ia3] = result.methods;
    // trained as the studio trains them by default
    expect(lora.config).toEqual(methodDefaults('lora').method);
    expect(lora.learningRate).toBe(methodDefaults('lora').trainer.learningRate);
    expect(ia3.learningRate).toBe(methodDefaults('ia3').trainer.learningRate);
    expect(lora.config['r']).toBe(8);
    // LoRA r=8 on c_attn (64 → 192) in 2 blocks: A [8, 64] + B [192, 8] per block
    expect(lora.trainableParameters).toBe(2 * (8 * 64 + 192 * 8));
    // IA³ on gpt2: c_attn output scale [192] + mlp.c_proj input scale [256] per block
    expect(ia3.trainableParameters).toBe(2 * (192 + 256));
    for (const m of result.methods) {
      expect(m.steps).toBe(1);
      expect(m.realTokens).toBe(128); // 4 full rows of 32 tokens, no padding
      for (const value of [m.seconds, m.tokensPerSecond, m.msPerStep, m.lastLoss, m.trainablePercent]) {
        expect(Number.isFinite(value) && value > 0, `${m.method}: ${value}`).toBe(true);
      }
      expect(m.tokensPerSecond).toBeCloseTo(m.realTokens / m.seconds, 6);
      // random weights, 512 classes: the first step's loss is near ln 512 ≈ 6.24
      expect(Math.abs(m.lastLoss - Math.log(512))).toBeLessThan(0.2);
      expect(m.tensorsLeaked).toBe(0);
    }
  });

  it('leaves tf.memory().numTensors where it was', () => {
    expect(result.tensorsLeaked).toBe(0);
    expect(leaked).toBe(0);
  });

  it('uses full rows: 8 unscored prompt tokens, 24 scored per row', () => {
    const batch = benchBatch(1234);
    expect(batch.realTokens).toBe(128);
    expect(batch.scoredTokens).toBe(4 * 24);
    expect(batch.attentionMask.flat().every((v) => v === 1)).toBe(true);
  });

  it('rejects unknown methods and zero timed steps with a clear error', async () => {
    expect(() => benchMethods(['lora', 'dora'])).toThrow('train bench: unknown method "dora" (known: lora, ia3, prefix, prompt, adapter, full, freeze)');
    await expect(runTrainBench({ steps: 0 })).rejects.toThrow('steps must be at least 1');
  });

  it('starts no method once the time budget is spent, and says which were skipped', async () => {
    const before = tf.memory().numTensors;
    const late = await runTrainBench({ methods: ['prefix', 'adapter'], steps: 1, matmulSize: 16, matmulMinMs: 1, timeBudgetSeconds: 0 });
    expect(late.methods).toEqual([]);
    expect(late.skipped).toEqual(['prefix', 'houlsby']);
    expect(tf.memory().numTensors).toBe(before);
    const lines = formatBenchTable([{ runtime: 'chromium', backend: 'webgpu', result: late }]).split('\n');
    expect(lines[0].split(/\s+/)).toEqual(['backend', 'GFLOP/s', 'prefix', 'houlsby', 'steps']);
    expect(lines[2]).toMatch(/^chromium webgpu\s+[\d.]+\s+skip\s+skip\s+2\+1$/);
  });

  it('prints a row per backend with the GFLOP/s column and the reason a backend is missing', () => {
    const table = formatBenchTable([
      { runtime: 'node', backend: 'cpu', result },
      { runtime: 'chromium', backend: 'webgpu', error: 'unavailable: no adapter' },
    ]);
    const lines = table.split('\n');
    expect(lines[0].split(/\s+/)).toEqual(['backend', 'GFLOP/s', 'lora', 'ia3', 'steps']);
    expect(lines[2]).toMatch(/^node cpu\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+0\+1$/);
    expect(lines[3]).toMatch(/^chromium webgpu\s+-\s+-\s+-\s+-$/);
    expect(table).toContain('chromium webgpu: unavailable: no adapter');
  });

  it('prints JSON that parses back to the result, one line per method, numbers to 6 significant digits', () => {
    const text = formatBenchJson({ runs: [{ runtime: 'node', backend: 'cpu', result }] });
    const back = JSON.parse(text) as { runs: { result: TrainBenchResult }[] };
    const lora = back.runs[0].result.methods[0];
    expect(lora.tokensPerSecond).toBe(Number(result.methods[0].tokensPerSecond.toPrecision(6)));
    expect(lora.config).toEqual(result.methods[0].config);
    expect(back.runs[0].result.model).toEqual(result.model);
    const methodLines = text.split('\n').filter((line) => line.includes('"method":'));
    expect(methodLines).toHaveLength(2);
    expect(methodLines[0].trim()).toMatch(/^\{"method":"lora",.*"tensorsLeaked":0\},$/);
  });
});
