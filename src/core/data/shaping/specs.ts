// What a mixture or a staged plan is asked for (MixSpec, PlanSpec), what its preview answers, and the
// recipe a shaped dataset keeps on its record; with the checks every spec passes before anything is
// read or written (a bad spec throws ShapeError naming the field). mixtures.ts does the drawing.
import type { DatasetRecord, Split } from '../../store';
import { SPLITS } from '../record';
import type { AugmentRecipe } from './augment';
import { checkFraction, checkName, checkSeed, checkWhole, fail, MAX_SHAPED_EXAMPLES } from './common';

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

/** The recipe of a shaped dataset, or undefined for an imported one. */
export function recipeOf(dataset: Pick<DatasetRecord, 'recipe'>): ShapeRecipe | undefined {
  return dataset.recipe as ShapeRecipe | undefined;
}

// ---- checking specs (before any read or write) -------------------------------------------------

function checkSource(source: MixSourceSpec, where: string): void {
  if (typeof source?.datasetId !== 'string' || source.datasetId === '') fail(`${where}: choose a dataset`);
  if (source.split !== undefined && !SPLITS.includes(source.split)) fail(`${where}: split “${String(source.split)}” is not one of ${SPLITS.join(', ')}`);
}

export const keyOf = (source: MixSourceSpec) => `${source.datasetId}\u0000${source.split ?? ''}`;

export function checkMixtureSpec(spec: MixtureSpec, what: string): void {
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

export function checkMixSpec(spec: MixSpec): void {
  checkName(spec?.name, 'mix');
  checkMixtureSpec(spec, 'mix');
  checkWhole(spec.total, 'mix', 'total', 1);
  if (spec.total > MAX_SHAPED_EXAMPLES) fail(`mix: total is ${spec.total}; at most ${MAX_SHAPED_EXAMPLES.toLocaleString('en-US')} examples fit in one dataset here`);
  checkSeed(spec.seed, 'mix');
}

export const stageWhat = (stage: PlanStageSpec, i: number) => `plan stage ${i + 1}${stage?.name ? ` (“${stage.name}”)` : ''}`;

export function checkPlanSpec(spec: PlanSpec): void {
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

