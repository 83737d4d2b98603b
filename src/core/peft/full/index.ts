// Full fine-tuning: every weight is trainable. Memory: a second copy of the model (the base
// weights stay untouched so disabling the method gives the base model back).
import type { Decoder } from '../../model/decoder';
import { registerMethod } from '../registry';
import { PeftError } from '../types';
import { WeightCopyMethod } from './checkpoint';

export { WeightCopyMethod, configJson } from './checkpoint';

export class FullMethod extends WeightCopyMethod {
  readonly name = 'full';
  readonly config: Record<string, unknown> = {};

  constructor(decoder: Decoder, config: Record<string, unknown>) {
    super(decoder);
    const unknown = Object.keys(config);
    if (unknown.length > 0) throw new PeftError(`unknown setting(s) ${unknown.join(', ')}; full fine-tuning takes none`, 'full fine-tuning config', unknown[0]);
    this.copy(decoder.params.keys());
  }
}

registerMethod({
  name: 'full',
  savedType: null,
  description: 'Full fine-tuning: every weight is trained; exports a whole checkpoint',
  create: (decoder, config) => new FullMethod(decoder, config),
});
