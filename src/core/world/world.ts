// hone-tiny's synthetic world: a seeded, small set of facts (animals, people, towns), a toy second
// language ("Velan") and word knowledge (opposites, spellings). The corpus (corpus.ts) states these
// facts in plain prose, and the task collection (tasks.ts) asks about the same facts, so a model that
// learned the corpus has the knowledge and instruction tuning only has to teach it to answer.
// Everything derives from one seed through src/core/rng.ts, so a world is reproducible in any engine.
import { Rng } from '../rng';

export interface Animal {
  name: string;
  plural: string;
  color: string;
  home: string;
  food: string;
  sound: string;
  /** 1 (smallest) … n: a total order used by comparisons */
  size: number;
}

export interface Person {
  name: string;
  pronoun: 'he' | 'she';
  job: string;
  town: string;
  pet: string;
  likes: string;
}

export interface Town {
  name: string;
  river: string;
  food: string;
  weather: string;
}

export interface World {
  seed: number;
  animals: Animal[];
  people: Person[];
  towns: Town[];
  /** English word → Velan word */
  velan: Map<string, string>;
  opposites: [string, string][];
  /** words used by spelling and sorting tasks */
  words: string[];
  /** review subjects (book / film titles) */
  titles: string[];
  topics: Record<Topic, string[]>;
}

export type Topic = 'sports' | 'food' | 'music' | 'weather' | 'travel';
export const TOPICS: readonly Topic[] = ['sports', 'food', 'music', 'weather', 'travel'];

const ANIMALS: [string, string, string][] = [
  // name, plural, sound
  ['ant', 'ants', 'clicks'], ['bee', 'bees', 'buzzes'], ['mouse', 'mice', 'squeaks'], ['frog', 'frogs', 'croaks'],
  ['hen', 'hens', 'clucks'], ['duck', 'ducks', 'quacks'], ['cat', 'cats', 'meows'], ['owl', 'owls', 'hoots'],
  ['fox', 'foxes', 'yips'], ['dog', 'dogs', 'barks'], ['goat', 'goats', 'bleats'], ['sheep', 'sheep', 'baas'],
  ['pig', 'pigs', 'oinks'], ['wolf', 'wolves', 'howls'], ['deer', 'deer', 'bellows'], ['lion', 'lions', 'roars'],
  ['horse', 'horses', 'neighs'], ['cow', 'cows', 'moos'], ['bear', 'bears', 'growls'], ['whale', 'whales', 'sings'],
];
const COLORS = ['red', 'blue', 'green', 'yellow', 'brown', 'white', 'black', 'gray', 'orange', 'pink'];
const HOMES = ['forest', 'river', 'farm', 'hill', 'cave', 'field', 'lake', 'garden'];
const FOODS = ['grass', 'fish', 'seeds', 'apples', 'honey', 'leaves', 'berries', 'corn', 'nuts', 'carrots'];
const NAMES: [string, 'he' | 'she'][] = [
  ['Mia', 'she'], ['Tom', 'he'], ['Ana', 'she'], ['Leo', 'he'], ['Sara', 'she'], ['Ben', 'he'], ['Ivy', 'she'],
  ['Max', 'he'], ['Zoe', 'she'], ['Sam', 'he'], ['Lily', 'she'], ['Omar', 'he'], ['Nina', 'she'], ['Paul', 'he'],
  ['Rosa', 'she'], ['Finn', 'he'],
];
const JOBS = ['baker', 'farmer', 'teacher', 'doctor', 'pilot', 'singer', 'painter', 'fisher', 'builder', 'nurse'];
const LIKES = ['music', 'soup', 'games', 'books', 'rain', 'bread', 'dancing', 'boats', 'flowers', 'tea'];
const TOWN_NAMES = ['Arlo', 'Belm', 'Corrin', 'Dunmere', 'Estly', 'Farrow', 'Galen', 'Holt'];
const RIVERS = ['Sel', 'Ambra', 'Tor', 'Vessa', 'Lune', 'Orrin', 'Kell', 'Mira'];
const TOWN_FOODS = ['bread', 'soup', 'cheese', 'pie', 'rice', 'cake', 'stew', 'jam'];
const WEATHER = ['rainy', 'sunny', 'windy', 'snowy', 'foggy', 'warm', 'cold', 'cloudy'];

export const OPPOSITES: [string, string][] = [
  ['hot', 'cold'], ['big', 'small'], ['fast', 'slow'], ['happy', 'sad'], ['up', 'down'], ['old', 'young'],
  ['dark', 'bright'], ['early', 'late'], ['open', 'closed'], ['full', 'empty'], ['wet', 'dry'], ['loud', 'quiet'],
  ['hard', 'soft'], ['rich', 'poor'], ['tall', 'short'], ['thick', 'thin'], ['strong', 'weak'], ['clean', 'dirty'],
  ['day', 'night'], ['left', 'right'], ['high', 'low'], ['near', 'far'], ['push', 'pull'], ['buy', 'sell'],
  ['give', 'take'], ['first', 'last'], ['win', 'lose'], ['good', 'bad'], ['heavy', 'light'], ['in', 'out'],
];

