// A Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) for Hone, over
// @huggingface/tokenizers (encoding/decoding) and @huggingface/jinja (chat templates), with the
// defaults of Python transformers 5 where the two differ, so ids and text match the reference.
import { Tokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';
import { renderWithBudget, TemplateBudgetError } from './chat-render';
import { checkPatterns, checkStructure, isObject, vocabSizeOf, type Json } from './checks';
import { TokenizerError } from './errors';

export { TokenizerError };

export interface ChatMessage {
  role: string;
  content: string;
}

function parseJsonObject(text: string, file: string): Json {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new TokenizerError(`is not valid JSON (${(e as Error).message})`, file);
  }
  if (!isObject(json)) throw new TokenizerError('is not a JSON object', file);
  return json;
}

/** bos_token / eos_token in tokenizer_config.json: a string or an AddedToken object `{content}`. */
function tokenText(config: Json, key: string): string | null {
  const value = config[key];
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value['content'] === 'string') return value['content'];
  return null;
}

/** chat_template: a string, or a list of named templates of which "default" is the one used. */
function chatTemplateOf(config: Json): string | null {
  const value = config['chat_template'];
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named = value.find((t) => isObject(t) && t['name'] === 'default') ?? value[0];
    if (isObject(named) && typeof named['template'] === 'string') return named['template'];
  }
  if (value !== undefined && value !== null) {
    throw new TokenizerError('must be a template string or a list of {name, template}', 'tokenizer_config.json', 'chat_template');
  }
  return null;
}

interface LeadingPrefix {
  text: string;
  addedTokens: string[];
}

/**
 * Legacy Llama tokenizer.json files normalize with Prepend("▁") + Replace(" " → "▁"). The JS library
 * prepends to every piece between added tokens, so "<s>user" gets a "▁" after "<s>"; transformers 5
 * gives "▁" only to the text's start (checked against TRL's chat rows in tests/fixtures/trl). The
 * Prepend is taken out of the normalizer (`json` is changed) and applied to the start in encode.
 */
function leadingPrefix(json: Json): LeadingPrefix | null {
  const normalizer: unknown = json['normalizer'];
  if (!isObject(normalizer)) return null;
  const sequence: Json = normalizer;
  const isPrepend = (n: unknown): n is Json => isObject(n) && n['type'] === 'Prepend' && typeof n['prepend'] === 'string';
  let text: string | null = null;
  if (isPrepend(normalizer)) {
    text = normalizer['prepend'] as string;
    json['normalizer'] = null;
  } else if (sequence['type'] === 'Sequence' && Array.isArray(sequence['normalizers'])) {
    const [first, ...rest] = sequence['normalizers'] as unknown[];
    // only a leading Prepend, and only one, is the legacy shape
    if (!isPrepend(first) || rest.some(isPrepend)) return null;
    text = first['prepend'] as string;
    json['normalizer'] = { ...sequence, normalizers: rest };
  }
  if (text === null) return null;
  const added = Array.isArray(json['added_tokens']) ? (json['added_tokens'] as unknown[]) : [];
  const addedTokens = added.flatMap((t) => (isObject(t) && typeof t['content'] === 'string' && t['content'] !== '' ? [t['content'] as string] : []));
  return { text, addedTokens };
}

export class HoneTokenizer {
  /** ids run 0 … vocabSize − 1 (added tokens included); the embedding needs at least this many rows */
  readonly vocabSize: number;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  /** the model's unknown token (tokenizer.json model.unk_token), null when it has none; eval refuses options that encode to it */
  readonly unkTokenId: number | null;
  readonly chatTemplate: string | null;
  /** compiled chat templates by source: the tokenizer's own and any given to applyChatTemplate */
  private readonly compiledTemplates = new Map<string, Template>();

  private constructor(
    private readonly tokenizer: Tokenizer,
    private readonly config: Json,
    /** largest id + 1, from the raw JSON (checks.ts) */
    vocabSize: number,
    /** legacy Llama normalizers' Prepend("▁"), applied in encode (see leadingPrefix) */
    private readonly leadingPrefix: LeadingPrefix | null = null,
  ) {
    this.vocabSize = vocabSize;
    this.bosTokenId = this.idOf(tokenText(config, 'bos_token'));
    this.eosTokenId = this.idOf(tokenText(config, 'eos_token'));
    this.unkTokenId = tokenizer.model?.unk_token_id ?? this.idOf(tokenText(config, 'unk_token'));
    this.chatTemplate = chatTemplateOf(config);
  }

