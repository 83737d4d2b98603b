import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import {
  formatMs,
  restoreSelection,
  selectBackend,
  selectFallback,
  timeWorkload,
  type AdapterSummary,
  type BackendEnvironment,
  type BackendName,
} from '../../src/core/backend/select';
import { setNodeBackend } from '../../cli/node-backend';

interface FakeSpec {
  unavailable?: Partial<Record<BackendName, string>>;
  ms?: Partial<Record<BackendName, number>>;
  activateFails?: BackendName[];
  measureThrows?: Partial<Record<BackendName, string>>;
  adapter?: AdapterSummary;
}

/** An environment whose availability and timings are scripted; records what was asked of it. */
function fakeEnv(spec: FakeSpec) {
  const calls: string[] = [];
  let active: BackendName | null = null;
  const env: BackendEnvironment = {
    async unavailableReason(name) {
      return spec.unavailable?.[name] ?? null;
    },
    async activate(name) {
      calls.push(`activate ${name}`);
      if (spec.activateFails?.includes(name)) return false;
      active = name;
      return true;
    },
    async measure(name, { giveUpAboveMs }) {
      calls.push(giveUpAboveMs === undefined ? `measure ${name}` : `measure ${name} (give up above ${giveUpAboveMs} ms)`);
      if (active !== name) throw new Error(`measured ${name} while ${active} was active`);
      const message = spec.measureThrows?.[name];
      if (message) throw new Error(message);
      return spec.ms?.[name] ?? 1;
    },
    adapter: spec.adapter ? async () => spec.adapter : undefined,
  };
  return { env, calls, active: () => active };
}

const swiftShader: AdapterSummary = {
  vendor: 'google',
  architecture: 'swiftshader',
  description: 'SwiftShader',
  isFallbackAdapter: true,
};

describe('selectBackend', () => {
  it('picks the fastest available backend and says why the others lost', async () => {
    const fake = fakeEnv({ unavailable: { webgpu: 'navigator.gpu missing' }, ms: { webgl: 41, wasm: 12, cpu: 80.4 } });
    const report = await selectBackend(fake.env);
    expect(report).toEqual({
      chosen: 'wasm',
      pinned: false,
      candidates: [
        { name: 'webgpu', available: false, reason: 'unavailable: navigator.gpu missing' },
        { name: 'webgl', available: true, ms: 41, reason: 'slower: 41 ms vs 12 ms' },
        { name: 'wasm', available: true, ms: 12 },
        { name: 'cpu', available: true, ms: 80.4, reason: 'slower: 80 ms vs 12 ms' },
      ],
    });
    // wasm first, then the others in order with a give-up threshold of 3× the best so far;
    // finally the winner is made active again
    expect(fake.calls).toEqual([
      'activate wasm',
      'measure wasm',
      'activate webgl',
      'measure webgl (give up above 36 ms)',
      'activate cpu',
      'measure cpu (give up above 36 ms)',
      'activate wasm',
    ]);
    expect(fake.active()).toBe('wasm');
  });

  it('reports the WebGPU adapter when WebGPU is available, even when it is slower', async () => {
    const fake = fakeEnv({ ms: { webgpu: 120, webgl: 30, wasm: 9.5, cpu: 200 }, adapter: swiftShader });
    const report = await selectBackend(fake.env);
    expect(report.chosen).toBe('wasm');
    expect(report.adapter).toEqual(swiftShader);
    expect(report.candidates[0]).toEqual({ name: 'webgpu', available: true, ms: 120, reason: 'slower: 120 ms vs 9.5 ms' });
  });

  it('honours a pin and measures only the pinned backend', async () => {
    const fake = fakeEnv({ unavailable: { webgpu: 'no WebGPU adapter' }, ms: { webgl: 41, wasm: 12, cpu: 80 } });
    const report = await selectBackend(fake.env, { pin: 'webgl' });
    expect(report).toEqual({
      chosen: 'webgl',
      pinned: true,
      candidates: [
        { name: 'webgpu', available: false, reason: 'unavailable: no WebGPU adapter' },
        { name: 'webgl', available: true, ms: 41 },
        { name: 'wasm', available: true, reason: 'not measured: pinned to webgl' },
        { name: 'cpu', available: true, reason: 'not measured: pinned to webgl' },
      ],
    });
    expect(fake.calls).toEqual(['activate webgl', 'measure webgl', 'activate webgl']);
  });

  it('treats pin "auto" as no pin', async () => {
    const fake = fakeEnv({ ms: { webgpu: 5, webgl: 6, wasm: 7, cpu: 8 } });
    const report = await selectBackend(fake.env, { pin: 'auto' });
    expect(report.chosen).toBe('webgpu');
    expect(report.pinned).toBe(false);
  });

  it('falls back to measuring when the pinned backend is unavailable, and says so', async () => {
    const fake = fakeEnv({ unavailable: { webgpu: 'no WebGPU adapter' }, ms: { webgl: 3, wasm: 2, cpu: 9 } });
    const report = await selectBackend(fake.env, { pin: 'webgpu' });
    expect(report.chosen).toBe('wasm');
    expect(report.pinned).toBe(false);
    expect(report.note).toBe('pinned backend "webgpu" unavailable: no WebGPU adapter; chose by measurement instead');
    expect(report.candidates.map((c) => c.reason)).toEqual([
      'unavailable: no WebGPU adapter',
      'slower: 3.0 ms vs 2.0 ms',
      undefined,
      'slower: 9.0 ms vs 2.0 ms',
    ]);
  });

  it('counts a backend that fails to initialise or to run as unavailable', async () => {
    const fake = fakeEnv({
      activateFails: ['webgpu'],
      measureThrows: { webgl: 'WebGL2 context lost' },
      ms: { wasm: 20, cpu: 15 },
    });
    const report = await selectBackend(fake.env);
    expect(report.chosen).toBe('cpu');
    expect(fake.calls).toContain('measure cpu (give up above 60 ms)');
    expect(report.candidates).toEqual([
      { name: 'webgpu', available: false, reason: 'unavailable: tfjs could not initialise it (see the console)' },
      { name: 'webgl', available: false, reason: 'unavailable: WebGL2 context lost' },
      { name: 'wasm', available: true, ms: 20, reason: 'slower: 20 ms vs 15 ms' },
      { name: 'cpu', available: true, ms: 15 },
    ]);
  });

  it('lowers the give-up threshold as faster backends are found', async () => {
    const fake = fakeEnv({ ms: { webgpu: 2, webgl: 1, wasm: 10, cpu: 50 } });
    const report = await selectBackend(fake.env);
    expect(report.chosen).toBe('webgl');
    expect(fake.calls.filter((c) => c.startsWith('measure'))).toEqual([
      'measure wasm',
      'measure webgpu (give up above 30 ms)',
      'measure webgl (give up above 6 ms)',
      'measure cpu (give up above 3 ms)',
    ]);
  });

  it('prefers the earlier candidate on a tie', async () => {
    const fake = fakeEnv({ ms: { webgpu: 4, webgl: 4, wasm: 4, cpu: 4 } });
    expect((await selectBackend(fake.env)).chosen).toBe('webgpu');
  });

  it('throws a message listing every reason when nothing can run', async () => {
    const fake = fakeEnv({ unavailable: { webgpu: 'navigator.gpu missing', webgl: 'WebGL2 context failed' }, activateFails: ['wasm', 'cpu'] });
    await expect(selectBackend(fake.env)).rejects.toThrow(
      'No tfjs backend could run here (webgpu: unavailable: navigator.gpu missing; webgl: unavailable: WebGL2 context failed; ' +
        'wasm: unavailable: tfjs could not initialise it (see the console); cpu: unavailable: tfjs could not initialise it (see the console)).',
    );
  });
});

