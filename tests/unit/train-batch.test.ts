// Padding rows into batches, packed rows included (batch.ts collate, padIdFor, scoredTokenCount) and
// the seeded data order (order.ts). Building the rows themselves is rows/'s job (rows-*.test.ts).
import { describe, expect, it } from 'vitest';
import { IGNORE_INDEX as X, collate, padIdFor, scoredTokenCount } from '../../src/core/train/batch';
import { DataOrder } from '../../src/core/train/order';

describe('collate', () => {
  const rows = [
    { inputIds: [5, 6, 7, 8], labels: [X, X, 7, 8] },
    { inputIds: [1, 2], labels: [X, 2] },
  ];

  it('pads on the right with the pad id, mask 0 and label −100; counts scored and real tokens', () => {
    expect(collate(rows, 99)).toEqual({
      inputIds: [
        [5, 6, 7, 8],
        [1, 2, 99, 99],
      ],
      attentionMask: [
        [1, 1, 1, 1],
        [1, 1, 0, 0],
      ],
      labels: [
        [X, X, 7, 8],
        [X, 2, X, X],
      ],
      scoredTokens: 3,
      realTokens: 6,
    });
  });

  it('pads to a fixed width when asked and refuses one shorter than a row', () => {
    expect(collate(rows, 99, 6).inputIds[0]).toEqual([5, 6, 7, 8, 99, 99]);
    expect(() => collate(rows, 99, 3)).toThrow('width 3 is shorter than the longest row (4 tokens)');
  });

  it('carries packed rows\' position ids; padding continues the count, and unpacked rows in the batch get 0, 1, …', () => {
    const packed = { inputIds: [5, 6, 7, 8, 9], labels: [X, 6, X, 8, 9], positionIds: [0, 1, 0, 1, 2] };
    const batch = collate([packed, rows[1]], 99, 7);
    expect(batch).toEqual({
      inputIds: [
        [5, 6, 7, 8, 9, 99, 99],
        [1, 2, 99, 99, 99, 99, 99],
      ],
      attentionMask: [
        [1, 1, 1, 1, 1, 0, 0],
        [1, 1, 0, 0, 0, 0, 0],
      ],
      labels: [
        [X, 6, X, 8, 9, X, X],
        [X, 2, X, X, X, X, X],
      ],
      positionIds: [
        [0, 1, 0, 1, 2, 3, 4],
        [0, 1, 2, 3, 4, 5, 6],
      ],
      scoredTokens: 4,
      realTokens: 7,
    });
    // a batch with no packed row has no positionIds at all: the step then runs the ordinary causal mask
    expect(collate(rows, 99)).not.toHaveProperty('positionIds');
    expect(() => collate([{ ...packed, positionIds: [0, 1] }], 99)).toThrow('collate: a packed row has 2 position ids for 5 tokens');
  });

  it('uses the pad token, else EOS', () => {
    expect(padIdFor(3, 0)).toBe(3);
    expect(padIdFor(null, 2)).toBe(2);
    expect(() => padIdFor(null, null)).toThrow('neither a pad token nor an EOS token');
  });

  it('scores no label at position 0 (it has no preceding logit)', () => {
    expect(scoredTokenCount([7, X, 8])).toBe(1);
  });
});

describe('DataOrder', () => {
  const take = (order: DataOrder, sizes: number[]) => sizes.map((n) => order.next(n));

  it('visits every row once per epoch; the last batch of an epoch may be short; each epoch reshuffles', () => {
    const order = DataOrder.create(7, 1234);
    const [a, b, c, d] = take(order, [3, 3, 3, 3]);
    expect(c).toHaveLength(1);
    expect([...a, ...b, ...c].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(order.epoch).toBe(1);
    expect(d).toHaveLength(3);
    const epoch2 = [...d, ...order.next(4)];
    expect([...epoch2].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(epoch2).not.toEqual([...a, ...b, ...c]);
  });

  it('is a function of the seed; shuffle off gives 0, 1, 2, …', () => {
    expect(take(DataOrder.create(20, 5), [8, 8])).toEqual(take(DataOrder.create(20, 5), [8, 8]));
    expect(take(DataOrder.create(20, 5), [20])).not.toEqual(take(DataOrder.create(20, 6), [20]));
    expect(take(DataOrder.create(5, 5, false), [3, 3, 3])).toEqual([[0, 1, 2], [3, 4], [0, 1, 2]]);
  });

  it('continues identically from a saved state (through JSON), across epoch boundaries', () => {
    const whole = DataOrder.create(5, 99);
    const expected = take(whole, [2, 2, 2, 2, 2, 2, 2]);
    const first = DataOrder.create(5, 99);
    const head = take(first, [2, 2, 2]);
    const resumed = DataOrder.fromState(JSON.parse(JSON.stringify(first.state())));
    expect([...head, ...take(resumed, [2, 2, 2, 2])]).toEqual(expected);
  });

  it('refuses an inconsistent state', () => {
    const state = DataOrder.create(5, 1).state();
    expect(() => DataOrder.fromState({ ...state, order: [0, 1] })).toThrow('inconsistent state (rowCount 5, order length 2, position 0)');
  });
});
