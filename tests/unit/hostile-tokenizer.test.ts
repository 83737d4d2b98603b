// Hostile tokenizer files (issue 12): a token id of 1e9, chat templates that never end or build a
// billion-element range, and Split regexes with catastrophic backtracking. Each is refused within
// seconds with an error naming the file and field; the fixtures' own tokenizers and templates load
// and render exactly as before.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Template } from '@huggingface/jinja';
import { loadCheckpoint } from '../../src/core/model/checkpoint';
import { renderWithBudget } from '../../src/core/tokenizer/chat-render';
import { backtrackingRisk, MAX_TOKEN_ID } from '../../src/core/tokenizer/checks';
import { HoneTokenizer, type TokenizerError } from '../../src/core/tokenizer/tokenizer';
import { readModelDir } from '../../cli/read-model-dir';
import { tokenizerError } from './tokenizer-helpers';

const fixture = (path: string) => fileURLToPath(new URL(`../fixtures/${path}`, import.meta.url));
const gpt2Json = readFileSync(fixture('hf/tiny-gpt2/tokenizer.json'), 'utf8');
const llamaJson = readFileSync(fixture('hf/tiny-llama/tokenizer.json'), 'utf8');
const llamaConfig = readFileSync(fixture('hf/tiny-llama/tokenizer_config.json'), 'utf8');

