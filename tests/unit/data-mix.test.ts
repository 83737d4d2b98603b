// Mixing: exact rates for the cap, temperature and weights rules, pretraining ratio and replay;
// sampled proportions within 4 standard errors; seeded, resumable, epoch-complete sampling.
import { describe, expect, it } from 'vitest';
import { FLAN_CAP, MixError, MixSampler, mixtureRates, PlanSampler, planStages, type Mixture, type MixPlan, type SourceRate } from '../../src/core/data/mix';

const rateOf = (rates: SourceRate[]) => Object.fromEntries(rates.map((r) => [r.name, r.rate]));

/** Draws n sources and checks each share is within 4 standard errors of its rate. */
function expectProportions(draw: () => string, rates: SourceRate[], n: number): void {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const s = draw();
    counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  for (const { name, rate } of rates) {
    const observed = (counts.get(name) ?? 0) / n;
    const standardError = Math.sqrt((rate * (1 - rate)) / n);
    expect(Math.abs(observed - rate), `${name}: observed ${observed}, expected ${rate}`).toBeLessThanOrEqual(4 * standardError);
  }
  expect([...counts.keys()].every((k) => rates.some((r) => r.name === k && r.rate > 0))).toBe(true);
}

describe('mixtureRates', () => {
  const sizes = [
    { name: 'small', size: 1000 },
    { name: 'medium', size: 5000 },
    { name: 'huge', size: 200_000 },
  ];

  it('examples-proportional honours the cap exactly (FLAN default 3,000)', () => {
    expect(FLAN_CAP).toBe(3000);
    const expected = [
      { name: 'small', rate: 1000 / 7000 },
      { name: 'medium', rate: 3000 / 7000 },
      { name: 'huge', rate: 3000 / 7000 },
    ];
    expect(mixtureRates({ sources: sizes, rule: { kind: 'proportional' } })).toEqual(expected);
    expect(mixtureRates({ sources: sizes, rule: { kind: 'proportional', cap: 3000 } })).toEqual(expected);
    expect(rateOf(mixtureRates({ sources: sizes, rule: { kind: 'proportional', cap: Infinity } }))).toEqual({
      small: 1000 / 206_000,
      medium: 5000 / 206_000,
      huge: 200_000 / 206_000,
    });
  });

  it('temperature: rate ∝ size^(1/T), hand-computed', () => {
    const sources = [
      { name: 'a', size: 100 },
      { name: 'b', size: 400 },
      { name: 'c', size: 1600 },
    ];
    // T = 2: √100 : √400 : √1600 = 10 : 20 : 40
    const t2 = rateOf(mixtureRates({ sources, rule: { kind: 'temperature', temperature: 2 } }));
    expect(t2.a).toBeCloseTo(1 / 7, 15);
    expect(t2.b).toBeCloseTo(2 / 7, 15);
    expect(t2.c).toBeCloseTo(4 / 7, 15);
    // with a cap of 400: 10 : 20 : 20
    const capped = rateOf(mixtureRates({ sources, rule: { kind: 'temperature', temperature: 2, cap: 400 } }));
    expect(capped.a).toBeCloseTo(0.2, 15);
    expect(capped.c).toBeCloseTo(0.4, 15);
    // T = 1 is proportional; a huge T is nearly uniform
    expect(rateOf(mixtureRates({ sources, rule: { kind: 'temperature', temperature: 1 } }))).toEqual({ a: 100 / 2100, b: 400 / 2100, c: 1600 / 2100 });
    const flat = mixtureRates({ sources, rule: { kind: 'temperature', temperature: 1e6 } });
    for (const r of flat) expect(r.rate).toBeCloseTo(1 / 3, 4);
  });

  it('explicit weights, normalised; a zero weight removes a source', () => {
    expect(mixtureRates({ sources: sizes, rule: { kind: 'weights', weights: { small: 2, medium: 1, huge: 1 } } })).toEqual([
      { name: 'small', rate: 0.5 },
      { name: 'medium', rate: 0.25 },
      { name: 'huge', rate: 0.25 },
    ]);
    expect(rateOf(mixtureRates({ sources: sizes, rule: { kind: 'weights', weights: { small: 0, medium: 3, huge: 1 } } }))).toEqual({
      small: 0,
      medium: 0.75,
      huge: 0.25,
    });
  });

  it('mixes in plain pretraining text at the given ratio, shared by size', () => {
    const mixture: Mixture = {
      sources: sizes.slice(0, 2),
      rule: { kind: 'weights', weights: { small: 1, medium: 1 } },
      pretraining: { ratio: 0.2, sources: [{ name: 'wiki', size: 300 }, { name: 'books', size: 100 }] },
    };
    const rates = rateOf(mixtureRates(mixture));
    expect(rates.small).toBeCloseTo(0.4, 15);
    expect(rates.medium).toBeCloseTo(0.4, 15);
    expect(rates.wiki).toBeCloseTo(0.15, 15);
    expect(rates.books).toBeCloseTo(0.05, 15);
  });

  it('gives clear errors', () => {
    const one = [{ name: 'a', size: 10 }];
    expect(() => mixtureRates({ sources: [], rule: { kind: 'proportional' } })).toThrow('mixture: has no sources');
    expect(() => mixtureRates({ sources: [{ name: 'a', size: 0 }], rule: { kind: 'proportional' } })).toThrow(
      'mixture: source "a" has size 0; a source needs at least one example (a whole number)',
    );
    expect(() => mixtureRates({ sources: [...one, ...one], rule: { kind: 'proportional' } })).toThrow('mixture: source "a" appears twice');
    expect(() => mixtureRates({ sources: one, rule: { kind: 'weights', weights: { a: 1, b: 2 } } })).toThrow(
      'mixture: weights name "b", which is not one of the sources (a)',
    );
    expect(() => mixtureRates({ sources: [...one, { name: 'b', size: 3 }], rule: { kind: 'weights', weights: { a: 1 } } })).toThrow(
      'mixture: source "b" has no weight',
    );
    expect(() => mixtureRates({ sources: one, rule: { kind: 'weights', weights: { a: 0 } } })).toThrow(/at least one must be positive/);
    expect(() => mixtureRates({ sources: one, rule: { kind: 'temperature', temperature: 0 } })).toThrow(/temperature must be a positive number, got 0/);
    expect(() => mixtureRates({ sources: one, rule: { kind: 'proportional' }, pretraining: { ratio: 1, sources: [{ name: 'p', size: 1 }] } })).toThrow(
      /pretraining ratio must be at least 0 and below 1, got 1/,
    );
    expect(() => mixtureRates({ sources: one, rule: { kind: 'proportional' }, pretraining: { ratio: 0.1, sources: [] } })).toThrow(
      'mixture: pretraining ratio is 0.1 but there is no pretraining source',
    );
    expect(() => mixtureRates({ sources: one, rule: { kind: 'proportional' }, pretraining: { ratio: 0.1, sources: one } })).toThrow(
      'mixture, pretraining: source "a" appears twice',
    );
  });
});

