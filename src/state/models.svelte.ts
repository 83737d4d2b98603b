// The Models view's state: what is stored in this browser, what is loaded, importing progress and
// the last error (worker errors keep their message across comlink, so they are shown as they are);
// and pulling by Hub id (HubPullState): the id, revision, endpoint and token, progress with rate and
// ETA, cancel, and the OPFS cache of pulls (partial ones resume).
import type { CachedPull, HubPullEvent, MemoryFitAnswer, ModelSummary } from '../studio-client';
import { DEFAULT_ENDPOINT as DEFAULT_HUB_ENDPOINT } from '../core/hub/client';
import { connectAllowed } from '../core/hub/csp';
import type { ModelCardInfo } from '../core/hub/cards';
import { errorMessage, type Studio } from './studio.svelte';

/** Files a Hugging Face checkpoint folder may hold; anything else dropped is ignored and named. */
const CHECKPOINT_FILE = /^(config\.json|generation_config\.json|special_tokens_map\.json|tokenizer\.json|tokenizer_config\.json|model\.safetensors\.index\.json|.*\.safetensors)$/;

export class ModelsState {
  models = $state.raw<ModelSummary[]>([]);
  current = $state.raw<ModelSummary | null>(null);
  /** what is happening right now, for the progress line; null when idle */
  busy = $state<string | null>(null);
  error = $state<string | null>(null);
  notice = $state<string | null>(null);
  readonly #studio: Studio;
  readonly hub: HubPullState;

  constructor(studio: Studio) {
    this.#studio = studio;
    this.hub = new HubPullState(studio, this);
  }

  async refresh(): Promise<void> {
    try {
      this.models = await this.#studio.client.listModels();
      this.current = await this.#studio.client.currentModel();
    } catch (err) {
      this.error = errorMessage(err);
    }
    await this.hub.refreshCache();
  }

  /** A pulled model became current: show it in the list. */
  async pulled(summary: ModelSummary): Promise<void> {
    this.current = summary;
    this.models = await this.#studio.client.listModels();
  }

  async importFiles(files: File[], name?: string): Promise<void> {
    const wanted = files.filter((f) => CHECKPOINT_FILE.test(f.name));
    const ignored = files.filter((f) => !CHECKPOINT_FILE.test(f.name)).map((f) => f.name);
    this.error = null;
    this.notice = ignored.length ? `Ignored files that are not part of a checkpoint: ${ignored.join(', ')}` : null;
    if (wanted.length === 0) {
      this.error = 'No checkpoint files were chosen: pick config.json, the *.safetensors file(s), tokenizer.json and tokenizer_config.json.';
      return;
    }
    try {
      const bytes = [];
      for (const [i, file] of wanted.entries()) {
        this.busy = `Reading ${file.name} (${i + 1} of ${wanted.length})…`;
        // webkitRelativePath keeps the folder name, which becomes the default model name
        bytes.push({ name: file.webkitRelativePath || file.name, bytes: await file.arrayBuffer() });
      }
      const stageText = { validating: 'Checking the files…', saving: 'Saving to browser storage…', loading: 'Loading the model…' };
      const summary = await this.#studio.client.importModel(bytes, name, { onProgress: (p) => (this.busy = stageText[p.stage]) });
      this.current = summary;
      this.models = await this.#studio.client.listModels();
    } catch (err) {
      this.error = `Import failed: ${errorMessage(err)}`;
    } finally {
      this.busy = null;
    }
  }

  async load(id: string): Promise<void> {
    this.error = null;
    this.busy = 'Loading the model…';
    try {
      this.current = await this.#studio.client.loadModel(id);
    } catch (err) {
      this.error = `Loading failed: ${errorMessage(err)}`;
    } finally {
      this.busy = null;
    }
  }

  async remove(id: string): Promise<void> {
    this.error = null;
    try {
      await this.#studio.client.deleteModel(id);
      if (this.current?.id === id) this.current = null;
      this.models = await this.#studio.client.listModels();
    } catch (err) {
      this.error = `Deleting failed: ${errorMessage(err)}`;
    }
  }
}

export type MemoryUse = 'inference' | 'peft' | 'full';

export interface PullProgress {
  file: string;
  bytes: number;
  totalBytes: number | null;
  bytesPerSecond: number;
  etaSeconds: number | null;
}

const ENDPOINT_KEY = 'hone.hub.endpoint';
const TOKEN_KEY = 'hone.hub.token';

function stored(storage: () => Storage, key: string): string | null {
  try {
    return storage().getItem(key);
  } catch {
    return null; // storage disabled (private mode, sandboxed frame)
  }
}

/** The page's own CSP (<meta>), for telling the user an endpoint cannot be reached before trying. */
function pagePolicy(): string | null {
  if (typeof document === 'undefined') return null;
  return document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? null;
}

export class HubPullState {
  repo = $state('');
  revision = $state('main');
  /** HF_ENDPOINT: kept in localStorage (a setting, not a secret) */
  endpoint = $state(stored(() => localStorage, ENDPOINT_KEY) ?? DEFAULT_HUB_ENDPOINT);
  /** HF_TOKEN: sessionStorage (this tab, survives a reload for a resume) unless `rememberToken` */
  token = $state(stored(() => localStorage, TOKEN_KEY) ?? stored(() => sessionStorage, TOKEN_KEY) ?? '');
  rememberToken = $state(stored(() => localStorage, TOKEN_KEY) !== null);
  use = $state<MemoryUse>('peft');
  running = $state(false);
  progress = $state.raw<PullProgress | null>(null);
  /** the step shown beside the bar: the file list, a file, checking, saving */
  step = $state<string | null>(null);
  estimate = $state.raw<string | null>(null);
  error = $state<string | null>(null);
  cache = $state.raw<CachedPull[]>([]);
  usage = $state.raw<{ usage: number | null; quota: number | null } | null>(null);
  #abort: AbortController | null = null;
  readonly #studio: Studio;
  readonly #models: ModelsState;

