// Offline after one visit (src/sw.ts): the first visit installs the service worker, which caches the
// build (page, chunks, the three tfjs wasm binaries) and the model files; then the network is cut
// (context.setOffline) and a reload opens the studio from the cache, cross-origin isolated, and the
// Start page's three steps reach the comparison. As in first-visit.spec.ts the built-in model's files
// are answered from tests/fixtures/hone-micro (the micro stand-in), so the run takes seconds.
import type { Page, Route } from 'playwright-core';
import { assert, assertEqual, microModelFiles, openHome, type BrowserTest } from './harness';

/** run.ts blocks service workers in every other spec; this one is about them. */
export const serviceWorkers = 'allow';

const MICRO_FILES = microModelFiles();
const MICRO_PARAMETERS = (JSON.parse(MICRO_FILES.get('manifest.json')!.toString('utf8')) as { parameters: number }).parameters;
const HELD_OUT = ['paraphrase', 'sentiment', 'factual_qa'];
const BUILT_IN_MODEL = 'built-in-hone-tiny';

/** every request the browser made (the page's, its worker's and the service worker's) */
const requests: string[] = [];
let offline = false;
/** while offline: what answered each request of the page and its studio worker */
const answeredOffline: { path: string; fromServiceWorker: boolean }[] = [];

/** The service worker's caches: name → paths relative to the app's root. */
const cacheContents = (page: Page) =>
  page.evaluate(async () => {
    const out: Record<string, string[]> = {};
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      out[name] = (await cache.keys()).map((request) => new URL(request.url).pathname.slice(1)).sort();
    }
    return out;
  });

