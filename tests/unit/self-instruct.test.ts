// Self-Instruct: parsing, every filter decision with its reason, the prompts, seeded sampling and
// cancellation on a scripted stub generator; then the whole pipeline on the tiny-llama fixture.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { InstructionPool, decideInstances, DEFAULT_FILTER_SETTINGS } from '../../src/core/data/self-instruct/filters';
import { modelGenerator } from '../../src/core/data/self-instruct/model-generator';
import {
  parseClassificationInstances,
  parseClassifierAnswer,
  parseGenerationInstances,
  parseInputOutput,
  parseInstructions,
} from '../../src/core/data/self-instruct/parse';
import {
  pickPromptInstructions,
  runSelfInstruct,
  type SelfInstructProgress,
} from '../../src/core/data/self-instruct/pipeline';
import { bootstrapPrompt, bootstrapStops, classifyPrompt, instancesPrompt } from '../../src/core/data/self-instruct/prompts';
import { BUILT_IN_SEED_TASKS } from '../../src/core/data/self-instruct/seed-tasks';
import { Rng } from '../../src/core/rng';
import { useFixtureDecoders } from './decoder-fixtures';
import { COUPLET, LIMERICK, MAMMAL, RAIN, SEEDS, TOO_LONG, TRANSLATE, stubGenerator } from './self-instruct-stub';

const seedTexts = SEEDS.map((seed) => seed.instruction);

describe('parsing generations', () => {
  it('splits a numbered continuation into instructions, only at "N. " line starts', () => {
    const text = ' write a limerick.\n10. Give me two synonyms for happy.\n11.Not a new item\n12 . Name the planets.\n3.5 kg is heavy\n\n  13.   describe   a storm  ';
    expect(parseInstructions(text)).toEqual([
      { text: 'Write a limerick.', incomplete: false },
      { text: 'Give me two synonyms for happy. 11.Not a new item', incomplete: false },
      { text: 'Name the planets. 3.5 kg is heavy', incomplete: false },
      { text: 'Describe a storm', incomplete: false },
    ]);
  });

  it('marks only the last item incomplete when the generation hit its token limit', () => {
    expect(parseInstructions(' A b c.\n10. D e f', true)).toEqual([
      { text: 'A b c.', incomplete: false },
      { text: 'D e f', incomplete: true },
    ]);
    // Cut right after a new number: every item before it had ended.
    expect(parseInstructions(' A b c.\n10. ', true)).toEqual([{ text: 'A b c.', incomplete: false }]);
    expect(parseInstructions('')).toEqual([]);
  });

  it('reads the classifier answer', () => {
    expect(parseClassifierAnswer(' Yes')).toEqual({ isClassification: true, understood: true });
    expect(parseClassifierAnswer('yes.')).toEqual({ isClassification: true, understood: true });
    expect(parseClassifierAnswer(' NO')).toEqual({ isClassification: false, understood: true });
    expect(parseClassifierAnswer(' Yesterday')).toEqual({ isClassification: false, understood: false });
    expect(parseClassifierAnswer('')).toEqual({ isClassification: false, understood: false });
  });

  it('reads input-first instances', () => {
    expect(parseInputOutput('Input: 2 + 2\nOutput: 4\nInput 2: 3 + 3\nOutput: 6')).toEqual({ input: '2 + 2', output: '4' });
    expect(parseInputOutput('just text')).toEqual({ input: '', output: 'just text' });
    expect(parseGenerationInstances('Example 1\nList: 3, 1\nOutput: 1, 3\nExample 2.\nList: 2, 9\nOutput 2: 2, 9')).toEqual([
      { input: 'List: 3, 1', output: '1, 3' },
      { input: 'List: 2, 9', output: '2, 9' },
    ]);
    expect(parseGenerationInstances('Output:\n- one\n- two')).toEqual([{ input: '', output: '- one\n- two' }]);
    // "Example" inside a line is text, not a new example.
    expect(parseGenerationInstances('Output: For Example 2 see above')).toEqual([{ input: '', output: 'For Example 2 see above' }]);
    expect(parseGenerationInstances('no fields at all')).toEqual([]);
  });

  it('reads output-first instances', () => {
    expect(parseClassificationInstances('Class label: Yes\nReview: Great.\nMore text\nClass label: No')).toEqual([
      { input: 'Review: Great.\nMore text', output: 'Yes' },
      { input: '', output: 'No' },
    ]);
    expect(parseClassificationInstances('Label: Yes')).toEqual([]);
  });
});

