// Loading a stored model as the current one: shared by the Models list (studio.worker loadModel) and
// by training, which reloads a run's model to resume or export it after the page was reloaded.
import { loadCheckpoint } from '../src/core/model/checkpoint';
import { Decoder } from '../src/core/model/decoder';
import { getModel, getModelFiles } from '../src/core/store';
import { db, requireBackend, setCurrent, type LoadedModel } from './context';
import { summarize } from './model-summary';

/** Reads a stored model's files, builds its decoder and makes it current (the old one is disposed). */
export async function loadStoredModel(id: string): Promise<LoadedModel> {
  requireBackend();
  const handle = await db();
  const files = await getModelFiles(handle, id); // throws naming the id when it is gone
  const record = await getModel(handle, id);
  if (!record) throw new Error(`Model "${id}" was deleted while it was loading; choose another model.`);
  const checkpoint = loadCheckpoint(files);
  // Build before replacing the current model: if this throws, the previous model stays usable.
  const decoder = Decoder.fromHost(checkpoint.config, checkpoint.weights);
  const loaded: LoadedModel = { summary: summarize(record), decoder, tokenizer: checkpoint.tokenizer, checkpoint };
  setCurrent(loaded);
  return loaded;
}