  /**
   * Throws TokenizerError naming the file (and field where known) for anything unusable.
   * `embeddingRows` (config.json's vocab_size, when the model is known) bounds the token ids
   * before the library builds anything from them.
   */
  static fromJson(tokenizerJson: string, tokenizerConfigJson?: string, opts: { embeddingRows?: number } = {}): HoneTokenizer {
    const json = parseJsonObject(tokenizerJson, 'tokenizer.json');
    checkStructure(json);
    const vocabSize = vocabSizeOf(json);
    const rows = opts.embeddingRows;
    if (rows !== undefined && vocabSize > rows) {
      throw new TokenizerError(
        `has ${vocabSize} token ids but config.json has vocab_size ${rows}: ids from ${rows} up would have no embedding row; the tokenizer belongs to a different model`,
        'tokenizer.json',
      );
    }
    checkPatterns(json);
    const config = tokenizerConfigJson === undefined ? {} : parseJsonObject(tokenizerConfigJson, 'tokenizer_config.json');
    // The library requires these keys to exist; files written by other tools may leave out the empty ones.
    const complete: Json = { normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, added_tokens: [], ...json };
    const prefix = leadingPrefix(complete);
    // transformers ≥ 4.45 no longer "cleans up" spaces before punctuation unless the config asks;
    // the JS library still defaults to doing it.
    const libraryConfig: Json = { ...config, clean_up_tokenization_spaces: config['clean_up_tokenization_spaces'] === true };
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(complete, libraryConfig);
    } catch (e) {
      throw new TokenizerError(`cannot be loaded: ${(e as Error).message}`, 'tokenizer.json');
    }
    return new HoneTokenizer(tokenizer, config, vocabSize, prefix);
  }

  private idOf(token: string | null): number | null {
    return token === null ? null : (this.tokenizer.token_to_id(token) ?? null);
  }

  /** Token ids of `text`; addSpecialTokens (default true, as in transformers) applies the post-processor (e.g. Llama's <s>). */
  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    const prefix = this.leadingPrefix;
    if (prefix && text !== '' && !prefix.addedTokens.some((token) => text.startsWith(token))) text = prefix.text + text;
    return this.tokenizer.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).ids;
  }

  decode(ids: number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return ''; // the library throws on []
    return this.tokenizer.decode(ids, { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }

  /** The token text of one id (undefined outside the vocabulary). */
  idToToken(id: number): string | undefined {
    return this.tokenizer.id_to_token(id);
  }

  /**
   * Renders the chat template as transformers' apply_chat_template(tokenize=False) does.
   * `chatTemplate` renders another template source instead of the tokenizer's own (TRL's
   * SFTConfig.chat_template; the training-row builder's generation-marker rewrite).
   */
  applyChatTemplate(messages: ChatMessage[], opts: { addGenerationPrompt?: boolean; chatTemplate?: string } = {}): string {
    if (opts.chatTemplate !== undefined) {
      const given = 'the chat template given';
      return this.renderTemplate(this.compile(opts.chatTemplate, given), messages, opts, given);
    }
    if (this.chatTemplate === null) {
      throw new TokenizerError(
        'has no chat template; choose a prompt template for this model instead, or use a model that ships one',
        'tokenizer_config.json',
        'chat_template',
      );
    }
    return this.renderTemplate(this.compile(this.chatTemplate, 'tokenizer_config.json'), messages, opts);
  }

  /** Compiles a template source once; a parse error names `file`. */
  private compile(source: string, file: string): Template {
    let compiled = this.compiledTemplates.get(source);
    if (compiled === undefined) {
      try {
        compiled = new Template(source);
      } catch (e) {
        throw new TokenizerError(`cannot be parsed: ${(e as Error).message}`, file, 'chat_template');
      }
      this.compiledTemplates.set(source, compiled);
    }
    return compiled;
  }

  private renderTemplate(template: Template, messages: ChatMessage[], opts: { addGenerationPrompt?: boolean }, file = 'tokenizer_config.json'): string {
    const specialTokens: Json = {};
    for (const key of ['bos_token', 'eos_token', 'unk_token', 'pad_token']) {
      const text = tokenText(this.config, key);
      if (text !== null) specialTokens[key] = text;
    }
    try {
      return renderWithBudget(template, {
        ...specialTokens,
        messages: messages.map((m) => ({ role: m.role, content: m.content })),
        add_generation_prompt: opts.addGenerationPrompt ?? false,
      });
    } catch (e) {
      const what = e instanceof TemplateBudgetError ? 'refused while rendering: it' : 'failed while rendering:';
      throw new TokenizerError(`${what} ${(e as Error).message}`, file, 'chat_template');
    }
  }
}
