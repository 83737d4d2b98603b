// The report's pure parts: word-level differences (what the side-by-side view marks), CSV quoting,
// preference pairs from A/B votes, the FLAN figure's groups, few-shot summaries, and eval lines.
import { describe, expect, it } from 'vitest';
import { wordDiff } from '../../src/core/eval/diff';
import { isEvalLine, itemFromRecord, optionsFromTasks, parseEvalLine } from '../../src/core/eval/eval-set';
import { figureGroups, fewShotSummary, preferencePairs, reportCsv, summarizeReport, type EvalReport, type ReportRow } from '../../src/core/eval/report';
import { aggregate } from '../../src/core/eval/aggregate';
import type { RatingRecord } from '../../src/core/store/schema';
import { tunedIsA } from '../../src/ui/eval/format';

const row = (index: number, over: Partial<ReportRow> = {}): ReportRow => ({
  index,
  id: `e${index}`,
  task: 't',
  cluster: index < 2 ? 'a' : 'b',
  prompt: `Prompt ${index}`,
  references: ['ref'],
  base: { output: `base ${index}`, score: index / 10 },
  tuned: { output: `tuned ${index}`, score: 0.5 },
  fewShot: null,
  difference: 0.5 - index / 10,
  winner: 'tuned',
  ...over,
});

const rating = (exampleId: string, kind: 'thumbs' | 'ab', value: string): RatingRecord => ({ id: `${exampleId}-${kind}`, evaluationId: 'ev', exampleId, kind, value, createdAt: 1 });

describe('wordDiff', () => {
  it('marks the words outside the longest common subsequence, and the parts join back to the texts', () => {
    const { a, b } = wordDiff('the cat sat on the mat', 'the dog sat on a mat');
    expect(a).toEqual([
      { text: 'the ', changed: false },
      { text: 'cat', changed: true },
      { text: ' sat on ', changed: false },
      { text: 'the', changed: true },
      { text: ' mat', changed: false },
    ]);
    expect(b.filter((p) => p.changed).map((p) => p.text)).toEqual(['dog', 'a']);
    expect(b.map((p) => p.text).join('')).toBe('the dog sat on a mat');
    // whitespace between two changed words belongs to the change
    expect(wordDiff('x y', 'p q').a).toEqual([{ text: 'x y', changed: true }]);
    expect(wordDiff('same', 'same')).toEqual({ a: [{ text: 'same', changed: false }], b: [{ text: 'same', changed: false }] });
    expect(wordDiff('', 'new words')).toEqual({ a: [], b: [{ text: 'new words', changed: true }] });
  });
});

describe('exports', () => {
  const report = {
    name: 'r',
    rows: [row(0, { prompt: 'Say "hi", then\nstop', references: ['a', 'b'] }), row(1, { tuned: null, difference: null, winner: null })],
  } as EvalReport;

  it('writes RFC 4180 CSV with the ratings', () => {
    const csv = reportCsv(report, [rating('e0', 'thumbs', 'up'), rating('e0', 'ab', 'base')]);
    const lines = csv.split('\r\n');
    expect(lines[1]).toBe('0,e0,t,a,"Say ""hi"", then\nstop",a ||| b,base 0,0,tuned 0,0.5,0.5,tuned,,,up,base');
    expect(lines[2]).toBe('1,e1,t,a,Prompt 1,ref,base 1,0.1,,,,,,,,');
    expect(csv.endsWith('\r\n')).toBe(true);
  });

  it('turns A/B votes into prompt / chosen / rejected pairs, leaving out ties, thumbs and unknown examples', () => {
    const pairs = preferencePairs(report, [rating('e0', 'ab', 'base'), rating('e0', 'thumbs', 'up'), rating('e1', 'ab', 'tie'), rating('gone', 'ab', 'tuned')]);
    expect(pairs.count).toBe(1);
    expect(pairs.text).toBe(JSON.stringify({ prompt: 'Say "hi", then\nstop', chosen: 'base 0', rejected: 'tuned 0' }) + '\n');
    expect(preferencePairs(report, []).text).toBe('');
  });
});

