// Shaping stored datasets into new ones: mixtures, staged plans and augmentation. Each is written
// as ONE new dataset by one createDataset transaction (all or nothing) and carries a `recipe` on its
// dataset record saying how it was made, so it can be read back and made again.
//
//   previewMix(db, spec) → MixPreview            rates and expected counts; reads dataset records only
//   mixDatasets(db, spec) → DatasetRecord         `total` examples drawn by MixSampler (mix.ts)
//   previewPlan(db, spec) → PlanPreview           stages with step ranges and rates after replay
//   planDatasets(db, spec) → DatasetRecord        steps × examplesPerStep examples drawn by PlanSampler
//   augmentDataset(db, datasetId, spec) → DatasetRecord   in shaping-augment.ts (inversion, paraphrase)
//   previewTemplates(db, datasetId, request)             in shaping-preview.ts (the template preview)
//
// A plan is stored as one dataset whose examples are in draw order, each tagged "stage:<n>" (1-based):
// a trainer reading examplesPerStep examples per step in position order follows the plan's stages,
// replay included, and the whole plan stays one thing to pick, export or delete. Mixed examples are
// tagged "from:<dataset id>" (and "pretraining" for plain text mixed in); tags this module sets are
// replaced, not stacked, when a shaped dataset is shaped again.
// Every spec is checked, and every source dataset read, before anything is written: a bad spec
// throws ShapeError naming the field and leaves the store exactly as it was.
import { createDataset, getDataset, type DatasetRecord, type ExampleInput, type ExampleRecord, type HoneDb, type Split } from '../store';
import { prefixRange } from '../store/transaction';
import { FLAN_CAP, MixError, MixSampler, mixtureRates, PlanSampler, planStages, type Mixture, type MixingRule, type SourceRate } from './mix';
import { SPLITS } from './record';
import type { AugmentRecipe, AugmentSpec } from './shaping-augment';

export class ShapeError extends Error {
  override name = 'ShapeError';
}

/** Most examples one shaping call writes: a larger mixture would not fit a browser tab's memory. */
export const MAX_SHAPED_EXAMPLES = 500_000;
export const FROM_TAG_PREFIX = 'from:';
export const STAGE_TAG_PREFIX = 'stage:';
export const PRETRAINING_TAG = 'pretraining';

export interface MixSourceSpec {
  datasetId: string;
  /** only this split of the dataset; all of its examples when absent */
  split?: Split;
}

export type MixRuleSpec =
  /** rate ∝ min(size, cap); cap defaults to FLAN's 3,000 (Infinity: no cap) */
  | { kind: 'proportional'; cap?: number }
  /** rate ∝ min(size, cap)^(1/T); no cap unless given */
  | { kind: 'temperature'; temperature: number; cap?: number }
  /** rate ∝ weight, one weight per source in the order of `sources` */
  | { kind: 'weights'; weights: readonly number[] };

export interface MixtureSpec {
  sources: readonly MixSourceSpec[];
  rule: MixRuleSpec;
  /** plain text mixed in as a regularizer: `ratio` of all examples (0 ≤ ratio < 1) */
  pretraining?: MixSourceSpec & { ratio: number };
}

export interface MixSpec extends MixtureSpec {
  /** the new dataset's name */
  name: string;
  /** examples to draw */
  total: number;
  seed: number;
}

export interface PlanStageSpec extends MixtureSpec {
  name?: string;
  steps: number;
  /** fraction of this stage's examples drawn from the earlier stages' mixtures (0 ≤ replay < 1) */
  replay?: number;
}

export interface PlanSpec {
  name: string;
  stages: readonly PlanStageSpec[];
  /** examples per training step (the batch size the plan is for) */
  examplesPerStep: number;
  seed: number;
}

/** One source's share of a mixture, for the preview and the recipe. */
export interface SourceShare {
  datasetId: string;
  datasetName: string;
  split?: Split;
  role: 'instruction' | 'pretraining';
  /** examples it holds (in its split) */
  size: number;
  rate: number;
  /** rate × examples drawn */
  expected: number;
  /** examples actually drawn (recipes only) */
  drawn?: number;
}

export interface MixPreview {
  total: number;
  sources: SourceShare[];
}

export interface PlannedStagePreview {
  name: string;
  firstStep: number;
  steps: number;
  examples: number;
  replay: number;
  sources: SourceShare[];
}

