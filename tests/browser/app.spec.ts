// The app end to end in Chromium: backend report, importing a checkpoint through the file input,
// persistence across reloads, streamed generation in the Playground, and a bad import.
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import {
  assert,
  assertEqual,
  fixturePath,
  MODEL_FILES,
  readReference,
  safetensorsElementCount,
  waitForBackend,
  type BrowserTest,
} from './harness';

const gpt2Files = MODEL_FILES.map((name) => fixturePath('tiny-gpt2', name));
const reference = readReference('tiny-gpt2');

async function modelNames(page: Page): Promise<string[]> {
  return page.getByTestId('model-name').allTextContents();
}

/** Reloads and waits until the worker is ready and the stored models are listed. */
async function reloadApp(page: Page): Promise<void> {
  await page.reload();
  await waitForBackend(page);
  await page.waitForFunction(() => document.querySelector('[data-testid="model-list"], [data-testid="models-empty"]'));
}

export const tests: BrowserTest[] = [
  {
    name: 'the page loads and the status bar shows the chosen backend and why the others lost',
    async run({ page, baseUrl, log }) {
      await page.goto(`${baseUrl}?view=models`);
      const chosenText = await waitForBackend(page);
      const report = await page.evaluate(() => window.hone!.init());
      log(`backend: ${chosenText}; ${report.candidates.map((c) => `${c.name}: ${c.ms?.toFixed(1) ?? '-'} ms ${c.reason ?? '(chosen)'}`).join('; ')}`);
      assert(['webgpu', 'webgl', 'wasm', 'cpu'].includes(report.chosen), `unexpected backend ${report.chosen}`);
      assert(chosenText.startsWith(report.chosen), `status bar shows "${chosenText}", report chose ${report.chosen}`);
      assertEqual(report.pinned, false, 'pinned without a pin');
      await page.getByText(`Why ${report.chosen}?`).click();
      const items = await page.getByTestId('backend-candidates').locator('li').allTextContents();
      assertEqual(items.length, 4, 'candidates listed');
      for (const candidate of report.candidates) {
        const line = items.find((text) => text.trim().startsWith(candidate.name)) ?? '';
        if (candidate.name === report.chosen) {
          assert(line.includes('chosen (fastest)'), `chosen line says why: "${line}"`);
        } else {
          assert(candidate.reason && /^(slower|unavailable): /.test(candidate.reason), `${candidate.name} has no reason`);
          assert(line.includes(candidate.reason), `line for ${candidate.name} shows its reason: "${line}"`);
        }
      }
    },
  },
  {
    name: 'importing tiny-gpt2 through the file input shows its architecture and exact parameter count',
    async run({ page }) {
      await page.getByTestId('models-empty').waitFor();
      await page.getByTestId('model-file-input').setInputFiles(gpt2Files);
      const card = page.getByTestId('model-card');
      await card.waitFor({ timeout: 60_000 });
      const expectedParams = safetensorsElementCount(fixturePath('tiny-gpt2', 'model.safetensors'));
      assertEqual(expectedParams, 43904, 'fixture parameter count (sum of tensor sizes)');
      assertEqual(await card.getByTestId('model-params').textContent(), expectedParams.toLocaleString('en-US'), 'parameter count');
      assertEqual(await card.getByTestId('model-type').textContent(), 'gpt2', 'model_type');
      assertEqual(await card.getByTestId('model-layers').textContent(), '2', 'layers');
      assertEqual(await card.getByTestId('model-hidden').textContent(), '32', 'hidden size');
      assertEqual(await card.getByTestId('model-heads').textContent(), '4 / 4', 'heads / kv heads');
      assertEqual(await card.getByTestId('model-vocab').textContent(), '512', 'vocabulary');
      await card.getByTestId('model-loaded').waitFor();
      assertEqual(await page.getByTestId('status-model').textContent(), await card.getByTestId('model-name').textContent(), 'status bar model');
    },
  },
  {
    name: 'after a reload the model is still listed (from IndexedDB) and loads',
    async run({ page }) {
      await reloadApp(page);
      const names = await modelNames(page);
      assertEqual(names.length, 1, 'models listed after reload');
      assertEqual(await page.getByTestId('model-loaded').count(), 0, 'nothing loaded in a fresh worker');
      await page.getByTestId('model-load').click();
      await page.getByTestId('model-loaded').waitFor({ timeout: 60_000 });
      const current = await page.evaluate(() => window.hone!.currentModel());
      assertEqual(current?.name, names[0], 'worker current model');
    },
  },
  {
    name: 'the Playground streams a generation token by token; greedy ids match transformers',
    async run({ page, log }) {
      const promptText = await page.evaluate((ids) => window.hone!.decode(ids), reference.greedy.prompt_ids);
      await page.getByRole('button', { name: 'Playground' }).click();
      await page.getByTestId('prompt').fill(promptText);
      await page.getByTestId('greedy').check();
      await page.getByTestId('max-new-tokens').fill('40');
      // Record every state the output element passes through, not just what polling happens to see.
      await page.evaluate(() => {
        const output = document.querySelector('[data-testid="output"]')!;
        const states: string[] = [];
        (window as unknown as { outputStates: string[] }).outputStates = states;
        new MutationObserver(() => {
          const text = output.textContent ?? '';
          if (states.at(-1) !== text) states.push(text);
        }).observe(output, { childList: true, subtree: true, characterData: true });
      });
      await page.getByTestId('generate').click();
      await page.getByText(/stopped by/).waitFor({ timeout: 60_000 });
      const states = await page.evaluate(() => (window as unknown as { outputStates: string[] }).outputStates);
      const final = (await page.getByTestId('output').textContent()) ?? '';
      const intermediate = states.filter((s) => s.length > promptText.length && s !== final);
      log(`${states.length} output states; stats: ${await page.getByTestId('generation-stats').textContent()}`);
      assert(intermediate.length >= 2, `expected ≥ 2 intermediate output states, saw ${intermediate.length}`);
      for (let i = 1; i < intermediate.length; i++) {
        assert(intermediate[i].startsWith(intermediate[i - 1]), 'the output only grows while streaming');
      }
      const stats = (await page.getByTestId('generation-stats').textContent()) ?? '';
      assert(/\d+(\.\d)? tokens\/s/.test(stats), `tokens/s shown: "${stats}"`);

      const result = await page.evaluate(
        (ids) => window.hone!.generate({ ids }, { maxNewTokens: 12, greedy: true }),
        reference.greedy.prompt_ids,
      );
      assertEqual(result.ids, reference.greedy.output_ids, 'greedy ids');
      // The UI run used the same prompt: its text starts with the same 12 tokens.
      const expectedText = await page.evaluate((ids) => window.hone!.decode(ids), reference.greedy.output_ids);
      assert(final.startsWith(expectedText), `UI output "${final}" starts with the reference continuation "${expectedText}"`);
    },
  },
  {
    name: 'a generation can be cancelled, and worker errors arrive with their message',
    async run({ page }) {
      const cancelled = await page.evaluate(async () => {
        const hone = window.hone!;
        let asked = false;
        const result = await hone.generate({ ids: [309] }, { maxNewTokens: 60, greedy: true, eosTokenIds: [] }, () => {
          if (!asked) void hone.cancelGeneration();
          asked = true;
        });
        return { stoppedBy: result.stoppedBy, count: result.newIds.length };
      });
      assertEqual(cancelled.stoppedBy, 'cancel', 'stoppedBy after cancelGeneration');
      assert(cancelled.count >= 1 && cancelled.count < 60, `cancelled after ${cancelled.count} tokens`);
      const message = await page.evaluate(() =>
        window.hone!.generate({ ids: [309] }, { maxNewTokens: 4, topP: 2 }).then(
          () => 'no error',
          (err: Error) => err.message,
        ),
      );
      assertEqual(message, 'sampling: topP must be in (0, 1] (1 = off), got 2', 'error message across the worker boundary');
    },
  },
  {
    name: 'a truncated model.safetensors is refused with an error naming the file, and nothing is stored',
    async run({ page }) {
      await page.getByRole('button', { name: 'Models' }).click();
      const before = await modelNames(page);
      const weights = readFileSync(fixturePath('tiny-gpt2', 'model.safetensors'));
      const files = MODEL_FILES.map((name) =>
        name === 'model.safetensors'
          ? { name, mimeType: 'application/octet-stream', buffer: weights.subarray(0, Math.floor(weights.length / 2)) }
          : fixturePath('tiny-gpt2', name),
      );
      // setInputFiles takes either paths or buffers, not a mix: read the others too.
      await page.getByTestId('model-file-input').setInputFiles(
        files.map((f) => (typeof f === 'string' ? { name: f.split('/').pop()!, mimeType: 'application/json', buffer: readFileSync(f) } : f)),
      );
      const alert = page.getByTestId('models-error');
      await alert.waitFor({ timeout: 30_000 });
      const message = (await alert.textContent()) ?? '';
      assert(message.includes('model.safetensors'), `error names the file: "${message}"`);
      assertEqual(await modelNames(page), before, 'model list unchanged');
      await reloadApp(page);
      assertEqual(await modelNames(page), before, 'model list unchanged after reload');
    },
  },
];
