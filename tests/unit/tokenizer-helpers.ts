// Shared by tokenizer.test.ts and hostile-tokenizer.test.ts.
import { expect } from 'vitest';
import { TokenizerError } from '../../src/core/tokenizer/tokenizer';

/** Runs fn, which must throw a TokenizerError, and returns that error for its file, field and message. */
export function tokenizerError(fn: () => unknown): TokenizerError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TokenizerError);
    return e as TokenizerError;
  }
  throw new Error('expected a TokenizerError');
}
