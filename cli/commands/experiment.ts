// `experiment flan [--quick] [--model DIR] --out REPORT.json`: FLAN in miniature on hone-tiny
// (src/core/experiment/flan.ts). Prints a summary table on stderr and a summary JSON on stdout;
// the whole report (per-example outputs included) goes to --out.
import { writeFileSync } from 'node:fs';
import { Decoder } from '../../src/core/model/decoder';
import { loadCheckpoint } from '../../src/core/model/checkpoint';
import { runFlanExperiment, type FlanReport } from '../../src/core/experiment/flan';
import { flanConfig } from '../../src/core/experiment/presets';
import { UsageError, intFlag, required, type ParsedArgs } from '../args';
import { readModelDir } from '../read-model-dir';

export async function experimentCommand(args: ParsedArgs): Promise<unknown> {
  const name = args.positional[0];
  if (name !== 'flan') throw new UsageError(`experiment: the only experiment is "flan", got ${JSON.stringify(name ?? '')}`);
  const out = required(args, 'out');
  const modelDir = args.flags.get('model') ?? 'public/models/hone-tiny';
  const config = { ...flanConfig(args.switches.has('quick') ? 'quick' : 'full') };
  const heldOut = args.flags.get('held-out');
  if (heldOut) config.heldOut = heldOut.split(',').map((s) => s.trim());
  // overrides for trying settings out; the report records the config it ran with
  for (const [flag, key] of [['steps', 'steps'], ['train-per-cluster', 'trainPerCluster'], ['eval-per-cluster', 'evalPerCluster']] as const) {
    if (args.flags.has(flag)) config[key] = intFlag(args, flag, config[key]);
  }
  const sweep = args.flags.get('sweep');
  if (sweep !== undefined) config.sweep = sweep === '' ? [] : sweep.split(',').map(Number);
  if (config.sweep.some((n) => !Number.isInteger(n) || n <= 0)) throw new UsageError('experiment: --sweep takes positive integers, e.g. 1,4');
  if (args.flags.get('ablation') === 'off') config.ablation = false;
  const checkpoint = loadCheckpoint(await readModelDir(modelDir));
  const decoder = Decoder.fromHost(checkpoint.config, checkpoint.weights);
  try {
    const report = await runFlanExperiment(decoder, checkpoint.tokenizer, config, {
      onProgress: (p) => {
        if (p.step === undefined || p.step % 25 === 0 || p.step === p.totalSteps) {
          process.stderr.write(`${p.stage}${p.step !== undefined ? ` step ${p.step}/${p.totalSteps} loss ${p.loss?.toFixed(3)}` : ''}\n`);
        }
      },
    });
    writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
    process.stderr.write(table(report));
    return summary(report, out);
  } finally {
    decoder.dispose();
  }
}

const pct = (v: number): string => v.toFixed(1).padStart(6);

function table(r: FlanReport): string {
  const fewShot = r.baseFewShot ? `base ${r.config.shots}-shot` : 'few-shot   '; // the column stays, empty, when the preset skips it
  const lines = ['', `held-out cluster      base 0-shot  ${fewShot}  tuned (${r.tuned.method})  ${r.efficient.method}`];
  for (const c of r.heldOut) {
    lines.push(`${c.padEnd(22)}${pct(r.base.perCluster[c])}      ${r.baseFewShot ? pct(r.baseFewShot.perCluster[c]) : '     -'}      ${pct(r.tuned.perCluster[c])}        ${pct(r.efficient.perCluster[c])}`);
  }
  lines.push(`${'overall'.padEnd(22)}${pct(r.base.overall)}      ${r.baseFewShot ? pct(r.baseFewShot.overall) : '     -'}      ${pct(r.tuned.overall)}        ${pct(r.efficient.overall)}`);
  const ci = r.tuned.vsBase.overall;
  lines.push(`tuned − base: ${ci.mean.toFixed(1)} points (95% CI ${ci.low.toFixed(1)} … ${ci.high.toFixed(1)})`);
  lines.push(`${r.efficient.method}: ${r.efficient.trainable} trainable parameters (${r.efficient.trainablePercent.toFixed(3)}%)`);
  if (r.ablation.length) lines.push(`ablation: ${r.ablation.map((a) => `${a.rendering} ${a.overall.toFixed(1)}`).join(' · ')}`);
  lines.push(`sweep: ${r.sweep.map((s) => `${s.clusters} clusters ${s.overall.toFixed(1)}`).join(' · ')}`);
  lines.push(`took ${(r.seconds / 60).toFixed(1)} min`, '');
  return lines.join('\n');
}

function summary(r: FlanReport, out: string): Record<string, unknown> {
  return {
    out,
    heldOut: r.heldOut,
    base: { overall: r.base.overall, perCluster: r.base.perCluster },
    baseFewShot: r.baseFewShot ? { overall: r.baseFewShot.overall } : null,
    tuned: { method: r.tuned.method, overall: r.tuned.overall, perCluster: r.tuned.perCluster, vsBase: r.tuned.vsBase.overall },
    efficient: { method: r.efficient.method, overall: r.efficient.overall, trainablePercent: r.efficient.trainablePercent },
    ablation: r.ablation.map((a) => ({ rendering: a.rendering, overall: a.overall })),
    sweep: r.sweep.map((s) => ({ clusters: s.clusters, overall: s.overall })),
    seconds: r.seconds,
  };
}
