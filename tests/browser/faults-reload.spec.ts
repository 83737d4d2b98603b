// A page reload in the middle of the three long writes (issue 12): the store stays consistent.
// - an import reloaded while its file is read, and again while its records are being saved, leaves
//   no partial dataset: every dataset record has exactly the examples its counts say, positions
//   0…n-1, and no example belongs to a dataset that is not stored; the same file then imports.
// - a training run reloaded mid-run is listed as paused at its latest checkpoint's step, resumes from
//   the Train view's run history and completes with one metric point per step (none repeated).
// - an evaluation reloaded mid-way is absent (it is stored in one write at its end; complete, had it
//   ended first), leaves no rating without its evaluation, and running it again stores the whole report.
// - the Data view, left and opened again, still follows its state (its derived fields used to freeze:
//   src/state/detached.svelte.ts); the Evaluate view's table the same, after the model is reloaded.
// Each reload waits for the state it interrupts (a progress value, a stage's text, a step), never
// for a fixed time. The wasm backend keeps training and generation quick in headless Chromium.
import type { Page } from 'playwright-core';
import { assert, assertEqual, datasetRows, fixturePath, MODEL_FILES, openData, waitForBackend, type BrowserTest } from './harness';

// ---- reading the store directly ----------------------------------------------------------------

interface DatasetCensus {
  id: string;
  name: string;
  counts: Record<string, number>;
  /** what the examples store holds for this dataset, counted through its indexes */
  stored: { total: number; train: number; validation: number; test: number; unsplit: number };
  /** the byDataset index's first and last position (null when the dataset has no examples) */
  positions: [number, number] | null;
}

interface StoreCensus {
  /** false while the app has not created its database yet */
  exists: boolean;
  /** every object store's row count */
  rows: Record<string, number>;
  datasets: DatasetCensus[];
  /** examples whose dataset is not stored */
  orphanExamples: number;
  /** ratings whose evaluation is not stored */
  orphanRatings: number;
  /** checkpoints whose run is not stored */
  orphanCheckpoints: number;
}

/**
 * Reads Hone's IndexedDB from the page, beside the worker's connection, in one readonly transaction:
 * every store's row count, per dataset the examples counted by its indexes, and rows whose parent
 * record is missing. Never creates the database (an empty version-1 database would stop the app's
 * own migration). Plain JS rather than a function handed to page.evaluate: tsx wraps named inner
 * functions in a `__name` helper that does not exist in the page (as workspace.spec.ts notes).
 */
const CENSUS_SOURCE = `(async () => {
  const request = (r) => new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  const db = await new Promise((resolve, reject) => {
    const open = indexedDB.open('hone');
    open.onupgradeneeded = () => open.transaction.abort();
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => (open.error && open.error.name === 'AbortError' ? resolve(null) : reject(open.error));
  });
  if (!db) return { exists: false, rows: {}, datasets: [], orphanExamples: 0, orphanRatings: 0, orphanCheckpoints: 0 };
  try {
    const names = [...db.objectStoreNames];
    const tx = db.transaction(names, 'readonly');
    const rows = {};
    for (const name of names) rows[name] = await request(tx.objectStore(name).count());
    const examples = tx.objectStore('examples');
    const datasets = [];
    let ownedExamples = 0;
    for (const d of await request(tx.objectStore('datasets').getAll())) {
      const all = IDBKeyRange.bound([d.id], [d.id, []]);
      const total = await request(examples.index('byDataset').count(all));
      const split = {};
      for (const s of ['train', 'validation', 'test']) {
        split[s] = await request(examples.index('byDatasetSplit').count(IDBKeyRange.bound([d.id, s], [d.id, s, []])));
      }
      const first = await request(examples.index('byDataset').openKeyCursor(all, 'next'));
      const last = await request(examples.index('byDataset').openKeyCursor(all, 'prev'));
      ownedExamples += total;
      datasets.push({
        id: d.id,
        name: d.name,
        counts: d.counts,
        stored: { total, train: split.train, validation: split.validation, test: split.test, unsplit: total - split.train - split.validation - split.test },
        positions: first && last ? [first.key[1], last.key[1]] : null,
      });
    }
    const evaluationIds = new Set(await request(tx.objectStore('evaluations').getAllKeys()));
    const ratings = await request(tx.objectStore('ratings').getAll());
    let ownedCheckpoints = 0;
    for (const id of await request(tx.objectStore('runs').getAllKeys())) {
      ownedCheckpoints += await request(tx.objectStore('checkpoints').index('byRun').count(IDBKeyRange.bound([id], [id, []])));
    }
    return {
      exists: true,
      rows,
      datasets,
      orphanExamples: rows.examples - ownedExamples,
      orphanRatings: ratings.filter((r) => !evaluationIds.has(r.evaluationId)).length,
      orphanCheckpoints: rows.checkpoints - ownedCheckpoints,
    };
  } finally {
    db.close();
  }
})()`;
const storeCensus = (page: Page): Promise<StoreCensus> => page.evaluate(CENSUS_SOURCE);

