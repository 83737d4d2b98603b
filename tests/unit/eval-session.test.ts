// The evaluation's models and orchestration on tiny-llama: the base side (the PeftModel with its
// method switched off) gives bit-for-bit the base decoder's logits and greedy tokens; generation with
// each fixture adapter (LoRA, IA³, prefix, prompt tuning) through the KV cache equals a cache-less
// loop over PeftModel.forward; evaluate() streams rows whose outputs and scores are those of the two
// models and the metric; the k-shot baseline renders FLAN-style prompts; no tensor leaks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { setNodeBackend } from '../../cli/node-backend';
import { computeLogits, Decoder } from '../../src/core/model/decoder';
import { generate } from '../../src/core/model/generate';
import { PeftModel, readAdapterFolder } from '../../src/core/peft';
import { adaptedDecoder, mirrored, modelSides, peftGenerator } from '../../src/core/eval/models';
import { evaluate, type EvalEvent } from '../../src/core/eval/evaluate';
import { pickShots, renderPrompt, type EvalItem } from '../../src/core/eval/eval-set';
import { rougeScoreMulti } from '../../src/core/eval/metrics';
import { EXAMPLE_SEPARATOR } from '../../src/core/data/templates';
import { loadFixture as loadPeftFixture, type Fixture as PeftFixture } from './peft-helpers';
import { loadFixture, type Fixture } from './decoder-fixtures';

let fixture: Fixture;
let peftFixture: PeftFixture;
let decoder: Decoder;

beforeAll(async () => {
  await setNodeBackend('wasm');
  fixture = await loadFixture('tiny-llama');
  peftFixture = loadPeftFixture('tiny-llama');
  decoder = peftFixture.decoder;
});
afterAll(() => decoder.dispose());

const tokenizer = () => fixture.checkpoint.tokenizer;
const withAdapter = (name: string) => new PeftModel(decoder, readAdapterFolder(peftFixture.adapter(name), decoder));

/** Greedy tokens by recomputing the whole sequence through PeftModel.forward each step: the reference for cached generation. */
async function naiveGreedy(peft: PeftModel, prompt: number[], steps: number): Promise<number[]> {
  const ids = [...prompt];
  for (let i = 0; i < steps; i++) {
    const { data, shape } = await computeLogits((x, m) => peft.forward(x, m), [ids]);
    const vocab = shape[2];
    const last = data.subarray((ids.length - 1) * vocab, ids.length * vocab);
    let best = 0;
    for (let v = 1; v < vocab; v++) if (last[v] > last[best]) best = v;
    ids.push(best);
  }
  return ids;
}

describe('base side = base model', () => {
  it('a LoRA PeftModel switched off gives exactly the decoder’s logits and the reference greedy tokens', async () => {
    const peft = withAdapter('lora');
    try {
      const { input_ids, attention_mask } = fixture.reference.logits;
      const plain = await computeLogits(decoder, input_ids, attention_mask);
      const sides = modelSides(peft, tokenizer());
      const off = await sides.base.forward!(input_ids, attention_mask);
      expect(off.shape).toEqual(plain.shape);
      expect(Buffer.from(off.data.buffer).equals(Buffer.from(plain.data.buffer))).toBe(true); // bit for bit
      const on = await sides.tuned.forward!(input_ids, attention_mask);
      expect(Buffer.from(on.data.buffer).equals(Buffer.from(plain.data.buffer))).toBe(false); // the adapter does change them

      const { prompt_ids, output_ids } = fixture.reference.greedy;
      const settings = { maxNewTokens: output_ids.length - prompt_ids.length, greedy: true, eosTokenIds: [] };
      peft.enabled = false;
      expect((await generate(adaptedDecoder(peft), prompt_ids, settings)).ids).toEqual(output_ids); // transformers' greedy tokens
      expect((await generate(decoder, prompt_ids, settings)).ids).toEqual(output_ids);
      peft.enabled = true;
      expect((await generate(adaptedDecoder(peft), prompt_ids, settings)).ids).not.toEqual(output_ids);

      // text in, text out: the base generator equals generate() on the plain decoder
      const prompt = 'Mira likes 42 apples.';
      const text = await sides.base.generate!(prompt, { maxNewTokens: 8, greedy: true, seed: 0 });
      const direct = await generate(decoder, tokenizer().encode(prompt), { maxNewTokens: 8, greedy: true }, { decode: (ids) => tokenizer().decode(ids, { skipSpecialTokens: true }) });
      expect(text).toBe(direct.text);
    } finally {
      peft.dispose();
    }
  });
});

