// Shaping stored datasets (fake-indexeddb): mixtures drawn by MixSampler into one new dataset whose
// counts match the rates within sampling error and whose recipe records the spec; staged plans;
// augmentation with exact counts and tags; template previews (k-shot, ablations, SNI, chat); and
// bad specs that throw and leave every object store exactly as it was.
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createDataset, getExamples, openHoneDb, saveModel, type ExampleInput, type ExampleRecord, type HoneDb } from '../../src/core/store';
import { MixSampler, PlanSampler } from '../../src/core/data/mix';
import { invertRecords, paraphraseRecords } from '../../src/core/data/augment';
import { mixDatasets, planDatasets, previewMix, previewPlan, recipeOf, ShapeError, type MixRecipe, type MixSpec, type PlanRecipe, type PlanSpec } from '../../src/core/data/shaping';
import { augmentDataset } from '../../src/core/data/shaping/augment';
import { previewTemplates, type ChatRenderer } from '../../src/core/data/shaping/preview';
import { HoneTokenizer } from '../../src/core/tokenizer/tokenizer';
import { dumpAll } from './store-helpers';

const opened: HoneDb[] = [];
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
});

/** A: 20 open_qa (15 train, 5 test); B: 100 closed_qa with contexts; C: 400 summarization tagged "c"; P: 30 plain text. */
async function seeded() {
  const db = await openHoneDb({ name: `hone-shaping-${crypto.randomUUID()}` });
  opened.push(db);
  await saveModel(db, { name: 'm', modelType: 'gpt2', family: 'gpt2', parameterCount: 1, architecture: {}, source: 'test' }, new Map([['config.json', new TextEncoder().encode('{}')]]));
  const make = (n: number, f: (i: number) => ExampleInput) => Array.from({ length: n }, (_, i) => f(i));
  const a = await createDataset(db, { name: 'A', source: 'inline' }, make(20, (i) => ({ instruction: `A ${i}?`, output: `a${i}`, task: 'open_qa', split: i < 15 ? 'train' : 'test' })));
  const b = await createDataset(db, { name: 'B', source: 'inline' }, make(100, (i) => ({ instruction: `B ${i}?`, context: `ctx ${i}`, output: `b${i}`, task: 'closed_qa' })));
  const c = await createDataset(db, { name: 'C', source: 'inline' }, make(400, (i) => ({ instruction: `C ${i}`, output: `c${i}`, task: 'summarization', tags: ['c'] })));
  const p = await createDataset(db, { name: 'P', source: 'inline' }, make(30, (i) => ({ instruction: '', output: `text ${i}` })));
  return { db, a, b, c, p };
}

const tagCount = (examples: ExampleRecord[], tag: string) => examples.filter((e) => e.tags?.includes(tag)).length;

/** |observed share − rate| ≤ 4 standard errors of a binomial share. */
function expectWithinSamplingError(count: number, rate: number, n: number, what: string): void {
  const standardError = Math.sqrt((rate * (1 - rate)) / n);
  expect(Math.abs(count / n - rate), `${what}: ${count}/${n} drawn, rate ${rate}`).toBeLessThanOrEqual(4 * standardError);
}

