// The Data view's state: stored datasets, the running import (progress, cancel, CSV column mapping),
// the selected dataset's filtered examples (fetched a page at a time for the virtualized list), the
// example being edited, and the last error. Every call goes to the worker's data API through the
// studio client; cancelling an import aborts its signal.
import type {
  CsvPreview,
  DatasetDuplicates,
  DatasetImportOutcome,
  DatasetRecord,
  DatasetSplitRequest,
  ExampleRecord,
  DatasetImportProgress as ImportProgress,
  StoredDatasetStats,
} from '../studio-client';
import type { ColumnMapping, TextFormatName } from '../core/data/importers/types';
import type { ImportError } from '../core/data/record';
import { errorMessage, onePerStudio, type Studio } from './studio.svelte';
import { saveBlob } from './download';

export type { CsvPreview, DatasetDuplicates, DatasetRecord, StoredDatasetStats, ExampleRecord, ImportProgress };
export type ExportShape = 'alpaca' | 'messages' | 'sharegpt';
export type SplitFilter = '' | 'train' | 'validation' | 'test' | 'unsplit';
export type FormatChoice = TextFormatName | 'auto';

export const FORMAT_CHOICES: { value: FormatChoice; label: string }[] = [
  { value: 'auto', label: 'Detect automatically' },
  { value: 'alpaca', label: 'Alpaca (instruction / input / output)' },
  { value: 'dolly', label: 'Dolly (instruction / context / response)' },
  { value: 'sharegpt', label: 'ShareGPT (conversations)' },
  { value: 'messages', label: 'OpenAI chat (messages)' },
  { value: 'sni', label: 'Super-NaturalInstructions task' },
  { value: 'trl', label: 'TRL (prompt / completion, text, messages)' },
  { value: 'csv', label: 'CSV / TSV (map the columns)' },
  { value: 'text', label: 'Plain text (pretraining paragraphs)' },
  { value: 'hone', label: 'Hone records' },
];

/** Examples fetched per request; the list asks for the pages its visible rows fall in. */
export const PAGE_SIZE = 100;

export interface Filter {
  search: string;
  task: string;
  cluster: string;
  split: SplitFilter;
}

const NO_FILTER: Filter = { search: '', task: '', cluster: '', split: '' };

/** A CSV file waiting for its column mapping before it is imported. */
export interface PendingCsv {
  file: File;
  preview: CsvPreview;
  name: string;
}

export class DataState {
  datasets = $state.raw<DatasetRecord[]>([]);
  loaded = $state(false);
  selectedId = $state<string | null>(null);
  readonly selected = $derived(this.datasets.find((d) => d.id === this.selectedId) ?? null);

  format = $state<FormatChoice>('auto');
  importName = $state('');
  progress = $state.raw<ImportProgress | null>(null);
  importing = $state(false);
  pendingCsv = $state.raw<PendingCsv | null>(null);
  /** the located problems of the last failed import, shown under the error */
  importErrors = $state.raw<ImportError[]>([]);
  error = $state<string | null>(null);
  notice = $state<string | null>(null);

  filter = $state<Filter>({ ...NO_FILTER });
  total = $state(0);
  facets = $state.raw<{ tasks: [string, number][]; clusters: [string, number][] }>({ tasks: [], clusters: [] });
  /** loaded pages of the current query, by page number; replaced (not mutated) so the list re-renders */
  pages = $state.raw<Map<number, ExampleRecord[]>>(new Map());
  editing = $state.raw<ExampleRecord | null>(null);
  editError = $state<string | null>(null);
  busy = $state<string | null>(null);
  duplicates = $state.raw<DatasetDuplicates | null>(null);
  stats = $state.raw<StoredDatasetStats | null>(null);

  readonly #studio: Studio;
  /** bumped whenever the query changes, so pages of an older query that arrive late are dropped */
  #generation = 0;
  readonly #requested = new Set<string>();
  /** aborted by cancelImport(): stops the running import */
  #import: AbortController | null = null;

  constructor(studio: Studio) {
    this.#studio = studio;
  }

  /** One state per studio, so an import keeps reporting while another view is shown. */
  static readonly for = onePerStudio((studio) => new DataState(studio));

