// Statistics of a stored dataset (../stats.ts over the examples read in batches, so memory holds one
// batch and the lengths): per split, task and cluster, and the length histogram in the loaded
// model's tokens, or in words when no model is loaded.
import { getDataset, StoreNotFoundError, type HoneDb } from '../../store';
import { scanExamples } from './examples';
import { StatsAccumulator, type DatasetStats, type Tokenize } from '../stats';

export interface StoredDatasetStats extends DatasetStats {
  /** whose tokens the lengths count; null when they count words */
  tokenizer: string | null;
}

export async function storedDatasetStats(
  db: HoneDb,
  datasetId: string,
  opts: { tokenize?: Tokenize; tokenizerName?: string } = {},
): Promise<StoredDatasetStats> {
  if (!(await getDataset(db, datasetId))) throw new StoreNotFoundError('dataset', datasetId);
  const stats = new StatsAccumulator({ tokenize: opts.tokenize });
  for await (const batch of scanExamples(db, datasetId)) for (const example of batch) stats.add(example);
  return { ...stats.result(), tokenizer: opts.tokenize ? (opts.tokenizerName ?? 'the loaded model') : null };
}
