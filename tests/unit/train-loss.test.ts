// The causal-LM loss (loss.ts) against hand-computed values, its gradient, stability and leaks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { setNodeBackend } from '../../cli/node-backend';
import { causalLmLoss, causalLmLossSum, countScoredLabels } from '../../src/core/train/loss';

const X = -100;
// logits [1, 3, 3]; labels shift left: logits[0] predicts labels[1] = 2, logits[1] predicts labels[2] = 0
const LOGITS = [
  [
    [1, 2, 3],
    [0, 0, 0],
    [9, 9, 9], // last position predicts nothing
  ],
];
// −log softmax([1,2,3])[2] = log(e¹+e²+e³) − 3; −log softmax([0,0,0])[0] = log 3
const NLL_0 = Math.log(Math.E + Math.E ** 2 + Math.E ** 3) - 3; // 0.40760596444438…
const NLL_1 = Math.log(3); // 1.0986122886681098

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`causalLmLoss (${backend})`, () => {
    beforeAll(async () => {
      await setNodeBackend(backend);
    });
    afterAll(async () => {
      await setNodeBackend('cpu');
    });

    it('is the mean −log p(label) over labels ≠ −100, shifted by one', () => {
      const { loss, tokenCount } = causalLmLoss(tf.tensor3d(LOGITS), [[X, 2, 0]]);
      expect(tokenCount).toBe(2);
      expect(loss.dataSync()[0]).toBeCloseTo((NLL_0 + NLL_1) / 2, 6);
      const masked = causalLmLoss(tf.tensor3d(LOGITS), [[X, 2, X]]);
      expect(masked.tokenCount).toBe(1);
      expect(masked.loss.dataSync()[0]).toBeCloseTo(NLL_0, 6);
      // label at position 0 is never scored: nothing predicts it
      expect(causalLmLoss(tf.tensor3d(LOGITS), [[1, 2, X]]).loss.dataSync()[0]).toBeCloseTo(NLL_0, 6);
    });

    it('stays finite and exact for huge logits (max subtracted before exp)', () => {
      const big = LOGITS.map((row) => row.map((l) => l.map((v) => v + 1000)));
      expect(causalLmLoss(tf.tensor3d(big), [[X, 2, 0]]).loss.dataSync()[0]).toBeCloseTo((NLL_0 + NLL_1) / 2, 5);
    });

    it('gives 0 and count 0 when nothing is scored', () => {
      const none = causalLmLoss(tf.tensor3d(LOGITS), [[X, X, X]]);
      expect([none.loss.dataSync()[0], none.tokenCount]).toEqual([0, 0]);
    });

    it('has gradient (softmax − one-hot)/count on scored rows and 0 elsewhere', () => {
      const logits = tf.tensor3d(LOGITS);
      const labels = tf.tensor2d([[X, 2, 0]], undefined, 'int32');
      const grad = tf.grad((x: tf.Tensor) => tf.div(causalLmLossSum(x as tf.Tensor3D, labels), 2))(logits);
      const z = Math.E + Math.E ** 2 + Math.E ** 3;
      const expected = [
        [Math.E / z / 2, Math.E ** 2 / z / 2, (Math.E ** 3 / z - 1) / 2],
        [(1 / 3 - 1) / 2, 1 / 3 / 2, 1 / 3 / 2],
        [0, 0, 0],
      ].flat();
      const actual = grad.dataSync();
      expected.forEach((v, i) => expect(actual[i]).toBeCloseTo(v, 6));
    });

    it('refuses labels outside the vocabulary, naming row and position', () => {
      expect(() => causalLmLoss(tf.tensor3d(LOGITS), [[X, 3, 0]])).toThrow('label 3 at row 0, position 1');
      expect(countScoredLabels([[X, 1, 2], [5, X, 7]])).toBe(3);
    });

    it('leaves no tensors behind (forward and backward)', () => {
      const logits = tf.tensor3d(LOGITS);
      const labels = tf.tensor2d([[X, 2, 0]], undefined, 'int32');
      const before = tf.memory().numTensors;
      const { loss } = causalLmLoss(logits, [[X, 2, 0]]);
      loss.dispose();
      const g = tf.grad((x: tf.Tensor) => causalLmLossSum(x as tf.Tensor3D, labels))(logits);
      g.dispose();
      expect(tf.memory().numTensors).toBe(before);
      logits.dispose();
      labels.dispose();
    });
  });
}
