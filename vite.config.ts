import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { defineConfig, transformWithOxc, type Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { endpointsFromEnv, hubConnectSources } from './src/core/hub/csp.ts';

// wasm threads need cross-origin isolation on every server that hands out the app (PLATFORM.md §4).
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

// The Hugging Face Hub (huggingface.co, its API hosts such as datasets-server.huggingface.co, its
// LFS/Xet/CDN hosts under *.hf.co), loopback for local mirrors and test servers, and the mirrors
// named by HF_ENDPOINT / HONE_HUB_ENDPOINTS when building or serving: src/core/hub/csp.ts.

/**
 * Content-Security-Policy. Hone renders text from strangers' datasets and models; if any of it ever
 * reached the DOM as markup, this keeps it from running or phoning home. Scripts only from the app
 * itself ('wasm-unsafe-eval' lets tfjs compile its wasm backend, nothing else is eval'd) and blob:
 * (tfjs-wasm's pthread workers are blob URLs that importScripts() another blob: measured in headless
 * Chromium, init fails without it); workers from the app and blob:; connections to the app and the
 * Hub only. Styles allow inline because Svelte sets style attributes and the dev server injects
 * component CSS as <style> elements. `dev` adds the dev server's HMR websocket.
 */
export function contentSecurityPolicy(mode: 'dev' | 'served' | 'meta', hubEndpoints: readonly string[] = endpointsFromEnv(process.env)): string {
  const directives = [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval' blob:",
    "worker-src 'self' blob:",
    `connect-src 'self' ${hubConnectSources(hubEndpoints).join(' ')}${mode === 'dev' ? ' ws: wss:' : ''}`,
    "img-src 'self' data: blob:",
    "style-src 'self' 'unsafe-inline'",
    "font-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
  ];
  // frame-ancestors is ignored (with a console warning) in a <meta> policy
  if (mode !== 'meta') directives.push("frame-ancestors 'self'");
  return directives.join('; ');
}

/** The built index.html carries the policy as a <meta> tag, for static hosts that set no headers. */
function cspMetaTag(): Plugin {
  return {
    name: 'hone-csp-meta',
    apply: 'build',
    transformIndexHtml: () => [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: contentSecurityPolicy('meta') }, injectTo: 'head-prepend' }],
  };
}

/** Every file under `dir`, as '/'-separated paths relative to `base`. */
function filesUnder(dir: string, base: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path, base) : [relative(base, path).split('\\').join('/')];
  });
}

/**
 * Compiles src/sw.ts to sw.js at the root of the build, prefixed with HONE_BUILD: the build's hash
 * (over every emitted and public file, so any change names new caches) and the files to precache.
 * Build only: `vite dev` has no sw.js and main.ts registers none there. sw.js sits at the root so
 * its scope covers the whole app; the CSP's `worker-src 'self'` already allows it.
 */
function serviceWorker(): Plugin {
  let publicDir = '';
  return {
    name: 'hone-service-worker',
    apply: 'build',
    enforce: 'post',
    configResolved(config) {
      publicDir = config.publicDir;
    },
    async generateBundle(_options, bundle) {
      const hash = createHash('sha256');
      const app = new Set(['index.html']);
      for (const [fileName, output] of Object.entries(bundle).sort(([a], [b]) => (a < b ? -1 : 1))) {
        if (fileName.endsWith('.map')) continue;
        app.add(fileName);
        hash.update(fileName).update(output.type === 'chunk' ? output.code : output.source);
      }
      const publicFiles = publicDir ? filesUnder(publicDir, publicDir).sort() : [];
      for (const file of publicFiles) {
        hash.update(file).update(readFileSync(join(publicDir, file)));
        if (!file.startsWith('models/')) app.add(file);
      }
      const build = {
        version: hash.digest('hex').slice(0, 16),
        app: [...app].sort(),
        models: publicFiles.filter((file) => file.startsWith('models/')),
      };
      const source = new URL('./src/sw.ts', import.meta.url).pathname;
      const { code } = await transformWithOxc(readFileSync(source, 'utf8'), source, { lang: 'ts' });
      this.emitFile({ type: 'asset', fileName: 'sw.js', source: `const HONE_BUILD = ${JSON.stringify(build)};\n${code}` });
    },
  };
}

export default defineConfig({
  plugins: [svelte(), cspMetaTag(), serviceWorker()],
  server: { headers: { ...isolation, 'Content-Security-Policy': contentSecurityPolicy('dev') } },
  preview: { headers: { ...isolation, 'Content-Security-Policy': contentSecurityPolicy('served') } },
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    // Threaded wasm rebuilds its pthread blob from function source: mangled names break it (PLATFORM.md §3).
    minify: false,
  },
});
