// buildTrainingRows: records → the rows a run trains on, with TRL 1.13's SFTTrainer semantics
// (trl/trainer/sft_trainer.py, _prepare_dataset; trl/data_utils.py, pack_dataset):
// each record becomes one sequence by its kind (sequences.ts); without packing each sequence is cut
// to maxLength from the right (truncation_mode="keep_start") and becomes one row; with packing each
// is cut to maxLength and the sequences are packed best-fit-decreasing (pack.ts).
// A sequence left with no scored token is dropped and counted, with or without packing (TRL drops
// them only without packing; in a packed row they would only take space). "Scored" is what the
// causal loss counts (labels after the shift, batch.ts scoredTokenCount), so a row never reaches
// the trainer with nothing to learn.
import type { InstructionRecord } from '../../data/record';
import type { HoneTokenizer } from '../../tokenizer/tokenizer';
import { scoredTokenCount, type Row } from '../batch';
import { chatTemplateOf } from './chat';
import { RowsError } from './error';
import { packBestFitDecreasing, type Sequence } from './pack';
import { sequenceOf, type SequenceContext } from './sequences';
import type { DroppedExamples, LossMode, PromptFormat, RowSettings, TrainingRows } from './index';

export const PROMPT_FORMATS: readonly PromptFormat[] = ['alpaca', 'template', 'chat'];
export const LOSS_MODES: readonly LossMode[] = ['completion', 'assistant', 'all'];

function wholeAtLeast(value: unknown, min: number, field: string, why: string): number {
  if (!Number.isInteger(value) || (value as number) < min) {
    throw new RowsError(`must be a whole number ≥ ${min} (${why}), got ${JSON.stringify(value)}`, undefined, field);
  }
  return value as number;
}

function contextOf(records: readonly InstructionRecord[], tokenizer: HoneTokenizer, settings: RowSettings): SequenceContext {
  const loss = settings.loss ?? 'completion';
  const promptFormat = settings.promptFormat ?? 'alpaca';
  if (!LOSS_MODES.includes(loss)) throw new RowsError(`unknown loss ${JSON.stringify(loss)} (known: ${LOSS_MODES.join(', ')})`, undefined, 'loss');
  if (!PROMPT_FORMATS.includes(promptFormat)) {
    throw new RowsError(`unknown prompt format ${JSON.stringify(promptFormat)} (known: ${PROMPT_FORMATS.join(', ')})`, undefined, 'promptFormat');
  }
  if (settings.chatTemplate !== undefined && (typeof settings.chatTemplate !== 'string' || settings.chatTemplate.trim() === '')) {
    throw new RowsError('must be a chat template (Jinja text)', undefined, 'chatTemplate');
  }
  return {
    tokenizer,
    records,
    loss,
    promptFormat,
    sniPositives: wholeAtLeast(settings.sniPositives ?? 2, 0, 'sniPositives', 'positive examples shown in SNI prompts'),
    sniNegatives: wholeAtLeast(settings.sniNegatives ?? 0, 0, 'sniNegatives', 'negative examples shown in SNI prompts'),
    seed: settings.seed ?? 0,
    chat: chatTemplateOf(tokenizer, settings.chatTemplate),
  };
}

/**
 * The rows a run trains on, in order, and what happened to each record. Throws RowsError naming the
 * record and field for input that cannot train as what it is (see sequences.ts), and when no record
 * is left to train on.
 */
export function buildTrainingRows(records: readonly InstructionRecord[], tokenizer: HoneTokenizer, settings: RowSettings): TrainingRows {
  const maxLength = wholeAtLeast(settings?.maxLength, 2, 'maxLength', 'one token and the next to predict');
  const ctx = contextOf(records, tokenizer, settings);
  if (records.length === 0) throw new RowsError('there are no records to build rows from', undefined, 'records');

  const dropped = new Map<string, DroppedExamples>();
  const kept: Sequence[] = [];
  records.forEach((record, index) => {
    const full = sequenceOf(ctx, record, index);
    const sequence = { inputIds: full.inputIds.slice(0, maxLength), labels: full.labels.slice(0, maxLength) };
    if (scoredTokenCount(sequence.labels) === 0) {
      const reason =
        scoredTokenCount(full.labels) === 0 ? 'no token to score (empty completion)' : `no scored token left after truncation to ${maxLength} tokens`;
      const entry = dropped.get(reason) ?? { reason, count: 0, firstIndex: index };
      entry.count++;
      dropped.set(reason, entry);
      return;
    }
    kept.push(sequence);
  });
  if (kept.length === 0) {
    const reasons = [...dropped.values()].map((d) => `${d.count} × ${d.reason}`).join('; ');
    throw new RowsError(`every one of the ${records.length} record(s) was dropped (${reasons}); raise maxLength or shorten the prompts`, undefined, 'maxLength');
  }
  const rows: Row[] = settings.packing ? packBestFitDecreasing(kept, maxLength) : kept;
  return {
    rows,
    summary: {
      examples: records.length,
      used: kept.length,
      dropped: [...dropped.values()],
      scoredTokens: rows.reduce((sum, row) => sum + scoredTokenCount(row.labels), 0),
      rows: rows.length,
    },
  };
}
