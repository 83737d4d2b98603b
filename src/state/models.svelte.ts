// The Models view's state: what is stored in this browser, what is loaded, importing progress and
// the last error (worker errors keep their message across comlink, so they are shown as they are).
import type { ModelSummary } from '../studio-client';
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

  constructor(studio: Studio) {
    this.#studio = studio;
  }

  async refresh(): Promise<void> {
    try {
      this.models = await this.#studio.client.listModels();
      this.current = await this.#studio.client.currentModel();
    } catch (err) {
      this.error = errorMessage(err);
    }
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
