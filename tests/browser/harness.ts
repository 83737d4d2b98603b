// A tiny sequential harness for the browser specs: each spec file exports `tests`, and all tests
// of one file share one fresh browser context (so IndexedDB starts empty per file and tests in a
// file may build on each other, e.g. import → reload → still listed).
import { readFileSync, readdirSync } from 'node:fs';
import type { BrowserContext, Page } from 'playwright-core';
import type {} from '../../src/studio-client'; // brings the `window.hone` declaration
import { parseSafetensors, type HostTensor } from '../../src/core/model/safetensors';

export interface TestContext {
  context: BrowserContext;
  /** the page the file's tests share; opened by the runner on an empty tab */
  page: Page;
  /** e.g. http://127.0.0.1:41234/ */
  baseUrl: string;
  log: (message: string) => void;
}

export interface BrowserTest {
  name: string;
  run: (t: TestContext) => Promise<void>;
}

export class AssertionError extends Error {
  override name = 'AssertionError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

export function assertEqual<T>(actual: T, expected: T, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new AssertionError(`${what}: expected ${e}, got ${a}`);
}

// ---- fixtures -----------------------------------------------------------------------------------

export type FixtureModel = 'tiny-gpt2' | 'tiny-llama';
export const MODEL_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'] as const;

export function fixturePath(model: FixtureModel, file: string): string {
  return new URL(`../fixtures/hf/${model}/${file}`, import.meta.url).pathname;
}

export interface Reference {
  tokenizer: { text: string; ids: number[]; decoded: string }[];
  logits: { input_ids: number[][]; attention_mask: number[][]; tensor: string };
  greedy: { prompt_ids: number[]; output_ids: number[] };
}

export function readReference(model: FixtureModel): Reference {
  return JSON.parse(readFileSync(fixturePath(model, 'reference.json'), 'utf8')) as Reference;
}

export function readReferenceTensor(model: FixtureModel, name: string): HostTensor {
  const tensors = parseSafetensors(new Uint8Array(readFileSync(fixturePath(model, 'reference.safetensors'))), 'reference.safetensors');
  const tensor = tensors.get(name);
  if (!tensor) throw new Error(`reference.safetensors of ${model} has no tensor "${name}"`);
  return tensor;
}

/** Total element count of every tensor in a safetensors file, read from its header alone. */
export function safetensorsElementCount(path: string): number {
  const bytes = readFileSync(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, { shape?: number[] }>;
  let total = 0;
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    total += (entry.shape ?? []).reduce((a, b) => a * b, 1);
  }
  return total;
}

/** A model's checkpoint files as base64, for handing to the page through page.evaluate. */
export function modelFilesBase64(model: FixtureModel): { name: string; base64: string }[] {
  return MODEL_FILES.map((name) => ({ name, base64: readFileSync(fixturePath(model, name)).toString('base64') }));
}

/**
 * The micro stand-in for the built-in model (tests/fixtures/hone-micro): file name → bytes, for
 * specs that answer the app's requests for public/models/hone-tiny themselves.
 */
export function microModelFiles(): Map<string, Buffer> {
  const dir = new URL('../fixtures/hone-micro/', import.meta.url).pathname;
  return new Map(readdirSync(dir).map((name) => [name, readFileSync(`${dir}${name}`)]));
}

// ---- page helpers -------------------------------------------------------------------------------

/** Waits until the worker has chosen a backend (the status bar leaves "choosing backend…"). */
export async function waitForBackend(page: Page, timeoutMs = 90_000): Promise<string> {
  const chosen = page.getByTestId('backend-chosen');
  await page.waitForFunction(
    () => {
      const text = document.querySelector('[data-testid="backend-chosen"]')?.textContent ?? '';
      return text !== '' && !text.includes('choosing');
    },
    undefined,
    { timeout: timeoutMs },
  );
  return (await chosen.textContent()) ?? '';
}

/** Opens url and waits for the Start page to show the stored model, or say that it is missing. */
export async function openHome(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await waitForBackend(page);
  await page.getByTestId('home-model').or(page.getByTestId('home-missing')).waitFor({ timeout: 90_000 });
}

// ---- the Data view ------------------------------------------------------------------------------

/** Opens the Data view and waits until its dataset list has loaded. */
export async function openData(page: Page): Promise<void> {
  await page.getByTestId('nav-data').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="dataset-list"], [data-testid="datasets-empty"]')?.textContent?.includes('Loading') === false);
}

/** The datasets the Data view lists, by name and shown count. */
export async function datasetRows(page: Page): Promise<{ name: string; count: string }[]> {
  const items = page.getByTestId('dataset-item');
  const rows = [];
  for (let i = 0; i < (await items.count()); i++) {
    const item = items.nth(i);
    rows.push({ name: (await item.getByTestId('dataset-name').textContent()) ?? '', count: (await item.getByTestId('dataset-count').textContent()) ?? '' });
  }
  return rows;
}
