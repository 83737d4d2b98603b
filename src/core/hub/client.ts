// The Hugging Face Hub's HTTP API as huggingface_hub uses it (hf_api.py `model_info`, file_download.py
// `hf_hub_download`): the file list from /api/models/{id}/revision/{rev}, each file from
// /{id}/resolve/{rev}/{file}, redirects followed (the Hub sends LFS files such as .safetensors to a
// CDN host with a 302). fetch-based with no Node import, so the studio's worker can use it as is.
// Errors name the repo, the revision or the file and say what to do.

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

export interface HubOptions {
  /** HF_ENDPOINT: a mirror or a test server; default https://huggingface.co */
  endpoint?: string;
  /** HF_TOKEN, sent as `Authorization: Bearer …` for gated and private repos */
  token?: string;
  /** injected for tests and the worker; default globalThis.fetch */
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

export type HubErrorKind = 'unauthorized' | 'forbidden' | 'not-found' | 'http' | 'network' | 'cancelled' | 'too-large' | 'bad-repo';

export class HubError extends Error {
  constructor(
    message: string,
    readonly kind: HubErrorKind,
    readonly repo: string,
    readonly file?: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'HubError';
  }
}

/** One entry of the model API's `siblings` (`size` only with ?blobs=true). */
export interface HubSibling {
  rfilename: string;
  size?: number;
}

export interface RepoInfo {
  repo: string;
  revision: string;
  /** the commit the revision points at: every file is fetched from it, so a push mid-pull cannot mix versions */
  sha: string;
  siblings: HubSibling[];
}

// huggingface_hub's validate_repo_id: "namespace/name", letters, digits, - _ . (no "--" or "..")
const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;

export function isRepoId(value: string): boolean {
  return REPO_ID.test(value) && !value.includes('--') && !value.includes('..');
}

export function endpointOf(options: HubOptions): string {
  return (options.endpoint ?? DEFAULT_ENDPOINT).replace(/\/+$/, '');
}

export function authHeaders(options: HubOptions): Record<string, string> {
  return options.token ? { authorization: `Bearer ${options.token}` } : {};
}

/** /{id}/resolve/{rev}/{file}; the revision and each path segment URL-encoded as huggingface_hub does. */
export function resolveUrl(options: HubOptions, repo: string, revision: string, file: string): string {
  const path = file.split('/').map(encodeURIComponent).join('/');
  return `${endpointOf(options)}/${repo}/resolve/${encodeURIComponent(revision)}/${path}`;
}

/** The message for a refused request, from the status and the Hub's X-Error-Code header. */
export function errorFromResponse(response: Response, options: HubOptions, repo: string, revision: string, file?: string): HubError {
  const code = response.headers.get('x-error-code');
  const page = `${endpointOf(options)}/${repo}`;
  const what = file === undefined ? `${repo} (revision ${revision})` : `${file} of ${repo} (revision ${revision})`;
  if (code === 'RevisionNotFound') {
    return new HubError(`${repo}: revision ${JSON.stringify(revision)} does not exist; check the branch, tag or commit on ${page}`, 'not-found', repo, file, response.status);
  }
  if (code === 'EntryNotFound') {
    return new HubError(`${repo}: ${file ?? 'the file'} does not exist at revision ${revision}; the repo does not hold a complete checkpoint`, 'not-found', repo, file, response.status);
  }
  if ((code === 'GatedRepo' && options.token) || (response.status === 403 && options.token)) {
    return new HubError(
      `${what}: access refused (${response.status}). ${repo} is gated: accept its licence on ${page} with the account your HF_TOKEN belongs to, or use a token that has access`,
      'forbidden',
      repo,
      file,
      response.status,
    );
  }
  if (response.status === 401 || response.status === 403) {
    // the Hub answers 401 both for gated or private repos without a token and for repos that do not exist
    return new HubError(
      options.token
        ? `${what}: the Hub refused HF_TOKEN (${response.status}); check that the token is valid and has read access, and that the repo id is right (${page})`
        : `${what}: the Hub needs a token (${response.status}): the repo is gated or private, or does not exist. Set HF_TOKEN to a read token from ${endpointOf(options)}/settings/tokens and accept the licence on ${page}`,
      options.token ? 'forbidden' : 'unauthorized',
      repo,
      file,
      response.status,
    );
  }
  if (response.status === 404) {
    return new HubError(
      file === undefined || code === 'RepositoryNotFound'
        ? `${repo}: the repo or revision ${JSON.stringify(revision)} does not exist on ${endpointOf(options)}; check the id (ORG/NAME) and the revision`
        : `${what}: not found (404); the repo does not hold this file at that revision`,
      'not-found',
      repo,
      file,
      404,
    );
  }
  return new HubError(`${what}: the Hub answered ${response.status} ${response.statusText}; try again later`, 'http', repo, file, response.status);
}

export function isAbort(error: unknown, signal?: AbortSignal): boolean {
  return signal?.aborted === true || (error instanceof Error && error.name === 'AbortError');
}

export function cancelled(repo: string, file?: string): HubError {
  return new HubError(`${repo}: download cancelled${file ? ` during ${file}` : ''}; pull again to resume`, 'cancelled', repo, file);
}

/** model_info(repo, revision, files_metadata=True): the commit and the file list with sizes. */
export async function fetchRepoInfo(options: HubOptions, repo: string, revision = 'main'): Promise<RepoInfo> {
  if (!isRepoId(repo)) {
    throw new HubError(`${JSON.stringify(repo)} is not a Hub model id; give ORG/NAME, e.g. HuggingFaceTB/SmolLM2-135M`, 'bad-repo', repo);
  }
  const url = `${endpointOf(options)}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
  const doFetch = options.fetch ?? globalThis.fetch;
  let response: Response;
  try {
    response = await doFetch(url, { headers: authHeaders(options), signal: options.signal });
  } catch (error) {
    if (isAbort(error, options.signal)) throw cancelled(repo);
    throw new HubError(`${repo}: cannot reach ${endpointOf(options)} (${(error as Error).message}); check the network or HF_ENDPOINT`, 'network', repo);
  }
  if (!response.ok) throw errorFromResponse(response, options, repo, revision);
  let json: unknown;
  try {
    json = await response.json();
  } catch {
    throw new HubError(`${repo}: ${url} did not answer JSON; is HF_ENDPOINT a Hugging Face Hub?`, 'http', repo);
  }
  const body = json as { sha?: unknown; siblings?: unknown };
  if (!Array.isArray(body.siblings) || !body.siblings.every((s) => typeof (s as HubSibling)?.rfilename === 'string')) {
    throw new HubError(`${repo}: the model API answer has no "siblings" file list; is HF_ENDPOINT a Hugging Face Hub?`, 'http', repo);
  }
  const siblings = (body.siblings as HubSibling[]).map((s) => ({
    rfilename: s.rfilename,
    ...(typeof s.size === 'number' && Number.isSafeInteger(s.size) && s.size >= 0 ? { size: s.size } : {}),
  }));
  return { repo, revision, sha: typeof body.sha === 'string' && /^[0-9a-f]{40}$/.test(body.sha) ? body.sha : revision, siblings };
}
