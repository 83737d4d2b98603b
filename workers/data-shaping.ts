// The studio worker's data-shaping API (spread into the worker's api object in studio.worker.ts):
// template previews, mixtures, staged plans and augmentation of stored datasets. The logic lives in
// src/core/data/shaping/, which Node tests exercise; this file only supplies the database and the
// loaded model's chat template.
import {
  augmentDataset,
  mixDatasets,
  planDatasets,
  previewMix,
  previewPlan,
  previewTemplates,
  templateCatalogue,
  type AugmentSpec,
  type ChatRenderer,
  type MixPreview,
  type MixSpec,
  type MixtureSpec,
  type PlanPreview,
  type PlanSpec,
  type ShapeRecipe,
  type TemplatePreview,
  type TemplatePreviewRequest,
  type TemplateSetSummary,
  type TemplateSummary,
} from '../src/core/data/shaping';
import type { DatasetRecord } from '../src/core/store';
import { db, requireModel } from './context';

export type { AugmentSpec, MixPreview, MixSpec, MixtureSpec, PlanPreview, PlanSpec, ShapeRecipe, TemplatePreview, TemplatePreviewRequest, TemplateSetSummary, TemplateSummary };
export type { MixRuleSpec, MixSourceSpec, PlannedStagePreview, PlanStageSpec, PreviewMode, SourceShare, TemplatePreviewSample } from '../src/core/data/shaping';

/** The loaded model's chat template; asked for only when a preview wants chat rendering. */
function chatRenderer(): ChatRenderer {
  const { tokenizer, summary } = requireModel();
  if (tokenizer.chatTemplate === null) {
    throw new Error(`The loaded model “${summary.name}” has no chat template; turn chat rendering off or load a chat model.`);
  }
  return (messages, addGenerationPrompt) => tokenizer.applyChatTemplate(messages, { addGenerationPrompt });
}

export const dataShapingApi = {
  /** Every template set with its templates, for the template picker. */
  shapeTemplateSets(): TemplateSetSummary[] {
    return templateCatalogue();
  },

  /** Whether the loaded model (if any) has a chat template to render previews through. */
  shapeChatAvailable(): { model: string | null; chat: boolean } {
    try {
      const { tokenizer, summary } = requireModel();
      return { model: summary.name, chat: tokenizer.chatTemplate !== null };
    } catch {
      return { model: null, chat: false };
    }
  },

  /** The first examples of a dataset rendered zero-/k-shot, without template, dataset-name only, SNI-style or as chat. */
  async shapePreviewTemplates(datasetId: string, request: TemplatePreviewRequest): Promise<TemplatePreview> {
    return previewTemplates(await db(), datasetId, request, request.chat ? chatRenderer() : undefined);
  },

  /** Rates and expected counts of a mixture before it is drawn; writes nothing. */
  async shapePreviewMix(spec: MixtureSpec & { total?: number }): Promise<MixPreview> {
    return previewMix(await db(), spec);
  },

  /** Draws a mixture into a new dataset (one transaction) whose recipe records the spec and rates. */
  async shapeMix(spec: MixSpec): Promise<DatasetRecord> {
    return mixDatasets(await db(), spec);
  },

  /** Each stage's steps and rates (replay folded in) before the plan is drawn; writes nothing. */
  async shapePreviewPlan(spec: PlanSpec): Promise<PlanPreview> {
    return previewPlan(await db(), spec);
  },

  /** Draws a multi-stage plan into one new dataset, examples in stage order tagged "stage:<n>". */
  async shapePlan(spec: PlanSpec): Promise<DatasetRecord> {
    return planDatasets(await db(), spec);
  },

  /** A new dataset of inverted and/or paraphrased records (after the originals when asked). */
  async shapeAugment(datasetId: string, spec: AugmentSpec): Promise<DatasetRecord> {
    return augmentDataset(await db(), datasetId, spec);
  },
};
