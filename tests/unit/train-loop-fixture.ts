// What the Trainer tests train: a tiny random GPT-2 (the tiny-gpt2 fixture's config, seeded random
// weights) with LoRA, and synthetic prompt-completion rows. Shared by train-loop, train-diverge and
// (rows only) train-leak.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../src/core/model/config';
import { Decoder } from '../../src/core/model/decoder';
import { randomWeights } from '../../src/core/model/random';
import { LoraMethod } from '../../src/core/peft/lora/lora';
import { PeftModel } from '../../src/core/peft/model';
import { Rng } from '../../src/core/rng';
import { IGNORE_INDEX, type Row } from '../../src/core/train/batch';

const configPath = fileURLToPath(new URL('../fixtures/hf/tiny-gpt2/config.json', import.meta.url));
export const MODEL_CONFIG = parseConfig(JSON.parse(readFileSync(configPath, 'utf8')));
export const BASE_WEIGHTS = randomWeights(MODEL_CONFIG, 3);

/** A fresh tiny GPT-2 with LoRA (`config` is LoRA's); dispose() frees both the adapter and the decoder. */
export function tinyLoraModel(config: Record<string, unknown>, seed: number): { model: PeftModel; dispose: () => void } {
  const decoder = Decoder.fromHost(MODEL_CONFIG, BASE_WEIGHTS);
  const lora = LoraMethod.create(decoder, config, { seed });
  const model = new PeftModel(decoder, lora);
  return {
    model,
    dispose: () => {
      model.dispose();
      decoder.dispose();
    },
  };
}

export interface SyntheticRowShape {
  /** ids are drawn from [firstId, vocab): below firstId are the special tokens */
  firstId: number;
  vocab: number;
  /** token counts, drawn from the rows' own generator before each part's ids */
  promptLength: (rng: Rng) => number;
  completionLength: (rng: Rng) => number;
  eos: number;
}

/**
 * Synthetic training rows: a prompt of random ids (labels −100), then a completion of random ids and
 * EOS, all scored, as the row builder makes a prompt-completion pair.
 */
export function syntheticRows(count: number, seed: number, shape: SyntheticRowShape): Row[] {
  const rng = new Rng(seed);
  const ids = (n: number) => Array.from({ length: n }, () => shape.firstId + rng.int(shape.vocab - shape.firstId));
  return Array.from({ length: count }, () => {
    const prompt = ids(shape.promptLength(rng));
    const completion = [...ids(shape.completionLength(rng)), shape.eos];
    return { inputIds: [...prompt, ...completion], labels: [...prompt.map(() => IGNORE_INDEX), ...completion] };
  });
}
