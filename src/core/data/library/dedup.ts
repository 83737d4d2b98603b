// Duplicate detection over a stored dataset: ../dedup.ts finds the groups over the records' text;
// this maps its indices back to stored examples (id, position, a preview) for the duplicates panel.
import type { HoneDb } from '../../store';
import { findDuplicates, type DedupOptions } from '../dedup';
import { scanExamples } from './examples';

export interface DuplicateMember {
  id: string;
  position: number;
  /** the instruction's first 120 characters */
  preview: string;
}

export interface DuplicateGroup {
  examples: DuplicateMember[];
  /** near groups: the lowest similarity among the pairs that joined the group (1 for exact groups) */
  similarity: number;
}

export interface DatasetDuplicates {
  exact: DuplicateGroup[];
  /** groups of near-duplicates that are not simply one exact group */
  near: DuplicateGroup[];
  /** examples that could be deleted keeping one of each exact group */
  redundantExact: number;
}

/** Groups listed per kind at most; a dataset with more needs cleaning at the source. */
const MAX_GROUPS = 200;

export async function findDatasetDuplicates(db: HoneDb, datasetId: string, opts: DedupOptions = {}): Promise<DatasetDuplicates> {
  const members: DuplicateMember[] = [];
  const texts: { instruction: string; context?: string; output?: string; conversation?: { role: string; content: string }[] }[] = [];
  for await (const batch of scanExamples(db, datasetId)) {
    for (const example of batch) {
      members.push({ id: example.id, position: example.position, preview: example.instruction.slice(0, 120) });
      texts.push({ instruction: example.instruction, context: example.context, output: example.output, conversation: example.conversation });
    }
  }
  const report = findDuplicates(texts, opts);
  const exactKeys = new Set(report.exact.map((group) => group.join(',')));
  const lowest = new Map<number, number>();
  for (const link of report.links) {
    // links form a forest inside each near group; the group's root is its smallest member
    lowest.set(link.a, Math.min(lowest.get(link.a) ?? 1, link.similarity));
    lowest.set(link.b, Math.min(lowest.get(link.b) ?? 1, link.similarity));
  }
  const toGroup = (indices: number[], similarity: number): DuplicateGroup => ({ examples: indices.map((i) => members[i]), similarity });
  return {
    exact: report.exact.slice(0, MAX_GROUPS).map((group) => toGroup(group, 1)),
    near: report.near
      .filter((group) => !exactKeys.has(group.join(',')))
      .slice(0, MAX_GROUPS)
      .map((group) => toGroup(group, Math.min(...group.map((i) => lowest.get(i) ?? 1)))),
    redundantExact: report.exact.reduce((sum, group) => sum + group.length - 1, 0),
  };
}