describe.each(['lora', 'ia3', 'prefix', 'prompt'])('generation with the %s fixture adapter', (name) => {
  it('through the KV cache equals recomputing every step through PeftModel.forward, without leaking tensors', async () => {
    const peft = withAdapter(name);
    try {
      const prompt = fixture.reference.greedy.prompt_ids;
      const expected = await naiveGreedy(peft, prompt, 6);
      const before = tf.memory().numTensors;
      const cached = await generate(adaptedDecoder(peft), prompt, { maxNewTokens: 6, greedy: true, eosTokenIds: [] });
      expect(tf.memory().numTensors).toBe(before);
      expect(cached.ids).toEqual(expected);
      peft.enabled = false;
      expect((await generate(adaptedDecoder(peft), prompt, { maxNewTokens: 6, greedy: true, eosTokenIds: [] })).ids).toEqual(
        (await generate(decoder, prompt, { maxNewTokens: 6, greedy: true, eosTokenIds: [] })).ids,
      );
    } finally {
      peft.dispose();
    }
  });
});

const ITEMS: EvalItem[] = [
  { id: 'q1', instruction: 'Name a colour.', references: ['Blue.'], task: 'open_qa', cluster: 'knowledge' },
  { id: 'q2', instruction: 'Add the numbers.', context: '2 and 3', references: ['5'], task: 'math', cluster: 'reasoning' },
  { id: 'q3', instruction: 'Say hello.', references: ['Hello there!'], task: 'open_qa', cluster: 'knowledge' },
];

describe('prompts', () => {
  it('renders the Alpaca prompt zero-shot and FLAN-style k-shot with same-task exemplars first', () => {
    expect(renderPrompt(ITEMS[0], 'alpaca')).toBe(
      'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\nName a colour.\n\n### Response:\n',
    );
    const shots = pickShots(ITEMS, ITEMS, 1, 0);
    expect(shots[0][0].id).toBe('q3'); // the other open_qa item, not itself
    expect(shots[2][0].id).toBe('q1');
    expect(shots[1][0].id).not.toBe('q2');
    const twoShot = renderPrompt(ITEMS[0], 'alpaca', shots[0]);
    expect(twoShot).toBe(
      'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\nSay hello.\n\n### Response:\nHello there!' +
        EXAMPLE_SEPARATOR +
        renderPrompt(ITEMS[0], 'alpaca'),
    );
    // the data studio's task template: generic/1 is "{instruction}{options}" with FLAN's "\n\n" delimiter
    expect(renderPrompt(ITEMS[0], 'task')).toBe('Name a colour.\n\n');
    expect(renderPrompt({ ...ITEMS[0], prompt: 'Q: colour? A:' }, 'alpaca', [{ ...ITEMS[2], prompt: 'Q: greet? A:' }])).toBe(`Q: greet? A:Hello there!${EXAMPLE_SEPARATOR}Q: colour? A:`);
    expect(() => pickShots(ITEMS, ITEMS.slice(0, 1), 1, 0)).toThrow('a 1-shot prompt for example "q1" needs 1 solved exemplars besides it, but only 0 are available');
  });
});