describe('instruction filters', () => {
  const decide = (text: string, pool = new InstructionPool(['Sort the words in alphabetical order.'])) =>
    pool.decide({ text, incomplete: false });

  it('keeps 3 to 150 words', () => {
    expect(decide('Hi there.')).toEqual({ kept: false, reason: 'too-short', message: '2 words; at least 3 are needed' });
    expect(decide('Name three rivers.').kept).toBe(true);
    expect(decide(`Write ${'long '.repeat(148)}story.`).kept).toBe(true); // 150 words
    expect(decide(`Write ${'long '.repeat(149)}story.`)).toEqual({ kept: false, reason: 'too-long', message: '151 words; at most 150 are allowed' });
  });

  it('blocks whole words and phrases of the blocklist, case-insensitively', () => {
    expect(decide('Please Go To the shop and buy milk.')).toMatchObject({ kept: false, reason: 'blocklisted', keyword: 'go to' });
    expect(decide('Describe the MUSIC of the 1920s.')).toMatchObject({ kept: false, reason: 'blocklisted', keyword: 'music' });
    expect(decide('Describe the imagery of the poem in two sentences.').kept).toBe(true);
    expect(decide('Update your profile summary in one line.').kept).toBe(true);
  });

  it('rejects at ROUGE-L 0.7 exactly and keeps 0.6, recording the closest instruction', () => {
    const pool = new InstructionPool(['Explain the difference between weather and climate to a child.']);
    expect(decide('Explain the difference between rain and snow to a teenager.', pool)).toEqual({
      kept: false,
      reason: 'similar',
      message: 'ROUGE-L 0.70 with “Explain the difference between weather and climate to a child.” (≥ 0.7)',
      similarity: { score: 0.7, instruction: 'Explain the difference between weather and climate to a child.' },
    });
    expect(decide('Explain the difference between rain and snow for a teenager.', pool)).toEqual({
      kept: true,
      message: 'passed every instruction filter',
      similarity: { score: 0.6, instruction: 'Explain the difference between weather and climate to a child.' },
    });
    // What was kept is compared with from now on.
    expect(pool.existing).toHaveLength(2);
  });
});

describe('instance filters', () => {
  it('decides each instance with its reason', () => {
    const decisions = decideInstances(
      [
        { input: '', output: 'ok one' },
        { input: 'x', output: '' },
        { input: 'Same  Text', output: 'same text' },
        { input: 'Sentence:', output: 'A' },
        { input: '', output: 'ok one' },
        { input: 'a', output: 'b' },
        { input: 'c', output: 'd' },
        { input: 'e', output: 'f' },
        { input: 'g', output: 'h' },
        { input: 'i', output: 'j' },
      ],
      true,
    );
    expect(decisions.map((d) => d.reason ?? 'kept')).toEqual([
      'kept', 'empty-output', 'copied-input', 'ends-with-colon', 'duplicate', 'kept', 'kept', 'kept', 'kept', 'incomplete',
    ]);
    expect(decisions[4].message).toBe('repeats example 1');
    const over = decideInstances(Array.from({ length: 7 }, (_, i) => ({ input: `in ${i}`, output: `out ${i}` })), false);
    expect(over.map((d) => d.reason ?? 'kept')).toEqual(['kept', 'kept', 'kept', 'kept', 'kept', 'over-limit', 'over-limit']);
  });

  it('drops every instance when one input got two different outputs', () => {
    const decisions = decideInstances([{ input: 'q', output: '1' }, { input: '', output: 'z' }, { input: 'q', output: '2' }, { input: 'r', output: '' }], false);
    expect(decisions.map((d) => d.reason)).toEqual(['conflicting-outputs', 'conflicting-outputs', 'conflicting-outputs', 'empty-output']);
  });
});

