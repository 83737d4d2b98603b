// Mixtures and staged plans of stored datasets, each written as ONE new dataset by one createDataset
// transaction (all or nothing) with a recipe on its dataset record saying how it was made, so it can
// be read back and made again (specs.ts has the specs, previews and recipes).
//
//   previewMix(db, spec) → MixPreview            rates and expected counts; reads dataset records only
//   mixDatasets(db, spec) → DatasetRecord         `total` examples drawn by MixSampler (../mix.ts)
//   previewPlan(db, spec) → PlanPreview           stages with step ranges and rates after replay
//   planDatasets(db, spec) → DatasetRecord        steps × examplesPerStep examples drawn by PlanSampler
//
//
// A plan is stored as one dataset whose examples are in draw order, each tagged "stage:<n>" (1-based):
// a trainer reading examplesPerStep examples per step in position order follows the plan's stages,
// replay included, and the whole plan stays one thing to pick, export or delete. Mixed examples are
// tagged "from:<dataset id>" (and "pretraining" for plain text mixed in); tags this module sets are
// replaced, not stacked, when a shaped dataset is shaped again.
// Every spec is checked, and every source dataset read, before anything is written: a bad spec
// throws ShapeError naming the field and leaves the store exactly as it was.
import { createDataset, getDataset, type DatasetRecord, type ExampleInput, type ExampleRecord, type HoneDb, type Split } from '../../store';
import { prefixRange } from '../../store/transaction';
import { FLAN_CAP, MixError, MixSampler, mixtureRates, PlanSampler, planStages, type Mixture, type MixingRule, type SourceRate } from '../mix';
import { checkWhole, fail, FROM_TAG_PREFIX, PRETRAINING_TAG, recordFields, STAGE_TAG_PREFIX } from './common';
import {
  checkMixSpec,
  checkMixtureSpec,
  checkPlanSpec,
  keyOf,
  stageWhat,
  type MixPreview,
  type MixRecipe,
  type MixSpec,
  type MixSourceSpec,
  type MixtureSpec,
  type PlannedStagePreview,
  type PlanPreview,
  type PlanRecipe,
  type PlanSpec,
  type SourceShare,
} from './specs';

// ---- reading sources ------------------------------------------------------------------------------

interface ResolvedSource {
  key: string;
  /** unique across one mixture or plan: what ../mix.ts calls the source's name */
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