  constructor(studio: Studio, models: ModelsState) {
    this.#studio = studio;
    this.#models = models;
  }

  /** Why the endpoint cannot be used, or null: not a URL, or outside the page's connect-src. */
  get endpointProblem(): string | null {
    let url: URL;
    try {
      url = new URL(this.endpoint.trim());
    } catch {
      return `"${this.endpoint}" is not a URL; give one like ${DEFAULT_HUB_ENDPOINT}`;
    }
    const policy = pagePolicy();
    if (policy !== null && !connectAllowed(policy, `${url.origin}/api/models`, location.origin)) {
      return `This build's Content-Security-Policy does not allow connections to ${url.origin}. Build or serve Hone with HF_ENDPOINT=${url.origin} (or HONE_HUB_ENDPOINTS) to allow this mirror.`;
    }
    return null;
  }

  /** Saves the endpoint and the token as the user chose (a remembered token goes to localStorage). */
  saveSettings(): void {
    try {
      localStorage.setItem(ENDPOINT_KEY, this.endpoint.trim() || DEFAULT_HUB_ENDPOINT);
      sessionStorage.removeItem(TOKEN_KEY);
      localStorage.removeItem(TOKEN_KEY);
      const token = this.token.trim();
      if (token) (this.rememberToken ? localStorage : sessionStorage).setItem(TOKEN_KEY, token);
    } catch {
      // storage disabled: the values live in this page only
    }
  }

  /** A card's Load button: fills the id and the revision. */
  useCard(card: ModelCardInfo): void {
    this.repo = card.repo;
    this.revision = 'main';
    this.error = null;
  }

  async refreshCache(): Promise<void> {
    try {
      [this.cache, this.usage] = await Promise.all([this.#studio.client.api.listHubCache(), this.#studio.client.api.storageEstimate()]);
    } catch (err) {
      this.error = errorMessage(err);
    }
  }

  #onEvent = (event: HubPullEvent): void => {
    if (event.kind === 'progress') {
      this.progress = { file: event.file, bytes: event.bytes, totalBytes: event.totalBytes, bytesPerSecond: event.bytesPerSecond, etaSeconds: event.etaSeconds };
    } else if (event.kind === 'file') {
      this.step = `Downloading ${event.file}…`;
    } else if (event.kind === 'info') {
      this.step = `${event.files.length} files at commit ${event.sha.slice(0, 7)}`;
    } else if (event.kind === 'estimate') {
      const gb = (n: number) => `${(n / 1e9).toFixed(2)} GB`;
      this.estimate = `${event.parameters.toLocaleString('en-US')} parameters: about ${gb(event.totalBytes)} in Hone (weights ${gb(event.weightsBytes)}, optimizer ${gb(event.optimizerBytes)}, activations ${gb(event.activationBytes)})`;
    } else if (event.kind === 'retry') {
      this.step = `Connection problem on ${event.file} (${event.reason}); resuming from byte ${event.fromByte}…`;
    } else if (event.kind === 'stage') {
      this.step = { validating: 'Checking the files…', saving: 'Saving to browser storage…', loading: 'Loading the model…' }[event.stage];
    } else if (event.kind === 'reused') {
      this.step = `Already in the cache (commit ${event.sha.slice(0, 7)})`;
    }
  };

  /** Pulls `repo`@`revision` (or the fields) and imports it; resolves when done, failed or cancelled. */
  async pull(repo = this.repo, revision = this.revision): Promise<void> {
    if (this.running) return;
    this.repo = repo.trim();
    this.revision = revision.trim() || 'main';
    this.error = this.endpointProblem;
    if (this.error) return;
    if (!/^[^/\s]+\/[^/\s]+$/.test(this.repo)) {
      this.error = `"${this.repo}" is not a Hub model id; give ORG/NAME, e.g. HuggingFaceTB/SmolLM2-135M`;
      return;
    }
    this.saveSettings();
    this.running = true;
    this.progress = null;
    this.estimate = null;
    this.step = 'Asking the Hub for the file list…';
    this.#abort = new AbortController();
    try {
      const summary = await this.#studio.client.pullHubModel(
        { repo: this.repo, revision: this.revision, endpoint: this.endpoint.trim(), token: this.token.trim() || undefined, use: this.use },
        { onProgress: this.#onEvent, signal: this.#abort.signal },
      );
      this.step = `Loaded ${summary.name}`;
      await this.#models.pulled(summary);
    } catch (err) {
      this.error = errorMessage(err);
      this.step = null;
    } finally {
      // the list shows what the pull left before the form takes a new one
      await this.refreshCache();
      this.running = false;
      this.#abort = null;
    }
  }

  cancel(): void {
    this.#abort?.abort();
  }

  /** Resumes (or re-imports) a cached pull with the endpoint it came from. */
  async resume(entry: CachedPull): Promise<void> {
    if (entry.endpoint) this.endpoint = entry.endpoint;
    await this.pull(entry.repo, entry.revision);
  }

  async remove(entry: CachedPull): Promise<void> {
    this.error = null;
    try {
      await this.#studio.client.api.deleteHubCache(entry.key);
    } catch (err) {
      this.error = errorMessage(err);
    }
    await this.refreshCache();
  }

  /** The fit of a card's model before anything downloads. */
  checkCard(configJson: Record<string, unknown>): Promise<MemoryFitAnswer> {
    return this.#studio.client.api.checkConfigFit(configJson, { use: this.use });
  }
}
