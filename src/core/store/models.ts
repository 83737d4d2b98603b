// Imported (and trained) models: metadata in `models`, the raw checkpoint files in `modelFiles`
// keyed [modelId, fileName]. Both are written and deleted in one transaction, so a model is never
// listed without all of its files, and deleting one never leaves orphaned megabytes behind.

import { StoreNotFoundError } from './errors';
import type { HoneDb, ModelFileRecord, ModelRecord } from './schema';
import { exactArrayBuffer, fireDeletes, fireWrites, newId, prefixRange, writeTransaction } from './transaction';

/** What the caller describes; the store fills in id (unless given), createdAt, files and totalBytes. */
export type ModelInput = Omit<ModelRecord, 'id' | 'createdAt' | 'files' | 'totalBytes'> & {
  /** pass an existing id to replace that model and all of its files */
  id?: string;
};

/**
 * Saves a model's metadata and files (base file name → bytes, as loadCheckpoint takes them) in one
 * transaction. Replacing an existing id drops files the new version lacks. Returns the stored metadata.
 */
export async function saveModel(
  db: HoneDb,
  meta: ModelInput,
  files: ReadonlyMap<string, Uint8Array>,
): Promise<ModelRecord> {
  if (files.size === 0) {
    throw new Error(`Model “${meta.name}” has no files to save; import its config.json, weights and tokenizer first.`);
  }
  const id = meta.id ?? newId();
  const entries = [...files].map(([name, bytes]) => ({ name, byteLength: bytes.byteLength }));
  const totalBytes = entries.reduce((sum, file) => sum + file.byteLength, 0);
  const record: ModelRecord = { ...meta, id, files: entries, totalBytes, createdAt: Date.now() };
  const fileRecords = [...files].map(
    ([name, bytes]): ModelFileRecord => ({ modelId: id, name, bytes: exactArrayBuffer(bytes) }),
  );

  const what = `saving model “${meta.name}” (${files.size} files)`;
  await writeTransaction(db, ['models', 'modelFiles'], { what, bytes: () => totalBytes }, (tx) => {
    // Replacing: clear the old version's files first (a no-op for a new id).
    fireDeletes(tx, 'modelFiles', [prefixRange(id)]);
    fireWrites(tx, 'models', 'put', [record]);
    fireWrites(tx, 'modelFiles', 'put', fileRecords);
  });
  return record;
}

/** Every model's metadata, newest first; reads no file bytes. */
export async function listModels(db: HoneDb): Promise<ModelRecord[]> {
  const models = await db.getAllFromIndex('models', 'byCreatedAt');
  return models.reverse();
}

/** One model's metadata, or undefined. */
export function getModel(db: HoneDb, id: string): Promise<ModelRecord | undefined> {
  return db.get('models', id);
}

/**
 * A model's files as loadCheckpoint takes them. Throws StoreNotFoundError for an unknown id, and
 * an error naming the file when one listed in the metadata is missing.
 */
export async function getModelFiles(db: HoneDb, id: string): Promise<Map<string, Uint8Array>> {
  const tx = db.transaction(['models', 'modelFiles'], 'readonly');
  const [meta, records] = await Promise.all([
    tx.objectStore('models').get(id),
    tx.objectStore('modelFiles').getAll(prefixRange(id)),
  ]);
  await tx.done;
  if (!meta) throw new StoreNotFoundError('model', id);
  const files = new Map<string, Uint8Array>();
  for (const record of records) files.set(record.name, new Uint8Array(record.bytes));
  for (const entry of meta.files) {
    const stored = files.get(entry.name);
    if (!stored || stored.byteLength !== entry.byteLength) {
      throw new Error(
        `Model “${meta.name}”: stored file ${entry.name} is ${stored ? `${stored.byteLength} bytes, expected ${entry.byteLength}` : 'missing'}. ` +
          `Delete the model and import it again.`,
      );
    }
  }
  return files;
}

/** Deletes a model's metadata and all of its files in one transaction. Unknown ids are a no-op. */
export async function deleteModel(db: HoneDb, id: string): Promise<void> {
  await writeTransaction(db, ['models', 'modelFiles'], { what: `deleting model ${id}` }, (tx) => {
    fireDeletes(tx, 'models', [id]);
    fireDeletes(tx, 'modelFiles', [prefixRange(id)]);
  });
}
