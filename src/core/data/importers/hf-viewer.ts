// Importing straight from the Hugging Face dataset viewer API (https://huggingface.co/docs/dataset-viewer):
//   GET {base}/splits?dataset=…                          → { splits: [{ dataset, config, split }] }
//   GET {base}/rows?dataset&config&split&offset&length   → { features, rows: [{ row_idx, row, truncated_cells }], num_rows_total }
// Rows come 100 at a time (the API's maximum). Their shape (alpaca, dolly, sharegpt, messages,
// trl, hone) is read from the first row's columns and every row goes through that format's converter,
// so a Hub dataset and the same data as a local file give the same records.
// `fetch` is injectable: tests answer from a local server, the worker passes its own.
import { shapeOfKeys, type RecordShape } from '../detect';
import { importError, isPlainObject, typeName, type RecordLocation, type Split } from '../record';
import { fromAlpaca } from './alpaca';
import { fromDolly } from './dolly';
import { fromHone } from './hone';
import { fromMessages } from './messages';
import { fromShareGpt } from './sharegpt';
import { fromTrl } from './trl';
import type { Converted, ParseItem } from './types';

export const HF_VIEWER_BASE = 'https://datasets-server.huggingface.co';
/** The rows endpoint refuses `length` above 100. */
export const HF_VIEWER_MAX_PAGE = 100;

export interface FetchResponse {
  ok: boolean;
  status: number;
  text(): Promise<string>;
}
export type FetchLike = (url: string, init?: { signal?: AbortSignal }) => Promise<FetchResponse>;

export interface HfViewerOptions {
  /** the Hub id, e.g. `databricks/databricks-dolly-15k` */
  dataset: string;
  /** the dataset's config (subset); default: the first one that has the split */
  config?: string;
  /** default: `train`, else the first split listed */
  split?: string;
  /** default HF_VIEWER_BASE; a mirror or a test server */
  baseUrl?: string;
  fetch?: FetchLike;
  signal?: AbortSignal;
  /** rows per request, at most 100 */
  pageSize?: number;
  /** stop after this many rows (a quick look at a large dataset) */
  maxRows?: number;
  /** called after each page with rows read so far and the split's size */
  onRows?: (done: number, total: number) => void;
}

type RowConverter = (value: unknown, where: RecordLocation) => Converted;
const CONVERTERS: Record<Exclude<RecordShape, 'sni'>, RowConverter> = {
  alpaca: fromAlpaca,
  dolly: fromDolly,
  sharegpt: fromShareGpt,
  messages: fromMessages,
  trl: fromTrl,
  hone: fromHone,
};

/** Hub split names onto Hone's three; other names (e.g. `train_sft`) leave `split` unset. */
const SPLIT_NAMES: Record<string, Split> = { train: 'train', validation: 'validation', valid: 'validation', dev: 'validation', test: 'test' };

class ViewerError extends Error {}

