// The built-in task collection for "FLAN in miniature": 13 task clusters over the synthetic world,
// each with at least 5 templates (FLAN-style phrasings, at least one "turned around" template that
// inverts the task, OPTIONS lists for classification). Instances are drawn from the same generators
// as the corpus (corpus.ts), so every answer is something the pretraining text states or implies.
//
// Renderings (the FLAN ablation): 'instructions' (a template), 'dataset-name' ("<task>: <input>")
// and 'no-template' (the input alone).
import { Rng } from '../rng';
import type { InstructionRecord } from '../data/record';
import {
  arithmeticProblem,
  review,
  sortedList,
  spelled,
  story,
  topicText,
  velanSentence,
} from './corpus';
import { TOPICS, pick, shuffle, toVelan, type World } from './world';

/** One task instance: named fields the templates fill in, the plain input and the answer. */
export interface TaskInstance {
  fields: Record<string, string>;
  /** the input alone, for the 'no-template' and 'dataset-name' renderings */
  input: string;
  /** the answer of the task's forward (not turned-around) templates */
  output: string;
  /** answer options for classification tasks */
  options?: string[];
}

export interface Template {
  id: string;
  /** text with {field} placeholders */
  prompt: string;
  /** the answer with {field} placeholders; `{output}` is the instance's answer */
  answer: string;
  /** inverts the task (e.g. answer → question); never used for evaluation */
  turnedAround?: boolean;
}

export interface TaskCluster {
  name: string;
  description: string;
  kind: 'classification' | 'generation';
  templates: Template[];
  make(world: World, rng: Rng): TaskInstance;
}

export type Rendering = 'instructions' | 'dataset-name' | 'no-template';

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

function fill(text: string, fields: Record<string, string>, where: string): string {
  return text.replace(/\{(\w+)\}/g, (_, key: string) => {
    const value = fields[key];
    if (value === undefined) throw new Error(`${where}: template field {${key}} is not one of ${Object.keys(fields).join(', ')}`);
    return value;
  });
}

function questionFor(world: World, rng: Rng): { question: string; answer: string; fact: string } {
  const kind = rng.int(7);
  const a = pick(world.animals, rng);
  const p = pick(world.people, rng);
  const t = pick(world.towns, rng);
  switch (kind) {
    case 0:
      return { question: `What color is the ${a.name}?`, answer: a.color, fact: `The ${a.name} is ${a.color}.` };
    case 1:
      return { question: `Where does the ${a.name} live?`, answer: `the ${a.home}`, fact: `The ${a.name} lives in the ${a.home}.` };
    case 2:
      return { question: `What does the ${a.name} eat?`, answer: a.food, fact: `The ${a.name} eats ${a.food}.` };
    case 3:
      return { question: `What is ${p.name}'s job?`, answer: `a ${p.job}`, fact: `${p.name} is a ${p.job}.` };
    case 4:
      return { question: `Where does ${p.name} live?`, answer: p.town, fact: `${p.name} lives in ${p.town}.` };
    case 5:
      return { question: `What pet does ${p.name} have?`, answer: `a ${p.pet}`, fact: `${p.name} has a pet ${p.pet}.` };
    default:
      return { question: `Which river is ${t.name} on?`, answer: `the ${t.river}`, fact: `${t.name} is on the river ${t.river}.` };
  }
}

