// Best-fit-decreasing packing of whole sequences, as TRL's pack_dataset(strategy="bfd")
// (trl/data_utils.py, _pack_bfd; Ding et al. 2024, "Fewer Truncations Improve Language Modeling"):
// sequences sorted by length, longest first (a stable sort: equal lengths keep their order); each
// goes into the open row with the least space that still fits it — among rows with that same space,
// the one that reached it first — or starts a new row. Rows come out in the order they were opened,
// their sequences in the order they went in. position_ids restart at 0 for each sequence and the
// label at each restart is −100 (as TRL's padding-free collator sets it), so no token is scored
// across a boundary.
import { IGNORE_INDEX, type Row } from '../batch';

export interface Sequence {
  inputIds: number[];
  labels: number[];
}

/**
 * Max-tree over the spaces 1…maxLength: leaf s holds s while some open row has exactly s tokens
 * free. `smallestAtLeast(n)` is the least free space ≥ n (maxLength, a fresh row, is always there).
 */
class SpaceTree {
  private readonly size: number;
  private readonly tree: number[];

  constructor(private readonly maxLength: number) {
    this.size = 1 << Math.ceil(Math.log2(Math.max(2, maxLength)));
    this.tree = new Array<number>(2 * this.size).fill(0);
  }

  private set(space: number, value: number): void {
    let i = this.size + space - 1;
    this.tree[i] = value;
    for (i >>= 1; i >= 1; i >>= 1) this.tree[i] = Math.max(this.tree[2 * i], this.tree[2 * i + 1]);
  }

  add(space: number): void {
    this.set(space, space);
  }

  remove(space: number): void {
    this.set(space, 0);
  }

  /** Descends to the leftmost leaf whose value is ≥ n: the smallest available space that fits. */
  smallestAtLeast(n: number): number {
    let i = 1;
    while (i < this.size) i = this.tree[2 * i] >= n ? 2 * i : 2 * i + 1;
    return this.tree[i];
  }
}

/** Packs sequences (each at most maxLength long) into rows of at most maxLength tokens. */
export function packBestFitDecreasing(sequences: readonly Sequence[], maxLength: number): Row[] {
  const order = sequences.map((_, i) => i).filter((i) => sequences[i].inputIds.length > 0);
  order.sort((a, b) => sequences[b].inputIds.length - sequences[a].inputIds.length || a - b);
  const tree = new SpaceTree(maxLength);
  tree.add(maxLength);
  const rowsBySpace = new Map<number, number[][]>();
  const bins: number[][] = [];
  for (const index of order) {
    const length = sequences[index].inputIds.length;
    if (length > maxLength) throw new Error(`packBestFitDecreasing: sequence ${index} has ${length} tokens, more than maxLength ${maxLength}; truncate first`);
    const space = tree.smallestAtLeast(length);
    let bin: number[];
    if (space < maxLength) {
      const waiting = rowsBySpace.get(space)!;
      bin = waiting.shift()!;
      if (waiting.length === 0) tree.remove(space);
    } else {
      bin = [];
      bins.push(bin);
    }
    bin.push(index);
    const left = space - length;
    const queue = rowsBySpace.get(left) ?? [];
    queue.push(bin);
    rowsBySpace.set(left, queue);
    if (left > 0) tree.add(left);
  }
  return bins.map((bin) => {
    const row: Row = { inputIds: [], labels: [], positionIds: [] };
    for (const index of bin) {
      const { inputIds, labels } = sequences[index];
      inputIds.forEach((id, t) => {
        row.inputIds.push(id);
        row.labels.push(t === 0 ? IGNORE_INDEX : labels[t]);
        row.positionIds!.push(t);
      });
    }
    return row;
  });
}
