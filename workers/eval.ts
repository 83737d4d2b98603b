// The studio worker's eval API (spread into the worker's api object in studio.worker.ts). Thin: the
// evaluation itself is src/core/eval/session.ts; this file holds the one running evaluation (its
// AbortController), cancels it when the loaded model changes, and releases comlink callback proxies.
import { deleteEvaluation, deleteRating, listDatasets, listRatings, type RatingRecord } from '../src/core/store';
import { datasetFacets } from '../src/core/data/library';
import { listMetrics } from '../src/core/eval/scorers';
import { listRunSummaries } from '../src/core/train/session';
import {
  exportEvaluation,
  listEvaluationSummaries,
  rateExample,
  requireEvaluation,
  runEvalSession,
  type EvalEvent,
  type EvalItem,
  type EvalReport,
  type EvalSpec,
  type EvaluationSummary,
  type ExportFormat,
  type RatingKind,
} from '../src/core/eval/session';
import { db, onModelChange, releaseCallback, requireModel } from './context';
import { trainingApi } from './training';

export type { EvalEvent, EvalItem, EvalReport, EvalSpec, EvaluationSummary, ExportFormat, RatingKind, RatingRecord };

export interface EvalMetricInfo {
  name: string;
  description: string;
  mode: 'generate' | 'loglik';
  requires: 'references' | 'options' | 'checks';
  best: number;
}

export interface EvalDatasetChoice {
  id: string;
  name: string;
  /** total, train, validation, test, unsplit */
  counts: Record<string, number>;
  clusters: [string, number][];
}

export interface EvalRunChoice {
  id: string;
  name: string;
  modelId: string;
  method: string;
  status: string;
  step: number;
}

export interface EvalOutcome {
  /** the stored evaluation's id; null when it was cancelled before any example finished */
  id: string | null;
  report: EvalReport;
}

let running: AbortController | null = null;


export const evalApi = {
  evalMetrics(): EvalMetricInfo[] {
    return listMetrics().map(({ name, description, mode, requires, best }) => ({ name, description, mode, requires, best }));
  },

  /** What the form offers: stored datasets (with their clusters) and training runs that have weights. */
  async evalSources(): Promise<{ datasets: EvalDatasetChoice[]; runs: EvalRunChoice[] }> {
    const handle = await db();
    const datasets = await Promise.all(
      (await listDatasets(handle)).map(async (d) => ({ id: d.id, name: d.name, counts: d.counts, clusters: (await datasetFacets(handle, d.id)).clusters })),
    );
    const runs = (await listRunSummaries(handle, null))
      .filter((r) => r.step > 0)
      .map(({ id, name, modelId, method, status, step }) => ({ id, name, modelId, method, status, step }));
    return { datasets, runs };
  },

  /**
   * Evaluates the loaded model (and its tuned version) on an eval set, calling `onEvent` as examples
   * finish, and stores the report. Resolves when it ends (also when cancelled); rejects on bad input
   * before any model runs.
   */
  async evalRun(spec: EvalSpec, onEvent?: (event: EvalEvent) => void): Promise<EvalOutcome> {
    try {
      const model = requireModel();
      if (running) throw new Error('An evaluation is already running: wait for it or cancel it first.');
      const training = (await trainingApi.listTrainingRuns()).find((r) => r.status === 'running');
      if (training) throw new Error(`Run “${training.name}” is training on the loaded model; pause or cancel it before evaluating.`);
      const controller = new AbortController();
      running = controller;
      const unsubscribe = onModelChange(() => controller.abort());
      try {
        const { summary, decoder, tokenizer } = model;
        return await runEvalSession(await db(), { id: summary.id, name: summary.name, decoder, tokenizer }, spec, {
          signal: controller.signal,
          onEvent: onEvent ? (event) => void onEvent(event) : undefined,
        });
      } finally {
        unsubscribe();
        running = null;
      }
    } finally {
      releaseCallback(onEvent);
    }
  },

  /** Stops the running evaluation after the current token; what finished is kept. */
  evalCancel(): boolean {
    if (!running) return false;
    running.abort();
    return true;
  },

  async evalList(): Promise<EvaluationSummary[]> {
    return listEvaluationSummaries(await db());
  },

  async evalGet(id: string): Promise<{ id: string; report: EvalReport; ratings: RatingRecord[] }> {
    const handle = await db();
    const { report } = await requireEvaluation(handle, id);
    return { id, report, ratings: await listRatings(handle, id) };
  },

  /** Deletes an evaluation and its ratings. */
  async evalDelete(id: string): Promise<void> {
    await deleteEvaluation(await db(), id);
  },

  async evalRate(evaluationId: string, exampleId: string, kind: RatingKind, value: string): Promise<RatingRecord> {
    return rateExample(await db(), evaluationId, exampleId, kind, value);
  },

  async evalUnrate(ratingId: string): Promise<void> {
    await deleteRating(await db(), ratingId);
  },

  async evalRatings(evaluationId: string): Promise<RatingRecord[]> {
    return listRatings(await db(), evaluationId);
  },

  /** The report as JSON or CSV, or its A/B preferences as JSONL pairs. */
  async evalExport(id: string, format: ExportFormat): Promise<{ fileName: string; text: string; mimeType: string; count: number }> {
    return exportEvaluation(await db(), id, format);
  },
};
