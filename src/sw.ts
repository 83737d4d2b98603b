// Hone's service worker: after one visit the studio, its chunks, the tfjs wasm binaries and the
// built-in hone-tiny open with the network off. Built by vite.config.ts's `hone-service-worker`
// plugin, which compiles this file to dist/sw.js and prepends `HONE_BUILD` (the build's hash and
// file list); registered from src/main.ts in production builds only.
//
// Strategies: the build's files (content-hashed names) cache-first in a cache named after the build
// hash, so a new build gets a new cache and `activate` deletes the old ones; page loads and the model
// files (public/, not hashed) network-first with the cache as the fallback, so an online visit always
// sees the newest build and model. Every response handed to the page carries the cross-origin
// isolation headers: without COOP/COEP a page served from the cache would lose SharedArrayBuffer and
// with it tfjs-wasm's threads (PLATFORM.md §4).
//
// Type-checked under the app's DOM tsconfig, which has no service-worker lib; the few worker-global
// types it needs are declared below rather than mixing the WebWorker lib into the app's program.

interface HoneBuild {
  /** hash of every built and public file: names the caches */
  version: string;
  /** the build's files, relative to the scope (index.html, assets/…, sw.js excluded) */
  app: string[];
  /** public/models/** files, relative to the scope */
  models: string[];
}
declare const HONE_BUILD: HoneBuild;

interface SwExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface SwFetchEvent extends SwExtendableEvent {
  readonly request: Request;
  respondWith(response: Response | Promise<Response>): void;
}
interface SwScope {
  readonly registration: { readonly scope: string };
  readonly clients: { claim(): Promise<void> };
  skipWaiting(): Promise<void>;
  addEventListener(type: 'install' | 'activate', listener: (event: SwExtendableEvent) => void): void;
  addEventListener(type: 'fetch', listener: (event: SwFetchEvent) => void): void;
}

const sw = self as unknown as SwScope;
const PREFIX = 'hone-';
const APP_CACHE = `${PREFIX}app-${HONE_BUILD.version}`;
const MODEL_CACHE = `${PREFIX}models-${HONE_BUILD.version}`;
/** the build's files, looked up on every fetch */
const APP_FILES = new Set(HONE_BUILD.app);
const ISOLATION: Record<string, string> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

const scopeUrl = (path: string): string => new URL(path, sw.registration.scope).href;

/** A copy of `response` that certainly carries COOP/COEP (a fresh Response also drops `redirected`, which navigations refuse). */
function isolated(response: Response): Response {
  if (response.type === 'opaque' || response.type === 'opaqueredirect' || response.status === 0) return response;
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(ISOLATION)) headers.set(name, value);
  // 204/304 must have no body; every other status keeps the stream as it is
  const body = response.status === 204 || response.status === 304 ? null : response.body;
  return new Response(body, { status: response.status, statusText: response.statusText, headers });
}

/** Fetches `paths` past the HTTP cache into `cacheName`; `required` ones failing fail the install. */
async function fill(cacheName: string, paths: string[], required: boolean): Promise<void> {
  const cache = await caches.open(cacheName);
  await Promise.all(
    paths.map(async (path) => {
      const url = scopeUrl(path);
      try {
        const response = await fetch(url, { cache: 'reload' });
        if (!response.ok) throw new Error(`${url} answered ${response.status}`);
        await cache.put(url, isolated(response));
      } catch (error) {
        // a build without public/models/hone-tiny still works offline; the model is then just not cached
        if (required) throw error;
      }
    }),
  );
}

sw.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      await Promise.all([fill(APP_CACHE, HONE_BUILD.app, true), fill(MODEL_CACHE, HONE_BUILD.models, false)]);
      // a tab on the old build keeps working: its hashed files stay valid until it reloads
      await sw.skipWaiting();
    })(),
  );
});

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const keep = new Set([APP_CACHE, MODEL_CACHE]);
      const names = await caches.keys();
      await Promise.all(names.filter((name) => name.startsWith(PREFIX) && !keep.has(name)).map((name) => caches.delete(name)));
      // control the page of the first visit too, so what it fetches now is cached for the next
      await sw.clients.claim();
    })(),
  );
});

// Matching ignores Vary: the precache fetch and the page's own requests differ in headers (a module
// worker's request carries Origin), and with Vary respected the offline reload missed the cache for
// the studio worker's script in headless Chromium and the studio never started.
const MATCH = { ignoreSearch: true, ignoreVary: true } as const;

/** Only whole 200 answers are kept: the Cache API refuses 206 (a Range request's part). */
const cacheable = (response: Response): boolean => response.status === 200;

async function cacheFirst(request: Request, cacheName: string): Promise<Response> {
  const cache = await caches.open(cacheName);
  const hit = await cache.match(request, MATCH);
  if (hit) return isolated(hit);
  const response = await fetch(request);
  if (cacheable(response)) await cache.put(request, isolated(response.clone()));
  return isolated(response);
}

async function networkFirst(request: Request, cacheName: string, fallbackPath?: string): Promise<Response> {
  const cache = await caches.open(cacheName);
  try {
    const response = await fetch(request);
    // the page shell is stored under index.html whatever query string it was opened with
    if (cacheable(response)) await cache.put(fallbackPath ? scopeUrl(fallbackPath) : request, isolated(response.clone()));
    return isolated(response);
  } catch (error) {
    const hit = (await cache.match(request, MATCH)) ?? (fallbackPath ? await cache.match(scopeUrl(fallbackPath), MATCH) : undefined);
    if (hit) return isolated(hit);
    throw error;
  }
}

sw.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  const scope = new URL(sw.registration.scope);
  if (url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return; // the Hub, other sites: the network's business
  const path = url.pathname.slice(scope.pathname.length);
  if (request.mode === 'navigate') event.respondWith(networkFirst(request, APP_CACHE, 'index.html'));
  else if (path.startsWith('models/')) event.respondWith(networkFirst(request, MODEL_CACHE));
  else if (APP_FILES.has(path)) event.respondWith(cacheFirst(request, APP_CACHE));
});