export const CLUSTERS: TaskCluster[] = [
  {
    name: 'factual_qa',
    description: 'closed-book questions about the world',
    kind: 'generation',
    templates: [
      { id: 'plain', prompt: '{question}', answer: '{output}' },
      { id: 'answer', prompt: 'Answer the question: {question}', answer: '{output}' },
      { id: 'short', prompt: 'Give a short answer. {question}', answer: '{output}' },
      { id: 'world', prompt: 'Here is a question about our world.\n\n{question}', answer: '{output}' },
      { id: 'please', prompt: 'Please answer this question: {question}', answer: '{output}' },
      { id: 'turned', prompt: 'Write a question whose answer is "{output}".', answer: '{question}', turnedAround: true },
    ],
    make(world, rng) {
      const q = questionFor(world, rng);
      return { fields: { question: q.question, output: q.answer }, input: q.question, output: q.answer };
    },
  },
  {
    name: 'sentiment',
    description: 'is a review positive or negative',
    kind: 'classification',
    templates: [
      { id: 'pos-neg', prompt: 'Is this review positive or negative?\n\n{review}\n\n{options}', answer: '{output}' },
      { id: 'feel', prompt: '{review}\n\nHow did the writer feel about it?\n\n{options}', answer: '{output}' },
      { id: 'sentiment', prompt: 'What is the sentiment of this review?\n{review}\n{options}', answer: '{output}' },
      { id: 'classify', prompt: 'Classify the review as positive or negative: {review}\n\n{options}', answer: '{output}' },
      { id: 'tell', prompt: 'Read the review and tell me if it is positive or negative.\n\n{review}\n\n{options}', answer: '{output}' },
      { id: 'turned', prompt: 'Write a {output} review of a film, book, play or song.', answer: '{review}', turnedAround: true },
    ],
    make(world, rng) {
      const positive = rng.next() < 0.5;
      const text = review(world, rng, positive);
      const label = positive ? 'positive' : 'negative';
      return { fields: { review: text, output: label }, input: text, output: label, options: shuffle(['negative', 'positive'], rng) };
    },
  },
  {
    name: 'topic',
    description: 'which topic a text is about',
    kind: 'classification',
    templates: [
      { id: 'about', prompt: 'What is this text about?\n\n{text}\n\n{options}', answer: '{output}' },
      { id: 'topic', prompt: '{text}\n\nWhich topic is this?\n\n{options}', answer: '{output}' },
      { id: 'choose', prompt: 'Choose the topic of the text: {text}\n{options}', answer: '{output}' },
      { id: 'section', prompt: 'In which part of a newspaper would this go?\n\n{text}\n\n{options}', answer: '{output}' },
      { id: 'label', prompt: 'Label the text with its topic.\n{text}\n{options}', answer: '{output}' },
      { id: 'turned', prompt: 'Write two sentences about {output}.', answer: '{text}', turnedAround: true },
    ],
    make(world, rng) {
      const topic = pick(TOPICS, rng);
      const text = topicText(world, rng, topic);
      // the answer and two other topics, in random order: the options differ from one instance to the next
      const options = shuffle([topic, ...shuffle(TOPICS.filter((t) => t !== topic), rng).slice(0, 2)], rng);
      return { fields: { text, output: topic }, input: text, output: topic, options };
    },
  },
  {
    name: 'translation',
    description: 'English into the toy language Velan',
    kind: 'generation',
    templates: [
      { id: 'into', prompt: 'Translate into Velan: {english}', answer: '{output}' },
      { id: 'say', prompt: 'How do you say "{english}" in Velan?', answer: '{output}' },
      { id: 'velan', prompt: '{english}\n\nSay this in Velan.', answer: '{output}' },
      { id: 'english-velan', prompt: 'Translate this sentence from English to Velan.\n\n{english}', answer: '{output}' },
      { id: 'write', prompt: 'Write the Velan version of: {english}', answer: '{output}' },
      { id: 'turned', prompt: 'Translate from Velan into English: {output}', answer: '{english}', turnedAround: true },
    ],
    make(world, rng) {
      const english = velanSentence(rng);
      const velan = toVelan(world, english);
      return { fields: { english, output: velan }, input: english, output: velan };
    },
  },
  {
    name: 'arithmetic',
    description: 'word problems with small numbers',
    kind: 'generation',
    templates: [
      { id: 'how-many', prompt: '{problem} How many {thing} does {name} have now?', answer: '{output}' },
      { id: 'solve', prompt: 'Solve this problem: {problem} How many {thing} now?', answer: '{output}' },
      { id: 'count', prompt: 'Read and count.\n\n{problem}\n\nHow many {thing} are left with {name}?', answer: '{output}' },
      { id: 'number', prompt: 'Answer with a number. {problem} How many {thing} does {name} have?', answer: '{output}' },
      { id: 'math', prompt: 'Here is a math question: {problem} What is the number of {thing} now?', answer: '{output}' },
      { id: 'turned', prompt: 'Write a short story where {name} ends up with {output} {thing}.', answer: '{solved}', turnedAround: true },
    ],
    make(world, rng) {
      const problem = arithmeticProblem(world, rng);
      const name = problem.text.split(' ')[0];
      const thing = problem.text.split(' ')[3].replace('.', '');
      const output = String(problem.answer);
      return { fields: { problem: problem.text, name, thing, solved: problem.solved, output }, input: problem.text, output };
    },
  },
  {
    name: 'antonyms',
    description: 'the opposite of a word',
    kind: 'generation',
    templates: [
      { id: 'opposite', prompt: 'What is the opposite of {word}?', answer: '{output}' },
      { id: 'give', prompt: 'Give the opposite of the word "{word}".', answer: '{output}' },
      { id: 'means', prompt: 'Tell me a word that means the opposite of {word}.', answer: '{output}' },
      { id: 'antonym', prompt: 'Find the antonym: {word}', answer: '{output}' },
      { id: 'reverse', prompt: '{word}\n\nWhich word is its opposite?', answer: '{output}' },
      { id: 'turned', prompt: '{output} is the opposite of which word?', answer: '{word}', turnedAround: true },
    ],
    make(world, rng) {
      const pair = pick(world.opposites, rng);
      const [word, output] = rng.next() < 0.5 ? pair : [pair[1], pair[0]];
      return { fields: { word, output }, input: word, output };
    },
  },
  {
    name: 'spelling',
    description: 'spell a word letter by letter',
    kind: 'generation',
    templates: [
      { id: 'spell', prompt: 'Spell the word {word}.', answer: '{output}' },
      { id: 'letters', prompt: 'Write the letters of "{word}" one by one.', answer: '{output}' },
      { id: 'how', prompt: 'How is {word} spelled?', answer: '{output}' },
      { id: 'out', prompt: 'Spell out: {word}', answer: '{output}' },
      { id: 'each', prompt: '{word}\n\nGive each letter of this word.', answer: '{output}' },
      { id: 'turned', prompt: 'Which word is spelled {output}?', answer: '{word}', turnedAround: true },
    ],
    make(world, rng) {
      const word = pick(world.words, rng);
      return { fields: { word, output: spelled(word) }, input: word, output: spelled(word) };
    },
  },
  {
    name: 'sorting',
    description: 'sort words from a to z',
    kind: 'generation',
    templates: [
      { id: 'sort', prompt: 'Sort these words from a to z: {list}', answer: '{output}' },
      { id: 'order', prompt: 'Put in alphabetical order: {list}', answer: '{output}' },
      { id: 'arrange', prompt: 'Arrange the words from a to z.\n\n{list}', answer: '{output}' },
      { id: 'list', prompt: '{list}\n\nWrite this list in order from a to z.', answer: '{output}' },
      { id: 'alpha', prompt: 'Alphabetize: {list}', answer: '{output}' },
      { id: 'turned', prompt: 'Which word comes first from a to z: {list}?', answer: '{first}', turnedAround: true },
    ],
    make(world, rng) {
      const words = shuffle(world.words, rng).slice(0, 3 + rng.int(2));
      const list = words.join(', ');
      const output = sortedList(words);
      return { fields: { list, output, first: output.split(', ')[0] }, input: list, output };
    },
  },
  {
    name: 'summarization',
    description: 'one-sentence summary of a short story',
    kind: 'generation',
    templates: [
      { id: 'summarize', prompt: 'Summarize the story in one sentence.\n\n{story}', answer: '{output}' },
      { id: 'gist', prompt: '{story}\n\nWhat happened, in short?', answer: '{output}' },
      { id: 'tldr', prompt: 'Give a one-line summary: {story}', answer: '{output}' },
      { id: 'short', prompt: 'Read the story and say what it is about in one sentence.\n\n{story}', answer: '{output}' },
      { id: 'main', prompt: 'What is the main event of this story? {story}', answer: '{output}' },
      { id: 'turned', prompt: 'Write a short story in which this happens: {output}', answer: '{story}', turnedAround: true },
    ],
    make(world, rng) {
      const s = story(world, rng);
      return { fields: { story: s.text, output: s.summary }, input: s.text, output: s.summary };
    },
  },
  {
    name: 'question_generation',
    description: 'the question a sentence answers',
    kind: 'generation',
    templates: [
      { id: 'write', prompt: 'Write a question that this sentence answers: {fact}', answer: '{output}' },
      { id: 'ask', prompt: '{fact}\n\nWhat question does this answer?', answer: '{output}' },
      { id: 'make', prompt: 'Make a question from the fact: {fact}', answer: '{output}' },
      { id: 'quiz', prompt: 'Turn this fact into a quiz question.\n\n{fact}', answer: '{output}' },
      { id: 'form', prompt: 'Form a question whose answer is in this sentence: {fact}', answer: '{output}' },
      { id: 'turned', prompt: 'Answer with a full sentence: {output}', answer: '{fact}', turnedAround: true },
    ],
    make(world, rng) {
      const q = questionFor(world, rng);
      return { fields: { fact: q.fact, output: q.question }, input: q.fact, output: q.question };
    },
  },
  {
    name: 'paraphrase',
    description: 'do two sentences mean the same',
    kind: 'classification',
    templates: [
      { id: 'same', prompt: 'Do these two sentences mean the same thing?\n{a}\n{b}\n\n{options}', answer: '{output}' },
      { id: 'para', prompt: 'Is the second sentence a paraphrase of the first? {a} {b}\n{options}', answer: '{output}' },
      { id: 'equal', prompt: '{a}\n{b}\n\nDo they say the same?\n{options}', answer: '{output}' },
      { id: 'meaning', prompt: 'Sentence one: {a}\nSentence two: {b}\nSame meaning?\n{options}', answer: '{output}' },
      { id: 'check', prompt: 'Check whether these mean the same: "{a}" and "{b}"\n\n{options}', answer: '{output}' },
      { id: 'turned', prompt: 'Say this in other words: {a}', answer: '{rewrite}', turnedAround: true },
    ],
    make(world, rng) {
      const a = pick(world.animals, rng);
      const forms: [string, string][] = [
        [`The ${a.name} is ${a.color}.`, `The ${a.name} has ${a.color} fur.`],
        [`The ${a.name} lives in the ${a.home}.`, `The ${a.name}'s home is the ${a.home}.`],
        [`The ${a.name} eats ${a.food}.`, `${cap(a.food)} is food for the ${a.name}.`],
      ];
      const [first, rewrite] = pick(forms, rng);
      const same = rng.next() < 0.5;
      let second = rewrite;
      if (!same) {
        const other = pick(world.animals.filter((x) => x !== a), rng);
        second = pick([`The ${other.name} has ${other.color} fur.`, `The ${other.name}'s home is the ${other.home}.`], rng);
      }
      const label = same ? 'yes' : 'no';
      return { fields: { a: first, b: second, rewrite, output: label }, input: `${first} ${second}`, output: label, options: shuffle(['no', 'yes'], rng) };
    },
  },
  {
    name: 'entailment',
    description: 'does a hypothesis follow from a premise',
    kind: 'classification',
    templates: [
      { id: 'follow', prompt: '{premise}\n\nDoes it follow that {hypothesis}\n\n{options}', answer: '{output}' },
      { id: 'true', prompt: 'Premise: {premise}\nHypothesis: {hypothesis}\nIs the hypothesis true?\n{options}', answer: '{output}' },
      { id: 'conclude', prompt: 'Read: {premise} Can we conclude that {hypothesis}\n{options}', answer: '{output}' },
      { id: 'imply', prompt: 'Does "{premise}" mean that "{hypothesis}"?\n\n{options}', answer: '{output}' },
      { id: 'given', prompt: 'Given that {premise} is it true that {hypothesis}\n{options}', answer: '{output}' },
      { id: 'turned', prompt: 'Write a sentence that follows from this: {premise}', answer: '{entailed}', turnedAround: true },
    ],
    make(world, rng) {
      const p = pick(world.people, rng);
      const premise = `${p.name} is a ${p.job} in ${p.town}.`;
      const entailed = `${p.name} lives in ${p.town}.`;
      const other = pick(world.towns.filter((t) => t.name !== p.town), rng).name;
      const kind = rng.int(3);
      const [hypothesis, label] =
        kind === 0
          ? [entailed, 'yes']
          : kind === 1
            ? [`${p.name} lives in ${other}.`, 'no']
            : [`${p.name} likes ${pick(['music', 'soup', 'games', 'books', 'tea'], rng)}.`, 'it is not possible to tell'];
      const lower = hypothesis.charAt(0) + hypothesis.slice(1);
      return {
        fields: { premise, hypothesis: lower, entailed, output: label },
        input: `${premise} ${hypothesis}`,
        output: label,
        options: shuffle(['yes', 'it is not possible to tell', 'no'], rng),
      };
    },
  },
  {
    name: 'comparison',
    description: 'which of two animals is bigger',
    kind: 'classification',
    templates: [
      { id: 'bigger', prompt: 'Which is bigger, the {a} or the {b}?\n\n{options}', answer: '{output}' },
      { id: 'larger', prompt: 'Of the {a} and the {b}, which animal is larger?\n{options}', answer: '{output}' },
      { id: 'size', prompt: 'Compare the sizes: {a}, {b}. Which one is bigger?\n{options}', answer: '{output}' },
      { id: 'pick', prompt: 'Pick the bigger animal.\n\n{options}', answer: '{output}' },
      { id: 'small', prompt: 'The {a} or the {b}: which is not the smaller one?\n{options}', answer: '{output}' },
      { id: 'turned', prompt: 'Which is smaller, the {a} or the {b}?', answer: '{smaller}', turnedAround: true },
    ],
    make(world, rng) {
      const [a, b] = shuffle(world.animals, rng).slice(0, 2);
      const [big, small] = a.size > b.size ? [a, b] : [b, a];
      return {
        fields: { a: a.name, b: b.name, output: big.name, smaller: small.name },
        input: `${a.name}, ${b.name}`,
        output: big.name,
        options: shuffle([a.name, b.name], rng),
      };
    },
  },
];

