// Bad input to the row builder: each refusal is a RowsError whose message names the record (its
// index and kind) and the field, and says what to do; nothing is returned.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { InstructionRecord } from '../../src/core/data/record';
import { HoneTokenizer } from '../../src/core/tokenizer/tokenizer';
import { buildTrainingRows, RowsError, type RowSettings } from '../../src/core/train/rows';

const read = (model: string, name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/hf/${model}/${name}`, import.meta.url)), 'utf8');
const gpt2 = HoneTokenizer.fromJson(read('tiny-gpt2', 'tokenizer.json'), read('tiny-gpt2', 'tokenizer_config.json'));
const llama = HoneTokenizer.fromJson(read('tiny-llama', 'tokenizer.json'), read('tiny-llama', 'tokenizer_config.json'));

const good: InstructionRecord = { instruction: 'Name a colour.', output: 'Blue' };
const chat: InstructionRecord = {
  instruction: 'Hi',
  conversation: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Hi' },
    { role: 'assistant', content: 'Hello.' },
  ],
};

function refusal(records: InstructionRecord[], settings: Partial<RowSettings>, tokenizer = llama): RowsError {
  try {
    buildTrainingRows(records, tokenizer, { maxLength: 64, ...settings });
  } catch (error) {
    expect(error).toBeInstanceOf(RowsError);
    return error as RowsError;
  }
  throw new Error('expected a RowsError');
}

describe('bad input names the record and field', () => {
  it('a chat template that renders no assistant turn (no markers, prefix rendering)', () => {
    const silent = "{% for m in messages %}{% if m['role'] != 'assistant' %}{{ m['content'] }}\n{% endif %}{% endfor %}";
    const error = refusal([good, chat], { loss: 'assistant', chatTemplate: silent });
    expect(error.message).toBe(
      'training rows: record 1 (conversation), field "conversation[2]": the chat template renders no text for this assistant turn, so there is nothing to learn from it',
    );
    expect([error.record, error.field]).toEqual([1, 'conversation[2]']);
    expect(refusal([chat], { loss: 'all', chatTemplate: silent }).message).toBe(
      'training rows: record 0 (conversation), field "conversation[2]": the chat template renders no assistant turn with this text, so the reply would not be trained on',
    );
  });

  it('a chat template whose {% generation %} blocks never hold an assistant turn', () => {
    const empty = "{% for m in messages %}{% generation %}{% endgeneration %}{{ m['content'] }}{% endfor %}";
    expect(refusal([chat], { loss: 'assistant', chatTemplate: empty }).message).toMatch(
      /^training rows: record 0 \(conversation\), field "conversation": the chat template renders no assistant turn for it/,
    );
  });

  it('a template that renders earlier turns differently once later ones exist', () => {
    // ends with the number of turns, so a shorter conversation is not a prefix of a longer one
    const unstable = "{% for m in messages %}{{ m['content'] }}|{% endfor %}{{ messages | length }}";
    expect(refusal([chat], { loss: 'assistant', chatTemplate: unstable }).message).toMatch(
      /^training rows: record 0 \(conversation\), field "conversation\[2\]": the chat template renders the conversation differently from its start up to this assistant turn/,
    );
  });

  it('a conversation with no assistant turn', () => {
    const noReply: InstructionRecord = { instruction: 'Hi', conversation: [{ role: 'system', content: 'S' }, { role: 'user', content: 'Hi' }] };
    expect(refusal([good, good, noReply], {}).message).toBe('training rows: record 2 (conversation), field "conversation": has no assistant turn, so there is nothing to learn');
  });

  it('a conversational prompt-completion pair whose completion has no assistant turn, or no prompt length', () => {
    const turns = [{ role: 'user' as const, content: 'Hi' }, { role: 'user' as const, content: 'Again' }];
    expect(refusal([{ kind: 'prompt-completion', instruction: 'Hi', conversation: turns, promptTurns: 1 }], {}).message).toBe(
      'training rows: record 0 (prompt-completion), field "conversation": has no assistant turn, so there is nothing to learn',
    );
    expect(refusal([{ kind: 'prompt-completion', instruction: 'Hi', conversation: turns }], {}).message).toBe(
      'training rows: record 0 (prompt-completion), field "promptTurns": must say how many of the 2 turns are the prompt (1 to 1)',
    );
  });

  it('an SNI task without a definition', () => {
    expect(refusal([{ kind: 'sni', instruction: ' ', context: 'x', output: 'y' }], { promptFormat: 'template' }).message).toBe(
      'training rows: record 0 (sni), field "instruction": is empty; an SNI task needs its definition here',
    );
  });

  it('an unknown prompt format, loss or template', () => {
    expect(refusal([good], { promptFormat: 'flan' as never }).message).toBe('training rows: field "promptFormat": unknown prompt format "flan" (known: alpaca, template, chat)');
    expect(refusal([good], { loss: 'prompt' as never }).message).toBe('training rows: field "loss": unknown loss "prompt" (known: completion, assistant, all)');
    expect(refusal([good, { ...good, templateId: 'nope/1' }], { promptFormat: 'template' }).message).toBe(
      'training rows: record 1 (instruction), field "templateId": no template has the id "nope/1"',
    );
  });

  it('a tokenizer without EOS, for records that end on one', () => {
    const config = JSON.parse(read('tiny-gpt2', 'tokenizer_config.json')) as Record<string, unknown>;
    delete config.eos_token;
    const noEos = HoneTokenizer.fromJson(read('tiny-gpt2', 'tokenizer.json'), JSON.stringify(config));
    expect(refusal([{ instruction: '', output: 'Some text.' }], {}, noEos).message).toBe(
      'training rows: record 0 (text), field "output": needs an EOS token to end on, and the tokenizer has none (tokenizer_config.json eos_token)',
    );
  });

  it('a conversation for a tokenizer without a chat template', () => {
    expect(refusal([good, chat], {}, gpt2).message).toMatch(/^training rows: record 1 \(conversation\), field "conversation": trains through a chat template, and the tokenizer has none/);
  });

  it('maxLength too small, and every record dropped by truncation', () => {
    expect(refusal([good], { maxLength: 1 }).message).toBe('training rows: field "maxLength": must be a whole number ≥ 2 (one token and the next to predict), got 1');
    expect(refusal([good, good], { maxLength: 4 }).message).toBe(
      'training rows: field "maxLength": every one of the 2 record(s) was dropped (2 × no scored token left after truncation to 4 tokens); raise maxLength or shorten the prompts',
    );
  });
});
