// `metrics --file CASES.json`: runs every metric case of a file shaped like
// tests/fixtures/metrics/golden.json ({"cases": [...]}, or a bare list of cases) and returns one
// result per case, in order. `expected` fields are ignored: this computes, it does not compare.
import { readFile } from 'node:fs/promises';
import { type MetricCase, type MetricResult, runMetricCase } from '../../src/core/eval/metrics/index';
import { UsageError } from '../args';

export async function metricsCommand(file: string): Promise<unknown[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${file}: cannot read the cases file (${(e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const cases = Array.isArray(json) ? json : (json as { cases?: unknown } | null)?.cases;
  if (!Array.isArray(cases)) {
    throw new UsageError(`${file}: expected {"cases": [...]} or a list of cases, each {"metric", "options", "hypothesis", "references"}`);
  }
  return cases.map((entry: unknown, index): MetricResult => {
    if (typeof entry !== 'object' || entry === null || typeof (entry as MetricCase).metric !== 'string') {
      throw new UsageError(`${file}: cases[${index}] is not an object with a "metric" string`);
    }
    try {
      return runMetricCase(entry as MetricCase);
    } catch (e) {
      throw new UsageError(`${file}: cases[${index}]: ${(e as Error).message}`);
    }
  });
}
