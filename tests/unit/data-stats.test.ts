// Statistics: exact counts per split, task and cluster, and exact length histograms in words or tokens.
import { describe, expect, it } from 'vitest';
import { datasetStats, DEFAULT_LENGTH_EDGES, lengthHistogram, measuredText, StatsAccumulator, type StatsRecord } from '../../src/core/data/stats';

const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');

const records: StatsRecord[] = [
  { instruction: 'What is 2 + 2?', output: '4', task: 'math', cluster: 'reasoning', split: 'train' }, // 6 words
  { instruction: words(10), context: words(10), output: words(10), task: 'qa', cluster: 'qa', split: 'train' }, // 30
  { instruction: words(20), output: words(20), task: 'qa', cluster: 'qa', split: 'validation' }, // 40
  { instruction: words(100), output: words(100), task: 'summarise', cluster: 'qa', split: 'test' }, // 200
  { instruction: '', conversation: [{ role: 'user', content: 'hi there' }, { role: 'assistant', content: 'hello' }], task: 'chat' }, // 3
  { instruction: words(3000), output: words(2000) }, // 5000: beyond the last edge
  { instruction: 'x', output: 'y', task: 'math', cluster: 'reasoning', split: 'test' }, // 2
];

describe('lengthHistogram', () => {
  it('counts [from, to) buckets with an open-ended last one', () => {
    expect(lengthHistogram([0, 15, 16, 17, 100, 5], [0, 16, 64])).toEqual([
      { from: 0, to: 16, count: 3 },
      { from: 16, to: 64, count: 2 },
      { from: 64, to: null, count: 1 },
    ]);
    expect(DEFAULT_LENGTH_EDGES).toEqual([0, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]);
  });

  it('refuses edges that do not start at 0 or do not increase', () => {
    expect(() => lengthHistogram([1], [1, 2])).toThrow('length histogram: edges must start at 0, got [1, 2]');
    expect(() => lengthHistogram([1], [0, 8, 8])).toThrow('length histogram: edges must be whole numbers in increasing order; edge 2 is 8 after 8');
  });
});

describe('datasetStats', () => {
  it('counts records per split, per task and per cluster, broken down by split', () => {
    const stats = datasetStats(records);
    expect(stats.total).toBe(7);
    expect(stats.splits).toEqual({ train: 2, validation: 1, test: 2, unsplit: 2 });
    expect(stats.tasks).toEqual([
      { name: 'math', total: 2, train: 1, validation: 0, test: 1, unsplit: 0 },
      { name: 'qa', total: 2, train: 1, validation: 1, test: 0, unsplit: 0 },
      { name: 'chat', total: 1, train: 0, validation: 0, test: 0, unsplit: 1 },
      { name: 'summarise', total: 1, train: 0, validation: 0, test: 1, unsplit: 0 },
      { name: null, total: 1, train: 0, validation: 0, test: 0, unsplit: 1 },
    ]);
    expect(stats.clusters).toEqual([
      { name: 'qa', total: 3, train: 1, validation: 1, test: 1, unsplit: 0 },
      { name: 'reasoning', total: 2, train: 1, validation: 0, test: 1, unsplit: 0 },
      { name: null, total: 2, train: 0, validation: 0, test: 0, unsplit: 2 },
    ]);
  });

  it('histograms whitespace words over the default edges', () => {
    const { lengths } = datasetStats(records);
    // lengths sorted: 2, 3, 6, 30, 40, 200, 5000
    expect(lengths).toEqual({
      unit: 'words',
      buckets: [
        { from: 0, to: 16, count: 3 },
        { from: 16, to: 32, count: 1 },
        { from: 32, to: 64, count: 1 },
        { from: 64, to: 128, count: 0 },
        { from: 128, to: 256, count: 1 },
        { from: 256, to: 512, count: 0 },
        { from: 512, to: 1024, count: 0 },
        { from: 1024, to: 2048, count: 0 },
        { from: 2048, to: 4096, count: 0 },
        { from: 4096, to: null, count: 1 },
      ],
      min: 2,
      max: 5000,
      mean: 5281 / 7,
      median: 30,
      p95: 5000,
    });
  });

  it('counts tokens with a given tokenize function, over given edges', () => {
    const characters = (text: string) => Array.from(text); // one "token" per character
    const stats = datasetStats(records.slice(0, 1).concat(records.slice(4, 5)), { tokenize: characters, edges: [0, 10, 20] });
    expect(measuredText(records[0])).toBe('What is 2 + 2?\n\n4');
    expect(measuredText(records[4])).toBe('hi there\n\nhello');
    expect(stats.lengths).toEqual({
      unit: 'tokens',
      buckets: [
        { from: 0, to: 10, count: 0 },
        { from: 10, to: 20, count: 2 },
        { from: 20, to: null, count: 0 },
      ],
      min: 15,
      max: 17,
      mean: 16,
      median: 15,
      p95: 17,
    });
    expect(datasetStats([records[0]], { tokenize: () => 7 }).lengths?.max).toBe(7);
  });

  it('accumulates batch by batch to the same result, and handles no records', () => {
    const accumulator = new StatsAccumulator();
    for (const record of records.slice(0, 3)) accumulator.add(record);
    for (const record of records.slice(3)) accumulator.add(record);
    expect(accumulator.result()).toEqual(datasetStats(records));
    expect(datasetStats([])).toEqual({ total: 0, splits: { train: 0, validation: 0, test: 0, unsplit: 0 }, tasks: [], clusters: [], lengths: null });
  });

  it('names a record with an unknown split', () => {
    expect(() => datasetStats([records[0], { instruction: 'q', split: 'dev' as never }])).toThrow(
      'statistics: record 2 has split "dev", not train, validation or test',
    );
  });

  it('handles 100,000 records', () => {
    const many = Array.from({ length: 100_000 }, (_, i): StatsRecord => ({ instruction: words(i % 50), task: `t${i % 7}`, split: i % 10 === 0 ? 'test' : 'train' }));
    const stats = datasetStats(many);
    expect(stats.splits).toEqual({ train: 90_000, validation: 0, test: 10_000, unsplit: 0 });
    expect(stats.tasks.map((t) => t.total)).toEqual([14_286, 14_286, 14_286, 14_286, 14_286, 14_285, 14_285]); // 100,000 = 7 × 14,285 + 5;
    expect(stats.lengths?.buckets.slice(0, 4).map((b) => b.count)).toEqual([32_000, 32_000, 36_000, 0]);
  });
});
