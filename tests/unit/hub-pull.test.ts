// Pulling by Hub id against the stand-in Hub (hub-server.ts): single-file, sharded and BF16
// checkpoints, a cut connection and a cancel that resume byte-identical, a changed ETag that
// restarts, gated and missing repos, the memory refusal before any weight request, the cache.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStandInHub, type StandInHub } from './hub-server';
import { pullModel, type PullEvent } from '../../src/core/hub/pull';
import { HubError } from '../../src/core/hub/client';
import { estimateMemory, parameterCount } from '../../src/core/hub/memory';
import { MemoryPullStorage } from '../../src/core/hub/storage';
import { FilePullStorage, MANIFEST_FILE } from '../../cli/commands/pull';
import { readModelDir } from '../../cli/read-model-dir';
import { loadCheckpoint } from '../../src/core/model/checkpoint';
import { parseSafetensors } from '../../src/core/model/safetensors';
import { Decoder, computeLogits } from '../../src/core/model/decoder';
import { setNodeBackend } from '../../cli/node-backend';

let hub: StandInHub;
beforeAll(async () => {
  hub = await startStandInHub();
  await setNodeBackend('cpu');
});
afterAll(() => hub.close());

const work = () => mkdtempSync(join(tmpdir(), 'hone-hub-'));
const fixture = (model: string, file: string) => new Uint8Array(readFileSync(new URL(`../fixtures/hf/${model}/${file}`, import.meta.url)));
const served = (repo: string, file: string) => hub.repos.get(repo)!.files.get(file)!.bytes;

async function pull(repo: string, out: string, extra: Partial<Parameters<typeof pullModel>[0]> = {}) {
  const events: PullEvent[] = [];
  const result = await pullModel({ endpoint: hub.endpoint, repo, storage: new FilePullStorage(out), onEvent: (e) => events.push(e), ...extra });
  return { result, events };
}

async function pullError(promise: Promise<unknown>): Promise<HubError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(HubError);
  return error as HubError;
}

/** logits of the checkpoint in `dir` for fixed ids: [1, 6, V] */
async function logitsOf(dir: string): Promise<Float32Array> {
  const checkpoint = loadCheckpoint(await readModelDir(dir));
  const before = tf.memory().numTensors;
  const decoder = Decoder.fromHost(checkpoint.config, checkpoint.weights);
  const { data } = await computeLogits(decoder, [[1, 7, 42, 99, 5, 3]]);
  decoder.dispose();
  expect(tf.memory().numTensors).toBe(before);
  return data;
}

const nothingLeft = (parent: string) => expect(readdirSync(parent)).toEqual([]);

