// Model cards for the Hub models people start from, shown in the Models view: what each is, its
// size and licence, and a LoRA setup that trains on it. The architecture numbers are the repos'
// config.json values (so `parameters` is what Hone's weight table gives for them: the card test
// checks both), the licences are the repos' `license:` tags, and LoRA's target modules are the
// module names of the family as transformers names them (PEFT's
// TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING uses q_proj/v_proj and c_attn; the cards
// take every attention projection, which trains better at small r for little extra cost).

import type { ModelType } from '../model/config';

export interface CardArchitecture {
  modelType: ModelType;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  intermediateSize: number;
  vocabSize: number;
  maxPositions: number;
  tieWordEmbeddings: boolean;
}

export interface CardLoraDefaults {
  r: number;
  alpha: number;
  dropout: number;
  targetModules: string[];
  learningRate: number;
}

export interface ModelCardInfo {
  /** the Hub id the Load button fills in */
  repo: string;
  title: string;
  /** float32 parameters, tied embeddings counted once */
  parameters: number;
  architecture: CardArchitecture;
  license: string;
  goodFor: string;
  /** -Instruct / chat models: the chat template travels in tokenizer_config.json */
  chat: boolean;
  lora: CardLoraDefaults;
}

/** Attention projections (and, for the larger ones, the MLP) per family. */
export const LORA_TARGETS_BY_FAMILY = {
  llama: ['q_proj', 'k_proj', 'v_proj', 'o_proj'],
  llamaWithMlp: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  gpt2: ['c_attn', 'c_proj'],
} as const;

const lora = (targets: readonly string[], learningRate = 2e-4, r = 8): CardLoraDefaults => ({ r, alpha: 2 * r, dropout: 0.05, targetModules: [...targets], learningRate });

const smol135: CardArchitecture = { modelType: 'llama', hiddenSize: 576, numLayers: 30, numHeads: 9, numKvHeads: 3, intermediateSize: 1536, vocabSize: 49152, maxPositions: 8192, tieWordEmbeddings: true };
const smol360: CardArchitecture = { modelType: 'llama', hiddenSize: 960, numLayers: 32, numHeads: 15, numKvHeads: 5, intermediateSize: 2560, vocabSize: 49152, maxPositions: 8192, tieWordEmbeddings: true };
const qwen05: CardArchitecture = { modelType: 'qwen2', hiddenSize: 896, numLayers: 24, numHeads: 14, numKvHeads: 2, intermediateSize: 4864, vocabSize: 151936, maxPositions: 32768, tieWordEmbeddings: true };
const gpt2: CardArchitecture = { modelType: 'gpt2', hiddenSize: 768, numLayers: 12, numHeads: 12, numKvHeads: 12, intermediateSize: 3072, vocabSize: 50257, maxPositions: 1024, tieWordEmbeddings: true };
const tinyLlama: CardArchitecture = { modelType: 'llama', hiddenSize: 2048, numLayers: 22, numHeads: 32, numKvHeads: 4, intermediateSize: 5632, vocabSize: 32000, maxPositions: 2048, tieWordEmbeddings: false };

