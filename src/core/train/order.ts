// The order in which training rows are visited: a seeded shuffle per epoch (Fisher–Yates with
// src/core/rng.ts), consumed batch by batch. Its whole state (current permutation, position, epoch,
// RNG state) is plain JSON, so a resumed run visits exactly the rows an uninterrupted run would.
// Rows may come in groups (the stages of a staged plan, src/core/data/shaping.ts): groups are visited
// in order and shuffled only within themselves, and a batch never spans two groups, so each update
// belongs to exactly one stage. One group (the default) is the plain whole-set shuffle.
import { Rng } from '../rng';

export interface DataOrderState {
  rowCount: number;
  shuffle: boolean;
  epoch: number;
  /** index into `order` of the next row to hand out */
  position: number;
  /** this epoch's permutation of row indices */
  order: number[];
  rngState: number;
  /** rows per group, in visiting order (sums to rowCount); absent in states saved before groups existed = one group */
  groups?: number[];
}

export class DataOrder {
  private group = 0;

  private constructor(private s: DataOrderState) {}

  /**
   * A fresh order over `rowCount` rows; with shuffle off rows go 0, 1, 2, … every epoch. `groups`
   * (rows per group, summing to rowCount) keeps the groups in order: rows 0 … groups[0]−1 first, then
   * the next group's, each group shuffled on its own.
   */
  static create(rowCount: number, seed: number, shuffle = true, groups?: readonly number[]): DataOrder {
    if (!Number.isInteger(rowCount) || rowCount <= 0) throw new Error(`DataOrder: rowCount must be a positive integer, got ${rowCount}`);
    const sizes = checkGroups(rowCount, groups);
    const rng = new Rng(seed);
    const order = permutation(sizes, shuffle ? rng : null);
    return new DataOrder({ rowCount, shuffle, epoch: 0, position: 0, order, rngState: rng.state(), ...(groups ? { groups: sizes } : {}) });
  }

  static fromState(state: DataOrderState): DataOrder {
    const { rowCount, order, position } = state;
    if (order.length !== rowCount || position < 0 || position > rowCount) {
      throw new Error(`DataOrder.fromState: inconsistent state (rowCount ${rowCount}, order length ${order.length}, position ${position})`);
    }
    checkGroups(rowCount, state.groups);
    return new DataOrder({ ...state, order: [...order], ...(state.groups ? { groups: [...state.groups] } : {}) });
  }

  get epoch(): number {
    return this.s.epoch;
  }

  /** The group (0-based) the last batch handed out came from. */
  get lastGroup(): number {
    return this.group;
  }

  /**
   * The next `size` row indices. A batch never spans two epochs or two groups: the last batch of
   * either may be smaller (as a DataLoader with drop_last=False), then the next one starts.
   */
  next(size: number): number[] {
    if (!Number.isInteger(size) || size <= 0) throw new Error(`DataOrder.next: size must be a positive integer, got ${size}`);
    if (this.s.position >= this.s.rowCount) {
      const rng = Rng.fromState(this.s.rngState);
      this.s.order = permutation(this.s.groups ?? [this.s.rowCount], this.s.shuffle ? rng : null);
      this.s.rngState = rng.state();
      this.s.position = 0;
      this.s.epoch++;
    }
    const { group, end } = this.groupAt(this.s.position);
    const out = this.s.order.slice(this.s.position, Math.min(this.s.position + size, end));
    this.s.position += out.length;
    this.group = group;
    return out;
  }

  state(): DataOrderState {
    return { ...this.s, order: [...this.s.order], ...(this.s.groups ? { groups: [...this.s.groups] } : {}) };
  }

  private groupAt(position: number): { group: number; end: number } {
    const sizes = this.s.groups ?? [this.s.rowCount];
    let end = 0;
    for (let g = 0; g < sizes.length; g++) {
      end += sizes[g];
      if (position < end) return { group: g, end };
    }
    return { group: sizes.length - 1, end: this.s.rowCount };
  }
}

function checkGroups(rowCount: number, groups: readonly number[] | undefined): number[] {
  if (groups === undefined) return [rowCount];
  if (!Array.isArray(groups) || groups.length === 0 || !groups.every((n) => Number.isInteger(n) && n > 0)) {
    throw new Error(`DataOrder: groups must be a list of positive row counts, got ${JSON.stringify(groups)}`);
  }
  const sum = groups.reduce((a, b) => a + b, 0);
  if (sum !== rowCount) throw new Error(`DataOrder: the groups hold ${sum} rows but there are ${rowCount}`);
  return [...groups];
}

/** Each group's indices in order, shuffled within the group; one group is the classic whole-set Fisher–Yates. */
function permutation(groups: readonly number[], rng: Rng | null): number[] {
  const order: number[] = [];
  let offset = 0;
  for (const n of groups) {
    const part = Array.from({ length: n }, (_, i) => offset + i);
    if (rng) {
      for (let i = n - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [part[i], part[j]] = [part[j], part[i]];
      }
    }
    order.push(...part);
    offset += n;
  }
  return order;
}
