// Every record trains as what it is: plain text unwrapped, instruction records through the chosen
// prompt format (Alpaca, the record's FLAN template zero- or k-shot, the chat template), SNI tasks in
// SNI's prompt shape with the chosen numbers of positive and negative examples, conversations
// through the chat template — and a mixture of all of them in one call keeps each record's kind.
// Expected rows are built from first principles (the rendered text, tokenized as TRL does), so the
// tests fail if a record were wrapped, masked or tokenized differently.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { InstructionRecord } from '../../src/core/data/record';
import { getTemplate, renderExample } from '../../src/core/data/templates';
import { HoneTokenizer } from '../../src/core/tokenizer/tokenizer';
import { IGNORE_INDEX, type Row } from '../../src/core/train/batch';
import { buildTrainingRows, type RowSettings } from '../../src/core/train/rows';
import { renderInstruction } from '../../src/core/train/run';

function tokenizerOf(model: string): HoneTokenizer {
  const read = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/hf/${model}/${name}`, import.meta.url)), 'utf8');
  return HoneTokenizer.fromJson(read('tokenizer.json'), read('tokenizer_config.json'));
}
const gpt2 = tokenizerOf('tiny-gpt2');
const llama = tokenizerOf('tiny-llama');
const EOS = '<|endoftext|>';

/** TRL's standard prompt-completion row: EOS on the completion, prompt masked by its own length. */
function pairRow(tokenizer: HoneTokenizer, prompt: string, completion: string, eos: string): Row {
  const promptIds = tokenizer.encode(prompt);
  const inputIds = tokenizer.encode(prompt + completion + eos);
  return { inputIds, labels: inputIds.map((id, t) => (t < promptIds.length ? IGNORE_INDEX : id)) };
}

function rows(records: InstructionRecord[], settings: Partial<RowSettings> = {}, tokenizer = gpt2): Row[] {
  return buildTrainingRows(records, tokenizer, { maxLength: 512, ...settings }).rows;
}

const text: InstructionRecord = { instruction: '', output: 'Mira has 18 apples. Aiko has 36 apples.', tags: ['pretraining-text'] };
const plain: InstructionRecord = { instruction: 'Name a colour.', output: 'Blue' };
const withInput: InstructionRecord = { instruction: 'Add the numbers.', context: '2 and 3', output: '5', task: 'generic' };

describe('plain text', () => {
  it.each(['alpaca', 'template', 'chat'] as const)('is never wrapped (%s): EOS appended, every token scored', (promptFormat) => {
    const ids = gpt2.encode(text.output + EOS);
    expect(rows([text], { promptFormat }, gpt2)).toEqual([{ inputIds: ids, labels: ids }]);
  });

  it('does not append a second EOS', () => {
    const ids = gpt2.encode('Done.' + EOS);
    expect(rows([{ instruction: '', output: 'Done.' + EOS }])).toEqual([{ inputIds: ids, labels: ids }]);
  });
});

describe('instruction records by prompt format', () => {
  it("alpaca: Alpaca's prompt, with and without an input", () => {
    const expected = [plain, withInput].map((r) => {
      const { prompt, completion } = renderInstruction({ ...r, output: r.output! });
      return pairRow(gpt2, prompt, completion, EOS);
    });
    expect(rows([plain, withInput])).toEqual(expected);
    expect(gpt2.decode(expected[1].inputIds)).toContain('### Input:\n2 and 3\n\n### Response:\n5');
  });

  it("template: the record's FLAN template, zero-shot", () => {
    const record: InstructionRecord = { ...plain, templateId: 'generic/4' };
    expect(rows([record], { promptFormat: 'template' })).toEqual([pairRow(gpt2, 'Q: Name a colour.\nA: ', 'Blue', EOS)]);
  });

  it('template: k-shot exemplars are the next records of the same task that fit the template', () => {
    const task = 'open_qa';
    const records: InstructionRecord[] = [
      { instruction: 'Capital of France?', output: 'Paris', task, templateId: 'open_qa/3', shots: 2 },
      { instruction: 'Capital of Peru?', output: 'Lima', task },
      { instruction: 'Summarise.', context: 'long text', output: 'short', task }, // has a context: does not fit open_qa/3
      { instruction: 'Capital of Mali?', output: 'Bamako', task: 'other' }, // another task
      { instruction: 'Capital of Chad?', output: "N'Djamena", task },
    ];
    const expected = renderExample(records[0], getTemplate('open_qa/3'), { shots: [records[1], records[4]] });
    expect(expected.prompt).toBe('Q: Capital of Peru?\nA: Lima\n\n\nQ: Capital of Chad?\nA: N\'Djamena\n\n\nQ: Capital of France?\nA: ');
    expect(rows(records, { promptFormat: 'template' })[0]).toEqual(pairRow(gpt2, expected.prompt, 'Paris', EOS));
  });

  it('template: a record shaping left without a template gets a seeded one from its task, the same wherever it sits', () => {
    const first = rows([withInput], { promptFormat: 'template', seed: 3 });
    expect(rows([plain, withInput], { promptFormat: 'template', seed: 3 })[1]).toEqual(first[0]);
    const text = gpt2.decode(first[0].inputIds);
    expect(text).toContain('Add the numbers.');
    expect(text).toContain('2 and 3');
  });

  it('template: a paraphrased record (already rendered by augmentation) is not templated twice', () => {
    const record: InstructionRecord = { instruction: 'Q: Name a colour.\nA:', output: 'Blue', tags: ['paraphrase:generic/4'] };
    expect(rows([record], { promptFormat: 'template' })).toEqual([pairRow(gpt2, 'Q: Name a colour.\nA: ', 'Blue', EOS)]);
  });

  it('chat: the instruction (and input) as the user turn, the output as the assistant turn, through the chat template', () => {
    const prompt = llama.applyChatTemplate([{ role: 'user', content: 'Add the numbers.\n\n2 and 3' }], { addGenerationPrompt: true });
    const full = llama.applyChatTemplate([{ role: 'user', content: 'Add the numbers.\n\n2 and 3' }, { role: 'assistant', content: '5' }]);
    expect(full).toBe('<s>user\nAdd the numbers.\n\n2 and 3</s>\n<s>assistant\n5</s>\n');
    const promptIds = llama.encode(prompt, { addSpecialTokens: false });
    const ids = llama.encode(full, { addSpecialTokens: false });
    const [row] = rows([withInput], { promptFormat: 'chat' }, llama);
    expect(row.inputIds).toEqual(ids);
    expect(row.labels).toEqual(ids.map((id, t) => (t < promptIds.length ? IGNORE_INDEX : id)));
    expect(llama.decode(row.labels.filter((l) => l !== IGNORE_INDEX))).toBe('5</s>\n');
  });
});

describe('instruction records in the chat format with a template', () => {
  it("the template's prompt is the user turn, k-shot exemplars earlier turns", () => {
    const records: InstructionRecord[] = [
      { instruction: 'Capital of France?', output: 'Paris', task: 'open_qa', templateId: 'open_qa/3', shots: 1 },
      { instruction: 'Capital of Peru?', output: 'Lima', task: 'open_qa' },
    ];
    const messages = [
      { role: 'user', content: 'Q: Capital of Peru?\nA:' },
      { role: 'assistant', content: 'Lima' },
      { role: 'user', content: 'Q: Capital of France?\nA:' },
      { role: 'assistant', content: 'Paris' },
    ];
    const [row] = rows(records, { promptFormat: 'chat' }, llama);
    expect(row.inputIds).toEqual(llama.encode(llama.applyChatTemplate(messages), { addSpecialTokens: false }));
    expect(llama.decode(row.labels.filter((l) => l !== IGNORE_INDEX))).toBe('Paris</s>\n');
  });
});

describe('SNI tasks', () => {
  const sni: InstructionRecord = {
    kind: 'sni',
    instruction: 'Write a question about the passage.',
    context: 'Passage: Marie Curie won two Nobel prizes.',
    output: 'Who won two Nobel prizes?',
    positives: [
      { input: 'Passage: Tom met Ann.', output: 'Who met Ann?', explanation: 'Asks about the passage.' },
      { input: 'Passage: It rained.', output: 'What happened?' },
    ],
    negatives: [
      { input: 'Passage: Tom met Ann.', output: 'What is 2+2?', explanation: 'Unrelated to the passage.' },
      { input: 'Passage: It rained.', output: 'Rain', explanation: 'Not a question.' },
    ],
  };

  it("SNI's prompt shape: definition, N positives, M negatives with explanations, then the instance", () => {
    const prompt =
      'Definition: Write a question about the passage.\n\n' +
      'Positive Example 1 -\nInput: Passage: Tom met Ann.\nOutput: Who met Ann?\n\n' +
      'Negative Example 1 -\nInput: Passage: Tom met Ann.\nOutput: What is 2+2?\nExplanation: Unrelated to the passage.\n\n' +
      'Now complete the following example -\nInput: Passage: Marie Curie won two Nobel prizes.\nOutput: ';
    for (const promptFormat of ['alpaca', 'template'] as const) {
      expect(rows([sni], { promptFormat, sniPositives: 1, sniNegatives: 1 })).toEqual([pairRow(gpt2, prompt, 'Who won two Nobel prizes?', EOS)]);
    }
  });

  it('shows two positives and no negatives by default (Tk-Instruct\'s "pos 2")', () => {
    const text = gpt2.decode(rows([sni], { promptFormat: 'template' })[0].inputIds);
    expect(text).toContain('Positive Example 2 -\nInput: Passage: It rained.\nOutput: What happened?\n\n');
    expect(text).not.toContain('Negative Example');
    expect(text).not.toContain('Explanation');
  });

  it('chat: the SNI prompt is the user turn', () => {
    const [row] = rows([sni], { promptFormat: 'chat', sniPositives: 0 }, llama);
    expect(llama.decode(row.inputIds)).toBe(
      '<s>user\nDefinition: Write a question about the passage.\n\nNow complete the following example -\nInput: Passage: Marie Curie won two Nobel prizes.\nOutput:</s>\n<s>assistant\nWho won two Nobel prizes?</s>\n',
    );
  });
});

describe('chat templates without {% generation %} markers', () => {
  // the fixture's assistant-only template with its markers turned into comments: the same text, no markers
  const cases = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/trl/tiny-llama/cases.json', import.meta.url)), 'utf8')).cases;
  const c = cases.find((x: { name: string }) => x.name === 'conversation_assistant_only');
  const unmarked = (c.chat_template as string).replace('{% generation %}', '{# #}').replace('{% endgeneration %}', '{# #}');

  it("find the assistant turns by rendering prefixes, giving TRL's assistant-only rows", () => {
    expect(unmarked).not.toMatch(/{%-?\s*(end)?generation/);
    const records: InstructionRecord[] = c.examples.map((e: { messages: { role: 'system' | 'user' | 'assistant'; content: string }[] }) => ({
      kind: 'conversation',
      instruction: '',
      conversation: e.messages,
    }));
    const built = rows(records, { maxLength: 96, loss: 'assistant', chatTemplate: unmarked }, llama);
    expect(built.map((r) => ({ input_ids: r.inputIds, labels: r.labels }))).toEqual(c.rows);
  });

  it("score every assistant turn of the tokenizer's own template (its trailing newline included)", () => {
    const conversation = [
      { role: 'system' as const, content: 'Be brief.' },
      { role: 'user' as const, content: 'Hi' },
      { role: 'assistant' as const, content: 'Hello.' },
      { role: 'user' as const, content: 'Bye' },
      { role: 'assistant' as const, content: 'Bye.' },
    ];
    const [row] = rows([{ kind: 'conversation', instruction: 'Hi', conversation }], { loss: 'assistant' }, llama);
    expect(llama.decode(row.labels.filter((l) => l !== IGNORE_INDEX))).toBe('Hello.</s>\nBye.</s>\n');
    expect(llama.decode(row.inputIds)).toBe(llama.applyChatTemplate(conversation));
  });
});

describe('a mixture of kinds in one call', () => {
  const conversation: InstructionRecord = {
    instruction: 'Hi',
    conversation: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello.' },
    ],
  };
  const pc: InstructionRecord = { kind: 'prompt-completion', instruction: 'Say nothing but yes.', output: ' yes' };
  const chatPc: InstructionRecord = {
    kind: 'prompt-completion',
    instruction: 'Hi',
    conversation: [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello.' },
    ],
    promptTurns: 1,
  };
  const sni: InstructionRecord = { kind: 'sni', instruction: 'Answer yes.', context: 'Is it?', output: 'yes' };
  const mixture = [text, plain, conversation, pc, chatPc, sni];

  it.each(['alpaca', 'template', 'chat'] as const)('each record gives the row it gives alone (%s)', (promptFormat) => {
    const settings = { promptFormat, loss: 'completion' as const };
    const together = rows(mixture, settings, llama);
    expect(together).toEqual(mixture.map((r) => rows([r], settings, llama)[0]));
  });

  it('keeps kinds: text unwrapped, the TRL pair verbatim, the conversation through the chat template, the instruction in Alpaca', () => {
    const [textRow, plainRow, conversationRow, pcRow] = rows(mixture, {}, llama).map((r) => llama.decode(r.inputIds));
    expect(textRow).toBe('<s> ' + text.output + '</s>');
    expect(plainRow).toContain('### Instruction:\nName a colour.\n\n### Response:\nBlue</s>');
    expect(conversationRow).toBe('<s>system\nBe brief.</s>\n<s>user\nHi</s>\n<s>assistant\nHello.</s>\n');
    expect(pcRow).toBe('<s> Say nothing but yes. yes</s>');
  });
});
