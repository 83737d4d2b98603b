// Word-level differences between two answers, for highlighting in the side-by-side view: the longest
// common subsequence of word and whitespace tokens (the classic diff definition) is unchanged, the
// rest of each text is marked. Pure, so the UI can import it without pulling in tfjs.

export interface DiffPart {
  text: string;
  /** not part of the common subsequence: only in this text */
  changed: boolean;
}

/** Past this many token pairs the table would be large; the texts are then marked changed whole. */
const MAX_CELLS = 250_000;

const tokens = (text: string): string[] => text.match(/\s+|[^\s]+/gu) ?? [];

function merge(parts: DiffPart[]): DiffPart[] {
  const merged: DiffPart[] = [];
  for (const part of parts) {
    const last = merged.at(-1);
    if (last && last.changed === part.changed) last.text += part.text;
    else merged.push({ ...part });
  }
  return merged;
}

/** Each text split into unchanged and changed runs; joined, the parts give back the text exactly. */
export function wordDiff(a: string, b: string): { a: DiffPart[]; b: DiffPart[] } {
  const x = tokens(a);
  const y = tokens(b);
  if (a === b) return { a: a ? [{ text: a, changed: false }] : [], b: b ? [{ text: b, changed: false }] : [] };
  if ((x.length + 1) * (y.length + 1) > MAX_CELLS) return { a: a ? [{ text: a, changed: true }] : [], b: b ? [{ text: b, changed: true }] : [] };
  // lcs[i][j]: common subsequence length of x[i:] and y[j:]
  const width = y.length + 1;
  const lcs = new Uint32Array((x.length + 1) * width);
  for (let i = x.length - 1; i >= 0; i--) {
    for (let j = y.length - 1; j >= 0; j--) {
      lcs[i * width + j] = x[i] === y[j] ? lcs[(i + 1) * width + j + 1] + 1 : Math.max(lcs[(i + 1) * width + j], lcs[i * width + j + 1]);
    }
  }
  const left: DiffPart[] = [];
  const right: DiffPart[] = [];
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) {
    if (x[i] === y[j]) {
      left.push({ text: x[i++], changed: false });
      right.push({ text: y[j++], changed: false });
    } else if (lcs[(i + 1) * width + j] >= lcs[i * width + j + 1]) {
      left.push({ text: x[i++], changed: true });
    } else {
      right.push({ text: y[j++], changed: true });
    }
  }
  while (i < x.length) left.push({ text: x[i++], changed: true });
  while (j < y.length) right.push({ text: y[j++], changed: true });
  // whitespace between two changed words reads as part of the change
  const absorb = (parts: DiffPart[]) =>
    parts.map((part, k) => (!part.changed && /^\s+$/u.test(part.text) && parts[k - 1]?.changed && parts[k + 1]?.changed ? { ...part, changed: true } : part));
  return { a: merge(absorb(left)), b: merge(absorb(right)) };
}
