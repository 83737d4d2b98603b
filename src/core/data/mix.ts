// Mixing datasets into one training stream.
//
//   mixtureRates(mixture) → [{ name, rate }]        rates sum to 1
//   planStages(plan) → [{ name, firstStep, steps, rates }]   replay of earlier stages folded in
//   new MixSampler(mixture, seed, state?).next() → { source, index }; .state() for checkpoints
//   new PlanSampler(plan, seed, examplesPerStep?, state?).next() → { source, index, stage, step }
//
// Rules (rate of each instruction source):
// - 'proportional': ∝ min(size, cap), FLAN's examples-proportional mixing with its 3,000 cap
//   (Wei et al. 2021 §2.2; Raffel et al. 2020 §3.5.2 call the cap K);
// - 'temperature': ∝ min(size, cap)^(1/T), T5's temperature-scaled mixing (T = 1 is proportional,
//   large T approaches equal rates); no cap unless given;
// - 'weights': ∝ the given weight.
// Plain pretraining text takes `ratio` of all draws, shared among its sources by size, the rest
// going to the instruction sources: mixing some in keeps a model's general language modelling from
// drifting. A stage's `replay` fraction is drawn from the earlier stages' mixtures, each weighted by
// its steps, to limit forgetting what those stages taught.
// Within a source, examples come in a seeded random order, a fresh one each pass (epoch), so every
// example is seen once before any is seen twice. Samplers use src/core/rng.ts and expose their state
// for checkpoints.
import { Rng } from '../rng';

/** FLAN's per-dataset cap for examples-proportional mixing. */
export const FLAN_CAP = 3000;

export interface MixSource {
  /** unique across a mixture or plan: a dataset id or name */
  name: string;
  /** how many examples it holds */
  size: number;
}

export type MixingRule =
  | { kind: 'proportional'; cap?: number }
  | { kind: 'temperature'; temperature: number; cap?: number }
  | { kind: 'weights'; weights: Readonly<Record<string, number>> };

export interface Mixture {
  sources: readonly MixSource[];
  rule: MixingRule;
  /** plain text mixed in: `ratio` of all draws (0 ≤ ratio < 1), shared among `sources` by size */
  pretraining?: { sources: readonly MixSource[]; ratio: number };
}

export interface SourceRate {
  name: string;
  rate: number;
}

export interface Stage {
  name?: string;
  mixture: Mixture;
  steps: number;
  /** fraction of this stage's draws taken from the earlier stages' mixtures (0 ≤ replay < 1); not on the first stage */
  replay?: number;
}

export interface MixPlan {
  stages: readonly Stage[];
}

export interface PlannedStage {
  name: string;
  firstStep: number;
  steps: number;
  rates: SourceRate[];
}

export interface Draw {
  source: string;
  /** 0-based position of the example within its source */
  index: number;
}

export class MixError extends Error {
  override name = 'MixError';
}

function fail(message: string): never {
  throw new MixError(message);
}

function checkSources(sources: readonly MixSource[], what: string, names: Set<string>): void {
  for (const source of sources) {
    if (typeof source.name !== 'string' || source.name === '') fail(`${what}: every source needs a name`);
    if (names.has(source.name)) fail(`${what}: source "${source.name}" appears twice`);
    names.add(source.name);
    if (!Number.isInteger(source.size) || source.size <= 0) {
      fail(`${what}: source "${source.name}" has size ${source.size}; a source needs at least one example (a whole number)`);
    }
  }
}

function normalise(weights: number[], what: string): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  if (!(total > 0) || !Number.isFinite(total)) fail(`${what}: the weights add up to ${total}; at least one must be positive`);
  return weights.map((w) => w / total);
}

function instructionWeights(sources: readonly MixSource[], rule: MixingRule, what: string): number[] {
  switch (rule.kind) {
    case 'proportional': {
      const cap = rule.cap ?? FLAN_CAP;
      if (!(cap > 0)) fail(`${what}: cap must be positive, got ${cap}`);
      return sources.map((s) => Math.min(s.size, cap));
    }
    case 'temperature': {
      const { temperature } = rule;
      const cap = rule.cap ?? Infinity;
      if (!(temperature > 0) || !Number.isFinite(temperature)) fail(`${what}: temperature must be a positive number, got ${temperature}`);
      if (!(cap > 0)) fail(`${what}: cap must be positive, got ${cap}`);
      return sources.map((s) => Math.min(s.size, cap) ** (1 / temperature));
    }
    case 'weights': {
      const known = new Set(sources.map((s) => s.name));
      for (const name of Object.keys(rule.weights)) {
        if (!known.has(name)) fail(`${what}: weights name "${name}", which is not one of the sources (${[...known].join(', ')})`);
      }
      return sources.map((s) => {
        const w = rule.weights[s.name];
        if (w === undefined) fail(`${what}: source "${s.name}" has no weight`);
        if (!(w >= 0) || !Number.isFinite(w)) fail(`${what}: source "${s.name}" has weight ${w}; weights must be ≥ 0`);
        return w;
      });
    }
    default:
      return fail(`${what}: unknown mixing rule "${(rule as { kind: unknown }).kind}" (known: proportional, temperature, weights)`);
  }
}

