// Evaluation reports and the human ratings given while reading them (thumbs up/down on one
// answer, or A/B preferences between two). Deleting an evaluation deletes its ratings with it.

import { StoreNotFoundError } from './errors';
import type { EvaluationRecord, HoneDb, RatingRecord } from './schema';
import { approximateBytes, compareIds, fireDeletes, fireWrites, newId, writeTransaction } from './transaction';

export type EvaluationInput = Omit<EvaluationRecord, 'id' | 'createdAt'> & { id?: string };
/** Pass an existing id to change a rating rather than add another. */
export type RatingInput = Omit<RatingRecord, 'id' | 'createdAt'> & { id?: string };

export async function saveEvaluation(db: HoneDb, input: EvaluationInput): Promise<EvaluationRecord> {
  const record: EvaluationRecord = { ...input, id: input.id ?? newId(), createdAt: Date.now() };
  await writeTransaction(
    db,
    ['evaluations'],
    { what: `saving the evaluation of model ${input.modelId}`, bytes: () => approximateBytes(record) },
    (tx) => {
      fireWrites(tx, 'evaluations', 'put', [record]);
    },
  );
  return record;
}

export function getEvaluation(db: HoneDb, id: string): Promise<EvaluationRecord | undefined> {
  return db.get('evaluations', id);
}

/** Evaluations newest first, optionally only one run's or one model's. */
export async function listEvaluations(
  db: HoneDb,
  filter: { runId?: string; modelId?: string } = {},
): Promise<EvaluationRecord[]> {
  let evaluations: EvaluationRecord[];
  if (filter.runId !== undefined) {
    evaluations = await db.getAllFromIndex('evaluations', 'byRun', filter.runId);
    if (filter.modelId !== undefined) evaluations = evaluations.filter((e) => e.modelId === filter.modelId);
  } else if (filter.modelId !== undefined) {
    evaluations = await db.getAllFromIndex('evaluations', 'byModel', filter.modelId);
  } else {
    evaluations = await db.getAllFromIndex('evaluations', 'byCreatedAt');
  }
  // ties within a millisecond: the later (time-ordered) id is the newer evaluation
  return evaluations.sort((a, b) => b.createdAt - a.createdAt || compareIds(b.id, a.id));
}

/** Deletes an evaluation and all of its ratings in one transaction. Unknown ids are a no-op. */
export async function deleteEvaluation(db: HoneDb, id: string): Promise<void> {
  await writeTransaction(db, ['evaluations', 'ratings'], { what: `deleting evaluation ${id}` }, async (tx) => {
    const ratingKeys = await tx.objectStore('ratings').index('byEvaluation').getAllKeys(id);
    fireDeletes(tx, 'ratings', ratingKeys);
    fireDeletes(tx, 'evaluations', [id]);
  });
}

/** Saves one rating; throws StoreNotFoundError when its evaluation is not stored. */
export async function saveRating(db: HoneDb, input: RatingInput): Promise<RatingRecord> {
  if (input.kind !== 'thumbs' && input.kind !== 'ab') {
    throw new Error(`A rating's kind must be “thumbs” or “ab”, got “${String(input.kind)}”.`);
  }
  const record: RatingRecord = { ...input, id: input.id ?? newId(), createdAt: Date.now() };
  return writeTransaction(
    db,
    ['evaluations', 'ratings'],
    { what: `saving your rating of example ${input.exampleId}` },
    async (tx) => {
      const evaluation = await tx.objectStore('evaluations').get(input.evaluationId);
      if (!evaluation) throw new StoreNotFoundError('evaluation', input.evaluationId);
      fireWrites(tx, 'ratings', 'put', [record]);
      return record;
    },
  );
}

/** An evaluation's ratings by when they were given (ties within a millisecond by id, which is creation order). */
export async function listRatings(db: HoneDb, evaluationId: string): Promise<RatingRecord[]> {
  const ratings = await db.getAllFromIndex('ratings', 'byEvaluation', evaluationId);
  return ratings.sort((a, b) => a.createdAt - b.createdAt || compareIds(a.id, b.id));
}

export async function deleteRating(db: HoneDb, id: string): Promise<void> {
  await writeTransaction(db, ['ratings'], { what: `deleting rating ${id}` }, (tx) => {
    fireDeletes(tx, 'ratings', [id]);
  });
}