export const MODEL_CARDS: readonly ModelCardInfo[] = [
  {
    repo: 'HuggingFaceTB/SmolLM2-135M',
    title: 'SmolLM2 135M',
    parameters: 134_515_008,
    architecture: smol135,
    license: 'apache-2.0',
    goodFor: 'The smallest modern base model: quick LoRA runs in the browser, first instruction-tuning experiments.',
    chat: false,
    lora: lora(LORA_TARGETS_BY_FAMILY.llama),
  },
  {
    repo: 'HuggingFaceTB/SmolLM2-135M-Instruct',
    title: 'SmolLM2 135M Instruct',
    parameters: 134_515_008,
    architecture: smol135,
    license: 'apache-2.0',
    goodFor: 'Already follows instructions: a baseline to compare your tuned base against, or to tune further on chat data.',
    chat: true,
    lora: lora(LORA_TARGETS_BY_FAMILY.llama),
  },
  {
    repo: 'HuggingFaceTB/SmolLM2-360M',
    title: 'SmolLM2 360M',
    parameters: 361_821_120,
    architecture: smol360,
    license: 'apache-2.0',
    goodFor: 'Noticeably better text than 135M at under 1.5 GB of float32 weights; LoRA on a real GPU.',
    chat: false,
    lora: lora(LORA_TARGETS_BY_FAMILY.llama),
  },
  {
    repo: 'HuggingFaceTB/SmolLM2-360M-Instruct',
    title: 'SmolLM2 360M Instruct',
    parameters: 361_821_120,
    architecture: smol360,
    license: 'apache-2.0',
    goodFor: 'A small chat model; tune on conversations in its own chat template.',
    chat: true,
    lora: lora(LORA_TARGETS_BY_FAMILY.llama),
  },
  {
    repo: 'Qwen/Qwen2.5-0.5B',
    title: 'Qwen2.5 0.5B',
    parameters: 494_032_768,
    architecture: qwen05,
    license: 'apache-2.0',
    goodFor: 'Multilingual, strong at code and arithmetic for its size; a large vocabulary (152k) makes the logits the biggest tensor.',
    chat: false,
    lora: lora(LORA_TARGETS_BY_FAMILY.llamaWithMlp, 1e-4),
  },
  {
    repo: 'Qwen/Qwen2.5-0.5B-Instruct',
    title: 'Qwen2.5 0.5B Instruct',
    parameters: 494_032_768,
    architecture: qwen05,
    license: 'apache-2.0',
    goodFor: 'The best small instruction follower here; tune with its ChatML template.',
    chat: true,
    lora: lora(LORA_TARGETS_BY_FAMILY.llamaWithMlp, 1e-4),
  },
  {
    repo: 'openai-community/gpt2',
    title: 'GPT-2 (124M)',
    parameters: 124_439_808,
    architecture: gpt2,
    license: 'mit',
    goodFor: 'The classic: well-studied, 1,024-token context; shows what instruction tuning does to a 2019 base model.',
    chat: false,
    lora: lora(LORA_TARGETS_BY_FAMILY.gpt2),
  },
  {
    repo: 'distilbert/distilgpt2',
    title: 'DistilGPT-2 (82M)',
    parameters: 81_912_576,
    architecture: { ...gpt2, numLayers: 6 },
    license: 'apache-2.0',
    goodFor: 'Half of GPT-2\'s layers: the fastest GPT-2 to train, for trying a method before a longer run.',
    chat: false,
    lora: lora(LORA_TARGETS_BY_FAMILY.gpt2),
  },
  {
    repo: 'TinyLlama/TinyLlama-1.1B-Chat-v1.0',
    title: 'TinyLlama 1.1B Chat',
    parameters: 1_100_048_384,
    architecture: tinyLlama,
    license: 'apache-2.0',
    goodFor: 'Llama 2\'s architecture at 1.1B: 4.4 GB of float32 weights, so LoRA only, on a GPU with room.',
    chat: true,
    lora: lora(LORA_TARGETS_BY_FAMILY.llama),
  },
];

/** The config.json a card's architecture stands for (the fields parseConfig reads). */
export function cardConfigJson(architecture: CardArchitecture): Record<string, unknown> {
  const a = architecture;
  if (a.modelType === 'gpt2') {
    return { model_type: 'gpt2', n_embd: a.hiddenSize, n_layer: a.numLayers, n_head: a.numHeads, n_inner: null, vocab_size: a.vocabSize, n_positions: a.maxPositions };
  }
  return {
    model_type: a.modelType,
    hidden_size: a.hiddenSize,
    num_hidden_layers: a.numLayers,
    num_attention_heads: a.numHeads,
    num_key_value_heads: a.numKvHeads,
    intermediate_size: a.intermediateSize,
    vocab_size: a.vocabSize,
    max_position_embeddings: a.maxPositions,
    tie_word_embeddings: a.tieWordEmbeddings,
  };
}

/** A chat model's note: where its template comes from. */
export function chatTemplateNote(card: ModelCardInfo): string | null {
  return card.chat ? 'Chat model: its chat template comes with tokenizer_config.json and is used when training on conversations.' : null;
}