async function getJson(url: string, opts: HfViewerOptions): Promise<Record<string, unknown>> {
  const fetcher: FetchLike = opts.fetch ?? ((u, init) => globalThis.fetch(u, init));
  let response: FetchResponse;
  try {
    response = await fetcher(url, { signal: opts.signal });
  } catch (error) {
    if (opts.signal?.aborted) throw error; // cancellation is not a data error
    throw new ViewerError(`could not reach the dataset viewer at ${url}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const body = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    const reason = isPlainObject(json) && typeof json.error === 'string' ? json.error : body.slice(0, 200);
    throw new ViewerError(`the dataset viewer answered ${response.status} to ${url}: ${reason}`);
  }
  if (!isPlainObject(json)) throw new ViewerError(`the dataset viewer's answer to ${url} is not a JSON object`);
  return json;
}

function query(params: Record<string, string | number>): string {
  return Object.entries(params).map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`).join('&');
}

async function chooseSplit(base: string, opts: HfViewerOptions): Promise<{ config: string; split: string }> {
  const json = await getJson(`${base}/splits?${query({ dataset: opts.dataset })}`, opts);
  const splits = Array.isArray(json.splits) ? json.splits.filter(isPlainObject) : [];
  const entries = splits.filter((s) => typeof s.config === 'string' && typeof s.split === 'string') as { config: string; split: string }[];
  const inConfig = opts.config === undefined ? entries : entries.filter((s) => s.config === opts.config);
  const wanted = opts.split ?? (inConfig.some((s) => s.split === 'train') ? 'train' : inConfig[0]?.split);
  const chosen = inConfig.find((s) => s.split === wanted);
  if (!chosen) {
    const available = entries.map((s) => `${s.config}/${s.split}`).join(', ') || 'none';
    throw new ViewerError(`dataset "${opts.dataset}" has no split ${opts.config ?? '(any config)'}/${wanted ?? '(any)'} (available: ${available})`);
  }
  return chosen;
}

/** Yields each row of one split as a record or located errors (`record` = the row's row_idx). */
export async function* parseHfDataset(opts: HfViewerOptions): AsyncGenerator<ParseItem> {
  const base = (opts.baseUrl ?? HF_VIEWER_BASE).replace(/\/+$/, '');
  const pageSize = Math.min(Math.max(1, opts.pageSize ?? HF_VIEWER_MAX_PAGE), HF_VIEWER_MAX_PAGE);
  try {
    const { config, split } = await chooseSplit(base, opts);
    const honeSplit = Object.hasOwn(SPLIT_NAMES, split) ? SPLIT_NAMES[split] : undefined; // own property: the name comes from the Hub
    let convert: RowConverter | undefined;
    let offset = 0;
    for (;;) {
      const length = opts.maxRows === undefined ? pageSize : Math.min(pageSize, opts.maxRows - offset);
      if (length <= 0) return;
      const url = `${base}/rows?${query({ dataset: opts.dataset, config, split, offset, length })}`;
      const page = await getJson(url, opts);
      const total = page.num_rows_total;
      if (!Array.isArray(page.rows) || typeof total !== 'number') {
        throw new ViewerError(`the dataset viewer's answer to ${url} lacks "rows" or "num_rows_total"`);
      }
      for (const item of page.rows) {
        const index = isPlainObject(item) && typeof item.row_idx === 'number' ? item.row_idx : offset;
        const where = { record: index };
        if (!isPlainObject(item) || !isPlainObject(item.row)) {
          yield { error: importError(where, undefined, `expected a {row_idx, row} object from the viewer, got ${typeName(item)}`) };
          continue;
        }
        const truncated = Array.isArray(item.truncated_cells) ? item.truncated_cells : [];
        if (truncated.length > 0) {
          yield { error: importError(where, String(truncated[0]), 'was truncated by the dataset viewer (the cell is too large); download the dataset files and import them instead') };
          continue;
        }
        if (!convert) {
          const shape = shapeOfKeys(Object.keys(item.row));
          if (!shape || shape === 'sni') {
            throw new ViewerError(`the rows of "${opts.dataset}" have the columns ${Object.keys(item.row).join(', ')}, which match no format Hone reads (${Object.keys(CONVERTERS).join(', ')})`);
          }
          convert = CONVERTERS[shape];
        }
        const converted = convert(item.row, where);
        if ('errors' in converted) {
          for (const error of converted.errors) yield { error };
          continue;
        }
        const record = converted.record;
        if (record.source === undefined) record.source = opts.dataset;
        if (record.split === undefined && honeSplit) record.split = honeSplit;
        yield { record };
      }
      offset += page.rows.length;
      opts.onRows?.(offset, total);
      if (offset >= total) return;
      if (page.rows.length === 0) throw new ViewerError(`the dataset viewer returned no rows at offset ${offset} of ${total}`);
    }
  } catch (error) {
    if (!(error instanceof ViewerError)) throw error;
    yield { error: { message: error.message } };
  }
}
