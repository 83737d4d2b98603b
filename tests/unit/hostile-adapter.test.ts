// Adapters with NaN or Infinity in their weights (issue 12): every fixture method's folder with one
// value poisoned is refused by readAdapterFolder (the path the Evaluate view and `hone eval
// --adapter` take), naming the weights file and the tensor; the decoder is left as it was and no
// tensor leaks. The clean folders still load.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { setNodeBackend } from '../../cli/node-backend';
import { parseSafetensors, writeSafetensors } from '../../src/core/model/safetensors';
import { PeftError, readAdapterFolder } from '../../src/core/peft';
import { ADAPTERS, loadFixture, sameBits, snapshot, type Fixture } from './peft-helpers';

describe.each(['tiny-gpt2', 'tiny-llama'] as const)('non-finite adapter weights on %s', (model) => {
  let fixture: Fixture;
  let weights: Map<string, Float32Array>;
  let tensorsBefore: number;

  beforeAll(async () => {
    await setNodeBackend('cpu');
    fixture = loadFixture(model);
    weights = snapshot(fixture.decoder);
    tensorsBefore = tf.memory().numTensors;
  });
  afterAll(() => {
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(sameBits(snapshot(fixture.decoder), weights)).toBe(true);
    fixture.decoder.dispose();
  });

  it.each(ADAPTERS.flatMap((adapter) => [NaN, Infinity, -Infinity].map((value) => [adapter, value] as const)))('%s with a %d is refused naming the tensor', (adapter, value) => {
    const files = fixture.adapter(adapter);
    const weightsFile = 'adapter_model.safetensors';
    const tensors = parseSafetensors(files.get(weightsFile)!, weightsFile);
    const name = [...tensors.keys()].sort().at(-1)!;
    tensors.get(name)!.data[0] = value;
    files.set(weightsFile, writeSafetensors(tensors));
    let error: unknown;
    try {
      readAdapterFolder(files, fixture.decoder);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PeftError);
    const shown = Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
    const position = tensors.get(name)!.shape.map(() => 0).join(', ');
    expect((error as PeftError).message).toBe(
      `${weightsFile} (${name}): tensor ${JSON.stringify(name)} holds ${shown} at [${position}] (shape [${tensors.get(name)!.shape.join(', ')}]); the adapter is corrupt (a diverged training run?) and cannot be used`,
    );
  });

  it.each(ADAPTERS)('the clean %s folder still loads', (adapter) => {
    const method = readAdapterFolder(fixture.adapter(adapter), fixture.decoder);
    expect(method.name).toBeTruthy();
    method.dispose();
  });
});
