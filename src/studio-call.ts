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
