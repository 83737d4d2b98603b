// The tiny-llama fixture as a training session's model, shared by the session and run-builder tests:
// loaded once per file on the cpu backend, its decoder disposed after the file's tests.
import { afterAll, beforeAll } from 'vitest';
import { setNodeBackend } from '../../cli/node-backend';
import { Decoder } from '../../src/core/model/decoder';
import type { SessionModel } from '../../src/core/train/session';
import { loadFixture, type Fixture } from './decoder-fixtures';

export interface SessionFixture {
  fixture: Fixture;
  decoder: Decoder;
  model: SessionModel;
}

/** Fills the returned object in beforeAll; read its fields inside tests, not at module level. */
export function useSessionModel(): SessionFixture {
  const loaded = {} as SessionFixture;
  beforeAll(async () => {
    await setNodeBackend('cpu');
    loaded.fixture = await loadFixture('tiny-llama');
    const { checkpoint } = loaded.fixture;
    loaded.decoder = Decoder.fromHost(checkpoint.config, checkpoint.weights);
    loaded.model = { id: 'tiny-llama', name: 'tiny-llama', decoder: loaded.decoder, tokenizer: checkpoint.tokenizer, rawConfig: checkpoint.rawConfig };
  });
  afterAll(() => loaded.decoder.dispose());
  return loaded;
}
