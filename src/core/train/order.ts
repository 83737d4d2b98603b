// The order in which training rows are visited: a seeded shuffle per epoch (Fisher–Yates with
// src/core/rng.ts), consumed batch by batch. Its whole state (current permutation, position, epoch,
// RNG state) is plain JSON, so a resumed run visits exactly the rows an uninterrupted run would.
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
}

export class DataOrder {
  private constructor(private s: DataOrderState) {}

  /** A fresh order over `rowCount` rows; with shuffle off rows go 0, 1, 2, … every epoch. */
  static create(rowCount: number, seed: number, shuffle = true): DataOrder {
    if (!Number.isInteger(rowCount) || rowCount <= 0) throw new Error(`DataOrder: rowCount must be a positive integer, got ${rowCount}`);
    const rng = new Rng(seed);
    const order = permutation(rowCount, shuffle ? rng : null);
    return new DataOrder({ rowCount, shuffle, epoch: 0, position: 0, order, rngState: rng.state() });
  }

  static fromState(state: DataOrderState): DataOrder {
    const { rowCount, order, position } = state;
    if (order.length !== rowCount || position < 0 || position > rowCount) {
      throw new Error(`DataOrder.fromState: inconsistent state (rowCount ${rowCount}, order length ${order.length}, position ${position})`);
    }
    return new DataOrder({ ...state, order: [...order] });
  }

  get epoch(): number {
    return this.s.epoch;
  }

  /**
   * The next `size` row indices. A batch never spans two epochs: the last batch of an epoch may be
   * smaller (as a DataLoader with drop_last=False), then the next epoch is shuffled anew.
   */
  next(size: number): number[] {
    if (!Number.isInteger(size) || size <= 0) throw new Error(`DataOrder.next: size must be a positive integer, got ${size}`);
    if (this.s.position >= this.s.rowCount) {
      const rng = Rng.fromState(this.s.rngState);
      this.s.order = permutation(this.s.rowCount, this.s.shuffle ? rng : null);
      this.s.rngState = rng.state();
      this.s.position = 0;
      this.s.epoch++;
    }
    const out = this.s.order.slice(this.s.position, this.s.position + size);
    this.s.position += out.length;
    return out;
  }

  state(): DataOrderState {
    return { ...this.s, order: [...this.s.order] };
  }
}

function permutation(n: number, rng: Rng | null): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  if (!rng) return order;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}
