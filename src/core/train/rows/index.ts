// The one place that turns stored records into the token rows a run trains on (issue 11).
// API contract shared by the CLI (`hone rows`, `hone train`), the worker's training session, the
// FLAN experiment and the bench. Implementation: see the files beside this one.
import type { InstructionRecord } from '../../data/record';
import type { HoneTokenizer } from '../../tokenizer/tokenizer';
import type { Row } from '../batch';

/** How instruction records (instruction, context, output) become a prompt. */
export type PromptFormat = 'alpaca' | 'template' | 'chat';
/** Which tokens are scored: the completion / assistant turns only, or every token. */
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
