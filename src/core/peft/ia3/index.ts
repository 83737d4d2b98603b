import { registerMethod } from '../registry';
import { Ia3Method } from './ia3';

export { Ia3Method, IA3_DEFAULTS } from './ia3';

registerMethod({
  name: 'ia3',
  savedType: 'IA3',
  description: '(IA)³: learned per-channel scales on chosen layers (PEFT IA3)',
  create: (decoder, config, opts) => Ia3Method.create(decoder, config, opts),
  load: (decoder, config, tensors, files) => Ia3Method.load(decoder, config, tensors, files),
});
