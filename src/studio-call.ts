// How the studio client runs one long worker call (src/studio-client.ts): progress through a callback,
// cancellation through an AbortSignal per call, as squoosh's worker bridge has it. The signal becomes
// the worker API's cancel call for that kind of job. Kept apart from the client, which creates the
// Worker, so that Node tests can drive it with a fake worker.

/** How a long call reports and stops. */
export interface CallOptions<Event> {
  /** called with each progress event the worker sends */
  onProgress?: (event: Event) => void;
  /**
   * Aborting it asks the worker to stop this call (its API's cancel call for the job). The call then
   * settles as the worker ends it: most resolve with a cancelled outcome, what finished kept as the
   * worker's API says. A job that is still starting when the signal aborts is stopped once it runs.
   */
  signal?: AbortSignal;
}

/**
 * Starts a long call and maps its signal onto `cancel`. The worker's cancel calls answer false while
 * nothing of that kind runs yet (a job whose start is still awaiting storage), so a refused cancel is
 * asked again at the call's next progress event, until the worker accepts or the call settles — an
 * abort is never lost. `wrap` turns the callback into what may cross to the worker (comlink's proxy).
 */
export async function longCall<T, Event>(
  start: (onEvent: ((event: Event) => void) | undefined) => Promise<T>,
  cancel: (() => Promise<boolean>) | null,
  options: CallOptions<Event>,
  wrap: (callback: (event: Event) => void) => (event: Event) => void = (callback) => callback,
): Promise<T> {
  const { onProgress, signal } = options;
  const canCancel = cancel !== null && signal !== undefined;
  let settled = false;
  let accepted = false;
  let asking = false;
  const askToCancel = (): void => {
    if (cancel === null || signal === undefined || settled || accepted || asking) return;
    asking = true;
    cancel().then(
      (ok) => {
        accepted = ok;
        asking = false;
      },
      () => (asking = false), // the worker is gone: the call itself rejects
    );
  };
  // a job that cannot be cancelled and reports nothing gets no callback, as before this bridge
  const onEvent =
    onProgress || canCancel
      ? wrap((event: Event) => {
          // Callbacks cross on their own message channel, so an event can arrive after the call has
          // answered; it must not overwrite what the answer set (a view's final "Loaded …").
          if (settled) return;
          if (signal?.aborted) askToCancel();
          onProgress?.(event);
        })
      : undefined;
  const running = start(onEvent);
  // after start(): comlink delivers messages in order, so the worker sees the job before its cancel
  if (signal?.aborted) askToCancel();
  else signal?.addEventListener('abort', askToCancel, { once: true });
  try {
    return await running;
  } finally {
    settled = true;
    signal?.removeEventListener('abort', askToCancel);
  }
}

export interface WorkerWatchOptions {
  /**
   * A cheap call the worker answers when alive. An `error` event does not always mean the worker
   * is gone: an uncaught error in one of its own workers (tfjs-wasm's pthreads) or in a callback
   * bubbles up as one too. So an error is followed by this probe; only when it does not answer
   * within `probeTimeoutMs` is the worker taken for dead. Without a probe, any error is fatal.
   * The same probe is the liveness check while calls are pending (`liveness`).
   */
  probe?: () => Promise<unknown>;
  /** long enough for the worker to finish a training step between messages (default 15 s) */
  probeTimeoutMs?: number;
  /**
   * While any call is pending, the probe is sent every `intervalMs` (after the last answer); no
   * answer within `timeoutMs` means the worker is gone. That covers a worker that vanishes without
   * an `error` event: one that called close(), or one the browser killed for memory. The worker
   * answers between its messages, so `timeoutMs` must outlast its longest synchronous stretch (a
   * training step of a large model on wasm: smollm2-135m takes ~20 s a step there, more with
   * gradient accumulation, all in one go). Defaults 5 s and 120 s; needs `probe`.
   */
  liveness?: Partial<LivenessSettings>;
  /** the worker is found dead (not for `fail()`, a deliberate stop): the client restarts it */
  onDead?: (error: WorkerStoppedError) => void;
  /** what the failure messages promise next: a restart (the client has one) or a page reload */
  restarts?: boolean;
}

export interface LivenessSettings {
  intervalMs: number;
  timeoutMs: number;
}

export const DEFAULT_LIVENESS: LivenessSettings = { intervalMs: 5_000, timeoutMs: 120_000 };

/** Why pending calls rejected: the worker crashed, stopped answering, or was terminated. */
export class WorkerStoppedError extends Error {
  override name = 'WorkerStoppedError';
  /** the cause in a few words, e.g. "no answer for 60 s: it was closed or ran out of memory" */
  readonly reason: string;

  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

/**
 * Watches the worker for the failures comlink never reports: an `error` event (the worker threw
 * at top level, failed to load, or crashed), a `messageerror` (a reply that could not be
 * deserialized), and, with `liveness`, a worker that stopped answering without either (close(), killed
 * for memory). Without it every call waiting on a dead worker would wait forever. Once the
 * worker is found dead, pending calls and every later call reject with the reason; a messageerror
 * rejects the calls pending at that moment (one of them lost its reply, and there is no telling which).
 */
export class WorkerWatch {
  #failure: Error | null = null;
  readonly #pending = new Set<(error: Error) => void>();
  #probing = false;
  readonly #options: WorkerWatchOptions;
  #liveness: LivenessSettings;
  /** the next liveness probe, or the timeout of the one in flight */
  #livenessTimer: ReturnType<typeof setTimeout> | null = null;
  #livenessProbe = 0;

