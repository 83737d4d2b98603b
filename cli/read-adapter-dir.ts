// Reads an adapter folder (PEFT layout, AdapterHub, or Hone's own export) from disk into the name →
// bytes map readAdapterFolder takes (core has no fs). Every plain file is read, so the loader can
// name what it found, e.g. a PyTorch .bin where safetensors were expected; adapter folders are small.
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from './args';

export async function readAdapterDir(dir: string): Promise<Map<string, Uint8Array>> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    throw new UsageError(`--adapter ${dir}: no such folder`);
  }
  const files = new Map<string, Uint8Array>();
  for (const name of names) {
    if ((await stat(join(dir, name))).isFile()) files.set(name, new Uint8Array(await readFile(join(dir, name))));
  }
  return files;
}