/** English words with a Velan translation: every word the translation task's sentences use. */
export const VELAN_WORDS = [
  'the', 'is', 'a', 'and', 'not', 'very', 'i', 'you', 'we', 'see', 'like', 'have', 'eat', 'drink', 'water', 'bread',
  'sun', 'moon', 'tree', 'house', 'road', 'boat', 'book', 'friend', 'mother', 'father', 'child', 'big', 'small',
  'red', 'blue', 'green', 'happy', 'sad', 'hot', 'cold', 'good', 'bad', 'cat', 'dog', 'fox', 'bird', 'fish', 'today',
  'here', 'there', 'one', 'two', 'three',
] as const;

const TOPIC_WORDS: Record<Topic, string[]> = {
  sports: ['team', 'ball', 'goal', 'race', 'match', 'coach', 'player', 'score', 'runner', 'field'],
  food: ['soup', 'bread', 'cook', 'oven', 'recipe', 'salt', 'kitchen', 'dinner', 'cake', 'spoon'],
  music: ['song', 'drum', 'guitar', 'singer', 'band', 'piano', 'concert', 'melody', 'choir', 'tune'],
  weather: ['rain', 'snow', 'wind', 'cloud', 'storm', 'sunshine', 'fog', 'thunder', 'frost', 'breeze'],
  travel: ['train', 'ticket', 'map', 'hotel', 'bridge', 'station', 'journey', 'suitcase', 'harbor', 'road'],
};

const TITLE_WORDS = ['Blue', 'Silent', 'Golden', 'Last', 'Hidden', 'Little', 'Long', 'Bright', 'Cold', 'Lost'];
const TITLE_NOUNS = ['River', 'Garden', 'Door', 'Song', 'Winter', 'Road', 'Island', 'Lantern', 'Mountain', 'Letter'];

function shuffle<T>(items: readonly T[], rng: Rng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function pick<T>(items: readonly T[], rng: Rng): T {
  return items[rng.int(items.length)];
}

/** A pronounceable made-up word of 2–3 syllables, distinct from every English word in use. */
function velanWord(rng: Rng, taken: Set<string>): string {
  const onsets = ['k', 't', 'm', 'r', 's', 'v', 'l', 'n', 'd', 'z', 'p', 'h'];
  const vowels = ['a', 'e', 'i', 'o', 'u'];
  for (;;) {
    const syllables = 2 + rng.int(2);
    let word = '';
    for (let i = 0; i < syllables; i++) word += pick(onsets, rng) + pick(vowels, rng);
    if (!taken.has(word)) {
      taken.add(word);
      return word;
    }
  }
}

export function makeWorld(seed: number): World {
  const rng = new Rng(seed);
  const colors = shuffle(COLORS, rng);
  const animals: Animal[] = ANIMALS.map(([name, plural, sound], i) => ({
    name,
    plural,
    sound,
    color: colors[i % colors.length],
    home: pick(HOMES, rng),
    food: pick(FOODS, rng),
    size: i + 1, // the list is in size order: ant smallest, whale largest
  }));
  const towns: Town[] = TOWN_NAMES.map((name, i) => ({
    name,
    river: RIVERS[i],
    food: TOWN_FOODS[(i + rng.int(TOWN_FOODS.length)) % TOWN_FOODS.length],
    weather: pick(WEATHER, rng),
  }));
  const jobs = shuffle(JOBS, rng);
  const people: Person[] = NAMES.map(([name, pronoun], i) => ({
    name,
    pronoun,
    job: jobs[i % jobs.length],
    town: towns[rng.int(towns.length)].name,
    pet: animals[rng.int(12)].name, // pets are the smaller animals
    likes: pick(LIKES, rng),
  }));
  const taken = new Set<string>([...VELAN_WORDS, ...OPPOSITES.flat(), ...ANIMALS.map(([name]) => name)]);
  const velan = new Map<string, string>();
  for (const word of VELAN_WORDS) velan.set(word, velanWord(rng, taken));
  const words = [...new Set([...ANIMALS.map(([name]) => name), ...COLORS, ...FOODS, ...JOBS, ...OPPOSITES.flat()])].filter(
    (w) => w.length >= 3 && w.length <= 7,
  );
  const titles: string[] = [];
  for (const adjective of TITLE_WORDS) titles.push(`The ${adjective} ${pick(TITLE_NOUNS, rng)}`);
  return { seed, animals, people, towns, velan, opposites: OPPOSITES, words, titles: [...new Set(titles)], topics: TOPIC_WORDS };
}

export function animalNamed(world: World, name: string): Animal {
  const animal = world.animals.find((a) => a.name === name);
  if (!animal) throw new Error(`world: no animal named "${name}"`);
  return animal;
}

/** Word-by-word translation into Velan (the toy language keeps English word order). */
export function toVelan(world: World, sentence: string): string {
  const words = sentence.replace(/[.!?]$/, '').split(/\s+/);
  const out = words.map((w) => {
    const v = world.velan.get(w.toLowerCase());
    if (v === undefined) throw new Error(`world: "${w}" has no Velan word`);
    return v;
  });
  const text = out.join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1) + '.';
}

export { shuffle, pick };
