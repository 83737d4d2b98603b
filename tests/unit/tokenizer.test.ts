// HoneTokenizer against the ids and text Python tokenizers gave on every probe, the chat template
// as Python's jinja2 renders it for transformers, and errors that name the file and field.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HoneTokenizer } from '../../src/core/tokenizer/tokenizer';
import { tokenizerError } from './tokenizer-helpers';

const read = (model: string, file: string) => readFileSync(fileURLToPath(new URL(`../fixtures/hf/${model}/${file}`, import.meta.url)), 'utf8');
const load = (model: string) => HoneTokenizer.fromJson(read(model, 'tokenizer.json'), read(model, 'tokenizer_config.json'));

interface Probe {
  text: string;
  ids: number[];
  decoded: string;
}

describe.each(['tiny-gpt2', 'tiny-llama'])('%s reproduces the reference tokenizer', (model) => {
  const tokenizer = load(model);
  const probes = (JSON.parse(read(model, 'reference.json')) as { tokenizer: Probe[] }).tokenizer;

  it.each(probes.map((p, i) => [i, p] as const))('probe %i', (_, probe) => {
    expect(tokenizer.encode(probe.text, { addSpecialTokens: false })).toEqual(probe.ids);
    expect(tokenizer.decode(probe.ids)).toBe(probe.decoded);
  });
});

describe('tiny-gpt2', () => {
  const tokenizer = load('tiny-gpt2');

  it('bos and eos are <|endoftext|> (id 0); the vocabulary has 512 ids; no chat template', () => {
    expect(tokenizer.bosTokenId).toBe(0);
    expect(tokenizer.eosTokenId).toBe(0);
    expect(tokenizer.vocabSize).toBe(512);
    expect(tokenizer.chatTemplate).toBeNull();
  });

  it('adds nothing with special tokens on (ByteLevel post-processor), and skips specials on request', () => {
    expect(tokenizer.encode('Hello world')).toEqual([40, 69, 76, 76, 79, 221, 87, 79, 82, 275]);
    expect(tokenizer.decode([0, 40, 69, 76, 76, 79], { skipSpecialTokens: true })).toBe('Hello');
    expect(tokenizer.decode([0, 40, 69, 76, 76, 79])).toBe('<|endoftext|>Hello');
    expect(tokenizer.decode([])).toBe('');
  });

  it('keeps spaces before punctuation (transformers 5 does not clean them up)', () => {
    const ids = tokenizer.encode('a , b .', { addSpecialTokens: false });
    expect(tokenizer.decode(ids)).toBe('a , b .');
  });

  it('refuses a chat without a template, naming the field', () => {
    const error = tokenizerError(() => tokenizer.applyChatTemplate([{ role: 'user', content: 'hi' }]));
    expect(error.file).toBe('tokenizer_config.json');
    expect(error.field).toBe('chat_template');
    expect(error.message).toContain('tokenizer_config.json (field "chat_template"): has no chat template');
  });
});

describe('tiny-llama', () => {
  const tokenizer = load('tiny-llama');

  it('bos <s> is id 1, eos </s> is id 2; the vocabulary has 600 ids', () => {
    expect(tokenizer.bosTokenId).toBe(1);
    expect(tokenizer.eosTokenId).toBe(2);
    expect(tokenizer.vocabSize).toBe(600);
    expect(tokenizer.idToToken(1)).toBe('<s>');
  });

  it('prepends <s> when special tokens are on (the default), as transformers does', () => {
    expect(tokenizer.encode('Hello world')).toEqual([1, 321, 75, 294, 301, 407, 321, 311, 304, 306, 301, 293]);
    expect(tokenizer.decode([1, 481, 463, 268, 266, 490, 328], { skipSpecialTokens: true })).toBe('Mira likes 42 apples.');
  });

  it('renders the chat template exactly as transformers (jinja2, trim_blocks + lstrip_blocks) does', () => {
    const messages = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi there' },
      { role: 'assistant', content: 'Hello!' },
    ];
    // Both strings rendered by Python jinja2 3.1 with the settings transformers uses.
    expect(tokenizer.applyChatTemplate(messages)).toBe('<s>system\nBe brief.</s>\n<s>user\nHi there</s>\n<s>assistant\nHello!</s>\n');
    expect(tokenizer.applyChatTemplate(messages.slice(0, 2), { addGenerationPrompt: true })).toBe(
      '<s>system\nBe brief.</s>\n<s>user\nHi there</s>\n<s>assistant\n',
    );
  });
});