export interface PlanPreview {
  totalSteps: number;
  total: number;
  stages: PlannedStagePreview[];
}

export interface MixRecipe {
  kind: 'mix';
  spec: MixSpec;
  sources: SourceShare[];
}

export interface PlanRecipe {
  kind: 'plan';
  spec: PlanSpec;
  stages: PlannedStagePreview[];
}

export type ShapeRecipe = MixRecipe | PlanRecipe | AugmentRecipe;
export type { AugmentRecipe, AugmentSpec };

/** The recipe of a shaped dataset, or undefined for an imported one. */
export function recipeOf(dataset: Pick<DatasetRecord, 'recipe'>): ShapeRecipe | undefined {
  return dataset.recipe as ShapeRecipe | undefined;
}

function fail(message: string): never {
  throw new ShapeError(message);
}

// ---- checking specs (before any read or write) -------------------------------------------------

export function checkName(name: unknown, what: string): string {
  if (typeof name !== 'string' || name.trim() === '') fail(`${what}: give the new dataset a name`);
  return name.trim();
}

export function checkSeed(seed: unknown, what: string): void {
  if (typeof seed !== 'number' || !Number.isFinite(seed)) fail(`${what}: seed must be a number, got ${String(seed)}`);
}

export function checkWhole(value: unknown, what: string, field: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) fail(`${what}: ${field} must be a whole number ≥ ${min}, got ${String(value)}`);
  return value;
}

function checkFraction(value: unknown, what: string, field: string): void {
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) fail(`${what}: ${field} must be at least 0 and below 1, got ${String(value)}`);
}

function checkSource(source: MixSourceSpec, where: string): void {
  if (typeof source?.datasetId !== 'string' || source.datasetId === '') fail(`${where}: choose a dataset`);
  if (source.split !== undefined && !SPLITS.includes(source.split)) fail(`${where}: split “${String(source.split)}” is not one of ${SPLITS.join(', ')}`);
}

const keyOf = (source: MixSourceSpec) => `${source.datasetId}\u0000${source.split ?? ''}`;

function checkMixtureSpec(spec: MixtureSpec, what: string): void {
  if (!Array.isArray(spec.sources) || spec.sources.length === 0) fail(`${what}: choose at least one dataset to mix`);
  const seen = new Set<string>();
  spec.sources.forEach((source, i) => {
    checkSource(source, `${what}, source ${i + 1}`);
    if (seen.has(keyOf(source))) fail(`${what}, source ${i + 1}: that dataset${source.split ? ` (${source.split})` : ''} is already source ${[...seen].indexOf(keyOf(source)) + 1}`);
    seen.add(keyOf(source));
  });
  const rule = spec.rule;
  const positiveOrInfinite = (cap: unknown) => cap === undefined || (typeof cap === 'number' && cap > 0);
  switch (rule?.kind) {
    case 'proportional':
      if (!positiveOrInfinite(rule.cap)) fail(`${what}: cap must be a positive number of examples, got ${String(rule.cap)}`);
      break;
    case 'temperature':
      if (typeof rule.temperature !== 'number' || !(rule.temperature > 0) || !Number.isFinite(rule.temperature)) {
        fail(`${what}: temperature must be a positive number, got ${String(rule.temperature)}`);
      }
      if (!positiveOrInfinite(rule.cap)) fail(`${what}: cap must be a positive number of examples, got ${String(rule.cap)}`);
      break;
    case 'weights': {
      const weights = rule.weights;
      if (!Array.isArray(weights) || weights.length !== spec.sources.length) {
        fail(`${what}: give one weight per source (${spec.sources.length}), got ${Array.isArray(weights) ? weights.length : String(weights)}`);
      }
      weights.forEach((w, i) => {
        if (typeof w !== 'number' || !(w >= 0) || !Number.isFinite(w)) fail(`${what}, source ${i + 1}: weight must be a number ≥ 0, got ${String(w)}`);
      });
      const sum = weights.reduce((a, b) => a + b, 0);
      if (!(sum > 0)) fail(`${what}: the weights add up to ${sum}; give at least one source a positive weight`);
      break;
    }
    default:
      fail(`${what}: unknown mixing rule “${String((rule as { kind?: unknown } | undefined)?.kind)}” (known: proportional, temperature, weights)`);
  }
  if (spec.pretraining !== undefined) {
    checkSource(spec.pretraining, `${what}, pretraining text`);
    checkFraction(spec.pretraining.ratio, `${what}, pretraining text`, 'ratio');
    if (seen.has(keyOf(spec.pretraining))) fail(`${what}, pretraining text: that dataset is already an instruction source; choose another`);
  }
}

