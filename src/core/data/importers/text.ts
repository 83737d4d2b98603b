// Plain text for mixing pretraining-style data into instruction tuning. Paragraphs (separated by
// one or more blank or whitespace-only lines) become records
//   { instruction: '', output: paragraph, tags: ['pretraining-text'] }
// Why `output` and an empty instruction: the trainer computes loss on `output`, so the paragraph
// is what the model learns to produce, with no prompt in front of it — exactly language-model
// pretraining; the tag lets templates and mixing tell these records apart from real instructions.
// Lines inside a paragraph keep their line breaks (CRLF becomes LF) and their indentation.
import { splitLines } from './lines';
import type { Importer, ParseItem } from './types';

export const PRETRAINING_TAG = 'pretraining-text';

export const textImporter: Importer = {
  format: 'text',
  async *parse(chunks: AsyncIterable<string>): AsyncGenerator<ParseItem> {
    let paragraph: string[] = [];
    for await (const { text } of splitLines(chunks)) {
      if (text.trim() === '') {
        if (paragraph.length > 0) yield { record: { instruction: '', output: paragraph.join('\n'), tags: [PRETRAINING_TAG] } };
        paragraph = [];
      } else paragraph.push(text);
    }
    if (paragraph.length > 0) yield { record: { instruction: '', output: paragraph.join('\n'), tags: [PRETRAINING_TAG] } };
  },
};