describe('pull from the stand-in Hub', () => {
  it('pulls a single-file checkpoint, following the 302 to the CDN, byte-identical', async () => {
    const parent = work();
    const out = join(parent, 'gpt2');
    const { result, events } = await pull('test/tiny-gpt2', out);
    expect(Object.keys(result.manifest.files).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    for (const file of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
      expect(new Uint8Array(readFileSync(join(out, file)))).toEqual(fixture('tiny-gpt2', file));
    }
    expect(readdirSync(parent)).toEqual(['gpt2']); // the staging folder is gone
    expect(readdirSync(out)).not.toContain('README.md');
    const sha = hub.repos.get('test/tiny-gpt2')!.sha;
    expect(result.manifest.sha).toBe(sha);
    expect(hub.requests).toContainEqual(expect.objectContaining({ host: 'hub', method: 'GET', path: `/test/tiny-gpt2/resolve/${sha}/model.safetensors` }));
    expect(hub.requests).toContainEqual(expect.objectContaining({ host: 'cdn', method: 'GET', path: `/repos/test/tiny-gpt2/${sha}/model.safetensors` }));
    const last = events.filter((e) => e.kind === 'progress').at(-1)!;
    const total = [...Object.values(result.manifest.files)].reduce((sum, f) => sum + f.bytes, 0);
    expect(last).toMatchObject({ kind: 'progress', bytes: total, totalBytes: total, etaSeconds: 0 });
    expect(events.find((e) => e.kind === 'info')).toMatchObject({ totalBytes: total });
    // a second pull into the same folder reuses it without a request
    const count = hub.requests.length;
    const again = await pull('test/tiny-gpt2', out);
    expect(again.result.reused).toBe(true);
    expect(hub.requests.length).toBe(count);
  });

  it('pulls a sharded checkpoint through its index; its logits equal the fixture loaded from disk', async () => {
    const out = join(work(), 'sharded');
    const { result } = await pull('test/tiny-llama-sharded', out);
    expect(Object.keys(result.manifest.files)).toEqual(expect.arrayContaining(['model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']));
    expect(existsSync(join(out, 'model.safetensors'))).toBe(false);
    const fromHub = await logitsOf(out);
    const fromDisk = await logitsOf(fileURLToPathSafe('tiny-llama'));
    expect(fromHub.length).toBe(6 * 600);
    expect(fromHub).toEqual(fromDisk);
  });

  it('pulls BF16 weights, widened to float32: logits equal the same BF16 files loaded from disk', async () => {
    const out = join(work(), 'bf16');
    await pull('test/tiny-llama-bf16', out);
    const header = parseSafetensors(new Uint8Array(readFileSync(join(out, 'model.safetensors'))), 'bf16');
    expect(header.get('model.embed_tokens.weight')!.shape).toEqual([600, 32]);
    const disk = work();
    for (const [name, file] of hub.repos.get('test/tiny-llama-bf16')!.files) writeFileSync(join(disk, name), file.bytes);
    const fromHub = await logitsOf(out);
    expect(fromHub).toEqual(await logitsOf(disk));
    // bf16 keeps 8 bits of mantissa: close to the float32 model, not equal
    const f32 = await logitsOf(fileURLToPathSafe('tiny-llama'));
    const gap = Math.max(...fromHub.map((v, i) => Math.abs(v - f32[i])));
    expect(gap).toBeGreaterThan(0);
    expect(gap).toBeLessThan(0.05);
  });

  it('resumes a connection cut mid-file with a Range request and ends byte-identical', async () => {
    const out = join(work(), 'cut');
    const before = hub.requests.length;
    hub.cutOnce('model.safetensors', 100_000);
    const { events } = await pull('test/tiny-llama', out);
    expect(new Uint8Array(readFileSync(join(out, 'model.safetensors')))).toEqual(fixture('tiny-llama', 'model.safetensors'));
    const retry = events.find((e) => e.kind === 'retry');
    expect(retry).toMatchObject({ file: 'model.safetensors', attempt: 1 });
    const ranged = hub.requests.slice(before).filter((r) => r.host === 'cdn' && r.range !== null);
    expect(ranged).toHaveLength(1);
    const start = Number(/^bytes=(\d+)-$/.exec(ranged[0].range!)![1]);
    expect(start).toBeGreaterThan(0);
    expect(start).toBeLessThanOrEqual(100_000);
    expect(ranged[0].ifRange).toBe(hub.repos.get('test/tiny-llama')!.files.get('model.safetensors')!.etag);
  });

  it('a cancel keeps the staged bytes, the next pull resumes them; a changed ETag restarts the file', async () => {
    const parent = work();
    const out = join(parent, 'cancel');
    const controller = new AbortController();
    hub.cutOnce('model.safetensors', 150_000); // ends the first response early so the cancel lands mid-file
    const cancelled = await pullError(
      pull('test/tiny-gpt2', out, {
        signal: controller.signal,
        onEvent: (e) => {
          if (e.kind === 'retry') controller.abort();
        },
      }),
    );
    expect(cancelled.kind).toBe('cancelled');
    expect(cancelled.message).toContain('pull again to resume');
    expect(existsSync(out)).toBe(false);
    const staging = new FilePullStorage(out);
    const staged = (await staging.staged('model.safetensors'))!;
    expect(staged.bytes).toBeGreaterThan(0);
    expect(staged.bytes).toBeLessThan(178216);

    const before = hub.requests.length;
    await pull('test/tiny-gpt2', out);
    expect(new Uint8Array(readFileSync(join(out, 'model.safetensors')))).toEqual(fixture('tiny-gpt2', 'model.safetensors'));
    expect(hub.requests.slice(before).find((r) => r.host === 'cdn')!.range).toBe(`bytes=${staged.bytes}-`);
    expect(readdirSync(parent)).toEqual(['cancel']);

    // staged bytes from an older version of the file: If-Range fails, the server sends it whole
    const out2 = join(parent, 'changed');
    const stale = new FilePullStorage(out2);
    await stale.restart('model.safetensors', '"an-older-version"');
    await stale.append('model.safetensors', new Uint8Array(5000).fill(7));
    const { events } = await pull('test/tiny-gpt2', out2);
    expect(events).toContainEqual(expect.objectContaining({ kind: 'retry', file: 'model.safetensors', reason: 'the file changed on the Hub (ETag differs)' }));
    expect(new Uint8Array(readFileSync(join(out2, 'model.safetensors')))).toEqual(fixture('tiny-gpt2', 'model.safetensors'));
  });

  it('a gated repo asks for HF_TOKEN without one, for the licence with a wrong one, and pulls with the right one', async () => {
    const parent = work();
    const out = join(parent, 'gated');
    const noToken = await pullError(pull('gated/tiny-gpt2', out));
    expect(noToken.kind).toBe('unauthorized');
    expect(noToken.status).toBe(401);
    expect(noToken.message).toContain('Set HF_TOKEN to a read token');
    expect(noToken.message).toContain(`accept the licence on ${hub.endpoint}/gated/tiny-gpt2`);
    const wrong = await pullError(pull('gated/tiny-gpt2', out, { token: 'hf_wrong' }));
    expect(wrong.kind).toBe('forbidden');
    expect(wrong.message).toContain('accept its licence');
    nothingLeft(parent);
    const { result } = await pull('gated/tiny-gpt2', out, { token: hub.token });
    expect(result.manifest.files['model.safetensors'].bytes).toBe(178216);
    const last = hub.requests.filter((r) => r.path.endsWith('/config.json')).at(-1)!;
    expect(last.authorization).toBe(`Bearer ${hub.token}`);
    // the token goes to the Hub only: fetch drops it on the redirect to the CDN's other origin
    const cdn = hub.requests.filter((r) => r.host === 'cdn' && r.path.startsWith('/repos/gated/'));
    expect(cdn.length).toBeGreaterThan(0);
    expect(cdn.every((r) => r.authorization === null)).toBe(true);
  });

  it('a missing repo, revision or bad id gets a clear message and leaves nothing behind', async () => {
    const parent = work();
    const out = join(parent, 'missing');
    const repo = await pullError(pull('test/no-such-model', out));
    expect(repo.kind).toBe('not-found');
    expect(repo.message).toBe(`test/no-such-model: the repo or revision "main" does not exist on ${hub.endpoint}; check the id (ORG/NAME) and the revision`);
    const revision = await pullError(pull('test/tiny-gpt2', out, { revision: 'v9' }));
    expect(revision.message).toBe(`test/tiny-gpt2: revision "v9" does not exist; check the branch, tag or commit on ${hub.endpoint}/test/tiny-gpt2`);
    const bad = await pullError(pull('not-an-id', out));
    expect(bad.kind).toBe('bad-repo');
    nothingLeft(parent);
    // a revision given as the commit sha is one the Hub knows
    const sha = hub.repos.get('test/tiny-gpt2')!.sha;
    const { result } = await pull('test/tiny-gpt2', join(work(), 'by-sha'), { revision: sha });
    expect(result.manifest).toMatchObject({ revision: sha, sha });
  });

  it('refuses a model that will not fit before any weight is requested', async () => {
    const parent = work();
    const out = join(parent, 'big');
    const weights = parseSafetensors(fixture('tiny-llama', 'model.safetensors'), 'model.safetensors');
    const parameters = [...weights.values()].reduce((sum, t) => sum + t.data.length, 0);
    const before = hub.requests.length;
    const error = await pullError(pull('test/tiny-llama-sharded', out, { maxMemoryBytes: 4 * parameters - 1 }));
    expect(error.kind).toBe('too-large');
    expect(error.message).toContain(`${parameters.toLocaleString('en-US')} parameters as float32`);
    expect(error.message).toContain('nothing was downloaded');
    expect(hub.requests.slice(before).filter((r) => r.path.endsWith('.safetensors'))).toEqual([]);
    nothingLeft(parent);
    // exactly the weights fit; full fine-tuning adds gradients and both AdamW moments
    const storage = new MemoryPullStorage();
    const { estimate } = await pullModel({ endpoint: hub.endpoint, repo: 'test/tiny-llama', storage, maxMemoryBytes: 4 * parameters });
    expect(estimate!.parameters).toBe(parameters);
    const checkpoint = loadCheckpoint(storage.files!);
    expect(parameterCount(checkpoint.config)).toBe(parameters);
    const full = estimateMemory(checkpoint.config, { use: 'full', batch: 1, sequenceLength: 8 });
    expect(full.optimizerBytes).toBe(12 * parameters);
    // 2 layers × 8 tokens × (8·32 + 3·64 + 4·8) + 2 × 8 tokens × 600 logits, float32
    expect(full.activationBytes).toBe(4 * (2 * 8 * (8 * 32 + 3 * 64 + 4 * 8) + 2 * 8 * 600));
    const lora = await pullError(pullModel({ endpoint: hub.endpoint, repo: 'test/tiny-llama', storage: new MemoryPullStorage(), maxMemoryBytes: 4 * parameters, memory: { use: 'full' } }));
    expect(lora.message).toContain('or train with LoRA instead of full fine-tuning');
  });

  it('leaves a destination folder untouched until the whole pull is there', async () => {
    const parent = work();
    const out = join(parent, 'partial');
    mkdirSync(out);
    hub.cutOnce('model.safetensors', 1000);
    const error = await pullError(pull('test/tiny-gpt2', out, { retries: 0 }));
    expect(error.kind).toBe('network');
    expect(readdirSync(out)).toEqual([]); // still the empty folder; the bytes wait in the staging folder
    await pull('test/tiny-gpt2', out);
    expect(readdirSync(out).sort()).toEqual([MANIFEST_FILE, 'config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].sort());
  });
});

describe('the stand-in Hub itself', () => {
  it('answers HEAD like the Hub: a 302 for safetensors, then size and ETag without a body', async () => {
    const sha = hub.repos.get('test/tiny-llama')!.sha;
    const head = await fetch(`${hub.endpoint}/test/tiny-llama/resolve/main/model.safetensors`, { method: 'HEAD', redirect: 'manual' });
    expect(head.status).toBe(302);
    const location = head.headers.get('location')!;
    expect(location).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/repos/test/tiny-llama/${sha}/model\\.safetensors$`));
    const cdn = await fetch(location, { method: 'HEAD' });
    expect(cdn.status).toBe(200);
    expect(cdn.headers.get('content-length')).toBe('230112');
    expect(cdn.headers.get('etag')).toBe(hub.repos.get('test/tiny-llama')!.files.get('model.safetensors')!.etag);
    expect((await cdn.arrayBuffer()).byteLength).toBe(0);
    const ranged = await fetch(location, { headers: { range: 'bytes=230000-' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe('bytes 230000-230111/230112');
    expect(new Uint8Array(await ranged.arrayBuffer())).toEqual(fixture('tiny-llama', 'model.safetensors').subarray(230000));
  });
});

function fileURLToPathSafe(model: string): string {
  return fileURLToPath(new URL(`../fixtures/hf/${model}/`, import.meta.url));
}