function checkMixSpec(spec: MixSpec): void {
  checkName(spec?.name, 'mix');
  checkMixtureSpec(spec, 'mix');
  checkWhole(spec.total, 'mix', 'total', 1);
  if (spec.total > MAX_SHAPED_EXAMPLES) fail(`mix: total is ${spec.total}; at most ${MAX_SHAPED_EXAMPLES.toLocaleString('en-US')} examples fit in one dataset here`);
  checkSeed(spec.seed, 'mix');
}

const stageWhat = (stage: PlanStageSpec, i: number) => `plan stage ${i + 1}${stage?.name ? ` (“${stage.name}”)` : ''}`;

function checkPlanSpec(spec: PlanSpec): void {
  checkName(spec?.name, 'plan');
  if (!Array.isArray(spec.stages) || spec.stages.length === 0) fail('plan: add at least one stage');
  spec.stages.forEach((stage, i) => {
    const what = stageWhat(stage, i);
    checkMixtureSpec(stage, what);
    checkWhole(stage.steps, what, 'steps', 1);
    if (stage.replay !== undefined) checkFraction(stage.replay, what, 'replay');
    if (i === 0 && (stage.replay ?? 0) > 0) fail(`${what}: replay is ${stage.replay}, but the first stage has no earlier stage to replay`);
  });
  checkWhole(spec.examplesPerStep, 'plan', 'examplesPerStep', 1);
  const total = spec.stages.reduce((a, s) => a + s.steps, 0) * spec.examplesPerStep;
  if (total > MAX_SHAPED_EXAMPLES) fail(`plan: ${total.toLocaleString('en-US')} examples (steps × examplesPerStep); at most ${MAX_SHAPED_EXAMPLES.toLocaleString('en-US')} fit in one dataset here`);
  checkSeed(spec.seed, 'plan');
}

// ---- reading sources ------------------------------------------------------------------------------

interface ResolvedSource {
  key: string;
  /** unique across one mixture or plan: what mix.ts calls the source's name */
  label: string;
  datasetId: string;
  datasetName: string;
  split?: Split;
  role: SourceShare['role'];
  size: number;
  /** example ids in imported order (only when resolved for drawing) */
  ids?: string[];
}

/** Reads each (dataset, split) once, names it uniquely, and sizes it from counts or from its ids. */
class SourceResolver {
  readonly byKey = new Map<string, ResolvedSource>();
  readonly byLabel = new Map<string, ResolvedSource>();

  constructor(
    private readonly db: HoneDb,
    private readonly withIds: boolean,
  ) {}

  async resolve(source: MixSourceSpec, role: SourceShare['role'], where: string): Promise<ResolvedSource> {
    const key = keyOf(source);
    const known = this.byKey.get(key);
    if (known) return known;
    const dataset = await getDataset(this.db, source.datasetId);
    if (!dataset) fail(`${where}: no dataset with id “${source.datasetId}” is stored; it may have been deleted — reload the list and choose another`);
    const split = source.split;
    let ids: string[] | undefined;
    let size: number;
    if (this.withIds) {
      const [index, range] = split ? (['byDatasetSplit', prefixRange(dataset.id, split)] as const) : (['byDataset', prefixRange(dataset.id)] as const);
      ids = (await this.db.getAllKeysFromIndex('examples', index, range)) as string[];
      size = ids.length;
    } else {
      size = (split ? dataset.counts[split] : dataset.counts.total) ?? 0;
    }
    if (size === 0) fail(`${where}: dataset “${dataset.name}” has no examples${split ? ` in its ${split} split` : ''}`);
    let label = split ? `${dataset.name} (${split})` : dataset.name;
    if (this.byLabel.has(label)) label = `${label} [${dataset.id.slice(0, 8)}]`;
    const resolved: ResolvedSource = { key, label, datasetId: dataset.id, datasetName: dataset.name, role, size, ids };
    if (split) resolved.split = split;
    this.byKey.set(key, resolved);
    this.byLabel.set(label, resolved);
    return resolved;
  }
}

