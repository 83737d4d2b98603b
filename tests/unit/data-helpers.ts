// Shared by the data-* tests: feeding text to importers the way a file stream would.

/** Splits text into fixed-size chunks, so line, quote and surrogate boundaries fall mid-chunk. */
export async function* chunked(text: string, size: number): AsyncGenerator<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

export async function drain<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
