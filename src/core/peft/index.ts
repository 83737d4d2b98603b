// Public entry of the PEFT package: the model wrapper, the registry, folder I/O and every method.
export { PeftModel, type ParameterCount } from './model';
export { createMethod, getMethod, listMethods, registerMethod, type MethodDefinition } from './registry';
export { readAdapterFolder, exportAdapterFolder, type AdapterFiles } from './io';
export { PeftError, type PeftMethod, type CreateOptions, type ExportOptions, type ExportedFiles, type PreparedInputs } from './types';
export * from './methods';
