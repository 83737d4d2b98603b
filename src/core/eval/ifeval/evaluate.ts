// IFEval's strict and loose evaluation and its report (evaluation_lib.py):
// strict checks the response as given; loose also tries it without its first line, without its
// last line, without both, and each of those and the original with every '*' removed (8 variants)
// and counts an instruction followed when any variant follows it. An empty (whitespace-only)
// response follows nothing. Prompt-level accuracy: share of prompts whose every instruction is
// followed; instruction-level: share of all instructions followed.
import { pyStrip } from './text';
import { compileInstruction, type CheckEnvironment, type Instruction, type InstructionSpec } from './checks';

export type IfevalMode = 'strict' | 'loose';

export interface InstructionResults {
  instructionIds: string[];
  /** per instruction: followed or not */
  followed: boolean[];
  followAll: boolean;
}

/** The 8 responses loose evaluation tries, in IFEval's order. */
export function looseVariants(response: string): string[] {
  const lines = response.split('\n');
  const removeFirst = pyStrip(lines.slice(1).join('\n'));
  const removeLast = pyStrip(lines.slice(0, -1).join('\n'));
  const removeBoth = pyStrip(lines.slice(1, -1).join('\n'));
  const noStars = (text: string) => text.replaceAll('*', '');
  return [response, noStars(response), removeFirst, removeLast, removeBoth, noStars(removeFirst), noStars(removeLast), noStars(removeBoth)];
}

/** Compiles every instruction first, so a bad one fails before anything is scored. */
export function compileInstructions(specs: readonly InstructionSpec[], where = ''): Instruction[] {
  return specs.map((spec, i) => compileInstruction(spec, `${where}${where ? ', ' : ''}instruction ${i + 1}`));
}

export function evaluateInstructions(
  response: string,
  instructions: readonly (Instruction | InstructionSpec)[],
  mode: IfevalMode,
  env: CheckEnvironment = {},
): InstructionResults {
  const compiled = instructions.map((item, i) => ('check' in item ? item : compileInstruction(item, `instruction ${i + 1}`)));
  const candidates = (mode === 'strict' ? [response] : looseVariants(response)).filter((r) => pyStrip(r) !== '');
  const followed = compiled.map((instruction) => candidates.some((candidate) => instruction.check(candidate, env)));
  return { instructionIds: compiled.map((c) => c.id), followed, followAll: followed.every(Boolean) };
}

export interface IfevalReport {
  prompts: number;
  instructions: number;
  /** share of prompts with every instruction followed */
  promptLevel: number;
  /** share of instructions followed */
  instructionLevel: number;
  /** per instruction id ('keywords:existence') */
  byInstruction: Record<string, number>;
  /** per category, the id's part before ':' ('keywords') */
  byCategory: Record<string, number>;
}

/** IFEval's print_report, as numbers. */
export function ifevalReport(results: readonly InstructionResults[]): IfevalReport {
  if (results.length === 0) throw new Error('ifevalReport: no results to report on');
  let promptsFollowed = 0;
  let instructions = 0;
  let instructionsFollowed = 0;
  const tally = (table: Map<string, [number, number]>, key: string, ok: boolean) => {
    const [hit, total] = table.get(key) ?? [0, 0];
    table.set(key, [hit + (ok ? 1 : 0), total + 1]);
  };
  const byInstruction = new Map<string, [number, number]>();
  const byCategory = new Map<string, [number, number]>();
  for (const result of results) {
    if (result.followed.every(Boolean)) promptsFollowed++;
    result.instructionIds.forEach((id, i) => {
      instructions++;
      if (result.followed[i]) instructionsFollowed++;
      tally(byInstruction, id, result.followed[i]);
      tally(byCategory, id.split(':')[0], result.followed[i]);
    });
  }
  const ratios = (table: Map<string, [number, number]>) =>
    Object.fromEntries([...table.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, [hit, total]]) => [key, hit / total]));
  return {
    prompts: results.length,
    instructions,
    promptLevel: promptsFollowed / results.length,
    instructionLevel: instructions === 0 ? 0 : instructionsFollowed / instructions,
    byInstruction: ratios(byInstruction),
    byCategory: ratios(byCategory),
  };
}
