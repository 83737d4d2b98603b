// train.spec.ts's second half (issue 11's browser acceptance), run on the same page after its tests
// (tiny-llama already imported): datasets are stored through the worker's data API (what the Data
// view calls), every run is started from the Train view's form, and what the run shows is checked
// against the same records built in Node by the same core builder.
//  - ShareGPT chats with a system turn and 3 exchanges → LoRA through the tokenizer's chat template,
//    loss on the assistant turns: 0 skipped, the scored assistant tokens shown;
//  - a 2-stage plan with replay and 30% plain text trains stage after stage (stored per-stage steps in
//    order), the text rows unprompted;
//  - early stopping ends a run whose validation loss rises; the exported zip holds the weights of a run
//    stopped at the best step (compared number for number).
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { importText } from '../../src/core/data/import';
import type { InstructionRecord } from '../../src/core/data/record';
import { parseSafetensors } from '../../src/core/model/safetensors';
import { HoneTokenizer } from '../../src/core/tokenizer/tokenizer';
import { IGNORE_INDEX } from '../../src/core/train/batch';
import { buildRunData, type RunDataSettings } from '../../src/core/train/run-builder';
import { assert, assertEqual, fixturePath, type BrowserTest } from './harness';

type ExportThroughUi = (page: Page, runId: string) => Promise<{ files: Map<string, Uint8Array> }>;

const tokenizer = HoneTokenizer.fromJson(readFileSync(fixturePath('tiny-llama', 'tokenizer.json'), 'utf8'), readFileSync(fixturePath('tiny-llama', 'tokenizer_config.json'), 'utf8'));

/** Stores a dataset file through the worker, as the Data view's import does; returns its id. */
async function importFile(page: Page, name: string, body: string, format: string): Promise<string> {
  return page.evaluate(
    async ({ name, body, format }) => {
      const outcome = await window.hone!.remote.importDataset({ name, bytes: new TextEncoder().encode(body).buffer }, { format: format as 'hone', name });
      if (outcome.status !== 'imported') throw new Error(`import of ${name}: ${JSON.stringify(outcome)}`);
      return outcome.dataset.id;
    },
    { name, body, format },
  );
}

const jsonl = (records: readonly object[]): string => records.map((r) => JSON.stringify(r)).join('\n') + '\n';

interface FormSettings {
  datasetId: string;
  steps: number;
  learningRate: number;
  batchSize: number;
  evalEvery: number;
  validationShare: number;
  promptFormat?: 'alpaca' | 'template' | 'chat';
  loss?: 'completion' | 'assistant' | 'all';
  schedule?: 'constant' | 'linear' | 'cosine';
  patience?: number;
  keepBest?: boolean;
}

/** Fills the Train form for a LoRA run on a stored dataset, starts it and waits until it ends; returns the run's id and status. */
async function trainOnDataset(page: Page, s: FormSettings): Promise<{ runId: string; status: string }> {
  // the view lists datasets when it opens: leave and come back so the ones just stored are offered
  await page.getByTestId('nav-models').click();
  await page.getByTestId('nav-train').click();
  await page.getByLabel('Method', { exact: true }).selectOption('lora');
  await page.getByTestId('method-settings').getByText('LoRA settings').waitFor();
  await page.waitForFunction((id) => [...document.querySelectorAll('[data-testid="train-data"] option')].some((o) => (o as HTMLOptionElement).value === id), s.datasetId, { timeout: 30_000 });
  await page.getByLabel('Training data').selectOption(s.datasetId);
  await page.getByLabel('Steps', { exact: true }).fill(String(s.steps));
  await page.getByLabel('Learning rate').fill(String(s.learningRate));
  await page.getByLabel('Batch size').fill(String(s.batchSize));
  await page.getByLabel('Validate every').fill(String(s.evalEvery));
  await page.getByLabel('Validation share').fill(String(s.validationShare));
  await page.getByLabel('Schedule').selectOption(s.schedule ?? 'constant');
  await page.getByLabel('Warmup steps').fill('0');
  // tiny-llama has 64 positions, the form's default limit; its RoPE runs longer rows, and the Alpaca prompt alone is ~120 tokens
  await page.getByLabel('Max length').fill('256');
  await page.getByTestId('train-prompt-format').selectOption(s.promptFormat ?? 'alpaca');
  await page.getByTestId('train-loss').selectOption(s.loss ?? 'completion');
  await page.getByLabel('Early stopping patience').fill(String(s.patience ?? 0));
  await page.getByTestId('train-keep-best').setChecked(s.keepBest ?? false);
  const before = (await page.evaluate(() => window.hone!.remote.listTrainingRuns())).length;
  await page.getByTestId('train-start').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="train-status"]')?.getAttribute('data-phase') === 'running', undefined, { timeout: 60_000 });
  await page.waitForFunction(
    () => {
      const el = document.querySelector('[data-testid="train-status"]');
      return el?.getAttribute('data-phase') === 'idle' && el.getAttribute('data-run-status') !== '';
    },
    undefined,
    { timeout: 480_000 },
  );
  const error = (await page.getByTestId('train-error').count()) ? await page.getByTestId('train-error').textContent() : null;
  assertEqual(error, null, 'training error');
  const runs = await page.evaluate(() => window.hone!.remote.listTrainingRuns());
  assertEqual(runs.length, before + 1, 'runs after the run');
  return { runId: runs[0].id, status: (await page.getByTestId('train-status').getAttribute('data-run-status')) ?? '' };
}

