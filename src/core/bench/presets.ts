// The shapes the training bench runs: the models people train in Hone, at the batch sizes of the
// PyTorch peer (../shared/bench/torch_step.py and its *.json configs, copied into
// tests/fixtures/bench/ where a test holds these shapes equal to them). Random weights; the batch is
// random token ids with the first `promptTokens` positions unscored, as torch_step.py builds it.
import { parseConfig, type ModelConfig } from '../model/config';
import { HONE_MICRO } from '../pretrain/micro';
import { HONE_TINY, llamaConfigJson, type PretrainSpec } from '../pretrain/pretrain';

export interface BenchPreset {
  name: string;
  /** one line for tables and --help */
  description: string;
  /** the Hugging Face config.json the shape comes from */
  configJson: Record<string, unknown>;
  config: ModelConfig;
  /** rows per step */
  batchSize: number;
  /** tokens per row; every row is full (no padding) */
  seqLength: number;
  /** leading positions of each row left out of the loss (labels −100), as torch_step.py does */
  promptTokens: number;
  /** what the preset is for: speed on 2 cores, memory, or a GPU */
  purpose: string;
}

function preset(fields: Omit<BenchPreset, 'config'>): BenchPreset {
  return { ...fields, config: parseConfig(fields.configJson) };
}

/** A Llama config.json of a pretraining spec with its own vocab size (hone-tiny, hone-micro). */
function specConfig(spec: Pick<PretrainSpec, 'hiddenSize' | 'layers' | 'heads' | 'kvHeads' | 'intermediateSize' | 'seqLen' | 'vocabSize'>): Record<string, unknown> {
  return llamaConfigJson({ ...HONE_TINY, ...spec }, spec.vocabSize);
}

export const BENCH_PRESETS: readonly BenchPreset[] = [
  preset({
    name: 'hone-tiny',
    description: 'hone-tiny (HONE_TINY spec, Llama d 128, 4 layers, 4/2 heads, FFN 384, vocab 1024, tied; 0.92M)',
    configJson: specConfig(HONE_TINY),
    batchSize: 8,
    seqLength: 128,
    promptTokens: 8,
    purpose: 'speed on CPU (the built-in model at its pretraining batch)',
  }),
  preset({
    name: 'small',
    description: 'small (Llama d 256, 6 layers, 8/4 heads, FFN 768, vocab 4096, tied; 5.8M)',
    configJson: {
      model_type: 'llama',
      hidden_size: 256,
      intermediate_size: 768,
      num_hidden_layers: 6,
      num_attention_heads: 8,
      num_key_value_heads: 4,
      vocab_size: 4096,
      max_position_embeddings: 512,
      rms_norm_eps: 1e-5,
      tie_word_embeddings: true,
      rope_theta: 10000,
      bos_token_id: 1,
      eos_token_id: 2,
    },
    batchSize: 8,
    seqLength: 128,
    promptTokens: 8,
    purpose: 'speed on CPU',
  }),
  preset({
    name: 'gpt2-small',
    description: 'gpt2-small (GPT-2 124M: d 768, 12 layers, 12 heads, vocab 50257)',
    configJson: {
      model_type: 'gpt2',
      n_layer: 12,
      n_embd: 768,
      n_head: 12,
      vocab_size: 50257,
      n_positions: 1024,
      bos_token_id: 50256,
      eos_token_id: 50256,
    },
    batchSize: 4,
    seqLength: 256,
    promptTokens: 8,
    purpose: 'a GPU; memory',
  }),
  preset({
    name: 'smollm2-135m',
    description: "smollm2-135m (SmolLM2-135M's layout: Llama d 576, 30 layers, 9/3 heads, FFN 1536, vocab 49152, tied, rope θ 1e5)",
    configJson: {
      model_type: 'llama',
      hidden_size: 576,
      intermediate_size: 1536,
      num_hidden_layers: 30,
      num_attention_heads: 9,
      num_key_value_heads: 3,
      vocab_size: 49152,
      max_position_embeddings: 2048,
      rms_norm_eps: 1e-5,
      tie_word_embeddings: true,
      bos_token_id: 1,
      eos_token_id: 2,
      rope_theta: 100000,
    },
    batchSize: 2,
    seqLength: 64,
    promptTokens: 8,
    purpose: 'memory (≤ 2× float32 weights); a GPU',
  }),
  preset({
    // The bench's model before presets (137k parameters, 128 tokens a step): all overhead, kept as
    // a smoke test of the bench itself (tests/unit/bench.test.ts), not as a measure of speed.
    name: 'smoke',
    description: 'smoke (GPT-2 layout, 2 layers, d 64, 4 heads, vocab 512; 137k: overhead only)',
    configJson: { model_type: 'gpt2', n_layer: 2, n_embd: 64, n_head: 4, vocab_size: 512, n_positions: 64, eos_token_id: 0 },
    batchSize: 4,
    seqLength: 32,
    promptTokens: 8,
    purpose: 'smoke test of the bench',
  }),
  preset({
    name: 'micro',
    description: 'micro (hone-micro: Llama d 16, 1 layer, 2/1 heads, FFN 32, vocab 300)',
    configJson: specConfig(HONE_MICRO),
    batchSize: 4,
    seqLength: 16,
    promptTokens: 8,
    purpose: 'tests of the bench',
  }),
];

/** The preset called `name`; an unknown name is an error that lists the known ones. */
export function benchPreset(name: string): BenchPreset {
  const found = BENCH_PRESETS.find((p) => p.name === name);
  if (!found) throw new Error(`train bench: unknown preset "${name}" (known: ${BENCH_PRESETS.map((p) => p.name).join(', ')})`);
  return found;
}
