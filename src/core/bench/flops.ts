// Model FLOPs of one training step, for "training GFLOP/s" beside the backend's plain matmul
// GFLOP/s. The standard accounting (Kaplan et al. 2020, §2.1; the PaLM paper's appendix B MFU):
// a matmul costs 2 FLOPs per weight per token forward; its backward costs 2 for the input
// gradient dx = dy·W and 2 for the weight gradient dW = dyᵀ·x.
//
// Per token, with N = the matmul weights (N_matmul below), L layers, T the attended context and
// d_attn = heads·head_dim:
//   forward F = 2·N + 4·L·T·d_attn: every matmul, plus per layer the scores S = Q·Kᵀ and the
//     mix O = P·V, 2·T·d_attn each (the full T × T, as tfjs computes them; no causal halving).
//   full fine-tuning: backward = dx and dW of every matmul (2·2·N) and, for the attention
//     products, dP = dO·Vᵀ, dV = Pᵀ·dO, dQ = dS·K, dK = dSᵀ·Q (4 products of the forward's
//     size: 2·4·L·T·d_attn), so 3·F.
//   frozen-base methods (LoRA, IA³, prefix, prompt, adapters): the frozen weights get no dW
//     (tfjs's tape, like torch's autograd, differentiates only towards trainable tensors), but
//     dx still runs through every matmul, and the attention products have no weights at all,
//     so their backward is the same 2× their forward as in full fine-tuning:
//       F + 2·N + 8·L·T·d_attn + 6·N_trainable = 4·N + 12·L·T·d_attn + 6·N_trainable,
//     the 6·N_trainable being the method's own weights (forward, dx and dW: LoRA's A and B).
//     One subtraction: the embeddings are frozen, so the first block's input needs no gradient,
//     and its query/key/value projections (q_proj, k_proj, v_proj; GPT-2's c_attn) get no dx:
//     tfjs prunes those tape nodes (tape.ts getFilteredNodesXToY) as torch skips grad_input for
//     an input that does not require grad. −2·N_qkv0. Not for prompt tuning, whose virtual
//     tokens are trainable inputs of that block. Deeper method-specific pruning (a Houlsby
//     adapter makes block 0's attention backward unneeded; LoRA on q/v leaves block 0's dK and
//     its LoRA dx unneeded, <0.1%) is not subtracted: those rows are counted slightly high.
// What the code runs matches this count: the attention backward (ops/attention-core.ts)
// computes dQ, dK, dV in every layer; the linear layers (ops/linear.ts, ops/lora-linear.ts)
// compute dx, and dW only for trainable weights.
import type { ModelConfig } from '../model/config';
import { expectedWeights } from '../model/weight-names';

export const FLOPS_FORMULA =
  'F = 2·N_matmul + 4·L·T·d_attn per token (forward); full: 3·F; other methods: 4·N_matmul − 2·N_qkv0 + 12·L·T·d_attn + 6·N_trainable ' +
  '(dx through every matmul, no dW for frozen weights, the weightless attention products backward at 2× their forward; ' +
  'N_qkv0 = the first block\'s q/k/v (c_attn) weights, whose input, the frozen embeddings, needs no gradient; kept for prompt tuning); ' +
  'N_matmul = every matmul weight except the embedding lookups (wte/wpe/embed_tokens), plus the lm_head V·d even when tied; ' +
  'T = tokens per row + virtual tokens (prefix/prompt), the full T×T scores as tfjs computes them; d_attn = heads·head_dim; ' +
  'training GFLOP/s = flops per token × (real tokens/s) / 1e9';

/** Methods that train something the first block reads (the embeddings, virtual token embeddings). */
const TRAINS_FIRST_BLOCK_INPUT = new Set(['full', 'prompt']);

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

/** The first block's query/key/value projection weights (Llama q/k/v_proj, GPT-2 c_attn). */
export function firstBlockQkvParameters(config: ModelConfig): number {
  const names =
    config.family === 'gpt2'
      ? ['transformer.h.0.attn.c_attn.weight']
      : ['q_proj', 'k_proj', 'v_proj'].map((p) => `model.layers.0.self_attn.${p}.weight`);
  const weights = expectedWeights(config);
  return names.reduce((sum, name) => sum + weights.get(name)!.reduce((a, b) => a * b, 1), 0);
}

export interface StepFlops {
  /** forward FLOPs per token (F above) */
  forwardPerToken: number;
  /** training FLOPs per token for the method */
  trainingPerToken: number;
}

/**
 * FLOPs per token of one training step of `method` (a registry name: 'full' is 3·F, every other
 * method frozen-base). `contextLength` = tokens per row plus any virtual tokens the method prepends.
 */
export function stepFlops(config: ModelConfig, contextLength: number, method: string, trainableParameters: number): StepFlops {
  const matmul = matmulParameters(config);
  const attention = 4 * config.numLayers * contextLength * config.numHeads * config.headDim; // S = QKᵀ and O = PV, forward
  const forwardPerToken = 2 * matmul + attention;
  if (method === 'full') return { forwardPerToken, trainingPerToken: 3 * forwardPerToken };
  const skippedDx = TRAINS_FIRST_BLOCK_INPUT.has(method) ? 0 : 2 * firstBlockQkvParameters(config);
  const trainingPerToken = forwardPerToken + (2 * matmul - skippedDx) + 2 * attention + 6 * trainableParameters;
  return { forwardPerToken, trainingPerToken };
}
