// The prompts of Self-Instruct (Wang et al. 2022, "Self-Instruct: Aligning Language Models with
// Self-Generated Instructions", appendix tables of prompt templates; yizhongw/self-instruct:
// bootstrap_instructions.py encode_prompt, identify_clf_or_not.py, generate_instances.py). The
// headers and the layout (numbered list, "Task: … Is it classification?", "Class label:",
// "Example N / Output:") are the paper's, because the parsers depend on them; the in-context
// examples are Hone's own, fewer than the reference's so the prompts fit small models' contexts.

/** "Come up with a series of tasks:" and the numbered instructions, ending in the next number. */
export function bootstrapPrompt(instructions: readonly string[]): string {
  let prompt = 'Come up with a series of tasks:\n';
  instructions.forEach((instruction, i) => {
    // One line per instruction, and no trailing colon that would read as the start of an input.
    const line = instruction.replace(/\s+/g, ' ').trim().replace(/:+$/, '');
    prompt += `${i + 1}. ${line}\n`;
  });
  return prompt + `${instructions.length + 1}.`;
}

/** Where the model should stop: a blank line, or the number after its budget of new instructions. */
export function bootstrapStops(promptInstructions: number, newInstructions: number): string[] {
  const after = promptInstructions + newInstructions + 1;
  return ['\n\n', `\n${after}.`, `\n${after} .`];
}

const CLASSIFY_EXAMPLES: readonly [string, boolean][] = [
  ['Decide whether the email is spam or not spam.', true],
  ['Write a short poem about the first snow of winter.', false],
  ['Given a movie review, tell me whether the reviewer liked the movie.', true],
  ['Summarize the paragraph in one sentence.', false],
  ['Which of the two numbers is larger? Answer with the number.', true],
  ['Suggest three names for a new coffee shop.', false],
  ['Identify the language of the sentence: English, French, German or Spanish.', true],
  ['Explain how a rainbow forms to a ten-year-old.', false],
  ['Is the following statement a fact or an opinion?', true],
  ['Translate the sentence into French.', false],
  ['Answer the multiple-choice question with A, B, C or D.', true],
  ['List the steps to change a flat tyre.', false],
];

const CLASSIFY_PREFIX =
  'Can the following task be regarded as a classification task with finite output labels?\n\n' +
  CLASSIFY_EXAMPLES.map(([task, yes]) => `Task: ${task}\nIs it classification? ${yes ? 'Yes' : 'No'}\n\n`).join('') +
  'Task:';

/** The few-shot "Is it classification?" prompt; the model answers Yes or No. */
export function classifyPrompt(instruction: string): string {
  return `${CLASSIFY_PREFIX} ${instruction.trim()}\nIs it classification?`;
}

/** The classifier answers in a word: stop at the end of the line or when it starts another task. */
export const CLASSIFY_STOPS = ['\n', 'Task'];

// Output-first: for classification, generating the label first and then an input for it keeps the
// labels balanced; input-first tends to produce inputs of one label only (paper §2.3).
const CLASSIFICATION_INSTANCES_PREFIX = `Given the classification task definition and the class labels, generate an input that corresponds to each of the class labels. If the task doesn't require input, just generate possible class labels.

Task: Classify the sentiment of the product review as positive or negative.
Class label: Positive
Review: The blender is quiet, powerful and easy to clean. Worth every penny.
Class label: Negative
Review: It stopped working after two days and support never answered.

Task: Tell me whether the number is even or odd.
Class label: Even
Number: 48
Class label: Odd
Number: 17

Task: Decide whether the sentence is a question or a statement.
Class label: Question
Sentence: Did you lock the back door?
Class label: Statement
Sentence: The train leaves at seven.

Task: Which of the following is a mammal? (a) shark (b) dolphin (c) trout
Class label: (b)

Task:`;

const GENERATION_INSTANCES_PREFIX = `Come up with examples for the following tasks. Try to generate multiple examples when possible. If the task doesn't require additional input, you can generate the output directly.

Task: Give three tips for sleeping better.
Output:
- Keep a regular bedtime, even at weekends.
- Avoid screens for an hour before bed.
- Keep the bedroom cool and dark.

Task: Convert the temperature from Fahrenheit to Celsius.
Example 1
Temperature: 212 F
Output: 100 C
Example 2
Temperature: 50 F
Output: 10 C

Task: Rewrite the sentence in a more formal tone.
Example 1
Sentence: Hey, can you send me that report real quick?
Output: Could you please send me the report at your earliest convenience?

Task: Extract all the dates mentioned in the text.
Example 1
Text: The museum opened on 4 May 1998 and was renovated in March 2015.
Output: 4 May 1998, March 2015

Task:`;

/** Output-first for classification tasks, input-first otherwise. */
export function instancesPrompt(instruction: string, isClassification: boolean): string {
  const prefix = isClassification ? CLASSIFICATION_INSTANCES_PREFIX : GENERATION_INSTANCES_PREFIX;
  return `${prefix} ${instruction.trim()}\n`;
}

/** Stop before the model starts another task, or an example past the most we keep. */
export function instancesStops(maxInstances: number): string[] {
  return [`Example ${maxInstances + 1}`, 'Task:'];
}
