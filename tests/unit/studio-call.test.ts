// The studio client's long-call bridge (src/studio-call.ts) against a fake worker job: an abort becomes
// the job's cancel call, a cancel refused while the job is still starting is asked again at its next
// event, and nothing is asked once the call has settled.
import { describe, expect, it } from 'vitest';
import { longCall } from '../../src/studio-call';

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
