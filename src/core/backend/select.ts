// Chooses the tfjs backend by measuring, not by guessing.
// PLATFORM.md measured that the "obvious" order is wrong on machines without a GPU: WebGPU on
// SwiftShader was ~10× slower than wasm, and webgl on SwiftShader beat it too. So every available
// candidate runs the same small decoder-shaped workload and the fastest wins, unless the user pins
// one. Everything environment-specific (is WebGPU there, switching backends, the clock) is injected,
// so this file has no DOM use and no tfjs value import: it runs in the worker, in Node and in tests.
import type * as tfTypes from '@tensorflow/tfjs';

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** Fastest first on real GPUs; also the order candidates are listed in the report. */
export const BACKEND_NAMES: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

export function isBackendName(value: unknown): value is BackendName {
  return typeof value === 'string' && (BACKEND_NAMES as readonly string[]).includes(value);
}

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  description: string;
  /** true for software adapters (SwiftShader): WebGPU works but is no faster than the CPU */
  isFallbackAdapter: boolean;
}

export interface CandidateReport {
  name: BackendName;
  available: boolean;
  /** median milliseconds of one workload run; absent when not measured */
  ms?: number;
  /** why this candidate was not chosen (absent on the chosen one) */
  reason?: string;
}

export interface BackendReport {
  chosen: BackendName;
  /** true when the user's pin decided, not the measurement */
  pinned: boolean;
  adapter?: AdapterSummary;
  candidates: CandidateReport[];
  /** set when a pin could not be honoured and the measured choice was used instead */
  note?: string;
}

/** What the environment must provide: availability checks, switching, timing. */
export interface BackendEnvironment {
  /** null when usable, else a reason for people ("navigator.gpu missing", "WebGL2 context failed") */
  unavailableReason(name: BackendName): Promise<string | null>;
  /** makes `name` the active backend; false or a throw means it failed to initialise */
  activate(name: BackendName): Promise<boolean>;
  /**
   * milliseconds for one representative workload run on the active backend (median of reps); may
   * stop early and return a single run's time once a run takes longer than `giveUpAboveMs`
   */
  measure(name: BackendName, options: { giveUpAboveMs?: number }): Promise<number>;
  /** adapter details once webgpu is known to be available */
  adapter?(): Promise<AdapterSummary | undefined>;
}

export interface SelectOptions {
  /** the user's choice; undefined or 'auto' means measure and pick the fastest */
  pin?: BackendName | 'auto';
  candidates?: readonly BackendName[];
}

/** A candidate whose timed run takes this many times the best median so far is not timed further. */
export const GIVE_UP_FACTOR = 3;

