// Model FLOPs of one training step, for "training GFLOP/s" beside the backend's plain matmul
// GFLOP/s. The standard accounting (Kaplan et al. 2020, §2.1; the PaLM paper's appendix B MFU):
// a forward pass costs 2 FLOPs per matmul weight per token plus the attention products, the
// backward pass twice that. Frozen-base methods skip the weight gradients of the frozen matmuls
// (tfjs's tape, like torch's autograd, computes gradients only on paths to trainable variables),
// so they cost two forward passes' worth plus the trainable weights' own 6 FLOPs each.
import type { ModelConfig } from '../model/config';
import { expectedWeights } from '../model/weight-names';

export const FLOPS_FORMULA =
  'F = 2·N_matmul + 4·L·T·d_attn per token (forward); full: 3·F; other methods: 2·F + 6·N_trainable; ' +
  'N_matmul = every matmul weight except the embedding lookups (wte/wpe/embed_tokens), plus the lm_head V·d even when tied; ' +
  'T = tokens per row + virtual tokens (prefix/prompt), the full T×T scores as tfjs computes them; d_attn = heads·head_dim; ' +
  'training GFLOP/s = flops per token × (real tokens/s) / 1e9';

/** Matmul weights the forward multiplies by, per token: the 2-D weights that are not lookups, plus the head. */
export function matmulParameters(config: ModelConfig): number {
  const lookups = new Set(['transformer.wte.weight', 'transformer.wpe.weight', 'model.embed_tokens.weight']);
  let count = 0;
  for (const [name, shape] of expectedWeights(config)) {
    if (shape.length === 2 && !lookups.has(name)) count += shape[0] * shape[1];
  }
  // A tied head multiplies by the embedding table; an untied one (lm_head.weight) is counted above.
  if (config.tieWordEmbeddings) count += config.vocabSize * config.hiddenSize;
  return count;
}

export interface StepFlops {
  /** forward FLOPs per token (F above) */
  forwardPerToken: number;
  /** training FLOPs per token for the method */
  trainingPerToken: number;
}

/**
 * FLOPs per token of one training step. `contextLength` = tokens per row plus any virtual tokens
 * the method prepends; `fullFineTuning` picks 3·F, otherwise 2·F + 6·trainable.
 */
export function stepFlops(config: ModelConfig, contextLength: number, fullFineTuning: boolean, trainableParameters: number): StepFlops {
  const attentionWidth = config.numHeads * config.headDim;
  const forwardPerToken = 2 * matmulParameters(config) + 4 * config.numLayers * contextLength * attentionWidth;
  const trainingPerToken = fullFineTuning ? 3 * forwardPerToken : 2 * forwardPerToken + 6 * trainableParameters;
  return { forwardPerToken, trainingPerToken };
}
