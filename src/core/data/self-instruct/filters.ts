// Self-Instruct's filters, each decision kept with its reason so people can see (and tests can
// pin) why a candidate was dropped. Instruction filters follow bootstrap_instructions.py
// (post_process_gpt3_response and the ROUGE-L check); instance filters follow
// prepare_for_finetuning.py (filter_invalid_instances, filter_duplicate_instances, the cap of 5).
// Thresholds are the paper's: ROUGE-L ≥ 0.7 with an existing instruction, 3–150 words.
import { rougeScore } from '../../eval/metrics/rouge';
import type { ParsedInstruction, RawInstance } from './parse';

export type InstructionRejection =
  | 'incomplete'
  | 'too-short'
  | 'too-long'
  | 'blocklisted'
  | 'write-a-program'
  | 'punctuation-start'
  | 'non-ascii-start'
  | 'duplicate'
  | 'similar'
  | 'no-instances'
  | 'cancelled';

export type InstanceRejection =
  | 'incomplete'
  | 'empty-output'
  | 'copied-input'
  | 'ends-with-colon'
  | 'conflicting-outputs'
  | 'duplicate'
  | 'over-limit';

export interface InstructionDecision {
  kept: boolean;
  /** set when rejected */
  reason?: InstructionRejection;
  /** the decision in words, for the review queue */
  message: string;
  /** the closest existing instruction by ROUGE-L F, once that check has run */
  similarity?: { score: number; instruction: string };
  /** the blocklisted word found */
  keyword?: string;
  /** the instruction (seed or earlier candidate) this one repeats */
  duplicateOf?: string;
}

export interface InstanceDecision {
  kept: boolean;
  reason?: InstanceRejection;
  message: string;
}

export interface FilterSettings {
  /** fewer words than this is rejected; the paper's 3 */
  minWords: number;
  /** more words than this is rejected; the paper's 150 */
  maxWords: number;
  /** ROUGE-L F at or above this with any existing instruction is rejected; the paper's 0.7 */
  similarityThreshold: number;
  /** whole words or phrases a text-only model cannot act on (the reference's list plus media words) */
  blocklist: readonly string[];
  /** instances kept per instruction at most; the reference's 5 */
  maxInstances: number;
}

export const DEFAULT_BLOCKLIST: readonly string[] = [
  'image', 'images', 'graph', 'graphs', 'picture', 'pictures', 'file', 'files', 'map', 'maps', 'draw', 'plot',
  'go to', 'video', 'audio', 'music', 'flowchart', 'diagram',
];

export const DEFAULT_FILTER_SETTINGS: FilterSettings = {
  minWords: 3,
  maxWords: 150,
  similarityThreshold: 0.7,
  blocklist: DEFAULT_BLOCKLIST,
  maxInstances: 5,
};

// Python's string.punctuation, which the reference tests the first character against.
const PUNCTUATION = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Case and spacing do not make an instruction new. */
export function instructionKey(text: string): string {
  return text.replace(/\s+/g, ' ').trim().toLowerCase();
}

/** The instructions a candidate is compared with, updated as candidates are kept. */
export class InstructionPool {
  /** seeds and kept candidates: the ROUGE-L comparison set, as in the reference */
  readonly existing: string[];
  /** every instruction seen (seeds and all candidates, kept or not) by instructionKey → its text */
  readonly seen = new Map<string, string>();

  constructor(seedInstructions: readonly string[]) {
    this.existing = [...seedInstructions];
    for (const text of seedInstructions) this.seen.set(instructionKey(text), text);
  }

  /** Decides one candidate and records it: seen always, existing only when kept. */
  decide(candidate: ParsedInstruction, settings: FilterSettings = DEFAULT_FILTER_SETTINGS): InstructionDecision {
    const decision = decideInstruction(candidate, this, settings);
    const key = instructionKey(candidate.text);
    if (!this.seen.has(key)) this.seen.set(key, candidate.text);
    if (decision.kept) this.existing.push(candidate.text);
    return decision;
  }
}