describe('mixDatasets', () => {
  it('examples-proportional with a cap: counts within sampling error, spec and rates recorded, MixSampler order', async () => {
    const { db, a, b, c } = await seeded();
    const spec: MixSpec = { name: 'abc mix', sources: [{ datasetId: a.id }, { datasetId: b.id }, { datasetId: c.id }], rule: { kind: 'proportional', cap: 50 }, total: 3000, seed: 7 };
    const mixed = await mixDatasets(db, spec);
    const examples = await getExamples(db, mixed.id);
    expect(examples.length).toBe(3000);
    expect(mixed.counts.total).toBe(3000);
    expect(examples.map((e) => e.position)).toEqual(Array.from({ length: 3000 }, (_, i) => i));

    // cap 50: min(20, 50) : min(100, 50) : min(400, 50) = 20 : 50 : 50
    const rates = [20 / 120, 50 / 120, 50 / 120];
    const recipe = recipeOf(mixed) as MixRecipe;
    expect(recipe.kind).toBe('mix');
    expect(recipe.spec).toEqual(spec);
    expect(recipe.sources.map((s) => [s.datasetName, s.size, s.rate, s.role])).toEqual([
      ['A', 20, rates[0], 'instruction'],
      ['B', 100, rates[1], 'instruction'],
      ['C', 400, rates[2], 'instruction'],
    ]);
    [a, b, c].forEach((d, i) => {
      const count = tagCount(examples, `from:${d.id}`);
      expect(recipe.sources[i].drawn).toBe(count);
      expectWithinSamplingError(count, rates[i], 3000, d.name);
    });
    // the capped sources' draws are within error of each other, far below their 1 : 8 sizes
    expect(tagCount(examples, `from:${c.id}`) / tagCount(examples, `from:${b.id}`)).toBeLessThan(1.25);

    // the stored order is exactly MixSampler's with the same seed (datasets named by their names)
    const sampler = new MixSampler({ sources: [{ name: 'A', size: 20 }, { name: 'B', size: 100 }, { name: 'C', size: 400 }], rule: { kind: 'proportional', cap: 50 } }, 7);
    const expected = Array.from({ length: 3000 }, () => sampler.next());
    const byName = { A: 'A', B: 'B', C: 'C' } as const;
    expect(examples.map((e) => e.instruction)).toEqual(expected.map((d) => `${byName[d.source as 'A']} ${d.index}${d.source === 'C' ? '' : '?'}`));
    // records are copied whole, own tags kept, provenance tag added
    const fromC = examples.find((e) => e.instruction === 'C 3')!;
    expect(fromC).toMatchObject({ output: 'c3', task: 'summarization', tags: ['c', `from:${c.id}`] });
    const fromB = examples.find((e) => e.instruction === 'B 3?')!;
    expect(fromB).toMatchObject({ context: 'ctx 3', output: 'b3', task: 'closed_qa', tags: [`from:${b.id}`] });
    // every pass over a source sees each example once: A's 20 examples are drawn equally often ±1
    const perA = new Map<string, number>();
    for (const e of examples) if (e.task === 'open_qa') perA.set(e.instruction, (perA.get(e.instruction) ?? 0) + 1);
    expect(perA.size).toBe(20);
    expect(Math.max(...perA.values()) - Math.min(...perA.values())).toBeLessThanOrEqual(1);
  });

  it('temperature mixing: rate ∝ size^(1/T)', async () => {
    const { db, a, b, c } = await seeded();
    const mixed = await mixDatasets(db, { name: 't', sources: [{ datasetId: a.id }, { datasetId: b.id }, { datasetId: c.id }], rule: { kind: 'temperature', temperature: 2 }, total: 2000, seed: 3 });
    const roots = [Math.sqrt(20), 10, 20];
    const sum = roots.reduce((x, y) => x + y, 0);
    const recipe = recipeOf(mixed) as MixRecipe;
    const examples = await getExamples(db, mixed.id);
    [a, b, c].forEach((d, i) => {
      expect(recipe.sources[i].rate).toBeCloseTo(roots[i] / sum, 14);
      expectWithinSamplingError(tagCount(examples, `from:${d.id}`), roots[i] / sum, 2000, d.name);
    });
  });

  it('explicit weights, a zero weight drawing nothing; one split of a dataset', async () => {
    const { db, a, b, c } = await seeded();
    const mixed = await mixDatasets(db, {
      name: 'w',
      sources: [{ datasetId: a.id, split: 'train' }, { datasetId: b.id }, { datasetId: c.id }],
      rule: { kind: 'weights', weights: [1, 0, 3] },
      total: 2000,
      seed: 11,
    });
    const examples = await getExamples(db, mixed.id);
    const recipe = recipeOf(mixed) as MixRecipe;
    expect(recipe.sources.map((s) => [s.datasetName, s.split, s.size, s.rate])).toEqual([
      ['A', 'train', 15, 0.25],
      ['B', undefined, 100, 0],
      ['C', undefined, 400, 0.75],
    ]);
    expect(tagCount(examples, `from:${b.id}`)).toBe(0);
    expectWithinSamplingError(tagCount(examples, `from:${a.id}`), 0.25, 2000, 'A');
    const fromA = examples.filter((e) => e.task === 'open_qa');
    expect(fromA.every((e) => e.split === 'train')).toBe(true);
    expect(new Set(fromA.map((e) => e.instruction)).size).toBe(15);
  });

  it('mixes in plain pretraining text at the given ratio', async () => {
    const { db, a, c, p } = await seeded();
    const spec: MixSpec = { name: 'with text', sources: [{ datasetId: a.id }, { datasetId: c.id }], rule: { kind: 'weights', weights: [1, 1] }, pretraining: { datasetId: p.id, ratio: 0.2 }, total: 2500, seed: 5 };
    const preview = await previewMix(db, spec);
    expect(preview.sources.map((s) => [s.datasetName, s.role, s.rate, s.expected])).toEqual([
      ['A', 'instruction', 0.4, 1000],
      ['C', 'instruction', 0.4, 1000],
      ['P', 'pretraining', 0.2, 500],
    ]);
    const mixed = await mixDatasets(db, spec);
    const examples = await getExamples(db, mixed.id);
    const text = examples.filter((e) => e.tags?.includes('pretraining'));
    expect(text.every((e) => e.instruction === '' && e.tags!.join() === `from:${p.id},pretraining`)).toBe(true);
    expect(tagCount(examples, `from:${p.id}`)).toBe(text.length);
    expectWithinSamplingError(text.length, 0.2, 2500, 'pretraining text');
    expect((recipeOf(mixed) as MixRecipe).sources[2]).toMatchObject({ role: 'pretraining', rate: 0.2, drawn: text.length });
  });
});