  constructor(worker: Pick<EventTarget, 'addEventListener'>, options: WorkerWatchOptions = {}) {
    this.#options = options;
    this.#liveness = { ...DEFAULT_LIVENESS, ...options.liveness };
    worker.addEventListener('error', (event) => {
      const detail = (event as ErrorEvent).message || 'it crashed or could not start';
      const failure = this.#stopped(detail, `the studio worker stopped working (${detail})`);
      if (options.probe === undefined) this.#die(failure);
      else this.#probe(options.probe, options.probeTimeoutMs ?? 15_000, failure);
    });
    worker.addEventListener('messageerror', () => {
      this.#rejectPending(new Error('a message from the studio worker could not be read; the call was lost, try it again'));
    });
  }

  /** Changes the liveness check (tests shorten it); applies from the next probe. */
  setLiveness(settings: Partial<LivenessSettings>): void {
    this.#liveness = { ...this.#liveness, ...settings };
  }

  get liveness(): LivenessSettings {
    return { ...this.#liveness };
  }

  /** true once the worker was found dead or stopped */
  get failed(): boolean {
    return this.#failure !== null;
  }

  #stopped(reason: string, what: string): WorkerStoppedError {
    const next = this.#options.restarts ? 'it is being restarted and the model reloaded' : 'reload the page to restart it';
    return new WorkerStoppedError(reason, `${what}; ${next}`);
  }

  /** Asks the worker whether it is alive; no answer in time fails everything with `failure`. */
  #probe(probe: () => Promise<unknown>, timeoutMs: number, failure: WorkerStoppedError): void {
    if (this.#probing || this.#failure !== null) return;
    this.#probing = true;
    const timer = setTimeout(() => this.#die(failure), timeoutMs);
    // any answer, even an error thrown by the call, means the worker is alive
    const alive = () => {
      clearTimeout(timer);
      this.#probing = false;
    };
    probe().then(alive, alive);
  }

  /** Schedules the next liveness probe while calls are pending (one chain at a time). */
  #scheduleLiveness(): void {
    if (this.#options.probe === undefined || this.#failure !== null || this.#livenessTimer !== null || this.#pending.size === 0) return;
    this.#livenessTimer = setTimeout(() => this.#sendLiveness(), this.#liveness.intervalMs);
  }

  #sendLiveness(): void {
    this.#livenessTimer = null;
    if (this.#failure !== null || this.#pending.size === 0 || this.#options.probe === undefined) return;
    const id = ++this.#livenessProbe;
    const { timeoutMs } = this.#liveness;
    this.#livenessTimer = setTimeout(() => {
      if (id !== this.#livenessProbe) return;
      this.#livenessTimer = null;
      const seconds = timeoutMs >= 1000 ? `${Math.round(timeoutMs / 100) / 10} s` : `${timeoutMs} ms`;
      const reason = `no answer for ${seconds}: it was closed or ran out of memory`;
      this.#die(this.#stopped(reason, `the studio worker stopped answering (${reason})`));
    }, timeoutMs);
    const answered = (): void => {
      if (id !== this.#livenessProbe || this.#failure !== null) return;
      this.#livenessProbe++; // this probe's timeout no longer counts
      if (this.#livenessTimer !== null) clearTimeout(this.#livenessTimer);
      this.#livenessTimer = null;
      this.#scheduleLiveness();
    };
    this.#options.probe().then(answered, answered);
  }

  #stopLiveness(): void {
    this.#livenessProbe++;
    if (this.#livenessTimer !== null) clearTimeout(this.#livenessTimer);
    this.#livenessTimer = null;
  }

  /** Found dead: everything fails, and the owner hears of it once (to restart the worker). */
  #die(error: WorkerStoppedError): void {
    if (this.#failure !== null) return;
    this.fail(error);
    this.#options.onDead?.(error);
  }

  /** The worker is gone (an error, or terminate()): pending and later calls reject with `error`. */
  fail(error: Error): void {
    if (this.#failure === null) this.#failure = error;
    this.#stopLiveness();
    this.#rejectPending(this.#failure);
  }

  #rejectPending(error: Error): void {
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const reject of pending) reject(error);
  }

  /** `promise`, or a rejection as soon as the worker fails. */
  guard<T>(promise: Promise<T>): Promise<T> {
    if (this.#failure !== null) {
      promise.catch(() => undefined); // the answer will never matter now
      return Promise.reject(this.#failure);
    }
    return new Promise<T>((resolve, reject) => {
      const onFailure = (error: Error) => reject(error);
      this.#pending.add(onFailure);
      this.#scheduleLiveness();
      const settle = (): void => {
        this.#pending.delete(onFailure);
        if (this.#pending.size === 0) this.#stopLiveness();
      };
      promise.then(
        (value) => {
          settle();
          resolve(value);
        },
        (error: unknown) => {
          settle();
          reject(error);
        },
      );
    });
  }

  /**
   * The worker's remote with every call guarded: `remote.x(…)` returns `guard(remote.x(…))`.
   * Other properties (comlink's `then` and symbols) pass through untouched.
   */
  wrapRemote<R extends object>(remote: R): R {
    return new Proxy(remote, {
      get: (target, property, receiver) => {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (typeof property !== 'string' || property === 'then' || typeof value !== 'function') return value;
        const call = (...args: unknown[]) => {
          if (this.#failure !== null) return Promise.reject(this.#failure);
          return this.guard(Promise.resolve((value as (...a: unknown[]) => unknown)(...args)));
        };
        // a nested path (remote.a.b()) keeps working, guarded the same way
        return new Proxy(call, { get: (_call, inner) => Reflect.get(this.wrapRemote(value as object), inner) });
      },
    });
  }
}