describe('prompts', () => {
  it('numbers the instructions and ends in the next number', () => {
    expect(bootstrapPrompt(['First  task:', 'Second\ntask'])).toBe('Come up with a series of tasks:\n1. First task\n2. Second task\n3.');
    expect(bootstrapStops(8, 7)).toEqual(['\n\n', '\n16.', '\n16 .']);
    expect(classifyPrompt(' Sort it. ')).toMatch(/^Can the following task be regarded as a classification task with finite output labels\?\n\nTask: .*\nIs it classification\? (Yes|No)\n\n/);
    expect(classifyPrompt(' Sort it. ').endsWith('\n\nTask: Sort it.\nIs it classification?')).toBe(true);
    expect(instancesPrompt('Sort it.', true)).toMatch(/^Given the classification task definition and the class labels[^]*\n\nTask: Sort it\.\n$/);
    expect(instancesPrompt('Sort it.', false)).toMatch(/^Come up with examples for the following tasks\.[^]*\n\nTask: Sort it\.\n$/);
  });

  it('puts 6 seed and 2 machine instructions in a prompt, in the seeded order', () => {
    const machine = ['Machine task one here.', 'Machine task two here.', 'Machine task three here.'];
    const picked = pickPromptInstructions(new Rng(42), seedTexts, machine);
    expect(picked).toEqual([
      'Extract every person named in the paragraph.',
      'Classify the sentiment of the review as positive, negative or mixed.',
      'Machine task two here.',
      'Suggest a name for a bakery that sells gluten-free bread.',
      'Tell me whether the number is prime or not prime.',
      'Machine task one here.',
      'Sort the words in alphabetical order.',
      'Write a haiku about the first morning of spring.',
    ]);
    expect(picked.filter((text) => machine.includes(text))).toHaveLength(2);
    expect(new Set(picked).size).toBe(8);
    expect(pickPromptInstructions(new Rng(42), seedTexts, machine)).toEqual(picked);
    expect(pickPromptInstructions(new Rng(43), seedTexts, machine)).not.toEqual(picked);
    // Before anything was generated, all eight are seeds; with one generated, seven.
    expect(pickPromptInstructions(new Rng(1), seedTexts, []).filter((t) => seedTexts.includes(t))).toHaveLength(8);
    expect(pickPromptInstructions(new Rng(1), seedTexts, ['Only one.']).filter((t) => seedTexts.includes(t))).toHaveLength(7);
  });
});

