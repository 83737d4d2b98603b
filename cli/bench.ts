// `npm run bench`: training tokens/s of the PEFT methods on every backend this machine reaches, on
// one preset shape (src/core/bench/presets.ts; default hone-tiny), with each backend's plain matmul
// GFLOP/s for scale and, on WebGPU, dispatches and readbacks per step (src/core/bench does the work).
// Node backends (cpu, wasm) run in this process. Browser backends (webgpu, webgl, wasm) run in the
// studio worker of the built app (.bench-dist, built by the npm script) in headless Chromium: one
// fresh page per backend with ?backend=…, since a worker's backend is fixed once chosen.
//   node --import tsx cli/bench.ts [--preset hone-tiny|small|gpt2-small|smollm2-135m|smoke|micro]
//        [--backends cpu,wasm,webgpu,webgl,chromium-wasm] [--steps N] [--warmup N] [--methods lora,ia3,…]
//        [--budget SECONDS] [--dist DIR] [--timeout SECONDS] [--profile on|off] [--json-only]
// stdout: the table, then the JSON (only the JSON with --json-only); progress goes to stderr.
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type {} from '../src/studio-client'; // brings the `window.hone` declaration
import { runTrainBench, type TrainBenchOptions, type TrainBenchResult } from '../src/core/bench/train-bench';
import { describeSetup, formatBenchJson, formatBenchTable, type BenchRun } from '../src/core/bench/report';
import { benchPreset } from '../src/core/bench/presets';
import { setNodeBackend } from './node-backend';

const root = fileURLToPath(new URL('../', import.meta.url));

interface Target {
  runtime: 'node' | 'chromium';
  backend: 'cpu' | 'wasm' | 'webgpu' | 'webgl';
  /** warm-up + timed steps unless --warmup / --steps say otherwise */
  warmupSteps: number;
  steps: number;
  /** seconds after which no further method starts, unless --budget says otherwise */
  budgetSeconds?: number;
  /** profile one step per method unless --profile says otherwise (default true) */
  profile?: boolean;
}

// Step counts for the default preset (hone-tiny, 8 × 128 tokens a step) on 2 shared cores. Measured
// here at HEAD ec0a545: Node wasm 1.1 s (LoRA) to 1.9 s (full) a step; WebGPU on SwiftShader 37 s a
// LoRA step after a warm-up step of ~40 s (shader compilation), so it gets one timed step, no
// profile (tf.profile submits every kernel on its own there) and a budget that may leave the last
// methods out on a busy machine. Smaller presets (--preset smoke) run far faster.
const TARGETS: Record<string, Target> = {
  cpu: { runtime: 'node', backend: 'cpu', warmupSteps: 1, steps: 1 },
  wasm: { runtime: 'node', backend: 'wasm', warmupSteps: 1, steps: 3 },
  webgpu: { runtime: 'chromium', backend: 'webgpu', warmupSteps: 1, steps: 1, budgetSeconds: 480, profile: false },
  webgl: { runtime: 'chromium', backend: 'webgl', warmupSteps: 1, steps: 2 },
  'chromium-wasm': { runtime: 'chromium', backend: 'wasm', warmupSteps: 1, steps: 3 },
};
const ALIASES: Record<string, string> = { 'node-cpu': 'cpu', 'node-wasm': 'wasm', 'browser-wasm': 'chromium-wasm' };

interface Options {
  preset: string;
  /** --profile on|off; undefined: each target's own default */
  profile?: boolean;
  targets: Target[];
  steps?: number;
  warmup?: number;
  budget?: number;
  methods?: string[];
  dist: string;
  timeoutSeconds: number;
  jsonOnly: boolean;
}

const USAGE =
  'usage: node --import tsx cli/bench.ts [--preset hone-tiny|small|gpt2-small|smollm2-135m|smoke|micro] [--profile on|off] ' +
  '[--backends cpu,wasm,webgpu,webgl,chromium-wasm] [--steps N] [--warmup N] ' +
  '[--methods lora,ia3,prefix,prompt,adapter,full,freeze] [--budget SECONDS per backend] [--dist DIR] [--timeout SECONDS per browser backend] [--json-only]';

