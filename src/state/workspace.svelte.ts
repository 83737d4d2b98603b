// The workspace bundle as the Start view's panel uses it: export everything stored in this browser as
// one file, and import such a file (validated whole in the worker, then written all at once or not at
// all). The bytes are built and checked in the worker (workers/workspace.ts → src/core/store/bundle.ts).
import type { BundleProgress, ImportSummary } from '../studio-client';
import { saveBlob } from './download';
import { errorMessage, onePerStudio, type Studio } from './studio.svelte';

const STAGE_TEXT: Record<BundleProgress['stage'], string> = {
  reading: 'Reading the stored workspace…',
  packing: 'Packing records',
  validating: 'Checking the bundle',
  writing: 'Writing records',
};

/** Store names in the words the panel uses. */
const STORE_WORDS: Record<string, string> = {
  datasets: 'datasets',
  examples: 'examples',
  runs: 'runs',
  checkpoints: 'checkpoints',
  evaluations: 'evaluation reports',
  ratings: 'ratings',
  models: 'models',
  modelFiles: 'model files',
};

export class WorkspaceState {
  readonly #studio: Studio;
  /** include stored models (large) in the export; the built-in hone-tiny is never included */
  includeModels = $state(false);
  busy = $state<'export' | 'import' | null>(null);
  progress = $state.raw<BundleProgress | null>(null);
  /** what the last export or import did, in words */
  notice = $state<string | null>(null);
  error = $state<string | null>(null);
  lastImport = $state.raw<ImportSummary | null>(null);

  constructor(studio: Studio) {
    this.#studio = studio;
  }

  static readonly for = onePerStudio((studio) => new WorkspaceState(studio));

  get progressText(): string | null {
    const p = this.progress;
    if (!p) return null;
    return p.stage === 'reading' ? STAGE_TEXT.reading : `${STAGE_TEXT[p.stage]}: ${p.done.toLocaleString('en-US')} of ${p.total.toLocaleString('en-US')}`;
  }

  async exportBundle(): Promise<void> {
    if (this.busy) return;
    this.#start('export');
    try {
      const exported = await this.#studio.client.exportWorkspace({ includeModels: this.includeModels }, { onProgress: (p) => (this.progress = p) });
      saveBlob(new Blob([exported.bytes as Uint8Array<ArrayBuffer>], { type: 'application/zip' }), exported.fileName);
      this.notice = `Saved ${exported.fileName} (${describe(Object.fromEntries(Object.entries(exported.manifest.stores).map(([name, s]) => [name, s.records])))}).`;
    } catch (err) {
      this.error = `Exporting the workspace failed: ${errorMessage(err)}`;
    } finally {
      this.#finish();
    }
  }

  async importBundle(file: File): Promise<void> {
    if (this.busy) return;
    this.#start('import');
    try {
      const summary = await this.#studio.client.importWorkspace(file, { onProgress: (p) => (this.progress = p) });
      this.lastImport = summary;
      const missing = summary.missingModels.length
        ? ` Runs in it were trained on ${summary.missingModels.length} model(s) not stored here; import those models to continue or evaluate them.`
        : '';
      this.notice = `Imported ${file.name}: ${describe(summary.records)}.${missing} Reload the page to see it everywhere.`;
    } catch (err) {
      this.error = `Importing ${file.name} failed: ${errorMessage(err)}`;
    } finally {
      this.#finish();
    }
  }

  #start(kind: 'export' | 'import'): void {
    this.busy = kind;
    this.progress = null;
    this.notice = null;
    this.error = null;
  }

  #finish(): void {
    this.busy = null;
    this.progress = null;
  }
}

function describe(records: Record<string, number>): string {
  const parts = Object.entries(records)
    .filter(([, count]) => count > 0)
    .map(([name, count]) => `${count.toLocaleString('en-US')} ${STORE_WORDS[name] ?? name}`);
  return parts.length ? parts.join(', ') : 'nothing stored';
}
