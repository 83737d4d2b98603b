// Splitting a stored dataset: assignSplits (../split.ts) decides, then one transaction writes every
// example's new split and the dataset's recounted counts, so a split is applied whole or not at all.
import { getDataset, StoreNotFoundError, tallyExamples, type DatasetRecord, type HoneDb, type Split } from '../../store';
import { prefixRange, writeTransaction } from '../../store/transaction';
import { examplesChanged, scanExamples } from './examples';
import { assignSplits, type SplitFractions } from '../split';

export interface DatasetSplitRequest extends SplitFractions {
  seed: number;
  /** task clusters whose every example goes to test (zero-shot evaluation on unseen families) */
  heldOutClusters?: string[];
}

export interface DatasetSplitResult {
  dataset: DatasetRecord;
  counts: Record<Split, number>;
  /** examples sent to test because their cluster is held out */
  heldOut: number;
}

export async function splitDataset(db: HoneDb, datasetId: string, request: DatasetSplitRequest): Promise<DatasetSplitResult> {
  const dataset = await getDataset(db, datasetId);
  if (!dataset) throw new StoreNotFoundError('dataset', datasetId);
  // Decide from ids and clusters alone: the records themselves are read again while writing.
  const ids: string[] = [];
  const clusters: { cluster?: string }[] = [];
  for await (const batch of scanExamples(db, datasetId)) {
    for (const example of batch) {
      ids.push(example.id);
      clusters.push(example.cluster === undefined ? {} : { cluster: example.cluster });
    }
  }
  const { train, validation, test, seed, heldOutClusters } = request;
  const result = assignSplits(clusters, { seed, fractions: { train, validation, test }, heldOutClusters });
  const what = `splitting dataset “${dataset.name}” (${ids.length.toLocaleString('en-US')} examples)`;
  const saved = await writeTransaction(db, ['datasets', 'examples'], { what }, async (tx) => {
    const stored = await tx.objectStore('datasets').get(datasetId);
    if (!stored) throw new StoreNotFoundError('dataset', datasetId);
    let cursor = await tx.objectStore('examples').index('byDataset').openCursor(prefixRange(datasetId));
    let k = 0;
    const tally: { split?: Split }[] = [];
    while (cursor) {
      const example = cursor.value;
      if (example.id !== ids[k]) {
        throw new Error(`Dataset “${dataset.name}” changed while it was being split (example ${k + 1}); nothing was changed, split it again.`);
      }
      const split = result.splits[k++];
      tally.push({ split });
      if (example.split !== split) await cursor.update({ ...example, split });
      cursor = await cursor.continue();
    }
    if (k !== ids.length) throw new Error(`Dataset “${dataset.name}” changed while it was being split; nothing was changed, split it again.`);
    const updated: DatasetRecord = { ...stored, counts: tallyExamples(tally), updatedAt: Date.now() };
    await tx.objectStore('datasets').put(updated);
    return updated;
  });
  examplesChanged();
  return { dataset: saved, counts: result.counts, heldOut: result.heldOut };
}
