// Evaluations as the studio runs them, with IndexedDB (fake-indexeddb): eval sets from a dataset's
// test split (k-shot exemplars from its train split) or held-out clusters; the tuned side from an
// imported adapter folder or a training run's checkpoint (its exact weights); the report stored,
// rated (thumbs, blind A/B) and exported (JSON, CSV, preference pairs); bad input (no references,
// unknown metric, options the tokenizer cannot encode, no test split, a broken adapter) fails with
// a clear error and stores nothing — through session.ts and through the worker's evalApi.
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { setNodeBackend } from '../../cli/node-backend';
import { Decoder } from '../../src/core/model/decoder';
import { createDataset, listRatings, loadLatestCheckpoint, openHoneDb, type HoneDb } from '../../src/core/store';
import { exportEvaluation, rateExample, runEvalSession, type EvalModel, type EvalSpec } from '../../src/core/eval/session';
import { peftFromRun } from '../../src/core/eval/models';
import { renderPrompt } from '../../src/core/eval/eval-set';
import { TrainingSession } from '../../src/core/train/session';
import type { BackendReport } from '../../src/core/backend/select';
import { db as workerDb, setBackendReport, setCurrent, type LoadedModel } from '../../workers/context';
import { evalApi } from '../../workers/eval';
import { trainingApi } from '../../workers/training';
import { loadFixture, type Fixture } from './decoder-fixtures';
import { loadFixture as loadPeftFixture } from './peft-helpers';

let fixture: Fixture;
let decoder: Decoder;
let model: EvalModel;
let loraFiles: { name: string; bytes: Uint8Array }[];

beforeAll(async () => {
  await setNodeBackend('wasm');
  fixture = await loadFixture('tiny-llama');
  decoder = Decoder.fromHost(fixture.checkpoint.config, fixture.checkpoint.weights);
  model = { id: 'tiny-llama', name: 'tiny-llama', decoder, tokenizer: fixture.checkpoint.tokenizer };
  loraFiles = [...loadPeftFixture('tiny-llama').adapter('lora')].map(([name, bytes]) => ({ name: `lora/${name}`, bytes }));
});
afterAll(() => decoder.dispose());

const freshDb = () => openHoneDb({ name: `hone-eval-${crypto.randomUUID()}` });
const GENERATION = { maxNewTokens: 3, greedy: true, seed: 0 };

const EXAMPLES = [
  { instruction: 'Name a colour.', output: 'Blue.', task: 'open_qa', cluster: 'knowledge', split: 'train' as const },
  { instruction: 'Name a fruit.', output: 'Apple.', task: 'open_qa', cluster: 'knowledge', split: 'train' as const },
  { instruction: 'Say hello.', output: 'Hello there!', task: 'open_qa', cluster: 'knowledge', split: 'test' as const },
  { instruction: 'Add the numbers.', context: '2 and 3', output: '5', task: 'math', cluster: 'reasoning', split: 'test' as const },
  { instruction: 'Chat', conversation: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }], task: 'chat', cluster: 'chat', split: 'test' as const },
  { instruction: 'Double it.', context: '4', output: '8', task: 'math', cluster: 'reasoning' },
];

async function counts(db: HoneDb) {
  return { evaluations: await db.count('evaluations'), ratings: await db.count('ratings') };
}

const adapterSpec = (datasetId: string, overrides: Partial<EvalSpec> = {}): EvalSpec => ({
  source: { kind: 'dataset', datasetId },
  tuned: { kind: 'adapter', name: 'lora', files: loraFiles },
  metric: 'rougeL',
  generation: GENERATION,
  ...overrides,
});