describe('planDatasets', () => {
  it('stores the stages in order, tagged stage:<n>, replaying earlier stages, as PlanSampler draws them', async () => {
    const { db, a, b, c } = await seeded();
    const spec: PlanSpec = {
      name: 'curriculum',
      stages: [
        { name: 'warm-up', sources: [{ datasetId: a.id }, { datasetId: b.id }], rule: { kind: 'proportional' }, steps: 10 },
        { name: 'main', sources: [{ datasetId: c.id }], rule: { kind: 'proportional' }, steps: 20, replay: 0.25 },
      ],
      examplesPerStep: 4,
      seed: 9,
    };
    const preview = await previewPlan(db, spec);
    expect(preview.totalSteps).toBe(30);
    expect(preview.stages.map((s) => [s.name, s.firstStep, s.steps, s.examples, s.replay])).toEqual([
      ['warm-up', 0, 10, 40, 0],
      ['main', 10, 20, 80, 0.25],
    ]);
    // stage 2: 75% C, 25% replay of stage 1 (A 20/120, B 100/120)
    expect(preview.stages[1].sources.map((s) => [s.datasetName, s.rate])).toEqual([
      ['C', 0.75],
      ['A', 0.25 * (20 / 120)],
      ['B', 0.25 * (100 / 120)],
    ]);
    const planned = await planDatasets(db, spec);
    const examples = await getExamples(db, planned.id);
    expect(examples.length).toBe(120);
    expect(examples.slice(0, 40).every((e) => e.tags!.includes('stage:1') && e.task !== 'summarization')).toBe(true);
    expect(examples.slice(40).every((e) => e.tags!.includes('stage:2') && !e.tags!.includes('stage:1'))).toBe(true);
    const sampler = new PlanSampler(
      {
        stages: [
          { name: 'warm-up', mixture: { sources: [{ name: 'A', size: 20 }, { name: 'B', size: 100 }], rule: { kind: 'proportional', cap: 3000 } }, steps: 10 },
          { name: 'main', mixture: { sources: [{ name: 'C', size: 400 }], rule: { kind: 'proportional', cap: 3000 } }, steps: 20, replay: 0.25 },
        ],
      },
      9,
      4,
    );
    const draws = Array.from({ length: 120 }, () => sampler.next());
    expect(examples.map((e) => e.instruction)).toEqual(draws.map((d) => `${d.source} ${d.index}${d.source === 'C' ? '' : '?'}`));
    const recipe = recipeOf(planned) as PlanRecipe;
    expect(recipe.spec).toEqual(spec);
    expect(recipe.stages[1].sources.reduce((n, s) => n + s.drawn!, 0)).toBe(80);
    expect(recipe.stages[1].sources.find((s) => s.datasetName === 'C')!.drawn).toBe(tagCount(examples.slice(40), `from:${c.id}`));
  });
});

