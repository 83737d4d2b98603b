// Activation recomputation (gradient checkpointing), as transformers' gradient_checkpointing=True:
// a decoder block runs as one tf.customGrad. Inside a customGrad's forward tfjs records no tape
// (engine.runKernelFunc runs it at kernelDepth > 0) and tidies every intermediate away, so the
// backward keeps only what the block saves: its differentiable inputs (the residual stream, prefix
// tuning's keys/values) and the shared constants (mask, RoPE tables). The gradient function runs
// the block again under a nested tape and backpropagates through that one block.
//
// Which trainable variables a block reads (a block's own weights under full fine-tuning, LoRA A/B,
// IA³ vectors, adapter weights, …) is found once by a probe: the block's forward run under the
// tape, collecting every trainable tf.Variable an op received. Those variables become inputs of the
// customGrad, so the outer tape connects them to the loss. The probe also refuses a block that
// reads a tensor computed under the tape from a trainable variable outside it (its gradient would
// be lost), and every recompute checks that it read no trainable variable the probe missed.
//
// Randomness (LoRA / adapter dropout) must draw the same masks in the recompute: the RNG state is
// captured before the block's forward, set for the recompute and put back afterwards.
import * as tf from '@tensorflow/tfjs';

/** The dropout RNG a block consumes, as PeftMethod.randomState / setRandomState. */
export interface RandomSource {
  state(): number | null;
  restore(state: number): void;
}

/** ForwardOptions.checkpoint: how the decoder recomputes its blocks. */
export interface CheckpointOptions {
  /** the trainable setup whose per-block variables are cached (PeftModel passes itself); default the decoder */
  key?: object;
  /** the RNG consumed inside blocks, replayed for the recompute; absent: the blocks draw nothing */
  random?: RandomSource;
}

/** One block to checkpoint. */
export interface CheckpointedBlock {
  /** the block on its inputs; reads weights and variables through closures. Must be deterministic given the RNG state */
  fn(differentiable: tf.Tensor[], constants: (tf.Tensor | null)[]): tf.Tensor;
  /** inputs that get a gradient (the residual stream, prefix keys/values) */
  differentiable: tf.Tensor[];
  /** inputs without a gradient (mask bias, RoPE tables); null entries are passed through as null */
  constants: (tf.Tensor | null)[];
  /** cache owner of the probed variables */
  key: object;
  /** which block (cache entry within the owner) */
  id: string;
  /** changes whenever the block could read different variables (hooks, weights swapped in) */
  signature: string;
  random?: RandomSource;
}

interface TapeNode {
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  saved?: tf.Tensor[];
}

interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number; kernelDepth: number };
  gradients(f: () => tf.Tensor, xs: tf.Tensor[], dy?: tf.Tensor, allowNoGradients?: boolean): { value: tf.Tensor; grads: (tf.Tensor | undefined)[] };
}

function engine(): EngineInternals {
  return tf.engine() as unknown as EngineInternals;
}

/** True while a gradient tape records ops here (inside tf.grads / variableGrads, outside any kernel). */
export function tapeRecording(): boolean {
  const { state } = engine();
  return state.gradientDepth > 0 && state.kernelDepth === 0 && state.activeTape !== null;
}

function isTrainableVariable(t: unknown): t is tf.Variable {
  return t instanceof tf.Variable && t.trainable;
}

interface CacheEntry {
  signature: string;
  variables: tf.Variable[];
}

const probed = new WeakMap<object, Map<string, CacheEntry>>();

/** How many probes ran (tests check that the cache holds across steps). */
export let probeCount = 0;

function cachedVariables(block: CheckpointedBlock): tf.Variable[] | null {
  const entry = probed.get(block.key)?.get(block.id);
  if (!entry || entry.signature !== block.signature || entry.variables.some((v) => v.isDisposed)) return null;
  return entry.variables;
}

function remember(block: CheckpointedBlock, variables: tf.Variable[]): void {
  let owner = probed.get(block.key);
  if (!owner) probed.set(block.key, (owner = new Map()));
  owner.set(block.id, { signature: block.signature, variables });
}

/** Forgets what was probed for `key` (e.g. after a method's variables changed). */
export function forgetProbes(key: object): void {
  probed.delete(key);
}

/**
 * Runs the block once under the (outer) tape and lists the trainable variables its ops read,
 * then takes its nodes off the tape again and frees what they saved. The RNG is put back.
 */
function probeVariables(block: CheckpointedBlock): tf.Variable[] {
  probeCount++;
  const tape = engine().state.activeTape!;
  const start = tape.length;
  const randomBefore = block.random?.state() ?? null;
  try {
    tf.tidy(() => {
      block.fn(block.differentiable, block.constants);
    });
    const nodes = tape.slice(start);
    const produced = new Set<number>();
    const given = new Set<number>([...block.differentiable, ...block.constants].filter((t): t is tf.Tensor => t !== null).map((t) => t.id));
    const found = new Map<number, tf.Variable>();
    const captured = new Map<number, tf.Tensor>();
    for (const node of nodes) {
      for (const input of Object.values(node.inputs)) {
        if (isTrainableVariable(input)) {
          if (!given.has(input.id)) found.set(input.id, input);
        } else if (!produced.has(input.id) && !given.has(input.id)) captured.set(input.id, input);
      }
      for (const output of node.outputs) produced.add(output.id);
    }
    const lost = [...captured.values()].filter((t) => dependsOnTrainable(t, tape, start));
    if (lost.length > 0) {
      throw new Error(
        `gradient checkpointing: block ${block.id} reads ${lost.length} tensor(s) computed from trainable variables outside the block ` +
          `(shapes ${lost.map((t) => `[${t.shape}]`).join(', ')}); pass them as the block's inputs or turn gradient checkpointing off`,
      );
    }
    return [...found.values()];
  } finally {
    for (const node of tape.splice(start)) for (const t of node.saved ?? []) t.dispose();
    if (randomBefore !== null) block.random!.restore(randomBefore);
  }
}