describe('selectFallback: the backend stopped working (a lost WebGPU device)', () => {
  const LOST = 'the WebGPU device was lost (destroyed)';

  it('moves to the next fastest measured backend without measuring again; the lost one stays listed, unavailable', async () => {
    const start = fakeEnv({ ms: { webgpu: 5, webgl: 8, wasm: 12, cpu: 40 }, adapter: swiftShader });
    const report = await selectBackend(start.env);
    expect(report.chosen).toBe('webgpu');
    const fake = fakeEnv({});
    const next = await selectFallback(fake.env, report, 'webgpu', LOST);
    expect(next).toEqual({
      chosen: 'webgl',
      pinned: false,
      adapter: swiftShader,
      candidates: [
        { name: 'webgpu', available: false, ms: 5, reason: `lost: ${LOST}` },
        { name: 'webgl', available: true, ms: 8 },
        { name: 'wasm', available: true, ms: 12, reason: 'slower: 12 ms vs 8.0 ms' },
        { name: 'cpu', available: true, ms: 40, reason: 'slower: 40 ms vs 8.0 ms' },
      ],
      note: `webgpu stopped working (${LOST}); switched to webgl, the next fastest measured`,
    });
    expect(fake.calls).toEqual(['activate webgl']);
    expect(fake.active()).toBe('webgl');
  });

  it('skips a measured backend that no longer starts', async () => {
    const report = await selectBackend(fakeEnv({ ms: { webgpu: 5, webgl: 8, wasm: 12, cpu: 40 } }).env);
    const fake = fakeEnv({ activateFails: ['webgl'] });
    const next = await selectFallback(fake.env, report, 'webgpu', LOST);
    expect(next.chosen).toBe('wasm');
    expect(next.candidates.find((c) => c.name === 'webgl')).toEqual({ name: 'webgl', available: false, ms: 8, reason: 'unavailable: tfjs could not initialise it (see the console)' });
    expect(fake.calls).toEqual(['activate webgl', 'activate wasm']);
  });

  it('with WebGPU pinned (nothing else measured) measures the others now and takes the fastest', async () => {
    const report = await selectBackend(fakeEnv({ ms: { webgpu: 50 } }).env, { pin: 'webgpu' });
    const fake = fakeEnv({ ms: { webgl: 30, wasm: 9, cpu: 60 } });
    const next = await selectFallback(fake.env, report, 'webgpu', LOST);
    expect(next.chosen).toBe('wasm');
    expect(next.pinned).toBe(false);
    expect(next.note).toBe(`webgpu stopped working (${LOST}); switched to wasm, the fastest of the others, measured now`);
    expect(next.candidates.map((c) => [c.name, c.available, c.ms, c.reason])).toEqual([
      ['webgpu', false, 50, `lost: ${LOST}`],
      ['webgl', true, 30, 'slower: 30 ms vs 9.0 ms'],
      ['wasm', true, 9, undefined],
      ['cpu', true, 60, 'slower: 60 ms vs 9.0 ms'],
    ]);
    expect(fake.calls).toEqual([
      'activate wasm',
      'measure wasm',
      'activate webgl',
      'measure webgl (give up above 27 ms)',
      'activate cpu',
      'measure cpu (give up above 27 ms)',
      'activate wasm',
    ]);
  });

  it('throws, saying so, when no other backend is available', async () => {
    const report = await selectBackend(fakeEnv({ unavailable: { webgl: 'no WebGL', wasm: 'no wasm', cpu: 'no cpu' } }).env);
    expect(report.chosen).toBe('webgpu');
    await expect(selectFallback(fakeEnv({}).env, report, 'webgpu', LOST)).rejects.toThrow(`webgpu stopped working (${LOST}) and no other backend is available here; reload the page.`);
  });
});

