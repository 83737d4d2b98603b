// The connect-src sources the studio needs for the Hub, and a check of a policy against an endpoint.
// A Content-Security-Policy is fixed when the page is served (the <meta> tag at build time, the
// header at serve time), so an endpoint the user types into the studio can only be reached when the
// policy already names it. What is named:
// - the Hub and every host it redirects to: huggingface.co for the API and /resolve/, and the LFS,
//   Xet and CDN hosts listed in https://huggingface.co/.well-known/meta.json (cdn-lfs.hf.co,
//   cdn-lfs-us-1.hf.co, transfer.xethub.hf.co, cas-bridge.xethub.hf.co, us.aws.cdn.hf.co, …; older
//   redirects go to cdn-lfs.huggingface.co) — all covered by *.huggingface.co and *.hf.co;
// - loopback on any port (a local mirror, the tests' stand-in Hub and its CDN on a second port):
//   a connection to the user's own machine carries nothing away from it;
// - mirrors named when building or serving (HF_ENDPOINT, or a comma-separated HONE_HUB_ENDPOINTS):
//   their origin and their subdomains, where mirrors put their CDN hosts (cdn-lfs.<mirror>).

export const HUB_SOURCES = ['https://huggingface.co', 'https://*.huggingface.co', 'https://*.hf.co'] as const;
export const LOOPBACK_SOURCES = ['http://localhost:*', 'http://127.0.0.1:*'] as const;

const IP_HOST = /^\d{1,3}(\.\d{1,3}){3}$|^\[/;

/** The sources a mirror endpoint needs; throws naming the value when it is not an http(s) URL. */
export function endpointSources(endpoint: string): string[] {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(`Hub endpoint ${JSON.stringify(endpoint)} is not a URL; give one like https://hf-mirror.com`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(`Hub endpoint ${JSON.stringify(endpoint)} must be http:// or https://`);
  }
  const sources = [url.origin];
  if (!IP_HOST.test(url.hostname) && url.hostname !== 'localhost') sources.push(`${url.protocol}//*.${url.host}`);
  return sources;
}

/** Endpoints named in the environment (HF_ENDPOINT, HONE_HUB_ENDPOINTS=a,b). */
export function endpointsFromEnv(env: Record<string, string | undefined>): string[] {
  const listed = (env.HONE_HUB_ENDPOINTS ?? '').split(',').map((s) => s.trim());
  return [env.HF_ENDPOINT?.trim() ?? '', ...listed].filter((s) => s !== '');
}

/** connect-src's Hub part: the Hub, loopback, and each mirror's sources (no duplicates). */
export function hubConnectSources(endpoints: readonly string[] = []): string[] {
  const sources: string[] = [...HUB_SOURCES, ...LOOPBACK_SOURCES];
  for (const endpoint of endpoints) for (const source of endpointSources(endpoint)) if (!sources.includes(source)) sources.push(source);
  return sources;
}

function sourceMatches(source: string, url: URL, self: string | null): boolean {
  if (source === "'self'") return self !== null && url.origin === self;
  if (source === '*') return url.protocol === 'http:' || url.protocol === 'https:';
  const match = /^(https?:)\/\/(\*\.)?([^/:]+)(?::(\d+|\*))?$/.exec(source);
  if (!match) return false;
  const [, scheme, wildcard, host, port] = match;
  // CSP3: an http: source also matches https: (an upgrade), not the other way round
  if (url.protocol !== scheme && !(scheme === 'http:' && url.protocol === 'https:')) return false;
  const hostOk = wildcard ? url.hostname.endsWith(`.${host}`) : url.hostname === host;
  if (!hostOk) return false;
  const urlPort = url.port || (url.protocol === 'https:' ? '443' : '80');
  const sourcePort = port ?? (scheme === 'https:' ? '443' : '80');
  return port === '*' || urlPort === sourcePort || (port === undefined && url.protocol === 'https:' && scheme === 'http:' && urlPort === '443');
}

/**
 * Whether `policy`'s connect-src (default-src when it has none) lets the page fetch `url`; `self` is
 * the page's origin. For the Models view to say why an endpoint cannot be reached before it tries.
 */
export function connectAllowed(policy: string, url: string, self: string | null = null): boolean {
  const directives = new Map(
    policy
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((parts) => parts[0] !== '')
      .map((parts) => [parts[0].toLowerCase(), parts.slice(1)] as const),
  );
  const sources = directives.get('connect-src') ?? directives.get('default-src');
  if (sources === undefined) return true;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  return sources.some((source) => sourceMatches(source, parsed, self));
}
