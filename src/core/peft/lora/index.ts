import { registerMethod } from '../registry';
import { LoraMethod } from './lora';

export { LoraMethod } from './lora';
export { LORA_DEFAULTS, LORA_DEFAULT_TARGETS } from './config';

registerMethod({
  name: 'lora',
  savedType: 'LORA',
  description: 'LoRA: a low-rank update B·A added to chosen linear layers (PEFT LORA)',
  create: (decoder, config, opts) => LoraMethod.create(decoder, config, opts),
  load: (decoder, config, tensors, files) => LoraMethod.load(decoder, config, tensors, files),
});
