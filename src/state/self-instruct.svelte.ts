// The Self-Instruct panel's state: the run settings, the running job (progress, cancel), the last
// run's every decision, and the review queue where kept candidates wait until accepted into a
// dataset or rejected. Every call goes to the worker's Self-Instruct API through the studio client.
import type { ReviewQueue, SelfInstructProgress, SelfInstructRun, SelfInstructRunOptions } from '../studio-client';
import { errorMessage, onePerStudio, type Studio } from './studio.svelte';

export type { ReviewQueue, SelfInstructProgress, SelfInstructRun };

/** The form's fields as typed; `seed` is text so that empty means "a fresh random seed". */
export interface SelfInstructSettings {
  /** '' = the built-in seed tasks */
  seedDatasetId: string;
  numInstructions: number;
  maxRequests: number;
  temperature: number;
  topP: number;
  bootstrapTokens: number;
  instanceTokens: number;
  seed: string;
}

export interface SelfInstructDataset {
  id: string;
  name: string;
  total: number;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export class SelfInstructState {
  settings = $state<SelfInstructSettings>({ seedDatasetId: '', numInstructions: 10, maxRequests: 22, temperature: 0.7, topP: 0.5, bootstrapTokens: 256, instanceTokens: 300, seed: '' });
  /** datasets that can seed a run or take accepted candidates */
  datasets = $state.raw<SelfInstructDataset[]>([]);
  queue = $state.raw<ReviewQueue>({ datasetId: null, total: 0, groups: [] });
  run = $state.raw<SelfInstructRun | null>(null);
  progress = $state.raw<SelfInstructProgress | null>(null);
  running = $state(false);
  /** accepting or rejecting */
  busy = $state(false);
  error = $state<string | null>(null);
  notice = $state<string | null>(null);
  /** queue groups ticked for accept/reject, by instruction */
  selected = $state<Record<string, boolean>>({});
  /** the dataset accepted candidates go to */
  targetId = $state('');
  showRejected = $state(false);

  readonly selectedIds = $derived(this.queue.groups.filter((g) => this.selected[g.instruction]).flatMap((g) => g.items.map((i) => i.id)));
  readonly keptCount = $derived(this.run ? this.run.result.candidates.filter((c) => c.decision.kept).length : 0);
  /** rejected candidates per reason code, in the order they first occur */
  readonly reasonCounts = $derived.by((): [string, number][] => {
    const counts = new Map<string, number>();
    for (const c of this.run?.result.candidates ?? []) if (!c.decision.kept) counts.set(c.decision.reason!, (counts.get(c.decision.reason!) ?? 0) + 1);
    return [...counts.entries()];
  });
  /** the last run's candidates the list shows: kept ones, or all with showRejected */
  readonly shown = $derived(this.run ? this.run.result.candidates.filter((c) => this.showRejected || c.decision.kept) : []);

  readonly #studio: Studio;
  /** aborted by cancel(): stops the running Self-Instruct */
  #job: AbortController | null = null;

  constructor(studio: Studio) {
    this.#studio = studio;
  }

  /** One state per studio, so a run keeps reporting while another view is shown. */
  static readonly for = onePerStudio((studio) => new SelfInstructState(studio));

  get #api(): Studio['client']['api'] {
    return this.#studio.client.api;
  }

  /** The datasets, the queue and (once per worker) the last run; drops ticks of groups no longer queued. */
  async refresh(): Promise<void> {
    try {
      const [datasets, queue, run] = await Promise.all([
        this.#api.selfInstructDatasets(),
        this.#api.listReviewQueue(),
        this.run ? Promise.resolve(this.run) : this.#api.lastSelfInstructRun(),
      ]);
      this.datasets = datasets;
      this.queue = queue;
      this.run = run;
      if (!datasets.some((d) => d.id === this.targetId)) this.targetId = datasets[0]?.id ?? '';
      this.selected = Object.fromEntries(Object.entries(this.selected).filter(([instruction]) => queue.groups.some((g) => g.instruction === instruction)));
    } catch (err) {
      this.error = errorMessage(err);
    }
  }

  /** The worker's run options from the form; throws on a seed that is not a number. */
  options(): SelfInstructRunOptions {
    const settings = this.settings;
    const seed = settings.seed.trim() === '' ? undefined : Number(settings.seed);
    if (seed !== undefined && !Number.isFinite(seed)) throw new Error(`Seed must be a number, got “${settings.seed}”.`);
    return {
      seedDatasetId: settings.seedDatasetId || undefined,
      numInstructions: settings.numInstructions,
      maxRequests: settings.maxRequests,
      temperature: settings.temperature,
      topP: settings.topP,
      seed,
      maxNewTokens: { bootstrap: settings.bootstrapTokens, instances: settings.instanceTokens },
    };
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.error = null;
    this.notice = null;
    this.running = true;
    this.progress = null;
    const controller = (this.#job = new AbortController());
    try {
      const run = await this.#studio.client.runSelfInstruct(this.options(), { onProgress: (p) => (this.progress = p), signal: controller.signal });
      this.run = run;
      const why = run.stoppedBecause === 'model-changed' ? ' (stopped: the model changed)' : run.stoppedBecause ? ' (cancelled)' : '';
      this.notice = `Seed ${run.result.seed}: ${plural(run.result.candidates.length, 'candidate')}, ${plural(run.queued, 'example')} added to the review queue${why}.`;
    } catch (err) {
      this.error = errorMessage(err);
    } finally {
      this.#job = null;
      this.running = false;
      await this.refresh();
    }
  }

  /** Stops the run after the current generation step; what finished is queued. */
  cancel(): void {
    this.#job?.abort();
  }

  /** Accepts the ticked groups into the target dataset, or rejects them. */
  async decide(accept: boolean): Promise<void> {
    this.error = null;
    this.busy = true;
    try {
      const ids = this.selectedIds;
      const n = accept ? await this.#api.acceptCandidates(ids, this.targetId) : await this.#api.rejectCandidates(ids);
      const target = this.datasets.find((d) => d.id === this.targetId)?.name ?? 'the dataset';
      this.notice = accept ? `${plural(n, 'example')} moved to “${target}”.` : `${plural(n, 'example')} rejected.`;
      this.selected = {};
    } catch (err) {
      this.error = errorMessage(err);
    } finally {
      this.busy = false;
      await this.refresh();
    }
  }
}
