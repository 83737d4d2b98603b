// The studio worker's training API (spread into the worker's api object in studio.worker.ts).
export const trainingApi = {};
