// Hone's storage: everything the app keeps in IndexedDB. The only module tree that imports idb.
export * from './schema';
export * from './errors';
export * from './persist';
export * from './models';
export * from './datasets';
export * from './runs';
export * from './evaluations';
export { approximateBytes, exactArrayBuffer } from './transaction';
