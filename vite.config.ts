import { defineConfig, type Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// wasm threads need cross-origin isolation on every server that hands out the app (PLATFORM.md §4).
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/** The Hugging Face Hub: huggingface.co, its API hosts (datasets-server.huggingface.co) and CDNs (*.hf.co). */
const HUB = ['https://huggingface.co', 'https://*.huggingface.co', 'https://*.hf.co'];

/**
 * Content-Security-Policy. Hone renders text from strangers' datasets and models; if any of it ever
 * reached the DOM as markup, this keeps it from running or phoning home. Scripts only from the app
 * itself ('wasm-unsafe-eval' lets tfjs compile its wasm backend, nothing else is eval'd) and blob:
 * (tfjs-wasm's pthread workers are blob URLs that importScripts() another blob: measured in headless
 * Chromium, init fails without it); workers from the app and blob:; connections to the app and the
 * Hub only. Styles allow inline because Svelte sets style attributes and the dev server injects
 * component CSS as <style> elements. `dev` adds the dev server's HMR websocket.
 */
export function contentSecurityPolicy(mode: 'dev' | 'served' | 'meta'): string {
  const directives = [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval' blob:",
    "worker-src 'self' blob:",
    `connect-src 'self' ${HUB.join(' ')}${mode === 'dev' ? ' ws: wss:' : ''}`,
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

export default defineConfig({
  plugins: [svelte(), cspMetaTag()],
  server: { headers: { ...isolation, 'Content-Security-Policy': contentSecurityPolicy('dev') } },
  preview: { headers: { ...isolation, 'Content-Security-Policy': contentSecurityPolicy('served') } },
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    // Threaded wasm rebuilds its pthread blob from function source: mangled names break it (PLATFORM.md §3).
    minify: false,
  },
});
