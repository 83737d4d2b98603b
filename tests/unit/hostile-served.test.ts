// The served app and its worker bridge (issue 12): eval CSV cells that a spreadsheet would run as
// formulas are neutralised; vite dev and preview send a Content-Security-Policy (and the build
// carries it as a meta tag); a worker that dies rejects every pending call with a message instead
// of leaving it waiting forever.
import { describe, expect, it } from 'vitest';
import { csvField } from '../../src/core/eval/report';
import { WorkerWatch } from '../../src/studio-call';
import viteConfig, { contentSecurityPolicy } from '../../vite.config';

describe('eval report CSV: formula injection', () => {
  it.each([
    ['=HYPERLINK("http://x","y")', `"'=HYPERLINK(""http://x"",""y"")"`],
    ['+1+1', "'+1+1"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tTAB', "'\tTAB"],
    ['\r=1', `"'\r=1"`],
  ])('the cell %j is written as text: %s', (cell, written) => {
    expect(csvField(cell)).toBe(written);
  });

  it('ordinary text, quoting and numbers (a negative score) are as before', () => {
    expect(csvField('plain answer')).toBe('plain answer');
    expect(csvField('a, b')).toBe('"a, b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField(-0.25)).toBe('-0.25');
    expect(csvField(null)).toBe('');
  });
});

describe('Content-Security-Policy on the served app', () => {
  const served = contentSecurityPolicy('served');

  it('scripts only from the app (plus wasm compilation and the wasm pthread blobs), workers from the app and blob:, connections to the app and the Hub', () => {
    expect(served.split('; ')).toEqual([
      "default-src 'self'",
      "script-src 'self' 'wasm-unsafe-eval' blob:",
      "worker-src 'self' blob:",
      "connect-src 'self' https://huggingface.co https://*.huggingface.co https://*.hf.co http://localhost:* http://127.0.0.1:*",
      "img-src 'self' data: blob:",
      "style-src 'self' 'unsafe-inline'",
      "font-src 'self' data:",
      "object-src 'none'",
      "base-uri 'self'",
      "form-action 'self'",
      "frame-ancestors 'self'",
    ]);
    expect(served).not.toContain("'unsafe-eval'");
  });

  it('vite preview and dev send it beside the isolation headers; dev also allows the HMR websocket', () => {
    const config = viteConfig as { server: { headers: Record<string, string> }; preview: { headers: Record<string, string> } };
    expect(config.preview.headers['Content-Security-Policy']).toBe(served);
    expect(config.preview.headers['Cross-Origin-Embedder-Policy']).toBe('require-corp');
    expect(config.server.headers['Content-Security-Policy']).toContain("connect-src 'self' https://huggingface.co https://*.huggingface.co https://*.hf.co http://localhost:* http://127.0.0.1:* ws: wss:");
    expect(contentSecurityPolicy('meta')).toBe(served.replace("; frame-ancestors 'self'", ''));
  });
});

/** A Worker as the watch sees it: something that dispatches `error` and `messageerror`. */
class FakeWorker extends EventTarget {
  crash(message: string): void {
    const event = new Event('error') as Event & { message: string };
    event.message = message;
    this.dispatchEvent(event);
  }
}

/** A remote whose calls never answer, as comlink's do once the worker is gone. */
const silentRemote = () => ({ listModels: () => new Promise<string[]>(() => {}), tokenize: (text: string) => Promise.resolve([text.length]) });

describe('studio client: worker errors reject pending calls', () => {
  it('an error event rejects every pending call and every later one, with the reason', async () => {
    const worker = new FakeWorker();
    const watch = new WorkerWatch(worker);
    const remote = watch.wrapRemote(silentRemote());
    expect(await remote.tokenize('abc')).toEqual([3]);
    const pending = [remote.listModels(), remote.listModels()];
    worker.crash('Out of memory');
    const message = 'the studio worker stopped working (Out of memory); reload the page to restart it';
    for (const call of pending) await expect(call).rejects.toThrow(message);
    await expect(remote.tokenize('later')).rejects.toThrow(message);
  });

  it('with a probe: an error the worker survives (a pthread error bubbling up) rejects nothing', async () => {
    const worker = new FakeWorker();
    let probes = 0;
    const watch = new WorkerWatch(worker, { probe: async () => probes++, probeTimeoutMs: 50 });
    let settled = false;
    const pending = watch.guard(new Promise((resolve) => setTimeout(() => resolve('answer'), 120))).finally(() => (settled = true));
    worker.crash('Uncaught [object ErrorEvent]');
    worker.crash('Uncaught [object ErrorEvent]');
    await new Promise((resolve) => setTimeout(resolve, 80)); // past the probe timeout
    expect(settled).toBe(false);
    expect(await pending).toBe('answer');
    expect(probes).toBe(1); // one probe for a burst of errors
  });

  it('with a probe that never answers: the worker is dead, pending calls reject after the timeout', async () => {
    const worker = new FakeWorker();
    const watch = new WorkerWatch(worker, { probe: () => new Promise(() => {}), probeTimeoutMs: 20 });
    const pending = watch.guard(new Promise(() => {}));
    worker.crash('Out of memory');
    await expect(pending).rejects.toThrow('the studio worker stopped working (Out of memory)');
  });

  it('a messageerror rejects the calls pending then; later calls still go through', async () => {
    const worker = new FakeWorker();
    const watch = new WorkerWatch(worker);
    const remote = watch.wrapRemote(silentRemote());
    const pending = remote.listModels();
    worker.dispatchEvent(new Event('messageerror'));
    await expect(pending).rejects.toThrow('a message from the studio worker could not be read');
    expect(await remote.tokenize('ok')).toEqual([2]);
  });

  it('terminate (fail) rejects pending calls; answers and rejections from a live worker pass through', async () => {
    const watch = new WorkerWatch(new FakeWorker());
    await expect(watch.guard(Promise.reject(new Error('worker said no')))).rejects.toThrow('worker said no');
    const pending = watch.guard(new Promise(() => {}));
    watch.fail(new Error('the studio worker was terminated'));
    await expect(pending).rejects.toThrow('the studio worker was terminated');
  });

  it('nested calls (remote.a.b()) are guarded too', async () => {
    const worker = new FakeWorker();
    const remote = new WorkerWatch(worker).wrapRemote({ store: Object.assign(() => 0, { count: () => new Promise<number>(() => {}) }) });
    const pending = remote.store.count();
    worker.crash('');
    await expect(pending).rejects.toThrow('the studio worker stopped working (it crashed or could not start)');
  });

  it('comlink-style properties that are not calls pass through untouched', () => {
    const watch = new WorkerWatch(new FakeWorker());
    const marker = Symbol('release');
    const remote = watch.wrapRemote({ then: undefined, [marker]: 7, version: '1' } as Record<string | symbol, unknown>);
    expect(remote['then']).toBeUndefined();
    expect(remote[marker]).toBe(7);
    expect(remote['version']).toBe('1');
  });
});
