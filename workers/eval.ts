// The studio worker's eval API (spread into the worker's api object in studio.worker.ts).
export const evalApi = {};
