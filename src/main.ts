import { mount } from 'svelte';
import App from './App.svelte';

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element');
export default mount(App, { target });

// Offline after one visit (src/sw.ts). Production builds only: `vite dev` serves no sw.js, and a
// worker caching dev modules would serve stale code.
if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  navigator.serviceWorker.register(new URL('sw.js', document.baseURI)).catch((err: unknown) => {
    console.warn(`Hone works online only: the service worker could not be registered (${err instanceof Error ? err.message : String(err)}).`);
  });
}
