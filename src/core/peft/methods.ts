// Registers every built-in method (each folder registers itself on import). Import this module,
// not the folders, so each registration runs exactly once.
import './lora';
import './ia3';
import './prefix';
import './prompt';
import './adapter';
import './full';
import './freeze';

export { LoraMethod } from './lora';
export { Ia3Method } from './ia3';
export { PrefixMethod } from './prefix';
export { PromptMethod } from './prompt';
export { BottleneckAdapterMethod } from './adapter';
export { FullMethod } from './full';
export { FreezeMethod } from './freeze';
