// The studio client's long-call bridge (src/studio-call.ts) against a fake worker job: an abort becomes
// the job's cancel call, a cancel refused while the job is still starting is asked again at its next
// event, and nothing is asked once the call has settled. The worker watch's liveness check (fake
// timers): a worker that vanishes without an error event is found dead while calls wait on it.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { longCall, WorkerStoppedError, WorkerWatch } from '../../src/studio-call';

/** A worker job as the worker's API runs one: it is "active" (cancellable) only once `activate()` ran. */
function fakeJob() {
  const log: string[] = [];
  let active = false;
  let finish!: (outcome: string) => void;
  let emit: ((event: number) => void) | undefined;
  const outcome = new Promise<string>((resolve) => (finish = resolve));
  return {
    log,
    start: (onEvent: ((event: number) => void) | undefined) => {
      log.push(onEvent ? 'start with callback' : 'start without callback');
      emit = onEvent;
      return outcome;
    },
    cancel: async () => {
      log.push(`cancel → ${active}`);
      if (active) finish('cancelled');
      return active;
    },
    activate: () => (active = true),
    event: (n: number) => emit?.(n),
    finish: (value: string) => finish(value),
  };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('longCall', () => {
  it('turns an abort into one cancel call and settles as the worker ends the job', async () => {
    const job = fakeJob();
    job.activate();
    const events: number[] = [];
    const controller = new AbortController();
    const call = longCall(job.start, job.cancel, { onProgress: (e) => events.push(e), signal: controller.signal });
    job.event(1);
    controller.abort();
    expect(await call).toBe('cancelled');
    expect(events).toEqual([1]);
    expect(job.log).toEqual(['start with callback', 'cancel → true']);
  });

  it('asks again at the next event when the job was still starting, then stops asking', async () => {
    const job = fakeJob();
    const events: number[] = [];
    const controller = new AbortController();
    const call = longCall(job.start, job.cancel, { onProgress: (e) => events.push(e), signal: controller.signal });
    controller.abort();
    await flush(); // the refused cancel has answered
    job.activate();
    job.event(7); // the job runs now: asked again, accepted
    await flush();
    job.event(8); // accepted already: not asked a third time (and the call has answered: dropped)
    expect(await call).toBe('cancelled');
    expect(events).toEqual([7]);
    expect(job.log).toEqual(['start with callback', 'cancel → false', 'cancel → true']);
  });

  it('cancels after starting when the signal was aborted before the call', async () => {
    const job = fakeJob();
    job.activate();
    const call = longCall(job.start, job.cancel, { signal: AbortSignal.abort() });
    expect(await call).toBe('cancelled');
    // the job's message goes first, so the worker has it to cancel
    expect(job.log).toEqual(['start with callback', 'cancel → true']);
  });

  it('asks nothing after the call settled, and passes no callback when nothing listens or cancels', async () => {
    const job = fakeJob();
    job.activate();
    const controller = new AbortController();
    const call = longCall(job.start, job.cancel, { signal: controller.signal });
    job.finish('completed');
    expect(await call).toBe('completed');
    controller.abort();
    await flush();
    expect(job.log).toEqual(['start with callback']);

    const quiet = fakeJob();
    const uncancellable = longCall(quiet.start, null, { signal: controller.signal });
    quiet.finish('done');
    expect(await uncancellable).toBe('done');
    expect(quiet.log).toEqual(['start without callback']);
  });

  it('drops an event that arrives after the call answered (callbacks cross on their own channel)', async () => {
    const job = fakeJob();
    const events: number[] = [];
    const call = longCall(job.start, null, { onProgress: (e) => events.push(e) });
    job.event(1);
    job.finish('loaded');
    expect(await call).toBe('loaded');
    job.event(2); // a late progress message, e.g. "loading the model…" after the answer
    expect(events).toEqual([1]);
  });

  it('wraps the callback it passes (comlink proxy in the client)', async () => {
    const job = fakeJob();
    const wrapped: unknown[] = [];
    const events: number[] = [];
    const call = longCall(job.start, null, { onProgress: (e) => events.push(e) }, (callback) => {
      const relay = (event: number) => callback(event * 10);
      wrapped.push(relay);
      return relay;
    });
    job.event(2);
    job.finish('done');
    expect(await call).toBe('done');
    expect(wrapped).toHaveLength(1);
    expect(events).toEqual([20]);
  });
});

// ---- the liveness check (issue 12: a worker that vanishes without an error event) ----------------

/** A Worker as the watch sees it: only its events matter; none fire when it vanishes. */
class SilentWorker extends EventTarget {}

/**
 * A worker's `memory()` probe: answers after `delayMs` while alive (a synchronous training step delays
 * its answer), never once `vanish()` was called (close(), killed for memory).
 */
function probeOf(delayMs: () => number) {
  let alive = true;
  let probes = 0;
  return {
    probe: () => {
      probes++;
      return alive ? new Promise((resolve) => setTimeout(resolve, delayMs())) : new Promise(() => {});
    },
    vanish: () => (alive = false),
    probes: () => probes,
  };
}

describe('WorkerWatch liveness', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('a worker that vanishes while a call is pending is found dead after interval + timeout; the call rejects, the owner hears once', async () => {
    const worker = probeOf(() => 10);
    const dead: WorkerStoppedError[] = [];
    const watch = new WorkerWatch(new SilentWorker(), {
      probe: worker.probe,
      liveness: { intervalMs: 1_000, timeoutMs: 3_000 },
      restarts: true,
      onDead: (error) => dead.push(error),
    });
    let outcome: unknown = 'pending';
    const call = watch.guard(new Promise(() => {})).catch((error: unknown) => (outcome = error));
    await vi.advanceTimersByTimeAsync(1_000 + 10); // one probe, answered
    expect(worker.probes()).toBe(1);
    worker.vanish();
    await vi.advanceTimersByTimeAsync(1_000); // the next probe goes out, unanswered
    expect(worker.probes()).toBe(2);
    await vi.advanceTimersByTimeAsync(2_999);
    expect(outcome).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    await call;
    expect(outcome).toBeInstanceOf(WorkerStoppedError);
    const error = outcome as WorkerStoppedError;
    expect(error.message).toBe('the studio worker stopped answering (no answer for 3 s: it was closed or ran out of memory); it is being restarted and the model reloaded');
    expect(error.reason).toBe('no answer for 3 s: it was closed or ran out of memory');
    expect(dead).toEqual([error]);
    expect(watch.failed).toBe(true);
    await expect(watch.guard(Promise.resolve(1))).rejects.toBe(error); // later calls too
    await vi.advanceTimersByTimeAsync(60_000);
    expect(worker.probes()).toBe(2); // a dead worker is not probed again
  });

  it('tolerates a probe answered late (a long synchronous step) within the timeout, and probes only while calls are pending', async () => {
    let delay = 2_900; // just inside the 3 s timeout
    const worker = probeOf(() => delay);
    const dead: Error[] = [];
    const watch = new WorkerWatch(new SilentWorker(), { probe: worker.probe, liveness: { intervalMs: 1_000, timeoutMs: 3_000 }, onDead: (e) => dead.push(e) });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(worker.probes()).toBe(0); // nothing pending: nothing asked

    let finish!: (value: string) => void;
    const call = watch.guard(new Promise<string>((resolve) => (finish = resolve)));
    await vi.advanceTimersByTimeAsync(4 * (1_000 + 2_900)); // four probe rounds, each answered in time
    expect(worker.probes()).toBe(4);
    expect(dead).toEqual([]);
    finish('answer');
    expect(await call).toBe('answer');
    const probesThen = worker.probes();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(worker.probes()).toBe(probesThen); // the call settled: probing stopped
    delay = 10;
    expect(watch.failed).toBe(false);
  });

  it('setLiveness shortens the check from the next probe; without `restarts` the message says to reload', async () => {
    const worker = probeOf(() => 10);
    const watch = new WorkerWatch(new SilentWorker(), { probe: worker.probe });
    expect(watch.liveness).toEqual({ intervalMs: 5_000, timeoutMs: 120_000 }); // the defaults outlast a long step
    watch.setLiveness({ intervalMs: 100, timeoutMs: 400 });
    worker.vanish();
    let outcome: unknown = 'pending';
    const call = watch.guard(new Promise(() => {})).catch((error: unknown) => (outcome = error));
    await vi.advanceTimersByTimeAsync(100 + 399);
    expect(outcome).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    await call;
    expect((outcome as Error).message).toBe('the studio worker stopped answering (no answer for 400 ms: it was closed or ran out of memory); reload the page to restart it');
  });

  it('an error event the worker does not survive reports it dead once; fail() (terminate) does not', async () => {
    const worker = new SilentWorker();
    const dead: WorkerStoppedError[] = [];
    const watch = new WorkerWatch(worker, { probe: () => new Promise(() => {}), probeTimeoutMs: 500, restarts: true, onDead: (e) => dead.push(e) });
    const pending = watch.guard(new Promise(() => {})).catch((error: unknown) => error);
    const event = new Event('error') as Event & { message: string };
    event.message = 'Out of memory';
    worker.dispatchEvent(event);
    await vi.advanceTimersByTimeAsync(500);
    expect(((await pending) as Error).message).toBe('the studio worker stopped working (Out of memory); it is being restarted and the model reloaded');
    expect(dead.map((e) => e.reason)).toEqual(['Out of memory']);

    const stopped: Error[] = [];
    const other = new WorkerWatch(new SilentWorker(), { probe: async () => 0, onDead: (e) => stopped.push(e) });
    const waiting = other.guard(new Promise(() => {}));
    other.fail(new WorkerStoppedError('terminated', 'the studio worker was terminated'));
    await expect(waiting).rejects.toThrow('the studio worker was terminated');
    expect(stopped).toEqual([]);
  });
});
