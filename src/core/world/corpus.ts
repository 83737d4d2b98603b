// hone-tiny's pretraining corpus: plain prose about the synthetic world (world.ts) — encyclopedic
// sentences, stories, dialogues, reviews, a Velan dictionary in prose with example sentences,
// arithmetic in narrative, comparisons, opposites, spellings, sorted lists. No instruction formatting
// at all: no "Question:", no "Answer:", no task names. The text generators here are shared with the
// task collection (tasks.ts), so a task's answer is something the corpus states.
import { Rng } from '../rng';
import { TOPICS, pick, shuffle, toVelan, type Animal, type Person, type Topic, type World } from './world';

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];
const THINGS = ['apples', 'books', 'coins', 'eggs', 'shells', 'stamps', 'cups', 'pens'];

export function animalFacts(a: Animal): string[] {
  return [
    `The ${a.name} is ${a.color}.`,
    `The ${a.name} lives in the ${a.home}.`,
    `The ${a.name} eats ${a.food}.`,
    `The ${a.name} ${a.sound}.`,
  ];
}

export function personFacts(p: Person): string[] {
  return [
    `${p.name} is a ${p.job}.`,
    `${p.name} lives in ${p.town}.`,
    `${p.name} has a pet ${p.pet}.`,
    `${p.name} likes ${p.likes}.`,
  ];
}

export function townFacts(world: World, name: string): string[] {
  const t = world.towns.find((x) => x.name === name)!;
  return [`${t.name} is on the river ${t.river}.`, `People in ${t.name} love ${t.food}.`, `The weather in ${t.name} is often ${t.weather}.`];
}

const POSITIVE = ['wonderful', 'great', 'lovely', 'delightful', 'excellent', 'charming', 'beautiful', 'fun'];
const NEGATIVE = ['boring', 'awful', 'dull', 'terrible', 'bad', 'tiresome', 'ugly', 'weak'];
const POS_VERB = ['I loved it', 'I enjoyed every page', 'it made me smile', 'I would see it again', 'my friends liked it too'];
const NEG_VERB = ['I hated it', 'I left early', 'it made me sleepy', 'I want my money back', 'my friends did not like it either'];

/** A short review; `positive` decides the words. */
export function review(world: World, rng: Rng, positive: boolean): string {
  const title = pick(world.titles, rng);
  const adjectives = positive ? POSITIVE : NEGATIVE;
  const verbs = positive ? POS_VERB : NEG_VERB;
  const kind = pick(['film', 'book', 'play', 'song'], rng);
  return `${title} is a ${pick(adjectives, rng)} ${kind}. ${cap(pick(verbs, rng))}. The ending was ${pick(adjectives, rng)}.`;
}

/** A two-sentence text about one topic, using that topic's words. */
export function topicText(world: World, rng: Rng, topic: Topic): string {
  const [a, b, c] = shuffle(world.topics[topic], rng);
  const person = pick(world.people, rng).name;
  const frames = [
    `${person} thought about the ${a} and the ${b}. Later there was more talk of the ${c}.`,
    `The ${a} was the news of the day in ${pick(world.towns, rng).name}. Everyone spoke of the ${b} and the ${c}.`,
    `${person} wrote a letter about the ${a}. It also told of the ${b}.`,
  ];
  return pick(frames, rng);
}

export interface Story {
  text: string;
  summary: string;
}

/** A four-sentence story whose gist is its summary sentence. */
export function story(world: World, rng: Rng): Story {
  const p = pick(world.people, rng);
  const friend = pick(world.people.filter((q) => q !== p), rng);
  const thing = pick(['a cake', 'a song', 'a boat', 'a letter', 'a garden', 'a kite', 'a map', 'a hat'], rng);
  const verb = { 'a cake': 'baked', 'a song': 'wrote', 'a boat': 'built', 'a letter': 'wrote', 'a garden': 'planted', 'a kite': 'made', 'a map': 'drew', 'a hat': 'knitted' }[thing]!;
  const reason = pick(['for a birthday', 'for a holiday', 'to say thank you', 'as a surprise'], rng);
  const pro = p.pronoun;
  const text =
    `One ${pick(['morning', 'evening', 'day', 'winter'], rng)}, ${p.name} woke up early in ${p.town}. ` +
    `${cap(pro)} ${verb} ${thing} ${reason}. ` +
    `${cap(pro)} gave it to ${friend.name}. ${friend.name} was very happy.`;
  return { text, summary: `${p.name} ${verb} ${thing} for ${friend.name}.` };
}

