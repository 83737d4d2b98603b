// Packed rows (issue 11): several sequences in one row, positions restarting at 0 for each, attend
// only within their own sequence. Each packed sequence's logits must equal that sequence run alone
// (1e-5), for the base model and for methods that add positions (prefix, prompt tuning) or hooks
// (LoRA); the packed row's loss equals the sum of the sequences' losses.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setNodeBackend } from '../../cli/node-backend';
import { PeftModel, readAdapterFolder } from '../../src/core/peft';
import { collate, IGNORE_INDEX, sequenceIdsOf, type Row } from '../../src/core/train/batch';
import { causalLmLossSum } from '../../src/core/train/loss';
import { batchTensors } from '../../src/core/train/step';
import { loadFixture, MODELS, type Fixture } from './peft-helpers';

/** Three sequences of different lengths, as a packer would place them in one row. */
const SEQUENCES = [
  [5, 17, 42, 8, 99, 3],
  [61, 7, 7, 120, 33, 2, 90, 14],
  [11, 250, 4, 19],
];

function packedRow(sequences: number[][]): Row {
  const inputIds = sequences.flat();
  const positionIds = sequences.flatMap((s) => s.map((_, i) => i));
  // every token scored except the first of each sequence (TRL: −100 at each restart)
  const labels = sequences.flatMap((s) => s.map((id, i) => (i === 0 ? IGNORE_INDEX : id)));
  return { inputIds, labels, positionIds };
}

async function logitsOf(model: PeftModel, rows: Row[], padId: number): Promise<{ data: Float32Array; shape: number[] }> {
  const batch = collate(rows, padId);
  const out = tf.tidy(() => {
    const { inputIds, attentionMask, packed } = batchTensors(batch);
    return model.forward(inputIds, attentionMask, packed);
  });
  try {
    return { data: (await out.data()) as Float32Array, shape: out.shape };
  } finally {
    out.dispose();
  }
}

describe('sequenceIdsOf', () => {
  it('starts a new sequence at each position 0', () => {
    expect(sequenceIdsOf([[0, 1, 2, 0, 1, 0], [0, 1, 2, 3, 4, 5]])).toEqual([[0, 0, 0, 1, 1, 2], [0, 0, 0, 0, 0, 0]]);
  });
});

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`packed rows on ${backend}`, () => {
    beforeAll(async () => {
      await setNodeBackend(backend);
    });

    for (const modelName of MODELS) {
      describe(modelName, () => {
        let fixture: Fixture;
        beforeAll(() => {
          fixture = loadFixture(modelName);
        });
        afterAll(() => fixture.decoder.dispose());

        for (const adapter of ['base', 'lora', 'prefix', 'prompt'] as const) {
          it(`${adapter}: each packed sequence's logits equal the sequence alone (1e-5), no leak`, async () => {
            const before = tf.memory().numTensors;
            const method = adapter === 'base' ? null : readAdapterFolder(fixture.adapter(adapter), fixture.decoder);
            const model = new PeftModel(fixture.decoder, method);
            try {
              const vocab = fixture.decoder.config.vocabSize;
              const sequences = SEQUENCES.map((s) => s.map((id) => id % vocab));
              // a second, shorter packed row pads the batch on the right
              const rows = [packedRow(sequences), packedRow([sequences[2], sequences[0]])];
              const packed = await logitsOf(model, rows, 0);
              const [, width, v] = packed.shape;
              const check = async (rowIndex: number, seqs: number[][]) => {
                let offset = 0;
                for (const seq of seqs) {
                  const alone = await logitsOf(model, [{ inputIds: seq, labels: seq }], 0);
                  let worst = 0;
                  let scale = 0;
                  for (let t = 0; t < seq.length; t++) {
                    for (let j = 0; j < v; j++) {
                      const a = packed.data[(rowIndex * width + offset + t) * v + j];
                      const b = alone.data[t * v + j];
                      worst = Math.max(worst, Math.abs(a - b));
                      scale = Math.max(scale, Math.abs(b));
                    }
                  }
                  expect(scale).toBeGreaterThan(0);
                  expect(worst).toBeLessThan(1e-5 * Math.max(1, scale));
                  offset += seq.length;
                }
              };
              await check(0, sequences);
              await check(1, [sequences[2], sequences[0]]);
            } finally {
              method?.dispose();
            }
            expect(tf.memory().numTensors).toBe(before);
          });
        }

        it('the packed row without sequence ids differs (the mask is what keeps sequences apart)', async () => {
          const model = new PeftModel(fixture.decoder, null);
          const vocab = fixture.decoder.config.vocabSize;
          const sequences = SEQUENCES.map((s) => s.map((id) => id % vocab));
          const row = packedRow(sequences);
          const packed = await logitsOf(model, [row], 0);
          const plain = await logitsOf(model, [{ inputIds: row.inputIds, labels: row.labels }], 0);
          const v = packed.shape[2];
          const start = sequences[0].length * v; // the second sequence's first token
          let diff = 0;
          for (let j = 0; j < v; j++) diff = Math.max(diff, Math.abs(packed.data[start + j] - plain.data[start + j]));
          expect(diff).toBeGreaterThan(1e-3);
        });

        it("the packed row's loss is the sum of its sequences' losses", async () => {
          const model = new PeftModel(fixture.decoder, null);
          const vocab = fixture.decoder.config.vocabSize;
          const sequences = SEQUENCES.map((s) => s.map((id) => id % vocab));
          const lossOf = async (rows: Row[]) => {
            const batch = collate(rows, 0);
            const loss = tf.tidy(() => {
              const { inputIds, attentionMask, labels, packed } = batchTensors(batch);
              return causalLmLossSum(model.forward(inputIds, attentionMask, packed), labels);
            });
            try {
              return ((await loss.data()) as Float32Array)[0];
            } finally {
              loss.dispose();
            }
          };
          const packedLoss = await lossOf([packedRow(sequences)]);
          let separate = 0;
          for (const seq of sequences) separate += await lossOf([{ inputIds: seq, labels: seq }]);
          expect(Math.abs(packedLoss - separate)).toBeLessThan(1e-4 * separate);
        });
      });
    }
  });
}