/** Whether `tensor` was computed, on the tape's first `end` nodes, from a trainable variable. */
function dependsOnTrainable(tensor: tf.Tensor, tape: TapeNode[], end: number): boolean {
  const producer = new Map<number, TapeNode>();
  for (let i = 0; i < end; i++) for (const output of tape[i].outputs) producer.set(output.id, tape[i]);
  const seen = new Set<number>();
  const stack = [tensor];
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (seen.has(t.id)) continue;
    seen.add(t.id);
    if (isTrainableVariable(t)) return true;
    const node = producer.get(t.id);
    if (node) stack.push(...Object.values(node.inputs));
  }
  return false;
}

/**
 * The block's output, computed so that the backward recomputes it instead of keeping its
 * intermediates. Outside a recording tape it is just `fn` (nothing would be kept anyway).
 */
export function checkpointed(block: CheckpointedBlock): tf.Tensor {
  if (!tapeRecording()) return block.fn(block.differentiable, block.constants);
  let variables = cachedVariables(block);
  if (!variables) {
    variables = probeVariables(block);
    remember(block, variables);
  }
  const vars = variables;
  const nDiff = block.differentiable.length;
  const present = block.constants.map((t) => t !== null);
  const rebuild = (kept: tf.Tensor[]): (tf.Tensor | null)[] => {
    let next = 0;
    return present.map((has) => (has ? kept[next++] : null));
  };
  const constants = block.constants.filter((t): t is tf.Tensor => t !== null);
  let randomBefore: number | null = null;
  const op = tf.customGrad(((...args: unknown[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const inputs = args.slice(0, nDiff) as tf.Tensor[];
    randomBefore = block.random?.state() ?? null;
    const value = block.fn(inputs, block.constants);
    save([...inputs, ...constants]);
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => recompute(block, vars, dy as tf.Tensor, saved.slice(0, nDiff), rebuild(saved.slice(nDiff)), randomBefore),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (op as unknown as (...t: tf.Tensor[]) => tf.Tensor)(...block.differentiable, ...vars);
}

/** The gradient function: the block again under its own tape, backpropagated from dy. */
function recompute(
  block: CheckpointedBlock,
  variables: tf.Variable[],
  dy: tf.Tensor,
  inputs: tf.Tensor[],
  constants: (tf.Tensor | null)[],
  randomBefore: number | null,
): tf.Tensor[] {
  const eng = engine();
  // The outer backprop walks its own filtered copy of the tape; a nested gradients() call at depth 0
  // replaces state.activeTape and leaves it null, and the outer cleanup still needs it.
  const outerTape = eng.state.activeTape;
  const randomAfter = block.random?.state() ?? null;
  if (randomBefore !== null) block.random!.restore(randomBefore);
  const known = new Set(variables.map((v) => v.id));
  const missed = new Map<number, tf.Variable>();
  const xs = [...inputs, ...variables];
  try {
    const { value, grads } = eng.gradients(
      () => {
        const tape = eng.state.activeTape!;
        const start = tape.length;
        const y = block.fn(inputs, constants);
        for (let i = start; i < tape.length; i++) {
          for (const input of Object.values(tape[i].inputs)) if (isTrainableVariable(input) && !known.has(input.id)) missed.set(input.id, input);
        }
        return y;
      },
      xs,
      dy,
      true,
    );
    value.dispose();
    if (missed.size > 0) {
      for (const g of grads) g?.dispose();
      probed.get(block.key)?.delete(block.id);
      throw new Error(
        `gradient checkpointing: block ${block.id} read ${missed.size} trainable variable(s) in its recompute that its forward did not ` +
          `(${[...missed.values()].map((v) => v.name).slice(0, 3).join(', ')}); the block must read the same variables every time`,
      );
    }
    return grads.map((g, i) => g ?? tf.zerosLike(xs[i]));
  } finally {
    eng.state.activeTape = outerTape;
    if (randomAfter !== null) block.random!.restore(randomAfter);
  }
}

/**
 * Bytes the active gradient tape keeps for the backward: the tensors its nodes saved, each data
 * buffer counted once (a saved clone shares its buffer on cpu and wasm), leaving out the buffers
 * of `exclude` (the weights: a linear layer saves its weight, which is held anyway). 0 without a
 * tape. The bench reads it at the end of a forward: the step's activations as tfjs holds them.
 */
export function tapeSavedBytes(exclude: Iterable<tf.Tensor> = []): number {
  const tape = engine().state.activeTape;
  if (!tape || engine().state.gradientDepth === 0) return 0;
  const seen = new Set<unknown>();
  for (const t of exclude) seen.add(t.dataId);
  let bytes = 0;
  for (const node of tape) {
    for (const t of node.saved ?? []) {
      if (t.isDisposed || seen.has(t.dataId)) continue;
      seen.add(t.dataId);
      bytes += t.size * (t.dtype === 'complex64' ? 8 : 4);
    }
  }
  return bytes;
}
