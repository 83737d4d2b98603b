// A stored studio run's hand-off folder as a zip: the run's stored spec prepared again by the run
// builder (as a resume prepares it: the dataset as stored now, the same settings and seed), then
// written by handoffFolder, so the studio's download and `hone handoff` hold the same files.
import { getRun, type HoneDb } from '../store';
import { writeZip } from '../zip';
import { prepareRun } from '../train/run-builder';
import { slug, type ExportedRun } from '../train/run-export';
import { storedConfig, type SessionModel } from '../train/session';
import { loadRecords, runRowSettings } from '../train/session-spec';
import { checkpointHubId, handoffFolder } from './index';

/** What the scripts load: the checkpoint's own Hub id when it names one, else the model's name in the studio. */
function baseModelOf(model: SessionModel): string {
  return checkpointHubId(model.rawConfig) ?? model.name;
}

export async function handoffRun(db: HoneDb, model: SessionModel, runId: string): Promise<ExportedRun> {
  const run = await getRun(db, runId);
  if (!run) throw new Error(`Run "${runId}" is not stored in this browser; it may have been deleted.`);
  const config = storedConfig(run);
  if (run.modelId !== model.id) {
    throw new Error(`Run “${config.name}” trained model ${run.modelId}, but the loaded model is “${model.name}” (${model.id}); load the run's model to hand it off.`);
  }
  const { spec } = config;
  const source = await loadRecords(db, spec);
  const rows = runRowSettings(spec);
  let prepared;
  try {
    prepared = prepareRun(model.decoder, model.tokenizer, source, { method: spec.method, trainer: spec.trainer, rows, validationFraction: spec.validationFraction });
  } catch (error) {
    throw new Error(`Run “${config.name}”: its settings no longer build a run (${(error as Error).message})`, { cause: error });
  }
  try {
    const { files } = await handoffFolder({ run: prepared, records: source.records, method: spec.method.name, baseModel: baseModelOf(model), rows, validationFraction: spec.validationFraction });
    const folder = `${slug(config.name)}-handoff`;
    const entries = [...files].map(([name, bytes]) => ({ name: `${folder}/${name}`, bytes }));
    return { fileName: `${folder}.zip`, bytes: writeZip(entries, { date: new Date(run.createdAt) }) };
  } finally {
    prepared.peft.dispose();
  }
}