/** ms for people: "41 ms", "3.2 ms", "0.41 ms". */
export function formatMs(ms: number): string {
  if (ms >= 10) return `${Math.round(ms)} ms`;
  if (ms >= 1) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Checks each candidate, measures the available ones (only the pinned one when pinned), activates
 * the winner and says why each other candidate was passed over. Throws only when nothing works.
 */
export async function selectBackend(env: BackendEnvironment, options: SelectOptions = {}): Promise<BackendReport> {
  const names = options.candidates ?? BACKEND_NAMES;
  const pin = options.pin === 'auto' ? undefined : options.pin;
  const reports = new Map<BackendName, CandidateReport>();
  for (const name of names) {
    const reason = await env.unavailableReason(name).catch((err: unknown) => errorText(err));
    reports.set(name, reason === null ? { name, available: true } : { name, available: false, reason: `unavailable: ${reason}` });
  }

  // Measuring makes the backend active; a backend that fails to start counts as unavailable.
  const measureOne = async (name: BackendName, giveUpAboveMs?: number): Promise<boolean> => {
    const report = reports.get(name)!;
    try {
      if (!(await env.activate(name))) {
        Object.assign(report, { available: false, reason: 'unavailable: tfjs could not initialise it (see the console)' });
        return false;
      }
      report.ms = await env.measure(name, giveUpAboveMs === undefined ? {} : { giveUpAboveMs });
      return true;
    } catch (err) {
      Object.assign(report, { available: false, reason: `unavailable: ${errorText(err)}` });
      return false;
    }
  };

  let note: string | undefined;
  if (pin !== undefined) {
    const pinned = reports.get(pin);
    if (pinned === undefined) {
      note = `pinned backend "${pin}" is not one of the candidates (${names.join(', ')}); chose by measurement instead`;
    } else if (pinned.available && (await measureOne(pin))) {
      for (const other of reports.values()) {
        if (other.name !== pin && other.available) other.reason = `not measured: pinned to ${pin}`;
      }
      return finish(env, pin, true, reports, undefined);
    } else {
      note = `pinned backend "${pin}" ${pinned.reason ?? 'is unavailable'}; chose by measurement instead`;
    }
  }

  // wasm first: it starts in a fraction of a second and is rarely far from the best, so a backend
  // that is clearly slower (SwiftShader WebGPU: ~60× here) can be given up on after one timed run
  // instead of costing the user several seconds at every start.
  const order = [...reports.values()].sort((a, b) => Number(b.name === 'wasm') - Number(a.name === 'wasm'));
  let bestMs = Infinity;
  for (const report of order) {
    if (!report.available || report.ms !== undefined || report.name === pin) continue;
    const giveUpAboveMs = Number.isFinite(bestMs) ? GIVE_UP_FACTOR * bestMs : undefined;
    if (await measureOne(report.name, giveUpAboveMs)) bestMs = Math.min(bestMs, report.ms!);
  }
  const measured = [...reports.values()].filter((r) => r.available && r.ms !== undefined);
  if (measured.length === 0) {
    const why = [...reports.values()].map((r) => `${r.name}: ${r.reason ?? 'unknown'}`).join('; ');
    throw new Error(`No tfjs backend could run here (${why}). Try another browser, or enable WebGL/WebAssembly.`);
  }
  // Stable: on equal times the earlier candidate (the more GPU-like one) wins.
  const best = measured.reduce((a, b) => (b.ms! < a.ms! ? b : a));
  for (const report of measured) {
    if (report !== best) report.reason = `slower: ${formatMs(report.ms!)} vs ${formatMs(best.ms!)}`;
  }
  return finish(env, best.name, false, reports, note);
}

async function finish(
  env: BackendEnvironment,
  chosen: BackendName,
  pinned: boolean,
  reports: Map<BackendName, CandidateReport>,
  note: string | undefined,
): Promise<BackendReport> {
  // The last measured backend is active; switch back to the winner.
  if (!(await env.activate(chosen))) throw new Error(`Backend "${chosen}" worked while measuring but failed to start again`);
  const webgpu = reports.get('webgpu');
  const adapter = webgpu?.available && env.adapter ? await env.adapter() : undefined;
  const report: BackendReport = { chosen, pinned, candidates: [...reports.values()] };
  if (adapter) report.adapter = adapter;
  if (note) report.note = note;
  return report;
}

/**
 * The backend in `report` stopped working (a lost WebGPU device): moves to the next fastest one.
 * Candidates measured at the start are tried fastest first, without measuring again; when none was
 * measured (the lost one was pinned) the remaining available ones are measured now, as at the start.
 * The lost backend stays in the report, unavailable, saying why; the result is never pinned.
 */
export async function selectFallback(env: BackendEnvironment, report: BackendReport, lost: BackendName, cause: string): Promise<BackendReport> {
  const others = report.candidates.filter((c) => c.name !== lost && c.available);
  const lostEntry: CandidateReport = { ...(report.candidates.find((c) => c.name === lost) ?? { name: lost }), available: false, reason: `lost: ${cause}` };
  const candidates = new Map<BackendName, CandidateReport>(report.candidates.map((c) => [c.name, { ...c }]));
  candidates.set(lost, lostEntry);
  let chosen: BackendName | null = null;
  const measured = others.filter((c) => c.ms !== undefined).sort((a, b) => a.ms! - b.ms!);
  for (const candidate of measured) {
    const ok = await env.activate(candidate.name).catch(() => false);
    if (ok) {
      chosen = candidate.name;
      break;
    }
    candidates.set(candidate.name, { ...candidate, available: false, reason: 'unavailable: tfjs could not initialise it (see the console)' });
  }
  let how = 'the next fastest measured';
  if (chosen === null) {
    const rest = others.filter((c) => candidates.get(c.name)!.available).map((c) => c.name);
    if (rest.length === 0) throw new Error(`${lost} stopped working (${cause}) and no other backend is available here; reload the page.`);
    const remeasured = await selectBackend(env, { candidates: rest });
    for (const c of remeasured.candidates) candidates.set(c.name, c);
    chosen = remeasured.chosen;
    how = 'the fastest of the others, measured now';
  }
  const best = candidates.get(chosen)!;
  delete best.reason;
  for (const c of candidates.values()) {
    if (c.name !== chosen && c.available && c.ms !== undefined) c.reason = best.ms !== undefined ? `slower: ${formatMs(c.ms)} vs ${formatMs(best.ms)}` : 'not chosen';
  }
  const next: BackendReport = {
    chosen,
    pinned: false,
    candidates: [...candidates.values()],
    note: `${lost} stopped working (${cause}); switched to ${chosen}, ${how}`,
  };
  if (report.adapter) next.adapter = report.adapter;
  return next;
}

/**
 * A restarted worker goes back to the backend its predecessor ran on, without measuring again; the
 * report stays the one the user saw. Should that backend no longer start, the next fastest is used.
 */
export async function restoreSelection(env: BackendEnvironment, previous: BackendReport): Promise<BackendReport> {
  const ok = await env.activate(previous.chosen).catch(() => false);
  if (ok) return previous;
  return selectFallback(env, previous, previous.chosen, 'it could not start again in the restarted worker');
}

export interface WorkloadShape {
  /** sequence length of the fake batch */
  tokens: number;
  /** model width; 64 is the size of the tiny models Hone starts with */
  hidden: number;
  heads: number;
  layers: number;
  vocab: number;
}

// Small enough to run in ~100 ms on SwiftShader WebGPU, big enough that per-op overhead and
// matmul speed both show: the two things that decide which backend generates text faster.
export const DEFAULT_WORKLOAD: WorkloadShape = { tokens: 32, hidden: 64, heads: 4, layers: 2, vocab: 512 };

type Tf = typeof tfTypes;

/**
 * Builds a decoder-shaped forward pass (attention + MLP blocks + LM head) with fixed random
 * weights and returns a function that runs it once and reads the logits back (so GPU backends are
 * timed to completion; async because WebGPU's dataSync is slow and warns). Call `dispose` when done.
 */
export function buildWorkload(tf: Tf, shape: WorkloadShape = DEFAULT_WORKLOAD): { run: () => Promise<void>; dispose: () => void } {
  const { tokens: T, hidden: d, heads, layers, vocab } = shape;
  const hs = d / heads;
  const weights = tf.tidy(() => {
    const init = (dims: number[], seed: number) => tf.randomNormal(dims, 0, 0.02, 'float32', seed);
    return {
      x: init([1, T, d], 1), // [B, T, d]
      blocks: Array.from({ length: layers }, (_, i) => ({
        qkv: init([d, 3 * d], 10 + i),
        proj: init([d, d], 20 + i),
        up: init([d, 4 * d], 30 + i),
        down: init([4 * d, d], 40 + i),
      })),
      head: init([d, vocab], 50),
      mask: tf.linalg.bandPart(tf.ones([T, T]), -1, 0).sub(1).mul(1e9), // [T, T] 0 below diagonal, −1e9 above
    };
  });
  const run = async () => {
    const logits = tf.tidy(() => {
      let x = weights.x.reshape([T, d]); // [T, d]
      for (const block of weights.blocks) {
        const qkv = tf.matMul(x, block.qkv).reshape([T, 3, heads, hs]).transpose([1, 2, 0, 3]); // [3, nh, T, hs]
        const [q, k, v] = tf.unstack(qkv); // each [nh, T, hs]
        const scores = tf.matMul(q, k, false, true).mul(1 / Math.sqrt(hs)).add(weights.mask); // [nh, T, T]
        const attended = tf.matMul(tf.softmax(scores), v).transpose([1, 0, 2]).reshape([T, d]); // [T, d]
        x = x.add(tf.matMul(attended, block.proj));
        x = x.add(tf.matMul(tf.relu(tf.matMul(x, block.up)), block.down)); // [T, d]
      }
      return tf.matMul(x, weights.head); // [T, vocab]
    });
    await logits.data();
    logits.dispose();
  };
  const dispose = () => {
    tf.dispose([weights.x, weights.head, weights.mask, ...weights.blocks.flatMap((b) => [b.qkv, b.proj, b.up, b.down])]);
  };
  return { run, dispose };
}

/**
 * Median ms of `reps` runs after `warmup` runs (the first run compiles shaders on GPU backends).
 * A timed run slower than `giveUpAboveMs` ends the measurement with that run's time.
 */
export async function timeWorkload(
  tf: Tf,
  now: () => number,
  options: { warmup?: number; reps?: number; shape?: WorkloadShape; giveUpAboveMs?: number } = {},
): Promise<number> {
  const { warmup = 2, reps = 5, shape, giveUpAboveMs = Infinity } = options;
  const workload = buildWorkload(tf, shape);
  try {
    for (let i = 0; i < warmup; i++) await workload.run();
    const times: number[] = [];
    for (let i = 0; i < reps; i++) {
      const start = now();
      await workload.run();
      const ms = now() - start;
      if (ms > giveUpAboveMs) return ms;
      times.push(ms);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)];
  } finally {
    workload.dispose();
  }
}