describe('runSelfInstruct on a scripted generator', () => {
  const run = (onProgress?: (p: SelfInstructProgress) => void) => {
    const stub = stubGenerator();
    return runSelfInstruct(stub.generate, { seedTasks: SEEDS, numInstructions: 5, seed: 42 }, { onProgress }).then((result) => ({ result, calls: stub.calls }));
  };

  it('decides every candidate with the expected reason', async () => {
    const { result } = await run();
    expect(result.status).toBe('completed');
    expect(result.requests.map((r) => r.candidates.length)).toEqual([7, 7, 2]);
    const summary = result.candidates.map((c) => [c.id, c.instruction, c.decision.kept, c.decision.reason ?? '-']);
    expect(summary).toEqual([
      ['c1', LIMERICK, true, '-'],
      ['c2', 'Hi there.', false, 'too-short'],
      ['c3', 'Describe the image in one sentence.', false, 'blocklisted'],
      ['c4', 'Write a program that prints the first ten prime numbers.', false, 'write-a-program'],
      ['c5', '- Name three rivers in Europe.', false, 'punctuation-start'],
      ['c6', 'Élaborez un plan de voyage pour Paris.', false, 'non-ascii-start'],
      ['c7', 'Classify the sentiment of the review as positive, negative or mixed.', false, 'duplicate'],
      ['c8', 'Classify the sentiment of each review as positive, negative or mixed.', false, 'similar'],
      ['c9', 'Write a limerick about a cat who learns to swim.', false, 'duplicate'],
      ['c10', COUPLET, false, 'no-instances'],
      ['c11', 'Explain the difference between rain and snow to a teenager.', false, 'similar'],
      ['c12', MAMMAL, true, '-'],
      ['c13', TOO_LONG, false, 'too-long'],
      ['c14', 'Explain why the sky looks blue during the day but red at', false, 'incomplete'],
      ['c15', RAIN, true, '-'],
      ['c16', TRANSLATE, false, 'no-instances'],
    ]);
    const byId = new Map(result.candidates.map((c) => [c.id, c]));
    expect(byId.get('c3')!.decision).toEqual({ kept: false, reason: 'blocklisted', message: 'mentions “image”, which a text-only model cannot act on', keyword: 'image' });
    expect(byId.get('c6')!.decision.message).toBe('starts with the non-ASCII character “É”');
    expect(byId.get('c5')!.decision.message).toBe('starts with the punctuation “-”');
    expect(byId.get('c7')!.decision).toEqual({
      kept: false,
      reason: 'duplicate',
      message: 'repeats “Classify the sentiment of the review as positive, negative or mixed.”',
      duplicateOf: 'Classify the sentiment of the review as positive, negative or mixed.',
    });
    expect(byId.get('c9')!.decision.duplicateOf).toBe(LIMERICK);
    expect(byId.get('c8')!.decision.similarity).toEqual({ score: 10 / 11, instruction: seedTexts[0] });
    expect(byId.get('c11')!.decision.similarity).toEqual({ score: 0.7, instruction: seedTexts[9] });
    expect(byId.get('c15')!.decision).toEqual({ kept: true, message: 'kept with 1 example', similarity: { score: 0.6, instruction: seedTexts[9] } });
    expect(byId.get('c10')!.decision.message).toBe('all 2 generated examples were filtered out');
    expect(byId.get('c16')!.decision.message).toBe('the model\'s answer had no “Output:” to read examples from');

    // Classification routing and each instance's decision.
    expect(result.candidates.filter((c) => c.isClassification !== undefined).map((c) => [c.id, c.isClassification, c.classifierAnswer])).toEqual([
      ['c1', false, ' No'], ['c10', false, ' no'], ['c12', true, ' Yes'], ['c15', false, ' No'], ['c16', false, ' Maybe'],
    ]);
    const instances = (id: string) => byId.get(id)!.instances.map((i) => [i.input, i.output, i.decision.reason ?? 'kept']);
    expect(instances('c1')).toEqual([
      ['', 'There once was a cat from Peru who swam the whole lake through.', 'kept'],
      ['Topic: cat', '', 'empty-output'],
      ['A cat', 'A cat', 'copied-input'],
      ['Name: Tom', 'Tom the cat took a dip in the pool:', 'ends-with-colon'],
      ['', 'There once was a cat from Peru who swam the whole lake through.', 'duplicate'],
    ]);
    expect(instances('c10').map((i) => i[2])).toEqual(['conflicting-outputs', 'conflicting-outputs']);
    expect(instances('c12')).toEqual([
      ['Sentence: The whale sang to its calf.', 'Mammal', 'kept'],
      ['Sentence: The robin built a nest.', 'Bird', 'kept'],
      ['Sentence: The robin built a nest.', 'Bird', 'duplicate'],
      ['Sentence: The bat hung from the ceiling.', 'Mammal', 'kept'],
      ['Sentence: The owl hooted all night.', 'Bird', 'kept'],
      ['Sentence: The dog barked at the postman.', 'Mammal', 'kept'],
      ['Sentence: The penguin dived into the sea.', 'Bird', 'over-limit'],
      ['Sentence: The cow', 'Mammal', 'incomplete'],
    ]);
    expect(instances('c15')).toEqual([['', 'Rain is liquid water; snow is frozen water that falls as flakes.', 'kept']]);
    expect(byId.get('c16')!.instances).toEqual([]);
  });

  it('prompts with seeds and generated instructions in the seeded order, with the reference settings', async () => {
    const { result, calls } = await run();
    expect(calls.map((c) => c.kind)).toEqual([
      'bootstrap', 'bootstrap', 'bootstrap',
      'classify', 'classify', 'classify', 'classify', 'classify',
      'instances', 'instances', 'instances', 'instances', 'instances',
    ]);
    const listed = (prompt: string) => [...prompt.matchAll(/^\d+\. (.*)$/gm)].map((m) => m[1]);
    const [first, second, third] = result.requests.map((r) => listed(r.prompt));
    expect(first.filter((t) => seedTexts.includes(t))).toHaveLength(8);
    expect(second.filter((t) => seedTexts.includes(t))).toHaveLength(7);
    expect(second).toContain(LIMERICK);
    expect(third.filter((t) => seedTexts.includes(t))).toHaveLength(6);
    expect(third.filter((t) => [LIMERICK, COUPLET, MAMMAL].includes(t))).toHaveLength(2);
    expect(result.requests[2].prompt).toBe(
      [
        'Come up with a series of tasks:',
        `1. ${COUPLET}`,
        '2. Sort the words in alphabetical order.',
        '3. Write a haiku about the first morning of spring.',
        '4. Tell me whether the number is prime or not prime.',
        '5. Classify the sentiment of the review as positive, negative or mixed.',
        '6. Summarize the paragraph in one sentence.',
        '7. Rewrite the sentence in the passive voice.',
        `8. ${MAMMAL}`,
        '9.',
      ].join('\n'),
    );
    // The prompt of each request is the one its seeded Rng picks, as pickPromptInstructions documents.
    const rng = new Rng(42);
    const expectedFirst = pickPromptInstructions(rng, seedTexts, []);
    expect(first).toEqual(expectedFirst);

    const bootstrap = calls[0].settings;
    expect(bootstrap).toMatchObject({ maxNewTokens: 256, temperature: 0.7, topP: 0.5, repetitionPenalty: 1, stop: ['\n\n', '\n16.', '\n16 .'] });
    expect(calls[3].settings).toMatchObject({ maxNewTokens: 3, temperature: 0, stop: ['\n', 'Task'] });
    expect(calls[3].prompt.endsWith(`Task: ${LIMERICK}\nIs it classification?`)).toBe(true);
    expect(calls[8].settings).toMatchObject({ maxNewTokens: 300, temperature: 0, stop: ['Example 6', 'Task:'] });
    expect(calls[8].prompt.startsWith('Come up with examples for the following tasks.')).toBe(true);
    expect(calls[10].prompt.startsWith('Given the classification task definition and the class labels')).toBe(true); // MAMMAL: output-first
    expect(new Set(calls.map((c) => c.settings.seed)).size).toBe(calls.length);
  });

  it('is reproducible for a seed and reports progress', async () => {
    const events: SelfInstructProgress[] = [];
    const a = await run((p) => events.push(p));
    const b = await run();
    expect(b.result).toEqual(a.result);
    expect(b.calls).toEqual(a.calls);
    expect(events.map((e) => `${e.stage} ${e.done}/${e.total}`)).toEqual([
      'bootstrap 0/5', 'bootstrap 1/5', 'bootstrap 3/5', 'bootstrap 5/5',
      'classify 0/5', 'classify 1/5', 'classify 2/5', 'classify 3/5', 'classify 4/5',
      'instances 0/5', 'instances 1/5', 'instances 2/5', 'instances 3/5', 'instances 4/5',
      'done 5/5',
    ]);
  });

  it('stops when cancelled, marking what was not finished', async () => {
    const controller = new AbortController();
    const stub = stubGenerator((call) => {
      if (call.kind === 'classify') controller.abort();
    });
    const result = await runSelfInstruct(stub.generate, { seedTasks: SEEDS, numInstructions: 5, seed: 42 }, { signal: controller.signal });
    expect(result.status).toBe('cancelled');
    expect(stub.calls.map((c) => c.kind)).toEqual(['bootstrap', 'bootstrap', 'bootstrap', 'classify']);
    const cancelled = result.candidates.filter((c) => c.decision.reason === 'cancelled').map((c) => c.id);
    expect(cancelled).toEqual(['c1', 'c10', 'c12', 'c15', 'c16']);
    expect(result.candidates.every((c) => !c.decision.kept)).toBe(true);
  });

  it('gives up after maxRequests when nothing passes, and refuses bad options', async () => {
    const calls: string[] = [];
    const result = await runSelfInstruct(async (prompt) => (calls.push(prompt), ' Sort the words in alphabetical order.'), { seedTasks: SEEDS, numInstructions: 3, maxRequests: 4, seed: 1 });
    expect(result.status).toBe('completed');
    expect(calls).toHaveLength(4);
    expect(result.candidates.map((c) => c.decision.reason)).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate']);
    await expect(runSelfInstruct(async () => '', { seedTasks: [], numInstructions: 1, seed: 1 })).rejects.toThrow(/no seed tasks/);
    await expect(runSelfInstruct(async () => '', { seedTasks: SEEDS, numInstructions: 0, seed: 1 })).rejects.toThrow(/numInstructions must be a whole number ≥ 1, got 0/);
    await expect(runSelfInstruct(async () => '', { seedTasks: SEEDS, numInstructions: 1, seed: 1, topP: 0 })).rejects.toThrow(/topP must be in \(0, 1\]/);
  });

  it('ships 21 built-in seed tasks, each passing its own filters', () => {
    expect(BUILT_IN_SEED_TASKS).toHaveLength(21);
    const pool = new InstructionPool([]);
    for (const task of BUILT_IN_SEED_TASKS) {
      expect(pool.decide({ text: task.instruction, incomplete: false }), task.instruction).toMatchObject({ kept: true });
      expect(task.instances.length).toBeGreaterThan(0);
    }
    expect(BUILT_IN_SEED_TASKS.filter((t) => t.isClassification).length).toBe(8);
    expect(DEFAULT_FILTER_SETTINGS).toMatchObject({ minWords: 3, maxWords: 150, similarityThreshold: 0.7, maxInstances: 5 });
  });
});