describe('configs and errors', () => {
  const gpt2Json = read('tiny-gpt2', 'tokenizer.json');

  it('reads bos/eos given as AddedToken objects, and template lists; unknown tokens give null', () => {
    const config = {
      bos_token: { __type: 'AddedToken', content: '<|endoftext|>', lstrip: false },
      eos_token: '<not-in-vocab>',
      chat_template: [
        { name: 'tool_use', template: 'tools' },
        { name: 'default', template: '{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}' },
      ],
    };
    const tokenizer = HoneTokenizer.fromJson(gpt2Json, JSON.stringify(config));
    expect(tokenizer.bosTokenId).toBe(0);
    expect(tokenizer.eosTokenId).toBeNull();
    expect(tokenizer.applyChatTemplate([{ role: 'user', content: 'x' }])).toBe('<|endoftext|>x');
    expect(HoneTokenizer.fromJson(gpt2Json).bosTokenId).toBeNull();
  });

  it('a tokenizer.json that is not JSON', () => {
    const error = tokenizerError(() => HoneTokenizer.fromJson('{"model": ', '{}'));
    expect(error.file).toBe('tokenizer.json');
    expect(error.message).toMatch(/^tokenizer\.json: is not valid JSON \(/);
  });

  it('a tokenizer.json without a model, or with an unknown model type, names the field', () => {
    const json = JSON.parse(gpt2Json);
    delete json.model;
    const missing = tokenizerError(() => HoneTokenizer.fromJson(JSON.stringify(json)));
    expect(missing.field).toBe('model');
    expect(missing.message).toBe('tokenizer.json (field "model"): is missing or not an object; this file does not describe a tokenizer');

    const unknown = JSON.parse(gpt2Json);
    unknown.model.type = 'SentencePieceX';
    expect(tokenizerError(() => HoneTokenizer.fromJson(JSON.stringify(unknown))).message).toBe(
      'tokenizer.json (field "model.type"): model type "SentencePieceX" is not supported (supported: BPE, WordPiece, Unigram)',
    );

    const noMerges = JSON.parse(gpt2Json);
    delete noMerges.model.merges;
    expect(tokenizerError(() => HoneTokenizer.fromJson(JSON.stringify(noMerges))).field).toBe('model.merges');
  });

  it('what the library itself rejects becomes a TokenizerError naming tokenizer.json', () => {
    const json = JSON.parse(gpt2Json);
    json.decoder = { type: 'NoSuchDecoder' };
    const error = tokenizerError(() => HoneTokenizer.fromJson(JSON.stringify(json)));
    expect(error.message).toBe('tokenizer.json: cannot be loaded: Unknown Decoder type: NoSuchDecoder');
  });

  it('a tokenizer_config.json that is not JSON', () => {
    expect(tokenizerError(() => HoneTokenizer.fromJson(gpt2Json, 'nope')).message).toMatch(/^tokenizer_config\.json: is not valid JSON/);
  });

  it('a chat template that does not parse is reported when used', () => {
    const tokenizer = HoneTokenizer.fromJson(gpt2Json, JSON.stringify({ chat_template: '{% for m in messages %}' }));
    const error = tokenizerError(() => tokenizer.applyChatTemplate([]));
    expect(error.field).toBe('chat_template');
    expect(error.message).toMatch(/^tokenizer_config\.json \(field "chat_template"\): (cannot be parsed|failed while rendering): /);
  });
});