describe('restoreSelection: a restarted worker', () => {
  it('goes back onto the previous backend without measuring; the report is the one the user saw', async () => {
    const previous = await selectBackend(fakeEnv({ ms: { webgpu: 30, webgl: 20, wasm: 10, cpu: 50 } }).env);
    const fake = fakeEnv({});
    expect(await restoreSelection(fake.env, previous)).toBe(previous);
    expect(fake.calls).toEqual(['activate wasm']);
  });

  it('falls back to the next fastest when that backend no longer starts', async () => {
    const previous = await selectBackend(fakeEnv({ ms: { webgpu: 30, webgl: 20, wasm: 10, cpu: 50 } }).env);
    const fake = fakeEnv({ activateFails: ['wasm'] });
    const next = await restoreSelection(fake.env, previous);
    expect(next.chosen).toBe('webgl');
    expect(next.candidates.find((c) => c.name === 'wasm')?.reason).toBe('lost: it could not start again in the restarted worker');
    expect(fake.calls).toEqual(['activate wasm', 'activate webgl']);
  });
});

describe('formatMs', () => {
  it('rounds to what people can read', () => {
    expect(formatMs(41.4)).toBe('41 ms');
    expect(formatMs(3.24)).toBe('3.2 ms');
    expect(formatMs(0.412)).toBe('0.41 ms');
  });
});

describe('real measurement in Node', () => {
  const env: BackendEnvironment = {
    async unavailableReason() {
      return null;
    },
    async activate(name) {
      await setNodeBackend(name as 'cpu' | 'wasm');
      return tf.getBackend() === name;
    },
    measure: (_name, { giveUpAboveMs }) => timeWorkload(tf, () => performance.now(), { warmup: 1, reps: 3, giveUpAboveMs }),
  };

  it('measures cpu and wasm, keeps the faster one active and leaks no tensors', async () => {
    await setNodeBackend('cpu');
    const before = tf.memory().numTensors;
    const report = await selectBackend(env, { candidates: ['wasm', 'cpu'] });
    expect(tf.getBackend()).toBe(report.chosen);
    const [wasm, cpu] = report.candidates;
    expect(wasm.ms).toBeGreaterThan(0);
    expect(cpu.ms).toBeGreaterThan(0);
    const loser = report.chosen === 'wasm' ? cpu : wasm;
    const winner = report.chosen === 'wasm' ? wasm : cpu;
    expect(winner.reason).toBeUndefined();
    expect(loser.reason).toBe(`slower: ${formatMs(loser.ms!)} vs ${formatMs(winner.ms!)}`);
    await setNodeBackend('cpu');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('timeWorkload stops after the first timed run slower than giveUpAboveMs', async () => {
    await setNodeBackend('cpu');
    let clock = 0;
    const now = () => (clock += 100); // every run "takes" 100 ms
    const before = tf.memory().numTensors;
    expect(await timeWorkload(tf, now, { warmup: 0, reps: 5, giveUpAboveMs: 50 })).toBe(100);
    expect(clock).toBe(200); // one start and one end reading: a single timed run
    expect(tf.memory().numTensors).toBe(before);
  });

  it('timeWorkload leaks no tensors on cpu', async () => {
    await setNodeBackend('cpu');
    const before = tf.memory().numTensors;
    const ms = await timeWorkload(tf, () => performance.now(), { warmup: 0, reps: 1 });
    expect(ms).toBeGreaterThan(0);
    expect(tf.memory().numTensors).toBe(before);
  });
});
