// One file from the Hub into a PullStorage, resumable: bytes already staged are kept and the rest
// asked for with `Range: bytes=N-` and `If-Range: <ETag>` (RFC 9110 §13.1.5), as huggingface_hub's
// http_get resumes. A 206 whose ETag and Content-Range start match continues the file; anything else
// (a 200, another ETag: the file changed on the Hub) restarts it from byte 0. A connection cut mid-file
// is retried from where it stopped.
import { authHeaders, cancelled, errorFromResponse, HubError, isAbort, resolveUrl, type HubOptions } from './client';
import type { PullStorage } from './storage';

export interface DownloadContext {
  options: HubOptions;
  repo: string;
  /** the commit sha the files are fetched from */
  revision: string;
  storage: PullStorage;
  /** how often a cut connection is retried before the pull gives up (the staged bytes stay for a later pull) */
  retries: number;
  /** called for every chunk written */
  onBytes: (file: string, fileBytes: number, fileTotal: number | null, delta: number) => void;
  onRestart: (file: string, event: { attempt: number; fromByte: number; reason: string }) => void;
}

function contentRangeStart(header: string | null): { start: number; total: number | null } | null {
  const match = header === null ? null : /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(header.trim());
  if (!match) return null;
  return { start: Number(match[1]), total: match[2] === '*' ? null : Number(match[2]) };
}

/** Downloads `file` completely into storage; returns its size and ETag. */
export async function downloadFile(ctx: DownloadContext, file: string): Promise<{ bytes: number; etag: string | null }> {
  const { options, repo, storage } = ctx;
  const doFetch = options.fetch ?? globalThis.fetch;
  const url = resolveUrl(options, repo, ctx.revision, file);
  let lastError = '';
  for (let attempt = 0; attempt <= ctx.retries; attempt++) {
    if (options.signal?.aborted) throw cancelled(repo, file);
    const staged = await storage.staged(file);
    const resumeFrom = staged !== null && staged.etag !== null && staged.bytes > 0 ? staged.bytes : 0;
    const headers: Record<string, string> = { ...authHeaders(options) };
    if (resumeFrom > 0) {
      headers['range'] = `bytes=${resumeFrom}-`;
      headers['if-range'] = staged!.etag!;
    }
    let response: Response;
    try {
      response = await doFetch(url, { headers, signal: options.signal, redirect: 'follow' });
    } catch (error) {
      if (isAbort(error, options.signal)) throw cancelled(repo, file);
      lastError = (error as Error).message;
      ctx.onRestart(file, { attempt: attempt + 1, fromByte: resumeFrom, reason: `request failed: ${lastError}` });
      continue;
    }
    if (response.status === 416 && resumeFrom > 0) {
      await response.body?.cancel();
      // If-Range is checked before Range (RFC 9110 §13.2.2): a 416 means the ETag still matched, and
      // `bytes */N` with N = what is staged means an earlier pull already had the whole file
      if (response.headers.get('content-range')?.trim() === `bytes */${resumeFrom}`) return { bytes: resumeFrom, etag: staged!.etag };
      // staged bytes past the end: they cannot be trusted, start over
      await storage.restart(file, null);
      lastError = 'range not satisfiable';
      continue;
    }
    if (!response.ok) {
      await response.body?.cancel();
      if (response.status >= 500) {
        lastError = `${response.status} ${response.statusText}`;
        continue;
      }
      throw errorFromResponse(response, options, repo, ctx.revision, file);
    }
    const etag = response.headers.get('etag');
    const range = contentRangeStart(response.headers.get('content-range'));
    const length = response.headers.get('content-length');
    let written: number;
    let total: number | null;
    if (response.status === 206 && resumeFrom > 0 && etag === staged!.etag && range?.start === resumeFrom) {
      written = resumeFrom;
      total = range.total;
    } else {
      if (resumeFrom > 0) {
        ctx.onRestart(file, { attempt, fromByte: 0, reason: etag === staged!.etag ? 'the server sent the whole file' : 'the file changed on the Hub (ETag differs)' });
      }
      await storage.restart(file, etag);
      written = 0;
      total = length === null ? null : Number(length);
    }
    if (response.body === null) throw new HubError(`${file} of ${repo}: the Hub sent no body`, 'http', repo, file);
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        await storage.append(file, value);
        written += value.byteLength;
        ctx.onBytes(file, written, total, value.byteLength);
      }
    } catch (error) {
      if (isAbort(error, options.signal)) throw cancelled(repo, file);
      lastError = (error as Error).message;
      ctx.onRestart(file, { attempt: attempt + 1, fromByte: written, reason: `connection cut at byte ${written}: ${lastError}` });
      continue;
    }
    if (total !== null && written !== total) {
      lastError = `got ${written} of ${total} bytes`;
      ctx.onRestart(file, { attempt: attempt + 1, fromByte: written, reason: `connection ended early: ${lastError}` });
      continue;
    }
    return { bytes: written, etag };
  }
  if (options.signal?.aborted) throw cancelled(repo, file);
  throw new HubError(
    `${file} of ${repo}: download failed after ${ctx.retries + 1} attempts (${lastError}); the bytes so far are kept, pull again to resume`,
    'network',
    repo,
    file,
  );
}
