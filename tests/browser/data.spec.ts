// The Data view end to end in Chromium: a dataset dropped onto the page is parsed in the worker and
// stored, survives a reload, is edited (the edit survives a reload too) and exported as a real
// download; a bad file is refused with its line and field and stores nothing; the example list is
// virtualized; a running import can be cancelled through the worker API.
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { assert, assertEqual, datasetRows, openData, type BrowserTest } from './harness';

const RECORDS = [
  { instruction: 'Give three tips for staying healthy.', input: '', output: 'Eat well, move, sleep.' },
  { instruction: 'Translate to French', input: 'Good morning, 世界', output: 'Bonjour, 世界 👋' },
  { instruction: 'Add the numbers.', input: '2 and 3', output: '5' },
];
const GOOD = RECORDS.map((r) => JSON.stringify(r)).join('\r\n') + '\r\n';

/** Drops one file on the data drop zone the way a person's drag-and-drop delivers it. */
async function dropFile(page: Page, name: string, text: string): Promise<void> {
  const dataTransfer = await page.evaluateHandle(
    ({ name, text }) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([text], name, { type: 'application/octet-stream' }));
      return transfer;
    },
    { name, text },
  );
  const zone = page.getByTestId('dataset-drop');
  await zone.dispatchEvent('dragover', { dataTransfer });
  await zone.dispatchEvent('drop', { dataTransfer });
}

async function reloadData(page: Page): Promise<void> {
  await page.reload();
  await openData(page);
}

