// A stand-in for the Hugging Face Hub, for the pull tests: node:http on 127.0.0.1 (random ports)
// answering the Hub's paths for fixture repos built from tests/fixtures/hf. What the real Hub does
// and the client must cope with: the model API's file list with sizes, HEAD and GET with
// Range / If-Range / ETag / Content-Length, .safetensors answered with a 302 to a CDN host (here a
// second server: another origin), gated repos answering 401 without a token and 403 with a wrong
// one, 404 with X-Error-Code for unknown repos, revisions and files. Switches cut a connection
// mid-file once and replace a file (a new ETag).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { parseSafetensors, writeSafetensors, type HostTensor } from '../../src/core/model/safetensors';

export interface HubRequest {
  host: 'hub' | 'cdn';
  method: string;
  path: string;
  range: string | null;
  ifRange: string | null;
  authorization: string | null;
}

export interface StandInRepo {
  sha: string;
  gated: boolean;
  files: Map<string, { bytes: Uint8Array; etag: string }>;
}

export interface StandInHub {
  endpoint: string;
  token: string;
  repos: Map<string, StandInRepo>;
  requests: HubRequest[];
  /** the next GET of `file` (any repo) sends `afterBytes` bytes of the body, then destroys the socket */
  cutOnce(file: string, afterBytes: number): void;
  /** the next GET of `file` sends `afterBytes` bytes and then nothing more, the connection left open (a reload mid-download) */
  stallOnce(file: string, afterBytes: number): void;
  /** replaces a file's bytes: a new ETag, as a new commit to the file would give */
  replaceFile(repo: string, file: string, bytes: Uint8Array): void;
  close(): Promise<void>;
}

const fixtureFile = (model: string, file: string) => new Uint8Array(readFileSync(new URL(`../fixtures/hf/${model}/${file}`, import.meta.url)));
const etagOf = (bytes: Uint8Array) => `"${createHash('sha256').update(bytes).digest('hex')}"`;
const shaOf = (name: string) => createHash('sha1').update(name).digest('hex');

/** The fixture's float32 tensors rewritten as BF16 (round to nearest even), as torch's .to(bfloat16) does. */
export function toBf16(f32File: Uint8Array): Uint8Array {
  const view = new DataView(f32File.buffer, f32File.byteOffset, f32File.byteLength);
  const headerLength = view.getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(f32File.subarray(8, 8 + headerLength))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const names = Object.keys(header).filter((n) => n !== '__metadata__').sort((a, b) => header[a].data_offsets[0] - header[b].data_offsets[0]);
  const out: Record<string, unknown> = {};
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    const { shape, data_offsets: [begin, end] } = header[name];
    const count = (end - begin) / 4;
    const half = new Uint8Array(2 * count);
    const halfView = new DataView(half.buffer);
    for (let i = 0; i < count; i++) {
      const bits = view.getUint32(8 + headerLength + begin + 4 * i, true);
      const rounded = (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16; // no NaNs in the fixtures
      halfView.setUint16(2 * i, rounded, true);
    }
    out[name] = { dtype: 'BF16', shape, data_offsets: [offset, offset + half.length] };
    chunks.push(half);
    offset += half.length;
  }
  let json = JSON.stringify(out);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const result = new Uint8Array(8 + json.length + offset);
  new DataView(result.buffer).setUint32(0, json.length, true);
  result.set(new TextEncoder().encode(json), 8);
  let at = 8 + json.length;
  for (const chunk of chunks) {
    result.set(chunk, at);
    at += chunk.length;
  }
  return result;
}

/** Splits a single-file checkpoint into two shards and an index, as save_pretrained(max_shard_size=…) does. */
export function shard(single: Uint8Array): Map<string, Uint8Array> {
  const tensors = parseSafetensors(single, 'model.safetensors');
  const names = [...tensors.keys()].sort();
  const parts = [new Map<string, HostTensor>(), new Map<string, HostTensor>()];
  names.forEach((name, i) => parts[i < names.length / 2 ? 0 : 1].set(name, tensors.get(name)!));
  const files = new Map<string, Uint8Array>();
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  parts.forEach((part, i) => {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    files.set(file, writeSafetensors(part, { format: 'pt' }));
    for (const [name, tensor] of part) {
      weightMap[name] = file;
      totalSize += 4 * tensor.data.length;
    }
  });
  files.set('model.safetensors.index.json', new TextEncoder().encode(JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2)));
  return files;
}

