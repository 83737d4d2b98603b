import { registerMethod } from '../registry';
import { PromptMethod } from './prompt';

export { PromptMethod, PROMPT_DEFAULTS } from './prompt';

registerMethod({
  name: 'prompt',
  savedType: 'PROMPT_TUNING',
  description: 'Prompt tuning: learned soft tokens in front of every input (PEFT PROMPT_TUNING)',
  create: (decoder, config, opts) => PromptMethod.create(decoder, config, opts),
  load: (decoder, config, tensors, files) => PromptMethod.load(decoder, config, tensors, files),
});
