// IFEval-style verifiable instruction checks: the checks (checks.ts), strict/loose evaluation and
// the prompt- and instruction-level report (evaluate.ts), Python text semantics (text.ts).
export { compileInstruction, listInstructions, InstructionError, type CheckEnvironment, type Instruction, type InstructionSpec, type Relation } from './checks';
export { compileInstructions, evaluateInstructions, ifevalReport, looseVariants, type IfevalMode, type IfevalReport, type InstructionResults } from './evaluate';
export { countSentences, countWords, splitIntoSentences } from './text';
