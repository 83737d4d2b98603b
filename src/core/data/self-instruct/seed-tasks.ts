// Hone's built-in seed tasks for Self-Instruct: a small human-written pool in the style of the
// reference's data/seed_tasks.jsonl (yizhongw/self-instruct): one instruction per task, an example
// instance or two, and whether the task is classification (finite output labels). Written for Hone;
// a mix of open generation, rewriting, extraction, reasoning and classification, so the first
// prompts already show the model a varied list.

export interface SeedInstance {
  /** '' when the instruction needs no input */
  input: string;
  output: string;
}

export interface SeedTask {
  instruction: string;
  instances: SeedInstance[];
  /** unknown for seeds read from a dataset; only the bootstrap prompt uses seeds, so it may be absent */
  isClassification?: boolean;
}

export const BUILT_IN_SEED_TASKS: readonly SeedTask[] = [
  {
    instruction: 'Give three tips for keeping a houseplant alive while you are away for two weeks.',
    instances: [{ input: '', output: '1. Water it deeply the day you leave.\n2. Move it out of direct sun so it dries out slowly.\n3. Group it with other plants on a tray of wet pebbles to keep the air humid.' }],
    isClassification: false,
  },
  {
    instruction: 'Classify the sentiment of the review as positive, negative or mixed.',
    instances: [
      { input: 'The food was wonderful, but we waited an hour for a table.', output: 'Mixed' },
      { input: 'Friendly staff, fair prices and the best soup in town.', output: 'Positive' },
    ],
    isClassification: true,
  },
  {
    instruction: 'Rewrite the sentence so that it uses the passive voice.',
    instances: [{ input: 'The committee approved the new budget on Monday.', output: 'The new budget was approved by the committee on Monday.' }],
    isClassification: false,
  },
  {
    instruction: 'Tell me whether the number is prime or not prime.',
    instances: [
      { input: '91', output: 'Not prime' },
      { input: '97', output: 'Prime' },
    ],
    isClassification: true,
  },
  {
    instruction: 'Write a short, polite email declining an invitation to a weekend conference.',
    instances: [{ input: '', output: 'Dear Ms. Patel,\n\nThank you for inviting me to speak at the conference. I am sorry to say that I have a prior commitment that weekend, so I must decline. I hope to attend a future edition.\n\nBest regards,\nSam' }],
    isClassification: false,
  },
  {
    instruction: 'Extract every person named in the paragraph and list them separated by commas.',
    instances: [{ input: 'After the match, coach Elena Ruiz praised goalkeeper Tom Baker, while the captain, Ade Okafor, thanked the fans.', output: 'Elena Ruiz, Tom Baker, Ade Okafor' }],
    isClassification: false,
  },
  {
    instruction: 'Decide whether the second sentence follows from the first. Answer "entailment", "contradiction" or "neutral".',
    instances: [{ input: 'Sentence 1: All the shops on the street were closed on Sunday.\nSentence 2: The bakery on the street was open on Sunday.', output: 'Contradiction' }],
    isClassification: true,
  },
  {
    instruction: 'Explain the difference between weather and climate to a ten-year-old.',
    instances: [{ input: '', output: 'Weather is what the sky is doing today: rain, sun or wind. Climate is what the weather is usually like in a place over many years, like hot summers and cold winters.' }],
    isClassification: false,
  },
  {
    instruction: 'Solve the word problem and show the calculation.',
    instances: [{ input: 'A train travels 180 km in 2 hours and then 120 km in 1.5 hours. What is its average speed?', output: 'Total distance = 180 + 120 = 300 km. Total time = 2 + 1.5 = 3.5 hours. Average speed = 300 / 3.5 ≈ 85.7 km/h.' }],
    isClassification: false,
  },
  {
    instruction: 'Is the following statement a fact or an opinion?',
    instances: [
      { input: 'Water boils at 100 degrees Celsius at sea level.', output: 'Fact' },
      { input: 'Summer is the most enjoyable season.', output: 'Opinion' },
    ],
    isClassification: true,
  },
  {
    instruction: 'Suggest a catchy name for a bakery that sells only gluten-free bread, and explain the name in one sentence.',
    instances: [{ input: '', output: 'Free Rise: the bread still rises, and it is free of gluten.' }],
    isClassification: false,
  },
  {
    instruction: 'Summarize the paragraph in one sentence.',
    instances: [{ input: 'The city council met on Tuesday to discuss the new bike lanes. Residents of the east side argued that the lanes would reduce parking, while cyclists said the lanes would make their commute safer. The council postponed its decision until next month to gather more data.', output: 'The council delayed its decision on the new bike lanes to weigh parking concerns against cyclist safety.' }],
    isClassification: false,
  },
  {
    instruction: 'Identify the language the sentence is written in.',
    instances: [
      { input: 'Ich habe heute keine Zeit.', output: 'German' },
      { input: 'Il pleut depuis ce matin.', output: 'French' },
    ],
    isClassification: true,
  },
  {
    instruction: 'Convert the list of ingredients for four people into a list for six people.',
    instances: [{ input: '200 g pasta\n2 tomatoes\n1 onion', output: '300 g pasta\n3 tomatoes\n1.5 onions' }],
    isClassification: false,
  },
  {
    instruction: 'Answer the multiple-choice question with the letter of the correct option.',
    instances: [{ input: 'Which gas do plants take in for photosynthesis?\nA. Oxygen\nB. Carbon dioxide\nC. Nitrogen\nD. Helium', output: 'B' }],
    isClassification: true,
  },
  {
    instruction: 'Write a haiku about the first morning of spring.',
    instances: [{ input: '', output: 'Thin frost on the grass\nthe blackbird tries a new song\nsun on the cold step' }],
    isClassification: false,
  },
  {
    instruction: 'Find the grammatical error in the sentence and correct it.',
    instances: [{ input: 'Neither of the answers are correct.', output: 'The verb should agree with "neither": "Neither of the answers is correct."' }],
    isClassification: false,
  },
  {
    instruction: 'Tell me if the customer message is a complaint, a question or a compliment.',
    instances: [
      { input: 'My order arrived broken and nobody answers the phone.', output: 'Complaint' },
      { input: 'Do you ship to Norway?', output: 'Question' },
    ],
    isClassification: true,
  },
  {
    instruction: 'Give me a packing list for a three-day hiking trip in the mountains.',
    instances: [{ input: '', output: '- Waterproof jacket\n- Warm layers\n- Hiking boots\n- Map and compass\n- First-aid kit\n- Water bottle and snacks\n- Headlamp' }],
    isClassification: false,
  },
  {
    instruction: 'Sort the words in alphabetical order.',
    instances: [{ input: 'pear, apple, melon, banana', output: 'apple, banana, melon, pear' }],
    isClassification: false,
  },
  {
    instruction: 'Select the animal that does not belong with the others.',
    instances: [{ input: 'eagle, sparrow, penguin, bat', output: 'Bat' }],
    isClassification: true,
  },
];
