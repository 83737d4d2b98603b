import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng';
import { makeWorld, toVelan } from '../../src/core/world/world';
import { corpusHash, generateCorpus } from '../../src/core/world/corpus';
import { CLUSTERS, buildCollection, renderInstance } from '../../src/core/world/tasks';

describe('synthetic world', () => {
  it('is reproducible from its seed and differs across seeds', () => {
    const a = makeWorld(7);
    const b = makeWorld(7);
    expect(JSON.stringify({ ...a, velan: [...a.velan] })).toBe(JSON.stringify({ ...b, velan: [...b.velan] }));
    const c = makeWorld(8);
    expect([...c.velan.values()]).not.toEqual([...a.velan.values()]);
  });

  it('translates word by word into Velan with distinct made-up words', () => {
    const world = makeWorld(1);
    const words = [...world.velan.values()];
    expect(new Set(words).size).toBe(words.length);
    expect(toVelan(world, 'The cat is big.')).toBe(
      `${world.velan.get('the')!.charAt(0).toUpperCase()}${world.velan.get('the')!.slice(1)} ${world.velan.get('cat')} ${world.velan.get('is')} ${world.velan.get('big')}.`,
    );
    expect(() => toVelan(world, 'The cat is purple.')).toThrow(/"purple" has no Velan word/);
  });
});

describe('corpus', () => {
  const world = makeWorld(1);
  const docs = generateCorpus(world, { documents: 3000, seed: 2 });

  it('is plain prose: no instruction formatting', () => {
    const text = docs.join('\n');
    for (const marker of ['Question:', 'Answer:', 'OPTIONS', 'Translate', 'Summarize', 'Instruction']) expect(text).not.toContain(marker);
  });

  it('states the facts the QA tasks ask about', () => {
    const text = docs.join('\n');
    for (const animal of world.animals) expect(text).toContain(`The ${animal.name} is ${animal.color}.`);
    for (const person of world.people) expect(text).toContain(`${person.name} lives in ${person.town}.`);
    for (const [a, b] of world.opposites) expect(text.includes(`The opposite of ${a} is ${b}.`) || text.includes(`The opposite of ${b} is ${a}.`)).toBe(true);
  });

  it('is reproducible (hash)', () => {
    expect(corpusHash(generateCorpus(world, { documents: 3000, seed: 2 }))).toBe(corpusHash(docs));
    expect(corpusHash(generateCorpus(world, { documents: 3000, seed: 3 }))).not.toBe(corpusHash(docs));
  });
});

describe('task collection', () => {
  const world = makeWorld(1);

  it('has at least 12 clusters, each with ≥ 5 templates and a turned-around one; classification has options', () => {
    expect(CLUSTERS.length).toBeGreaterThanOrEqual(12);
    expect(new Set(CLUSTERS.map((c) => c.name)).size).toBe(CLUSTERS.length);
    const rng = new Rng(3);
    for (const cluster of CLUSTERS) {
      expect(cluster.templates.filter((t) => !t.turnedAround).length, cluster.name).toBeGreaterThanOrEqual(5);
      expect(cluster.templates.some((t) => t.turnedAround), cluster.name).toBe(true);
      for (let i = 0; i < 50; i++) {
        const instance = cluster.make(world, rng);
        if (cluster.kind === 'classification') {
          expect(instance.options, cluster.name).toBeDefined();
          expect(instance.options).toContain(instance.output);
        }
        for (const template of cluster.templates) {
          const { prompt, answer } = renderInstance(cluster, instance, 'instructions', template);
          expect(prompt).not.toMatch(/\{\w+\}/);
          expect(answer.length).toBeGreaterThan(0);
          if (!template.turnedAround) expect(answer).toBe(instance.output);
          if (instance.options && !template.turnedAround) expect(prompt).toContain('OPTIONS:\n- ');
        }
      }
    }
  });

  it('renders the ablations: dataset name and no template', () => {
    const cluster = CLUSTERS.find((c) => c.name === 'antonyms')!;
    const instance = { fields: { word: 'hot', output: 'cold' }, input: 'hot', output: 'cold' };
    expect(renderInstance(cluster, instance, 'instructions', cluster.templates[0])).toEqual({ prompt: 'What is the opposite of hot?', answer: 'cold' });
    expect(renderInstance(cluster, instance, 'dataset-name', cluster.templates[0])).toEqual({ prompt: 'antonyms: hot', answer: 'cold' });
    expect(renderInstance(cluster, instance, 'no-template', cluster.templates[0])).toEqual({ prompt: 'hot', answer: 'cold' });
    // a classification instance's options are part of its input for the dataset-name rendering, not for no-template
    const sentiment = CLUSTERS.find((c) => c.name === 'sentiment')!;
    const review = { fields: { review: 'A fine song.', output: 'positive' }, input: 'A fine song.', output: 'positive', options: ['positive', 'negative'] };
    expect(renderInstance(sentiment, review, 'dataset-name', sentiment.templates[0])).toEqual({
      prompt: 'sentiment: A fine song.\nOPTIONS:\n- positive\n- negative',
      answer: 'positive',
    });
    expect(renderInstance(sentiment, review, 'no-template', sentiment.templates[0])).toEqual({ prompt: 'A fine song.', answer: 'positive' });
  });

  it('lists classification options in an order drawn per instance, so no position always holds the answer', () => {
    const rng = new Rng(5);
    for (const cluster of CLUSTERS.filter((c) => c.kind === 'classification')) {
      const orders = new Set<string>();
      const answerAt = new Set<number>();
      for (let i = 0; i < 60; i++) {
        const instance = cluster.make(world, rng);
        orders.add(instance.options!.join('|'));
        answerAt.add(instance.options!.indexOf(instance.output));
      }
      expect(orders.size, cluster.name).toBeGreaterThan(1);
      expect(answerAt.size, cluster.name).toBeGreaterThan(1);
    }
  });

  it('builds seeded records for the data studio with task, cluster and template tags', () => {
    const records = buildCollection(world, { seed: 5, perCluster: 10 });
    expect(records.length).toBe(10 * CLUSTERS.length);
    expect(JSON.stringify(buildCollection(world, { seed: 5, perCluster: 10 }))).toBe(JSON.stringify(records));
    expect(records.every((r) => r.task && r.cluster && r.instruction && r.output && r.tags?.[0]?.startsWith('template:'))).toBe(true);
    const held = buildCollection(world, { seed: 5, perCluster: 4, clusters: ['antonyms'], turnedAround: false });
    expect(held.every((r) => r.cluster === 'antonyms' && !r.tags!.includes('template:turned'))).toBe(true);
  });
});
