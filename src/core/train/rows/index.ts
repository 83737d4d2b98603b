// The one place that turns stored records into the token rows a run trains on (issue 11).
// API contract shared by the CLI (`hone rows`, `hone train`), the worker's training session, the
// FLAN experiment and the bench. Implementation: build.ts (truncation, dropping, packing),
// sequences.ts (one record → one sequence by its kind), chat.ts (chat templates and assistant
// masks), pack.ts (best-fit-decreasing packing).
import type { InstructionRecord } from '../../data/record';
import type { HoneTokenizer } from '../../tokenizer/tokenizer';
import type { Row } from '../batch';

/**
 * How instruction records (instruction, context, output) become a prompt: 'alpaca' (Alpaca's prompt),
 * 'template' (the record's FLAN template, zero- or k-shot as shaped), 'chat' (the chat template, the
 * instruction as the user turn). SNI records use SNI's prompt shape in 'alpaca' and 'template' and
 * as the user turn in 'chat'. Text, conversations and TRL prompt-completion pairs ignore it: they
 * train as what they are (sequences.ts).
 */
export type PromptFormat = 'alpaca' | 'template' | 'chat';
/**
 * Which tokens are scored, as TRL's SFTConfig says it:
 * - 'completion' (completion_only_loss): prompt-completion pairs (and instruction / SNI records,
 *   which become pairs) score their completion; text and whole conversations score every token;
 * - 'assistant' (assistant_only_loss): as 'completion', and conversations score their assistant
 *   turns only (found by {% generation %} markers, or by rendering prefixes when there are none);
 * - 'all' (completion_only_loss=False): every token of every record.
 */
export type LossMode = 'completion' | 'assistant' | 'all';

export interface RowSettings {
  /** longest row in tokens; longer sequences are cut from the right (TRL's truncation) */
  maxLength: number;
  /** default 'completion' (TRL's completion_only_loss; 'assistant' = assistant_only_loss) */
  loss?: LossMode;
  /** best-fit-decreasing packing of whole sequences, position ids restarting per sequence (default false) */
  packing?: boolean;
  /** default 'alpaca' */
  promptFormat?: PromptFormat;
  /** Super-NaturalInstructions prompts: how many positive / negative examples to show (default 2 / 0, SNI's "pos 2") */
  sniPositives?: number;
  sniNegatives?: number;
  /** a chat template to use instead of the tokenizer's own (tokenizer_config.json chat_template) */
  chatTemplate?: string;
  /** 'template' format: seeds the template choice for records shaping left without one (default 0) */
  seed?: number;
}

export interface DroppedExamples {
  /** why, in a user's words, e.g. 'no scored token left after truncation to 48 tokens' */
  reason: string;
  count: number;
  /** index (in the records given) of the first one dropped for this reason */
  firstIndex: number;
}

export interface RowsSummary {
  /** records given */
  examples: number;
  /** records that became a training sequence */
  used: number;
  dropped: DroppedExamples[];
  /** labels the causal loss scores over all rows (scoredTokenCount summed) */
  scoredTokens: number;
  rows: number;
}

export interface TrainingRows {
  rows: Row[];
  summary: RowsSummary;
}

export { buildTrainingRows, LOSS_MODES, PROMPT_FORMATS } from './build';
export { RowsError } from './error';
export { packBestFitDecreasing, type Sequence } from './pack';
