// The workspace bundle end to end in Chromium: a workspace with a dataset, a run with a checkpoint
// and a NaN loss, an evaluation, a rating and a stored model is exported from the Start page as a
// real download, the site's IndexedDB is deleted (CDP Storage.clearDataForOrigin), the studio comes
// back fresh, and importing the file through the picker restores every store record for record. A
// damaged file is refused, naming what is wrong, and changes nothing. The built-in model's files are
// the micro stand-in (tests/fixtures/hone-micro), as in first-visit.spec.ts.
import { readFileSync } from 'node:fs';
import type { Page, Route } from 'playwright-core';
import { readZip } from '../../src/core/zip';
import { assert, assertEqual, microModelFiles, waitForBackend, type BrowserTest } from './harness';

const MICRO_FILES = microModelFiles();
const BUILT_IN_MODEL = 'built-in-hone-tiny';

async function openHome(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await waitForBackend(page);
  await page.getByTestId('home-model').waitFor({ timeout: 90_000 });
}

/**
 * Every record of every store of the page's “hone” database as JSON text, read with plain IndexedDB
 * (not through Hone): binary as byte lists, NaN / ±Infinity / undefined spelled out, so equal text is
 * equal contents. The built-in model's createdAt is left out: it is fetched anew after the reset.
 * Plain JS rather than a function handed to page.evaluate: tsx wraps named inner functions in a
 * `__name` helper that does not exist in the page.
 */
const DUMP_SOURCE = `(async (builtIn) => {
  const db = await new Promise((resolve, reject) => {
    const open = indexedDB.open('hone');
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  const out = {};
  for (const name of [...db.objectStoreNames].sort()) {
    const records = await new Promise((resolve, reject) => {
      const request = db.transaction(name).objectStore(name).getAll();
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    if (name === 'models') for (const r of records) if (r.id === builtIn) delete r.createdAt;
    out[name] = records;
  }
  db.close();
  return JSON.stringify(out, function (key, value) {
    const raw = this[key];
    if (raw instanceof ArrayBuffer) return { bytes: [...new Uint8Array(raw)] };
    if (ArrayBuffer.isView(raw)) return { view: raw.constructor.name, bytes: [...new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength)] };
    if (typeof raw === 'number' && !Number.isFinite(raw)) return 'number:' + raw;
    if (raw === undefined && key !== '') return 'undefined';
    return value;
  });
})`;
const dumpStore = (page: Page): Promise<string> => page.evaluate(`${DUMP_SOURCE}(${JSON.stringify(BUILT_IN_MODEL)})`);

/** A small workspace written with plain IndexedDB beside the built-in model and collection. */
const fillWorkspace = (page: Page) =>
  page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const open = indexedDB.open('hone');
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const t = 1_764_000_000_000;
    const config = new TextEncoder().encode('{"model_type":"gpt2"}');
    const tx = db.transaction(['models', 'modelFiles', 'datasets', 'examples', 'runs', 'checkpoints', 'evaluations', 'ratings'], 'readwrite');
    tx.objectStore('models').put({ id: 'ws-model', name: 'class model', modelType: 'gpt2', family: 'gpt2', parameterCount: 4, architecture: { layers: 1 }, files: [{ name: 'config.json', byteLength: config.byteLength }], totalBytes: config.byteLength, createdAt: t, source: 'test' });
    tx.objectStore('modelFiles').put({ modelId: 'ws-model', name: 'config.json', bytes: config.buffer });
    tx.objectStore('datasets').put({ id: 'ws-ds', name: 'class set', source: 'inline', createdAt: t, updatedAt: t, counts: { total: 2, train: 1, validation: 0, test: 1, unsplit: 0 } });
    tx.objectStore('examples').put({ id: 'ws-ex1', datasetId: 'ws-ds', position: 0, instruction: 'Say hi', output: 'hi', split: 'train', tags: ['a'] });
    tx.objectStore('examples').put({ id: 'ws-ex2', datasetId: 'ws-ds', position: 1, instruction: 'Add 2 and 3', context: '2, 3', output: '5', split: 'test' });
    tx.objectStore('runs').put({ id: 'ws-run', modelId: 'ws-model', datasetId: 'ws-ds', method: 'lora', config: { r: 4, dropout: undefined }, status: 'diverged', createdAt: t, updatedAt: t, metrics: [{ step: 1, loss: 2.5 }, { step: 2, loss: NaN }] });
    tx.objectStore('checkpoints').put({ id: 'ws-ckpt', runId: 'ws-run', step: 1, valLoss: 1.5, createdAt: t, tensors: [{ name: 'lora_A', shape: [2], data: new Float32Array([0.25, -3]).buffer }], optimizer: { m: new Float32Array([1, 2]) }, state: { cursor: 3 } });
    tx.objectStore('evaluations').put({ id: 'ws-eval', runId: 'ws-run', modelId: 'ws-model', createdAt: t, report: { overall: { bleu: 10 } } });
    tx.objectStore('ratings').put({ id: 'ws-rating', evaluationId: 'ws-eval', exampleId: 'ws-ex1', kind: 'thumbs', value: 'up', createdAt: t });
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    db.close();
  });