export const tests: BrowserTest[] = [
  {
    name: 'the first visit installs the service worker, which caches the build, the wasm binaries and the model files',
    async run({ context, page, baseUrl, log }) {
      const origin = new URL(baseUrl).origin;
      context.on('request', (request) => requests.push(request.url()));
      context.on('response', (response) => {
        // the service worker's own fetches fail offline; what counts is what the page and its worker got
        if (!offline || response.request().serviceWorker()) return;
        const url = new URL(response.url());
        if (url.origin === origin) answeredOffline.push({ path: url.pathname.slice(1), fromServiceWorker: response.fromServiceWorker() });
      });
      await context.route('**/*', async (route: Route) => {
        const url = new URL(route.request().url());
        if (url.origin !== origin) {
          log(`blocked ${url.href}`);
          return route.abort('internetdisconnected');
        }
        const file = /\/models\/hone-tiny\/([^/]+)$/.exec(url.pathname)?.[1];
        const body = file === undefined ? undefined : MICRO_FILES.get(file);
        if (body) return route.fulfill({ status: 200, contentType: file!.endsWith('.json') ? 'application/json' : 'application/octet-stream', body });
        return route.continue();
      });
      await openHome(page, `${baseUrl}?experiment=micro`);
      assertEqual(await page.getByTestId('home-model').getAttribute('data-model-id'), BUILT_IN_MODEL, 'built-in model set up');
      // the worker installs (precaching everything) before it activates and claims the page
      await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 60_000 });
      const build = await page.evaluate(async () => {
        const source = await (await fetch('sw.js')).text();
        return JSON.parse(/^const HONE_BUILD = (.*);$/m.exec(source)![1]) as { version: string; app: string[]; models: string[] };
      });
      assert(build.app.filter((f) => f.endsWith('.wasm')).length === 3, `three wasm binaries in the build: ${build.app.join(', ')}`);
      const cached = await cacheContents(page);
      assertEqual(Object.keys(cached).sort(), [`hone-app-${build.version}`, `hone-models-${build.version}`], 'cache names carry the build hash');
      assertEqual(cached[`hone-app-${build.version}`], [...build.app].sort(), 'every file of the build is cached');
      assertEqual(cached[`hone-models-${build.version}`], [...MICRO_FILES.keys()].map((f) => `models/hone-tiny/${f}`).sort(), 'the model files are cached');
      // what the cache holds for the model is what the page was served (the stand-in), not another copy
      const cachedManifest = await page.evaluate(async () => (await (await caches.match('models/hone-tiny/manifest.json'))!.text()));
      assertEqual(cachedManifest, MICRO_FILES.get('manifest.json')!.toString('utf8'), 'cached manifest');
    },
  },
  {
    name: 'with the network off, a reload opens the studio from the service worker, cross-origin isolated, with the stored model',
    async run({ context, page, baseUrl }) {
      offline = true;
      await context.setOffline(true);
      // the server itself is unreachable now: a plain fetch past the service worker fails
      const direct = await page.evaluate(async () => fetch('sw.js', { cache: 'no-store' }).then(() => 'reached', () => 'failed'));
      assertEqual(direct, 'failed', 'the network is off');
      await openHome(page, `${baseUrl}?experiment=micro`);
      assertEqual(await page.evaluate(() => [crossOriginIsolated, typeof SharedArrayBuffer]), [true, 'function'], 'cross-origin isolated from the cache');
      assertEqual(await page.getByTestId('home-model').getAttribute('data-model-id'), BUILT_IN_MODEL, 'built-in model shown');
      const state = await page.evaluate(async () => {
        const remote = window.hone!.remote;
        return { models: (await remote.listModels()).map((m) => [m.id, m.parameterCount]), current: (await remote.currentModel())?.id ?? null };
      });
      assertEqual(state, { models: [[BUILT_IN_MODEL, MICRO_PARAMETERS]], current: BUILT_IN_MODEL }, 'stored model, loaded');
    },
  },
  {
    name: 'offline, the three steps of the Start page reach the comparison',
    async run({ page }) {
      await page.getByTestId('home-panel-1').waitFor();
      assertEqual(await page.getByTestId('home-cluster').count(), 13, 'step 1: clusters shown');
      await page.getByTestId('home-step-2').click();
      await page.getByTestId('home-run').click();
      await page.getByTestId('home-report-table').waitFor({ timeout: 120_000 });
      assertEqual(await page.getByTestId('home-step-3').getAttribute('aria-current'), 'step', 'moved on to step 3');
      const rows = page.getByTestId('home-report-row');
      assertEqual(await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-cluster'))), [...HELD_OUT, 'overall'], 'comparison rows');
      const [stored] = await page.evaluate(() => window.hone!.remote.experimentReports());
      const overall = await page.locator('[data-cluster="overall"] td').allTextContents();
      assertEqual(overall[2], stored.report.tuned.overall.toFixed(1), 'tuned overall shown');
    },
  },
  {
    name: 'offline, the service worker answered the page, its chunks, the studio worker and a wasm binary',
    async run({ context, baseUrl }) {
      offline = false;
      await context.setOffline(false);
      const paths = answeredOffline.map((r) => r.path);
      assertEqual(answeredOffline.filter((r) => !r.fromServiceWorker), [], 'answers that did not come from the service worker');
      for (const pattern of [/^$/, /^assets\/index-.*\.js$/, /^assets\/index-.*\.css$/, /^assets\/studio\.worker-.*\.js$/, /^assets\/tfjs-backend-wasm.*\.wasm$/]) {
        assert(paths.some((p) => pattern.test(p)), `${pattern} answered offline; answered: ${paths.join(', ')}`);
      }
      const origin = new URL(baseUrl).origin;
      assertEqual(requests.filter((url) => !url.startsWith('data:') && !url.startsWith('blob:') && new URL(url).origin !== origin), [], 'requests to other origins');
    },
  },
  {
    name: 'a service worker that activates deletes the caches of other builds and keeps its own',
    async run({ page }) {
      const current = Object.keys(await cacheContents(page)).sort();
      await page.evaluate(async () => {
        for (const name of ['hone-app-0000000000000000', 'hone-models-0000000000000000']) await (await caches.open(name)).put('stale.txt', new Response('an older build'));
      });
      // A changed script URL installs a new worker, as a rebuild's changed sw.js would (a routed,
      // changed sw.js was not picked up by registration.update() when tried here).
      const activated = await page.evaluate(async () => {
        const registration = await navigator.serviceWorker.register('sw.js?next');
        const worker = registration.installing ?? registration.waiting ?? registration.active!;
        if (worker.state !== 'activated') await new Promise<void>((resolve) => worker.addEventListener('statechange', () => worker.state === 'activated' && resolve()));
        return worker.scriptURL.endsWith('sw.js?next');
      });
      assert(activated, 'the new worker activated');
      assertEqual(Object.keys(await cacheContents(page)).sort(), current, 'only this build\'s caches are left');
    },
  },
];
