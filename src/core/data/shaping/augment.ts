// Augmenting a stored dataset into a new one (the store side of ../augment.ts): inverted records
// (answer → question) and template paraphrases, optionally after the originals, written by one
// createDataset transaction with an AugmentRecipe on the dataset record. New records keep their
// source's split, cluster and tags plus "inverted" or "paraphrase:<template id>" (../augment.ts).
import { createDataset, getDataset, getExamples, type DatasetRecord, type ExampleInput, type HoneDb } from '../../store';
import { invertRecords, paraphraseRecords } from '../augment';
import { checkName, checkSeed, checkWhole, fail, recordFields } from './common';

export interface AugmentSpec {
  /** add the turned-around record (answer → question) of every record that has one */
  invert: boolean;
  /** paraphrases per record through distinct templates of its task (0 = none) */
  paraphrase: number;
  seed: number;
  /** copy the original records first (default false: only the new records) */
  includeOriginals?: boolean;
  /** the new dataset's name; default "<name> (augmented)" */
  name?: string;
}

export interface AugmentRecipe {
  kind: 'augment';
  from: { datasetId: string; datasetName: string };
  spec: AugmentSpec;
  counts: { originals: number; inverted: number; paraphrased: number; notInvertible: number; notParaphrasable: number };
}

/** Most paraphrases per record: no built-in task has more than 7 standard phrasings for one record. */
export const MAX_PARAPHRASES = 10;

/**
 * A new dataset with the inverted and/or paraphrased records of `datasetId` (../augment.ts), in that
 * order, after the originals when `includeOriginals`. Refuses when nothing would be added.
 */
export async function augmentDataset(db: HoneDb, datasetId: string, spec: AugmentSpec): Promise<DatasetRecord> {
  const what = 'augmentation';
  if (typeof spec?.invert !== 'boolean') fail(`${what}: invert must be true or false, got ${String(spec?.invert)}`);
  checkWhole(spec.paraphrase, what, 'paraphrase', 0);
  if (spec.paraphrase > MAX_PARAPHRASES) fail(`${what}: paraphrase is ${spec.paraphrase}; at most ${MAX_PARAPHRASES} per record (a task has fewer templates than that)`);
  if (!spec.invert && spec.paraphrase === 0) fail(`${what}: nothing to do — turn on inversion, ask for paraphrases, or both`);
  checkSeed(spec.seed, what);
  if (spec.name !== undefined) checkName(spec.name, what);
  const dataset = await getDataset(db, datasetId);
  if (!dataset) fail(`${what}: no dataset with id “${datasetId}” is stored; it may have been deleted — reload the list and choose another`);
  const originals = await getExamples(db, dataset.id);
  if (originals.length === 0) fail(`${what}: dataset “${dataset.name}” has no examples`);

  const inverted = spec.invert ? invertRecords(originals) : { records: [], skipped: [] };
  const paraphrased = spec.paraphrase > 0 ? paraphraseRecords(originals, { seed: spec.seed, perRecord: spec.paraphrase }) : { records: [], skipped: [] };
  const added = inverted.records.length + paraphrased.records.length;
  if (added === 0) {
    fail(`${what}: no example of “${dataset.name}” could be augmented (conversations, plain text and examples without an output are skipped)`);
  }
  const examples: ExampleInput[] = [
    ...(spec.includeOriginals ? originals.map(recordFields) : []),
    ...inverted.records,
    ...paraphrased.records,
  ];
  const recipe: AugmentRecipe = {
    kind: 'augment',
    from: { datasetId: dataset.id, datasetName: dataset.name },
    spec: structuredClone(spec),
    counts: {
      originals: spec.includeOriginals ? originals.length : 0,
      inverted: inverted.records.length,
      paraphrased: paraphrased.records.length,
      notInvertible: spec.invert ? inverted.skipped.length : 0,
      notParaphrasable: spec.paraphrase > 0 ? paraphrased.skipped.length : 0,
    },
  };
  const made = [spec.invert ? 'inverted' : '', spec.paraphrase > 0 ? `${spec.paraphrase} paraphrase${spec.paraphrase > 1 ? 's' : ''} per record` : ''].filter(Boolean).join(' + ');
  const name = spec.name?.trim() || `${dataset.name} (augmented)`;
  return createDataset(db, { name, source: `augmented from “${dataset.name}”: ${made}`, recipe: { ...recipe } }, examples);
}