export interface Problem {
  text: string;
  answer: number;
  /** the narrative with its result, as the corpus states it */
  solved: string;
}

export function arithmeticProblem(world: World, rng: Rng): Problem {
  const p = pick(world.people, rng);
  const thing = pick(THINGS, rng);
  const a = 2 + rng.int(9);
  const b = 1 + rng.int(8);
  const add = rng.next() < 0.5 || b >= a;
  const answer = add ? a + b : a - b;
  const middle = add ? `${cap(p.pronoun)} found ${b} more.` : `${cap(p.pronoun)} gave ${b} away.`;
  const text = `${p.name} had ${a} ${thing}. ${middle}`;
  return { text, answer, solved: `${text} Now ${p.name} has ${answer} ${thing}.` };
}

export function opposites(world: World, rng: Rng): string {
  const [a, b] = pick(world.opposites, rng);
  return pick([`The opposite of ${a} is ${b}.`, `The opposite of ${b} is ${a}.`, `${cap(a)} and ${b} are opposites.`], rng);
}

export function spelled(word: string): string {
  return [...word].join(' ');
}

export function sortedList(words: readonly string[]): string {
  return [...words].sort().join(', ');
}

export function compare(world: World, rng: Rng): { a: Animal; b: Animal; text: string } {
  const [a, b] = shuffle(world.animals, rng).slice(0, 2);
  const [big, small] = a.size > b.size ? [a, b] : [b, a];
  const text = pick([`The ${big.name} is bigger than the ${small.name}.`, `The ${small.name} is smaller than the ${big.name}.`], rng);
  return { a, b, text };
}

/** Sentences a Velan example uses: only words with a Velan translation. */
export function velanSentence(rng: Rng): string {
  const subject = pick(['the cat', 'the dog', 'the fox', 'the bird', 'the fish', 'the child', 'the mother', 'the father', 'i', 'you', 'we'], rng);
  const patterns = [
    () => `${subject} ${subject === 'i' || subject === 'you' || subject === 'we' ? 'see' : 'is'} ${subject === 'i' || subject === 'you' || subject === 'we' ? pick(['the sun', 'the moon', 'the tree', 'the house', 'the boat', 'a book'], rng) : pick(['big', 'small', 'red', 'blue', 'green', 'happy', 'sad', 'hot', 'cold', 'good', 'bad'], rng)}`,
    () => `the ${pick(['sun', 'moon', 'tree', 'house', 'road', 'boat', 'water', 'bread'], rng)} is ${pick(['very ', ''], rng)}${pick(['big', 'small', 'red', 'blue', 'green', 'hot', 'cold', 'good'], rng)}`,
    () => `${pick(['i', 'you', 'we'], rng)} ${pick(['like', 'have', 'see', 'eat', 'drink'], rng)} ${pick(['water', 'bread', 'the fish', 'a book', 'the boat', 'two fish', 'three fish'], rng)}`,
  ];
  const s = pick(patterns, rng)();
  return cap(s) + '.';
}

export type Genre =
  | 'encyclopedia'
  | 'people'
  | 'towns'
  | 'story'
  | 'dialogue'
  | 'review'
  | 'topic'
  | 'velan'
  | 'arithmetic'
  | 'comparison'
  | 'opposites'
  | 'spelling'
  | 'lists'
  | 'paraphrase'
  | 'reasoning';

export const GENRES: readonly Genre[] = [
  'encyclopedia', 'people', 'towns', 'story', 'dialogue', 'review', 'topic', 'velan', 'arithmetic', 'comparison',
  'opposites', 'spelling', 'lists', 'paraphrase', 'reasoning',
];

