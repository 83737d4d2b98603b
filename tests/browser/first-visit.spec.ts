// The first visit with the network disabled: every request to another origin is aborted (and must
// never be attempted), the studio stores the built-in model and collection, step 1 shows the data,
// step 2 runs the FLAN experiment (micro preset, on the micro stand-in model), step 3 shows the
// report. The built-in model files are answered by this test from tests/fixtures/hone-micro, so the
// build's own public/models/hone-tiny (if any) is neither needed nor touched.
import type { Page, Route } from 'playwright-core';
import { HONE_MICRO } from '../../src/core/pretrain/micro';
import { assert, assertEqual, microModelFiles, openHome, waitForBackend, type BrowserTest, type TestContext } from './harness';

const MICRO_FILES = microModelFiles();
const MICRO_MANIFEST = JSON.parse(MICRO_FILES.get('manifest.json')!.toString('utf8')) as { parameters: number };
const HELD_OUT = ['paraphrase', 'sentiment', 'factual_qa'];
const BUILT_IN_MODEL = 'built-in-hone-tiny';
const BUILT_IN_DATASET = 'built-in-hone-tiny-collection';

/** Requests to other origins (aborted); must stay empty. */
const foreign: string[] = [];
/** Built-in model files the app asked for, in order. */
const modelRequests: string[] = [];
let modelServed = true;

async function guardNetwork({ context, baseUrl, log }: TestContext): Promise<void> {
  const origin = new URL(baseUrl).origin;
  context.on('request', (request) => {
    const url = new URL(request.url());
    if (url.protocol !== 'data:' && url.protocol !== 'blob:' && url.origin !== origin) foreign.push(url.href);
  });
  await context.route('**/*', async (route: Route) => {
    const url = new URL(route.request().url());
    if (url.origin !== origin) {
      log(`blocked ${url.href}`);
      return route.abort('internetdisconnected');
    }
    const file = /\/models\/hone-tiny\/([^/]+)$/.exec(url.pathname)?.[1];
    if (file !== undefined) {
      modelRequests.push(file);
      const body = modelServed ? MICRO_FILES.get(file) : undefined;
      if (!body) return route.fulfill({ status: 404, contentType: 'text/plain', body: 'not found' });
      return route.fulfill({ status: 200, contentType: file.endsWith('.json') ? 'application/json' : 'application/octet-stream', body });
    }
    return route.continue();
  });
}

const remoteState = (page: Page) =>
  page.evaluate(async () => {
    const remote = window.hone!.remote;
    const models = await remote.listModels();
    const datasets = await remote.listDatasets();
    const current = await remote.currentModel();
    return {
      models: models.map((m) => ({ id: m.id, source: m.source, parameters: m.parameterCount, files: [...m.files].sort() })),
      datasets: datasets.map((d) => ({ id: d.id, counts: d.counts })),
      current: current?.id ?? null,
    };
  });

