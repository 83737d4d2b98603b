// Self-Instruct's review queue: candidates that passed the filters wait here until a person accepts
// them into a dataset or rejects them. No schema change: the queue is an ordinary dataset marked by
// its `source`, one example per generated instance, tagged "pending"; accepting moves examples
// (dropping the tag) in one transaction, rejecting deletes them.
import {
  appendExamples,
  createDataset,
  deleteExamples,
  getExample,
  getExamples,
  listDatasets,
  moveExamples,
  type DatasetRecord,
  type ExampleInput,
  type HoneDb,
} from '../../store';
import type { SelfInstructResult } from './pipeline';

/** The queue dataset's `source`; other views can hide datasets with it. */
export const REVIEW_QUEUE_SOURCE = 'hone:self-instruct-review-queue';
export const REVIEW_QUEUE_NAME = 'Self-Instruct review queue';
export const PENDING_TAG = 'pending';
export const SELF_INSTRUCT_TAG = 'self-instruct';

export type TaskKind = 'classification' | 'generation';

export interface QueueItem {
  /** the example's id: what accept and reject take */
  id: string;
  instruction: string;
  input: string;
  output: string;
  kind: TaskKind;
  /** which run made it */
  source: string;
}

/** A candidate instruction with its waiting instances. */
export interface QueueGroup {
  instruction: string;
  kind: TaskKind;
  items: QueueItem[];
}

export interface ReviewQueue {
  /** null until a run has put something in the queue */
  datasetId: string | null;
  total: number;
  groups: QueueGroup[];
}

export function isReviewQueue(dataset: Pick<DatasetRecord, 'source'>): boolean {
  return dataset.source === REVIEW_QUEUE_SOURCE;
}

export async function findReviewQueue(db: HoneDb): Promise<DatasetRecord | undefined> {
  return (await listDatasets(db)).find(isReviewQueue);
}

/** The kept instances of a run's kept candidates, as queue examples. */
export function queueExamples(result: SelfInstructResult): ExampleInput[] {
  const examples: ExampleInput[] = [];
  for (const candidate of result.candidates) {
    if (!candidate.decision.kept) continue;
    const kind: TaskKind = candidate.isClassification ? 'classification' : 'generation';
    for (const instance of candidate.instances) {
      if (!instance.decision.kept) continue;
      examples.push({
        instruction: candidate.instruction,
        ...(instance.input === '' ? {} : { context: instance.input }),
        output: instance.output,
        source: `Self-Instruct, seed ${result.seed}`,
        tags: [PENDING_TAG, SELF_INSTRUCT_TAG, kind],
      });
    }
  }
  return examples;
}

/** Puts a run's kept examples in the queue (creating it the first time); returns how many. */
export async function enqueueResult(db: HoneDb, result: SelfInstructResult): Promise<{ datasetId: string | null; added: number }> {
  const examples = queueExamples(result);
  const queue = await findReviewQueue(db);
  if (examples.length === 0) return { datasetId: queue?.id ?? null, added: 0 };
  if (queue) {
    await appendExamples(db, queue.id, examples);
    return { datasetId: queue.id, added: examples.length };
  }
  const created = await createDataset(db, { name: REVIEW_QUEUE_NAME, source: REVIEW_QUEUE_SOURCE }, examples);
  return { datasetId: created.id, added: examples.length };
}

/** Every waiting example, grouped by instruction in the order they were queued. */
export async function listReviewQueue(db: HoneDb): Promise<ReviewQueue> {
  const queue = await findReviewQueue(db);
  if (!queue) return { datasetId: null, total: 0, groups: [] };
  const groups = new Map<string, QueueGroup>();
  const examples = await getExamples(db, queue.id);
  for (const example of examples) {
    const kind: TaskKind = example.tags?.includes('classification') ? 'classification' : 'generation';
    const item: QueueItem = {
      id: example.id,
      instruction: example.instruction,
      input: example.context ?? '',
      output: example.output ?? '',
      kind,
      source: example.source ?? '',
    };
    const group = groups.get(example.instruction) ?? { instruction: example.instruction, kind, items: [] };
    group.items.push(item);
    groups.set(example.instruction, group);
  }
  return { datasetId: queue.id, total: examples.length, groups: [...groups.values()] };
}

/** Throws unless every id is an example waiting in the queue, so accept/reject touch nothing else. */
async function checkQueued(db: HoneDb, ids: readonly string[], what: string): Promise<DatasetRecord> {
  if (ids.length === 0) throw new Error(`${what}: no candidates were selected.`);
  const queue = await findReviewQueue(db);
  if (!queue) throw new Error(`${what}: the Self-Instruct review queue is empty; run Self-Instruct first.`);
  for (const id of ids) {
    const example = await getExample(db, id);
    if (!example || example.datasetId !== queue.id) {
      throw new Error(`${what}: “${id}” is not waiting in the review queue (already accepted or rejected?); reload the queue.`);
    }
  }
  return queue;
}

/** Moves the chosen examples into `targetDatasetId`, without their "pending" tag; all or none. */
export async function acceptCandidates(db: HoneDb, ids: readonly string[], targetDatasetId: string): Promise<number> {
  const queue = await checkQueued(db, ids, 'Accepting candidates');
  if (targetDatasetId === queue.id) throw new Error('Accepting candidates: choose a dataset other than the review queue itself.');
  const moved = await moveExamples(db, ids, targetDatasetId, { removeTags: [PENDING_TAG] });
  return moved.length;
}

/** Deletes the chosen examples from the queue. */
export async function rejectCandidates(db: HoneDb, ids: readonly string[]): Promise<number> {
  await checkQueued(db, ids, 'Rejecting candidates');
  return deleteExamples(db, ids);
}
