// A built-in set of short instruction examples, so a run can start before any dataset is imported
// (and so the browser test needs no data import). Three of the five tasks answer from a small set
// of words (even/odd, yes/no, positive/negative) that both the training and the held-out examples
// use: even a micro model then lowers its validation loss within a few dozen steps, which the
// open-ended tasks (repeat, opposite) alone would not show, since their held-out answers are words
// the training examples never contain.
export interface SampleExample {
  prompt: string;
  completion: string;
}

const ask = (question: string, answer: string): SampleExample => ({ prompt: `${question}\nAnswer:`, completion: ` ${answer}` });

const repeat = ['cat', 'dog', 'sun', 'tree', 'blue', 'milk', 'book', 'rain'].map((word) => ask(`Repeat the word: ${word}`, word));

const opposite = (
  [
    ['hot', 'cold'],
    ['up', 'down'],
    ['big', 'small'],
    ['fast', 'slow'],
    ['old', 'new'],
    ['day', 'night'],
    ['wet', 'dry'],
    ['left', 'right'],
  ] as const
).map(([word, answer]) => ask(`What is the opposite of ${word}?`, answer));

const parity = [3, 8, 5, 12, 7, 4, 9, 10].map((n) => ask(`Is ${n} even or odd?`, n % 2 === 0 ? 'even' : 'odd'));

const facts = (
  [
    ['Is fire hot?', 'yes'],
    ['Is ice hot?', 'no'],
    ['Can fish swim?', 'yes'],
    ['Can a stone fly?', 'no'],
    ['Is the sky blue?', 'yes'],
    ['Is snow black?', 'no'],
    ['Do birds have wings?', 'yes'],
    ['Do cats have six legs?', 'no'],
  ] as const
).map(([question, answer]) => ask(`${question} Answer yes or no.`, answer));

const sentiment = (
  [
    ['I loved this film.', 'positive'],
    ['The food was awful.', 'negative'],
    ['What a wonderful day!', 'positive'],
    ['This is the worst book I have read.', 'negative'],
    ['The team played great.', 'positive'],
    ['I hate waiting in the rain.', 'negative'],
    ['Such a kind and helpful person.', 'positive'],
    ['The room was dirty and cold.', 'negative'],
  ] as const
).map(([text, answer]) => ask(`Is this positive or negative? ${text}`, answer));

/** 40 examples, interleaved by task so every part of the list holds every task. */
export const SAMPLE_EXAMPLES: readonly SampleExample[] = repeat.flatMap((_, i) => [repeat[i], opposite[i], parity[i], facts[i], sentiment[i]]);
