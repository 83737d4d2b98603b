// The studio worker's data API (spread into the worker's api object in studio.worker.ts).
export const dataApi = {};