async function recordsOf(page: Page, datasetId: string): Promise<InstructionRecord[]> {
  const page_ = await page.evaluate((id) => window.hone!.remote.queryExamples(id, { offset: 0, limit: 1000 }), datasetId);
  return page_.examples.map(({ id: _id, datasetId: _d, position: _p, ...fields }) => fields as InstructionRecord);
}

const chat = (i: number) => ({
  conversations: [
    { from: 'system', value: 'You answer in one word.' },
    { from: 'human', value: `Colour number ${i}?` },
    { from: 'gpt', value: ['Red', 'Blue', 'Green'][i % 3] },
    { from: 'human', value: 'And its opposite?' },
    { from: 'gpt', value: ['Cyan', 'Yellow', 'Magenta'][i % 3] },
    { from: 'human', value: 'Thanks.' },
    { from: 'gpt', value: 'Welcome.' },
  ],
});

export function stagedTests(exportThroughUi: ExportThroughUi): BrowserTest[] {
  return [
    {
      name: 'ShareGPT chats with a system turn and 3 exchanges train LoRA through the chat template: 0 skipped, the scored assistant tokens shown',
      async run({ page, log }) {
        const body = jsonl(Array.from({ length: 8 }, (_, i) => chat(i)));
        const datasetId = await importFile(page, 'chats.jsonl', body, 'sharegpt');
        const { runId, status } = await trainOnDataset(page, { datasetId, steps: 4, learningRate: 0.01, batchSize: 3, evalEvery: 2, validationShare: 0.25, promptFormat: 'chat', loss: 'assistant' });
        assertEqual(status, 'completed', 'chat run status');
        // the same file, imported and built in Node by the same core code
        const imported = await importText(body, { format: 'sharegpt', fileName: 'chats.jsonl' });
        const settings: RunDataSettings = { maxLength: 256, loss: 'assistant', promptFormat: 'chat', validationFraction: 0.25, seed: 42 };
        const expected = buildRunData(imported.records, tokenizer, settings).summary;
        assertEqual(await page.getByTestId('run-data-skipped').textContent(), '0', 'skipped examples shown');
        assertEqual(await page.getByTestId('run-data-used').textContent(), '8', 'used examples shown');
        assertEqual(await page.getByTestId('run-data-scored').textContent(), expected.scoredTokens.train.toLocaleString('en-US'), 'scored assistant tokens shown');
        const detail = await page.evaluate((id) => window.hone!.remote.getTrainingRun(id), runId);
        assertEqual(detail.data, expected, 'stored rows summary = the Node build of the same file');
        log(`chat run: ${expected.used} conversations, ${expected.scoredTokens.train} scored assistant tokens in ${expected.rows.train} rows`);
      },
    },
    {
      name: 'a 2-stage plan with replay and 30% plain text trains stage by stage, per-stage steps stored in order, text unprompted',
      async run({ page, log }) {
        const qa = await importFile(page, 'sums.jsonl', jsonl(Array.from({ length: 20 }, (_, i) => ({ instruction: `What is ${i} plus one?`, output: `${i + 1}` }))), 'hone');
        const words = await importFile(page, 'spell.jsonl', jsonl(Array.from({ length: 20 }, (_, i) => ({ instruction: `Spell word ${i}.`, output: `w-${i}` }))), 'hone');
        const prose = await importFile(page, 'prose.jsonl', jsonl(Array.from({ length: 20 }, (_, i) => ({ instruction: '', output: `The river ${i} runs to the sea.` }))), 'hone');
        const planId = await page.evaluate(
          async ({ qa, words, prose }) => {
            const plan = await window.hone!.remote.shapePlan({
              name: 'curriculum',
              stages: [
                { name: 'sums', sources: [{ datasetId: qa }], rule: { kind: 'proportional' }, pretraining: { datasetId: prose, ratio: 0.3 }, steps: 3 },
                { name: 'spelling', sources: [{ datasetId: words }], rule: { kind: 'proportional' }, pretraining: { datasetId: prose, ratio: 0.3 }, steps: 3, replay: 0.25 },
              ],
              examplesPerStep: 4,
              seed: 3,
            });
            return plan.id;
          },
          { qa, words, prose },
        );
        const { runId, status } = await trainOnDataset(page, { datasetId: planId, steps: 6, learningRate: 0.01, batchSize: 3, evalEvery: 3, validationShare: 0.25 });
        assertEqual(status, 'completed', 'plan run status');
        const detail = await page.evaluate((id) => window.hone!.remote.getTrainingRun(id), runId);
        assertEqual(detail.metrics.map((m) => m.stage), [1, 1, 1, 2, 2, 2], 'stored stage of each step');
        assertEqual(detail.stageSteps, [{ stage: 1, firstStep: 1, lastStep: 3 }, { stage: 2, firstStep: 4, lastStep: 6 }], 'per-stage steps');
        const shown = await page.getByTestId('run-stage').evaluateAll((items) => items.map((li) => [li.getAttribute('data-stage'), li.getAttribute('data-first-step'), li.getAttribute('data-last-step')]));
        assertEqual(shown, [['1', '1', '3'], ['2', '4', '6']], 'stages shown in order with their steps');
        // the plan's records built in Node: the text rows carry no prompt, and the stored summary is this build's
        const records = await recordsOf(page, planId);
        const built = buildRunData(records, tokenizer, { maxLength: 256, validationFraction: 0.25, seed: 42 }, ['sums', 'spelling']);
        assertEqual(detail.data, built.summary, 'stored summary = the Node build of the plan');
        const texts = records.filter((r) => r.instruction === '').length;
        const rows = [...built.train, ...built.validation].map((row) => ({ text: tokenizer.decode(row.inputIds), row }));
        const plain = rows.filter((r) => r.text.includes('The river'));
        assertEqual(plain.length, texts, 'one row per plain-text record');
        assert(plain.every((r) => !r.text.includes('### Instruction') && r.row.labels.slice(1).every((l) => l !== IGNORE_INDEX)), 'text rows unprompted and fully scored');
        log(`plan: ${records.length} examples (${texts} plain text), stages ${JSON.stringify(detail.stageSteps)}`);
      },
    },
    {
      name: 'early stopping ends a run whose validation loss rises; the exported zip holds the best step\'s weights',
      async run({ page, log }) {
        // train answers "alpha", validation asks the same questions answered "omega": past the format, one rises as the other falls
        const records = [
          ...Array.from({ length: 8 }, (_, i) => ({ instruction: `Question ${i}?`, output: 'alpha alpha', split: 'train' })),
          ...Array.from({ length: 4 }, (_, i) => ({ instruction: `Question ${i}?`, output: 'omega omega', split: 'validation' })),
        ];
        const datasetId = await importFile(page, 'alpha.jsonl', jsonl(records), 'hone');
        const base = { datasetId, learningRate: 0.05, batchSize: 4, evalEvery: 1, validationShare: 0.1 };
        const early = await trainOnDataset(page, { ...base, steps: 30, patience: 2, keepBest: true });
        assertEqual(early.status, 'stopped-early', 'early-stopped run status');
        const detail = await page.evaluate((id) => window.hone!.remote.getTrainingRun(id), early.runId);
        const vals = detail.metrics.filter((m) => m.valLoss !== undefined).map((m) => [m.step, m.valLoss!] as const);
        const [bestStep, best] = vals.reduce((a, b) => (b[1] < a[1] ? b : a));
        log(`val loss ${vals.map(([, v]) => v.toFixed(4)).join(' → ')}; best at step ${bestStep}, stopped at ${detail.step}`);
        assertEqual(detail.step, bestStep + 2, 'stopped two evaluations after the best (patience 2)');
        assert(vals.at(-1)![1] > best, 'the validation loss rose after the best step');
        const atBest = await trainOnDataset(page, { ...base, steps: bestStep });
        assertEqual(atBest.status, 'completed', 'run stopped at the best step');
        const zipped = parseSafetensors((await exportThroughUi(page, early.runId)).files.get('adapter_model.safetensors')!, 'early');
        const reference = parseSafetensors((await exportThroughUi(page, atBest.runId)).files.get('adapter_model.safetensors')!, 'at-best');
        assertEqual([...zipped.keys()].sort(), [...reference.keys()].sort(), 'tensor names');
        let worst = 0;
        for (const [name, t] of zipped) t.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - reference.get(name)!.data[i]))));
        log(`best export vs the run stopped at step ${bestStep}: max |Δ| ${worst.toExponential(2)}`);
        assert(worst <= 1e-5, `the export holds the best step's weights (max |Δ| ${worst})`);
      },
    },
  ];
}
