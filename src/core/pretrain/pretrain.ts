// Pretraining hone-tiny: the synthetic corpus (src/core/world), a byte-level BPE trained on it, a
// small Llama-layout decoder from seeded random weights, and the same Trainer every fine-tune uses
// (full fine-tuning of all weights, labels = inputs on packed rows). Everything here is pure and
// backend-agnostic; the CLI (cli/commands/pretrain.ts) and the studio's Pretrain view drive it and
// decide where checkpoints go.
import { parseConfig, type ModelConfig } from '../model/config';
import { trainBpe } from '../tokenizer/bpe-train';
import { HoneTokenizer } from '../tokenizer/tokenizer';
import type { Row } from '../train/batch';
import { corpusHash, generateCorpus } from '../world/corpus';
import { makeWorld } from '../world/world';

export interface PretrainSpec {
  /** the world's facts */
  worldSeed: number;
  /** which documents are drawn */
  corpusSeed: number;
  documents: number;
  vocabSize: number;
  hiddenSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
  intermediateSize: number;
  /** tokens per packed row (max_position_embeddings is 2× this: room for long prompts at inference) */
  seqLen: number;
  batchSize: number;
  steps: number;
  learningRate: number;
  warmupSteps: number;
  /** weight init and data order */
  seed: number;
}

/**
 * hone-tiny as committed: ~0.9M parameters. Sized so that pretraining fits a couple of hours on the
 * wasm backend of a 2-core machine (PLATFORM.md: ~500 tokens/s for a 0.84M model there).
 */
export const HONE_TINY: PretrainSpec = {
  worldSeed: 1,
  corpusSeed: 2,
  documents: 40_000,
  vocabSize: 1024,
  hiddenSize: 128,
  layers: 4,
  heads: 4,
  kvHeads: 2,
  intermediateSize: 384,
  seqLen: 128,
  batchSize: 8,
  steps: 3000,
  learningRate: 3e-3,
  warmupSteps: 100,
  seed: 3,
};

export const SPECIAL_TOKENS = ['<s>', '</s>', '<pad>'] as const;
export const BOS_ID = 0;
export const EOS_ID = 1;
export const PAD_ID = 2;

/** A tiny chat template, so instruction prompts can also go through apply_chat_template. */
const CHAT_TEMPLATE =
  "{% for m in messages %}{% if m['role'] == 'user' %}{{ m['content'] }}\n\n{% else %}{{ m['content'] }}</s>{% endif %}{% endfor %}";

export interface PreparedCorpus {
  documents: string[];
  hash: string;
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  tokenizer: HoneTokenizer;
}

export function prepareCorpus(spec: PretrainSpec): PreparedCorpus {
  const world = makeWorld(spec.worldSeed);
  const documents = generateCorpus(world, { documents: spec.documents, seed: spec.corpusSeed });
  const bpe = trainBpe(documents, { vocabSize: spec.vocabSize, specialTokens: [...SPECIAL_TOKENS], bosToken: '<s>' });
  const tokenizerConfig = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: '<s>',
    eos_token: '</s>',
    pad_token: '<pad>',
    add_bos_token: true,
    model_max_length: spec.seqLen * 2,
    clean_up_tokenization_spaces: false,
    chat_template: CHAT_TEMPLATE,
  };
  const tokenizer = HoneTokenizer.fromJson(JSON.stringify(bpe.json), JSON.stringify(tokenizerConfig));
  return { documents, hash: corpusHash(documents), tokenizerJson: bpe.json, tokenizerConfig, tokenizer };
}

/** Hugging Face LlamaForCausalLM config.json for the spec (vocab from the trained tokenizer). */
export function llamaConfigJson(spec: PretrainSpec, vocabSize: number): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: BOS_ID,
    eos_token_id: EOS_ID,
    pad_token_id: PAD_ID,
    head_dim: spec.hiddenSize / spec.heads,
    hidden_act: 'silu',
    hidden_size: spec.hiddenSize,
    initializer_range: 0.02,
    intermediate_size: spec.intermediateSize,
    max_position_embeddings: spec.seqLen * 2,
    mlp_bias: false,
    model_type: 'llama',
    num_attention_heads: spec.heads,
    num_hidden_layers: spec.layers,
    num_key_value_heads: spec.kvHeads,
    pretraining_tp: 1,
    rms_norm_eps: 1e-6,
    rope_theta: 10000.0,
    tie_word_embeddings: true,
    torch_dtype: 'float32',
    use_cache: true,
    vocab_size: vocabSize,
  };
}

export function modelConfig(spec: PretrainSpec, vocabSize: number): ModelConfig {
  return parseConfig(llamaConfigJson(spec, vocabSize));
}

/**
 * The corpus as one token stream (each document: BOS … EOS) cut into rows of exactly seqLen tokens;
 * labels are the inputs (the loss shifts them). The tail shorter than a row is dropped.
 */
export function packDocuments(tokenizer: HoneTokenizer, documents: readonly string[], seqLen: number): Row[] {
  const stream: number[] = [];
  for (const doc of documents) {
    stream.push(...tokenizer.encode(doc), EOS_ID);
  }
  const rows: Row[] = [];
  for (let start = 0; start + seqLen <= stream.length; start += seqLen) {
    const ids = stream.slice(start, start + seqLen);
    rows.push({ inputIds: ids, labels: [...ids] });
  }
  return rows;
}
