// The data studio's operations on stored datasets, one file each: examples.ts (browse, edit, export),
// import.ts (files and Hub datasets into the store), split.ts, dedup.ts and stats.ts. This door
// re-exports examples.ts, the operations most callers want; the others are imported by their path.
export * from './examples';
