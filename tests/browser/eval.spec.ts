// The Evaluate view end to end in Chromium (wasm backend, tiny-llama): a micro LoRA run trained in
// the Train view, a small eval set imported through the data API, an evaluation of the run against
// the base model with the 1-shot baseline (both answer columns and the k-shot column fill, the
// aggregates, the per-cluster chart and the FLAN figure show), a thumbs rating and a blind A/B vote
// that survive a reload, and the report exported as JSON, CSV, preference pairs and a PNG chart.
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { assert, assertEqual, fixturePath, MODEL_FILES, waitForBackend, type BrowserTest } from './harness';

const EVAL_LINES = [
  { instruction: 'Is 6 even or odd?', output: 'even', task: 'parity', cluster: 'classification', split: 'test' },
  { instruction: 'Can dogs run? Answer yes or no.', output: 'yes', task: 'facts', cluster: 'classification', split: 'test' },
  { instruction: 'Repeat the word: fish', output: 'fish', task: 'repeat', cluster: 'generation', split: 'test' },
  { instruction: 'What is the opposite of early?', output: 'late', task: 'opposite', cluster: 'generation', split: 'test' },
  { instruction: 'Is 3 even or odd?', output: 'odd', task: 'parity', cluster: 'classification', split: 'train' },
  { instruction: 'Repeat the word: lamp', output: 'lamp', task: 'repeat', cluster: 'generation', split: 'train' },
];

/** Imports a Hone-format JSONL dataset through the data API; returns the stored dataset's id and counts. */
async function importDataset(page: Page, name: string, lines: unknown[]): Promise<{ id: string; counts: Record<string, number> }> {
  const body = lines.map((line) => JSON.stringify(line)).join('\n') + '\n';
  const outcome = await page.evaluate(async ({ name, body }) => {
    const result = await window.hone!.remote.importDataset({ name: `${name}.jsonl`, bytes: new TextEncoder().encode(body).buffer }, { format: 'hone', name });
    return result.status === 'imported' ? { id: result.dataset.id, counts: result.dataset.counts } : { error: JSON.stringify(result) };
  }, { name, body });
  if ('error' in outcome) throw new Error(`importing ${name} failed: ${outcome.error}`);
  return outcome;
}

/** Clicks a button that triggers a download and returns the file's name and bytes. */
async function download(page: Page, testId: string): Promise<{ name: string; bytes: Buffer }> {
  const [file] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), page.getByTestId(testId).click()]);
  const path = await file.path();
  assert(path, `the ${testId} download was saved`);
  return { name: file.suggestedFilename(), bytes: await readFile(path) };
}

let runId = '';
let datasetId = '';
let firstExample = '';
let votedExample = '';