async function buildMixture(resolver: SourceResolver, spec: MixtureSpec, what: string): Promise<Mixture> {
  const sources: ResolvedSource[] = [];
  for (const [i, source] of spec.sources.entries()) sources.push(await resolver.resolve(source, 'instruction', `${what}, source ${i + 1}`));
  const mixSources = sources.map((s) => ({ name: s.label, size: s.size }));
  const rule: MixingRule =
    spec.rule.kind === 'weights'
      ? { kind: 'weights', weights: Object.fromEntries(sources.map((s, i) => [s.label, (spec.rule as { weights: readonly number[] }).weights[i]])) }
      : spec.rule.kind === 'proportional'
        ? { kind: 'proportional', cap: spec.rule.cap ?? FLAN_CAP }
        : spec.rule;
  const mixture: Mixture = { sources: mixSources, rule };
  if (spec.pretraining) {
    const text = await resolver.resolve(spec.pretraining, 'pretraining', `${what}, pretraining text`);
    mixture.pretraining = { sources: [{ name: text.label, size: text.size }], ratio: spec.pretraining.ratio };
  }
  return mixture;
}

/** mix.ts's errors are already in people's words; they become ShapeErrors like every other refusal. */
function mixing<T>(body: () => T): T {
  try {
    return body();
  } catch (error) {
    if (error instanceof MixError) fail(error.message);
    throw error;
  }
}

function shares(resolver: SourceResolver, rates: readonly SourceRate[], examples: number): SourceShare[] {
  return rates.map(({ name, rate }) => {
    const s = resolver.byLabel.get(name)!;
    const share: SourceShare = { datasetId: s.datasetId, datasetName: s.datasetName, role: s.role, size: s.size, rate, expected: rate * examples };
    if (s.split) share.split = s.split;
    return share;
  });
}

// ---- writing ---------------------------------------------------------------------------------------

/** Reads the drawn examples (each once) in one transaction; throws if any vanished meanwhile. */
async function readExamples(db: HoneDb, ids: Iterable<string>, what: string): Promise<Map<string, ExampleRecord>> {
  const unique = [...new Set(ids)];
  const tx = db.transaction('examples', 'readonly');
  const records = await Promise.all(unique.map((id) => tx.store.get(id)));
  await tx.done;
  const byId = new Map<string, ExampleRecord>();
  records.forEach((record, i) => {
    if (!record) fail(`${what}: example ${unique[i]} was deleted while the examples were being read; nothing was stored — try again`);
    byId.set(record.id, record);
  });
  return byId;
}

const OWN_TAG = (tag: string) => tag.startsWith(FROM_TAG_PREFIX) || tag.startsWith(STAGE_TAG_PREFIX);

/** A stored example's record fields, without the store's id, datasetId and position. */
export function recordFields(record: ExampleRecord): ExampleInput {
  const { id: _id, datasetId: _datasetId, position: _position, ...fields } = record;
  return fields;
}

/** A drawn example as a new one, its provenance tags replaced by `tags`. */
function drawnExample(record: ExampleRecord, tags: readonly string[]): ExampleInput {
  const kept = (record.tags ?? []).filter((tag) => !OWN_TAG(tag));
  return { ...recordFields(record), tags: [...new Set([...kept, ...tags])] };
}

function sourceTags(source: ResolvedSource): string[] {
  return source.role === 'pretraining' ? [`${FROM_TAG_PREFIX}${source.datasetId}`, PRETRAINING_TAG] : [`${FROM_TAG_PREFIX}${source.datasetId}`];
}

function describeSources(resolver: SourceResolver): string {
  const names = [...resolver.byLabel.values()].map((s) => `“${s.label}”`);
  return names.length <= 4 ? names.join(', ') : `${names.slice(0, 4).join(', ')} and ${names.length - 4} more`;
}

// ---- mixtures and plans ------------------------------------------------------------------------------

/** Rates and expected counts of a mixture, from the datasets' stored counts; writes nothing. */
export async function previewMix(db: HoneDb, spec: MixtureSpec & { total?: number }): Promise<MixPreview> {
  checkMixtureSpec(spec, 'mix');
  const total = spec.total === undefined ? 0 : checkWhole(spec.total, 'mix', 'total', 1);
  const resolver = new SourceResolver(db, false);
  const mixture = await buildMixture(resolver, spec, 'mix');
  return { total, sources: shares(resolver, mixing(() => mixtureRates(mixture, 'mix')), total) };
}

