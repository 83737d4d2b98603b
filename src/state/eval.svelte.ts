// The Evaluate view's state: the form (eval set, tuned model, metric, decoding, k-shot baseline),
// the running evaluation's streamed rows and progress, the report on show (live or stored), its
// ratings, the table's filters, the stored reports, and exports. Every call goes to the worker's
// eval API (workers/eval.ts); callbacks and cancelling go through the studio client.
import { errorMessage, onePerStudio, type Studio } from './studio.svelte';
import { saveBlob } from './download';
import type {
  EvalDatasetChoice,
  EvalEvent,
  EvalItem,
  EvalMetricInfo,
  EvalReport,
  EvalRunChoice,
  EvalSpec,
  EvaluationSummary,
  ExportFormat,
  RatingKind,
  RatingRecord,
} from '../studio-client';

export type { EvalDatasetChoice, EvalItem, EvalMetricInfo, EvalReport, EvalRunChoice, EvaluationSummary, RatingRecord };
export type ReportRow = EvalReport['rows'][number];

/** The built-in sample eval set's pseudo source id. */
export const SAMPLE_SET = 'sample';
export const NO_TUNED = 'none';
export const ADAPTER_TUNED = 'adapter';

export interface EvalForm {
  /** SAMPLE_SET or a dataset id */
  source: string;
  /** dataset sets: its test split, or the chosen held-out clusters */
  selection: 'test' | 'clusters';
  clusters: string[];
  /** a run id, ADAPTER_TUNED or NO_TUNED */
  tuned: string;
  metric: string;
  promptFormat: 'alpaca' | 'task';
  maxNewTokens: number;
  greedy: boolean;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  /** also run the base model k-shot */
  fewShot: boolean;
  shots: number;
  /** evaluate only the first N examples; null = all */
  limit: number | null;
  /** ROUGE: Porter-stem tokens */
  useStemmer: boolean;
}

const DEFAULT_FORM: EvalForm = {
  source: SAMPLE_SET,
  selection: 'test',
  clusters: [],
  tuned: NO_TUNED,
  metric: 'rougeL',
  promptFormat: 'alpaca',
  maxNewTokens: 32,
  greedy: true,
  temperature: 0.8,
  topK: 40,
  topP: 0.95,
  seed: 0,
  fewShot: false,
  shots: 2,
  limit: null,
  useStemmer: false,
};

export type Phase = 'idle' | 'running' | 'cancelling';
export type WinnerFilter = '' | 'tuned' | 'base' | 'tie';

export interface Progress {
  phase: 'zero-shot' | 'few-shot';
  done: number;
  total: number;
  /** the k of the k-shot baseline (0 = none) */
  shots: number;
}

export class EvalState {
  metrics = $state.raw<EvalMetricInfo[]>([]);
  datasets = $state.raw<EvalDatasetChoice[]>([]);
  runs = $state.raw<EvalRunChoice[]>([]);
  evaluations = $state.raw<EvaluationSummary[]>([]);
  form = $state<EvalForm>({ ...DEFAULT_FORM, clusters: [] });
  /** the adapter folder picked for ADAPTER_TUNED */
  adapter = $state.raw<{ name: string; files: { name: string; bytes: ArrayBuffer }[] } | null>(null);

  phase = $state<Phase>('idle');
  progress = $state.raw<Progress | null>(null);
  /** the stored evaluation on show (null while a run streams, or for a run cancelled before any example) */
  evaluationId = $state<string | null>(null);
  report = $state.raw<EvalReport | null>(null);
  /** rows as they stream in; the report's rows once it ends */
  rows = $state.raw<ReportRow[]>([]);
  ratings = $state.raw<RatingRecord[]>([]);
  filters = $state<{ task: string; cluster: string; winner: WinnerFilter }>({ task: '', cluster: '', winner: '' });
  error = $state<string | null>(null);
  notice = $state<string | null>(null);

  readonly #studio: Studio;

  constructor(studio: Studio) {
    this.#studio = studio;
  }

  /** One state per studio, so a run keeps streaming into it while another view is open. */
  static readonly for = onePerStudio((studio) => new EvalState(studio));

  #job: AbortController | null = null;

