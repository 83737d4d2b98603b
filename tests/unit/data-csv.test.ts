// CSV/TSV: RFC 4180 quoting across chunk boundaries, column mappings and their errors.
import { describe, expect, it } from 'vitest';
import { importText, type ImportOptions } from '../../src/core/data/import';
import { csvRows } from '../../src/core/data/importers/csv';
import { chunked, drain } from './data-helpers';

async function importAll(text: string, opts: ImportOptions = {}) {
  const whole = await importText(text, { ...opts, format: 'csv' });
  for (const size of [1, 2, 5, 4096]) expect(await importText(chunked(text, size), { ...opts, format: 'csv' })).toEqual(whole);
  return whole;
}

describe('csv', () => {
  it('parses quoted delimiters, doubled quotes and embedded newlines (RFC 4180)', async () => {
    const text = 'a,b,c\r\n"1,5","say ""hi""","line one\r\nline two"\r\nplain,,"multi\nline"\r\n';
    const rows = await drain(csvRows(chunked(text, 3), ','));
    expect(rows).toEqual([
      { cells: ['a', 'b', 'c'], line: 1 },
      { cells: ['1,5', 'say "hi"', 'line one\nline two'], line: 2 },
      { cells: ['plain', '', 'multi\nline'], line: 4 },
    ]);
  });

  it('maps columns onto fields, with a BOM, CRLF and Unicode', async () => {
    const text =
      '\uFEFFprompt,input,answer,kind,fold,labels\r\n' +
      '"Translate ""cat"" to Japanese",,猫 🐈,translation,train,"lang, easy"\r\n' +
      'Summarise,"First line,\r\nsecond line",Two lines.,summary,test,\r\n';
    const mapping = { instruction: 'prompt', context: 'input', output: 'answer', task: 'kind', split: 'fold', tags: 'labels' };
    expect(await importAll(text, { mapping })).toEqual({
      format: 'csv',
      errors: [],
      records: [
        { instruction: 'Translate "cat" to Japanese', output: '猫 🐈', task: 'translation', split: 'train', tags: ['lang', 'easy'] },
        { instruction: 'Summarise', context: 'First line,\nsecond line', output: 'Two lines.', task: 'summary', split: 'test' },
      ],
    });
  });

  it('sniffs TSV from the header and maps a header that names the fields itself', async () => {
    const text = 'instruction\tinput\toutput\nAdd\t2 3\t5\nQuote "this"\t\tok\n';
    expect((await importAll(text)).records).toEqual([
      { instruction: 'Add', context: '2 3', output: '5' },
      { instruction: 'Quote "this"', output: 'ok' },
    ]);
  });

  it('reports a mapped column that the header lacks', async () => {
    const result = await importAll('question,answer\nq,a\n', { mapping: { instruction: 'question', output: 'reply' } });
    expect(result.errors).toEqual([{ line: 1, field: 'reply', message: 'is mapped to "output" but is not a column of the header (columns: "question", "answer")' }]);
  });

  it('asks for a mapping when the header has no instruction column', async () => {
    const result = await importAll('question,answer\nq,a\n');
    expect(result.errors).toEqual([
      { line: 1, message: 'no column mapping was given and the header has no "instruction" column (columns: "question", "answer"); map columns to fields, e.g. { instruction: "question", output: … }' },
    ]);
  });

  it('names the line of a short row, a bad split and an unclosed quote', async () => {
    const mapping = { instruction: 'q', output: 'a', split: 's' };
    const text = 'q,a,s\nfine,yes,train\nshort,row\n"multi\nline",x,dev\nok,"never closed\n';
    expect((await importAll(text, { mapping })).errors).toEqual([
      { line: 3, message: 'the row has 2 fields but the header has 3' },
      { line: 4, field: 'split', message: 'expected one of train, validation, test, got "dev"' },
      { line: 6, message: 'the quoted field in column 2 never closes: the file ends inside it (missing closing quote?)' },
    ]);
  });

  it('reports text after a closing quote and goes on with the next row', async () => {
    const result = await importAll('instruction,output\n"a"b,c\nd,e\n');
    expect(result.errors).toEqual([{ line: 2, message: 'column 1: text after a closing quote; a quote inside a quoted field must be doubled ("")' }]);
    const rows = await drain(csvRows(chunked('x,y\n"a"b,c\nd,e\n', 2), ','));
    expect(rows.at(-1)).toEqual({ cells: ['d', 'e'], line: 3 });
  });
});
