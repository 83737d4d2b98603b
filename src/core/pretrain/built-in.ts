// The built-in model as the studio stores it: hone-tiny (the model this folder pretrains) under a
// fixed id, and the source prefix that marks what the studio set up itself (the model, and the task
// collection of src/core/experiment/collection.ts) rather than what a person imported.
export const BUILT_IN_MODEL_ID = 'built-in-hone-tiny';
export const BUILT_IN_SOURCE_PREFIX = 'built-in:';
