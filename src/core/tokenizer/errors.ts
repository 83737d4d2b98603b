// The tokenizer's error, apart from tokenizer.ts so the raw-JSON checks can throw it without an import cycle.

export class TokenizerError extends Error {
  constructor(
    detail: string,
    readonly file: string,
    readonly field?: string,
  ) {
    super(`${file}${field ? ` (field "${field}")` : ''}: ${detail}`);
    this.name = 'TokenizerError';
  }
}
