// The studio worker's workspace API (spread into the worker's api object in studio.worker.ts): the
// whole database as one bundle file and back (src/core/store/bundle.ts), so a workspace moves to
// another browser — a teacher's starting point for a class. The built-in hone-tiny is never bundled:
// every Hone fetches its own copy.
import { transfer } from 'comlink';
import { BUILT_IN_MODEL_ID } from '../src/core/pretrain/built-in';
import { exportWorkspace, importWorkspace, type BundleManifest, type BundleProgress, type ImportSummary } from '../src/core/store/bundle';
import { db, releaseCallback } from './context';

export type { BundleManifest, BundleProgress, ImportSummary };

export interface WorkspaceExport {
  bytes: Uint8Array;
  manifest: BundleManifest;
  /** e.g. hone-workspace-2026-12-04.zip */
  fileName: string;
}

export const workspaceApi = {
  /** Packs every store (stored models only with `includeModels`) into one zip; the bytes are transferred. */
  async exportWorkspace(opts: { includeModels?: boolean } = {}, onProgress?: (progress: BundleProgress) => void): Promise<WorkspaceExport> {
    try {
      const { bytes, manifest } = await exportWorkspace(await db(), {
        includeModels: opts.includeModels === true,
        leaveOutModels: [BUILT_IN_MODEL_ID],
        onProgress: onProgress ? (p) => void onProgress(p) : undefined,
      });
      const fileName = `hone-workspace-${new Date(manifest.createdAt).toISOString().slice(0, 10)}.zip`;
      return transfer({ bytes, manifest, fileName }, [bytes.buffer as ArrayBuffer]);
    } finally {
      releaseCallback(onProgress);
    }
  },

  /** Validates a bundle whole, then writes all of it in one transaction (or, on any error, nothing). */
  async importWorkspace(file: Blob & { name?: string }, onProgress?: (progress: BundleProgress) => void): Promise<ImportSummary> {
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      return await importWorkspace(await db(), bytes, {
        file: file.name ? `“${file.name}”` : 'the bundle',
        onProgress: onProgress ? (p) => void onProgress(p) : undefined,
      });
    } finally {
      releaseCallback(onProgress);
    }
  },
};
