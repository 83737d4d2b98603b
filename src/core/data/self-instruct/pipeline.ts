// Self-Instruct (Wang et al. 2022) over any text generator: bootstrap new instructions from a seed
// pool, ask whether each is a classification task, generate instances (output-first for
// classification, input-first otherwise) and filter at every step, keeping each decision and its
// reason. Follows yizhongw/self-instruct's bootstrap_instructions.py → identify_clf_or_not.py →
// generate_instances.py → prepare_for_finetuning.py, run as one pass. The generator is injected, so
// the same code runs on a loaded model in the worker and on a stub in tests; all randomness comes
// from one seeded Rng, so a seed reproduces a run.
import { Rng } from '../../rng';
import {
  DEFAULT_FILTER_SETTINGS,
  InstructionPool,
  decideInstances,
  type FilterSettings,
  type InstanceDecision,
  type InstructionDecision,
} from './filters';
import { parseClassificationInstances, parseClassifierAnswer, parseGenerationInstances, parseInstructions, type RawInstance } from './parse';
import { CLASSIFY_STOPS, bootstrapPrompt, bootstrapStops, classifyPrompt, instancesPrompt, instancesStops } from './prompts';
import type { SeedTask } from './seed-tasks';

/** What one call of the generator is asked to do. */
export interface PromptSettings {
  maxNewTokens: number;
  /** 0 = greedy */
  temperature: number;
  /** 1 = off */
  topP: number;
  /** 1 = off */
  repetitionPenalty: number;
  /** the text is cut before the first of these */
  stop: string[];
  /** drawn from the run's Rng, so sampling repeats with the run's seed */
  seed: number;
}

/** A string, or the text and whether it stopped at the token limit rather than a stop or EOS. */
export type Generated = string | { text: string; truncated: boolean };
export type GenerateFn = (prompt: string, settings: PromptSettings, signal?: AbortSignal) => Promise<Generated>;

export interface SelfInstructOptions {
  seedTasks: readonly SeedTask[];
  /** machine-generated instructions from earlier runs: compared against and sampled into prompts like this run's */
  machineInstructions?: readonly string[];
  /** instructions to keep through the instruction filters before instance generation starts */
  numInstructions: number;
  /** bootstrap prompts to try at most; a weak model may never reach numInstructions. Default 2 × numInstructions + 2 */
  maxRequests?: number;
  seed: number;
  /** bootstrap sampling; the reference's 0.7 */
  temperature?: number;
  /** bootstrap sampling; the reference's 0.5 */
  topP?: number;
  /** bootstrap sampling; 1 = off (the reference used a presence penalty of 2, which this generator lacks) */
  repetitionPenalty?: number;
  /** instructions per bootstrap prompt; the reference's 8 */
  promptInstructions?: number;
  /** of those, machine-generated ones when there are any; the reference's 2 */
  machineInPrompt?: number;
  /** new instructions a bootstrap prompt may produce before its stop number; the reference stops at 16 after 8, so 7 */
  newPerPrompt?: number;
  maxNewTokens?: { bootstrap?: number; classify?: number; instances?: number };
  filters?: Partial<FilterSettings>;
}

export interface CandidateInstance extends RawInstance {
  decision: InstanceDecision;
}

export interface Candidate {
  /** c1, c2 … in the order generated */
  id: string;
  instruction: string;
  /** index into the result's requests */
  request: number;
  /** the final decision: the instruction filters', or after instance generation */
  decision: InstructionDecision;
  isClassification?: boolean;
  /** the classifier's raw answer */
  classifierAnswer?: string;
  /** the raw instance generation */
  instancesText?: string;
  instances: CandidateInstance[];
}

export interface BootstrapRequest {
  prompt: string;
  text: string;
  truncated: boolean;
  /** ids of the candidates parsed from it */
  candidates: string[];
}

export interface SelfInstructResult {
  status: 'completed' | 'cancelled';
  seed: number;
  requests: BootstrapRequest[];
  candidates: Candidate[];
}

export interface SelfInstructProgress {
  stage: 'bootstrap' | 'classify' | 'instances' | 'done';
  /** bootstrap: instructions kept so far of numInstructions; later stages: instructions handled */
  done: number;
  total: number;
  requests: number;
  candidates: number;
}

export interface SelfInstructHooks {
  onProgress?: (progress: SelfInstructProgress) => void;
  signal?: AbortSignal;
}

type Resolved = Required<Omit<SelfInstructOptions, 'filters' | 'maxNewTokens' | 'machineInstructions'>> & {
  machineInstructions: readonly string[];
  maxNewTokens: { bootstrap: number; classify: number; instances: number };
  filters: FilterSettings;
};