function repoOf(model: 'tiny-gpt2' | 'tiny-llama', weights: 'single' | 'sharded' | 'bf16', gated = false): StandInRepo {
  const files = new Map<string, { bytes: Uint8Array; etag: string }>();
  const add = (name: string, bytes: Uint8Array) => files.set(name, { bytes, etag: etagOf(bytes) });
  for (const name of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) add(name, fixtureFile(model, name));
  add('generation_config.json', new TextEncoder().encode(JSON.stringify({ bos_token_id: 1, eos_token_id: 2 })));
  add('README.md', new TextEncoder().encode(`# ${model}\n`)); // not a model file: never fetched
  const single = fixtureFile(model, 'model.safetensors');
  if (weights === 'single') add('model.safetensors', single);
  if (weights === 'bf16') add('model.safetensors', toBf16(single));
  if (weights === 'sharded') for (const [name, bytes] of shard(single)) add(name, bytes);
  return { sha: shaOf(`${model}-${weights}-${gated}`), gated, files };
}

export function fixtureRepos(): Map<string, StandInRepo> {
  return new Map([
    ['test/tiny-gpt2', repoOf('tiny-gpt2', 'single')],
    ['test/tiny-llama', repoOf('tiny-llama', 'single')],
    ['test/tiny-llama-sharded', repoOf('tiny-llama', 'sharded')],
    ['test/tiny-llama-bf16', repoOf('tiny-llama', 'bf16')],
    ['gated/tiny-gpt2', repoOf('tiny-gpt2', 'single', true)],
  ]);
}

/**
 * CORS as the Hub sends it, for the studio's browser test (the page and the two servers are three
 * origins): any origin, Authorization / Range / If-Range allowed, ETag, Content-Range and the error
 * code readable. Answers a preflight (not recorded: Node clients never send one) and returns true.
 */
function cors(req: IncomingMessage, res: ServerResponse): boolean {
  res.setHeader('access-control-allow-origin', '*');
  res.setHeader('access-control-expose-headers', 'etag, content-range, content-length, accept-ranges, x-error-code, x-linked-etag, x-linked-size');
  if (req.method !== 'OPTIONS') return false;
  res.writeHead(204, { 'access-control-allow-methods': 'GET, HEAD', 'access-control-allow-headers': 'authorization, range, if-range', 'access-control-max-age': '600' });
  res.end();
  return true;
}

