// Writes tests/fixtures/hone-micro/: a ~8k-parameter stand-in for hone-tiny, pretrained by the same code
// and command path (cli/commands/pretrain.ts → src/core/pretrain/loop.ts) with a micro spec, so tests
// and the first-visit browser test have a built-in model in seconds while the real one trains.
// Run: node --import tsx scripts/make-micro-model.ts   (cpu backend: the same bytes on every machine)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { runPretraining } from '../cli/commands/pretrain';
import { HONE_MICRO } from '../src/core/pretrain/micro';
import { HONE_TINY } from '../src/core/pretrain/pretrain';

const out = process.argv[2] ?? 'tests/fixtures/hone-micro';
await tf.setBackend('cpu');
const work = mkdtempSync(join(tmpdir(), 'hone-micro-'));
try {
  const result = await runPretraining({ ...HONE_TINY, ...HONE_MICRO }, {
    work,
    out,
    checkpointEvery: 1000,
    maxMinutes: Infinity,
    logEvery: 5,
    command: 'node --import tsx scripts/make-micro-model.ts',
    quiet: true,
  });
  console.log(JSON.stringify(result));
} finally {
  rmSync(work, { recursive: true, force: true });
}
