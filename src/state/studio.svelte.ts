// The app's connection to the studio worker and the backend it runs on. Created once in App.svelte;
// the Models and Playground states borrow its client.
import { StudioClient, type BackendReport, type StudioNotice } from '../studio-client';
import { detached } from './detached.svelte';
import { readBackendPin, saveBackendPin, type BackendPin, type PinChoice } from './backend-pin';

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A view state's `for`: one instance per studio, so a run or an import keeps reporting into its state
 * while another view is shown, and a remounted view finds it again. Weakly held: it goes with its studio.
 */
export function onePerStudio<T extends object>(create: (studio: Studio) => T): (studio: Studio) => T {
  const instances = new WeakMap<Studio, T>();
  return (studio) => {
    let instance = instances.get(studio);
    // made under a root effect of its own: its $derived fields must not go inert with the view that asked first
    if (!instance) instances.set(studio, (instance = detached(() => create(studio))));
    return instance;
  };
}

export class Studio {
  readonly client = new StudioClient();
  readonly pinChoice: PinChoice = readBackendPin();
  backend = $state.raw<BackendReport | null>(null);
  startError = $state<string | null>(null);
  /** what happened to the worker outside any call (restarted, moved to another backend), for the shell */
  notice = $state.raw<StudioNotice | null>(null);
  readonly ready = $derived(this.backend !== null);
  /** e.g. "webgpu · google swiftshader (software)" */
  readonly backendLabel = $derived.by(() => {
    const report = this.backend;
    if (!report) return this.startError ? 'no backend' : 'choosing backend…';
    const adapter = report.chosen === 'webgpu' ? report.adapter : undefined;
    if (!adapter) return report.chosen;
    const name = [adapter.vendor, adapter.architecture].filter(Boolean).join(' ') || adapter.description || 'unknown adapter';
    return `${report.chosen} · ${name}${adapter.isFallbackAdapter ? ' (software)' : ''}`;
  });

  constructor() {
    this.client.onNotice((notice) => {
      this.notice = notice;
      if (notice.kind !== 'worker-restart-failed' && notice.report) this.backend = notice.report;
    });
  }

  dismissNotice(): void {
    this.notice = null;
  }

  async start(): Promise<void> {
    window.hone = this.client;
    try {
      this.backend = await this.client.init({ backend: this.pinChoice.pin });
    } catch (err) {
      this.startError = `The compute backend could not start: ${errorMessage(err)}`;
    }
  }

  /** A new backend needs a fresh worker (tensors live on one backend), so the page reloads. */
  changePin(pin: BackendPin): void {
    saveBackendPin(pin);
    const url = new URL(location.href);
    url.searchParams.delete('backend');
    location.assign(url);
  }
}
