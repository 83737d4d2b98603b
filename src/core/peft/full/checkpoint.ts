// What full fine-tuning and layer freezing share: trainable copies of some decoder weights that
// stand in for the originals during a forward pass (the decoder's own tensors are never changed,
// so disabling or disposing the method gives the base model back), and export as a whole
// Hugging Face checkpoint (config.json + model.safetensors, canonical names).
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../../model/config';
import type { Decoder, DecoderHooks } from '../../model/decoder';
import type { HostTensor } from '../../model/safetensors';
import { readHostAll, type ExportOptions, type ExportedFiles, type PeftMethod } from '../types';
import { checkpointConfig, checkpointFolder } from './hf-folder';

let counter = 0;

export abstract class WeightCopyMethod implements PeftMethod {
  abstract readonly name: string;
  abstract readonly config: Record<string, unknown>;
  readonly replacesBaseWeights = true;
  protected readonly copies = new Map<string, tf.Variable>();

  constructor(protected readonly decoder: Decoder) {}

  /** Makes trainable copies of the named decoder weights. */
  protected copy(names: Iterable<string>): void {
    for (const name of names) {
      const weight = this.decoder.params.get(name)!;
      this.copies.set(name, tf.variable(weight, true, `peft/${this.name}/${name}/${counter++}`));
    }
  }

  hooks(): DecoderHooks | null {
    return null;
  }

  paramOverrides(enabled: boolean): Map<string, tf.Tensor> | null {
    return enabled ? this.copies : null;
  }

  variables(): Map<string, tf.Variable> {
    return new Map(this.copies);
  }

  /** The trained weights under canonical names: the copies, and the base's own for what stays frozen. */
  private async currentWeights(): Promise<Map<string, HostTensor>> {
    const current = new Map<string, tf.Tensor>();
    for (const [name, weight] of this.decoder.params) current.set(name, this.copies.get(name) ?? weight);
    return readHostAll(current);
  }

  async exportFiles(opts: ExportOptions): Promise<ExportedFiles> {
    const tensors = await this.currentWeights();
    const config = checkpointConfig(this.decoder.config, opts.rawConfig, opts.baseModel);
    return { configFile: 'config.json', config, weightsFile: 'model.safetensors', tensors, library: 'transformers' };
  }

  /** The whole checkpoint folder, tokenizer and generation config included (hf-folder.ts). */
  async exportCheckpoint(opts: ExportOptions, baseFiles: ReadonlyMap<string, Uint8Array>): Promise<Map<string, Uint8Array>> {
    const weights = await this.currentWeights();
    const how = this.name === 'full' ? 'full fine-tuning' : 'layer freezing';
    return checkpointFolder({ modelConfig: this.decoder.config, ...(opts.rawConfig ? { rawConfig: opts.rawConfig } : {}), baseModel: opts.baseModel, weights, baseFiles, how });
  }

  dispose(): void {
    for (const variable of this.copies.values()) variable.dispose();
    this.copies.clear();
  }
}

/** A config.json transformers can load, for when the base checkpoint's own is not at hand. */
export function configJson(config: ModelConfig): Record<string, unknown> {
  const ids = {
    bos_token_id: config.bosTokenId,
    eos_token_id: config.eosTokenIds.length === 1 ? config.eosTokenIds[0] : config.eosTokenIds.length === 0 ? null : config.eosTokenIds,
    pad_token_id: config.padTokenId,
  };
  if (config.family === 'gpt2') {
    return {
      architectures: ['GPT2LMHeadModel'],
      model_type: 'gpt2',
      vocab_size: config.vocabSize,
      n_embd: config.hiddenSize,
      n_layer: config.numLayers,
      n_head: config.numHeads,
      n_inner: config.intermediateSize,
      n_positions: config.maxPositions,
      layer_norm_epsilon: config.normEps,
      activation_function: config.activation,
      tie_word_embeddings: config.tieWordEmbeddings,
      ...ids,
    };
  }
  return {
    architectures: [config.modelType === 'qwen2' ? 'Qwen2ForCausalLM' : 'LlamaForCausalLM'],
    model_type: config.modelType,
    vocab_size: config.vocabSize,
    hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    num_key_value_heads: config.numKvHeads,
    head_dim: config.headDim,
    max_position_embeddings: config.maxPositions,
    rms_norm_eps: config.normEps,
    rope_theta: config.ropeTheta,
    hidden_act: config.activation,
    tie_word_embeddings: config.tieWordEmbeddings,
    attention_bias: config.modelType === 'qwen2' ? undefined : config.qkvBias,
    mlp_bias: config.mlpBias,
    ...ids,
  };
}