describe('MixSampler', () => {
  it('draws sources in proportion to the weights (20,000 draws, within 4 standard errors)', () => {
    const mixture: Mixture = {
      sources: [
        { name: 'a', size: 50 },
        { name: 'b', size: 7 },
        { name: 'c', size: 1000 },
        { name: 'd', size: 3 },
      ],
      rule: { kind: 'weights', weights: { a: 10, b: 6, c: 3, d: 1 } },
    };
    const sampler = new MixSampler(mixture, 42);
    expect(rateOf(sampler.rates)).toEqual({ a: 0.5, b: 0.3, c: 0.15, d: 0.05 });
    expectProportions(() => sampler.next().source, sampler.rates, 20_000);
  });

  it('draws a capped mixture with pretraining text at its rates', () => {
    const mixture: Mixture = {
      sources: [
        { name: 'x', size: 500 },
        { name: 'y', size: 9000 },
      ],
      rule: { kind: 'proportional' },
      pretraining: { ratio: 0.1, sources: [{ name: 'text', size: 20 }] },
    };
    const sampler = new MixSampler(mixture, 7);
    const rates = rateOf(sampler.rates);
    expect(rates.x).toBeCloseTo((0.9 * 500) / 3500, 15); // y's 9,000 examples count as 3,000
    expect(rates.y).toBeCloseTo((0.9 * 3000) / 3500, 15);
    expect(rates.text).toBeCloseTo(0.1, 15);
    expectProportions(() => sampler.next().source, sampler.rates, 20_000);
  });

  it('visits every example of a source once per pass, in a fresh order each pass', () => {
    const sampler = new MixSampler({ sources: [{ name: 'only', size: 6 }], rule: { kind: 'proportional' } }, 3);
    const passes = [0, 1, 2].map(() => Array.from({ length: 6 }, () => sampler.next().index));
    for (const pass of passes) expect([...pass].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(passes[0]).not.toEqual(passes[1]);
  });

  it('is seeded and resumes exactly from its state', () => {
    const mixture: Mixture = { sources: [{ name: 'a', size: 13 }, { name: 'b', size: 5 }], rule: { kind: 'proportional' } };
    const draws = (s: MixSampler, n: number) => Array.from({ length: n }, () => s.next());
    expect(draws(new MixSampler(mixture, 1), 50)).toEqual(draws(new MixSampler(mixture, 1), 50));
    expect(draws(new MixSampler(mixture, 1), 50)).not.toEqual(draws(new MixSampler(mixture, 2), 50));
    const first = new MixSampler(mixture, 9);
    draws(first, 37);
    const saved = JSON.parse(JSON.stringify(first.state()));
    const expected = draws(first, 40);
    expect(draws(new MixSampler(mixture, 9, saved), 40)).toEqual(expected);
    expect(() => new MixSampler(mixture, 8, saved)).toThrow('sampler state was saved with seed 9, not 8');
  });
});

describe('multi-stage plans', () => {
  const general = [
    { name: 'alpaca', size: 600 },
    { name: 'dolly', size: 200 },
  ];
  const plan: MixPlan = {
    stages: [
      { name: 'general', steps: 100, mixture: { sources: general, rule: { kind: 'proportional' } } },
      { name: 'domain', steps: 300, replay: 0.2, mixture: { sources: [{ name: 'legal', size: 50 }], rule: { kind: 'proportional' } } },
      { name: 'chat', steps: 100, replay: 0.5, mixture: { sources: [{ name: 'chats', size: 80 }], rule: { kind: 'proportional' } } },
    ],
  };

  it('folds replay of earlier stages in, each weighted by its steps', () => {
    const stages = planStages(plan);
    expect(stages.map((s) => [s.name, s.firstStep, s.steps])).toEqual([
      ['general', 0, 100],
      ['domain', 100, 300],
      ['chat', 400, 100],
    ]);
    expect(rateOf(stages[0].rates)).toEqual({ alpaca: 0.75, dolly: 0.25 });
    const domain = rateOf(stages[1].rates);
    expect(domain.legal).toBeCloseTo(0.8, 15);
    expect(domain.alpaca).toBeCloseTo(0.2 * 0.75, 15);
    expect(domain.dolly).toBeCloseTo(0.2 * 0.25, 15);
    // stage 3 replays stage 1 (100 steps) and stage 2 (300 steps) at 1/4 and 3/4 of its 0.5
    const chat = rateOf(stages[2].rates);
    expect(chat.chats).toBeCloseTo(0.5, 15);
    expect(chat.legal).toBeCloseTo(0.5 * 0.75 * 0.8, 15);
    expect(chat.alpaca).toBeCloseTo(0.5 * (0.25 * 0.75 + 0.75 * 0.15), 15);
    expect(chat.dolly).toBeCloseTo(0.5 * (0.25 * 0.25 + 0.75 * 0.05), 15);
    for (const stage of stages) expect(stage.rates.reduce((a, r) => a + r.rate, 0)).toBeCloseTo(1, 12);
  });

  it('samples each stage at its rates, examplesPerStep draws per step, and stops at the end', () => {
    const sampler = new PlanSampler(plan, 11, 8);
    expect(sampler.totalSteps).toBe(500);
    const first = Array.from({ length: 800 }, () => sampler.next());
    expect(first[0]).toMatchObject({ stage: 0, step: 0 });
    expect(first[7].step).toBe(0);
    expect(first[8].step).toBe(1);
    expect(first.every((d) => d.stage === 0 && ['alpaca', 'dolly'].includes(d.source))).toBe(true);
    const domainDraws = Array.from({ length: 2400 }, () => sampler.next());
    expect(domainDraws[0]).toMatchObject({ stage: 1, step: 100 });
    expect(domainDraws.every((d) => d.stage === 1)).toBe(true);
    let i = 0;
    expectProportions(() => domainDraws[i++].source, planStages(plan)[1].rates, 2400);
    for (let k = 0; k < 800; k++) sampler.next();
    expect(() => sampler.next()).toThrow("the plan's 500 steps are all drawn");
  });

  it('resumes a plan mid-way', () => {
    const a = new PlanSampler(plan, 5, 2);
    for (let k = 0; k < 333; k++) a.next();
    const state = a.state();
    const expected = Array.from({ length: 100 }, () => a.next());
    const b = new PlanSampler(plan, 5, 2, state);
    expect(Array.from({ length: 100 }, () => b.next())).toEqual(expected);
  });

  it('refuses replay without an earlier stage, and a source whose size changes', () => {
    expect(() => planStages({ stages: [{ steps: 10, replay: 0.1, mixture: { sources: general, rule: { kind: 'proportional' } } }] })).toThrow(
      'plan stage 1: replay is 0.1 but there is no earlier stage to replay',
    );
    expect(() =>
      planStages({
        stages: [
          { steps: 10, mixture: { sources: general, rule: { kind: 'proportional' } } },
          { steps: 10, mixture: { sources: [{ name: 'dolly', size: 201 }], rule: { kind: 'proportional' } } },
        ],
      }),
    ).toThrow('plan stage 2: source "dolly" has size 201 here but 200 in an earlier stage');
    expect(() => planStages({ stages: [{ name: 'warm', steps: 0, mixture: { sources: general, rule: { kind: 'proportional' } } }] })).toThrow(
      'plan stage 1 (“warm”): steps must be a positive whole number, got 0',
    );
    expect(() => planStages({ stages: [] })).toThrow(MixError);
  });
});
