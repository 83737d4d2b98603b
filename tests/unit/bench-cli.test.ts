// `hone bench` end to end, as scripts use it: --json prints one JSON object per method per line,
// each with the rates, the FLOPs formula, memory, tensor counts and top kernels; bad input exits 2.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

function hone(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node', ['--import', 'tsx', 'cli/hone.ts', ...args], { cwd: root }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('hone bench', () => {
  it('--json prints one object per method with the bench fields (micro preset, one step, cpu)', async () => {
    const run = await hone(['bench', '--preset', 'micro', '--methods', 'lora,full', '--backend', 'cpu', '--steps', '2', '--warmup', '0', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    const [lora, full] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect([lora.method, full.method]).toEqual(['lora', 'full']);
    for (const m of [lora, full]) {
      expect(m).toMatchObject({ preset: 'micro', backend: 'cpu', steps: 2, warmupSteps: 0, batchSize: 4, seqLength: 16, realTokensPerStep: 64 });
      // hone-micro: 7,152 parameters, float32; on cpu the only other tensor is RoPE's inverse frequencies [head_dim / 2]
      expect(m).toMatchObject({ parameters: 7152, weightBytes: 4 * 7152, tensorBytesAfterLoad: 4 * 7152 + 4 * 4 });
      for (const key of ['tokensPerSecond', 'msPerStep', 'trainingGflops', 'matmulGflops', 'matmulFraction', 'peakRssAfterLoadBytes', 'peakRssAfterStepBytes', 'kernelMs']) {
        expect(Number.isFinite(m[key]) && (m[key] as number) > 0, `${m.method} ${key}: ${m[key]}`).toBe(true);
      }
      expect(m.trainingGflops as number).toBeCloseTo(((m.flopsPerToken as number) * (m.tokensPerSecond as number)) / 1e9, 6);
      expect(m.flopsFormula).toMatch(/^F = 2·N_matmul \+ 4·L·T·d_attn per token/);
      expect(m.tensorsFlat).toBe(true);
      expect((m.numTensorsPerStep as number[]).length).toBe(2);
      expect(m.tensorsLeaked).toBe(0);
      expect((m.topKernels as { name: string }[]).length).toBeGreaterThan(0);
      expect(m.gpuPerStep).toBeNull();
      expect(m.matmulShape).toEqual([64, 16, 32]);
    }
    // hand counts (tests/unit/bench-presets.test.ts): F = 15232; LoRA 4·7104 − 2·512 + 12·1·16·16 + 6·448, full 3·F
    expect([lora.flopsPerToken, full.flopsPerToken]).toEqual([33152, 3 * 15232]);
    expect([lora.trainableParameters, full.trainableParameters]).toEqual([448, 7152]);
  }, 60_000);

  it('prints a table without --json', async () => {
    const run = await hone(['bench', '--preset', 'micro', '--methods', 'prefix', '--backend', 'cpu', '--steps', '1', '--warmup', '0', '--profile', 'off']);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^micro on cpu: 7,152 params/);
    expect(lines[1].split(/\s{2,}/)).toEqual(['method', 'tok/s', 'ms/step', 'GFLOP/s', 'matmul', 'fraction', 'peak RSS MiB', 'activations MiB', 'top kernel']);
    expect(lines[2]).toMatch(/^prefix\s+[\d.]+\s+\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+\d+\s+\d+\s+-$/);
  }, 60_000);

  it('rejects an unknown preset with the known ones, exit 2', async () => {
    const run = await hone(['bench', '--preset', 'gpt3', '--backend', 'cpu']);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe('hone: bench: unknown --preset "gpt3" (known: hone-tiny, small, gpt2-small, smollm2-135m, smoke, micro)');
    expect(run.stdout).toBe('');
  });
});