/** Draws `spec.total` examples by the mixture and stores them as one new dataset with a MixRecipe. */
export async function mixDatasets(db: HoneDb, spec: MixSpec): Promise<DatasetRecord> {
  checkMixSpec(spec);
  const resolver = new SourceResolver(db, true);
  const mixture = await buildMixture(resolver, spec, 'mix');
  const sampler = mixing(() => new MixSampler(mixture, spec.seed));
  const draws = Array.from({ length: spec.total }, () => sampler.next());
  const sourceOf = (label: string) => resolver.byLabel.get(label)!;
  const records = await readExamples(db, draws.map((d) => sourceOf(d.source).ids![d.index]), 'mix');
  const drawn = new Map<string, number>();
  const examples = draws.map((d) => {
    const source = sourceOf(d.source);
    drawn.set(d.source, (drawn.get(d.source) ?? 0) + 1);
    return drawnExample(records.get(source.ids![d.index])!, sourceTags(source));
  });
  const sources = shares(resolver, sampler.rates, spec.total).map((share, i) => ({ ...share, drawn: drawn.get(sampler.rates[i].name) ?? 0 }));
  const recipe: MixRecipe = { kind: 'mix', spec: structuredClone(spec), sources };
  return createDataset(db, { name: spec.name.trim(), source: `mixture of ${describeSources(resolver)}`, recipe: { ...recipe } }, examples);
}

async function planMixtures(resolver: SourceResolver, spec: PlanSpec) {
  const stages = [];
  for (const [i, stage] of spec.stages.entries()) {
    const mixture = await buildMixture(resolver, stage, stageWhat(stage, i));
    stages.push({ name: stage.name, steps: stage.steps, replay: stage.replay, mixture });
  }
  return { stages };
}

function stagePreviews(resolver: SourceResolver, spec: PlanSpec, planned: ReturnType<typeof planStages>): PlannedStagePreview[] {
  return planned.map((stage, i) => {
    const examples = stage.steps * spec.examplesPerStep;
    return { name: stage.name, firstStep: stage.firstStep, steps: stage.steps, examples, replay: spec.stages[i].replay ?? 0, sources: shares(resolver, stage.rates, examples) };
  });
}

/** Each stage's step range and rates (replay folded in), from the stored counts; writes nothing. */
export async function previewPlan(db: HoneDb, spec: PlanSpec): Promise<PlanPreview> {
  checkPlanSpec(spec);
  const resolver = new SourceResolver(db, false);
  const plan = await planMixtures(resolver, spec);
  const planned = mixing(() => planStages(plan));
  const totalSteps = planned.reduce((a, s) => a + s.steps, 0);
  return { totalSteps, total: totalSteps * spec.examplesPerStep, stages: stagePreviews(resolver, spec, planned) };
}

/** Draws a whole plan (steps × examplesPerStep examples, stage by stage) into one new dataset. */
export async function planDatasets(db: HoneDb, spec: PlanSpec): Promise<DatasetRecord> {
  checkPlanSpec(spec);
  const resolver = new SourceResolver(db, true);
  const plan = await planMixtures(resolver, spec);
  const sampler = mixing(() => new PlanSampler(plan, spec.seed, spec.examplesPerStep));
  const total = sampler.totalSteps * spec.examplesPerStep;
  const draws = Array.from({ length: total }, () => sampler.next());
  const sourceOf = (label: string) => resolver.byLabel.get(label)!;
  const records = await readExamples(db, draws.map((d) => sourceOf(d.source).ids![d.index]), 'plan');
  const drawn = sampler.stages.map(() => new Map<string, number>());
  const examples = draws.map((d) => {
    const source = sourceOf(d.source);
    drawn[d.stage].set(d.source, (drawn[d.stage].get(d.source) ?? 0) + 1);
    return drawnExample(records.get(source.ids![d.index])!, [...sourceTags(source), `${STAGE_TAG_PREFIX}${d.stage + 1}`]);
  });
  const stages = stagePreviews(resolver, spec, sampler.stages).map((stage, i) => ({
    ...stage,
    sources: stage.sources.map((share, j) => ({ ...share, drawn: drawn[i].get(sampler.stages[i].rates[j].name) ?? 0 })),
  }));
  const recipe: PlanRecipe = { kind: 'plan', spec: structuredClone(spec), stages };
  const source = `${spec.stages.length}-stage plan over ${describeSources(resolver)}`;
  return createDataset(db, { name: spec.name.trim(), source, recipe: { ...recipe } }, examples);
}
