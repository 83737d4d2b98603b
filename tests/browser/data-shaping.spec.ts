// Data shaping in Chromium: the worker's shape* API end to end over comlink (a mixture with no cap,
// augmentation, a template preview, a refused spec that stores nothing), then the Data view's shaping
// panel: rates shown as bars before mixing, a mixed and an augmented dataset created and listed.
import type { Page } from 'playwright-core';
import { assert, assertEqual, type BrowserTest } from './harness';

/** Stores a Hone-format dataset through the worker; returns its id. */
async function importRecords(page: Page, name: string, records: object[]): Promise<string> {
  const body = records.map((r) => JSON.stringify(r)).join('\n') + '\n';
  return page.evaluate(
    async ({ name, body }) => {
      const outcome = await window.hone!.remote.importDataset({ name: `${name}.jsonl`, bytes: new TextEncoder().encode(body).buffer }, { format: 'hone', name });
      if (outcome.status !== 'imported') throw new Error(`import of ${name}: ${outcome.status}`);
      return outcome.dataset.id;
    },
    { name, body },
  );
}

const qa = (i: number) => ({ instruction: `Question ${i}?`, output: `Answer ${i}`, task: 'open_qa' });
const summaries = (i: number) => ({ instruction: 'Summarize.', context: `A long text number ${i}.`, output: `Text ${i}.`, task: 'summarization' });

