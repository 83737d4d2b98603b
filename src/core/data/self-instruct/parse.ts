// Reading Self-Instruct's generations back: the numbered instruction list, the classifier's Yes/No
// and the instances. Follows yizhongw/self-instruct (bootstrap_instructions.py
// post_process_gpt3_response; prepare_for_finetuning.py parse_input_output,
// parse_instances_for_generation_task, parse_instances_for_classification_task), with the
// differences noted where they are.

export interface ParsedInstruction {
  /** whitespace collapsed, first letter upper-cased */
  text: string;
  /** the generation hit its token limit inside this one, so its end is missing */
  incomplete: boolean;
}

export interface RawInstance {
  input: string;
  output: string;
}

/** A new list item: a line starting with a number and a dot ("\n10. "), not "3.5". */
const ITEM_BREAK = /\n\s*\d+\s?\.\s/;

/**
 * The instructions in a continuation of the bootstrap prompt, which ends in "N." so the text starts
 * with item N itself. The reference drops a whole generation that hit its length limit; here only
 * the item that was cut is marked incomplete (the items before it each ended at a new number).
 */
export function parseInstructions(text: string, truncated = false): ParsedInstruction[] {
  const pieces = text.split(ITEM_BREAK);
  const parsed: ParsedInstruction[] = [];
  pieces.forEach((piece, i) => {
    const clean = piece.replace(/\s+/g, ' ').trim();
    if (clean === '') return;
    // The reference uses Python's str.capitalize, which also lower-cases the rest ("NASA" → "nasa");
    // only the first letter changes here.
    parsed.push({ text: clean[0].toUpperCase() + clean.slice(1), incomplete: truncated && i === pieces.length - 1 });
  });
  return parsed;
}

export interface ClassifierAnswer {
  isClassification: boolean;
  /** false when the answer began with neither yes nor no; it then counts as "not classification", as in the reference */
  understood: boolean;
}

/** "Yes", " yes.", "NO" …; the reference accepted only the bare words Yes/yes/YES. */
export function parseClassifierAnswer(text: string): ClassifierAnswer {
  const match = /^\s*(yes|no)\b/i.exec(text);
  if (!match) return { isClassification: false, understood: false };
  return { isClassification: match[1].toLowerCase() === 'yes', understood: true };
}

const OUTPUT_FIELD = /Output\s*\d*\s*:/;
const INPUT_FIELD = /Input\s*\d*\s*:/;

/** One "…input… Output: …" block: the text before the first "Output:" is the input. */
export function parseInputOutput(text: string): RawInstance {
  let input = '';
  let output: string;
  if (OUTPUT_FIELD.test(text)) {
    const parts = text.split(OUTPUT_FIELD);
    input = parts[0].trim();
    output = parts[1].trim();
  } else {
    output = text.trim();
  }
  // The model sometimes runs on into another input/output pair: keep the first.
  if (INPUT_FIELD.test(output)) output = output.split(INPUT_FIELD)[0].trim();
  input = input.replace(/^Input\s*\d*\s*:/, '').trim();
  return { input, output };
}

/** "Example N" at the start of a line; the reference split on it anywhere ("for Example" too). */
const EXAMPLE_BREAK = /^[ \t]*Example\s?\d*\.?/m;

/** Input-first instances: "Example 1 … Output: …" blocks, or one bare "Output: …". */
export function parseGenerationInstances(text: string): RawInstance[] {
  const raw = text.trim();
  if (EXAMPLE_BREAK.test(raw)) {
    return raw
      .split(new RegExp(EXAMPLE_BREAK.source, 'm'))
      .map((piece) => piece.trim())
      .filter((piece) => piece !== '')
      .map(parseInputOutput);
  }
  if (OUTPUT_FIELD.test(raw)) return [parseInputOutput(raw)];
  return [];
}

/** Output-first instances: "Class label: X" then the input on the lines after it. */
export function parseClassificationInstances(text: string): RawInstance[] {
  if (!text.includes('Class label:')) return [];
  return text
    .split('Class label:')
    .slice(1)
    .map((piece) => {
      const trimmed = piece.trim();
      const newline = trimmed.indexOf('\n');
      if (newline < 0) return { input: '', output: trimmed };
      return { input: trimmed.slice(newline + 1).trim(), output: trimmed.slice(0, newline).trim() };
    });
}