export const tests: BrowserTest[] = [
  {
    name: 'tiny-llama imports, a 6-step LoRA run trains in the Train view, and an eval set imports through the data API',
    async run({ page, baseUrl, log }) {
      await page.goto(`${baseUrl}?backend=wasm&view=models`);
      const chosen = await waitForBackend(page);
      assert(chosen.startsWith('wasm'), `backend pinned to wasm, status bar shows "${chosen}"`);
      await page.getByTestId('models-empty').waitFor();
      await page.getByTestId('model-file-input').setInputFiles(MODEL_FILES.map((name) => fixturePath('tiny-llama', name)));
      await page.getByTestId('model-loaded').waitFor({ timeout: 60_000 });

      await page.getByTestId('nav-train').click();
      await page.getByLabel('Training data').selectOption('sample');
      await page.getByLabel('Method', { exact: true }).selectOption('lora');
      await page.getByTestId('method-settings').getByText('LoRA settings').waitFor();
      await page.getByLabel('Steps', { exact: true }).fill('6');
      await page.getByLabel('Learning rate').fill('0.01');
      await page.getByLabel('Batch size').fill('8');
      await page.getByTestId('train-start').click();
      await page.waitForFunction(
        () => {
          const el = document.querySelector('[data-testid="train-status"]');
          return el?.getAttribute('data-phase') === 'idle' && el.getAttribute('data-run-status') !== '';
        },
        undefined,
        { timeout: 240_000 },
      );
      assertEqual(await page.getByTestId('train-status').getAttribute('data-run-status'), 'completed', 'run status');
      const runs = await page.evaluate(() => window.hone!.remote.listTrainingRuns());
      runId = runs[0].id;
      assertEqual(runs[0].step, 6, 'steps trained');

      const dataset = await importDataset(page, 'Eval mini', EVAL_LINES);
      datasetId = dataset.id;
      assertEqual(dataset.counts['test'], 4, 'test examples');
      log(`run ${runId} trained; dataset ${datasetId} imported`);
    },
  },
  {
    name: 'evaluating the run fills the base, tuned and 1-shot columns and shows aggregates and both charts',
    async run({ page, log }) {
      await page.getByTestId('nav-eval').click();
      await page.getByTestId('eval-source').locator(`option[value="${datasetId}"]`).waitFor({ state: 'attached' });
      await page.getByTestId('eval-source').selectOption(datasetId);
      await page.getByTestId('eval-tuned').selectOption(runId);
      await page.getByTestId('eval-metric').selectOption('rougeL');
      await page.getByLabel('Max new tokens').fill('6');
      await page.getByTestId('eval-few-shot').check();
      await page.getByLabel('Shots').fill('1');
      const started = Date.now();
      await page.getByTestId('eval-start').click();
      await page.waitForFunction(() => document.querySelector('[data-testid="eval-status"]')?.getAttribute('data-report-status') === 'completed', undefined, { timeout: 240_000 });
      log(`evaluation of 4 examples (zero-shot base + tuned, 1-shot base) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      assertEqual(await page.getByTestId('eval-error').count(), 0, 'no error');

      const rows = page.getByTestId('eval-row');
      assertEqual(await rows.count(), 4, 'one row per test example');
      for (let i = 0; i < 4; i++) {
        const row = rows.nth(i);
        for (const column of ['base-output', 'tuned-output', 'few-shot-output']) {
          const cell = row.getByTestId(column);
          assert(/score \d\.\d{3}/.test((await cell.textContent()) ?? ''), `row ${i + 1} ${column} shows a score: "${await cell.textContent()}"`);
        }
      }
      const evaluation = await page.evaluate(async () => {
        const list = await window.hone!.remote.evalList();
        return window.hone!.remote.evalGet(list[0].id);
      });
      const { report } = evaluation;
      assertEqual(report.tuned?.id, runId, 'tuned run');
      assertEqual(report.rows.length, 4, 'stored rows');
      assert(report.rows.every((r) => typeof r.base.output === 'string' && typeof r.tuned?.output === 'string' && r.fewShot !== null), 'stored outputs');
      assert(report.rows.some((r) => r.base.output.trim() !== '') && report.rows.some((r) => r.tuned!.output.trim() !== ''), 'both models wrote something');
      firstExample = report.rows[0].id;

      assertEqual(await page.getByTestId('aggregate-cluster').count(), 2, 'two clusters aggregated');
      assertEqual(await page.getByTestId('aggregate-task').count(), 4, 'four tasks aggregated');
      const chart = page.getByTestId('cluster-chart');
      assertEqual(await chart.locator('rect[data-series="base"]').count(), 2, 'base bars');
      assertEqual(await chart.locator('rect[data-series="tuned"]').count(), 2, 'tuned bars');
      const baseBar = Number(await chart.locator('rect[data-series="base"]').first().getAttribute('data-value'));
      assertEqual(baseBar, report.aggregates!.byCluster['classification'].base, 'bar value = stored cluster mean');
      const figure = page.getByTestId('flan-figure');
      for (const series of ['baseZeroShot', 'baseFewShot', 'tunedZeroShot']) {
        assertEqual(await figure.locator(`rect[data-series="${series}"]`).count(), 3, `${series} bars (2 clusters + all)`);
      }

      // filters: by cluster
      await page.getByTestId('filter-cluster').selectOption('generation');
      assertEqual(await rows.count(), 2, 'rows in the generation cluster');
      await page.getByTestId('filter-cluster').selectOption('');
    },
  },
  {
    name: 'a thumbs rating and a blind A/B vote are stored, and are still there after a reload',
    async run({ page }) {
      const row = page.locator(`[data-testid="eval-row"][data-example="${firstExample}"]`);
      await row.getByTestId('thumbs-up').click();
      await page.waitForFunction((id) => document.querySelector(`[data-testid="eval-row"][data-example="${id}"] [data-testid="thumbs-up"]`)?.getAttribute('aria-pressed') === 'true', firstExample);

      await page.getByTestId('mode-blind').click();
      const item = page.getByTestId('ab-item').first();
      votedExample = (await item.getAttribute('data-example'))!;
      assertEqual(await item.getByTestId('ab-result').count(), 0, 'nothing revealed before the vote');
      assert(!(await item.textContent())!.includes('— tuned'), 'sides hidden before the vote');
      await item.getByTestId('vote-a').click();
      await item.getByTestId('ab-result').waitFor();
      assert((await item.textContent())!.includes('— tuned'), 'sides revealed after the vote');

      await page.reload();
      await waitForBackend(page);
      await page.getByTestId('nav-eval').click();
      await page.getByTestId('eval-open').first().click();
      const again = page.locator(`[data-testid="eval-row"][data-example="${firstExample}"]`);
      await again.waitFor();
      assertEqual(await again.getByTestId('thumbs-up').getAttribute('aria-pressed'), 'true', 'thumbs up after reload');
      assertEqual(await again.getByTestId('thumbs-down').getAttribute('aria-pressed'), 'false', 'thumbs down after reload');
      await page.getByTestId('mode-blind').click();
      const voted = page.locator(`[data-testid="ab-item"][data-example="${votedExample}"]`);
      assertEqual(await voted.getAttribute('data-voted'), 'true', 'A/B vote after reload');
      const ratings = await page.evaluate(async () => {
        const list = await window.hone!.remote.evalList();
        return window.hone!.remote.evalRatings(list[0].id);
      });
      assertEqual(ratings.map((r) => r.kind).sort(), ['ab', 'thumbs'], 'stored rating kinds');
    },
  },
  {
    name: 'the report exports as JSON, CSV, preference pairs and a PNG of the chart',
    async run({ page, log }) {
      const json = await download(page, 'export-json');
      const report = JSON.parse(json.bytes.toString('utf8'));
      assert(json.name.endsWith('.json'), `json file name ${json.name}`);
      assertEqual(report.rows.length, 4, 'rows in the JSON report');
      assertEqual(report.ratings.length, 2, 'ratings in the JSON report');
      assert(report.comparison.interval.low <= report.comparison.interval.high, 'bootstrap interval');

      const csv = await download(page, 'export-csv');
      const lines = csv.bytes.toString('utf8').trimEnd().split('\r\n');
      assertEqual(lines[0].split(',').slice(0, 4), ['index', 'id', 'task', 'cluster'], 'CSV header');
      assert(lines.length >= 5, `CSV lines: ${lines.length}`);

      const pairs = await download(page, 'export-preferences');
      const pair = JSON.parse(pairs.bytes.toString('utf8').trim());
      assertEqual(Object.keys(pair), ['prompt', 'chosen', 'rejected'], 'preference pair keys');
      const voted = report.rows.find((r: { id: string }) => r.id === votedExample);
      assertEqual(pair.prompt, voted.prompt, 'pair prompt');

      await page.getByTestId('mode-side-by-side').click();
      const png = await download(page, 'export-png');
      assertEqual([...png.bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
      const width = png.bytes.readUInt32BE(16);
      assertEqual(width, 1440, 'PNG width (720 px chart at 2×)');
      log(`exports: ${json.name}, ${csv.name}, ${pairs.name}, ${png.name} (${png.bytes.length} bytes)`);
    },
  },
  {
    name: 'bad input shows a clear error: an eval set without references, an unknown metric',
    async run({ page }) {
      const noRefs = await importDataset(page, 'Questions only', [{ instruction: 'Why?', split: 'test' }]);
      await page.reload();
      await waitForBackend(page);
      await page.getByTestId('model-list').waitFor();
      await page.getByTestId('model-load').click();
      await page.getByTestId('model-loaded').waitFor({ timeout: 60_000 });
      await page.getByTestId('nav-eval').click();
      await page.getByTestId('eval-source').locator(`option[value="${noRefs.id}"]`).waitFor({ state: 'attached' });
      await page.getByTestId('eval-source').selectOption(noRefs.id);
      await page.getByTestId('eval-start').click();
      const alert = page.getByRole('alert');
      await alert.waitFor();
      const message = (await alert.textContent()) ?? '';
      assert(message.includes('eval set “Questions only”, example 1') && message.includes('has no references, but the metric "rougeL" compares outputs with references'), `error: ${message}`);

      const unknown = await page.evaluate(async () => {
        try {
          await window.hone!.remote.evalRun({ source: { kind: 'inline', items: [] }, tuned: { kind: 'none' }, metric: 'bleurt' });
          return '';
        } catch (error) {
          return (error as Error).message;
        }
      });
      assert(unknown.startsWith('unknown metric "bleurt" (known: bleu, chrf'), `unknown metric error: ${unknown}`);
    },
  },
];