function resolveOptions(options: SelfInstructOptions): Resolved {
  const fail = (message: string): never => {
    throw new Error(`Self-Instruct: ${message}`);
  };
  const whole = (name: string, value: unknown, min: number) => {
    if (!(Number.isInteger(value) && (value as number) >= min)) fail(`${name} must be a whole number ≥ ${min}, got ${String(value)}`);
  };
  const seeds = options.seedTasks.filter((task) => typeof task.instruction === 'string' && task.instruction.trim() !== '');
  if (seeds.length === 0) fail('there are no seed tasks with an instruction; give at least one (or use the built-in seeds)');
  whole('numInstructions', options.numInstructions, 1);
  if (!Number.isFinite(options.seed)) fail(`seed must be a number, got ${String(options.seed)}`);
  const resolved: Resolved = {
    seedTasks: seeds,
    machineInstructions: options.machineInstructions ?? [],
    numInstructions: options.numInstructions,
    maxRequests: options.maxRequests ?? 2 * options.numInstructions + 2,
    seed: options.seed,
    temperature: options.temperature ?? 0.7,
    topP: options.topP ?? 0.5,
    repetitionPenalty: options.repetitionPenalty ?? 1,
    promptInstructions: options.promptInstructions ?? 8,
    machineInPrompt: options.machineInPrompt ?? 2,
    newPerPrompt: options.newPerPrompt ?? 7,
    maxNewTokens: { bootstrap: 256, classify: 3, instances: 300, ...options.maxNewTokens },
    filters: { ...DEFAULT_FILTER_SETTINGS, ...options.filters },
  };
  whole('maxRequests', resolved.maxRequests, 1);
  whole('promptInstructions', resolved.promptInstructions, 1);
  whole('machineInPrompt', resolved.machineInPrompt, 0);
  whole('newPerPrompt', resolved.newPerPrompt, 1);
  for (const [stage, value] of Object.entries(resolved.maxNewTokens)) whole(`maxNewTokens.${stage}`, value, 1);
  if (!(resolved.temperature >= 0)) fail(`temperature must be ≥ 0 (0 = greedy), got ${resolved.temperature}`);
  if (!(resolved.topP > 0 && resolved.topP <= 1)) fail(`topP must be in (0, 1], got ${resolved.topP}`);
  if (!(resolved.repetitionPenalty > 0)) fail(`repetitionPenalty must be > 0, got ${resolved.repetitionPenalty}`);
  return resolved;
}