describe('evaluate()', () => {
  it('streams base and tuned rows whose outputs are the two models’ and whose scores are the metric’s, plus the k-shot baseline', async () => {
    const peft = withAdapter('lora');
    const generation = { maxNewTokens: 6, greedy: true, seed: 0 };
    const events: EvalEvent[] = [];
    const before = tf.memory().numTensors;
    const result = await evaluate({ items: ITEMS, peft, tokenizer: tokenizer() }, { metric: 'rougeL', generation, shots: 1, bootstrap: { resamples: 200 } }, { onEvent: (e) => events.push(e) });
    expect(tf.memory().numTensors).toBe(before);
    expect(events.map((e) => [e.kind, 'done' in e ? e.done : e.total])).toEqual([
      ['started', 3],
      ['result', 1],
      ['result', 2],
      ['result', 3],
      ['few-shot', 1],
      ['few-shot', 2],
      ['few-shot', 3],
    ]);
    expect(result.status).toBe('completed');
    const base = peftGenerator(peft, tokenizer(), false);
    const tuned = peftGenerator(peft, tokenizer(), true);
    const shots = pickShots(ITEMS, ITEMS, 1, 0);
    for (const [i, row] of result.rows.entries()) {
      const prompt = renderPrompt(ITEMS[i], 'alpaca');
      expect(row.prompt).toBe(prompt);
      expect(row.base.output).toBe(await base(prompt, generation));
      expect(row.tuned!.output).toBe(await tuned(prompt, generation));
      const rouge = (output: string) => rougeScoreMulti(ITEMS[i].references, output, { types: ['rougeL'] }).rougeL.fmeasure;
      expect(row.base.score).toBe(rouge(row.base.output));
      expect(row.tuned!.score).toBe(rouge(row.tuned!.output));
      expect(row.difference).toBe(row.tuned!.score - row.base.score);
      const fewPrompt = renderPrompt(ITEMS[i], 'alpaca', shots[i]);
      expect(row.fewShot!.prompt).toBe(fewPrompt);
      expect(row.fewShot!.output).toBe(await base(fewPrompt, generation));
      expect(row.fewShot!.score).toBe(rouge(row.fewShot!.output));
    }
    expect(result.rows.some((row) => row.base.output !== row.tuned!.output)).toBe(true);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(result.comparison!.overall.base).toBeCloseTo(mean(result.rows.map((r) => r.base.score)), 12);
    expect(result.fewShot!.overall).toBeCloseTo(mean(result.rows.map((r) => r.fewShot!.score)), 12);
    expect(result.figure.map((g) => g.group)).toEqual(['knowledge', 'reasoning', 'all examples']);
    expect(result.figure[1]).toEqual({ group: 'reasoning', count: 1, baseZeroShot: result.rows[1].base.score, baseFewShot: result.rows[1].fewShot!.score, tunedZeroShot: result.rows[1].tuned!.score });
    expect(result.settings.generation).toEqual(generation);
    peft.dispose();
  });

  it('evaluates the base model alone once per example (mirrored), with no comparison', async () => {
    const peft = new PeftModel(decoder, null);
    let calls = 0;
    const sides = mirrored({ generate: async () => `answer ${++calls}` });
    expect(await sides.base.generate!('p', { maxNewTokens: 1 })).toBe('answer 1');
    expect(await sides.tuned.generate!('p', { maxNewTokens: 1 })).toBe('answer 1');
    expect(calls).toBe(1);
    const result = await evaluate({ items: ITEMS.slice(0, 2), peft, tokenizer: tokenizer() }, { metric: 'squad_f1', generation: { maxNewTokens: 4 } });
    expect(result.comparison).toBeNull();
    expect(result.rows.map((r) => [r.tuned, r.winner, r.difference])).toEqual([[null, null, null], [null, null, null]]);
    expect(result.aggregates!.overall.base).toBe((result.rows[0].base.score + result.rows[1].base.score) / 2);
    expect(result.figure.at(-1)!.tunedZeroShot).toBeNull();
  });

  it('stops when cancelled and keeps the finished examples', async () => {
    const peft = withAdapter('ia3');
    const controller = new AbortController();
    const result = await evaluate({ items: ITEMS, peft, tokenizer: tokenizer() }, { metric: 'chrf', generation: { maxNewTokens: 4 }, shots: 1 }, {
      signal: controller.signal,
      onEvent: (e) => {
        if (e.kind === 'result' && e.done === 2) controller.abort();
      },
    });
    expect(result.status).toBe('cancelled');
    expect(result.rows.map((r) => r.id)).toEqual(['q1', 'q2']);
    expect(result.rows.every((r) => r.fewShot === null)).toBe(true);
    expect(result.comparison!.overall.count).toBe(2);
    peft.dispose();
  });

  it('ranks options by log-likelihood: the base side equals the decoder, options come from the task when the data has none', async () => {
    const peft = withAdapter('lora');
    const items: EvalItem[] = [
      { id: 's1', instruction: 'Is the sky green?', references: ['no'], task: 'yesno', cluster: 'c' },
      { id: 's2', instruction: 'Is water wet?', references: ['yes'], task: 'yesno', cluster: 'c' },
    ];
    const result = await evaluate({ items, peft, tokenizer: tokenizer() }, { metric: 'acc' });
    const details = result.rows.map((r) => r.base.details as { logprobs: number[] });
    expect(result.settings.targetDelimiter).toBe(''); // Alpaca prompts end in a newline
    // the base log-likelihoods are the plain decoder's: score "no" / "yes" after the prompt directly
    const { scoreOptions } = await import('../../src/core/eval/loglik');
    const plain = await scoreOptions((ids, mask) => computeLogits(decoder, ids, mask), tokenizer(), renderPrompt(items[0], 'alpaca'), ['no', 'yes'], { targetDelimiter: '' });
    expect(details[0].logprobs).toEqual(plain.logprobs);
    expect(result.rows[0].base.output).toBe(['no', 'yes'][plain.prediction]);
    expect(result.rows[0].base.score).toBe(plain.prediction === 0 ? 1 : 0);
    peft.dispose();
  });
});