describe('augmentDataset', () => {
  async function withMixedRecords() {
    const seededDb = await seeded();
    const records: ExampleInput[] = [
      { instruction: 'What is the capital of France?', output: 'Paris', task: 'open_qa', split: 'train', tags: ['geo'] },
      { instruction: 'Who wrote Hamlet?', output: 'Shakespeare', task: 'open_qa' },
      { instruction: 'When did it open?', context: 'The bridge opened in 1932.', output: '1932', task: 'closed_qa', cluster: 'qa' },
      { instruction: '', output: 'Plain text is skipped.' },
      { instruction: '', conversation: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] },
      { instruction: 'No answer yet' },
    ];
    const source = await createDataset(seededDb.db, { name: 'mixed', source: 'inline' }, records);
    return { ...seededDb, source, records };
  }

  it('inversion + 2 paraphrases + originals: exact counts, order, tags and recipe', async () => {
    const { db, source, records } = await withMixedRecords();
    const made = await augmentDataset(db, source.id, { invert: true, paraphrase: 2, seed: 4, includeOriginals: true });
    const examples = await getExamples(db, made.id);
    const stored = await getExamples(db, source.id);
    const inverted = invertRecords(stored);
    const paraphrased = paraphraseRecords(stored, { seed: 4, perRecord: 2 });
    expect(inverted.records.length).toBe(3);
    expect(paraphrased.records.length).toBe(6);
    expect(examples.length).toBe(6 + 3 + 6);
    const fields = (e: ExampleRecord) => {
      const { id: _i, datasetId: _d, position: _p, ...rest } = e;
      return rest;
    };
    expect(examples.map(fields)).toEqual([...records, ...inverted.records, ...paraphrased.records]);
    expect(examples.slice(6, 9).map((e) => e.tags)).toEqual([['geo', 'inverted'], ['inverted'], ['inverted']]);
    const paraphraseTags = examples.slice(9).map((e) => e.tags!.at(-1)!);
    expect(paraphraseTags.slice(0, 4).every((t) => /^paraphrase:open_qa\/[1-6]$/.test(t))).toBe(true);
    expect(paraphraseTags.slice(4).every((t) => /^paraphrase:closed_qa\/[1-6]$/.test(t))).toBe(true);
    expect(new Set(paraphraseTags.slice(0, 2)).size).toBe(2); // two distinct templates per record
    expect(examples[9].split).toBe('train');
    expect(recipeOf(made)).toEqual({
      kind: 'augment',
      from: { datasetId: source.id, datasetName: 'mixed' },
      spec: { invert: true, paraphrase: 2, seed: 4, includeOriginals: true },
      counts: { originals: 6, inverted: 3, paraphrased: 6, notInvertible: 3, notParaphrasable: 3 },
    });
    expect(made.name).toBe('mixed (augmented)');
    // the capital question is train: the original, its inversion and its 2 paraphrases
    expect(made.counts).toEqual({ total: 15, train: 4, validation: 0, test: 0, unsplit: 11 });
  });

  it('inversion only, without the originals', async () => {
    const { db, source } = await withMixedRecords();
    const made = await augmentDataset(db, source.id, { invert: true, paraphrase: 0, seed: 1, name: 'turned around' });
    const examples = await getExamples(db, made.id);
    expect(made.name).toBe('turned around');
    expect(examples.map((e) => [e.task, e.output])).toEqual([
      ['open_qa:inverted', 'What is the capital of France?'],
      ['open_qa:inverted', 'Who wrote Hamlet?'],
      ['closed_qa:inverted', 'The bridge opened in 1932.'],
    ]);
  });
});