export const tests: BrowserTest[] = [
  {
    name: 'opened fresh with other origins blocked, the studio stores the built-in model and collection and loads the model',
    async run(t) {
      await guardNetwork(t);
      const { page, baseUrl } = t;
      await openHome(page, `${baseUrl}?experiment=micro`);
      assertEqual(await page.getByTestId('nav-home').getAttribute('aria-pressed'), 'true', 'Start is the first view');
      assertEqual(await page.getByTestId('home-model').getAttribute('data-model-id'), BUILT_IN_MODEL, 'built-in model shown');
      const state = await remoteState(page);
      assertEqual(
        state.models,
        [{ id: BUILT_IN_MODEL, source: 'built-in: public/models/hone-tiny', parameters: MICRO_MANIFEST.parameters, files: [...MICRO_FILES.keys()].sort() }],
        'stored models',
      );
      assertEqual(state.datasets, [{ id: BUILT_IN_DATASET, counts: { total: 650, train: 500, validation: 0, test: 150, unsplit: 0 } }], 'stored datasets');
      assertEqual(state.current, BUILT_IN_MODEL, 'loaded model');
      assertEqual(modelRequests.slice().sort(), ['config.json', 'manifest.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'], 'files fetched once each');
      await page.getByTestId('status-model').getByText('hone-tiny').waitFor();
    },
  },
  {
    name: 'step 1 shows the 13 clusters, their templates, the held-out ones and stored records',
    async run({ page }) {
      await page.getByTestId('home-panel-1').waitFor();
      const clusters = page.getByTestId('home-cluster');
      assertEqual(await clusters.count(), 13, 'clusters shown');
      const heldOut = await page.locator('[data-testid="home-cluster"][data-held-out="true"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-cluster')));
      assertEqual(heldOut.sort(), [...HELD_OUT].sort(), 'held-out clusters');
      const summary = (await page.getByTestId('home-collection-summary').textContent()) ?? '';
      assert(summary.includes('13 task clusters') && summary.includes('650 examples'), `summary: ${summary}`);
      const stored = await page.evaluate(
        async (id) => (await window.hone!.remote.queryExamples(id, { cluster: 'sentiment', offset: 0, limit: 3 })).examples.map((e) => [e.instruction, e.output]),
        BUILT_IN_DATASET,
      );
      const sentiment = page.locator('[data-cluster="sentiment"]');
      assertEqual(await sentiment.locator('pre.instruction').allTextContents(), stored.map(([instruction]) => instruction), 'sample instructions as stored');
      assertEqual(await sentiment.locator('pre.output').allTextContents(), stored.map(([, output]) => `→ ${output}`), 'sample outputs as stored');
    },
  },
  {
    name: 'step 2 runs the experiment with progress; step 3 shows the report table and the FLAN chart',
    async run({ page }) {
      await page.getByTestId('home-step-2').click();
      await page.getByTestId('home-run').click();
      await page.getByTestId('home-progress').waitFor();
      await page.getByTestId('home-report-table').waitFor({ timeout: 120_000 });
      assertEqual(await page.getByTestId('home-step-3').getAttribute('aria-current'), 'step', 'moved on to step 3');
      const [stored] = await page.evaluate(() => window.hone!.remote.experimentReports());
      assert(stored !== undefined, 'report stored');
      assertEqual([stored.preset, stored.model.id, stored.report.heldOut], ['micro', BUILT_IN_MODEL, HELD_OUT], 'stored report');
      const rows = page.getByTestId('home-report-row');
      assertEqual(await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-cluster'))), [...HELD_OUT, 'overall'], 'table rows');
      const overall = await page.locator('[data-cluster="overall"] td').allTextContents();
      const r = stored.report;
      assertEqual(overall.slice(0, 4), [r.base.overall, r.baseFewShot!.overall, r.tuned.overall, r.efficient.overall].map((v) => v.toFixed(1)), 'overall row');
      const chart = page.getByTestId('home-chart');
      assertEqual([await chart.getAttribute('data-groups'), await chart.getAttribute('data-series')], ['4', '3'], 'chart groups and series');
      assertEqual(await chart.locator('rect[fill="#1f5aa6"]').count(), 5, 'tuned bars (4) and legend');
      assertEqual(await page.getByTestId('home-ablation').locator('tbody tr').count(), 3, 'ablation rows');
      assertEqual(await page.getByTestId('home-sweep').locator('tbody tr').count(), 3, 'sweep rows (base as 0 clusters, 2, all)');
    },
  },
  {
    name: 'after a reload nothing is set up twice and the stored report is shown again',
    async run({ page, baseUrl }) {
      const before = modelRequests.length;
      const [first] = await page.evaluate(() => window.hone!.remote.experimentReports());
      await openHome(page, `${baseUrl}?experiment=micro`);
      assertEqual(modelRequests.slice(before), ['manifest.json'], 'only the manifest is checked again');
      const state = await remoteState(page);
      assertEqual([state.models.length, state.datasets.length, state.current], [1, 1, BUILT_IN_MODEL], 'still one model and one dataset, loaded');
      await page.getByTestId('home-step-3').click();
      const overall = await page.locator('[data-cluster="overall"] td').allTextContents();
      assertEqual(overall[2], first.report.tuned.overall.toFixed(1), 'tuned overall after reload');
    },
  },
  {
    name: 'a second run cancelled midway stores nothing',
    async run({ page }) {
      await page.getByTestId('home-step-2').click();
      await page.getByTestId('home-run').click();
      await page.getByTestId('home-progress').getByText('training steps').waitFor({ timeout: 60_000 });
      await page.getByTestId('home-cancel').click();
      await page.getByTestId('home-notice').getByText('The experiment was cancelled; nothing was stored.').waitFor({ timeout: 60_000 });
      assertEqual((await page.evaluate(() => window.hone!.remote.experimentReports())).length, 1, 'reports stored');
    },
  },
  {
    name: 'the Pretrain view runs the same loop: pause, resume, finish, model stored',
    async run({ page, baseUrl }) {
      await page.goto(`${baseUrl}?pretrain=micro`);
      await waitForBackend(page);
      await page.getByTestId('nav-pretrain').click();
      await page.getByTestId('pretrain-micro').waitFor();
      await page.getByTestId('pretrain-start').click();
      await page.locator('[data-testid="pretrain-status"][data-run-status="completed"]').waitFor({ timeout: 120_000 });
      await page.getByTestId('pretrain-model').waitFor();
      assertEqual(await page.getByTestId('pretrain-chart').getAttribute('data-points'), '20', 'one loss point per step');
      // pause before the first update through the API (the UI run is too fast to catch), then resume
      const outcome = await page.evaluate(async (spec) => {
        const remote = window.hone!.remote;
        const running = remote.pretrainStart({ spec, checkpointEvery: 4, logEvery: 1 });
        while (!(await remote.pretrainPause())) await new Promise((r) => setTimeout(r, 5));
        const paused = await running;
        const resumed = await remote.pretrainResume(paused.id);
        const model = (await remote.listModels()).find((m) => m.id === resumed.modelId);
        return { paused: [paused.status, paused.step < 12, paused.checkpoint !== null], resumed: [resumed.status, resumed.step, resumed.metrics.map((m) => m.step)], model: model?.parameterCount };
      }, { ...HONE_MICRO, steps: 12 });
      assertEqual(outcome.paused, ['paused', true, true], 'paused with a checkpoint');
      assertEqual(outcome.resumed, ['completed', 12, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]], 'resumed to the end, each step logged once');
      assertEqual(outcome.model, MICRO_MANIFEST.parameters, 'stored model size');
    },
  },
  {
    name: 'without public/models/hone-tiny the Start view says so and how to build it',
    async run({ page, baseUrl }) {
      modelServed = false;
      await page.evaluate((id) => window.hone!.remote.deleteModel(id), BUILT_IN_MODEL);
      await openHome(page, baseUrl);
      const text = (await page.getByTestId('home-missing').textContent()) ?? '';
      assert(text.includes('public/models/hone-tiny') && text.includes('npm run --silent hone -- pretrain'), `missing-model message: ${text}`);
      await page.getByTestId('home-step-2').click();
      assertEqual(await page.getByTestId('home-run').isDisabled(), true, 'nothing to tune');
    },
  },
  {
    name: 'no request to another origin was attempted',
    async run() {
      assertEqual(foreign, [], 'requests to other origins');
    },
  },
];
