// Rows, labels, truncation, packing and padding (batch.ts) and the seeded data order (order.ts).
import { describe, expect, it } from 'vitest';
import { IGNORE_INDEX as X, buildRows, collate, padIdFor, scoredTokenCount } from '../../src/core/train/batch';
import { DataOrder } from '../../src/core/train/order';

const EOS = 0;

describe('buildRows', () => {
  it('labels only the completion (plus the appended EOS) and keeps short pairs whole', () => {
    const { rows, dropped } = buildRows([{ promptIds: [5, 6, 7], completionIds: [8, 9] }], { maxLength: 8, eosTokenId: EOS });
    expect(dropped).toBe(0);
    expect(rows).toEqual([{ inputIds: [5, 6, 7, 8, 9, 0], labels: [X, X, X, 8, 9, 0] }]);
  });

  it('does not append a second EOS, and appendEos: false appends none', () => {
    const ex = [{ promptIds: [5], completionIds: [8, 0] }];
    expect(buildRows(ex, { maxLength: 8, eosTokenId: EOS }).rows[0].inputIds).toEqual([5, 8, 0]);
    const plain = buildRows([{ promptIds: [5], completionIds: [8] }], { maxLength: 8, eosTokenId: EOS, appendEos: false });
    expect(plain.rows[0]).toEqual({ inputIds: [5, 8], labels: [X, 8] });
  });

  it("keep-completion cuts the prompt's start; a completion longer than the row keeps ⌊max/2⌋ prompt tokens", () => {
    const { rows } = buildRows(
      [
        { promptIds: [1, 2, 3, 4, 5, 6], completionIds: [7, 8, 9] }, // 6 + 4 > 8
        { promptIds: [1, 2, 3, 4, 5, 6, 7], completionIds: [10, 11, 12, 13, 14, 15, 16, 17, 18] }, // completion ≥ 8
      ],
      { maxLength: 8, eosTokenId: EOS },
    );
    expect(rows[0]).toEqual({ inputIds: [3, 4, 5, 6, 7, 8, 9, 0], labels: [X, X, X, X, 7, 8, 9, 0] });
    expect(rows[1]).toEqual({ inputIds: [4, 5, 6, 7, 10, 11, 12, 13], labels: [X, X, X, X, 10, 11, 12, 13] });
  });

  it('keep-start cuts the end; a prompt that fills the row leaves nothing and the pair is dropped and counted', () => {
    const { rows, dropped } = buildRows(
      [
        { promptIds: [1, 2, 3, 4, 5], completionIds: [6, 7, 8, 9] },
        { promptIds: [1, 2, 3, 4, 5, 6], completionIds: [7] },
        { promptIds: [1], completionIds: [2] },
      ],
      { maxLength: 6, eosTokenId: EOS, truncation: 'keep-start' },
    );
    expect(dropped).toBe(1);
    expect(rows).toEqual([
      { inputIds: [1, 2, 3, 4, 5, 6], labels: [X, X, X, X, X, 6] },
      { inputIds: [1, 2, 0], labels: [X, 2, 0] },
    ]);
  });

  it('drops pairs with nothing scored after the shift (empty completion; a lone token at position 0)', () => {
    const { rows, dropped } = buildRows(
      [
        { promptIds: [4, 5], completionIds: [] },
        { promptIds: [], completionIds: [6] },
        { promptIds: [1], completionIds: [2] },
      ],
      { maxLength: 4, eosTokenId: EOS, appendEos: false },
    );
    expect(dropped).toBe(2);
    expect(rows).toEqual([{ inputIds: [1, 2], labels: [X, 2] }]);
  });

  it('throws the documented error when every pair is dropped', () => {
    expect(() =>
      buildRows([{ promptIds: [1, 2, 3, 4], completionIds: [5] }], { maxLength: 4, eosTokenId: EOS, truncation: 'keep-start' }),
    ).toThrow('no example has completion tokens left after truncation to 4 tokens (1 dropped)');
  });

  it('rejects bad settings and ids with messages that say what to fix', () => {
    const ex = [{ promptIds: [1], completionIds: [2] }];
    expect(() => buildRows(ex, { maxLength: 1, eosTokenId: EOS })).toThrow('maxLength must be an integer ≥ 2');
    expect(() => buildRows([], { maxLength: 4, eosTokenId: EOS })).toThrow('the dataset has no examples');
    expect(() => buildRows([{ promptIds: [1.5], completionIds: [2] }], { maxLength: 4, eosTokenId: EOS })).toThrow(
      'example 0 has prompt id 1.5',
    );
  });

  it('packs examples with EOS separators into fixed-length rows, keeping completion-only labels', () => {
    const { rows, dropped } = buildRows(
      [
        { promptIds: [1, 2], completionIds: [3] },
        { promptIds: [4], completionIds: [5, 0] },
        { promptIds: [7, 7, 7, 7, 7, 7], completionIds: [8] },
      ],
      { maxLength: 4, eosTokenId: EOS, packing: true },
    );
    // stream: 1 2 3 0 | 4 5 0 7 | 7 7 7 7 | 7 8 0 ; the third row has only prompt tokens
    expect(dropped).toBe(1);
    expect(rows).toEqual([
      { inputIds: [1, 2, 3, 0], labels: [X, X, 3, 0] },
      { inputIds: [4, 5, 0, 7], labels: [X, 5, 0, X] },
      { inputIds: [7, 8, 0], labels: [X, 8, 0] },
    ]);
  });
});

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