describe('previewTemplates', () => {
  async function qa() {
    const db = await openHoneDb({ name: `hone-shaping-${crypto.randomUUID()}` });
    opened.push(db);
    const dataset = await createDataset(db, { name: 'Trivia', source: 'inline' }, [
      { instruction: 'What is the capital of France?', output: 'Paris', task: 'open_qa' },
      { instruction: 'Who wrote Hamlet?', output: 'Shakespeare', task: 'open_qa' },
      { instruction: 'What is 2 + 2?', output: '4', task: 'open_qa' },
      { instruction: 'Is the sky green?', output: 'no', negatives: [{ output: 'yes', explanation: 'The sky is blue.' }] },
      { instruction: '', conversation: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] },
    ]);
    return { db, dataset };
  }

  it('zero-shot through a fixed template, and k-shot with exemplars of the same task', async () => {
    const { db, dataset } = await qa();
    const zero = await previewTemplates(db, dataset.id, { task: 'open_qa', mode: 'instructions', shots: 0, limit: 1, templateId: 'open_qa/2' });
    expect(zero.samples).toEqual([
      { exampleId: expect.any(String), position: 0, task: 'open_qa', templateId: 'open_qa/2', shots: 0, prompt: 'Question: What is the capital of France?\n\nAnswer: ', completion: 'Paris' },
    ]);
    const two = await previewTemplates(db, dataset.id, { task: 'open_qa', mode: 'instructions', shots: 2, limit: 1, templateId: 'open_qa/3', seed: 1 });
    const hamlet = 'Q: Who wrote Hamlet?\nA: Shakespeare\n\n\n';
    const sum = 'Q: What is 2 + 2?\nA: 4\n\n\n';
    const query = 'Q: What is the capital of France?\nA: ';
    expect(two.samples[0].shots).toBe(2);
    expect([hamlet + sum + query, sum + hamlet + query]).toContain(two.samples[0].prompt);
  });

  it('ablations (no template, dataset name), SNI negatives, and a conversation without chat', async () => {
    const { db, dataset } = await qa();
    const plain = await previewTemplates(db, dataset.id, { mode: 'no-template', shots: 0, limit: 5 });
    expect(plain.samples.slice(0, 4).map((s) => s.prompt)).toEqual(['What is the capital of France?\n\n', 'Who wrote Hamlet?\n\n', 'What is 2 + 2?\n\n', 'Is the sky green?\n\n']);
    expect(plain.samples[4].error).toMatch(/2-turn conversation.*chat rendering/);
    const named = await previewTemplates(db, dataset.id, { mode: 'dataset-name', shots: 0, limit: 4 });
    expect(named.samples.map((s) => s.prompt)).toEqual(['open_qa: What is the capital of France?\n\n', 'open_qa: Who wrote Hamlet?\n\n', 'open_qa: What is 2 + 2?\n\n', 'Trivia: Is the sky green?\n\n']);
    const sni = await previewTemplates(db, dataset.id, { mode: 'sni', shots: 0, limit: 4 });
    expect(sni.samples[3]).toMatchObject({
      prompt: 'Definition: Is the sky green?\n\nNegative Example 1 -\nOutput: yes\nExplanation: The sky is blue.\n\nNow complete the following example -\nOutput: ',
      completion: 'no',
    });
  });

  it('chat rendering through the model’s chat template (tiny-llama)', async () => {
    const { db, dataset } = await qa();
    const read = (file: string) => readFileSync(fileURLToPath(new URL(`../fixtures/hf/tiny-llama/${file}`, import.meta.url)), 'utf8');
    const tokenizer = HoneTokenizer.fromJson(read('tokenizer.json'), read('tokenizer_config.json'));
    const chat: ChatRenderer = (messages, addGenerationPrompt) => tokenizer.applyChatTemplate(messages, { addGenerationPrompt });
    const preview = await previewTemplates(db, dataset.id, { mode: 'instructions', shots: 0, limit: 5, templateId: 'generic/1', chat: true }, chat);
    expect(preview.samples[0]).toMatchObject({
      prompt: '<s>user\nWhat is the capital of France?</s>\n<s>assistant\n',
      completion: 'Paris</s>\n',
      messages: [{ role: 'user', content: 'What is the capital of France?' }, { role: 'assistant', content: 'Paris' }],
    });
    expect(preview.samples[4]).toMatchObject({ prompt: '<s>user\nhi</s>\n<s>assistant\n', completion: 'hello</s>\n' });
    await expect(previewTemplates(db, dataset.id, { mode: 'instructions', shots: 0, limit: 1, chat: true })).rejects.toThrow(
      'template preview: chat rendering needs a loaded model that ships a chat template',
    );
    await expect(previewTemplates(db, dataset.id, { mode: 'instructions', shots: 0, limit: 1, templateId: 'open_qa/99' })).rejects.toThrow(
      'template preview: no template has the id "open_qa/99"',
    );
  });
});

