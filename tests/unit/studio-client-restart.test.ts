// The studio client restarts a dead worker (issue 12): fake workers speak comlink over a real
// MessageChannel, each exposing a small stand-in of the worker's API that records what it is asked.
// A worker that vanishes (its end of the channel closes: no error event, as after close()) is found
// by the liveness check; the pending call rejects with a WorkerStoppedError; a new worker is
// initialised on the backend of the old one's report and reloads the model the old one had; calls
// made meanwhile wait and reach the new worker through the same `api` object; the app hears one
// notice. A backend change the worker reports becomes what the next restart restores.
import { afterEach, describe, expect, it } from 'vitest';
import { expose } from 'comlink';
import { StudioClient, WorkerStoppedError, type BackendReport, type StudioNotice } from '../../src/studio-client';

const REPORT: BackendReport = { chosen: 'wasm', pinned: false, candidates: [{ name: 'wasm', available: true, ms: 3 }] };

interface FakeWorker {
  index: number;
  /** what the main thread asked this worker, in order */
  calls: string[];
  /** the worker vanishes: its end of the channel closes, nothing answers, no event fires */
  vanish: () => void;
  /** posts a worker notice, as workers/context.ts notify() does */
  notice: (notice: unknown) => void;
  terminated: boolean;
}

/** Worker-shaped objects over MessageChannels; each exposes a recording stand-in API. */
function fakeWorkers() {
  const made: FakeWorker[] = [];
  const ports: MessagePort[] = [];
  const create = (): Worker => {
    const channel = new MessageChannel();
    ports.push(channel.port1, channel.port2);
    const fake: FakeWorker = {
      index: made.length,
      calls: [],
      terminated: false,
      vanish: () => channel.port2.close(),
      notice: (notice) => channel.port2.postMessage({ honeNotice: notice }),
    };
    made.push(fake);
    let model: string | null = null;
    const api = {
      init(opts: unknown) {
        fake.calls.push(`init ${JSON.stringify(opts)}`);
        return REPORT;
      },
      loadModel(id: string) {
        fake.calls.push(`loadModel ${id}`);
        model = id;
        channel.port2.postMessage({ honeNotice: { kind: 'model', id } });
        return { id };
      },
      currentModel() {
        return model === null ? null : { id: model };
      },
      memory() {
        return { numTensors: 0 };
      },
      listTrainingRuns() {
        fake.calls.push('listTrainingRuns');
        return [`runs of worker ${fake.index}`];
      },
      /** a long call that never answers (training, until the worker dies) */
      hang() {
        fake.calls.push('hang');
        return new Promise(() => {});
      },
    };
    expose(api, channel.port2);
    const port = channel.port1;
    port.start();
    const worker = {
      postMessage: (message: unknown, transfer?: Transferable[]) => port.postMessage(message, transfer ?? []),
      addEventListener: (type: string, listener: EventListener) => port.addEventListener(type as 'message', listener),
      removeEventListener: (type: string, listener: EventListener) => port.removeEventListener(type as 'message', listener),
      terminate: () => {
        fake.terminated = true;
        port.close();
      },
    };
    return worker as unknown as Worker;
  };
  return { create, made, close: () => ports.forEach((p) => p.close()) };
}

let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup) c();
  cleanup = [];
});

function clientWith(liveness = { intervalMs: 20, timeoutMs: 400 }) {
  const workers = fakeWorkers();
  const client = new StudioClient({ createWorker: workers.create, liveness });
  const notices: StudioNotice[] = [];
  client.onNotice((n) => notices.push(n));
  cleanup.push(() => client.terminate(), workers.close);
  const nextNotice = () =>
    new Promise<StudioNotice>((resolve) => {
      const off = client.onNotice((n) => {
        off();
        resolve(n);
      });
    });
  return { client, workers, notices, nextNotice };
}

describe('StudioClient: a worker that dies is restarted', () => {
  it('rejects the pending call, starts a new worker on the same backend with the same model, and routes api calls to it', async () => {
    const { client, workers, notices, nextNotice } = clientWith();
    expect(await client.init({ backend: 'auto' })).toEqual(REPORT);
    await client.loadModel('tiny-llama');
    const api = client.api as unknown as { listTrainingRuns(): Promise<string[]>; hang(): Promise<unknown> };
    expect(await api.listTrainingRuns()).toEqual(['runs of worker 0']);
    expect(client.loadedModelId).toBe('tiny-llama');

    const restarted = nextNotice();
    const pending = api.hang();
    workers.made[0].vanish();
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerStoppedError);
    expect((error as Error).message).toBe(
      'the studio worker stopped answering (no answer for 400 ms: it was closed or ran out of memory); it is being restarted and the model reloaded',
    );
    // asked while the new worker is still starting: waits for it, then reaches it
    const during = api.listTrainingRuns();
    expect(await restarted).toEqual({
      kind: 'worker-restarted',
      reason: 'no answer for 400 ms: it was closed or ran out of memory',
      report: REPORT,
      message: 'The studio worker stopped (no answer for 400 ms: it was closed or ran out of memory); it was restarted and the model reloaded.',
    });
    expect(await during).toEqual(['runs of worker 1']);
    expect(workers.made).toHaveLength(2);
    expect(workers.made[0].terminated).toBe(true);
    expect(workers.made[1].calls).toEqual([`init ${JSON.stringify({ backend: 'auto', restore: REPORT })}`, 'loadModel tiny-llama', 'listTrainingRuns']);
    expect(notices).toHaveLength(1);
    // `api` is one object that follows the restart; so is `remote`
    expect(client.api).toBe(client.api);
    expect(await (client.remote as unknown as typeof api).listTrainingRuns()).toEqual(['runs of worker 1']);
  });

  it('restores the backend the worker last reported (a WebGPU fallback), and tells the app of the change', async () => {
    const { client, workers, nextNotice } = clientWith();
    await client.init({ backend: 'webgpu' });
    const fallback: BackendReport = { chosen: 'wasm', pinned: false, candidates: [{ name: 'webgpu', available: false, reason: 'lost: destroyed' }], note: 'webgpu stopped working' };
    const changed = nextNotice();
    workers.made[0].notice({ kind: 'backend-changed', cause: 'the WebGPU device was lost (destroyed)', message: 'moved to wasm', report: fallback });
    expect(await changed).toEqual({ kind: 'backend-changed', cause: 'the WebGPU device was lost (destroyed)', message: 'moved to wasm', report: fallback });

    const restarted = nextNotice();
    const pending = (client.api as unknown as { hang(): Promise<unknown> }).hang().catch((e: unknown) => e);
    workers.made[0].vanish();
    expect(await pending).toBeInstanceOf(WorkerStoppedError);
    const notice = await restarted;
    expect(notice.kind).toBe('worker-restarted');
    expect(notice.message).toBe('The studio worker stopped (no answer for 400 ms: it was closed or ran out of memory); it was restarted.'); // no model was loaded
    expect(workers.made[1].calls).toEqual([`init ${JSON.stringify({ backend: 'webgpu', restore: fallback })}`]);
  });

  it('terminate() stops the worker for good: pending calls reject, nothing restarts', async () => {
    const { client, workers, notices } = clientWith();
    await client.init();
    const pending = (client.api as unknown as { hang(): Promise<unknown> }).hang().catch((e: unknown) => e);
    client.terminate();
    expect(((await pending) as Error).message).toBe('the studio worker was terminated');
    await new Promise((resolve) => setTimeout(resolve, 500)); // past the liveness timeout
    expect(workers.made).toHaveLength(1);
    expect(notices).toEqual([]);
  });
});
