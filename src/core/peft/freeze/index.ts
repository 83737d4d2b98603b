// Layer freezing: only the top `trainable_layers` transformer blocks are trained (optionally every
// norm weight too, including the final norm); embeddings and the rest stay frozen. Exports a whole
// checkpoint like full fine-tuning.
import type { Decoder } from '../../model/decoder';
import { registerMethod } from '../registry';
import { bool, mergeConfig, positiveInt } from '../schema';
import { layerOf } from '../targets';
import { PeftError } from '../types';
import { WeightCopyMethod } from '../full/checkpoint';

const FREEZE_DEFAULTS = { trainable_layers: 1, train_norms: false };

/** LayerNorm / RMSNorm weights by canonical name. */
function isNorm(name: string): boolean {
  return /\.(ln_1|ln_2|ln_f|input_layernorm|post_attention_layernorm)\.|^model\.norm\./.test(name);
}

export class FreezeMethod extends WeightCopyMethod {
  readonly name = 'freeze';
  readonly config: Record<string, unknown>;

  constructor(decoder: Decoder, raw: Record<string, unknown>) {
    super(decoder);
    const file = 'layer freezing config';
    const config = mergeConfig(file, raw, FREEZE_DEFAULTS, Object.keys(FREEZE_DEFAULTS), []);
    const layers = positiveInt(file, config, 'trainable_layers');
    const { numLayers } = decoder.config;
    if (layers > numLayers) throw new PeftError(`is ${layers} but the model has ${numLayers} blocks`, file, 'trainable_layers');
    const norms = bool(file, config, 'train_norms');
    this.config = config;
    const first = numLayers - layers;
    this.copy(
      [...decoder.params.keys()].filter((name) => {
        const layer = layerOf(name);
        return (layer !== null && layer >= first) || (norms && isNorm(name));
      }),
    );
  }
}

registerMethod({
  name: 'freeze',
  savedType: null,
  description: 'Layer freezing: train only the top k blocks (optionally all norms); exports a whole checkpoint',
  create: (decoder, config) => new FreezeMethod(decoder, config),
});