/** A run's record as stored (its status and metric steps) and its checkpoints' steps, read with plain IndexedDB. */
const STORED_RUN_SOURCE = `(async (id) => {
  const request = (r) => new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  const db = await new Promise((resolve, reject) => {
    const open = indexedDB.open('hone');
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  try {
    const tx = db.transaction(['runs', 'checkpoints'], 'readonly');
    const run = await request(tx.objectStore('runs').get(id));
    const checkpointSteps = [];
    let cursor = await request(tx.objectStore('checkpoints').index('byRun').openKeyCursor(IDBKeyRange.bound([id], [id, []])));
    while (cursor) {
      checkpointSteps.push(cursor.key[1]);
      cursor.continue();
      cursor = await request(cursor.request);
    }
    return { status: run.status, metricSteps: run.metrics.map((m) => m.step), checkpointSteps };
  } finally {
    db.close();
  }
})`;
const storedRun = (page: Page, id: string): Promise<{ status: string; metricSteps: number[]; checkpointSteps: number[] }> =>
  page.evaluate(`${STORED_RUN_SOURCE}(${JSON.stringify(id)})`);

/** Every dataset is whole: its counts match its examples, positions run 0…n-1, nothing is orphaned. */
function assertConsistent(census: StoreCensus, where: string): void {
  assert(census.exists, `${where}: the database exists`);
  for (const d of census.datasets) {
    const { total, train, validation, test, unsplit } = d.counts;
    assertEqual(d.stored, { total, train, validation, test, unsplit }, `${where}: examples stored for “${d.name}” vs its counts`);
    assertEqual(d.positions, total > 0 ? [0, total - 1] : null, `${where}: positions of “${d.name}”`);
  }
  assertEqual(census.orphanExamples, 0, `${where}: examples without their dataset`);
  assertEqual(census.orphanRatings, 0, `${where}: ratings without their evaluation`);
  assertEqual(census.orphanCheckpoints, 0, `${where}: checkpoints without their run`);
}

// ---- the Data view --------------------------------------------------------------------------------

const IMPORT_ROWS = 60_000;
const IMPORT_FILE = 'reload-big.jsonl';

/**
 * Drops a generated Alpaca JSONL file (IMPORT_ROWS rows, 19 MB: reading takes ~1 s here and
 * saving ~5 s, so a reload can land inside either) on the Data view's drop zone. Built in the page, row i the same on
 * every run, so the same file can be dropped again.
 */
async function dropBigFile(page: Page): Promise<void> {
  const dataTransfer = await page.evaluateHandle(
    ({ rows, name }) => {
      const lines: string[] = new Array(rows);
      for (let i = 0; i < rows; i++) {
        lines[i] = JSON.stringify({
          instruction: `Summarise note ${i} in one sentence.`,
          input: `Note ${i}: ${'the quarterly figures were reviewed and filed; '.repeat(4)}`,
          output: `Note ${i} says the figures were filed.`,
        });
      }
      const transfer = new DataTransfer();
      transfer.items.add(new File([lines.join('\n') + '\n'], name, { type: 'application/octet-stream' }));
      return transfer;
    },
    { rows: IMPORT_ROWS, name: IMPORT_FILE },
  );
  const zone = page.getByTestId('dataset-drop');
  await zone.dispatchEvent('dragover', { dataTransfer });
  await zone.dispatchEvent('drop', { dataTransfer });
  await dataTransfer.dispose();
}

