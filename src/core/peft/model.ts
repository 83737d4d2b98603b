// A Decoder with at most one parameter-efficient method, as PEFT's PeftModelForCausalLM: forward
// gives the adapted logits, `enabled = false` gives exactly the base model (PEFT's
// disable_adapter()), and only the method's variables are trainable.
// The trainer calls forward() inside tf.variableGrads / optimizer.minimize with
// trainableVariables(); set `training = true` there so LoRA/adapter dropout is active.
import * as tf from '@tensorflow/tfjs';
import type { Decoder, ForwardOptions, PackedPositions } from '../model/decoder';
import type { CheckpointOptions } from '../model/ops/recompute';
import type { PeftMethod } from './types';

export interface ParameterCount {
  trainable: number;
  /** base weights plus the method's own (full / freeze train copies of base weights, so no addition) */
  total: number;
  /** 100 · trainable / total, as PEFT's print_trainable_parameters */
  percent: number;
}

export class PeftModel {
  /** false ⇒ forward is exactly the base model */
  enabled = true;
  /** true while training: dropout on (LoRA lora_dropout, adapter dropout) */
  training = false;
  /**
   * transformers' gradient_checkpointing_enable(): under a gradient tape each decoder block keeps
   * only its inputs and is recomputed in the backward (less memory, one more forward of compute).
   * The same gradients as without, dropout masks included.
   */
  gradientCheckpointing = false;
  private active = false;
  private readonly checkpoint: CheckpointOptions;

  constructor(
    readonly decoder: Decoder,
    readonly method: PeftMethod | null,
  ) {
    const { randomState, setRandomState } = method ?? {};
    this.checkpoint = {
      key: this,
      random:
        randomState && setRandomState
          ? { state: () => randomState.call(method), restore: (state) => setRandomState.call(method, state) }
          : undefined,
    };
  }

  /**
   * Logits [B, T, V] for inputIds [B, T] (int32) and an optional attentionMask [B, T] over the real
   * tokens. Prompt tuning: the virtual positions are dropped. Prefix tuning: the mask gets P ones
   * in front and real tokens take positions P…P+T−1, as PEFT. `packed` (packed rows): positions
   * restart per packed sequence and attention stays inside each one, soft tokens and prefixes
   * shared by all, so each sequence's logits are those it gets alone. The caller disposes the result.
   */
  forward(inputIds: tf.Tensor2D, attentionMask?: tf.Tensor2D, packed?: PackedPositions): tf.Tensor3D {
    const method = this.enabled ? this.method : null;
    return this.withAdapter(() =>
      tf.tidy(() => {
        let ids: tf.Tensor2D | null = inputIds;
        let options: ForwardOptions = { attentionMask, positionIds: packed?.positionIds, sequenceIds: packed?.sequenceIds };
        let virtualPositions = 0;
        if (method?.prepareInputs) {
          const prepared = method.prepareInputs(this.decoder, inputIds, attentionMask, packed);
          ({ inputIds: ids, options, virtualPositions } = prepared);
        }
        if (this.gradientCheckpointing) options = { ...options, checkpoint: this.checkpoint };
        const logits = this.decoder.forward(ids, options).logits; // [B, P?+T, V]
        if (virtualPositions === 0) return logits;
        const [batch, time, vocab] = logits.shape;
        return logits.slice([0, virtualPositions, 0], [batch, time - virtualPositions, vocab]) as tf.Tensor3D; // [B, T, V]
      }),
    );
  }

  /**
   * Runs `fn` with the method plugged into the decoder (hooks installed, weight overrides swapped
   * in) and restores the decoder afterwards, also on error. For code that calls decoder.forward
   * itself, e.g. generation with LoRA/IA³/adapters. Synchronous: nothing else may use the decoder meanwhile.
   */
  withAdapter<T>(fn: () => T): T {
    if (this.active) return fn();
    const { decoder } = this;
    const previousHooks = decoder.hooks;
    const overrides = this.method?.paramOverrides?.(this.enabled) ?? null;
    const replaced = new Map<string, tf.Tensor>();
    this.active = true;
    try {
      decoder.hooks = this.enabled && this.method ? this.method.hooks(this.training) : null;
      for (const [name, tensor] of overrides ?? []) {
        replaced.set(name, decoder.params.get(name)!);
        decoder.params.set(name, tensor);
      }
      return fn();
    } finally {
      for (const [name, tensor] of replaced) decoder.params.set(name, tensor);
      decoder.hooks = previousHooks;
      this.active = false;
    }
  }

  /** What an optimizer updates, by saved name (PEFT's names for PEFT methods). */
  trainableVariables(): Map<string, tf.Variable> {
    return this.method ? this.method.variables() : new Map();
  }

  /** The method's dropout RNG state (null when it has none): saved in a TrainerState so a resumed run draws the same masks. */
  randomState(): number | null {
    return this.method?.randomState?.() ?? null;
  }

  setRandomState(state: number): void {
    if (!this.method?.setRandomState) throw new Error(`PeftModel.setRandomState: method "${this.method?.name ?? 'none'}" has no random state`);
    this.method.setRandomState(state);
  }

  trainableParameterCount(): ParameterCount {
    let base = 0;
    for (const tensor of this.decoder.params.values()) base += tensor.size;
    let trainable = 0;
    for (const variable of this.trainableVariables().values()) trainable += variable.size;
    const total = this.method?.replacesBaseWeights ? base : base + trainable;
    return { trainable, total, percent: total === 0 ? 0 : (100 * trainable) / total };
  }

  /** Disposes the method's tensors (a merged LoRA is unmerged first); the decoder stays the caller's. */
  dispose(): void {
    this.method?.dispose();
  }
}
