// The studio worker's Self-Instruct API (spread into the worker's api object in studio.worker.ts):
// one run at a time on the current model, its kept examples put in the review queue, and the
// queue's accept/reject. The pipeline itself is src/core/data/self-instruct; a model change
// cancels the run, since the old decoder is disposed.
import { modelGenerator } from '../src/core/data/self-instruct/model-generator';
import {
  runSelfInstruct as runPipeline,
  type SelfInstructProgress,
  type SelfInstructResult,
} from '../src/core/data/self-instruct/pipeline';
import {
  acceptCandidates as acceptQueued,
  enqueueResult,
  isReviewQueue,
  listReviewQueue as listQueue,
  rejectCandidates as rejectQueued,
  type ReviewQueue,
} from '../src/core/data/self-instruct/review-queue';
import { BUILT_IN_SEED_TASKS, type SeedTask } from '../src/core/data/self-instruct/seed-tasks';
import { getDataset, getExamples, listDatasets, type HoneDb } from '../src/core/store';
import { db, onModelChange, releaseCallback, requireModel } from './context';

export type { ReviewQueue, SeedTask, SelfInstructProgress, SelfInstructResult };
export type { Candidate, CandidateInstance } from '../src/core/data/self-instruct/pipeline';
export type { QueueGroup, QueueItem } from '../src/core/data/self-instruct/review-queue';

export interface SelfInstructRunOptions {
  /** use this dataset's instructions (and their examples) as the seed pool */
  seedDatasetId?: string;
  /** or these; the built-in seed tasks when neither is given */
  seedTasks?: (string | SeedTask)[];
  /** instructions to keep through the instruction filters */
  numInstructions: number;
  /** bootstrap prompts to try at most (default 2 × numInstructions + 2) */
  maxRequests?: number;
  temperature?: number;
  topP?: number;
  repetitionPenalty?: number;
  /** unset = a fresh random seed (reported in the result) */
  seed?: number;
  maxNewTokens?: { bootstrap?: number; classify?: number; instances?: number };
}

export interface SelfInstructRun {
  result: SelfInstructResult;
  /** examples added to the review queue */
  queued: number;
  queueDatasetId: string | null;
  seedTasks: number;
  /** why a cancelled run stopped */
  stoppedBecause?: 'cancelled' | 'model-changed';
}

let running: AbortController | null = null;
let lastRun: SelfInstructRun | null = null;

async function seedTasksFor(handle: HoneDb, opts: SelfInstructRunOptions): Promise<SeedTask[]> {
  if (opts.seedDatasetId !== undefined) {
    const dataset = await getDataset(handle, opts.seedDatasetId);
    if (!dataset) throw new Error(`Self-Instruct: the seed dataset “${opts.seedDatasetId}” no longer exists; choose another.`);
    const tasks = new Map<string, SeedTask>();
    for (const example of await getExamples(handle, dataset.id)) {
      const instruction = example.instruction.trim();
      if (instruction === '') continue;
      const task = tasks.get(instruction) ?? { instruction, instances: [] };
      task.instances.push({ input: example.context ?? '', output: example.output ?? '' });
      tasks.set(instruction, task);
    }
    if (tasks.size === 0) throw new Error(`Self-Instruct: the seed dataset “${dataset.name}” has no examples with an instruction.`);
    return [...tasks.values()];
  }
  if (opts.seedTasks !== undefined) {
    return opts.seedTasks.map((task) => (typeof task === 'string' ? { instruction: task, instances: [] } : task));
  }
  return [...BUILT_IN_SEED_TASKS];
}

export const selfInstructApi = {
  /** Datasets that can seed a run or receive accepted candidates (every one but the queue), newest first. */
  async selfInstructDatasets(): Promise<{ id: string; name: string; total: number }[]> {
    const datasets = await listDatasets(await db());
    return datasets.filter((dataset) => !isReviewQueue(dataset)).map((dataset) => ({ id: dataset.id, name: dataset.name, total: dataset.counts.total ?? 0 }));
  },

  /** The built-in seed pool, for display. */
  selfInstructSeedTasks(): SeedTask[] {
    return [...BUILT_IN_SEED_TASKS];
  },

  /**
   * Runs Self-Instruct on the current model and puts the kept examples in the review queue.
   * Resolves with every candidate and its decision, also when cancelled (what finished is queued).
   */
  async runSelfInstruct(opts: SelfInstructRunOptions, onProgress?: (progress: SelfInstructProgress) => void): Promise<SelfInstructRun> {
    try {
      const { decoder, tokenizer } = requireModel();
      if (running) throw new Error('Self-Instruct is already running: cancel it before starting another.');
      const controller = new AbortController();
      running = controller;
      let modelChanged = false;
      const unsubscribe = onModelChange(() => {
        modelChanged = true;
        controller.abort();
      });
      try {
        const handle = await db();
        const seedTasks = await seedTasksFor(handle, opts);
        // What already waits in the queue counts as generated: not asked for again, and shown in prompts.
        const machineInstructions = (await listQueue(handle)).groups.map((group) => group.instruction);
        const result = await runPipeline(
          modelGenerator(decoder, tokenizer),
          {
            seedTasks,
            machineInstructions,
            numInstructions: opts.numInstructions,
            maxRequests: opts.maxRequests,
            temperature: opts.temperature,
            topP: opts.topP,
            repetitionPenalty: opts.repetitionPenalty,
            seed: opts.seed ?? Math.floor(Math.random() * 4294967296),
            maxNewTokens: opts.maxNewTokens,
          },
          { signal: controller.signal, onProgress: onProgress && ((progress) => void onProgress(progress)) },
        );
        const { datasetId, added } = await enqueueResult(handle, result);
        const run: SelfInstructRun = { result, queued: added, queueDatasetId: datasetId, seedTasks: seedTasks.length };
        if (result.status === 'cancelled') run.stoppedBecause = modelChanged ? 'model-changed' : 'cancelled';
        lastRun = run;
        return run;
      } finally {
        unsubscribe();
        running = null;
      }
    } finally {
      releaseCallback(onProgress);
    }
  },

  /** Stops the running Self-Instruct after the current generation step; false when none runs. */
  cancelSelfInstruct(): boolean {
    if (!running) return false;
    running.abort();
    return true;
  },

  /** The last finished run of this worker (every decision), or null. */
  lastSelfInstructRun(): SelfInstructRun | null {
    return lastRun;
  },

  async listReviewQueue(): Promise<ReviewQueue> {
    return listQueue(await db());
  },

  /** Moves the chosen queued examples into a dataset (one transaction); returns how many. */
  async acceptCandidates(ids: string[], targetDatasetId: string): Promise<number> {
    return acceptQueued(await db(), ids, targetDatasetId);
  },

  /** Deletes the chosen queued examples; returns how many. */
  async rejectCandidates(ids: string[]): Promise<number> {
    return rejectQueued(await db(), ids);
  },
};