/** One document of a genre: a few sentences of plain prose. */
export function document(world: World, rng: Rng, genre: Genre): string {
  switch (genre) {
    case 'encyclopedia': {
      const a = pick(world.animals, rng);
      return shuffle(animalFacts(a), rng).slice(0, 2 + rng.int(3)).join(' ') + ` ${cap(a.plural)} are ${a.size > 10 ? 'big' : 'small'} animals.`;
    }
    case 'people': {
      const p = pick(world.people, rng);
      return shuffle(personFacts(p), rng).slice(0, 2 + rng.int(3)).join(' ');
    }
    case 'towns':
      return shuffle(townFacts(world, pick(world.towns, rng).name), rng).join(' ');
    case 'story': {
      const s = story(world, rng);
      return `${s.text} In short, ${s.summary.charAt(0)}${s.summary.slice(1)}`;
    }
    case 'dialogue': {
      const [p, q] = shuffle(world.people, rng);
      const a = pick(world.animals, rng);
      const lines = pick(
        [
          [`${q.name} asked, "What do you do, ${p.name}?"`, `${p.name} said, "I am a ${p.job}."`],
          [`${q.name} asked, "Where do you live?"`, `${p.name} said, "I live in ${p.town}."`],
          [`${q.name} asked, "What color is the ${a.name}?"`, `${p.name} said, "The ${a.name} is ${a.color}."`],
          [`${q.name} asked, "Where does the ${a.name} live?"`, `${p.name} said, "The ${a.name} lives in the ${a.home}."`],
          [`${q.name} asked, "What does the ${a.name} eat?"`, `${p.name} said, "The ${a.name} eats ${a.food}."`],
        ],
        rng,
      );
      return lines.join(' ');
    }
    case 'review':
      return review(world, rng, rng.next() < 0.5);
    case 'topic':
      return topicText(world, rng, pick(TOPICS, rng));
    case 'velan': {
      if (rng.next() < 0.5) {
        const entries = shuffle([...world.velan], rng).slice(0, 3);
        return entries.map(([en, ve]) => `In Velan, the word for ${en} is ${ve}.`).join(' ');
      }
      const s = velanSentence(rng);
      return `In English we say "${s}" In Velan we say "${toVelan(world, s)}"`;
    }
    case 'arithmetic':
      return arithmeticProblem(world, rng).solved;
    case 'comparison':
      return compare(world, rng).text + ' ' + compare(world, rng).text;
    case 'opposites':
      return opposites(world, rng) + ' ' + opposites(world, rng);
    case 'spelling': {
      const w = pick(world.words, rng);
      return `The word ${w} is spelled ${spelled(w)}.`;
    }
    case 'lists': {
      const ws = shuffle(world.words, rng).slice(0, 3 + rng.int(2));
      return `${cap(pick(['here are some words', 'we wrote down', 'the list had'], rng))}: ${ws.join(', ')}. In order from a to z: ${sortedList(ws)}.`;
    }
    case 'paraphrase': {
      const a = pick(world.animals, rng);
      return pick(
        [
          `The ${a.name} is ${a.color}. In other words, the ${a.name} has ${a.color} fur.`,
          `The ${a.name} lives in the ${a.home}. In other words, the ${a.name}'s home is the ${a.home}.`,
          `The ${a.name} eats ${a.food}. In other words, ${a.food} is food for the ${a.name}.`,
        ],
        rng,
      );
    }
    case 'reasoning': {
      const p = pick(world.people, rng);
      const other = pick(world.towns.filter((t) => t.name !== p.town), rng).name;
      return pick(
        [
          `${p.name} is a ${p.job} in ${p.town}. So ${p.name} lives in ${p.town}.`,
          `${p.name} lives in ${p.town}. So ${p.name} does not live in ${other}.`,
          `${p.name} has a pet ${p.pet}. So ${p.name} has an animal at home.`,
        ],
        rng,
      );
    }
  }
}

export interface CorpusOptions {
  documents: number;
  seed: number;
}

/** `documents` documents, genres drawn uniformly; the same seed gives the same corpus. */
export function generateCorpus(world: World, options: CorpusOptions): string[] {
  const rng = new Rng(options.seed);
  const out: string[] = [];
  for (let i = 0; i < options.documents; i++) out.push(document(world, rng, pick(GENRES, rng)));
  return out;
}

/** FNV-1a over the documents (joined by newlines), for the model manifest. */
export function corpusHash(documents: readonly string[]): string {
  let h = 0x811c9dc5;
  for (const doc of documents) {
    for (let i = 0; i < doc.length; i++) {
      h ^= doc.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    h ^= 10;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

export { NUMBER_WORDS };
