// The Trainer's watch for divergence (issue 12). Each step's single read-back (step.ts) also says
// whether the weights the previous update left are finite, so an update is only known good one step
// later (or at the end of run(), which checks once more). A non-finite result rolls weights and
// optimizer back to the last finite state held here — the latest state() whose tensors were all
// finite, i.e. the session's latest checkpoint, or the start of the run for the CLI, which never
// checkpoints — and `maxBad` bad updates in a row (skipped for a non-finite loss or gradient, or
// rolled back) mark the run diverged. The kept state is a host copy (weights and AdamW moments):
// the price of a rollback that needs no storage.
import * as tf from '@tensorflow/tfjs';
import { stateIsFinite, type TrainerState } from './state';
import { weightsFiniteProbe } from './step';

export class DivergenceGuard {
  /** the latest all-finite state: what a non-finite update is rolled back to */
  private kept: TrainerState | null = null;
  /** bad updates in a row; a rolled-back update and the step that found it count as one */
  consecutiveBad = 0;
  /** the last step applied an update no read-back has shown to be finite yet */
  private unconfirmed = false;
  diverged = false;

  constructor(
    private readonly maxBad: number,
    /** puts a kept state's weights and optimizer moments back on the model */
    private readonly restore: (state: TrainerState) => void,
  ) {}

  get lastFinite(): TrainerState | null {
    return this.kept;
  }

  /** A state taken between updates: kept (by reference, never written to) when every value is finite. */
  offer(state: TrainerState): void {
    if (stateIsFinite(state)) this.kept = state;
  }

  /** After one step: whether the weights it started from were finite, and whether it skipped its update. */
  afterStep(weightsFinite: boolean, skipped: boolean): void {
    this.settle(weightsFinite);
    // a step skipped because the weights were not finite is the rolled-back update's, not counted again
    if (weightsFinite && skipped) this.countBad();
    this.unconfirmed = weightsFinite && !skipped;
  }

  /** At the end of run(): the last update has no next step to check it, so state() is always finite. */
  async checkLast(params: Map<string, tf.Variable>): Promise<void> {
    if (this.unconfirmed) this.settle(await weightsAreFinite(params));
  }

  /** Settles the last applied update: finite ends a bad stretch; non-finite is rolled back and counted. */
  private settle(finite: boolean): void {
    const wasUnconfirmed = this.unconfirmed;
    this.unconfirmed = false;
    if (finite) {
      if (wasUnconfirmed) this.consecutiveBad = 0;
      return;
    }
    if (this.kept) this.restore(this.kept);
    this.countBad();
    // nothing finite to go back to: training on would only spread the NaNs
    if (!this.kept) this.diverged = true;
  }

  private countBad(): void {
    this.consecutiveBad++;
    if (this.consecutiveBad >= this.maxBad) this.diverged = true;
  }
}

/** One read-back of the check step.ts folds into its own. */
export async function weightsAreFinite(params: Map<string, tf.Variable>): Promise<boolean> {
  const check = tf.tidy(() => weightsFiniteProbe(params)); // []
  try {
    return (await check.data())[0] === 0;
  } finally {
    check.dispose();
  }
}
