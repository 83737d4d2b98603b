import { registerMethod } from '../registry';
import { PrefixMethod } from './prefix';

export { PrefixMethod, PREFIX_DEFAULTS } from './prefix';

registerMethod({
  name: 'prefix',
  savedType: 'PREFIX_TUNING',
  description: 'Prefix tuning: learned keys/values prepended in every attention layer (PEFT PREFIX_TUNING)',
  create: (decoder, config, opts) => PrefixMethod.create(decoder, config, opts),
  load: (decoder, config, tensors, files) => PrefixMethod.load(decoder, config, tensors, files),
});