/** Runs fn and returns how long it took, in ms (the rows of the issue took 40–54 s before). */
function timed(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

describe('token ids are checked in the raw JSON before the library builds its tables', () => {
  it('an added token with id 1e9 is refused at once, naming tokenizer.json and the entry', () => {
    const json = JSON.parse(gpt2Json);
    json.added_tokens = [{ id: 1e9, content: '<huge>', special: true, single_word: false, lstrip: false, rstrip: false, normalized: false }];
    let error!: TokenizerError;
    expect(timed(() => (error = tokenizerError(() => HoneTokenizer.fromJson(JSON.stringify(json)))))).toBeLessThan(2000);
    expect(error.file).toBe('tokenizer.json');
    expect(error.field).toBe('added_tokens[0].id');
    expect(error.message).toBe(
      `tokenizer.json (field "added_tokens[0].id"): token "<huge>" has the id 1000000000; ids above ${MAX_TOKEN_ID.toLocaleString('en-US')} are not supported (no released tokenizer comes near that); the file is broken`,
    );
  });

  it('a vocabulary id of 1e9, or one that is not an integer, names model.vocab and the token', () => {
    const json = JSON.parse(gpt2Json);
    json.model.vocab['Ġhuge'] = 1e9;
    expect(tokenizerError(() => HoneTokenizer.fromJson(JSON.stringify(json))).field).toBe('model.vocab');
    json.model.vocab['Ġhuge'] = 2.5;
    expect(tokenizerError(() => HoneTokenizer.fromJson(JSON.stringify(json))).message).toContain('token "Ġhuge" has the id 2.5, which is not a non-negative integer');
  });

  it('in a model folder, an id past config.json vocab_size is refused before the tokenizer is built', async () => {
    const files = await readModelDir(fixture('hf/tiny-gpt2/'));
    const json = JSON.parse(gpt2Json);
    json.added_tokens = [{ id: 900_000, content: '<far>', special: true }];
    files.set('tokenizer.json', new TextEncoder().encode(JSON.stringify(json)));
    const error = tokenizerError(() => loadCheckpoint(files));
    expect(error.message).toMatch(/^tokenizer\.json: has 900001 token ids but config\.json has vocab_size 512/);
  });

  it('vocabSize from the raw JSON equals the largest id + 1, as before (fixtures)', () => {
    expect(HoneTokenizer.fromJson(gpt2Json).vocabSize).toBe(512);
    expect(HoneTokenizer.fromJson(llamaJson, llamaConfig).vocabSize).toBe(600);
  });
});

describe('chat templates render within a budget', () => {
  const withTemplate = (template: string) => HoneTokenizer.fromJson(gpt2Json, JSON.stringify({ chat_template: template, eos_token: '<|endoftext|>' }));
  const hi = [{ role: 'user', content: 'hi' }];

  it('range(1e9) is refused before the array is built (V8 used to abort the process)', () => {
    const tokenizer = withTemplate('{% for i in range(1000000000) %}x{% endfor %}');
    let error!: TokenizerError;
    expect(timed(() => (error = tokenizerError(() => tokenizer.applyChatTemplate(hi))))).toBeLessThan(2000);
    expect(error.file).toBe('tokenizer_config.json');
    expect(error.field).toBe('chat_template');
    expect(error.message).toBe(
      'tokenizer_config.json (field "chat_template"): refused while rendering: it asks for range() of 1,000,000,000 numbers; at most 100,000 are allowed',
    );
  });

  it('a 3000 × 3000 loop stops at the step budget in about a second (it ran 40 s)', () => {
    const tokenizer = withTemplate('{% for i in range(3000) %}{% for j in range(3000) %}x{% endfor %}{% endfor %}');
    let error!: TokenizerError;
    expect(timed(() => (error = tokenizerError(() => tokenizer.applyChatTemplate(hi))))).toBeLessThan(2500);
    expect(error.field).toBe('chat_template');
    expect(error.message).toContain('refused while rendering: it takes more than 250,000 evaluation steps');
  });

  it('output that doubles past 16 Mi characters is refused', () => {
    const tokenizer = withTemplate("{% set ns = namespace(s='0123456789abcdef') %}{% for i in range(30) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}");
    expect(tokenizerError(() => tokenizer.applyChatTemplate(hi)).message).toContain('produces more than 16,777,216 characters of text');
  });

  it('a template given at training time (TRL chat_template) is budgeted too', () => {
    const tokenizer = HoneTokenizer.fromJson(gpt2Json);
    const error = tokenizerError(() => tokenizer.applyChatTemplate(hi, { chatTemplate: '{{ range(10**9) | length }}' }));
    expect(error.file).toBe('the chat template given');
    expect(error.message).toContain('range() of 1,000,000,000');
  });

  it("the fixtures' chat templates render exactly as the library's own Template.render", () => {
    const templates = new Map<string, string>();
    templates.set('tiny-llama tokenizer_config', JSON.parse(llamaConfig).chat_template);
    templates.set('hone-micro tokenizer_config', JSON.parse(readFileSync(fixture('hone-micro/tokenizer_config.json'), 'utf8')).chat_template);
    const conversations: { role: string; content: string }[][] = [];
    for (const model of ['tiny-gpt2', 'tiny-llama']) {
      const cases = JSON.parse(readFileSync(fixture(`trl/${model}/cases.json`), 'utf8')).cases as { name: string; chat_template: unknown; examples: { messages?: { role: string; content: string }[] }[] }[];
      for (const c of cases) {
        if (typeof c.chat_template === 'string') templates.set(`trl ${model} ${c.name}`, c.chat_template);
        for (const example of c.examples) if (example.messages) conversations.push(example.messages);
      }
    }
    expect(templates.size).toBeGreaterThanOrEqual(4);
    expect(conversations.length).toBeGreaterThan(0);
    let compared = 0;
    for (const [name, source] of templates) {
      const template = new Template(source);
      for (const messages of conversations) {
        for (const addGenerationPrompt of [false, true]) {
          const items = { bos_token: '<s>', eos_token: '</s>', messages, add_generation_prompt: addGenerationPrompt };
          expect(renderWithBudget(template, items), name).toBe(template.render(items));
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(8);
  });

  it('range() keeps the library semantics inside the budget (start, stop, negative step)', () => {
    const tokenizer = withTemplate('{{ range(3) | join(",") }};{{ range(2, 8, 3) | join(",") }};{{ range(5, 0, -2) | join(",") }}');
    expect(tokenizer.applyChatTemplate(hi)).toBe('0,1,2;2,5;5,3,1');
  });
});

describe('Split / Replace regexes with catastrophic backtracking are refused when the tokenizer loads', () => {
  const withSplit = (pattern: string) => {
    const json = JSON.parse(gpt2Json);
    json.pre_tokenizer = {
      type: 'Sequence',
      pretokenizers: [{ type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false }, json.pre_tokenizer],
    };
    return JSON.stringify(json);
  };

  it('(a+)+$ is refused naming tokenizer.json and the field path, without encoding anything', () => {
    const error = tokenizerError(() => HoneTokenizer.fromJson(withSplit('(a+)+$')));
    expect(error.file).toBe('tokenizer.json');
    expect(error.field).toBe('pre_tokenizer.pretokenizers[0].pattern.Regex');
    expect(error.message).toContain('repeats a part that itself repeats without bound ((a+)+)');
  });

  it('a normalizer Replace with a nested quantifier is refused too', () => {
    const json = JSON.parse(gpt2Json);
    json.normalizer = { type: 'Replace', pattern: { Regex: '(\\w+\\s?)*$' }, content: ' ' };
    expect(tokenizerError(() => HoneTokenizer.fromJson(JSON.stringify(json))).field).toBe('normalizer.pattern.Regex');
  });

  it('the static check: nested unbounded repeats refused, ordinary tokenizer patterns accepted', () => {
    for (const bad of ['(a+)+$', '(a*)*b', '(\\w+\\s?)*$', '((ab)+)+', '(?:x+y?)+', '(a+){2,}', '((a+))*', '(\\p{L}+ ?)+']) expect(backtrackingRisk(bad), bad).not.toBeNull();
    const good = [
      // GPT-2's ByteLevel pattern, and the Llama 3 / cl100k and Qwen2 Split patterns
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
      'a+b+', '(ab)+', '[a+]+', '(a|b)+', '\\d{1,3}', '(a+)?', '(?:ab){3}', '\\{+',
    ];
    for (const pattern of good) expect(backtrackingRisk(pattern), pattern).toBeNull();
  });

  it('a tokenizer with the GPT-2 pattern as a Split still loads and encodes as without it', () => {
    const plain = HoneTokenizer.fromJson(gpt2Json);
    const split = HoneTokenizer.fromJson(withSplit("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"));
    expect(split.encode('Hello world, 42 times')).toEqual(plain.encode('Hello world, 42 times'));
  });

  it('pre_tokenizer nesting deeper than 32 levels is refused, not walked', () => {
    const json = JSON.parse(gpt2Json);
    let node: unknown = json.pre_tokenizer;
    for (let i = 0; i < 40; i++) node = { type: 'Sequence', pretokenizers: [node] };
    json.pre_tokenizer = node;
    expect(tokenizerError(() => HoneTokenizer.fromJson(JSON.stringify(json))).message).toContain('nests deeper than 32 levels');
  });
});
