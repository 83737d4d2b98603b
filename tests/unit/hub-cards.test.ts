// The Models view's cards (src/core/hub/cards.ts): each card's architecture is one the decoder
// reads (parseConfig accepts its config.json), its parameter count is what Hone's weight table
// gives for those numbers, and its LoRA targets name weights that a model of that family has —
// checked on a micro config of the family against weight-names.ts and PEFT's module match.
import { describe, expect, it } from 'vitest';
import { cardConfigJson, chatTemplateNote, MODEL_CARDS, type CardArchitecture } from '../../src/core/hub/cards';
import { isRepoId } from '../../src/core/hub/client';
import { parseConfig } from '../../src/core/model/config';
import { expectedWeights, parameterCount } from '../../src/core/model/weight-names';
import { matchesSpec, selectTargets } from '../../src/core/peft/targets';

/** The same family at d 8, 2 layers: names only depend on the family and the biases. */
function micro(architecture: CardArchitecture) {
  const small = { ...architecture, hiddenSize: 8, numLayers: 2, numHeads: 2, numKvHeads: architecture.numKvHeads === architecture.numHeads ? 2 : 1, intermediateSize: 16, vocabSize: 32, maxPositions: 16 };
  return parseConfig(cardConfigJson(small));
}

describe('model cards', () => {
  it('lists the models people pick, each a valid Hub id, once', () => {
    expect(MODEL_CARDS.map((c) => c.repo)).toEqual([
      'HuggingFaceTB/SmolLM2-135M',
      'HuggingFaceTB/SmolLM2-135M-Instruct',
      'HuggingFaceTB/SmolLM2-360M',
      'HuggingFaceTB/SmolLM2-360M-Instruct',
      'Qwen/Qwen2.5-0.5B',
      'Qwen/Qwen2.5-0.5B-Instruct',
      'openai-community/gpt2',
      'distilbert/distilgpt2',
      'TinyLlama/TinyLlama-1.1B-Chat-v1.0',
    ]);
    for (const card of MODEL_CARDS) expect(isRepoId(card.repo), card.repo).toBe(true);
  });

  it.each(MODEL_CARDS.map((c) => [c.repo, c] as const))('%s: the decoder reads its config and its parameters match the weight table', (_repo, card) => {
    const config = parseConfig(cardConfigJson(card.architecture));
    expect(config.modelType).toBe(card.architecture.modelType);
    expect(parameterCount(config)).toBe(card.parameters);
  });

  it('parameter counts as published (SmolLM2-135M 134,515,008; Qwen2.5-0.5B 494,032,768; GPT-2 124,439,808; TinyLlama 1,100,048,384)', () => {
    const byRepo = new Map(MODEL_CARDS.map((c) => [c.repo, c.parameters]));
    expect(byRepo.get('HuggingFaceTB/SmolLM2-135M')).toBe(134_515_008);
    expect(byRepo.get('Qwen/Qwen2.5-0.5B')).toBe(494_032_768);
    expect(byRepo.get('openai-community/gpt2')).toBe(124_439_808);
    expect(byRepo.get('distilbert/distilgpt2')).toBe(81_912_576);
    expect(byRepo.get('TinyLlama/TinyLlama-1.1B-Chat-v1.0')).toBe(1_100_048_384);
  });

  it.each(MODEL_CARDS.map((c) => [c.repo, c] as const))('%s: every LoRA target is a weight of a model of that family', (_repo, card) => {
    const config = micro(card.architecture);
    const weights = [...expectedWeights(config).keys()];
    for (const target of card.lora.targetModules) {
      // a module is adapted when its weight "<module>.weight" exists and its name ends in ".<target>"
      const hits = weights.filter((w) => w.endsWith('.weight') && matchesSpec(w.slice(0, -'.weight'.length), [target]));
      expect(hits.length, `${card.repo}: ${target}`).toBeGreaterThanOrEqual(config.numLayers);
    }
    const chosen = selectTargets(config, { targetModules: card.lora.targetModules, excludeModules: null, layersToTransform: null }, [], 'card');
    const perLayer = card.architecture.modelType === 'gpt2' ? 3 : card.lora.targetModules.length; // c_proj is both attn.c_proj and mlp.c_proj
    expect(chosen.length).toBe(perLayer * config.numLayers);
    expect(card.lora.alpha).toBe(2 * card.lora.r);
  });

  it('chat models say their template comes with tokenizer_config.json; base models say nothing', () => {
    const notes = MODEL_CARDS.filter((c) => chatTemplateNote(c) !== null).map((c) => c.repo);
    expect(notes).toEqual([
      'HuggingFaceTB/SmolLM2-135M-Instruct',
      'HuggingFaceTB/SmolLM2-360M-Instruct',
      'Qwen/Qwen2.5-0.5B-Instruct',
      'TinyLlama/TinyLlama-1.1B-Chat-v1.0',
    ]);
    expect(chatTemplateNote(MODEL_CARDS[1])).toContain('tokenizer_config.json');
  });

  it('a target that is not in the family fails the check (gpt2 has no q_proj)', () => {
    const config = micro(MODEL_CARDS.find((c) => c.repo === 'openai-community/gpt2')!.architecture);
    expect([...expectedWeights(config).keys()].some((w) => matchesSpec(w.replace(/\.weight$/, ''), ['q_proj']))).toBe(false);
  });
});