async function reloadTo(page: Page, open: (page: Page) => Promise<void>): Promise<void> {
  await page.reload();
  await waitForBackend(page);
  await open(page);
}

/** Datasets of the big file after a reload: none, or only whole ones (the import is one transaction). */
async function bigDatasetsAfterReload(page: Page, where: string): Promise<number> {
  const census = await storeCensus(page);
  assertConsistent(census, where);
  const big = census.datasets.filter((d) => d.name === 'reload-big');
  for (const d of big) assertEqual(d.counts.total, IMPORT_ROWS, `${where}: a stored reload-big dataset is whole`);
  const listed = (await datasetRows(page)).filter((d) => d.name === 'reload-big');
  assertEqual(listed.length, big.length, `${where}: reload-big datasets listed in the Data view`);
  assert(listed.every((d) => d.count === IMPORT_ROWS.toLocaleString('en-US')), `${where}: listed counts ${JSON.stringify(listed)}`);
  return big.length;
}

// ---- training and evaluation ------------------------------------------------------------------------

/** enough that the run is still going when the reload lands (tiny-llama LoRA on wasm trains tens of steps a second here) */
const TRAIN_STEPS = 200;
/** the Train view's default for 200 steps: ceil(200 / 10) */
const CHECKPOINT_EVERY = 20;
/** the reload comes once the run has passed this step (one checkpoint at least is stored by then) */
const RELOAD_AFTER_STEP = 30;
const VALIDATE_EVERY = 50;

const EVAL_ITEMS = 40;
const EVAL_TOKENS = 8;

/** Loads the stored model from the Models view unless it is shown as loaded; says whether it had to. */
async function loadStoredModel(page: Page): Promise<boolean> {
  await page.getByTestId('nav-models').click();
  await page.getByTestId('model-list').waitFor();
  const loaded = page.getByTestId('model-loaded');
  const needed = (await loaded.count()) === 0;
  if (needed) await page.getByTestId('model-load').first().click();
  await loaded.waitFor({ timeout: 60_000 });
  return needed;
}

async function runRow(page: Page, runId: string) {
  const row = page.locator(`[data-testid="run-row"][data-run-id="${runId}"]`);
  await row.waitFor({ timeout: 30_000 });
  return row;
}

let runId = '';