const listen = (server: Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

export async function startStandInHub(): Promise<StandInHub> {
  const repos = fixtureRepos();
  const requests: HubRequest[] = [];
  const cuts = new Map<string, number>();
  const stalls = new Map<string, number>();
  const token = 'hf_standin_token';
  let cdnOrigin = '';

  const record = (host: 'hub' | 'cdn', req: IncomingMessage) =>
    requests.push({
      host,
      method: req.method ?? 'GET',
      path: decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname),
      range: req.headers['range'] ?? null,
      ifRange: (req.headers['if-range'] as string | undefined) ?? null,
      authorization: req.headers['authorization'] ?? null,
    });
  const fail = (res: ServerResponse, status: number, code: string, message: string) => {
    res.writeHead(status, { 'content-type': 'application/json', 'x-error-code': code });
    res.end(JSON.stringify({ error: message }));
  };
  /** The repo and revision when the request may see them; otherwise answers the error and returns null. */
  const access = (req: IncomingMessage, res: ServerResponse, id: string, revision: string): StandInRepo | null => {
    const repo = repos.get(id);
    if (!repo) {
      fail(res, 404, 'RepositoryNotFound', 'Repository not found');
      return null;
    }
    if (repo.gated) {
      const auth = req.headers['authorization'];
      if (auth === undefined) {
        fail(res, 401, 'GatedRepo', 'Access to this model is restricted; you must be authenticated');
        return null;
      }
      if (auth !== `Bearer ${token}`) {
        fail(res, 403, 'GatedRepo', 'Access to this model is restricted and you are not in the authorized list');
        return null;
      }
    }
    if (revision !== 'main' && revision !== repo.sha) {
      fail(res, 404, 'RevisionNotFound', `Invalid rev id: ${revision}`);
      return null;
    }
    return repo;
  };
  const sendFile = (req: IncomingMessage, res: ServerResponse, name: string, file: { bytes: Uint8Array; etag: string }) => {
    const size = file.bytes.length;
    const base = { etag: file.etag, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
    const range = /^bytes=(\d+)-$/.exec(req.headers['range'] ?? '');
    const ifRange = req.headers['if-range'];
    let start = 0;
    if (range && (ifRange === undefined || ifRange === file.etag)) {
      start = Number(range[1]);
      if (start >= size) {
        res.writeHead(416, { ...base, 'content-range': `bytes */${size}` });
        res.end();
        return;
      }
      res.writeHead(206, { ...base, 'content-range': `bytes ${start}-${size - 1}/${size}`, 'content-length': String(size - start) });
    } else {
      res.writeHead(200, { ...base, 'content-length': String(size) });
    }
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stall = stalls.get(name);
    if (stall !== undefined && start < stall) {
      stalls.delete(name);
      res.write(file.bytes.subarray(start, stall));
      return;
    }
    const cut = cuts.get(name);
    if (cut !== undefined && start < cut) {
      cuts.delete(name);
      res.write(file.bytes.subarray(start, cut), () => res.socket?.destroy());
      return;
    }
    res.end(file.bytes.subarray(start));
  };

  const hub = createServer((req, res) => {
    if (cors(req, res)) return;
    record('hub', req);
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(path);
    if (api) {
      const repo = access(req, res, api[1], api[2]);
      if (!repo) return;
      const siblings = [...repo.files].map(([rfilename, f]) => ({ rfilename, size: f.bytes.length }));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: api[1], sha: repo.sha, private: false, gated: repo.gated ? 'manual' : false, siblings }));
      return;
    }
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (!resolve) return fail(res, 404, 'EntryNotFound', 'not a Hub path');
    const [, id, revision, name] = resolve;
    const repo = access(req, res, id, revision);
    if (!repo) return;
    const file = repo.files.get(name);
    if (!file) return fail(res, 404, 'EntryNotFound', `${name} does not exist`);
    if (name.endsWith('.safetensors')) {
      // LFS files live on the CDN; the Hub answers with a redirect carrying no credentials
      res.writeHead(302, { location: `${cdnOrigin}/repos/${id}/${repo.sha}/${name}`, 'x-linked-etag': file.etag, 'x-linked-size': String(file.bytes.length) });
      res.end();
      return;
    }
    sendFile(req, res, name, file);
  });
  const cdn = createServer((req, res) => {
    if (cors(req, res)) return;
    record('cdn', req);
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const match = /^\/repos\/([^/]+\/[^/]+)\/([0-9a-f]{40})\/(.+)$/.exec(path);
    const file = match ? repos.get(match[1])?.files.get(match[3]) : undefined;
    if (!match || !file) {
      res.writeHead(404);
      res.end();
      return;
    }
    sendFile(req, res, match[3], file);
  });
  const hubPort = await listen(hub);
  cdnOrigin = `http://127.0.0.1:${await listen(cdn)}`;
  return {
    endpoint: `http://127.0.0.1:${hubPort}`,
    token,
    repos,
    requests,
    cutOnce: (file, afterBytes) => cuts.set(file, afterBytes),
    stallOnce: (file, afterBytes) => stalls.set(file, afterBytes),
    replaceFile: (id, name, bytes) => repos.get(id)!.files.set(name, { bytes, etag: etagOf(bytes) }),
    close: async () => {
      for (const server of [hub, cdn]) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}
