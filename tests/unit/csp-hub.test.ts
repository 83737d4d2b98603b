// connect-src for the Hub (src/core/hub/csp.ts, vite.config.ts): the default covers the Hub and the
// hosts it redirects to, loopback on any port, and a mirror named at build/serve time; the check
// the Models view runs says which endpoints a policy lets the worker reach.
import { describe, expect, it } from 'vitest';
import { connectAllowed, endpointSources, endpointsFromEnv, hubConnectSources } from '../../src/core/hub/csp';
import { contentSecurityPolicy } from '../../vite.config';

const connectSrc = (policy: string) => policy.split('; ').find((d) => d.startsWith('connect-src'));

describe('connect-src for the Hub', () => {
  it('a custom endpoint adds its origin and its subdomains (where mirrors put cdn-lfs.*)', () => {
    expect(connectSrc(contentSecurityPolicy('served', ['https://hf-mirror.com/']))).toBe(
      "connect-src 'self' https://huggingface.co https://*.huggingface.co https://*.hf.co http://localhost:* http://127.0.0.1:* https://hf-mirror.com https://*.hf-mirror.com",
    );
    expect(endpointSources('http://10.0.0.7:8080/hub')).toEqual(['http://10.0.0.7:8080']);
    expect(endpointSources('https://mirror.example.org:8443')).toEqual(['https://mirror.example.org:8443', 'https://*.mirror.example.org:8443']);
    expect(hubConnectSources(['http://127.0.0.1:9000'])).toHaveLength(6); // one new: the explicit loopback port
  });

  it('reads HF_ENDPOINT and HONE_HUB_ENDPOINTS; refuses what is not an http(s) URL, naming it', () => {
    expect(endpointsFromEnv({ HF_ENDPOINT: ' https://a.example ', HONE_HUB_ENDPOINTS: 'https://b.example, ,http://c.example:81' })).toEqual([
      'https://a.example',
      'https://b.example',
      'http://c.example:81',
    ]);
    expect(endpointsFromEnv({})).toEqual([]);
    expect(() => endpointSources('hf-mirror.com')).toThrow('Hub endpoint "hf-mirror.com" is not a URL');
    expect(() => endpointSources('ftp://hf-mirror.com')).toThrow('must be http:// or https://');
  });

  it('the default policy reaches the Hub, its LFS / Xet / CDN redirect hosts and loopback test servers, nothing else', () => {
    const policy = contentSecurityPolicy('served', []);
    const self = 'http://127.0.0.1:4173';
    for (const url of [
      'https://huggingface.co/api/models/HuggingFaceTB/SmolLM2-135M/revision/main',
      'https://cdn-lfs.huggingface.co/repos/ab/cd/file',
      'https://cdn-lfs.hf.co/repos/ab/cd/file',
      'https://cdn-lfs-us-1.hf.co/x',
      'https://cas-bridge.xethub.hf.co/xet-bridge-us/x',
      'https://transfer.xethub.hf.co/x',
      'https://us.aws.cdn.hf.co/x',
      'http://127.0.0.1:40123/api/models/test/tiny-llama/revision/main',
      'http://localhost:8080/x',
      `${self}/models/hone-tiny/config.json`,
    ]) {
      expect(connectAllowed(policy, url, self), url).toBe(true);
    }
    for (const url of ['https://hf-mirror.com/api/models/a/b/revision/main', 'https://evil.example/x', 'http://huggingface.co/x', 'https://huggingface.co.evil.example/x', 'not a url']) {
      expect(connectAllowed(policy, url, self), url).toBe(false);
    }
    // once named, the mirror and its CDN subdomain are reachable
    const mirrored = contentSecurityPolicy('served', ['https://hf-mirror.com']);
    expect(connectAllowed(mirrored, 'https://hf-mirror.com/api/models/a/b/revision/main')).toBe(true);
    expect(connectAllowed(mirrored, 'https://cdn-lfs.hf-mirror.com/x')).toBe(true);
    expect(connectAllowed(mirrored, 'https://hf-mirror.com:444/x')).toBe(false);
  });

  it('falls back to default-src, and allows everything without either', () => {
    expect(connectAllowed("default-src 'self'", 'https://huggingface.co/x', 'http://127.0.0.1:1')).toBe(false);
    expect(connectAllowed("script-src 'self'", 'https://anything.example/x')).toBe(true);
    expect(connectAllowed("connect-src *", 'https://anything.example/x')).toBe(true);
  });
});