/** Each source's share of draws, instruction sources first, then pretraining sources; they sum to 1. */
export function mixtureRates(mixture: Mixture, what = 'mixture'): SourceRate[] {
  if (mixture.sources.length === 0) fail(`${what}: has no sources`);
  const names = new Set<string>();
  checkSources(mixture.sources, what, names);
  const pretraining = mixture.pretraining;
  const ratio = pretraining?.ratio ?? 0;
  if (!(ratio >= 0 && ratio < 1)) fail(`${what}: pretraining ratio must be at least 0 and below 1, got ${ratio}`);
  if (pretraining) checkSources(pretraining.sources, `${what}, pretraining`, names);
  if (ratio > 0 && pretraining!.sources.length === 0) fail(`${what}: pretraining ratio is ${ratio} but there is no pretraining source`);

  const instruction = normalise(instructionWeights(mixture.sources, mixture.rule, what), what);
  const rates = mixture.sources.map((s, i) => ({ name: s.name, rate: instruction[i] * (1 - ratio) }));
  if (pretraining && pretraining.sources.length > 0) {
    const total = pretraining.sources.reduce((a, s) => a + s.size, 0);
    for (const s of pretraining.sources) rates.push({ name: s.name, rate: (ratio * s.size) / total });
  }
  return rates;
}

/** Every source of a plan once, in order of first appearance; a name must keep its size across stages. */
export function planSources(plan: MixPlan): MixSource[] {
  const byName = new Map<string, MixSource>();
  plan.stages.forEach((stage, i) => {
    for (const source of [...stage.mixture.sources, ...(stage.mixture.pretraining?.sources ?? [])]) {
      const seen = byName.get(source.name);
      if (seen && seen.size !== source.size) {
        fail(`plan stage ${i + 1}: source "${source.name}" has size ${source.size} here but ${seen.size} in an earlier stage`);
      }
      if (!seen) byName.set(source.name, source);
    }
  });
  return [...byName.values()];
}

/** The stages with their step ranges and their rates after replay. */
export function planStages(plan: MixPlan): PlannedStage[] {
  if (plan.stages.length === 0) fail('plan: has no stages');
  planSources(plan);
  const planned: PlannedStage[] = [];
  let firstStep = 0;
  plan.stages.forEach((stage, i) => {
    const what = `plan stage ${i + 1}${stage.name ? ` (“${stage.name}”)` : ''}`;
    if (!Number.isInteger(stage.steps) || stage.steps <= 0) fail(`${what}: steps must be a positive whole number, got ${stage.steps}`);
    const replay = stage.replay ?? 0;
    if (!(replay >= 0 && replay < 1)) fail(`${what}: replay must be at least 0 and below 1, got ${replay}`);
    if (i === 0 && replay > 0) fail(`${what}: replay is ${replay} but there is no earlier stage to replay`);
    const own = mixtureRates(stage.mixture, what);
    const merged = new Map<string, number>();
    for (const { name, rate } of own) merged.set(name, (1 - replay) * rate);
    if (replay > 0) {
      const earlierSteps = planned.reduce((a, p) => a + p.steps, 0);
      for (const earlier of planned) {
        for (const { name, rate } of earlier.rates) {
          merged.set(name, (merged.get(name) ?? 0) + (replay * earlier.steps * rate) / earlierSteps);
        }
      }
    }
    const rates = [...merged].map(([name, rate]) => ({ name, rate }));
    planned.push({ name: stage.name ?? `stage ${i + 1}`, firstStep, steps: stage.steps, rates });
    firstStep += stage.steps;
  });
  return planned;
}

export interface SamplerState {
  seed: number;
  rng: number;
  /** per source: completed passes and position in the current pass */
  cursors: Record<string, { epoch: number; offset: number }>;
  /** PlanSampler only: draws made so far */
  drawn?: number;
}

/** Seeded, resumable walk through each source: a fresh random order every pass. */
class SourceCursors {
  private readonly orders = new Map<string, { epoch: number; order: Uint32Array }>();
  readonly cursors = new Map<string, { epoch: number; offset: number }>();
  private readonly slots = new Map<string, number>();
  /** the seed folded to 32 bits the way Rng folds it */
  private readonly base: number;

  constructor(
    readonly sources: readonly MixSource[],
    readonly seed: number,
  ) {
    this.base = new Rng(seed).state();
    sources.forEach((s, i) => {
      this.slots.set(s.name, i);
      this.cursors.set(s.name, { epoch: 0, offset: 0 });
    });
  }