function parseOptions(argv: string[]): Options {
  const options: Options = {
    preset: 'hone-tiny',
    targets: Object.values(TARGETS),
    dist: resolve(root, '.bench-dist'),
    timeoutSeconds: 900,
    jsonOnly: false,
  };
  const count = (flag: string, raw: string | undefined, min: number): number => {
    const value = Number(raw);
    if (raw === undefined || !Number.isInteger(value) || value < min) throw new Error(`${flag} needs an integer ≥ ${min}, got ${JSON.stringify(raw ?? null)}\n${USAGE}`);
    return value;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value\n${USAGE}`);
      return v;
    };
    if (arg === '--json-only') options.jsonOnly = true;
    else if (arg === '--steps') options.steps = count(arg, value(), 1);
    else if (arg === '--warmup') options.warmup = count(arg, value(), 0);
    else if (arg === '--budget') options.budget = count(arg, value(), 1);
    else if (arg === '--timeout') options.timeoutSeconds = count(arg, value(), 1);
    else if (arg === '--dist') options.dist = resolve(value());
    else if (arg === '--preset') options.preset = benchPreset(value()).name; // unknown → the list of known ones
    else if (arg === '--profile') {
      const v = value();
      if (v !== 'on' && v !== 'off') throw new Error(`--profile must be on or off, got "${v}"\n${USAGE}`);
      options.profile = v === 'on';
    }
    else if (arg === '--methods') options.methods = value().split(',').filter(Boolean);
    else if (arg === '--backends') {
      options.targets = value()
        .split(',')
        .filter(Boolean)
        .map((name) => {
          const target = TARGETS[ALIASES[name] ?? name];
          if (!target) throw new Error(`--backends: unknown backend "${name}" (known: ${Object.keys(TARGETS).join(', ')})`);
          return target;
        });
      if (options.targets.length === 0) throw new Error(`--backends: give at least one backend\n${USAGE}`);
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    } else throw new Error(`unknown option ${arg}\n${USAGE}`);
  }
  return options;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function benchOptions(target: Target, options: Options): Omit<TrainBenchOptions, 'onProgress'> {
  return {
    warmupSteps: options.warmup ?? target.warmupSteps,
    steps: options.steps ?? target.steps,
    timeBudgetSeconds: options.budget ?? target.budgetSeconds,
    methods: options.methods,
    preset: options.preset,
    profile: options.profile ?? target.profile ?? true,
  };
}

async function runNode(target: Target, options: Options, progress: (line: string) => void): Promise<BenchRun> {
  const run: BenchRun = { runtime: 'node', backend: target.backend };
  try {
    await setNodeBackend(target.backend as 'cpu' | 'wasm');
    run.result = await runTrainBench({ ...benchOptions(target, options), onProgress: (line) => progress(`node ${line}`) });
  } catch (error) {
    run.error = `failed: ${message(error)}`;
  }
  return run;
}

function findChromium(): string | null {
  const candidates = [process.env.CHROME_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => Boolean(p));
  return candidates.find((p) => existsSync(p)) ?? null;
}

/** Every Chromium target in one browser, each in a fresh context (fresh worker, fresh backend). */
async function runChromium(targets: Target[], options: Options, progress: (line: string) => void): Promise<BenchRun[]> {
  const unavailable = (reason: string) => targets.map((t): BenchRun => ({ runtime: 'chromium', backend: t.backend, error: `unavailable: ${reason}` }));
  const executablePath = findChromium();
  if (!executablePath) return unavailable('Chromium not found (install chromium or set CHROME_PATH)');
  if (!existsSync(`${options.dist}/index.html`)) return unavailable(`${options.dist}/index.html is missing: build first (npm run bench does)`);
  const { chromium } = await import('playwright-core');
  const { preview } = await import('vite');
  // The COOP/COEP headers wasm threads need come from vite.config.ts's `preview.headers`.
  const server = await preview({
    root,
    logLevel: 'warn',
    build: { outDir: options.dist },
    preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false },
  });
  const browser = await chromium
    .launch({
      executablePath,
      headless: true,
      // the flags tests/browser/run.ts uses: WebGPU on SwiftShader needs --enable-unsafe-webgpu
      args: ['--enable-unsafe-webgpu', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    })
    .catch(async (error: unknown) => {
      await server.close();
      throw error;
    });
  const runs: BenchRun[] = [];
  try {
    const address = server.httpServer.address() as AddressInfo | null;
    if (!address || typeof address === 'string') throw new Error('vite preview did not report a TCP address');
    const baseUrl = `http://127.0.0.1:${address.port}/`;
    progress(`Chromium ${browser.version()} at ${executablePath}; app at ${baseUrl}`);
    for (const target of targets) {
      const run: BenchRun = { runtime: 'chromium', backend: target.backend };
      runs.push(run);
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        page.on('worker', (worker) =>
          worker.on('console', (msg) => {
            const text = msg.text();
            if (text.startsWith('[bench] ')) progress(`chromium ${text.slice(8)}`);
            else if (msg.type() === 'error') progress(`chromium ${target.backend} worker error: ${text.split('\n')[0]}`);
          }),
        );
        await page.goto(`${baseUrl}?backend=${target.backend}`);
        await page.waitForFunction(() => window.hone !== undefined, undefined, { timeout: 60_000 });
        const report = await page.evaluate(() => window.hone!.init()); // the page's own init call's report
        if (report.chosen !== target.backend) {
          const candidate = report.candidates.find((c) => c.name === target.backend);
          run.error = `unavailable: ${candidate?.reason ?? report.note ?? `the worker chose ${report.chosen}`}`;
          continue;
        }
        const opts = { ...benchOptions(target, options), log: true };
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${options.timeoutSeconds} s (--timeout)`)), options.timeoutSeconds * 1000);
        });
        try {
          run.result = await Promise.race([page.evaluate((o) => window.hone!.remote.benchTraining(o) as Promise<TrainBenchResult>, opts), timeout]);
        } finally {
          clearTimeout(timer);
        }
      } catch (error) {
        run.error = `failed: ${message(error).split('\n')[0]}`;
      } finally {
        await context.close().catch(() => {}); // ends the worker, also one still busy after a timeout
      }
    }
  } finally {
    await browser.close().catch(() => {});
    await server.close().catch(() => {});
  }
  return runs;
}

async function main(argv: string[]): Promise<void> {
  const options = parseOptions(argv);
  // stdout carries only the table and the JSON; tfjs's Node banner and warnings go to stderr.
  console.log = (...parts: unknown[]) => console.error(...parts);
  console.warn = (...parts: unknown[]) => console.error(...parts);
  const started = Date.now();
  const progress = (line: string) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);

  // Timings on a shared machine say little without its load: recorded with the results.
  const loadAtStart = loadavg()[0];
  const runs: BenchRun[] = [];
  for (const target of options.targets.filter((t) => t.runtime === 'node')) runs.push(await runNode(target, options, progress));
  const browserTargets = options.targets.filter((t) => t.runtime === 'chromium');
  if (browserTargets.length > 0) {
    try {
      runs.push(...(await runChromium(browserTargets, options, progress)));
    } catch (error) {
      for (const t of browserTargets) runs.push({ runtime: 'chromium', backend: t.backend, error: `failed: ${message(error)}` });
    }
  }

  const host = { cpus: cpus().length, loadAverageAtStart: round2(loadAtStart), loadAverageAtEnd: round2(loadavg()[0]), node: process.version };
  const hostLine = `Host: ${host.cpus} CPU cores, 1-minute load average ${host.loadAverageAtStart} at start, ${host.loadAverageAtEnd} at end; Node ${host.node}`;
  const json = formatBenchJson({ setup: describeSetup(runs), host, seconds: (Date.now() - started) / 1000, runs });
  if (!options.jsonOnly) process.stdout.write(`${describeSetup(runs)}\n${hostLine}\n\n${formatBenchTable(runs)}\n\n`);
  process.stdout.write(json + '\n');
  if (!runs.some((r) => r.result)) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`bench: ${message(error)}\n`);
    process.exit(1);
  });
}
