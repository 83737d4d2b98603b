// Reads a Hugging Face model folder from disk into ModelFiles for loadCheckpoint (core has no fs).
// Only the files a checkpoint can use are read; the checking itself happens in loadCheckpoint.
// A Hub id (ORG/NAME or ORG/NAME@REVISION) that is not a local folder is pulled into the cache first
// (HF_ENDPOINT, HF_TOKEN, HONE_CACHE; see commands/pull.ts) and read from there.
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../src/core/model/config';
import type { ModelFiles } from '../src/core/model/checkpoint';
import { isRepoId } from '../src/core/hub/client';

const KNOWN_FILES = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'chat_template.jinja',
  'model.safetensors.index.json',
];

const SHARD_NAME = /^model-\d+-of-\d+\.safetensors$/;

/** Shard names listed in an index, or [] if it cannot be read (loadCheckpoint reports why). */
function shardsOfIndex(bytes: Uint8Array): string[] {
  try {
    const json = JSON.parse(new TextDecoder().decode(bytes)) as { weight_map?: Record<string, unknown> };
    return Object.values(json.weight_map ?? {}).filter((v): v is string => typeof v === 'string' && !/[\\/]/.test(v));
  } catch {
    return [];
  }
}

/**
 * The Hub id (ORG/NAME, the revision dropped) when `value` names a Hub model rather than a folder:
 * ORG/NAME[@REV] and no such local path; else null.
 */
export async function hubIdOf(value: string): Promise<string | null> {
  const at = value.indexOf('@');
  const id = at === -1 ? value : value.slice(0, at);
  if (!isRepoId(id)) return null;
  return stat(value).then(() => null, () => id);
}

export async function readModelDir(dirOrId: string): Promise<ModelFiles> {
  let dir = dirOrId;
  if ((await hubIdOf(dirOrId)) !== null) {
    const { pullToCache } = await import('./commands/pull');
    dir = await pullToCache(dirOrId);
  }
  let names: string[];
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error('not a folder');
    names = await readdir(dir);
  } catch {
    throw new Error(`model folder ${JSON.stringify(dir)} does not exist or is not a folder; give the folder holding config.json, model.safetensors and tokenizer.json`);
  }
  const present = new Set(names);
  if (!present.has('config.json')) {
    throw new ConfigError(
      'is missing; a model folder needs the config.json that transformers saved with the weights',
      join(dir, 'config.json'),
    );
  }
  const files: ModelFiles = new Map();
  // A view of the Buffer, not `new Uint8Array(buffer)` (a copy): one copy of a large weights file in memory
  const read = async (name: string) => {
    const bytes = await readFile(join(dir, name));
    files.set(name, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  };
  for (const name of KNOWN_FILES) if (present.has(name)) await read(name);

  if (present.has('model.safetensors')) {
    await read('model.safetensors');
  } else {
    const index = files.get('model.safetensors.index.json');
    const shards = new Set([...(index ? shardsOfIndex(index) : []), ...names.filter((n) => SHARD_NAME.test(n))]);
    for (const shard of [...shards].sort()) if (present.has(shard)) await read(shard);
    if (index === undefined && shards.size === 0 && (present.has('pytorch_model.bin') || names.some((n) => n.endsWith('.bin')))) {
      throw new Error(
        `${dir}: the weights are PyTorch .bin files, which Hone does not read; save them as safetensors (model.save_pretrained(dir, safe_serialization=True))`,
      );
    }
  }
  return files;
}