  private order(name: string, epoch: number): Uint32Array {
    const cached = this.orders.get(name);
    if (cached && cached.epoch === epoch) return cached.order;
    const source = this.sources[this.slots.get(name)!];
    // One stream per (source, pass), so resuming needs only the cursor, not the permutation.
    const rng = new Rng((this.base ^ Math.imul(this.slots.get(name)! + 1, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca6b)) >>> 0);
    const order = new Uint32Array(source.size);
    for (let i = 0; i < order.length; i++) order[i] = i;
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    this.orders.set(name, { epoch, order });
    return order;
  }

  take(name: string): number {
    const cursor = this.cursors.get(name)!;
    const index = this.order(name, cursor.epoch)[cursor.offset];
    cursor.offset++;
    if (cursor.offset === this.sources[this.slots.get(name)!].size) {
      cursor.epoch++;
      cursor.offset = 0;
    }
    return index;
  }

  restore(state: SamplerState): void {
    if (state.seed !== this.seed) fail(`sampler state was saved with seed ${state.seed}, not ${this.seed}`);
    for (const [name, cursor] of Object.entries(state.cursors)) {
      if (!this.cursors.has(name)) fail(`sampler state: source "${name}" is not in this mixture`);
      this.cursors.set(name, { ...cursor });
    }
  }

  snapshot(): Record<string, { epoch: number; offset: number }> {
    return Object.fromEntries([...this.cursors].map(([name, c]) => [name, { ...c }]));
  }
}

/** Cumulative rates for drawing a source with one uniform number. */
function cumulative(rates: readonly SourceRate[]): { names: string[]; edges: Float64Array } {
  const live = rates.filter((r) => r.rate > 0);
  const edges = new Float64Array(live.length);
  let sum = 0;
  live.forEach((r, i) => (edges[i] = sum += r.rate));
  for (let i = 0; i < edges.length; i++) edges[i] /= sum;
  edges[edges.length - 1] = 1; // rounding must never leave a gap above the last edge
  return { names: live.map((r) => r.name), edges };
}

function pick(table: { names: string[]; edges: Float64Array }, u: number): string {
  let lo = 0;
  let hi = table.edges.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (u < table.edges[mid]) hi = mid;
    else lo = mid + 1;
  }
  return table.names[lo];
}

/** Draws examples from one mixture. */
export class MixSampler {
  private readonly rng: Rng;
  private readonly cursors: SourceCursors;
  private readonly table: ReturnType<typeof cumulative>;
  readonly rates: SourceRate[];

  constructor(mixture: Mixture, seed: number, state?: SamplerState) {
    this.rates = mixtureRates(mixture);
    const sources = [...mixture.sources, ...(mixture.pretraining?.sources ?? [])];
    this.table = cumulative(this.rates);
    this.cursors = new SourceCursors(sources, seed);
    this.rng = state ? Rng.fromState(state.rng) : new Rng(seed);
    if (state) this.cursors.restore(state);
  }

  next(): Draw {
    const source = pick(this.table, this.rng.next());
    return { source, index: this.cursors.take(source) };
  }

  state(): SamplerState {
    return { seed: this.cursors.seed, rng: this.rng.state(), cursors: this.cursors.snapshot() };
  }
}

/** Draws examples through a multi-stage plan: `examplesPerStep` draws per training step. */
export class PlanSampler {
  private readonly rng: Rng;
  private readonly cursors: SourceCursors;
  private readonly tables: ReturnType<typeof cumulative>[];
  readonly stages: PlannedStage[];
  private drawn = 0;

  constructor(
    plan: MixPlan,
    seed: number,
    readonly examplesPerStep = 1,
    state?: SamplerState,
  ) {
    if (!Number.isInteger(examplesPerStep) || examplesPerStep <= 0) fail(`examplesPerStep must be a positive whole number, got ${examplesPerStep}`);
    this.stages = planStages(plan);
    this.tables = this.stages.map((s) => cumulative(s.rates));
    this.cursors = new SourceCursors(planSources(plan), seed);
    this.rng = state ? Rng.fromState(state.rng) : new Rng(seed);
    if (state) {
      this.cursors.restore(state);
      this.drawn = state.drawn ?? 0;
    }
  }

  get totalSteps(): number {
    const last = this.stages[this.stages.length - 1];
    return last.firstStep + last.steps;
  }

  next(): Draw & { stage: number; step: number } {
    const step = Math.floor(this.drawn / this.examplesPerStep);
    if (step >= this.totalSteps) fail(`the plan's ${this.totalSteps} steps are all drawn`);
    let stage = 0;
    while (step >= this.stages[stage].firstStep + this.stages[stage].steps) stage++;
    const source = pick(this.tables[stage], this.rng.next());
    this.drawn++;
    return { source, index: this.cursors.take(source), stage, step };
  }

  state(): SamplerState {
    return { seed: this.cursors.seed, rng: this.rng.state(), cursors: this.cursors.snapshot(), drawn: this.drawn };
  }
}