export const tests: BrowserTest[] = [
  {
    name: 'an import reloaded while reading, and again while saving, leaves no partial dataset; the file then imports whole',
    async run({ page, baseUrl, log }) {
      await page.goto(`${baseUrl}?backend=wasm&view=models`);
      await waitForBackend(page);
      await openData(page);
      await page.getByTestId('datasets-empty').waitFor();
      assertConsistent(await storeCensus(page), 'before the import');

      // 1. reading: the progress bar is part-way through the file's bytes
      await dropBigFile(page);
      const reading = await page.waitForFunction(
        () => {
          const bar = document.querySelector<HTMLProgressElement>('[data-testid="import-progress"] progress[max]');
          return bar && bar.value > 0 && bar.value < bar.max ? { done: bar.value, total: bar.max } : null;
        },
        undefined,
        { timeout: 60_000, polling: 10 },
      );
      const at = (await reading.jsonValue())!;
      await reloadTo(page, openData);
      log(`reloaded while reading (${at.done.toLocaleString('en-US')} of ${at.total.toLocaleString('en-US')} bytes read)`);
      assertEqual(await bigDatasetsAfterReload(page, 'after the reload while reading'), 0, 'datasets stored by an import reloaded while reading');
      assertEqual((await storeCensus(page)).rows['examples'], 0, 'examples stored by an import reloaded while reading');

      // 2. saving: the whole file was parsed and its one transaction is being written
      await dropBigFile(page);
      await page.getByTestId('import-progress').getByText(`Saving ${IMPORT_ROWS.toLocaleString('en-US')} records…`).waitFor({ timeout: 120_000 });
      await reloadTo(page, openData);
      const kept = await bigDatasetsAfterReload(page, 'after the reload while saving');
      log(`reloaded while saving: ${kept === 0 ? 'nothing was stored' : 'the transaction had committed; the dataset is whole'}`);

      // 3. the same file again imports whole
      const started = Date.now();
      await dropBigFile(page);
      await page.getByTestId('import-progress').getByText('Saving').waitFor({ timeout: 120_000 });
      const saving = Date.now();
      await page
        .getByTestId('data-notice')
        .getByText(`Imported ${IMPORT_ROWS.toLocaleString('en-US')} examples from ${IMPORT_FILE} (alpaca)`)
        .waitFor({ timeout: 180_000 });
      log(`the third import: read in ${((saving - started) / 1000).toFixed(1)} s, saved in ${((Date.now() - saving) / 1000).toFixed(1)} s`);
      const census = await storeCensus(page);
      assertConsistent(census, 'after importing again');
      const big = census.datasets.filter((d) => d.name === 'reload-big');
      assertEqual(big.length, kept + 1, 'reload-big datasets after importing again');
      assertEqual(census.rows['examples'], (kept + 1) * IMPORT_ROWS, 'examples stored in all');
      const remote = await page.evaluate(() => window.hone!.remote.listDatasets());
      assertEqual(remote.map((d) => d.counts.total), big.map(() => IMPORT_ROWS), 'the worker lists the same datasets, whole');
      // a reload after the import: still exactly what was stored
      await reloadTo(page, openData);
      assertEqual(await bigDatasetsAfterReload(page, 'after the final reload'), kept + 1, 'reload-big datasets after the final reload');
    },
  },
  {
    name: 'a training run reloaded mid-run is listed paused at its last checkpoint, resumes from the Train view and completes with no repeated metric',
    async run({ page, log }) {
      await page.getByTestId('nav-models').click();
      await page.getByTestId('models-empty').waitFor();
      await page.getByTestId('model-file-input').setInputFiles(MODEL_FILES.map((name) => fixturePath('tiny-llama', name)));
      await page.getByTestId('model-loaded').waitFor({ timeout: 60_000 });

      await page.getByTestId('nav-train').click();
      await page.getByLabel('Training data').selectOption('sample');
      await page.getByLabel('Method', { exact: true }).selectOption('lora');
      await page.getByTestId('method-settings').getByText('LoRA settings').waitFor();
      await page.getByLabel('Steps', { exact: true }).fill(String(TRAIN_STEPS));
      await page.getByLabel('Learning rate').fill('0.01');
      await page.getByLabel('Batch size').fill('4');
      await page.getByLabel('Validate every').fill(String(VALIDATE_EVERY));
      await page.getByLabel('Validation share').fill('0.2');
      await page.getByTestId('train-start').click();
      const bar = page.getByRole('progressbar', { name: 'Training progress' });
      await page.waitForFunction(
        (step) => Number(document.querySelector('[role="progressbar"][aria-label="Training progress"]')?.getAttribute('aria-valuenow')) >= step,
        RELOAD_AFTER_STEP,
        { timeout: 240_000, polling: 10 },
      );
      const reloadedAt = Number(await bar.getAttribute('aria-valuenow'));
      const before = await page.evaluate(() => window.hone!.remote.listTrainingRuns());
      runId = before[0].id;
      assertEqual(before[0].status, 'running', 'the run is running before the reload');
      await reloadTo(page, async (p) => {
        await p.getByTestId('nav-train').click();
      });
      log(`reloaded at step ${reloadedAt} of ${TRAIN_STEPS}`);
      assert(reloadedAt < TRAIN_STEPS, `the reload came before the run ended (step ${reloadedAt})`);

      // the store: checkpoints at multiples of CHECKPOINT_EVERY, the record still "running" (no session ran to say otherwise)
      const stored = await storedRun(page, runId);
      log(`stored after the reload: status ${stored.status}, checkpoints at ${stored.checkpointSteps.join(', ')}, metrics up to step ${stored.metricSteps.at(-1)}`);
      const checkpointStep = stored.checkpointSteps.at(-1)!;
      assert(checkpointStep !== undefined && checkpointStep >= CHECKPOINT_EVERY, `a checkpoint was stored before the reload: ${JSON.stringify(stored.checkpointSteps)}`);
      // (the run went on for a moment between reading the progress bar and the reload landing)
      assert(stored.checkpointSteps.every((s) => s % CHECKPOINT_EVERY === 0 && s < TRAIN_STEPS), `checkpoint steps ${JSON.stringify(stored.checkpointSteps)}`);
      assert(stored.metricSteps.length >= checkpointStep, `metrics were stored up to the checkpoint at least: ${stored.metricSteps.length} points`);
      assertEqual(stored.metricSteps, Array.from({ length: stored.metricSteps.length }, (_, i) => i + 1), 'metric steps stored before the reload');
      assertEqual(stored.status, 'running', 'the stored status (the interrupted session could not change it)');
      assertConsistent(await storeCensus(page), 'after the reload mid-run');

      // listed as resumable: paused, at its latest checkpoint's step
      const listed = (await page.evaluate(() => window.hone!.remote.listTrainingRuns())).find((r) => r.id === runId)!;
      assertEqual([listed.status, listed.step], ['paused', checkpointStep], 'the run as the worker lists it');
      const row = await runRow(page, runId);
      assertEqual(await row.getAttribute('data-status'), 'paused', 'history row status');
      assertEqual(await row.getByTestId('run-step').textContent(), `${checkpointStep} / ${TRAIN_STEPS}`, 'history row step');

      // resume from the run history (the worker loads the run's model: none is loaded after the reload)
      await row.getByRole('button', { name: /^Resume / }).click();
      await page.waitForFunction(
        () => {
          const el = document.querySelector('[data-testid="train-status"]');
          return (el?.getAttribute('data-phase') === 'idle' && el.getAttribute('data-run-status') === 'completed') || document.querySelector('[data-testid="train-error"]') !== null;
        },
        undefined,
        { timeout: 480_000 },
      );
      const error = page.getByTestId('train-error');
      assertEqual((await error.count()) ? await error.textContent() : null, null, 'training error after resume');

      const detail = await page.evaluate((id) => window.hone!.remote.getTrainingRun(id), runId);
      assertEqual([detail.status, detail.step], ['completed', TRAIN_STEPS], 'the resumed run');
      const steps = detail.metrics.map((m) => m.step);
      assertEqual(steps, Array.from({ length: TRAIN_STEPS }, (_, i) => i + 1), 'one metric point per step, none repeated');
      assert(detail.metrics.every((m) => typeof m.loss === 'number' && Number.isFinite(m.loss)), 'every point has a finite loss');
      assertEqual(detail.metrics.filter((m) => m.valLoss !== undefined).map((m) => m.step), Array.from({ length: TRAIN_STEPS / VALIDATE_EVERY }, (_, i) => (i + 1) * VALIDATE_EVERY), 'validation points');
      const chart = page.getByTestId('loss-chart');
      assertEqual(await chart.getAttribute('data-train-points'), String(TRAIN_STEPS), 'chart train points after resume');
      assertEqual(await (await runRow(page, runId)).getAttribute('data-status'), 'completed', 'history row after resume');
      assertConsistent(await storeCensus(page), 'after the resumed run');
      const workerModel = await page.evaluate(() => window.hone!.remote.currentModel());
      log(`resumed from step ${checkpointStep}; completed ${TRAIN_STEPS} steps with ${steps.length} metric points; the worker's model is now ${workerModel?.name ?? 'none'}`);
    },
  },
  {
    name: 'an evaluation reloaded mid-way is absent, never half-stored; running it again stores and shows the whole report',
    async run({ page, log }) {
      // an eval set: EVAL_ITEMS test examples, through the data API
      const lines = Array.from({ length: EVAL_ITEMS }, (_, i) => JSON.stringify({ instruction: `Repeat the word: item${i}`, output: `item${i}`, task: `t${i % 4}`, cluster: i % 2 ? 'odd' : 'even', split: 'test' }));
      const dataset = await page.evaluate(async (body) => {
        const result = await window.hone!.remote.importDataset({ name: 'reload-eval.jsonl', bytes: new TextEncoder().encode(body).buffer }, { format: 'hone', name: 'reload-eval' });
        return result.status === 'imported' ? { id: result.dataset.id, test: result.dataset.counts.test } : { id: '', test: -1, error: JSON.stringify(result) };
      }, lines.join('\n') + '\n');
      assertEqual(dataset.test, EVAL_ITEMS, 'test examples imported');

      // The Data view, left and opened again, still follows the selection (its state outlives the
      // view; its derived fields once froze when the view that made them was left).
      await openData(page);
      await page.getByTestId('nav-models').click();
      await openData(page);
      for (const name of ['reload-eval', 'reload-big']) {
        await page.getByTestId('dataset-name').getByText(name, { exact: true }).first().click();
        await page.getByTestId('dataset-detail').locator('h3').getByText(name, { exact: true }).waitFor({ timeout: 10_000 });
      }

      const startEvaluation = async (): Promise<void> => {
        await page.getByTestId('nav-eval').click();
        await page.getByTestId('eval-source').locator(`option[value="${dataset.id}"]`).waitFor({ state: 'attached' });
        await page.getByTestId('eval-source').selectOption(dataset.id);
        await page.getByTestId('eval-tuned').selectOption('none');
        await page.getByTestId('eval-metric').selectOption('exact_match');
        await page.getByLabel('Max new tokens').fill(String(EVAL_TOKENS));
        await page.getByTestId('eval-start').click();
      };
      assertEqual((await page.evaluate(() => window.hone!.remote.evalList())).length, 0, 'no evaluations before');
      // the resumed run loaded its model in the worker; the Models view may not show it as loaded
      log(`before the evaluation the model ${(await loadStoredModel(page)) ? 'had to be loaded again' : 'was shown as loaded'}`);

      await startEvaluation();
      const progress = await page.waitForFunction(
        (total) => {
          const match = /Zero-shot answers: (\d+) of (\d+)/.exec(document.querySelector('[data-testid="eval-status"]')?.textContent ?? '');
          return match && Number(match[2]) === total && Number(match[1]) >= 3 ? Number(match[1]) : null;
        },
        EVAL_ITEMS,
        { timeout: 240_000, polling: 10 },
      );
      const doneAtReload = (await progress.jsonValue())!;
      await reloadTo(page, async (p) => {
        await p.getByTestId('nav-eval').click();
      });
      log(`reloaded with ${doneAtReload} of ${EVAL_ITEMS} examples answered`);

      // absent, or (had the last answer and the one write beaten the reload) complete: never partial
      const after = await storeCensus(page);
      assertConsistent(after, 'after the reload mid-evaluation');
      assertEqual(after.rows['ratings'], 0, 'ratings stored by the interrupted evaluation');
      const kept = await page.evaluate(async () => {
        const reports = [];
        for (const e of await window.hone!.remote.evalList()) {
          const { report } = await window.hone!.remote.evalGet(e.id);
          reports.push({ status: report.status, rows: report.rows.length });
        }
        return reports;
      });
      assertEqual(kept.length, after.rows['evaluations'], 'evaluations listed after the reload = stored');
      for (const report of kept) assertEqual(report, { status: 'completed', rows: EVAL_ITEMS }, 'an evaluation stored before the reload is complete');
      log(`after the reload: ${kept.length === 0 ? 'no evaluation stored' : 'the evaluation had been stored whole before the reload'}`);
      if (kept.length === 0) await page.getByTestId('eval-history-empty').waitFor();

      // again, to the end: the model was unloaded by the reload
      assert(await loadStoredModel(page), 'the reload unloaded the model');
      const started = Date.now();
      await startEvaluation();
      await page.waitForFunction(
        () => document.querySelector('[data-testid="eval-status"]')?.getAttribute('data-report-status') === 'completed' || document.querySelector('[data-testid="eval-error"]') !== null,
        undefined,
        { timeout: 300_000 },
      );
      assertEqual(await page.getByTestId('eval-error').count(), 0, 'no evaluation error');
      log(`the evaluation of ${EVAL_ITEMS} examples (${EVAL_TOKENS} new tokens each) took ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const stored = await page.evaluate(async () => {
        const list = await window.hone!.remote.evalList();
        const report = list[0] ? (await window.hone!.remote.evalGet(list[0].id)).report : null;
        return { count: list.length, status: report?.status, rows: report?.rows.map((r) => typeof r.base.output === 'string') ?? [] };
      });
      assertEqual(stored, { count: kept.length + 1, status: 'completed', rows: Array.from({ length: EVAL_ITEMS }, () => true) }, 'the stored evaluation');
      assertEqual(await page.getByTestId('eval-row').count(), EVAL_ITEMS, 'rows shown');
      const census = await storeCensus(page);
      assertConsistent(census, 'after the second evaluation');
      assertEqual(census.rows['evaluations'], kept.length + 1, 'evaluations stored');
    },
  },
];