describe('figure and summaries', () => {
  it('groups base zero-shot, base k-shot and tuned zero-shot per cluster and overall', () => {
    const rows = [0, 1, 2, 3].map((i) => row(i, { fewShot: { output: 'f', score: i === 3 ? 1 : 0, prompt: 'k' } }));
    const aggregates = aggregate(rows.map((r) => ({ task: r.task, cluster: r.cluster, base: r.base.score, tuned: r.tuned!.score })));
    const few = fewShotSummary(rows, 2)!;
    expect(few).toEqual({ shots: 2, count: 4, overall: 0.25, byTask: { t: 0.25 }, byCluster: { a: 0, b: 0.5 } });
    const groups = figureGroups(aggregates, few, true);
    expect(groups).toEqual([
      { group: 'a', count: 2, baseZeroShot: 0.05, baseFewShot: 0, tunedZeroShot: 0.5 },
      { group: 'b', count: 2, baseZeroShot: 0.25, baseFewShot: 0.5, tunedZeroShot: 0.5 },
      { group: 'all examples', count: 4, baseZeroShot: 0.15000000000000002, baseFewShot: 0.25, tunedZeroShot: 0.5 },
    ]);
    expect(figureGroups(aggregates, null, false)[0]).toEqual({ group: 'a', count: 2, baseZeroShot: 0.05, baseFewShot: null, tunedZeroShot: null });
    expect(fewShotSummary([row(0)], 1)).toBeNull();
  });

  it('summarises a stored report for the list', () => {
    const rows = [row(0), row(1)];
    const aggregates = aggregate(rows.map((r) => ({ task: r.task, cluster: r.cluster, base: r.base.score, tuned: r.tuned!.score })));
    const report = {
      name: 'n', createdAt: 5, status: 'completed', metric: { name: 'rougeL', best: 1 }, model: { name: 'm' }, tuned: { name: 'run' }, rows, aggregates,
      comparison: { ...aggregates, interval: { low: -0.1, high: 0.9 } },
    } as unknown as EvalReport;
    expect(summarizeReport('id1', report)).toEqual({
      id: 'id1', name: 'n', createdAt: 5, status: 'completed', metric: 'rougeL', best: 1, modelName: 'm', tunedName: 'run', count: 2,
      base: 0.05, tuned: 0.5, difference: 0.45, interval: { low: -0.1, high: 0.9 },
    });
  });

  it('fixes which side is A per evaluation and example, about half the time each', () => {
    expect(tunedIsA('ev', 'e1')).toBe(tunedIsA('ev', 'e1'));
    const share = Array.from({ length: 200 }, (_, i) => tunedIsA('ev', `e${i}`)).filter(Boolean).length;
    expect(share).toBeGreaterThan(70);
    expect(share).toBeLessThan(130);
  });
});

describe('eval items', () => {
  it('reads Hone eval lines, naming the line and field of a mistake', () => {
    expect(isEvalLine({ instruction: 'x', output: 'y' })).toBe(false);
    expect(isEvalLine({ prompt: 'x' })).toBe(true);
    expect(parseEvalLine({ prompt: 'Q:', options: ['a', 'b'], gold: 1, task: 'quiz' }, 3)).toEqual({ id: '3', instruction: '', prompt: 'Q:', references: [], task: 'quiz', cluster: 'quiz', options: ['a', 'b'], gold: 1 });
    expect(parseEvalLine({ instruction: 'Add.', input: '1 and 2', output: '3' }, 1)).toEqual({ id: '1', instruction: 'Add.', context: '1 and 2', references: ['3'], task: '(none)', cluster: '(none)' });
    expect(() => parseEvalLine({ prompt: 'Q', refs: [] }, 7)).toThrow('line 7: unknown field "refs"');
    expect(() => parseEvalLine({ prompt: 'Q', references: 'a' }, 2)).toThrow('line 2, field "references": must be a list of strings');
    expect(() => parseEvalLine({ context: 'c' }, 4)).toThrow('line 4: give "instruction" (rendered into a prompt) or "prompt" (used as is)');
  });

  it('takes every acceptable output as a reference and leaves conversations out', () => {
    expect(itemFromRecord({ instruction: 'i', output: 'a', outputs: ['a', 'b'], task: 'qa' }, '1')).toEqual({ id: '1', instruction: 'i', references: ['a', 'b'], task: 'qa', cluster: 'qa' });
    expect(itemFromRecord({ instruction: 'i', conversation: [{ role: 'user', content: 'x' }] }, '2')).toBeNull();
  });

  it('derives options from a classification task’s answers, and refuses open-ended tasks', () => {
    const items = ['yes', 'no', 'yes'].map((answer, i) => ({ id: String(i), instruction: 'q', references: [answer], task: 'yn', cluster: 'c' }));
    expect(optionsFromTasks(items).map((item) => [item.options, item.gold])).toEqual([[['no', 'yes'], 1], [['no', 'yes'], 0], [['no', 'yes'], 1]]);
    expect(() => optionsFromTasks([items[0]])).toThrow('task "yn" has 1 distinct answer(s); ranking options by log-likelihood needs 2 to 20');
  });
});