function decideInstruction(candidate: ParsedInstruction, pool: InstructionPool, settings: FilterSettings): InstructionDecision {
  const text = candidate.text;
  const reject = (reason: InstructionRejection, message: string, extra: Partial<InstructionDecision> = {}): InstructionDecision => ({
    kept: false,
    reason,
    message,
    ...extra,
  });
  if (candidate.incomplete) return reject('incomplete', 'cut off by the token limit before it ended');
  const words = text.split(/\s+/).filter((word) => word !== '').length;
  if (words < settings.minWords) return reject('too-short', `${words} words; at least ${settings.minWords} are needed`);
  if (words > settings.maxWords) return reject('too-long', `${words} words; at most ${settings.maxWords} are allowed`);
  for (const keyword of settings.blocklist) {
    if (new RegExp(`\\b${escapeRegExp(keyword)}\\b`, 'i').test(text)) {
      return reject('blocklisted', `mentions “${keyword}”, which a text-only model cannot act on`, { keyword });
    }
  }
  // The reference found the model adding "Write a program" to existing tasks, leaving it unclear
  // whether to write code or give the result.
  if (text.startsWith('Write a program')) return reject('write-a-program', 'starts with “Write a program”, which is ambiguous (code or answer?)');
  const first = text[0];
  if (PUNCTUATION.has(first)) return reject('punctuation-start', `starts with the punctuation “${first}”`);
  const firstCodePoint = String.fromCodePoint(text.codePointAt(0)!);
  if (firstCodePoint.codePointAt(0)! > 0x7f) return reject('non-ascii-start', `starts with the non-ASCII character “${firstCodePoint}”`);
  const earlier = pool.seen.get(instructionKey(text));
  if (earlier !== undefined) return reject('duplicate', `repeats “${earlier}”`, { duplicateOf: earlier });

  let similarity: InstructionDecision['similarity'];
  for (const existing of pool.existing) {
    const score = rougeScore(text, existing, { types: ['rougeL'] }).rougeL.fmeasure;
    if (!similarity || score > similarity.score) similarity = { score, instruction: existing };
  }
  if (similarity && similarity.score >= settings.similarityThreshold) {
    return reject(
      'similar',
      `ROUGE-L ${similarity.score.toFixed(2)} with “${similarity.instruction}” (≥ ${settings.similarityThreshold})`,
      { similarity },
    );
  }
  return { kept: true, message: 'passed every instruction filter', similarity };
}

const sameText = (a: string, b: string) => instructionKey(a) === instructionKey(b);

/**
 * Decides each parsed instance, in order. `truncated`: the generation hit its token limit, so its
 * last instance is incomplete (the reference drops it too).
 */
export function decideInstances(
  instances: readonly RawInstance[],
  truncated: boolean,
  settings: Pick<FilterSettings, 'maxInstances'> = DEFAULT_FILTER_SETTINGS,
): InstanceDecision[] {
  const decisions: (InstanceDecision | null)[] = instances.map((instance, i) => {
    const reject = (reason: InstanceRejection, message: string): InstanceDecision => ({ kept: false, reason, message });
    if (truncated && i === instances.length - 1) return reject('incomplete', 'cut off by the token limit before it ended');
    if (instance.output === '') return reject('empty-output', 'the output is empty');
    if (instance.input !== '' && sameText(instance.input, instance.output)) return reject('copied-input', 'the output only repeats the input');
    // A trailing colon is an unfinished field ("Sentence:" with nothing after it).
    if (instance.input.endsWith(':') || instance.output.endsWith(':')) return reject('ends-with-colon', 'the input or output ends in “:”, so it is unfinished');
    return null;
  });
  const valid = instances.map((_, i) => i).filter((i) => decisions[i] === null);

  // The same input with two different outputs means the model does not know the task: drop them all.
  for (const i of valid) {
    const clash = valid.find((j) => j !== i && instances[i].input !== '' && instances[j].input === instances[i].input && instances[j].output !== instances[i].output);
    if (clash !== undefined) {
      for (const k of valid) {
        decisions[k] = { kept: false, reason: 'conflicting-outputs', message: 'the same input got different outputs in this generation' };
      }
      return decisions as InstanceDecision[];
    }
  }
  let kept = 0;
  for (const i of valid) {
    const first = valid.find((j) => instances[j].input === instances[i].input && instances[j].output === instances[i].output);
    if (first !== i) {
      decisions[i] = { kept: false, reason: 'duplicate', message: `repeats example ${first! + 1}` };
    } else if (kept >= settings.maxInstances) {
      decisions[i] = { kept: false, reason: 'over-limit', message: `more than ${settings.maxInstances} examples for one instruction` };
    } else {
      decisions[i] = { kept: true, message: 'passed every instance filter' };
      kept++;
    }
  }
  return decisions as InstanceDecision[];
}
