// WebGPU pinned: the worker's logits, greedy ids and tokenizer agree with transformers on both
// fixture families. Headless Chromium here gives a SwiftShader (software) adapter, ~10× slower than
// wasm, so the inputs stay tiny.
import type { Page } from 'playwright-core';
import {
  assert,
  assertEqual,
  modelFilesBase64,
  readReference,
  readReferenceTensor,
  waitForBackend,
  type BrowserTest,
  type FixtureModel,
} from './harness';

async function importFixture(page: Page, model: FixtureModel) {
  return page.evaluate(
    async ({ files, name }) => {
      const decoded = files.map(({ name, base64 }) => {
        const binary = atob(base64);
        const bytes = new Uint8Array(binary.length);
        for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
        return { name, bytes: bytes.buffer };
      });
      return window.hone!.importModel(decoded, name);
    },
    { files: modelFilesBase64(model), name: model },
  );
}

async function checkParity(page: Page, model: FixtureModel, log: (m: string) => void): Promise<void> {
  const reference = readReference(model);
  const summary = await importFixture(page, model);
  assertEqual(summary.name, model, 'imported model name');

  const { input_ids, attention_mask } = reference.logits;
  const logits = await page.evaluate(
    async ({ ids, mask }) => {
      const { data, shape } = await window.hone!.logits(ids, mask);
      return { data: Array.from(data), shape };
    },
    { ids: input_ids, mask: attention_mask },
  );
  const expected = readReferenceTensor(model, reference.logits.tensor);
  assertEqual(logits.shape, expected.shape, `${model} logits shape`);
  const [batch, time, vocab] = expected.shape;
  let maxDiff = 0;
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < time; t++) {
      if (attention_mask[b][t] === 0) continue;
      for (let v = 0; v < vocab; v++) {
        const i = (b * time + t) * vocab + v;
        maxDiff = Math.max(maxDiff, Math.abs(logits.data[i] - expected.data[i]));
      }
    }
  }
  log(`${model}: max |logit − reference| on unmasked positions = ${maxDiff.toExponential(2)}`);
  assert(maxDiff <= 1e-4, `${model} logits differ from transformers by ${maxDiff} (> 1e-4)`);

  const { prompt_ids, output_ids } = reference.greedy;
  const result = await page.evaluate(
    ({ ids, maxNewTokens }) => window.hone!.generate({ ids }, { maxNewTokens, greedy: true }),
    { ids: prompt_ids, maxNewTokens: output_ids.length - prompt_ids.length },
  );
  assertEqual(result.ids, output_ids, `${model} greedy ids`);

  // One round trip for all probes: each page.evaluate costs more than the tokenizing itself.
  const answers = await page.evaluate(
    (probes) =>
      Promise.all(
        probes.map(async ({ text, ids }) => ({
          ids: await window.hone!.tokenize(text, { addSpecialTokens: false }),
          decoded: await window.hone!.decode(ids),
        })),
      ),
    reference.tokenizer,
  );
  reference.tokenizer.forEach((probe, i) => {
    assertEqual(answers[i].ids, probe.ids, `${model} tokenize ${JSON.stringify(probe.text)}`);
    assertEqual(answers[i].decoded, probe.decoded, `${model} decode of ${JSON.stringify(probe.text)}`);
  });
}

export const tests: BrowserTest[] = [
  {
    name: '?backend=webgpu pins WebGPU and reports its adapter',
    async run({ page, baseUrl, log }) {
      await page.goto(`${baseUrl}?backend=webgpu&view=models`);
      const label = await waitForBackend(page);
      const report = await page.evaluate(() => window.hone!.init());
      log(`status bar: ${label}; adapter: ${JSON.stringify(report.adapter)}`);
      assertEqual(report.chosen, 'webgpu', 'chosen backend');
      assertEqual(report.pinned, true, 'pinned');
      assert(report.adapter, 'the report has the WebGPU adapter');
      const names = `${report.adapter.vendor} ${report.adapter.architecture} ${report.adapter.description}`.toLowerCase();
      // Without a GPU, Chromium's WebGPU runs on SwiftShader, which must say it is a fallback adapter.
      if (names.includes('swiftshader')) assertEqual(report.adapter.isFallbackAdapter, true, 'SwiftShader isFallbackAdapter');
      assertEqual(label.includes('(software)'), report.adapter.isFallbackAdapter, 'status bar says "software" for a fallback adapter');
      const others = report.candidates.filter((c) => c.name !== 'webgpu');
      assert(others.every((c) => c.reason !== undefined), 'every other candidate says why it was not used');
    },
  },
  {
    name: 'tiny-gpt2 on WebGPU: logits within 1e-4, greedy ids and tokenizer equal transformers',
    run: ({ page, log }) => checkParity(page, 'tiny-gpt2', log),
  },
  {
    name: 'logits and generation on WebGPU leave no tensors behind',
    async run({ page }) {
      const first = await page.evaluate(() => window.hone!.memory());
      await page.evaluate(() => window.hone!.logits([[1, 2, 3]]));
      await page.evaluate(() => window.hone!.generate({ ids: [1, 2] }, { maxNewTokens: 3, greedy: true }));
      const second = await page.evaluate(() => window.hone!.memory());
      assertEqual(second.numTensors, first.numTensors, 'tensors after logits + generate');
    },
  },
  {
    name: 'tiny-llama on WebGPU: logits within 1e-4, greedy ids and tokenizer equal transformers',
    run: ({ page, log }) => checkParity(page, 'tiny-llama', log),
  },
];
