import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// wasm threads need cross-origin isolation on every server that hands out the app (PLATFORM.md §4).
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  plugins: [svelte()],
  server: { headers: isolation },
  preview: { headers: isolation },
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    // Threaded wasm rebuilds its pthread blob from function source: mangled names break it (PLATFORM.md §3).
    minify: false,
  },
});
