import { registerMethod } from '../registry';
import { BottleneckAdapterMethod } from './adapter';

export { BottleneckAdapterMethod, BOTTLENECK_DEFAULTS, type AdapterKind } from './adapter';

registerMethod({
  name: 'adapter',
  savedType: 'bottleneck',
  description: 'Bottleneck adapters (Houlsby: after attention and feed-forward; Pfeiffer: after feed-forward), AdapterHub layout',
  create: (decoder, config, opts) => BottleneckAdapterMethod.create(decoder, config, opts),
  load: (decoder, config, tensors, files) => BottleneckAdapterMethod.load(decoder, config, tensors, files),
});
