// The studio worker's self-instruct API (spread into the worker's api object in studio.worker.ts).
export const selfInstructApi = {};
