// The studio worker's bench API (spread into the worker's api object in studio.worker.ts).
export const benchApi = {};