export const tests: BrowserTest[] = [
  {
    name: 'the shape API mixes, augments and previews through the worker; a bad spec stores nothing',
    async run({ page, baseUrl }) {
      await page.goto(`${baseUrl}?view=models`);
      await page.waitForFunction(() => window.hone !== undefined);
      const a = await importRecords(page, 'trivia', Array.from({ length: 12 }, (_, i) => qa(i)));
      const b = await importRecords(page, 'digests', Array.from({ length: 36 }, (_, i) => summaries(i)));
      const result = await page.evaluate(
        async ({ a, b }) => {
          const remote = window.hone!.remote;
          const spec = { name: 'both', sources: [{ datasetId: a }, { datasetId: b }], rule: { kind: 'proportional' as const, cap: Infinity }, total: 96, seed: 3 };
          const preview = await remote.shapePreviewMix(spec);
          const mixed = await remote.shapeMix(spec);
          const augmented = await remote.shapeAugment(a, { invert: true, paraphrase: 1, seed: 2, includeOriginals: true });
          const rendered = await remote.shapePreviewTemplates(a, { mode: 'instructions', shots: 1, limit: 2, templateId: 'open_qa/2' });
          const before = (await remote.listDatasets()).length;
          const refused = await remote.shapeMix({ ...spec, rule: { kind: 'weights', weights: [0, 0] } }).then(
            () => 'stored',
            (e: Error) => e.message,
          );
          const after = (await remote.listDatasets()).length;
          return { preview, mixed, augmented, rendered, refused, before, after };
        },
        { a, b },
      );
      assertEqual(result.preview.sources.map((s) => [s.datasetName, s.rate]), [['trivia', 0.25], ['digests', 0.75]], 'uncapped proportional rates');
      assertEqual(result.mixed.counts.total, 96, 'mixed examples');
      const cap = (result.mixed.recipe as unknown as { spec: { rule: { cap: number } } }).spec.rule.cap;
      assert(cap === Infinity, `the recipe keeps the uncapped rule (Infinity crosses comlink), got ${cap}`);
      assertEqual(result.augmented.counts.total, 12 + 12 + 12, 'originals + inverted + one paraphrase each');
      assertEqual(result.augmented.name, 'trivia (augmented)', 'augmented name');
      assertEqual(result.rendered.samples[0].shots, 1, 'one shot');
      assert(/^Question: Question \d+\?\n\nAnswer: Answer \d+\n\n\nQuestion: Question 0\?\n\nAnswer: $/.test(result.rendered.samples[0].prompt), `1-shot prompt: ${JSON.stringify(result.rendered.samples[0].prompt)}`);
      assertEqual(result.refused, 'mix: the weights add up to 0; give at least one source a positive weight', 'refusal');
      assertEqual(result.after, result.before, 'nothing stored on refusal');
    },
  },
  {
    name: 'the shaping panel previews rates as bars, then creates a mixed and an augmented dataset',
    async run({ page }) {
      await page.reload();
      await page.getByTestId('nav-data').click();
      const panel = page.getByTestId('shape-panel');
      await panel.waitFor();
      const mixForm = page.getByTestId('shape-mix-form');
      await mixForm.getByTestId('shape-mix-add').click();
      await mixForm.getByTestId('shape-mix-add').click();
      const rows = mixForm.getByTestId('shape-mix-row');
      await rows.nth(0).getByTestId('shape-mix-dataset').selectOption({ label: 'trivia (12)' });
      await rows.nth(1).getByTestId('shape-mix-dataset').selectOption({ label: 'digests (36)' });
      await mixForm.getByTestId('shape-mix-capped').uncheck();
      await mixForm.getByTestId('shape-mix-total').fill('40');
      await mixForm.getByTestId('shape-mix-name').fill('panel mix');
      // The rates of the form before "40" was typed can still be on show while the new preview is
      // computed in the worker: wait for the preview of the form as filled, not for any two rows.
      const expectedRates = ['trivia 25.0% · ≈10 of 12', 'digests 75.0% · ≈30 of 36'];
      await page
        .waitForFunction(
          (expected) => {
            const shown = [...document.querySelectorAll('[data-testid="shape-mix-rate"]')].map((el) => (el.textContent ?? '').replace(/\s+/g, ' ').trim());
            return JSON.stringify(shown) === JSON.stringify(expected);
          },
          expectedRates,
          { timeout: 10_000 },
        )
        .catch(() => undefined); // the assertion below reports what is shown
      assertEqual(
        (await mixForm.getByTestId('shape-mix-rate').allTextContents()).map((text) => text.replace(/\s+/g, ' ').trim()),
        expectedRates,
        'rates previewed',
      );
      await mixForm.getByTestId('shape-mix-rule').selectOption('weights');
      await rows.nth(0).getByTestId('shape-mix-weight').fill('0');
      await rows.nth(1).getByTestId('shape-mix-weight').fill('0');
      await mixForm.getByTestId('shape-mix-preview-error').getByText('the weights add up to 0').waitFor();
      assert(await mixForm.getByTestId('shape-mix-create').isDisabled(), 'create is disabled while the spec is refused');
      await rows.nth(1).getByTestId('shape-mix-weight').fill('1');
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="shape-mix-rate"]').length === 2);
      await mixForm.getByTestId('shape-mix-create').click();
      await page.getByTestId('shape-notice').getByText('Mixed 40 examples into “panel mix”.').waitFor();
      await page.getByTestId('dataset-name').getByText('panel mix').waitFor();

      const previewForm = page.getByTestId('shape-preview-form');
      await previewForm.getByTestId('shape-preview-dataset').selectOption({ label: 'trivia' });
      await previewForm.getByTestId('shape-preview-mode').selectOption('dataset-name');
      await previewForm.getByTestId('shape-preview-limit').fill('2');
      await previewForm.getByTestId('shape-preview-run').click();
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="shape-sample"]').length === 2);
      assertEqual(await previewForm.locator('pre').first().textContent(), 'open_qa: Question 0?\n\nAnswer 0', 'dataset-name rendering');

      const augmentForm = page.getByTestId('shape-augment-form');
      await augmentForm.getByTestId('shape-augment-dataset').selectOption({ label: 'trivia' });
      await augmentForm.getByTestId('shape-augment-paraphrase').fill('0');
      await augmentForm.getByTestId('shape-augment-originals').uncheck();
      await augmentForm.getByTestId('shape-augment-name').fill('trivia turned around');
      await augmentForm.getByTestId('shape-augment-create').click();
      await page.getByTestId('shape-notice').getByText('Created “trivia turned around” with 12 examples.').waitFor();
    },
  },
];
