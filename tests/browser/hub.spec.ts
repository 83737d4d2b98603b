// Loading by Hub id in the studio, against the tests' stand-in Hub (tests/unit/hub-server.ts on
// 127.0.0.1: the page, the Hub and its CDN are three origins, reached under the CSP's loopback
// sources with the CORS headers the Hub sends): set the endpoint, pull tiny-llama by id with
// progress, the pulled model's logits equal the fixture's reference, the cache lists it with its
// size; a gated repo without a token and a missing repo get the core's messages and leave nothing
// cached, with the token it pulls; Cancel keeps the bytes and a second pull resumes; a reload mid-download resumes with Range + If-Range and ends with the same logits; a
// cache entry deletes.
import type { Page } from 'playwright-core';
import { startStandInHub, type StandInHub } from '../unit/hub-server';
import { assert, assertEqual, readReference, readReferenceTensor, waitForBackend, type BrowserTest } from './harness';

let hub: StandInHub | null = null;
const reference = readReference('tiny-llama');
const expected = readReferenceTensor('tiny-llama', reference.logits.tensor);

async function standIn(): Promise<StandInHub> {
  hub ??= await startStandInHub();
  return hub;
}

async function openModels(page: Page, baseUrl: string): Promise<void> {
  await page.goto(`${baseUrl}?view=models`);
  await waitForBackend(page);
  await page.getByTestId('hub-form').waitFor();
}

async function setEndpoint(page: Page, endpoint: string): Promise<void> {
  if ((await page.getByTestId('hub-settings').count()) === 0) await page.getByTestId('hub-settings-toggle').click();
  await page.getByTestId('hub-endpoint').fill(endpoint);
  await page.getByTestId('hub-endpoint').dispatchEvent('change');
}

async function pull(page: Page, repo: string): Promise<void> {
  await page.getByTestId('hub-repo').fill(repo);
  await page.getByTestId('hub-pull').click();
}

/** The pull's error, once the pull is over (the cache list refreshed, the Download button back). */
async function pullError(page: Page): Promise<string> {
  await page.getByTestId('hub-error').waitFor({ timeout: 30_000 });
  await page.getByTestId('hub-pull').waitFor({ timeout: 30_000 });
  return (await page.getByTestId('hub-error').textContent()) ?? '';
}

/** max |Δ| between the loaded model's logits and the reference, over unmasked positions */
async function logitsError(page: Page): Promise<number> {
  const { input_ids, attention_mask } = reference.logits;
  const got = await page.evaluate(async ([ids, mask]) => {
    const { data, shape } = await window.hone!.logits(ids, mask);
    return { data: Array.from(data), shape };
  }, [input_ids, attention_mask] as const);
  assertEqual(got.shape, expected.shape, 'logits shape');
  const [, T, V] = got.shape;
  let worst = 0;
  for (let b = 0; b < input_ids.length; b++) {
    for (let t = 0; t < T; t++) {
      if (attention_mask[b][t] !== 1) continue;
      for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(got.data[(b * T + t) * V + v] - expected.data[(b * T + t) * V + v]));
    }
  }
  return worst;
}

async function cacheEntries(page: Page): Promise<{ repo: string | null; complete: string | null; size: string }[]> {
  const entries = page.getByTestId('hub-cache-entry');
  const out = [];
  for (let i = 0; i < (await entries.count()); i++) {
    const entry = entries.nth(i);
    out.push({ repo: await entry.getAttribute('data-repo'), complete: await entry.getAttribute('data-complete'), size: (await entry.getByTestId('hub-cache-size').textContent()) ?? '' });
  }
  return out;
}