export const tests: BrowserTest[] = [
  {
    name: 'a JSONL file dropped on the Data view is imported and its examples listed',
    async run({ page, baseUrl }) {
      await page.goto(`${baseUrl}?view=models`);
      await openData(page);
      await page.getByTestId('datasets-empty').waitFor();
      await dropFile(page, 'health-tips.jsonl', '\uFEFF' + GOOD);
      await page.getByTestId('data-notice').getByText('Imported 3 examples from health-tips.jsonl (alpaca)').waitFor({ timeout: 30_000 });
      assertEqual(await datasetRows(page), [{ name: 'health-tips', count: '3' }], 'datasets listed');
      await page.getByTestId('example-row').nth(2).getByTestId('example-instruction').waitFor();
      assertEqual(await page.getByTestId('example-instruction').allTextContents(), RECORDS.map((r) => r.instruction), 'rows');
      assertEqual(await page.getByTestId('example-output').nth(1).textContent(), 'Bonjour, 世界 👋', 'Unicode kept');
    },
  },
  {
    name: 'after a reload the dataset is still listed with its examples',
    async run({ page }) {
      await reloadData(page);
      assertEqual(await datasetRows(page), [{ name: 'health-tips', count: '3' }], 'datasets after reload');
      await page.getByTestId('example-row').first().getByTestId('example-instruction').waitFor();
      assertEqual(await page.getByTestId('example-row').count(), 3, 'rows after reload');
    },
  },
  {
    name: 'editing a record saves it, and the edit persists across a reload',
    async run({ page }) {
      await page.getByTestId('example-row').nth(0).getByTestId('example-edit').click();
      await page.getByTestId('edit-output').fill('Eat well, move daily, sleep 8 hours.');
      await page.getByTestId('edit-task').fill('advice');
      await page.getByTestId('edit-split').selectOption('train');
      await page.getByTestId('edit-save').click();
      await page.getByTestId('example-editor').waitFor({ state: 'detached' });
      await page.getByTestId('example-output').getByText('Eat well, move daily, sleep 8 hours.').waitFor();
      // a refused edit keeps the editor open with the reason and changes nothing
      await page.getByTestId('example-row').nth(2).getByTestId('example-edit').click();
      await page.getByTestId('edit-instruction').fill('');
      await page.getByTestId('edit-context').fill('');
      await page.getByTestId('edit-output').fill('');
      await page.getByTestId('edit-save').click();
      const refusal = (await page.getByTestId('edit-error').textContent()) ?? '';
      assert(refusal.startsWith('Example 3 was not saved: record has no text'), `refusal names the example: "${refusal}"`);
      await page.getByTestId('example-editor').getByRole('button', { name: 'Cancel' }).click();

      await reloadData(page);
      await page.getByTestId('example-row').first().getByTestId('example-output').waitFor();
      assertEqual(await page.getByTestId('example-output').first().textContent(), 'Eat well, move daily, sleep 8 hours.', 'edit after reload');
      assertEqual(await page.getByTestId('example-instruction').nth(2).textContent(), 'Add the numbers.', 'refused edit left the record');
      const stored = await page.evaluate(async () => {
        const [dataset] = await window.hone!.remote.listDatasets();
        return (await window.hone!.remote.queryExamples(dataset.id, { offset: 0, limit: 1 })).examples[0];
      });
      assertEqual([stored.task, stored.split], ['advice', 'train'], 'task and split saved');
    },
  },
  {
    name: 'export downloads JSONL in each shape with the edit in it',
    async run({ page }) {
      const download = async (testId: string) => {
        const [file] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
        const path = await file.path();
        return { name: file.suggestedFilename(), text: readFileSync(path, 'utf8') };
      };
      const alpaca = await download('export-alpaca');
      assertEqual(alpaca.name, 'health-tips.alpaca.jsonl', 'file name');
      assertEqual(
        alpaca.text,
        [
          { instruction: RECORDS[0].instruction, input: '', output: 'Eat well, move daily, sleep 8 hours.' },
          RECORDS[1],
          RECORDS[2],
        ].map((r) => JSON.stringify(r) + '\n').join(''),
        'Alpaca JSONL',
      );
      const messages = await download('export-messages');
      assertEqual(
        messages.text.split('\n')[1],
        JSON.stringify({ messages: [{ role: 'user', content: 'Translate to French\n\nGood morning, 世界' }, { role: 'assistant', content: 'Bonjour, 世界 👋' }] }),
        'messages line 2',
      );
      const sharegpt = await download('export-sharegpt');
      assertEqual(JSON.parse(sharegpt.text.split('\n')[0]).conversations[1], { from: 'gpt', value: 'Eat well, move daily, sleep 8 hours.' }, 'ShareGPT reply');
    },
  },
  {
    name: 'a bad file is refused with its line and field, and nothing new is listed',
    async run({ page }) {
      const bad = [JSON.stringify(RECORDS[0]), JSON.stringify({ instruction: 'x', input: '', output: 42 }), JSON.stringify(RECORDS[2])].join('\n');
      await dropFile(page, 'bad.jsonl', bad);
      const alert = page.getByRole('alert').filter({ hasText: 'Nothing was imported' });
      await alert.waitFor({ timeout: 30_000 });
      assertEqual(
        (await alert.textContent())?.trim(),
        'Nothing was imported from file bad.jsonl (alpaca): line 2, field "output": expected a string, got number',
        'alert text',
      );
      assertEqual(await datasetRows(page), [{ name: 'health-tips', count: '3' }], 'datasets unchanged');
      await reloadData(page);
      assertEqual(await datasetRows(page), [{ name: 'health-tips', count: '3' }], 'datasets unchanged after reload');
    },
  },
  {
    name: 'a CSV goes through the column-mapping step',
    async run({ page }) {
      await dropFile(page, 'quiz.csv', 'question,answer,kind\r\nWhat is 2+2?,4,math\r\n"Name a colour, any",Blue,open\r\n');
      await page.getByTestId('csv-mapping').waitFor();
      assertEqual(await page.getByTestId('csv-map-instruction').inputValue(), 'question', 'guessed instruction column');
      assertEqual(await page.getByTestId('csv-map-output').inputValue(), 'answer', 'guessed output column');
      await page.getByTestId('csv-map-task').selectOption('kind');
      await page.getByTestId('csv-import').click();
      await page.getByTestId('data-notice').getByText('Imported 2 examples from quiz.csv (csv)').waitFor({ timeout: 30_000 });
      await page.getByTestId('example-instruction').nth(1).waitFor();
      assertEqual(await page.getByTestId('example-instruction').allTextContents(), ['What is 2+2?', 'Name a colour, any'], 'CSV rows');
      await page.getByTestId('filter-task').selectOption('open');
      await page.getByTestId('example-count').getByText('1 example match').waitFor();
    },
  },
  {
    name: 'the example list keeps only visible rows in the DOM; search and filters narrow it',
    async run({ page, log }) {
      const lines = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ instruction: `Question ${i}${i % 1000 === 7 ? ' about zebras' : ''}`, context: '', response: `Answer ${i}`, category: i % 2 ? 'odd' : 'even' }));
      await dropFile(page, 'many.jsonl', lines.join('\n'));
      await page.getByTestId('data-notice').getByText('Imported 5,000 examples from many.jsonl (dolly)').waitFor({ timeout: 60_000 });
      await page.getByTestId('example-count').getByText('5,000 examples').waitFor();
      const rendered = await page.getByTestId('example-row').count();
      log(`${rendered} rows in the DOM for 5,000 examples`);
      assert(rendered > 5 && rendered < 20, `only visible rows rendered, got ${rendered}`);
      await page.getByTestId('example-list').evaluate((el) => (el.scrollTop = el.scrollHeight));
      await page.getByTestId('example-row').getByText('Question 4999').waitFor();
      assert((await page.getByTestId('example-row').count()) < 20, 'still only visible rows after scrolling');
      await page.getByTestId('example-search').fill('ZEBRAS');
      await page.getByTestId('example-count').getByText('5 examples match').waitFor();
      assertEqual(
        await page.getByTestId('example-instruction').allTextContents(),
        [7, 1007, 2007, 3007, 4007].map((i) => `Question ${i} about zebras`),
        'search results',
      );
      await page.getByTestId('filter-task').selectOption('even');
      await page.getByTestId('example-count').getByText('0 examples match').waitFor();
    },
  },
  {
    name: 'statistics, a seeded split and the duplicate check work on the selected dataset',
    async run({ page }) {
      await page.getByText('Statistics', { exact: true }).click();
      await page.getByTestId('load-stats').click();
      await page.getByTestId('stats-summary').getByText('5,000 examples: 0 train, 0 validation, 0 test, 5000 not split.').waitFor();
      // "Question i" + "Answer i" is 4 words (6 with "about zebras"): every example in the first bucket
      assertEqual(await page.getByTestId('length-histogram').locator('rect').first().getAttribute('data-count'), '5000', 'first bucket');
      await page.getByText('Split into train / validation / test').click();
      await page.getByTestId('split-apply').click();
      await page.getByTestId('data-notice').getByText('Split into 4000 train, 500 validation and 500 test examples.').waitFor();
      const many = page.getByTestId('dataset-item').filter({ hasText: 'many' });
      assertEqual((await many.locator('td').nth(2).textContent())?.trim(), '4000 / 500 / 500', 'split counts in the list');
      await page.getByText('Duplicates', { exact: true }).click();
      await page.getByTestId('find-duplicates').click();
      await page.getByTestId('duplicates-summary').getByText('0 exact groups (0 redundant examples), 0 further near-duplicate groups.').waitFor({ timeout: 60_000 });
    },
  },
  {
    name: 'a running import is cancelled through the worker API and stores nothing',
    async run({ page }) {
      const result = await page.evaluate(async () => {
        const remote = window.hone!.remote;
        const before = (await remote.listDatasets()).length;
        const line = JSON.stringify({ instruction: 'Echo', input: '', output: 'x'.repeat(1000) }) + '\n';
        const bytes = new TextEncoder().encode(line.repeat(40_000)).buffer; // ~40 MB
        const running = remote.importDataset({ name: 'huge.jsonl', bytes }, {});
        await new Promise((resolve) => setTimeout(resolve, 50));
        const cancelled = await remote.cancelDatasetImport();
        const outcome = await running;
        return { before, after: (await remote.listDatasets()).length, cancelled, outcome };
      });
      assertEqual(result.cancelled, true, 'cancel reached a running import');
      assertEqual(result.outcome, { status: 'cancelled' }, 'outcome');
      assertEqual(result.after, result.before, 'datasets unchanged');
    },
  },
];
