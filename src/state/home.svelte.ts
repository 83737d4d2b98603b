// The Start view's state: the first-visit setup (built-in model and collection), then the guided
// "three steps" — look at the data, tune (the quick FLAN experiment, with progress and cancel), compare
// (the stored report). `?experiment=micro` runs a seconds-long preset instead of the quick one: for
// tests on the micro stand-in model, not for reading numbers.
import { errorMessage, onePerStudio, type Studio } from './studio.svelte';
import type { BuiltInProgress, BuiltInStatus, CollectionInfo, ExperimentProgress, FlanPreset, StoredExperiment } from '../studio-client';

export type { BuiltInStatus, CollectionInfo, ExperimentProgress, FlanPreset, StoredExperiment };
export type HomeStep = 1 | 2 | 3;

const SETUP_TEXT: Record<BuiltInProgress['stage'], string> = {
  collection: 'Storing the built-in task collection…',
  checking: 'Looking for the built-in model hone-tiny…',
  downloading: 'Reading hone-tiny from this site (no network beyond it)…',
  saving: 'Saving hone-tiny to browser storage…',
  loading: 'Loading hone-tiny…',
};

export class HomeState {
  step = $state<HomeStep>(1);
  /** what the setup is doing; null when done */
  setupStage = $state<string | null>(null);
  setup = $state.raw<BuiltInStatus | null>(null);
  setupError = $state<string | null>(null);
  collection = $state.raw<CollectionInfo | null>(null);
  running = $state(false);
  cancelling = $state(false);
  progress = $state.raw<ExperimentProgress | null>(null);
  /** the newest stored report (this run's, or one from an earlier visit) */
  experiment = $state.raw<StoredExperiment | null>(null);
  notice = $state<string | null>(null);
  error = $state<string | null>(null);
  readonly preset: FlanPreset;

  readonly #studio: Studio;
  #setupStarted = false;
  /** aborted by cancel(): stops the running experiment */
  #experiment: AbortController | null = null;

  constructor(studio: Studio) {
    this.#studio = studio;
    const asked = typeof location !== 'undefined' ? new URLSearchParams(location.search).get('experiment') : null;
    this.preset = asked === 'micro' || asked === 'full' ? asked : 'quick';
  }

  static readonly for = onePerStudio((studio) => new HomeState(studio));

  get #client(): Studio['client'] {
    return this.#studio.client;
  }

  get modelReady(): boolean {
    return this.setup?.model.state === 'ready';
  }

  /** Runs the built-in setup once per page (the worker makes it idempotent across visits). */
  async ensureSetup(): Promise<void> {
    if (this.#setupStarted) return;
    this.#setupStarted = true;
    this.setupError = null;
    this.setupStage = 'Starting…';
    try {
      const modelUrl = new URL('models/hone-tiny/', document.baseURI).href;
      this.setup = await this.#client.builtInSetup({ modelUrl }, { onProgress: (p: BuiltInProgress) => (this.setupStage = SETUP_TEXT[p.stage]) });
      this.collection = await this.#client.api.builtInCollection();
      const stored = await this.#client.api.experimentReports();
      this.experiment = stored[0] ?? null;
    } catch (err) {
      this.setupError = `Setting up the built-in model and collection failed: ${errorMessage(err)}`;
      this.#setupStarted = false; // a retry may succeed (e.g. storage was full)
    } finally {
      this.setupStage = null;
    }
  }

  async runExperiment(): Promise<void> {
    const setup = this.setup;
    if (this.running || !setup || setup.model.state !== 'ready') return;
    this.running = true;
    this.cancelling = false;
    this.error = null;
    this.notice = null;
    this.progress = null;
    const controller = (this.#experiment = new AbortController());
    try {
      const outcome = await this.#client.experimentRun(
        { quick: this.preset !== 'full', preset: this.preset, modelId: setup.model.summary.id },
        { onProgress: (p: ExperimentProgress) => (this.progress = p), signal: controller.signal },
      );
      if (outcome.status === 'completed') {
        this.experiment = outcome.experiment;
        this.step = 3;
      } else {
        this.notice = outcome.message;
      }
    } catch (err) {
      this.error = `The experiment failed: ${errorMessage(err)}`;
    } finally {
      this.#experiment = null;
      this.running = false;
      this.cancelling = false;
    }
  }

  /** Stops the running experiment at its next step or token; the run then ends as 'cancelled'. */
  cancel(): void {
    if (!this.running || !this.#experiment) return;
    this.cancelling = true;
    this.#experiment.abort();
  }
}
