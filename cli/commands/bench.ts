// `hone bench --preset NAME [--methods lora,full] [--steps N] [--warmup N] [--batch B --seq T] [--profile on|off] [--gradient-checkpointing] [--json]`:
// the training bench (src/core/bench/train-bench.ts) on this process's backend (--backend cpu|wasm,
// set by cli/hone.ts). With --json, stdout gets one JSON object per method (JSON lines), each
// complete on its own: the method's rates beside the run's matmul probe, memory and preset. Without
// it, a short table. Progress goes to stderr.
import { BENCH_PRESETS } from '../../src/core/bench/presets';
import { runTrainBench, type MethodResult, type TrainBenchResult } from '../../src/core/bench/train-bench';
import { formatRate } from '../../src/core/bench/report';
import { intFlag, UsageError, type ParsedArgs } from '../args';

/** One method's line of `--json` output: flat fields for scripts, the run's context repeated. */
export function methodLine(run: TrainBenchResult, m: MethodResult): Record<string, unknown> {
  const flat = m.numTensorsPerStep.every((n) => n === m.numTensorsPerStep[0]);
  return {
    preset: run.preset,
    backend: run.backend,
    method: m.method,
    label: m.label,
    tokensPerSecond: m.tokensPerSecond,
    msPerStep: m.msPerStep,
    trainingGflops: m.trainingGflops,
    matmulGflops: run.matmul.gflops,
    matmulFraction: m.matmulFraction,
    matmulShape: run.matmul.shape,
    flopsPerToken: m.flopsPerToken,
    flopsFormula: run.flopsFormula,
    steps: m.steps,
    warmupSteps: run.warmupSteps,
    realTokensPerStep: run.model.realTokensPerStep,
    batchSize: run.model.batchSize,
    seqLength: run.model.seqLength,
    parameters: run.model.parameters,
    trainableParameters: m.trainableParameters,
    weightBytes: run.model.weightBytes,
    rssBeforeLoadBytes: run.memory.beforeLoad?.rssBytes ?? null,
    rssAfterLoadBytes: run.memory.afterLoad?.rssBytes ?? null,
    peakRssAfterLoadBytes: run.memory.afterLoad?.peakRssBytes ?? null,
    rssAfterStepBytes: m.memoryAfterSteps?.rssBytes ?? null,
    peakRssAfterStepBytes: m.memoryAfterSteps?.peakRssBytes ?? null,
    peakRssOverWeights: m.memoryAfterSteps ? m.memoryAfterSteps.peakRssBytes / run.model.weightBytes : null,
    tensorBytesAfterLoad: run.memory.tensorBytesAfterLoad,
    wasmHeapAfterLoadBytes: run.memory.wasmHeapAfterLoadBytes,
    wasmHeapAfterStepBytes: m.wasmHeapBytes,
    gradientCheckpointing: m.gradientCheckpointing,
    activationTapeBytes: m.activations.tapeSavedBytes,
    activationForwardNumBytes: m.activations.forwardNumBytes,
    peakRssOverTwoWeightsPlusActivations: m.memoryAfterSteps ? m.memoryAfterSteps.peakRssBytes / (2 * run.model.weightBytes + m.activations.tapeSavedBytes) : null,
    loadSeconds: run.memory.loadSeconds,
    numTensorsPerStep: m.numTensorsPerStep,
    tensorsFlat: flat,
    tensorsLeaked: m.tensorsLeaked,
    lastLoss: m.lastLoss,
    kernelsPerStep: m.profile?.kernels ?? null,
    kernelMs: m.profile?.kernelMs ?? null,
    topKernels: m.profile?.top ?? null,
    gpuPerStep: m.gpuPerStep,
    learningRate: m.learningRate,
    config: m.config,
  };
}

const mb = (bytes: number | null | undefined) => (bytes == null ? '-' : (bytes / 2 ** 20).toFixed(0));

/** The table printed without --json. */
export function benchTable(run: TrainBenchResult): string {
  const head = ['method', 'tok/s', 'ms/step', 'GFLOP/s', 'matmul', 'fraction', 'peak RSS MiB', 'activations MiB', 'top kernel'];
  const rows = run.methods.map((m) => {
    const top = m.profile?.top[0];
    return [
      m.label,
      formatRate(m.tokensPerSecond),
      m.msPerStep.toFixed(0),
      formatRate(m.trainingGflops),
      formatRate(run.matmul.gflops),
      m.matmulFraction.toFixed(3),
      mb(m.memoryAfterSteps?.peakRssBytes),
      mb(m.activations.tapeSavedBytes),
      top ? `${top.name} ${top.ms.toFixed(0)} ms ×${top.calls}` : '-',
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  const m = run.model;
  return [
    `${run.preset} on ${run.backend}: ${m.parameters.toLocaleString('en-US')} params (${mb(m.weightBytes)} MiB float32), batch ${m.batchSize} × ${m.seqLength}${run.methods.some((x) => x.gradientCheckpointing) ? ', gradient checkpointing' : ''}; peak RSS after load ${mb(run.memory.afterLoad?.peakRssBytes)} MiB`,
    line(head),
    ...rows.map(line),
    `FLOPs: ${run.flopsFormula}`,
  ].join('\n');
}

export async function benchCommand(args: ParsedArgs): Promise<undefined> {
  const preset = args.flags.get('preset') ?? 'hone-tiny';
  if (!BENCH_PRESETS.some((p) => p.name === preset)) {
    throw new UsageError(`bench: unknown --preset "${preset}" (known: ${BENCH_PRESETS.map((p) => p.name).join(', ')})`);
  }
  const methods = args.flags.get('methods')?.split(',').map((s) => s.trim()).filter(Boolean);
  const profileFlag = args.flags.get('profile') ?? 'on';
  if (profileFlag !== 'on' && profileFlag !== 'off') throw new UsageError(`bench: --profile must be on or off, got "${profileFlag}"`);
  const steps = intFlag(args, 'steps', 3);
  if (steps < 1) throw new UsageError('bench: --steps must be at least 1');
  const run = await runTrainBench({
    preset,
    methods,
    steps,
    batchSize: args.flags.has('batch') ? intFlag(args, 'batch', 0) : undefined,
    seqLength: args.flags.has('seq') ? intFlag(args, 'seq', 0) : undefined,
    warmupSteps: intFlag(args, 'warmup', 1),
    seed: intFlag(args, 'seed', 1234),
    profile: profileFlag === 'on',
    gradientCheckpointing: args.switches.has('gradient-checkpointing'),
    onProgress: (line) => process.stderr.write(`[bench] ${line}\n`),
  });
  if (args.switches.has('json')) {
    for (const m of run.methods) process.stdout.write(JSON.stringify(methodLine(run, m)) + '\n');
  } else {
    process.stdout.write(benchTable(run) + '\n');
  }
  return undefined;
}
