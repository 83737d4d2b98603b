// Runs tests/browser/*.spec.ts against the built app (dist/) in the system's headless Chromium.
// `npm run test:browser` builds first. No browser is downloaded: Chromium comes from $CHROME_PATH or
// /usr/bin/chromium. Prints one line per test and, last, "N passed, N failed"; exits 1 on a failure.
import { existsSync, readdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { preview, type PreviewServer } from 'vite';
import type { BrowserTest } from './harness';

const root = fileURLToPath(new URL('../../', import.meta.url));
const here = fileURLToPath(new URL('.', import.meta.url));

function findChromium(): string {
  const candidates = [process.env.CHROME_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(
    (p): p is string => Boolean(p),
  );
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error('Chromium not found: install it (apt-get install chromium) or set CHROME_PATH');
  return found;
}

// HONE_DIST serves another build folder (e.g. `vite build --outDir /tmp/dist-x`), so parallel
// builds do not overwrite each other's dist/.
const distDir = process.env.HONE_DIST ?? `${root}dist`;

async function startPreview(): Promise<{ server: PreviewServer; baseUrl: string }> {
  if (!existsSync(`${distDir}/index.html`)) {
    throw new Error(`${distDir}/index.html is missing: run \`vite build\` first (npm run test:browser does)`);
  }
  // The COOP/COEP headers come from vite.config.ts's `preview.headers`.
  const server = await preview({
    root,
    logLevel: 'warn',
    build: { outDir: distDir },
    preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false },
  });
  const address = server.httpServer.address() as AddressInfo | null;
  if (!address || typeof address === 'string') throw new Error('vite preview did not report a TCP address');
  return { server, baseUrl: `http://127.0.0.1:${address.port}/` };
}

/** the most one browser test may take (the slowest pass in ~2–3 min on SwiftShader here) */
const TEST_LIMIT_MS = 12 * 60_000;

const started = Date.now();
let passed = 0;
let failed = 0;
let browser: Browser | undefined;
let server: PreviewServer | undefined;

try {
  const executablePath = findChromium();
  const specFilter = process.argv.slice(2);
  const specs = readdirSync(here)
    .filter((f) => f.endsWith('.spec.ts'))
    .filter((f) => specFilter.length === 0 || specFilter.some((s) => f.includes(s)))
    .sort();
  const preview = await startPreview();
  server = preview.server;
  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--enable-unsafe-webgpu',
      '--no-sandbox',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  console.log(`Chromium ${browser.version()} at ${executablePath}; app at ${preview.baseUrl}`);

  for (const spec of specs) {
    const { tests, serviceWorkers } = (await import(pathToFileURL(`${here}${spec}`).href)) as { tests: BrowserTest[]; serviceWorkers?: 'allow' };
    console.log(`\n${spec}`);
    // One fresh context per file: new user data, so IndexedDB and localStorage start empty. The
    // service worker (src/sw.ts) is blocked unless a spec asks for it: it would answer requests the
    // specs route themselves, and its cache would outlive a rebuild within the context.
    const context = await browser.newContext({ serviceWorkers: serviceWorkers ?? 'block' });
    const page = await context.newPage();
    const log = (message: string) => console.log(`    ${message}`);
    page.on('console', (msg) => {
      if (msg.type() === 'error') log(`[console.error] ${msg.text()}`);
    });
    page.on('pageerror', (err) => log(`[page error] ${err.message}`));
    page.on('worker', (worker) => worker.on('console', (msg) => msg.type() === 'error' && log(`[worker console.error] ${msg.text()}`)));
    let skipRest = false;
    for (const test of tests) {
      if (skipRest) {
        failed++;
        console.log(`  ✗ ${test.name} (not run: an earlier test in this file failed)`);
        continue;
      }
      const t0 = Date.now();
      try {
        // a test that hangs fails, named, instead of holding CI until it is killed
        let timer: ReturnType<typeof setTimeout> | undefined;
        const limit = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${TEST_LIMIT_MS / 1000} s (the runner's per-test limit)`)), TEST_LIMIT_MS);
        });
        try {
          await Promise.race([test.run({ context, page, baseUrl: preview.baseUrl, log }), limit]);
        } finally {
          clearTimeout(timer);
        }
        passed++;
        console.log(`  ✓ ${test.name} (${Date.now() - t0} ms)`);
      } catch (err) {
        failed++;
        // Tests in a file build on each other; after a failure the rest would only fail confusingly.
        skipRest = true;
        console.log(`  ✗ ${test.name} (${Date.now() - t0} ms)\n      ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      }
    }
    await context.close();
  }
} catch (err) {
  failed++;
  console.error(`Browser test run failed: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  await browser?.close().catch(() => {});
  await server?.close().catch(() => {});
}

console.log(`\nBrowser tests took ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