describe('bad specs throw and change nothing stored', () => {
  type Case = [string, (ids: Awaited<ReturnType<typeof seeded>>) => Promise<unknown>, string];
  const mix = (d: Awaited<ReturnType<typeof seeded>>, over: Partial<MixSpec>): MixSpec => ({
    name: 'x',
    sources: [{ datasetId: d.a.id }, { datasetId: d.b.id }],
    rule: { kind: 'proportional' },
    total: 10,
    seed: 1,
    ...over,
  });
  const cases: Case[] = [
    ['unknown dataset', (d) => mixDatasets(d.db, mix(d, { sources: [{ datasetId: d.a.id }, { datasetId: 'nope' }] })), 'mix, source 2: no dataset with id “nope” is stored'],
    ['weights adding up to 0', (d) => mixDatasets(d.db, mix(d, { rule: { kind: 'weights', weights: [0, 0] } })), 'mix: the weights add up to 0; give at least one source a positive weight'],
    ['a negative weight', (d) => mixDatasets(d.db, mix(d, { rule: { kind: 'weights', weights: [2, -1] } })), 'mix, source 2: weight must be a number ≥ 0, got -1'],
    ['one weight for two sources', (d) => mixDatasets(d.db, mix(d, { rule: { kind: 'weights', weights: [1] } })), 'mix: give one weight per source (2), got 1'],
    ['pretraining ratio 1', (d) => mixDatasets(d.db, mix(d, { pretraining: { datasetId: d.p.id, ratio: 1 } })), 'mix, pretraining text: ratio must be at least 0 and below 1, got 1'],
    ['pretraining ratio −0.1', (d) => mixDatasets(d.db, mix(d, { pretraining: { datasetId: d.p.id, ratio: -0.1 } })), 'ratio must be at least 0 and below 1, got -0.1'],
    ['total 0', (d) => mixDatasets(d.db, mix(d, { total: 0 })), 'mix: total must be a whole number ≥ 1, got 0'],
    ['total −5', (d) => mixDatasets(d.db, mix(d, { total: -5 })), 'mix: total must be a whole number ≥ 1, got -5'],
    ['no name', (d) => mixDatasets(d.db, mix(d, { name: '  ' })), 'mix: give the new dataset a name'],
    ['no sources', (d) => mixDatasets(d.db, mix(d, { sources: [] })), 'mix: choose at least one dataset to mix'],
    ['temperature 0', (d) => mixDatasets(d.db, mix(d, { rule: { kind: 'temperature', temperature: 0 } })), 'mix: temperature must be a positive number, got 0'],
    ['a source twice', (d) => mixDatasets(d.db, mix(d, { sources: [{ datasetId: d.a.id }, { datasetId: d.a.id }] })), 'mix, source 2: that dataset is already source 1'],
    ['an empty split', (d) => mixDatasets(d.db, mix(d, { sources: [{ datasetId: d.a.id, split: 'validation' }] })), 'mix, source 1: dataset “A” has no examples in its validation split'],
    [
      'plan: unknown dataset in stage 2',
      (d) => planDatasets(d.db, { name: 'p', examplesPerStep: 2, seed: 1, stages: [{ sources: [{ datasetId: d.a.id }], rule: { kind: 'proportional' }, steps: 3 }, { sources: [{ datasetId: 'gone' }], rule: { kind: 'proportional' }, steps: 3 }] }),
      'plan stage 2, source 1: no dataset with id “gone” is stored',
    ],
    [
      'plan: replay on the first stage',
      (d) => planDatasets(d.db, { name: 'p', examplesPerStep: 2, seed: 1, stages: [{ sources: [{ datasetId: d.a.id }], rule: { kind: 'proportional' }, steps: 3, replay: 0.5 }] }),
      'plan stage 1: replay is 0.5, but the first stage has no earlier stage to replay',
    ],
    ['augment: unknown dataset', (d) => augmentDataset(d.db, 'nope', { invert: true, paraphrase: 0, seed: 1 }), 'augmentation: no dataset with id “nope” is stored'],
    ['augment: nothing asked', (d) => augmentDataset(d.db, d.a.id, { invert: false, paraphrase: 0, seed: 1 }), 'augmentation: nothing to do'],
    ['augment: paraphrase −1', (d) => augmentDataset(d.db, d.a.id, { invert: false, paraphrase: -1, seed: 1 }), 'augmentation: paraphrase must be a whole number ≥ 0, got -1'],
    ['augment: only plain text', (d) => augmentDataset(d.db, d.p.id, { invert: true, paraphrase: 1, seed: 1 }), 'augmentation: no example of “P” could be augmented'],
  ];
  it.each(cases)('%s', async (_name, run, message) => {
    const d = await seeded();
    const before = await dumpAll(d.db);
    const error = await run(d).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ShapeError);
    expect((error as Error).message).toContain(message);
    expect(await dumpAll(d.db)).toEqual(before);
  });
});