/** k items without replacement, in drawn order (Python's random.sample). */
export function sample<T>(rng: Rng, items: readonly T[], k: number): T[] {
  const copy = [...items];
  const n = Math.min(k, copy.length);
  for (let i = 0; i < n; i++) {
    const j = i + rng.int(copy.length - i);
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy.slice(0, n);
}

/** Fisher–Yates in place. */
export function shuffle<T>(rng: Rng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

const drawSeed = (rng: Rng) => Math.floor(rng.next() * 4294967296);

/** The instructions of one bootstrap prompt: up to machineInPrompt machine ones, seeds for the rest, shuffled. */
export function pickPromptInstructions(
  rng: Rng,
  seedInstructions: readonly string[],
  machineInstructions: readonly string[],
  promptInstructions = 8,
  machineInPrompt = 2,
): string[] {
  const machine = sample(rng, machineInstructions, machineInPrompt);
  const seeds = sample(rng, seedInstructions, promptInstructions - machine.length);
  return shuffle(rng, [...machine, ...seeds]);
}

const asGenerated = (result: Generated) => (typeof result === 'string' ? { text: result, truncated: false } : result);

export class SelfInstructCancelled extends Error {
  override name = 'SelfInstructCancelled';
}

async function call(generate: GenerateFn, prompt: string, settings: PromptSettings, signal?: AbortSignal) {
  if (signal?.aborted) throw new SelfInstructCancelled('cancelled');
  try {
    const result = asGenerated(await generate(prompt, settings, signal));
    if (signal?.aborted) throw new SelfInstructCancelled('cancelled');
    return result;
  } catch (error) {
    throw signal?.aborted ? new SelfInstructCancelled('cancelled') : error;
  }
}

/** Asks the model whether `instruction` is a classification task (greedy, as the reference). */
export async function classifyInstruction(
  generate: GenerateFn,
  instruction: string,
  opts: { seed: number; maxNewTokens?: number; signal?: AbortSignal },
): Promise<{ isClassification: boolean; understood: boolean; answer: string }> {
  const settings: PromptSettings = { maxNewTokens: opts.maxNewTokens ?? 3, temperature: 0, topP: 1, repetitionPenalty: 1, stop: CLASSIFY_STOPS, seed: opts.seed };
  const { text } = await call(generate, classifyPrompt(instruction), settings, opts.signal);
  return { ...parseClassifierAnswer(text), answer: text };
}

/** Generates, parses and filters the instances of one instruction (greedy, as the reference). */
export async function generateInstances(
  generate: GenerateFn,
  instruction: string,
  isClassification: boolean,
  opts: { seed: number; maxNewTokens?: number; maxInstances?: number; signal?: AbortSignal },
): Promise<{ text: string; truncated: boolean; instances: CandidateInstance[] }> {
  const maxInstances = opts.maxInstances ?? DEFAULT_FILTER_SETTINGS.maxInstances;
  const settings: PromptSettings = {
    maxNewTokens: opts.maxNewTokens ?? 300,
    temperature: 0,
    topP: 1,
    repetitionPenalty: 1,
    stop: instancesStops(maxInstances),
    seed: opts.seed,
  };
  const { text, truncated } = await call(generate, instancesPrompt(instruction, isClassification), settings, opts.signal);
  const raw = isClassification ? parseClassificationInstances(text) : parseGenerationInstances(text);
  const decisions = decideInstances(raw, truncated, { maxInstances });
  return { text, truncated, instances: raw.map((instance, i) => ({ ...instance, decision: decisions[i] })) };
}

/** The final decision of an instruction that passed the instruction filters, from its instances. */
function instanceVerdict(before: InstructionDecision, isClassification: boolean, instances: readonly CandidateInstance[]): InstructionDecision {
  const kept = instances.filter((instance) => instance.decision.kept).length;
  const { similarity } = before;
  if (kept > 0) return { kept: true, message: `kept with ${kept} example${kept === 1 ? '' : 's'}`, similarity };
  const message =
    instances.length === 0
      ? `the model's answer had no ${isClassification ? '“Class label:”' : '“Output:”'} to read examples from`
      : `all ${instances.length} generated example${instances.length === 1 ? ' was' : 's were'} filtered out`;
  return { kept: false, reason: 'no-instances', message, similarity };
}

export async function runSelfInstruct(generate: GenerateFn, options: SelfInstructOptions, hooks: SelfInstructHooks = {}): Promise<SelfInstructResult> {
  const o = resolveOptions(options);
  const { signal, onProgress } = hooks;
  const rng = new Rng(o.seed);
  const seedInstructions = [...new Set(o.seedTasks.map((task) => task.instruction.trim()))];
  const pool = new InstructionPool([...seedInstructions, ...o.machineInstructions]);
  const machine = [...o.machineInstructions];
  const requests: BootstrapRequest[] = [];
  const candidates: Candidate[] = [];
  const result = (status: SelfInstructResult['status']): SelfInstructResult => ({ status, seed: o.seed, requests, candidates });
  const report = (stage: SelfInstructProgress['stage'], done: number, total: number) =>
    onProgress?.({ stage, done, total, requests: requests.length, candidates: candidates.length });
  const accepted = () => candidates.filter((candidate) => candidate.decision.kept);

  try {
    // 1. Bootstrap until enough instructions pass the filters (or the prompt budget is spent).
    report('bootstrap', 0, o.numInstructions);
    while (accepted().length < o.numInstructions && requests.length < o.maxRequests) {
      const shown = pickPromptInstructions(rng, seedInstructions, machine, o.promptInstructions, o.machineInPrompt);
      const prompt = bootstrapPrompt(shown);
      const settings: PromptSettings = {
        maxNewTokens: o.maxNewTokens.bootstrap,
        temperature: o.temperature,
        topP: o.topP,
        repetitionPenalty: o.repetitionPenalty,
        stop: bootstrapStops(shown.length, o.newPerPrompt),
        seed: drawSeed(rng),
      };
      const { text, truncated } = await call(generate, prompt, settings, signal);
      const request: BootstrapRequest = { prompt, text, truncated, candidates: [] };
      requests.push(request);
      for (const parsed of parseInstructions(text, truncated)) {
        if (accepted().length >= o.numInstructions) break;
        const decision = pool.decide(parsed, o.filters);
        const candidate: Candidate = { id: `c${candidates.length + 1}`, instruction: parsed.text, request: requests.length - 1, decision, instances: [] };
        candidates.push(candidate);
        request.candidates.push(candidate.id);
        if (decision.kept) machine.push(parsed.text);
      }
      report('bootstrap', accepted().length, o.numInstructions);
    }

    // 2. Classification or not, for every kept instruction.
    const kept = accepted();
    for (const [i, candidate] of kept.entries()) {
      report('classify', i, kept.length);
      const answer = await classifyInstruction(generate, candidate.instruction, { seed: drawSeed(rng), maxNewTokens: o.maxNewTokens.classify, signal });
      candidate.isClassification = answer.isClassification;
      candidate.classifierAnswer = answer.answer;
    }

    // 3. Instances, and the final decision.
    for (const [i, candidate] of kept.entries()) {
      report('instances', i, kept.length);
      const generated = await generateInstances(generate, candidate.instruction, candidate.isClassification!, {
        seed: drawSeed(rng),
        maxNewTokens: o.maxNewTokens.instances,
        maxInstances: o.filters.maxInstances,
        signal,
      });
      candidate.instancesText = generated.text;
      candidate.instances = generated.instances;
      candidate.decision = instanceVerdict(candidate.decision, candidate.isClassification!, generated.instances);
    }
    report('done', kept.length, kept.length);
    return result('completed');
  } catch (error) {
    if (!(error instanceof SelfInstructCancelled)) throw error;
    // Whatever had passed the instruction filters but was not finished cannot join a dataset.
    for (const candidate of candidates) {
      if (candidate.decision.kept && candidate.instancesText === undefined) {
        candidate.decision = { ...candidate.decision, kept: false, reason: 'cancelled', message: 'the run was cancelled before its examples were generated' };
      }
    }
    return result('cancelled');
  }
}
