// Shaping stored datasets into new ones, and previewing how training would see them:
//
//   mixtures.ts  previewMix / mixDatasets, previewPlan / planDatasets (mixtures and staged plans)
//   augment.ts   augmentDataset (inversion, template paraphrases)
//   preview.ts   previewTemplates (a few examples through a template, k-shot, SNI-style or chat)
//   specs.ts     what those are asked for, what their previews answer, the recipes datasets keep
//   common.ts    ShapeError, the spec checks and the tags all of them share
//
// A plan is stored as one dataset whose examples are in draw order, each tagged "stage:<n>" (1-based):
// a trainer reading examplesPerStep examples per step in position order follows the plan's stages,
// replay included, and the whole plan stays one thing to pick, export or delete. Mixed examples are
// tagged "from:<dataset id>" (and "pretraining" for plain text mixed in).
export { FROM_TAG_PREFIX, MAX_SHAPED_EXAMPLES, PRETRAINING_TAG, recordFields, ShapeError, STAGE_TAG_PREFIX } from './common';
export {
  recipeOf,
  type MixPreview,
  type MixRecipe,
  type MixRuleSpec,
  type MixSourceSpec,
  type MixSpec,
  type MixtureSpec,
  type PlannedStagePreview,
  type PlanPreview,
  type PlanRecipe,
  type PlanSpec,
  type PlanStageSpec,
  type ShapeRecipe,
  type SourceShare,
} from './specs';
export * from './mixtures';
export * from './augment';
export * from './preview';