describe('runEvalSession', () => {
  it('evaluates a dataset’s test split against an adapter, stores the report, and rates and exports it', async () => {
    const db = await freshDb();
    const dataset = await createDataset(db, { name: 'mini', source: 'test' }, EXAMPLES);
    const before = tf.memory().numTensors;
    const { id, report } = await runEvalSession(db, model, adapterSpec(dataset.id, { shots: 1, name: 'LoRA check' }));
    expect(tf.memory().numTensors).toBe(before);
    expect(id).not.toBeNull();
    expect(report).toMatchObject({
      name: 'LoRA check',
      status: 'completed',
      model: { id: 'tiny-llama', name: 'tiny-llama' },
      tuned: { kind: 'adapter', id: 'lora', name: 'lora', method: 'lora' },
      evalSet: { kind: 'dataset', id: dataset.id, name: 'mini', selection: 'test split', count: 2, skipped: 1 }, // the chat is left out
      metric: { name: 'rougeL', best: 1, mode: 'generate' },
      settings: { generation: GENERATION, promptFormat: 'alpaca', shots: 1 },
    });
    expect(report.rows.map((r) => [r.task, r.cluster, r.references])).toEqual([
      ['open_qa', 'knowledge', ['Hello there!']],
      ['math', 'reasoning', ['5']],
    ]);
    expect(report.rows[1].prompt).toBe(renderPrompt({ id: 'x', instruction: 'Add the numbers.', context: '2 and 3', references: [], task: 'math', cluster: 'reasoning' }, 'alpaca'));
    // exemplars come from the train split (same task first): the open_qa item sees a training colour/fruit answer
    expect(report.rows[0].fewShot!.prompt).toMatch(/### Response:\n(Blue|Apple)\.\n\n\n/);
    expect(report.rows[1].fewShot!.prompt).not.toContain('Double it.'); // unsplit examples are not exemplars
    expect(report.comparison!.overall.count).toBe(2);
    expect(report.figure.map((g) => g.group)).toEqual(['knowledge', 'reasoning', 'all examples']);

    // ratings: one per example and kind; rating again replaces
    const [first, second] = report.rows.map((r) => r.id);
    await rateExample(db, id!, first, 'thumbs', 'down');
    await rateExample(db, id!, first, 'thumbs', 'up');
    // the second example is voted on first: the pairs still come out in the report's row order
    await rateExample(db, id!, second, 'ab', 'base');
    await rateExample(db, id!, first, 'ab', 'tuned');
    const ratings = await listRatings(db, id!);
    // by when they were given; votes within one millisecond in the order given (ids are time-ordered),
    // so this order is exact, not sorted: random ids once swapped the two A/B votes (and the pairs below)
    expect(ratings.map((r) => [r.exampleId, r.kind, r.value])).toEqual([
      [first, 'thumbs', 'up'],
      [second, 'ab', 'base'],
      [first, 'ab', 'tuned'],
    ]);
    await expect(rateExample(db, id!, first, 'thumbs', 'maybe')).rejects.toThrow('A thumbs rating is one of up, down, got "maybe".');
    await expect(rateExample(db, id!, 'nope', 'ab', 'base')).rejects.toThrow('Evaluation “LoRA check” has no example "nope".');

    const pairs = await exportEvaluation(db, id!, 'preferences');
    expect(pairs.fileName).toBe('lora-check-preferences.jsonl');
    expect(pairs.text.trimEnd().split('\n').map((line) => JSON.parse(line))).toEqual([
      { prompt: report.rows[0].prompt, chosen: report.rows[0].tuned!.output, rejected: report.rows[0].base.output },
      { prompt: report.rows[1].prompt, chosen: report.rows[1].base.output, rejected: report.rows[1].tuned!.output },
    ]);
    const csv = await exportEvaluation(db, id!, 'csv');
    const lines = csv.text.split('\r\n');
    expect(lines[0]).toBe('index,id,task,cluster,prompt,references,base_output,base_score,tuned_output,tuned_score,difference,winner,few_shot_output,few_shot_score,thumbs,preferred');
    expect(lines[1].startsWith(`0,${first},open_qa,knowledge,"Below is an instruction`)).toBe(true);
    expect(lines[1].endsWith(',up,tuned')).toBe(true);
    const json = JSON.parse((await exportEvaluation(db, id!, 'json')).text);
    expect(json.rows).toHaveLength(2);
    expect(json.ratings).toHaveLength(3);
    expect(json.comparison.interval.confidence).toBe(0.95);
  });

  it('evaluates held-out clusters (every split) and the base model alone', async () => {
    const db = await freshDb();
    const dataset = await createDataset(db, { name: 'mini', source: 'test' }, EXAMPLES);
    const { report } = await runEvalSession(db, model, { source: { kind: 'dataset', datasetId: dataset.id, clusters: ['reasoning'] }, tuned: { kind: 'none' }, metric: 'squad_f1', generation: GENERATION });
    expect(report.evalSet.selection).toBe('held-out clusters: reasoning');
    expect(report.rows.map((r) => r.references[0])).toEqual(['5', '8']);
    expect(report.tuned).toBeNull();
    expect(report.comparison).toBeNull();
    expect(report.name).toBe('base model · mini · squad_f1');
  });

  it('refuses bad input with a clear error and stores nothing', async () => {
    const db = await freshDb();
    const noOutputs = await createDataset(db, { name: 'questions only', source: 'test' }, [{ instruction: 'Why?', split: 'test' }, { instruction: 'How?', split: 'test' }]);
    const unsplit = await createDataset(db, { name: 'unsplit', source: 'test' }, [{ instruction: 'Why?', output: 'Because.' }]);
    const empty = await counts(db);
    const tensors = tf.memory().numTensors;
    await expect(runEvalSession(db, model, adapterSpec(noOutputs.id))).rejects.toThrow(
      /^eval set “questions only”, example 1 \(id "[^"]+"\) has no references, but the metric "rougeL" compares outputs with references; add "references"/,
    );
    await expect(runEvalSession(db, model, adapterSpec(unsplit.id, { metric: 'bleurt' }))).rejects.toThrow(/^unknown metric "bleurt" \(known: bleu, chrf, chrf\+\+, rouge1/);
    await expect(runEvalSession(db, model, adapterSpec(unsplit.id))).rejects.toThrow('dataset “unsplit” has no test split: split it in the Data view, or choose held-out clusters to evaluate on');
    const options: EvalSpec = {
      source: { kind: 'inline', name: 'quiz', items: [{ id: 'li', instruction: '', prompt: 'Q: What does Li count? A:', references: [], options: ['moons', 'stars.'], gold: 1, task: 'quiz', cluster: 'quiz' }] },
      tuned: { kind: 'adapter', name: 'lora', files: loraFiles },
      metric: 'acc',
    };
    await expect(runEvalSession(db, model, options)).rejects.toThrow(
      'eval set “quiz”, example 1 (id "li"): the tokenizer cannot encode option 2 of 2 " stars." as a continuation: context + option encodes to 5 tokens and the context alone to 5',
    );
    const broken = loraFiles.filter((f) => !f.name.endsWith('.safetensors'));
    await expect(runEvalSession(db, model, { ...options, metric: 'rougeL', tuned: { kind: 'adapter', name: 'broken', files: broken } })).rejects.toThrow('adapter_model.safetensors: is missing');
    await expect(runEvalSession(db, model, adapterSpec(unsplit.id, { shots: 6 }))).rejects.toThrow('shots must be a whole number from 0 to 5, got 6');
    expect(await counts(db)).toEqual(empty);
    expect(tf.memory().numTensors).toBe(tensors); // the adapters built before the errors were disposed
  });
});

describe('a training run as the tuned model', () => {
  it('assigns the run’s checkpoint weights exactly and refuses a run of another model', async () => {
    const db = await freshDb();
    const session = await TrainingSession.start(
      db,
      { ...model },
      {
        modelId: 'tiny-llama',
        examples: [{ prompt: 'Say hi. ', completion: 'Hi!' }, { prompt: 'Say bye. ', completion: 'Bye!' }],
        validationFraction: 0,
        method: { name: 'lora', config: { r: 2, lora_alpha: 4, lora_dropout: 0 } },
        trainer: { totalSteps: 2, batchSize: 2, learningRate: 1e-2, seed: 5 },
        maxLength: 16,
        name: 'tiny run',
      },
      () => {},
    );
    await session.run();
    const checkpoint = (await loadLatestCheckpoint(db, session.runId))!;
    const before = tf.memory().numTensors;
    const { peft, info } = await peftFromRun(db, decoder, model.tokenizer, model, session.runId);
    expect(info).toEqual({ kind: 'run', id: session.runId, name: 'tiny run', method: 'lora', step: 2 });
    const variables = peft.trainableVariables();
    expect(variables.size).toBe(checkpoint.tensors.filter((t) => t.name.startsWith('weights/')).length);
    for (const [name, variable] of variables) {
      const saved = checkpoint.tensors.find((t) => t.name === `weights/${name}`)!;
      expect(Array.from(await variable.data())).toEqual(Array.from(new Float32Array(saved.data)));
    }
    peft.dispose();
    expect(tf.memory().numTensors).toBe(before);
    await expect(peftFromRun(db, decoder, model.tokenizer, { id: 'other', name: 'Other' }, session.runId)).rejects.toThrow(
      'Run “tiny run” trained model tiny-llama, but the loaded model is “Other”; load the run\'s model in the Models view to evaluate it.',
    );
  });
});

describe('evalApi (worker)', () => {
  it('trains, evaluates the run with streamed results, rates, exports, and reports bad input clearly', async () => {
    setBackendReport({ backend: 'wasm' } as unknown as BackendReport);
    const loaded: LoadedModel = {
      summary: { id: 'tiny-llama', name: 'tiny-llama' } as LoadedModel['summary'],
      decoder: Decoder.fromHost(fixture.checkpoint.config, fixture.checkpoint.weights),
      tokenizer: fixture.checkpoint.tokenizer,
      checkpoint: fixture.checkpoint,
    };
    setCurrent(loaded);
    const run = await trainingApi.startTraining(
      {
        modelId: 'tiny-llama',
        examples: [{ prompt: 'Colour? ', completion: 'Blue' }, { prompt: 'Fruit? ', completion: 'Apple' }],
        validationFraction: 0,
        method: { name: 'lora' },
        trainer: { totalSteps: 2, batchSize: 2, seed: 1 },
        maxLength: 16,
        name: 'worker run',
      },
      () => {},
    );
    expect(evalApi.evalMetrics().map((m) => m.name)).toContain('acc_norm');
    const sources = await evalApi.evalSources();
    expect(sources.runs).toContainEqual({ id: run.id, name: 'worker run', modelId: 'tiny-llama', method: 'lora', status: 'completed', step: 2 });

    const items = [
      { id: 'a', instruction: 'Colour?', references: ['Blue'], task: 'qa', cluster: 'c1' },
      { id: 'b', instruction: 'Fruit?', references: ['Apple'], task: 'qa', cluster: 'c2' },
    ];
    const kinds: string[] = [];
    const outcome = await evalApi.evalRun({ source: { kind: 'inline', name: 'two', items }, tuned: { kind: 'run', runId: run.id }, metric: 'chrf', generation: GENERATION }, (e) => kinds.push(e.kind));
    expect(kinds).toEqual(['started', 'result', 'result']);
    expect(outcome.report.tuned).toMatchObject({ kind: 'run', id: run.id, step: 2 });
    expect(outcome.report.rows.every((r) => typeof r.base.output === 'string' && typeof r.tuned?.output === 'string')).toBe(true);
    const id = outcome.id!;
    expect((await evalApi.evalList())[0]).toMatchObject({ id, name: 'worker run · two · chrf', metric: 'chrf', count: 2, tunedName: 'worker run' });
    const rating = await evalApi.evalRate(id, 'b', 'thumbs', 'up');
    expect((await evalApi.evalGet(id)).ratings).toEqual([rating]);
    expect((await evalApi.evalExport(id, 'csv')).fileName).toBe('worker-run-two-chrf.csv');

    const handle = await workerDb();
    const stored = await counts(handle);
    const bad = (spec: Partial<EvalSpec>) => evalApi.evalRun({ source: { kind: 'inline', items }, tuned: { kind: 'none' }, metric: 'rougeL', ...spec } as EvalSpec);
    await expect(bad({ source: { kind: 'inline', name: 'refless', items: items.map((i) => ({ ...i, references: [] })) } })).rejects.toThrow(
      'example 1 (id "a") has no references, but the metric "rougeL" compares outputs with references',
    );
    await expect(bad({ metric: 'accuracy' })).rejects.toThrow('unknown metric "accuracy"');
    await expect(
      bad({ metric: 'acc_norm', source: { kind: 'inline', items: [{ id: 'li', instruction: '', prompt: 'Q: What does Li count? A:', references: [], options: ['moons', 'stars.'], gold: 0, task: 't', cluster: 'c' }] } }),
    ).rejects.toThrow('the tokenizer cannot encode option 2 of 2 " stars."');
    expect(await counts(handle)).toEqual(stored);

    // cancel: the first example finishes, then the run stops and what finished is stored
    const cancelled = await evalApi.evalRun({ source: { kind: 'inline', items }, tuned: { kind: 'run', runId: run.id }, metric: 'chrf', generation: { maxNewTokens: 20 } }, (e) => {
      if (e.kind === 'result') evalApi.evalCancel();
    });
    expect(cancelled.report.status).toBe('cancelled');
    expect(cancelled.report.rows).toHaveLength(1);
    expect(evalApi.evalCancel()).toBe(false);
    await evalApi.evalDelete(id);
    expect((await evalApi.evalList()).map((e) => e.id)).not.toContain(id);
    setCurrent(null);
  });
});