async function exportBundle(page: Page, includeModels: boolean): Promise<Buffer> {
  await page.getByTestId('workspace-include-models').setChecked(includeModels);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('workspace-export').click()]);
  assert(/^hone-workspace-\d{4}-\d\d-\d\d\.zip$/.test(download.suggestedFilename()), `file name ${download.suggestedFilename()}`);
  await page.getByTestId('workspace-notice').getByText('Saved').waitFor();
  return readFileSync((await download.path())!);
}

const manifestOf = (bytes: Buffer) => JSON.parse(new TextDecoder().decode(readZip(new Uint8Array(bytes)).find((e) => e.name === 'manifest.json')!.bytes));

let before = '';
let bundle: Buffer = Buffer.alloc(0);

export const tests: BrowserTest[] = [
  {
    name: 'a workspace is exported from the Start page as one zip; models only when ticked, never the built-in one',
    async run({ context, page, baseUrl }) {
      const origin = new URL(baseUrl).origin;
      await context.route('**/*', async (route: Route) => {
        const url = new URL(route.request().url());
        if (url.origin !== origin) return route.abort('internetdisconnected');
        const file = /\/models\/hone-tiny\/([^/]+)$/.exec(url.pathname)?.[1];
        const body = file === undefined ? undefined : MICRO_FILES.get(file);
        if (body) return route.fulfill({ status: 200, contentType: 'application/octet-stream', body });
        return route.continue();
      });
      await openHome(page, `${baseUrl}?experiment=micro`);
      await fillWorkspace(page);
      before = await dumpStore(page);
      const stores = Object.fromEntries(Object.entries(JSON.parse(before) as Record<string, unknown[]>).map(([name, records]) => [name, records.length]));
      assertEqual(stores, { checkpoints: 1, datasets: 2, evaluations: 1, examples: 652, modelFiles: 6, models: 2, ratings: 1, runs: 1 }, 'stored before the export');

      const withoutModels = manifestOf(await exportBundle(page, false));
      assertEqual([withoutModels.format, withoutModels.version, withoutModels.includesModels, 'models' in withoutModels.stores], ['hone-workspace', 1, false, false], 'export without models');
      bundle = await exportBundle(page, true);
      const manifest = manifestOf(bundle);
      assertEqual([manifest.stores.models.records, manifest.stores.modelFiles.records, manifest.stores.examples.records], [1, 1, 652], 'the user model, not the built-in one');
    },
  },
  {
    name: 'after the site storage is cleared and the studio reopened fresh, importing the file restores every store',
    async run({ context, page, baseUrl }) {
      const cdp = await context.newCDPSession(page);
      await cdp.send('Storage.clearDataForOrigin', { origin: new URL(baseUrl).origin, storageTypes: 'indexeddb' });
      await cdp.detach();
      assertEqual(await page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name)), [], 'IndexedDB deleted');
      await openHome(page, `${baseUrl}?experiment=micro`);
      const fresh = JSON.parse(await dumpStore(page)) as Record<string, { id?: string }[]>;
      assertEqual([fresh.runs.length, fresh.datasets.map((d) => d.id), fresh.models.map((m) => m.id)], [0, ['built-in-hone-tiny-collection'], [BUILT_IN_MODEL]], 'a fresh studio');

      await page.getByTestId('workspace-file').setInputFiles({ name: 'class.zip', mimeType: 'application/zip', buffer: bundle });
      const notice = page.getByTestId('workspace-notice');
      await notice.getByText('Imported class.zip').waitFor({ timeout: 30_000 });
      const text = (await notice.textContent()) ?? '';
      assert(text.includes('2 datasets') && text.includes('652 examples') && text.includes('1 runs') && text.includes('1 ratings'), `notice: ${text}`);
      assertEqual(await dumpStore(page), before, 'every store as before the reset');
    },
  },
  {
    name: 'a damaged bundle is refused with the reason and changes nothing',
    async run({ page }) {
      const stored = await dumpStore(page);
      await page.getByTestId('workspace-file').setInputFiles({ name: 'cut.zip', mimeType: 'application/zip', buffer: bundle.subarray(0, bundle.length - 30) });
      const error = page.getByTestId('workspace-error');
      await error.waitFor({ timeout: 30_000 });
      const text = (await error.textContent()) ?? '';
      assert(text.includes('Importing cut.zip failed') && text.includes('no end-of-central-directory record') && text.includes('Nothing was imported.'), `error: ${text}`);
      assertEqual(await dumpStore(page), stored, 'stores unchanged');
    },
  },
];