describe('Self-Instruct on the tiny-llama fixture', () => {
  const { fixtures, decoders } = useFixtureDecoders('wasm', ['tiny-llama', 'tiny-gpt2']);
  // Sampled at the reference's temperature 0.7 / top-p 0.5; this seed's first generation ends in
  // EOS, so its one candidate passes the instruction filters and goes through every stage.
  const options = { seedTasks: BUILT_IN_SEED_TASKS, numInstructions: 1, maxRequests: 2, seed: 3, maxNewTokens: { bootstrap: 32, classify: 3, instances: 16 } };

  it('runs every stage, decides every candidate and repeats itself exactly', async () => {
    const generate = modelGenerator(decoders.get('tiny-llama')!, fixtures.get('tiny-llama')!.checkpoint.tokenizer);
    const before = tf.memory().numTensors;
    const first = await runSelfInstruct(generate, options);
    const second = await runSelfInstruct(generate, options);
    expect(tf.memory().numTensors).toBe(before);
    expect(second).toEqual(first);

    expect(first.status).toBe('completed');
    expect(first.requests.map((r) => [r.text, r.truncated])).toEqual([['lovpaint? A: boats.', false]]);
    expect(first.candidates).toHaveLength(1);
    const [candidate] = first.candidates;
    expect(candidate.instruction).toBe('Lovpaint? A: boats.');
    // The gibberish answers neither Yes nor No, so it is treated as not classification (input-first).
    expect(candidate.classifierAnswer).toBe('dA');
    expect(candidate.isClassification).toBe(false);
    expect(candidate.instancesText).toMatch(/^osinloves s\. The opposite of hot is cold;/);
    expect(candidate.instances).toEqual([]);
    expect(candidate.decision).toEqual({
      kept: false,
      reason: 'no-instances',
      message: 'the model\'s answer had no “Output:” to read examples from',
      similarity: candidate.decision.similarity,
    });
    expect(candidate.decision.similarity!.score).toBeLessThan(0.7);
  });

  it('fits GPT-2 answers into its positions, and says so when a prompt alone does not fit', async () => {
    const tokenizer = fixtures.get('tiny-gpt2')!.checkpoint.tokenizer;
    const generate = modelGenerator(decoders.get('tiny-gpt2')!, tokenizer);
    const settings = { maxNewTokens: 300, temperature: 0, topP: 1, repetitionPenalty: 1, stop: [], seed: 1 };
    const prompt = 'Come up with a series of tasks:';
    const room = 64 - tokenizer.encode(prompt).length;
    const result = await generate(prompt, settings);
    expect(typeof result === 'object' && result.truncated).toBe(true);
    const text = typeof result === 'string' ? result : result.text;
    expect(tokenizer.encode(text).length).toBeLessThanOrEqual(room + 1); // re-encoding may merge differently by a token
    await expect(generate(bootstrapPrompt(seedTexts), settings)).rejects.toThrow(/a prompt is \d+ tokens, but this GPT-2 model reads at most 64/);
  });
});
