// `pretrain`: builds hone-tiny from the committed spec (src/core/pretrain/pretrain.ts), resumably.
// The loop itself is src/core/pretrain/loop.ts (the studio's Pretrain view runs the same one); this
// file is its file storage. A work folder (default .pretrain/, git-ignored) holds progress.jsonl (one
// line per logged step) and checkpoint/{state.safetensors,state.json} written every --checkpoint-every
// steps and when --max-minutes runs out, so a run cut off (a session's end) continues where it
// stopped. When all steps are done, the model is written in Hugging Face Llama layout to --out with
// manifest.json.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSafetensors, writeSafetensors, type HostTensor } from '../../src/core/model/safetensors';
import { HONE_TINY, type PretrainSpec } from '../../src/core/pretrain/pretrain';
import { runPretrainLoop, specKey, type PretrainCheckpoint, type PretrainStorage, type ProgressLine } from '../../src/core/pretrain/loop';
import type { TrainerState } from '../../src/core/train/state';
import { UsageError, intFlag, type ParsedArgs } from '../args';

export interface PretrainSummary {
  status: 'completed' | 'paused';
  step: number;
  totalSteps: number;
  out?: string;
  work: string;
  loss: number | null;
  tokensPerSecond: number;
}

function specFromArgs(args: ParsedArgs): PretrainSpec {
  const spec = { ...HONE_TINY };
  const steps = args.flags.get('steps');
  if (steps !== undefined) spec.steps = intFlag(args, 'steps', spec.steps);
  const documents = args.flags.get('documents');
  if (documents !== undefined) spec.documents = intFlag(args, 'documents', spec.documents);
  if (spec.steps <= 0 || spec.documents <= 0) throw new UsageError('pretrain: --steps and --documents must be positive');
  return spec;
}

/** Checkpoint and progress lines in a work folder: checkpoint/state.{safetensors,json}, progress.jsonl. */
export class FilePretrainStorage implements PretrainStorage {
  private readonly checkpointDir: string;
  private readonly progressPath: string;

  constructor(private readonly work: string) {
    this.checkpointDir = join(work, 'checkpoint');
    this.progressPath = join(work, 'progress.jsonl');
    mkdirSync(work, { recursive: true });
  }

  async load(spec: PretrainSpec): Promise<PretrainCheckpoint | null> {
    const dir = this.checkpointDir;
    const jsonPath = join(dir, 'state.json');
    if (!existsSync(jsonPath)) return null;
    const saved = JSON.parse(readFileSync(jsonPath, 'utf8')) as { spec: string; trainer: TrainerState['json']; elapsedSeconds?: number; tokens?: number };
    if (saved.spec !== specKey(spec)) {
      throw new Error(`pretrain: ${dir} holds a checkpoint of a different spec; delete it or use another --work folder`);
    }
    const tensors = parseSafetensors(new Uint8Array(readFileSync(join(dir, 'state.safetensors'))), 'state.safetensors');
    this.dropProgressAfter(saved.trainer.step);
    return {
      state: { json: saved.trainer, tensors: [...tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data })) },
      elapsedSeconds: saved.elapsedSeconds ?? 0,
      tokens: saved.tokens ?? 0,
    };
  }

  async save(spec: PretrainSpec, checkpoint: PretrainCheckpoint): Promise<void> {
    const dir = this.checkpointDir;
    mkdirSync(dir, { recursive: true });
    const { state, elapsedSeconds, tokens } = checkpoint;
    const tensors = new Map<string, HostTensor>(state.tensors.map((t) => [t.name, { shape: t.shape, data: t.data }]));
    // write-then-rename: a kill mid-write never leaves a half checkpoint behind
    writeFileSync(join(dir, 'state.safetensors.tmp'), writeSafetensors(tensors));
    writeFileSync(join(dir, 'state.json.tmp'), JSON.stringify({ spec: specKey(spec), trainer: state.json, elapsedSeconds, tokens }));
    renameSync(join(dir, 'state.safetensors.tmp'), join(dir, 'state.safetensors'));
    renameSync(join(dir, 'state.json.tmp'), join(dir, 'state.json'));
  }

  async appendProgress(line: ProgressLine): Promise<void> {
    appendFileSync(this.progressPath, JSON.stringify(line) + '\n');
  }

  /** A run killed between checkpoints logged steps the resume repeats; keep one line per step. */
  private dropProgressAfter(step: number): void {
    if (!existsSync(this.progressPath)) return;
    const lines = readFileSync(this.progressPath, 'utf8').split('\n').filter((l) => l.trim() !== '');
    const kept = lines.filter((l) => {
      try {
        return (JSON.parse(l) as { step?: number }).step! <= step;
      } catch {
        return true; // not ours to judge: leave it
      }
    });
    if (kept.length === lines.length) return;
    writeFileSync(`${this.progressPath}.tmp`, kept.map((l) => l + '\n').join(''));
    renameSync(`${this.progressPath}.tmp`, this.progressPath);
  }
}

export async function pretrainCommand(args: ParsedArgs): Promise<PretrainSummary> {
  const spec = specFromArgs(args);
  const maxMinutes = Number(args.flags.get('max-minutes') ?? 'Infinity');
  if (!(maxMinutes > 0)) throw new UsageError('pretrain: --max-minutes must be positive');
  const command =
    'npm run --silent hone -- pretrain' +
    (args.flags.has('steps') ? ` --steps ${spec.steps}` : '') +
    (args.flags.has('documents') ? ` --documents ${spec.documents}` : '');
  return runPretraining(spec, {
    work: args.flags.get('work') ?? '.pretrain',
    out: args.flags.get('out') ?? 'public/models/hone-tiny',
    checkpointEvery: intFlag(args, 'checkpoint-every', 100),
    maxMinutes,
    logEvery: intFlag(args, 'log-every', 10),
    command,
  });
}

export interface PretrainOptions {
  /** progress.jsonl and checkpoint/ go here */
  work: string;
  /** the finished model goes here */
  out: string;
  checkpointEvery: number;
  /** stop (with a checkpoint) after this many minutes of this call */
  maxMinutes: number;
  logEvery: number;
  /** recorded in the manifest */
  command: string;
  quiet?: boolean;
}

/** Runs (or continues) pretraining to completion or until maxMinutes; see the top of the file. */
export async function runPretraining(spec: PretrainSpec, opts: PretrainOptions): Promise<PretrainSummary> {
  const { work, out, logEvery } = opts;
  const result = await runPretrainLoop(spec, new FilePretrainStorage(work), {
    checkpointEvery: opts.checkpointEvery,
    logEvery,
    maxSeconds: opts.maxMinutes * 60,
    command: opts.command,
    onEvent: (event) => {
      if (opts.quiet || event.kind !== 'progress') return;
      if (event.step % logEvery === 0 || event.step === spec.steps) {
        process.stderr.write(`pretrain step ${event.step}/${spec.steps} loss ${event.loss.toFixed(4)} ${Math.round(event.tokensPerSecond)} tok/s\n`);
      }
    },
  });
  const summary = { step: result.step, totalSteps: spec.steps, work, loss: result.loss, tokensPerSecond: result.tokensPerSecond };
  if (result.status !== 'completed' || !result.files) {
    // nothing here cancels, so anything short of completion stopped at a checkpoint
    return { status: 'paused', ...summary };
  }
  mkdirSync(out, { recursive: true });
  for (const [name, bytes] of result.files) writeFileSync(join(out, name), bytes);
  return { status: 'completed', ...summary, out };
}