  get #remote(): Studio['client']['api'] {
    return this.#studio.client.api;
  }

  async refresh(): Promise<void> {
    try {
      this.datasets = await this.#remote.listDatasets();
      this.loaded = true;
      if (this.selectedId && !this.datasets.some((d) => d.id === this.selectedId)) this.selectedId = null;
      if (!this.selectedId && this.datasets.length > 0) await this.select(this.datasets[0].id);
      // back from another view (Self-Instruct, shaping may have changed examples): fresh pages
      else if (this.selectedId) await this.#afterChange();
    } catch (err) {
      this.error = `Could not list datasets: ${errorMessage(err)}`;
    }
  }

  // ---- import ------------------------------------------------------------------------------

  /** A file from the picker or a drop. CSV/TSV files stop at the column-mapping step first. */
  async importFiles(files: File[]): Promise<void> {
    if (this.importing) return;
    this.clearMessages();
    const [file, ...rest] = files;
    if (!file) return;
    if (rest.length > 0) this.notice = `One dataset at a time: importing ${file.name}; ${rest.map((f) => f.name).join(', ')} left out.`;
    const isCsv = this.format === 'csv' || (this.format === 'auto' && /\.(csv|tsv|tab)$/i.test(file.name));
    if (!isCsv) return this.#run(file, undefined);
    try {
      // a File crosses to the worker as a handle: only the part the preview reads is loaded
      const preview = await this.#remote.previewCsvColumns({ name: file.name, bytes: file });
      this.pendingCsv = { file, preview, name: this.importName };
    } catch (err) {
      this.error = `Could not read ${file.name}: ${errorMessage(err)}`;
    }
  }

  /** Imports the waiting CSV file with the mapping the person chose. */
  async confirmCsv(mapping: ColumnMapping): Promise<void> {
    const pending = this.pendingCsv;
    if (!pending) return;
    this.pendingCsv = null;
    await this.#run(pending.file, mapping);
  }

  cancelCsv(): void {
    this.pendingCsv = null;
  }

  #run(file: File, mapping: ColumnMapping | undefined): Promise<void> {
    const format = mapping ? 'csv' : this.format;
    const name = this.importName.trim() || undefined;
    // The File itself goes to the worker, which streams it: neither side holds the whole file.
    return this.#importing(file.name, file.size, (options) => this.#studio.client.importDataset({ name: file.name, bytes: file }, { format, name, mapping }, options));
  }

  /** Runs one import (a file or a Hub split) with progress and cancelling, then reports how it ended. */
  async #importing(
    what: string,
    total: number,
    start: (options: { onProgress: (p: ImportProgress) => void; signal: AbortSignal }) => Promise<DatasetImportOutcome>,
  ): Promise<void> {
    this.importing = true;
    this.progress = { stage: 'reading', done: 0, total };
    const controller = (this.#import = new AbortController());
    try {
      const outcome = await start({ onProgress: (p) => (this.progress = p), signal: controller.signal });
      await this.#finish(outcome, what);
    } catch (err) {
      this.error = `Importing ${what} failed: ${errorMessage(err)}`;
    } finally {
      this.#import = null;
      this.importing = false;
      this.progress = null;
    }
  }

  /** One split of a Hub dataset through the dataset viewer API. */
  async importHub(request: { dataset: string; config?: string; split?: string; maxRows?: number }): Promise<void> {
    if (this.importing) return;
    this.clearMessages();
    if (!/^[\w.-]+(\/[\w.-]+)?$/.test(request.dataset.trim())) {
      this.error = `“${request.dataset}” is not a Hub dataset id; write it as owner/name, e.g. databricks/databricks-dolly-15k.`;
      return;
    }
    const name = this.importName.trim() || undefined;
    await this.#importing(request.dataset, 0, (options) => this.#studio.client.importHubDataset({ ...request, dataset: request.dataset.trim(), name }, options));
  }

  async #finish(outcome: DatasetImportOutcome, what: string): Promise<void> {
    if (outcome.status === 'cancelled') {
      this.notice = `Import of ${what} cancelled; nothing was stored.`;
    } else if (outcome.status === 'invalid') {
      this.error = outcome.message;
      this.importErrors = outcome.errors;
    } else {
      const { dataset } = outcome;
      this.importName = '';
      this.datasets = await this.#remote.listDatasets();
      await this.select(dataset.id);
      // last, so that when it shows, the new dataset's first examples are already listed
      this.notice = `Imported ${dataset.counts.total.toLocaleString('en-US')} examples from ${what} (${outcome.format}) as “${dataset.name}”.`;
    }
  }

  /** Stops the running import; nothing of it is stored (the import ends as 'cancelled'). */
  cancelImport(): void {
    this.#import?.abort();
  }

  clearMessages(): void {
    this.error = null;
    this.notice = null;
    this.importErrors = [];
  }

  // ---- browsing --------------------------------------------------------------------------------

  async select(id: string): Promise<void> {
    this.selectedId = id;
    this.editing = null;
    this.duplicates = null;
    this.stats = null;
    this.filter = { ...NO_FILTER };
    this.facets = { tasks: [], clusters: [] };
    await this.reload();
    try {
      this.facets = await this.#remote.datasetFacets(id);
    } catch (err) {
      this.error = errorMessage(err);
    }
  }

  setFilter(patch: Partial<Filter>): Promise<void> {
    this.filter = { ...this.filter, ...patch };
    return this.reload();
  }

  /** Drops the loaded pages and fetches the first one (with the total) for the current filter. */
  async reload(): Promise<void> {
    this.#generation++;
    this.#requested.clear();
    this.pages = new Map();
    if (!this.selectedId) {
      this.total = 0;
      return;
    }
    await this.#load(0);
  }

  /** Makes sure the examples at indices [first, last] are loaded (or on their way). */
  ensureRange(first: number, last: number): void {
    if (!this.selectedId || this.total === 0) return;
    const end = Math.min(last, this.total - 1);
    for (let page = Math.floor(Math.max(0, first) / PAGE_SIZE); page <= Math.floor(end / PAGE_SIZE); page++) void this.#load(page);
  }

  /** The example at list index `i`, or undefined while its page loads. */
  example(i: number): ExampleRecord | undefined {
    return this.pages.get(Math.floor(i / PAGE_SIZE))?.[i % PAGE_SIZE];
  }

  async #load(page: number): Promise<void> {
    const id = this.selectedId;
    const generation = this.#generation;
    const key = `${generation}:${page}`;
    if (!id || this.#requested.has(key)) return;
    this.#requested.add(key);
    const { search, task, cluster, split } = this.filter;
    try {
      const result = await this.#remote.queryExamples(id, {
        offset: page * PAGE_SIZE,
        limit: PAGE_SIZE,
        search: search.trim() || undefined,
        task: task || undefined,
        cluster: cluster || undefined,
        split: split || undefined,
      });
      if (generation !== this.#generation) return;
      this.total = result.total;
      this.pages = new Map(this.pages).set(page, result.examples);
    } catch (err) {
      this.#requested.delete(key);
      if (generation === this.#generation) this.error = errorMessage(err);
    }
  }

  // ---- curating --------------------------------------------------------------------------------

  edit(example: ExampleRecord | null): void {
    this.editing = example;
    this.editError = null;
  }

  /** Saves the edit; on a refused edit the editor stays open with the reason. */
  async saveEdit(patch: Partial<ExampleRecord>): Promise<boolean> {
    const example = this.editing;
    if (!example) return false;
    this.editError = null;
    try {
      await this.#remote.updateExample(example.id, patch);
      this.editing = null;
      await this.#afterChange();
      return true;
    } catch (err) {
      this.editError = errorMessage(err);
      return false;
    }
  }

  async deleteExample(example: ExampleRecord): Promise<void> {
    this.clearMessages();
    try {
      await this.#remote.deleteExample(example.id);
      if (this.editing?.id === example.id) this.editing = null;
      await this.#afterChange();
    } catch (err) {
      this.error = `Deleting example ${example.position + 1} failed: ${errorMessage(err)}`;
    }
  }

  async deleteDataset(dataset: DatasetRecord): Promise<void> {
    this.clearMessages();
    try {
      await this.#remote.deleteDataset(dataset.id);
      if (this.selectedId === dataset.id) this.selectedId = null;
      this.datasets = await this.#remote.listDatasets();
      if (!this.selectedId && this.datasets.length > 0) await this.select(this.datasets[0].id);
      else await this.reload();
    } catch (err) {
      this.error = `Deleting “${dataset.name}” failed: ${errorMessage(err)}`;
    }
  }

  async split(request: DatasetSplitRequest): Promise<void> {
    const id = this.selectedId;
    if (!id) return;
    this.clearMessages();
    this.busy = 'Splitting…';
    try {
      const result = await this.#remote.splitDataset(id, request);
      const { train, validation, test } = result.counts;
      this.notice = `Split into ${train} train, ${validation} validation and ${test} test examples${result.heldOut ? ` (${result.heldOut} held out by cluster)` : ''}.`;
      await this.#afterChange();
    } catch (err) {
      this.error = `Splitting failed: ${errorMessage(err)}`;
    } finally {
      this.busy = null;
    }
  }

  async loadStats(): Promise<void> {
    const id = this.selectedId;
    if (!id) return;
    this.clearMessages();
    this.busy = 'Counting…';
    try {
      this.stats = await this.#remote.datasetStats(id);
    } catch (err) {
      this.error = `Statistics failed: ${errorMessage(err)}`;
    } finally {
      this.busy = null;
    }
  }

  async findDuplicates(threshold: number): Promise<void> {
    const id = this.selectedId;
    if (!id) return;
    this.clearMessages();
    this.busy = 'Looking for duplicates…';
    try {
      this.duplicates = await this.#remote.findDuplicates(id, { threshold });
    } catch (err) {
      this.error = `Finding duplicates failed: ${errorMessage(err)}`;
    } finally {
      this.busy = null;
    }
  }

  /** Counts, pages and facets after a write; reports computed before it are stale. */
  async #afterChange(): Promise<void> {
    this.duplicates = null;
    this.stats = null;
    this.datasets = await this.#remote.listDatasets();
    await this.reload();
    if (this.selectedId) this.facets = await this.#remote.datasetFacets(this.selectedId);
  }

  /** Builds the JSONL in the worker and hands it to the browser as a download. */
  async exportAs(shape: ExportShape): Promise<void> {
    const id = this.selectedId;
    if (!id) return;
    this.clearMessages();
    try {
      const { fileName, text } = await this.#remote.exportDataset(id, shape);
      saveBlob(new Blob([text], { type: 'application/jsonl' }), fileName);
    } catch (err) {
      this.error = `Export failed: ${errorMessage(err)}`;
    }
  }
}
