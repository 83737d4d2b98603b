// The data studio's shaping panel: the template preview, the mixing form with its rates previewed
// before anything is drawn, and augmentation. Every call goes to the worker's data-shaping API through
// the studio client; a dataset it creates is listed and selected in the Data view (DataState), which
// owns the list.
import type {
  AugmentSpec,
  MixPreview,
  MixRuleSpec,
  MixSpec,
  PreviewMode,
  TemplatePreview,
  TemplatePreviewRequest,
  TemplateSetSummary,
  TemplateSummary,
} from '../studio-client';
import { FLAN_CAP } from '../core/data/mix';
import type { Split } from '../core/data/record';
import { DataState, type DatasetRecord } from './data.svelte';
import { errorMessage, onePerStudio, type Studio } from './studio.svelte';

export type { MixPreview, PreviewMode, TemplatePreview, TemplateSummary };
export type MixRuleKind = MixRuleSpec['kind'];

export const PREVIEW_MODES: { value: PreviewMode; label: string }[] = [
  { value: 'instructions', label: 'Through a template' },
  { value: 'no-template', label: 'No template (the input alone)' },
  { value: 'dataset-name', label: 'Dataset name only' },
  { value: 'sni', label: 'SNI style (definition, negative examples)' },
];

export const MIX_RULES: { value: MixRuleKind; label: string }[] = [
  { value: 'proportional', label: 'Examples-proportional with a cap (FLAN)' },
  { value: 'temperature', label: 'Temperature (T5)' },
  { value: 'weights', label: 'Explicit weights' },
];

export interface MixRow {
  datasetId: string;
  /** '' = all of the dataset's examples */
  split: '' | Split;
  weight: number;
}

export interface PreviewForm {
  datasetId: string;
  /** '' = every task */
  task: string;
  mode: PreviewMode;
  shots: number;
  limit: number;
  /** '' = a random fitting template per example */
  templateId: string;
  inverted: boolean;
  chat: boolean;
  seed: number;
}

export interface MixForm {
  name: string;
  rows: MixRow[];
  rule: MixRuleKind;
  /** proportional and temperature: cap each dataset's size at `cap` */
  capped: boolean;
  cap: number;
  temperature: number;
  /** '' = no pretraining text */
  pretrainingId: string;
  /** share of plain text, in percent */
  pretrainingPercent: number;
  total: number;
  seed: number;
}

export interface AugmentForm {
  datasetId: string;
  invert: boolean;
  paraphrase: number;
  seed: number;
  includeOriginals: boolean;
  name: string;
}

export class ShapingState {
  readonly data: DataState;
  templateSets = $state.raw<TemplateSetSummary[]>([]);
  /** the loaded model and whether it has a chat template */
  chat = $state.raw<{ model: string | null; chat: boolean }>({ model: null, chat: false });
  /** tasks of the preview's dataset, with counts */
  tasks = $state.raw<[string, number][]>([]);
  notice = $state<string | null>(null);

  preview = $state<PreviewForm>({ datasetId: '', task: '', mode: 'instructions', shots: 0, limit: 5, templateId: '', inverted: false, chat: false, seed: 0 });
  previewResult = $state.raw<TemplatePreview | null>(null);
  previewError = $state<string | null>(null);
  previewing = $state(false);

  mix = $state<MixForm>({ name: '', rows: [], rule: 'proportional', capped: true, cap: FLAN_CAP, temperature: 2, pretrainingId: '', pretrainingPercent: 5, total: 1000, seed: 1 });
  /** the spec the form describes, or null until a dataset is chosen; a plain object, fit for the worker */
  readonly mixSpec = $derived.by((): MixSpec | null => this.#mixSpec());
  mixPreview = $state.raw<MixPreview | null>(null);
  mixPreviewError = $state<string | null>(null);
  mixError = $state<string | null>(null);
  mixing = $state(false);

  augment = $state<AugmentForm>({ datasetId: '', invert: true, paraphrase: 1, seed: 1, includeOriginals: true, name: '' });
  augmentError = $state<string | null>(null);
  augmenting = $state(false);

  /** templates the preview can use: the task's own set (the generic one when it has none), standard or turned around */
  readonly templates = $derived.by((): TemplateSummary[] => {
    const set = this.templateSets.find((s) => s.task === this.preview.task) ?? this.templateSets.find((s) => s.task === 'generic');
    return (set?.templates ?? []).filter((t) => t.inverted === this.preview.inverted);
  });

  readonly #studio: Studio;
  #mixRequest = 0;

  constructor(studio: Studio) {
    this.#studio = studio;
    this.data = DataState.for(studio);
  }

  static readonly for = onePerStudio((studio) => new ShapingState(studio));

  get #remote(): Studio['client']['api'] {
    return this.#studio.client.api;
  }

  get datasets(): DatasetRecord[] {
    return this.data.datasets;
  }

  async init(): Promise<void> {
    try {
      if (!this.data.loaded) await this.data.refresh();
      if (this.templateSets.length === 0) this.templateSets = await this.#remote.shapeTemplateSets();
      this.chat = await this.#remote.shapeChatAvailable();
      const first = this.data.selectedId ?? this.datasets[0]?.id ?? '';
      if (!this.preview.datasetId && first) await this.choosePreviewDataset(first);
      if (!this.augment.datasetId) this.augment.datasetId = first;
    } catch (err) {
      this.previewError = `Could not load the shaping tools: ${errorMessage(err)}`;
    }
  }

