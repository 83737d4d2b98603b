// The canonical weight names and shapes of each family, as transformers' *ForCausalLM saves them.
// Kept apart from the checkpoint loader so the decoder and random init can use the table without
// pulling in the tokenizer.
import { ConfigError, type ModelConfig } from './config';

/** Canonical weight names and shapes that a checkpoint with this config must hold. */
export function expectedWeights(config: ModelConfig): Map<string, number[]> {
  const { hiddenSize: d, intermediateSize: f, vocabSize: V, numLayers } = config;
  const weights = new Map<string, number[]>();
  if (config.family === 'gpt2') {
    weights.set('transformer.wte.weight', [V, d]);
    weights.set('transformer.wpe.weight', [config.maxPositions, d]);
    for (let i = 0; i < numLayers; i++) {
      const h = `transformer.h.${i}`;
      // Conv1D layers store their weight as [in, out]
      weights.set(`${h}.ln_1.weight`, [d]);
      weights.set(`${h}.ln_1.bias`, [d]);
      weights.set(`${h}.attn.c_attn.weight`, [d, 3 * d]);
      weights.set(`${h}.attn.c_attn.bias`, [3 * d]);
      weights.set(`${h}.attn.c_proj.weight`, [d, d]);
      weights.set(`${h}.attn.c_proj.bias`, [d]);
      weights.set(`${h}.ln_2.weight`, [d]);
      weights.set(`${h}.ln_2.bias`, [d]);
      weights.set(`${h}.mlp.c_fc.weight`, [d, f]);
      weights.set(`${h}.mlp.c_fc.bias`, [f]);
      weights.set(`${h}.mlp.c_proj.weight`, [f, d]);
      weights.set(`${h}.mlp.c_proj.bias`, [d]);
    }
    weights.set('transformer.ln_f.weight', [d]);
    weights.set('transformer.ln_f.bias', [d]);
  } else {
    const q = config.numHeads * config.headDim;
    const kv = config.numKvHeads * config.headDim;
    weights.set('model.embed_tokens.weight', [V, d]);
    for (let i = 0; i < numLayers; i++) {
      const layer = `model.layers.${i}`;
      // nn.Linear stores its weight as [out, in]
      weights.set(`${layer}.input_layernorm.weight`, [d]);
      weights.set(`${layer}.self_attn.q_proj.weight`, [q, d]);
      weights.set(`${layer}.self_attn.k_proj.weight`, [kv, d]);
      weights.set(`${layer}.self_attn.v_proj.weight`, [kv, d]);
      weights.set(`${layer}.self_attn.o_proj.weight`, [d, q]);
      if (config.qkvBias) {
        weights.set(`${layer}.self_attn.q_proj.bias`, [q]);
        weights.set(`${layer}.self_attn.k_proj.bias`, [kv]);
        weights.set(`${layer}.self_attn.v_proj.bias`, [kv]);
      }
      if (config.outBias) weights.set(`${layer}.self_attn.o_proj.bias`, [d]);
      weights.set(`${layer}.post_attention_layernorm.weight`, [d]);
      weights.set(`${layer}.mlp.gate_proj.weight`, [f, d]);
      weights.set(`${layer}.mlp.up_proj.weight`, [f, d]);
      weights.set(`${layer}.mlp.down_proj.weight`, [d, f]);
      if (config.mlpBias) {
        weights.set(`${layer}.mlp.gate_proj.bias`, [f]);
        weights.set(`${layer}.mlp.up_proj.bias`, [f]);
        weights.set(`${layer}.mlp.down_proj.bias`, [d]);
      }
    }
    weights.set('model.norm.weight', [d]);
  }
  if (!config.tieWordEmbeddings) weights.set('lm_head.weight', [V, d]);
  return weights;
}

/** Parameter count of a config's checkpoint: the sizes of expectedWeights (tied embeddings counted once). */
export function parameterCount(config: ModelConfig): number {
  let total = 0;
  for (const shape of expectedWeights(config).values()) total += shape.reduce((a, b) => a * b, 1);
  return total;
}

/**
 * config.json's layer count against the layers whose tensors a checkpoint actually holds, before
 * expectedWeights builds a table of that many layers: a file claiming more layers than its
 * weights have is refused naming the field. (Extra layers are left to the shape check, which
 * names the first unexpected tensor.)
 */
export function checkLayerCount(config: ModelConfig, tensorNames: Iterable<string>, file: string): void {
  const pattern = config.family === 'gpt2' ? /^(?:transformer\.)?h\.(\d{1,9})\./ : /^model\.layers\.(\d{1,9})\./;
  let present = 0;
  for (const name of tensorNames) {
    const match = pattern.exec(name);
    if (match) present = Math.max(present, Number(match[1]) + 1);
  }
  if (config.numLayers > present) {
    const key = config.family === 'gpt2' ? 'n_layer' : 'num_hidden_layers';
    const prefix = config.family === 'gpt2' ? 'transformer.h' : 'model.layers';
    throw new ConfigError(
      `is ${config.numLayers}, but ${file} holds weights for ${present === 0 ? 'no layers' : `${present} layer${present === 1 ? '' : 's'} (${prefix}.0 … ${prefix}.${present - 1})`}; config.json does not describe these weights`,
      'config.json',
      key,
    );
  }
}
