// The bench's printed form: one row per backend, tokens/s per method, plus the matmul GFLOP/s
// measured in the same run. Pure string work, shared by the CLI and its test.
import { BENCH_METHODS, benchMethodConfig, type TrainBenchResult } from './train-bench';

/** One backend's outcome: a result, or why it could not run (unavailable, failed, timed out). */
export interface BenchRun {
  /** where it ran: 'node' or 'chromium' */
  runtime: string;
  /** the backend asked for */
  backend: string;
  result?: TrainBenchResult;
  error?: string;
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

/** tokens/s with three significant figures at most: 12.3, 123, 1234. */
export function formatRate(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** The heading line: what was trained, so a pasted table is self-describing. */
export function describeSetup(runs: readonly BenchRun[]): string {
  const result = runs.find((r) => r.result)?.result;
  const m = result?.model;
  if (!result || !m) return 'Training tokens/s — no backend produced a result';
  const model = `${result.preset}: ${m.modelType} ${m.numLayers} layers, d=${m.hiddenSize}, ${m.numHeads}/${m.numKvHeads} heads, FFN ${m.intermediateSize}, vocab ${m.vocabSize} (${m.parameters.toLocaleString('en-US')} params, random weights)`;
  const batch = `batch ${m.batchSize} × seq ${m.seqLength} (${m.realTokensPerStep} real tokens/step, first ${m.promptTokens} of each row unscored)`;
  return `Training tokens/s — ${model}; ${batch}; ${result.optimizer}`;
}

/** The table: backend × method tokens/s, GFLOP/s of a plain matmul, steps timed. */
export function formatBenchTable(runs: readonly BenchRun[]): string {
  const ran = (r: BenchRun, label: string) => r.result?.methods.some((x) => x.label === label) || r.result?.skipped.includes(label);
  const labels = BENCH_METHODS.map((m) => m.label).filter((label) => runs.some((r) => ran(r, label)));
  const shown = labels.length > 0 ? labels : BENCH_METHODS.map((m) => m.label);
  const head = ['backend', 'GFLOP/s', ...shown, 'steps'];
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const run of runs) {
    const name = `${run.runtime} ${run.backend}`;
    const r = run.result;
    if (!r) {
      rows.push([name, '-', ...shown.map(() => '-'), '-']);
      notes.push(`${name}: ${run.error ?? 'no result'}`);
      continue;
    }
    const rates = shown.map((label) => {
      const m = r.methods.find((x) => x.label === label);
      return m ? formatRate(m.tokensPerSecond) : r.skipped.includes(label) ? 'skip' : '-';
    });
    if (r.skipped.length > 0) notes.push(`${name}: ${r.skipped.join(', ')} not run: the backend's time budget ran out (--budget)`);
    rows.push([name, formatRate(r.matmul.gflops), ...rates, `${r.warmupSteps}+${r.steps}`]);
    if (r.backend !== run.backend) notes.push(`${name}: ran on tfjs backend "${r.backend}"`);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => pad(c, widths[i], i > 0)).join('  ');
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
  const methodNotes = BENCH_METHODS.filter((m) => shown.includes(m.label)).map((m) => {
    const measured = runs.flatMap((r) => r.result?.methods ?? []).find((x) => x.label === m.label);
    const lr = measured ? ` lr ${measured.learningRate}` : '';
    return `  ${m.label} = ${m.name} ${JSON.stringify(measured?.config ?? benchMethodConfig(m))}${lr}`;
  });
  const shape = runs.find((run) => run.result)?.result?.matmul.shape;
  const probe = shape ? `[${shape[0]}, ${shape[1]}] × [${shape[1]}, ${shape[2]}]` : 'the model-sized';
  out.push('', `GFLOP/s: ${probe} float32 matmuls timed to completion; steps: warm-up + timed steps per method. Methods:`, ...methodNotes);
  for (const note of notes) out.push(note);
  return out.join('\n');
}

/** Six significant digits: more than timing noise justifies, and short enough to read. */
function roundForJson(_key: string, value: unknown): unknown {
  return typeof value === 'number' && Number.isFinite(value) && !Number.isInteger(value) ? Number(value.toPrecision(6)) : value;
}

/**
 * JSON for pasting into notes: any object or array whose one-line form fits in `width` characters
 * stays on one line (one line per method result), larger ones are indented.
 */
export function formatBenchJson(value: unknown, width = 320, indent = ''): string {
  const flat = JSON.stringify(value, roundForJson);
  if (flat === undefined || flat.length <= width || typeof value !== 'object' || value === null) return flat ?? 'null';
  const inner = indent + '  ';
  if (Array.isArray(value)) {
    return `[\n${value.map((item) => inner + formatBenchJson(item, width, inner)).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${formatBenchJson(v, width, inner)}`).join(',\n')}\n${indent}}`;
}