  get #api(): Studio['client']['api'] {
    return this.#studio.client.api;
  }

  readonly filteredRows = $derived.by(() => {
    const { task, cluster, winner } = this.filters;
    return this.rows.filter((row) => (!task || row.task === task) && (!cluster || row.cluster === cluster) && (!winner || row.winner === winner));
  });
  readonly tasks = $derived([...new Set(this.rows.map((row) => row.task))].sort());
  readonly clusters = $derived([...new Set(this.rows.map((row) => row.cluster))].sort());
  /** exampleId → its rating of each kind */
  readonly ratingsByExample = $derived.by(() => {
    const map = new Map<string, { thumbs?: RatingRecord; ab?: RatingRecord }>();
    for (const rating of this.ratings) map.set(rating.exampleId, { ...map.get(rating.exampleId), [rating.kind]: rating });
    return map;
  });

  /** each training run's prompt format (runs stored before formats existed have none) */
  #runFormats = new Map<string, string>();

  /**
   * Picks the tuned model; a training run brings its own prompt format along (what it trained on):
   * Alpaca stays Alpaca, the record's template is the task's template. A run trained through the chat
   * template keeps the current choice: Evaluate has no chat prompt format, and the notice says so.
   */
  chooseTuned(id: string): void {
    this.form.tuned = id;
    const trained = this.#runFormats.get(id);
    if (trained === 'alpaca' || trained === 'template') this.form.promptFormat = trained === 'alpaca' ? 'alpaca' : 'task';
    else if (trained === 'chat') this.notice = 'This run trained through the chat template; Evaluate prompts with the Alpaca or the task template, so its scores may understate it.';
  }

  async refresh(): Promise<void> {
    try {
      const [metrics, sources, evaluations, trainingRuns] = await Promise.all([
        this.#api.evalMetrics(),
        this.#api.evalSources(),
        this.#api.evalList(),
        this.#api.listTrainingRuns().catch(() => []),
      ]);
      this.#runFormats = new Map(trainingRuns.flatMap((run) => (run.promptFormat ? [[run.id, run.promptFormat] as const] : [])));
      this.metrics = metrics;
      this.datasets = sources.datasets;
      this.runs = sources.runs;
      this.evaluations = evaluations;
      if (this.form.source !== SAMPLE_SET && !this.datasets.some((d) => d.id === this.form.source)) this.form.source = SAMPLE_SET;
      const special = this.form.tuned === NO_TUNED || this.form.tuned === ADAPTER_TUNED;
      if (!special && !this.runs.some((r) => r.id === this.form.tuned)) this.form.tuned = NO_TUNED;
    } catch (err) {
      this.error = `The evaluation API did not answer: ${errorMessage(err)}`;
    }
  }

  /** Reads a picked adapter folder's files (adapter_config.json + weights). */
  async pickAdapter(files: readonly File[]): Promise<void> {
    if (files.length === 0) return;
    const folder = files[0].webkitRelativePath.split('/')[0] || files[0].name.replace(/\.[^.]+$/, '');
    this.adapter = { name: folder, files: await Promise.all(files.map(async (file) => ({ name: file.name, bytes: await file.arrayBuffer() }))) };
    this.form.tuned = ADAPTER_TUNED;
  }

  /** The spec the form describes; throws a message for the form when it is incomplete. */
  buildSpec(sampleItems: readonly EvalItem[]): EvalSpec {
    const f = this.form;
    const source: EvalSpec['source'] =
      f.source === SAMPLE_SET
        ? { kind: 'inline', name: 'Sample questions', items: [...sampleItems] }
        : { kind: 'dataset', datasetId: f.source, ...(f.selection === 'clusters' ? { clusters: [...f.clusters] } : {}) };
    if (source.kind === 'dataset' && f.selection === 'clusters' && f.clusters.length === 0) throw new Error('Choose at least one held-out cluster, or evaluate the test split.');
    let tuned: EvalSpec['tuned'];
    if (f.tuned === NO_TUNED) tuned = { kind: 'none' };
    else if (f.tuned === ADAPTER_TUNED) {
      if (!this.adapter) throw new Error('Choose the adapter folder to evaluate (adapter_config.json and its .safetensors file).');
      tuned = { kind: 'adapter', name: this.adapter.name, files: this.adapter.files };
    } else tuned = { kind: 'run', runId: f.tuned };
    const generation = f.greedy
      ? { maxNewTokens: f.maxNewTokens, greedy: true, seed: f.seed }
      : { maxNewTokens: f.maxNewTokens, greedy: false, temperature: f.temperature, topK: f.topK, topP: f.topP, seed: f.seed };
    return {
      source,
      tuned,
      metric: f.metric,
      metricOptions: { useStemmer: f.useStemmer },
      generation,
      promptFormat: f.promptFormat,
      shots: f.fewShot ? f.shots : 0,
      ...(f.limit ? { limit: f.limit } : {}),
    };
  }

  #onEvent = (event: EvalEvent): void => {
    if (event.kind === 'started') {
      this.progress = { phase: 'zero-shot', done: 0, total: event.total, shots: event.shots };
    } else if (event.kind === 'result') {
      this.rows = [...this.rows, event.row];
      this.progress = { phase: 'zero-shot', done: event.done, total: event.total, shots: this.progress?.shots ?? 0 };
    } else {
      this.rows = this.rows.map((row) => (row.index === event.index ? { ...row, fewShot: event.fewShot } : row));
      this.progress = { phase: 'few-shot', done: event.done, total: event.total, shots: this.progress?.shots ?? 0 };
    }
  };

  async start(spec: EvalSpec): Promise<void> {
    if (this.phase !== 'idle') return;
    this.error = null;
    this.notice = null;
    this.phase = 'running';
    this.evaluationId = null;
    this.report = null;
    this.rows = [];
    this.ratings = [];
    this.progress = null;
    this.filters = { task: '', cluster: '', winner: '' };
    const controller = (this.#job = new AbortController());
    try {
      const outcome = await this.#studio.client.evalRun(spec, { onProgress: this.#onEvent, signal: controller.signal });
      this.evaluationId = outcome.id;
      this.report = outcome.report;
      this.rows = outcome.report.rows;
      if (outcome.report.status === 'cancelled') {
        this.notice = outcome.id ? `Cancelled after ${outcome.report.rows.length} example(s); those results are saved.` : 'Cancelled before the first example finished; nothing was saved.';
      }
      this.evaluations = await this.#api.evalList();
    } catch (err) {
      this.error = errorMessage(err);
    } finally {
      this.#job = null;
      this.phase = 'idle';
      this.progress = null;
    }
  }

  /** Cancels the evaluation; what finished so far is saved. */
  cancel(): void {
    if (this.phase !== 'running' || !this.#job) return;
    this.phase = 'cancelling';
    this.#job.abort();
  }

  /** Shows a stored evaluation with its ratings. */
  async open(id: string): Promise<void> {
    this.error = null;
    try {
      const { report, ratings } = await this.#api.evalGet(id);
      this.evaluationId = id;
      this.report = report;
      this.rows = report.rows;
      this.ratings = ratings;
      this.filters = { task: '', cluster: '', winner: '' };
    } catch (err) {
      this.error = `Opening the evaluation failed: ${errorMessage(err)}`;
    }
  }

  async remove(id: string): Promise<void> {
    this.error = null;
    try {
      await this.#api.evalDelete(id);
      if (this.evaluationId === id) {
        this.evaluationId = null;
        this.report = null;
        this.rows = [];
        this.ratings = [];
      }
      this.evaluations = await this.#api.evalList();
    } catch (err) {
      this.error = `Deleting failed: ${errorMessage(err)}`;
    }
  }

  /** Rates an example of the shown evaluation; the same value again clears a thumbs rating. */
  async rate(exampleId: string, kind: RatingKind, value: string): Promise<void> {
    const id = this.evaluationId;
    if (!id) return;
    this.error = null;
    try {
      const existing = this.ratingsByExample.get(exampleId)?.[kind];
      if (existing && kind === 'thumbs' && existing.value === value) await this.#api.evalUnrate(existing.id);
      else await this.#api.evalRate(id, exampleId, kind, value);
      this.ratings = await this.#api.evalRatings(id);
    } catch (err) {
      this.error = `Saving the rating failed: ${errorMessage(err)}`;
    }
  }

  /** The shown evaluation as a download (JSON report, CSV table, or preference pairs JSONL). */
  async download(format: ExportFormat): Promise<void> {
    const id = this.evaluationId;
    if (!id) return;
    this.error = null;
    try {
      const { fileName, text, mimeType } = await this.#api.evalExport(id, format);
      saveBlob(new Blob([text], { type: mimeType }), fileName);
    } catch (err) {
      this.error = `Export failed: ${errorMessage(err)}`;
    }
  }
}