  // ---- template preview -------------------------------------------------------------------------

  async choosePreviewDataset(datasetId: string): Promise<void> {
    this.preview.datasetId = datasetId;
    this.preview.task = '';
    this.previewResult = null;
    this.tasks = [];
    if (!datasetId) return;
    try {
      this.tasks = (await this.#remote.datasetFacets(datasetId)).tasks;
    } catch (err) {
      this.previewError = errorMessage(err);
    }
  }

  async runPreview(): Promise<void> {
    const form = this.preview;
    this.previewError = null;
    if (!form.datasetId) {
      this.previewError = 'Choose a dataset to preview.';
      return;
    }
    const request: TemplatePreviewRequest = { mode: form.mode, shots: form.shots, limit: form.limit, seed: form.seed, inverted: form.inverted, chat: form.chat };
    if (form.task) request.task = form.task;
    if (form.templateId && form.mode === 'instructions') request.templateId = form.templateId;
    this.previewing = true;
    try {
      this.chat = await this.#remote.shapeChatAvailable();
      this.previewResult = await this.#remote.shapePreviewTemplates(form.datasetId, request);
    } catch (err) {
      this.previewResult = null;
      this.previewError = errorMessage(err);
    } finally {
      this.previewing = false;
    }
  }

  // ---- mixing -----------------------------------------------------------------------------------------

  addMixRow(datasetId = ''): void {
    const unused = this.datasets.find((d) => !this.mix.rows.some((r) => r.datasetId === d.id));
    this.mix.rows.push({ datasetId: datasetId || unused?.id || '', split: '', weight: 1 });
  }

  removeMixRow(index: number): void {
    this.mix.rows.splice(index, 1);
  }

  #mixSpec(): MixSpec | null {
    const form = this.mix;
    const rows = form.rows.filter((r) => r.datasetId !== '');
    if (rows.length === 0) return null;
    const cap = form.capped ? form.cap : undefined;
    const rule: MixRuleSpec =
      form.rule === 'weights'
        ? { kind: 'weights', weights: rows.map((r) => r.weight) }
        : form.rule === 'temperature'
          ? { kind: 'temperature', temperature: form.temperature, ...(cap === undefined ? {} : { cap }) }
          : { kind: 'proportional', cap: cap ?? Infinity };
    const spec: MixSpec = {
      name: form.name,
      sources: rows.map((r) => (r.split ? { datasetId: r.datasetId, split: r.split } : { datasetId: r.datasetId })),
      rule,
      total: form.total,
      seed: form.seed,
    };
    if (form.pretrainingId) spec.pretraining = { datasetId: form.pretrainingId, ratio: form.pretrainingPercent / 100 };
    return spec;
  }

  /** Recomputes the rates for `spec`; an answer to an older spec that arrives late is dropped. */
  async refreshMixPreview(spec: MixSpec | null): Promise<void> {
    const request = ++this.#mixRequest;
    if (!spec) {
      this.mixPreview = null;
      this.mixPreviewError = null;
      return;
    }
    try {
      const { name: _name, ...mixture } = spec;
      const preview = await this.#remote.shapePreviewMix(mixture);
      if (request !== this.#mixRequest) return;
      this.mixPreview = preview;
      this.mixPreviewError = null;
    } catch (err) {
      if (request !== this.#mixRequest) return;
      this.mixPreview = null;
      this.mixPreviewError = errorMessage(err);
    }
  }

  async createMix(): Promise<void> {
    const spec = this.mixSpec;
    this.mixError = null;
    this.notice = null;
    if (!spec) {
      this.mixError = 'Choose at least one dataset to mix.';
      return;
    }
    this.mixing = true;
    try {
      const dataset = await this.#remote.shapeMix(spec);
      await this.#created(dataset, `Mixed ${dataset.counts.total.toLocaleString('en-US')} examples into “${dataset.name}”.`);
    } catch (err) {
      this.mixError = errorMessage(err);
    } finally {
      this.mixing = false;
    }
  }

  // ---- augmentation ---------------------------------------------------------------------------------

  async createAugmented(): Promise<void> {
    const form = this.augment;
    this.augmentError = null;
    this.notice = null;
    if (!form.datasetId) {
      this.augmentError = 'Choose a dataset to augment.';
      return;
    }
    const spec: AugmentSpec = { invert: form.invert, paraphrase: form.paraphrase, seed: form.seed, includeOriginals: form.includeOriginals };
    if (form.name.trim()) spec.name = form.name.trim();
    this.augmenting = true;
    try {
      const dataset = await this.#remote.shapeAugment(form.datasetId, spec);
      await this.#created(dataset, `Created “${dataset.name}” with ${dataset.counts.total.toLocaleString('en-US')} examples.`);
    } catch (err) {
      this.augmentError = errorMessage(err);
    } finally {
      this.augmenting = false;
    }
  }

  async #created(dataset: DatasetRecord, notice: string): Promise<void> {
    this.notice = notice;
    await this.data.refresh();
    await this.data.select(dataset.id);
  }
}