export const tests: BrowserTest[] = [
  {
    name: 'the model cards list the Hub models, and Load fills the id',
    async run({ page, baseUrl }) {
      await openModels(page, baseUrl);
      assertEqual(await page.getByTestId('hub-card').count(), 9, 'cards');
      const qwen = page.locator('[data-testid="hub-card"][data-repo="Qwen/Qwen2.5-0.5B-Instruct"]');
      assert(((await qwen.getByTestId('hub-card-lora').textContent()) ?? '').includes('q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj'), 'Qwen LoRA targets');
      assert(((await qwen.getByTestId('hub-card-chat').textContent()) ?? '').includes('tokenizer_config.json'), 'chat template note');
      await page.locator('[data-testid="hub-card"][data-repo="openai-community/gpt2"]').getByTestId('hub-card-load').click();
      assertEqual(await page.getByTestId('hub-repo').inputValue(), 'openai-community/gpt2', 'Load filled the id');
    },
  },
  {
    name: 'pulls test/tiny-llama by id from the stand-in Hub (302 to its CDN), shows progress, and its logits equal the reference',
    async run({ page, log }) {
      const server = await standIn();
      await setEndpoint(page, server.endpoint);
      assertEqual(await page.getByTestId('hub-endpoint-problem').count(), 0, 'the CSP allows the loopback endpoint');
      await pull(page, 'test/tiny-llama');
      await page.locator('[data-testid="model-card"] [data-testid="model-loaded"]').waitFor({ timeout: 60_000 });
      const progress = (await page.getByTestId('hub-progress').textContent()) ?? '';
      log(`progress line: ${progress.replace(/\s+/g, ' ').trim()}`);
      assert(/0\.3 MB of 0\.3 MB · [\d.]+ MB\/s · ETA/.test(progress.replace(/\s+/g, ' ')), `progress shows bytes, rate and ETA: "${progress}"`);
      assert(((await page.getByTestId('hub-estimate').textContent()) ?? '').includes('parameters'), 'memory estimate shown');
      assertEqual(await page.getByTestId('model-name').allTextContents(), ['tiny-llama'], 'the pulled model is stored');
      const worst = await logitsError(page);
      log(`max |logits - reference| = ${worst.toExponential(2)}`);
      assert(worst < 1e-4, `logits differ from the reference by ${worst}`);
      const cdn = server.requests.filter((r) => r.host === 'cdn' && r.method === 'GET').map((r) => r.path);
      assert(cdn.some((p) => p.endsWith('/model.safetensors')), `the weights came from the CDN: ${JSON.stringify(cdn)}`);
      const entries = await cacheEntries(page);
      assertEqual(entries.map((e) => [e.repo, e.complete]), [['test/tiny-llama', 'true']], 'cache');
      assert(entries[0].size.startsWith('0.3 MB'), `cache size: ${entries[0].size}`);
    },
  },
  {
    name: 'a gated repo without a token and a missing repo show the core messages and leave nothing in the cache',
    async run({ page }) {
      await pull(page, 'gated/tiny-gpt2');
      const gated = await pullError(page);
      assert(gated.includes('the Hub needs a token (401)') && gated.includes('HF_TOKEN'), `gated message: "${gated}"`);
      await page.getByTestId('hub-error').getByRole('button').click();
      await pull(page, 'test/no-such-model');
      const missing = await pullError(page);
      assert(missing.includes('test/no-such-model: the repo or revision "main" does not exist'), `missing message: "${missing}"`);
      assertEqual((await cacheEntries(page)).map((e) => e.repo), ['test/tiny-llama'], 'nothing left behind');
    },
  },
  {
    name: 'with the token the gated repo pulls; the token stays in this tab (sessionStorage) unless "remember" is ticked',
    async run({ page }) {
      const server = await standIn();
      await page.getByTestId('hub-token').fill(server.token);
      await page.getByTestId('hub-token').dispatchEvent('change');
      const before = server.requests.length;
      await pull(page, 'gated/tiny-gpt2');
      await page.locator('[data-testid="hub-cache-entry"][data-repo="gated/tiny-gpt2"][data-complete="true"]').waitFor({ timeout: 60_000 });
      const hubRequests = server.requests.slice(before).filter((r) => r.host === 'hub');
      assert(hubRequests.length > 0 && hubRequests.every((r) => r.authorization === `Bearer ${server.token}`), 'every Hub request carried the token');
      const kept = await page.evaluate(() => [sessionStorage.getItem('hone.hub.token'), localStorage.getItem('hone.hub.token')]);
      assertEqual(kept, [server.token, null], 'token in sessionStorage only');
      await page.getByTestId('hub-remember').check();
      assertEqual(await page.evaluate(() => [sessionStorage.getItem('hone.hub.token'), localStorage.getItem('hone.hub.token')]), [null, server.token], 'remembered');
      await page.getByTestId('hub-remember').uncheck();
      assertEqual(await page.evaluate(() => localStorage.getItem('hone.hub.token')), null, 'forgotten');
    },
  },
  {
    name: 'Cancel stops a stalled download and keeps its bytes; pulling again resumes it (sharded checkpoint)',
    async run({ page }) {
      const server = await standIn();
      const repo = 'test/tiny-llama-sharded';
      const shard = 'model-00002-of-00002.safetensors';
      server.stallOnce(shard, 10_000);
      await pull(page, repo);
      await page.waitForFunction((file) => document.querySelector('[data-testid="hub-step"]')?.textContent?.includes(file), shard, { timeout: 30_000 });
      await page.waitForTimeout(300);
      await page.getByTestId('hub-cancel').click();
      const message = await pullError(page);
      assert(message.includes(`${repo}: download cancelled during ${shard}; pull again to resume`), `cancel message: "${message}"`);
      const partial = (await cacheEntries(page)).find((e) => e.repo === repo);
      assert(partial?.complete === 'false', `partial after cancel: ${JSON.stringify(partial)}`);
      const before = server.requests.length;
      await page.getByTestId('hub-error').getByRole('button').click();
      await page.getByTestId('hub-pull').click();
      await page.locator(`[data-testid="hub-cache-entry"][data-repo="${repo}"][data-complete="true"]`).waitFor({ timeout: 60_000 });
      const again = server.requests.slice(before).filter((r) => r.host === 'cdn').map((r) => [r.path.split('/').pop(), r.range]);
      // the finished first shard is asked from its end (the Hub answers 416 "bytes */size": complete), the cut one from byte 10,000
      const first = server.repos.get(repo)!.files.get('model-00001-of-00002.safetensors')!.bytes.length;
      assertEqual(again, [['model-00001-of-00002.safetensors', `bytes=${first}-`], [shard, 'bytes=10000-']], 'only the rest of the cut shard was fetched');
      const worst = await logitsError(page);
      assert(worst < 1e-4, `sharded logits differ from the reference by ${worst}`);
    },
  },
  {
    name: 'a reload mid-download keeps the bytes; Resume asks for the rest with Range + If-Range and loads the same model',
    async run({ page, baseUrl, log }) {
      const server = await standIn();
      const repo = 'test/tiny-llama-bf16';
      const weights = server.repos.get(repo)!.files.get('model.safetensors')!;
      const cut = 40_000;
      server.stallOnce('model.safetensors', cut);
      await pull(page, repo);
      await page.waitForFunction(() => document.querySelector('[data-testid="hub-step"]')?.textContent?.includes('model.safetensors'), undefined, { timeout: 30_000 });
      const deadline = Date.now() + 30_000;
      while (!server.requests.some((r) => r.host === 'cdn' && r.path.endsWith(`${repo}/${server.repos.get(repo)!.sha}/model.safetensors`))) {
        assert(Date.now() < deadline, 'the weights were never requested from the CDN');
        await page.waitForTimeout(50);
      }
      await page.waitForTimeout(500); // the stalled chunk reaches the worker and OPFS
      const shown = ((await page.getByTestId('hub-progress').textContent()) ?? '').replace(/\s+/g, ' ').trim();
      log(`stalled at: ${shown}`);
      assert(/ of 0\.2 MB · /.test(shown), `progress shows the stalled pull: "${shown}"`);
      await openModels(page, baseUrl); // the reload: the worker and its fetch are gone
      await page.locator(`[data-testid="hub-cache-entry"][data-repo="${repo}"]`).waitFor({ timeout: 30_000 });
      const partial = (await cacheEntries(page)).find((e) => e.repo === repo);
      assert(partial && partial.complete === 'false', `partial pull listed: ${JSON.stringify(partial)}`);
      const before = server.requests.length;
      await page.locator(`[data-testid="hub-cache-entry"][data-repo="${repo}"]`).getByTestId('hub-cache-resume').click();
      await page.locator('[data-testid="hub-cache-entry"][data-repo="test/tiny-llama-bf16"][data-complete="true"]').waitFor({ timeout: 60_000 });
      const resumed = server.requests.slice(before).filter((r) => r.host === 'cdn' && r.path.endsWith('/model.safetensors'));
      log(`after the reload: ${JSON.stringify(resumed.map((r) => ({ range: r.range, ifRange: r.ifRange })))}`);
      assertEqual(resumed.map((r) => r.range), [`bytes=${cut}-`], 'one request for the rest of the file');
      assertEqual(resumed[0].ifRange, weights.etag, 'checked against the ETag');
      // BF16 weights widened to float32: the reference within BF16's precision
      const worst = await logitsError(page);
      log(`bf16 pull: max |logits - reference| = ${worst.toExponential(2)}`);
      assert(worst < 0.05, `bf16 logits differ from the reference by ${worst}`);
      // delete from the cache: the entry goes, the model stored in IndexedDB stays
      await page.locator('[data-testid="hub-cache-entry"][data-repo="test/tiny-llama"]').getByTestId('hub-cache-delete').click();
      await page.waitForFunction(() => !document.querySelector('[data-testid="hub-cache-entry"][data-repo="test/tiny-llama"]'), undefined, { timeout: 10_000 });
      assertEqual((await cacheEntries(page)).map((e) => e.repo), ['gated/tiny-gpt2', repo, 'test/tiny-llama-sharded'], 'cache after delete');
      assertEqual((await page.getByTestId('model-name').allTextContents()).sort(), ['tiny-gpt2', 'tiny-llama', 'tiny-llama-bf16', 'tiny-llama-sharded'], 'stored models');
      // a complete pull loaded again comes from the cache, without a request, as the model already stored
      const requestsBefore = server.requests.length;
      await page.locator('[data-testid="hub-cache-entry"][data-repo="gated/tiny-gpt2"]').getByTestId('hub-cache-resume').click();
      await page.waitForFunction(() => document.querySelector('[data-testid="hub-step"]')?.textContent === 'Loaded tiny-gpt2', undefined, { timeout: 30_000 });
      assertEqual(server.requests.length, requestsBefore, 'no request for a cached pull');
      assertEqual(await page.getByTestId('model-name').count(), 4, 'no second copy stored');
      await hub?.close();
      hub = null;
    },
  },
];
