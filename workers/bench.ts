// The studio worker's bench API (spread into the worker's api object in studio.worker.ts): the
// training benchmark of src/core/bench on the backend this worker chose. cli/bench.ts opens the app
// once per backend (?backend=…) and calls it, since a worker's backend is fixed once chosen.
import { requireBackend } from './context';
import { runTrainBench, type TrainBenchOptions, type TrainBenchResult } from '../src/core/bench/train-bench';

export type { TrainBenchResult };

/** What can cross the comlink boundary: the core options without the callback. */
export type BenchTrainingOptions = Omit<TrainBenchOptions, 'onProgress'> & {
  /** log each finished part to the worker's console as "[bench] …" (the CLI forwards these) */
  log?: boolean;
};

export const benchApi = {
  /** Training tokens/s of every method and the matmul GFLOP/s, on this worker's backend. */
  async benchTraining(opts: BenchTrainingOptions = {}): Promise<TrainBenchResult> {
    requireBackend();
    const { log, ...options } = opts;
    return runTrainBench({ ...options, onProgress: log ? (message) => console.log(`[bench] ${message}`) : undefined });
  },
};
