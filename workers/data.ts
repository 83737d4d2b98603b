// The studio worker's data API (spread into the worker's api object in studio.worker.ts): dataset
// import with progress and cancel, browsing, editing and export. Logic lives in src/core/data
// (library/), which Node tests exercise; this file only holds the worker's state (the running
// import's AbortController) and releases comlink callback proxies.
import { listDatasets as listStoredDatasets, type DatasetRecord, type ExamplePatch, type ExampleRecord } from '../src/core/store';
import {
  datasetFacets as facets,
  editExample,
  exportDataset as exportStored,
  queryExamples as query,
  removeDataset,
  removeExample,
  type ExamplePage,
  type ExamplePageQuery,
} from '../src/core/data/library';
import {
  importDatasetFile,
  importHubDataset as importHub,
  previewCsvColumns as previewCsv,
  type CsvPreview,
  type DatasetFile,
  type DatasetImportOptions,
  type DatasetImportOutcome,
  type ImportProgress,
} from '../src/core/data/library/import';
import { splitDataset as splitStored, type DatasetSplitRequest, type DatasetSplitResult } from '../src/core/data/library/split';
import { findDatasetDuplicates, type DatasetDuplicates } from '../src/core/data/library/dedup';
import { storedDatasetStats, type StoredDatasetStats } from '../src/core/data/library/stats';
import type { ExportShape } from '../src/core/data/export';
import { currentModel, db, releaseCallback } from './context';

export type { CsvPreview, DatasetDuplicates, StoredDatasetStats, DatasetImportOutcome, DatasetSplitRequest, DatasetSplitResult, DatasetRecord, ExamplePage, ExamplePageQuery, ExampleRecord };
/** named apart from the model import's ImportProgress (studio.worker.ts) */
export type DatasetImportProgress = ImportProgress;
export type DatasetImportRequest = Pick<DatasetImportOptions, 'format' | 'name' | 'mapping'>;
export interface HubImportRequest {
  dataset: string;
  config?: string;
  split?: string;
  maxRows?: number;
  name?: string;
}

let importing: AbortController | null = null;


async function runImport(
  onProgress: ((p: ImportProgress) => void) | undefined,
  body: (signal: AbortSignal, progress: (p: ImportProgress) => void) => Promise<DatasetImportOutcome>,
): Promise<DatasetImportOutcome> {
  if (importing) throw new Error('A dataset import is already running: wait for it or cancel it first.');
  const controller = new AbortController();
  importing = controller;
  try {
    return await body(controller.signal, (p) => void onProgress?.(p));
  } finally {
    importing = null;
    releaseCallback(onProgress);
  }
}

export const dataApi = {
  /**
   * Parses a dataset file here in the worker and stores all of its records as a new dataset, or
   * none. Resolves with `invalid` (every error located by line/record and field) or `cancelled`
   * instead of storing anything; rejects only when storage itself fails.
   */
  async importDataset(file: DatasetFile, opts: DatasetImportRequest = {}, onProgress?: (p: ImportProgress) => void): Promise<DatasetImportOutcome> {
    return runImport(onProgress, async (signal, progress) =>
      importDatasetFile(await db(), file, { format: opts.format, name: opts.name, mapping: opts.mapping, signal, onProgress: progress }),
    );
  },

  /** One split of a Hugging Face Hub dataset, read through the dataset viewer API. */
  async importHubDataset(request: HubImportRequest, onProgress?: (p: ImportProgress) => void): Promise<DatasetImportOutcome> {
    return runImport(onProgress, async (signal, progress) => importHub(await db(), { ...request, signal, onProgress: progress }));
  },

  /** Stops the running import; nothing of it is stored. False when none is running. */
  cancelDatasetImport(): boolean {
    if (!importing) return false;
    importing.abort();
    return true;
  },

  /** The header, first rows and a guessed column mapping of a CSV/TSV file. */
  previewCsvColumns(file: DatasetFile): Promise<CsvPreview> {
    return previewCsv(file);
  },

  async listDatasets(): Promise<DatasetRecord[]> {
    return listStoredDatasets(await db());
  },

  async deleteDataset(id: string): Promise<void> {
    await removeDataset(await db(), id);
  },

  async queryExamples(datasetId: string, request: ExamplePageQuery): Promise<ExamplePage> {
    return query(await db(), datasetId, request);
  },

  async datasetFacets(datasetId: string): Promise<{ tasks: [string, number][]; clusters: [string, number][] }> {
    return facets(await db(), datasetId);
  },

  async updateExample(id: string, patch: ExamplePatch): Promise<ExampleRecord> {
    return editExample(await db(), id, patch);
  },

  async deleteExample(id: string): Promise<void> {
    await removeExample(await db(), id);
  },

  /** Records per split, task and cluster, and a length histogram in the loaded model's tokens (words without a model). */
  async datasetStats(id: string): Promise<StoredDatasetStats> {
    const model = currentModel();
    const tokenize = model ? (text: string) => model.tokenizer.encode(text, { addSpecialTokens: false }) : undefined;
    return storedDatasetStats(await db(), id, { tokenize, tokenizerName: model?.summary.name });
  },

  /** Exact and near-duplicate groups (Jaccard of word 3-gram shingles ≥ threshold, default 0.8). */
  async findDuplicates(id: string, opts: { threshold?: number } = {}): Promise<DatasetDuplicates> {
    return findDatasetDuplicates(await db(), id, { threshold: opts.threshold });
  },

  /** Seeded train/validation/test assignment (held-out clusters all to test), written in one transaction. */
  async splitDataset(id: string, request: DatasetSplitRequest): Promise<DatasetSplitResult> {
    return splitStored(await db(), id, request);
  },

  async exportDataset(id: string, shape: ExportShape): Promise<{ fileName: string; text: string; count: number }> {
    return exportStored(await db(), id, shape);
  },
};