export function clusterNamed(name: string): TaskCluster {
  const cluster = CLUSTERS.find((c) => c.name === name);
  if (!cluster) throw new Error(`unknown task cluster "${name}"; known: ${CLUSTERS.map((c) => c.name).join(', ')}`);
  return cluster;
}

/** FLAN's options suffix: "OPTIONS:\n- a\n- b". */
export function optionsText(options: readonly string[]): string {
  return `OPTIONS:\n${options.map((o) => `- ${o}`).join('\n')}`;
}

/** Renders an instance through a template (or an ablation rendering) into prompt and answer. */
export function renderInstance(
  cluster: TaskCluster,
  instance: TaskInstance,
  rendering: Rendering,
  template: Template,
): { prompt: string; answer: string } {
  if (rendering === 'no-template') return { prompt: instance.input, answer: instance.output };
  if (rendering === 'dataset-name') {
    // FLAN's "[Translation: WMT'14 to French] The dog runs.": the task's name before the input; the
    // answer options of a classification instance are part of its input, not of a template
    const options = instance.options ? `\n${optionsText(instance.options)}` : '';
    return { prompt: `${cluster.name}: ${instance.input}${options}`, answer: instance.output };
  }
  const fields = { ...instance.fields, options: instance.options ? optionsText(instance.options) : '' };
  const where = `task ${cluster.name}, template ${template.id}`;
  return { prompt: fill(template.prompt, fields, where).trim(), answer: fill(template.answer, fields, where) };
}

