// Finished FLAN experiment reports as the studio keeps them: in the evaluations store, tagged so the
// Evaluate view's list leaves them out, to survive a reload.
import type { FlanReport } from './flan';
import type { FlanPreset } from './presets';
import { getEvaluation, listEvaluations, saveEvaluation, type EvaluationRecord, type HoneDb } from '../store';

export const FLAN_REPORT_KIND = 'flan-experiment';

export interface StoredExperiment {
  id: string;
  preset: FlanPreset;
  model: { id: string; name: string };
  createdAt: number;
  report: FlanReport;
}

/** What is stored in an evaluation record's `report`. */
interface StoredReport {
  kind: typeof FLAN_REPORT_KIND;
  version: 1;
  preset: FlanPreset;
  model: { id: string; name: string };
  report: FlanReport;
}

function isFlanRecord(record: EvaluationRecord): boolean {
  const r = record.report as Partial<StoredReport> | undefined;
  return r?.kind === FLAN_REPORT_KIND && r.version === 1 && typeof r.report === 'object';
}

function toStored(record: EvaluationRecord): StoredExperiment {
  const r = record.report as StoredReport;
  return { id: record.id, preset: r.preset, model: r.model, createdAt: record.createdAt, report: r.report };
}

export async function saveFlanExperiment(db: HoneDb, preset: FlanPreset, model: { id: string; name: string }, report: FlanReport): Promise<StoredExperiment> {
  const stored: StoredReport = { kind: FLAN_REPORT_KIND, version: 1, preset, model: { ...model }, report };
  return toStored(await saveEvaluation(db, { modelId: model.id, report: stored }));
}

/** Stored FLAN experiments, newest first. */
export async function listFlanExperiments(db: HoneDb): Promise<StoredExperiment[]> {
  return (await listEvaluations(db)).filter(isFlanRecord).map(toStored);
}

export async function getFlanExperiment(db: HoneDb, id: string): Promise<StoredExperiment> {
  const record = await getEvaluation(db, id);
  if (!record || !isFlanRecord(record)) throw new Error(`FLAN experiment "${id}" is not stored in this browser; it may have been deleted.`);
  return toStored(record);
}