export interface CollectionOptions {
  seed: number;
  /** instances per cluster */
  perCluster: number;
  /** which clusters (default: all) */
  clusters?: readonly string[];
  rendering?: Rendering;
  /** include turned-around templates (training data only) */
  turnedAround?: boolean;
}

/** Records for the data studio: each instance rendered through one template drawn at random. */
export function buildCollection(world: World, options: CollectionOptions): InstructionRecord[] {
  const rng = new Rng(options.seed);
  const rendering = options.rendering ?? 'instructions';
  const out: InstructionRecord[] = [];
  for (const name of options.clusters ?? CLUSTERS.map((c) => c.name)) {
    const cluster = clusterNamed(name);
    const templates = cluster.templates.filter((t) => options.turnedAround !== false || !t.turnedAround);
    for (let i = 0; i < options.perCluster; i++) {
      const instance = cluster.make(world, rng);
      const template = pick(templates, rng);
      const { prompt, answer } = renderInstance(cluster, instance, rendering, template);
      out.push({
        instruction: prompt,
        output: answer,
        task: cluster.name,
        cluster: cluster.name,
        source: 'hone-tiny collection',
        tags: [`template:${rendering === 'instructions' ? template.id : rendering}`],
        ...(instance.options && !template.turnedAround ? { outputs: [answer] } : {}),
      });
    }
  }
  return out;
}
