// One request/response case table, run against every runtime (Node, Deno, workerd) as a real process
// (runtimes.test.ts). A case that a runtime cannot support names the runtime and the reason; the test
// skips it there with that reason and the README's support matrix is printed from this table
// (`node --import tsx test/runtimes/matrix.ts`).
import { createHash } from 'node:crypto';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { expect } from 'vitest';
import type { EchoReply } from '../support/backends.ts';
import { send, type Sent } from './http.ts';
import type { RuntimeName, Target } from './launch.ts';

/** What the published table routes (see world() in runtimes.test.ts). */
export interface World {
  /** Fingerprints of the certificates of secure.test and other.test, and of the table's default certificate
   * (--default-ssl-certificate), which names without a certificate of their own get. */
  fingerprints: { secure: string; other: string; fallback: string };
  /** A client certificate the authority of mtls.test (auth-tls-secret) signed. */
  clientCertificate: { certPem: string; keyPem: string };
  /** Tokens signed by the keys of jwt.test's ConfigMap: valid RS256 and ES256, and an expired one. */
  jwt: { rs256: string; es256: string; expired: string };
}

export interface Case {
  name: string;
  /** Runtimes that cannot pass this case, and why. */
  unsupported?: Partial<Record<RuntimeName, string>>;
  run(t: Target, w: World): Promise<void>;
}

const echo = (r: Sent): EchoReply => JSON.parse(r.text) as EchoReply;
const get = (t: Target, path: string, host: string, headers?: Record<string, string>): Promise<Sent> =>
  send(`${t.http}${path}`, { host, ...(headers ? { headers } : {}) });

const NO_TLS_WORKERD = 'workerd terminates no TLS: the platform (Cloudflare) does, before the worker';
const NO_HOST_WORKERD = "workerd's fetch() sets Host from the URL (the endpoint address); the client's Host arrives as X-Forwarded-Host";
const NO_CLIENT_CERT_DENO = 'Deno.serve neither asks for nor exposes client certificates (Deno 2.9): such a host answers 503 (fail closed)';
const NOT_BUILT_GLOBAL_LIMIT =
  'global rate limits are counted on Node workers only (the Redis counter is not wired into this runtime yet): a route with one answers 503 (fail closed)';
const NOT_BUILT_WS = 'the Web forwarder proxies HTTP only: fetch() cannot carry an Upgrade, and no WebSocket bridge is built yet';

const NO_CONNECT_PHASE_WEB =
  "fetch() does not tell connecting from waiting for the answer: the route's connect timeout is not applied (the gateway's headers timeout covers both)";
const NO_BACKEND_PROTOCOL_WEB =
  "backend-protocol answers 502: fetch() verifies every upstream certificate (nginx's default is not to), cannot speak HTTP/2 cleartext (h2c, GRPC) and drops trailers";
const NO_UPSTREAM_TLS_WEB =
  "proxy-ssl-* answer 503 (fail closed): fetch() takes no authority of the route's own, no client certificate and no name to check other than the URL's";
const NO_PASSTHROUGH_DENO =
  'Deno.serve terminates every TLS connection itself and shows no ClientHello (Deno 2.9): an ssl-passthrough host is served at layer 7, and the worker logs it';
const NO_SEND_PHASE_WEB = 'fetch() reports nothing while it writes a request body: the send timeout is not applied';

export const CASES: Case[] = [
  // ---- routing: hosts and paths ----
  {
    name: "exact host and Prefix path reach the route's backend",
    async run(t) {
      const r = await get(t, '/hello', 'app.test');
      expect(r.status).toBe(200);
      expect(echo(r).backend).toBe('b0');
      expect(echo(r).url).toBe('/hello');
    },
  },
  {
    name: 'host is case-insensitive and its port is ignored',
    async run(t) {
      expect(echo(await get(t, '/', 'APP.Test:8080')).backend).toBe('b0');
    },
  },
  {
    name: 'Exact path beats the / prefix; a longer path falls back to /',
    async run(t) {
      expect(echo(await get(t, '/exact', 'app.test')).backend).toMatch(/^b[12]$/);
      expect(echo(await get(t, '/exact/more', 'app.test')).backend).toBe('b0');
    },
  },
  {
    name: 'Prefix matches whole path elements (/api, /api/x; not /apix)',
    async run(t) {
      expect(echo(await get(t, '/api', 'app.test')).backend).toMatch(/^b[12]$/);
      expect(echo(await get(t, '/api/x', 'app.test')).backend).toMatch(/^b[12]$/);
      expect(echo(await get(t, '/apix', 'app.test')).backend).toBe('b0');
    },
  },
  {
    name: 'one-label wildcard host: a.wild.test matches, wild.test and a.b.wild.test do not',
    async run(t) {
      expect(echo(await get(t, '/', 'a.wild.test')).backend).toBe('wild');
      expect((await get(t, '/', 'wild.test')).status).toBe(404);
      expect((await get(t, '/', 'a.b.wild.test')).status).toBe(404);
    },
  },
  {
    name: 'dot segments are resolved before matching, and the backend gets the resolved path',
    async run(t) {
      const r = echo(await get(t, '/x/../exact', 'app.test'));
      expect(r.backend).toMatch(/^b[12]$/);
      expect(r.url).toBe('/exact');
    },
  },
  {
    name: 'a route guarded by an access-control annotation Portico does not enforce answers 503 (fail closed)',
    async run(t) {
      const r = await get(t, '/anything', 'guarded.test');
      expect(r.status).toBe(503);
      expect(r.text).toBe('503 Service Unavailable\n');
    },
  },
  {
    name: 'source ranges: a client inside the allow list reaches the backend, one outside gets 403',
    async run(t) {
      expect(echo(await get(t, '/x', 'ranged-in.test')).backend).toBe('b0');
      const r = await get(t, '/x', 'ranged-out.test');
      expect(r.status).toBe(403);
      expect(r.text).toBe('403 Forbidden\n');
    },
  },
  {
    name: 'external authentication (auth-url): the auth service decides, its answer headers reach the backend',
    async run(t) {
      expect((await get(t, '/x', 'authed.test')).status).toBe(401);
      const ok = await get(t, '/x', 'authed.test', { authorization: `Basic ${btoa('user:password')}`, 'x-auth-seen': 'forged' });
      expect(ok.status).toBe(200);
      expect(echo(ok).backend).toBe('b0');
      expect(echo(ok).headers['x-auth-seen']).toBeUndefined(); // named in auth-response-headers, absent from the answer
    },
  },
  {
    name: 'auth-proxy-set-headers: the ConfigMap entry, a variable expanded, is on the subrequest (it carries the credentials)',
    async run(t) {
      expect((await get(t, '/x', 'authed-headers.test')).status).toBe(401);
      expect((await get(t, `/x?cred=${btoa('user:wrong')}`, 'authed-headers.test')).status).toBe(401);
      const ok = await get(t, `/x?cred=${btoa('user:password')}`, 'authed-headers.test');
      expect(ok.status).toBe(200);
      expect(echo(ok).backend).toBe('b0');
    },
  },
  {
    name: 'basic authentication (auth-type basic, an htpasswd Secret with bcrypt and $apr1$ entries, as auth.go): 401 with the realm, 200 with the password',
    async run(t) {
      const none = await get(t, '/x', 'basic.test');
      expect(none.status).toBe(401);
      expect(none.headers['www-authenticate']).toBe('Basic realm="test auth"');
      expect((await get(t, '/x', 'basic.test', { authorization: `Basic ${btoa('foo:baz')}` })).status).toBe(401);
      const ok = await get(t, '/x', 'basic.test', { authorization: `Basic ${btoa('foo:bar')}` });
      expect(ok.status).toBe(200);
      expect(echo(ok).backend).toBe('b0');
      expect(echo(ok).headers.authorization).toBeUndefined(); // nginx.tmpl: proxy_set_header Authorization ""
      // $apr1$ (htpasswd -m), checked by apache-md5, loaded on first use
      expect((await get(t, '/x', 'basic.test', { authorization: `Basic ${btoa('apr:bar')}` })).status).toBe(200);
      expect((await get(t, '/x', 'basic.test', { authorization: `Basic ${btoa('apr:baz')}` })).status).toBe(401);
    },
  },
  {
    name: "digest authentication (auth-type digest, an htdigest Secret): the module's challenge, a real RFC 2617 response gets 200 with Authentication-Info, a replay 401",
    async run(t) {
      const none = await get(t, '/x', 'digest.test');
      expect(none.status).toBe(401);
      const challenge = String(none.headers['www-authenticate']);
      expect(challenge).toMatch(/^Digest algorithm="MD5", qop="auth", realm="test auth", nonce="[0-9a-f]{48}"$/);
      const nonce = /nonce="([0-9a-f]+)"/.exec(challenge)![1]!;
      const md5 = (s: string) => createHash('md5').update(s).digest('hex');
      const response = md5(`${md5('foo:test auth:bar')}:${nonce}:00000001:abc:auth:${md5('GET:/x')}`);
      const authorization = `Digest username="foo", realm="test auth", nonce="${nonce}", uri="/x", qop=auth, nc=00000001, cnonce="abc", response="${response}"`;
      const ok = await get(t, '/x', 'digest.test', { authorization });
      expect(ok.status).toBe(200);
      expect(echo(ok).backend).toBe('b0');
      expect(ok.headers['authentication-info']).toMatch(/^qop="auth", rspauth="[0-9a-f]{32}", cnonce="abc", nc=00000001$/);
      expect((await get(t, '/x', 'digest.test', { authorization })).status).toBe(401);
    },
  },
  {
    name: 'JWT (portico.dev/auth-jwt-*, keys from a ConfigMap inside the table): 401 Bearer without a token or with an expired one, RS256 and ES256 pass with the claim header',
    async run(t, w) {
      const none = await get(t, '/x', 'jwt.test');
      expect(none.status).toBe(401);
      expect(none.headers['www-authenticate']).toBe('Bearer realm="api"');
      const expired = await get(t, '/x', 'jwt.test', { authorization: `Bearer ${w.jwt.expired}` });
      expect(expired.status).toBe(401);
      expect(expired.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"');
      for (const token of [w.jwt.rs256, w.jwt.es256]) {
        const ok = await get(t, '/x', 'jwt.test', { authorization: `Bearer ${token}`, 'x-user': 'forged' });
        expect(ok.status).toBe(200);
        expect(echo(ok).headers['x-user']).toBe('alice');
      }
    },
  },
  {
    name: 'CORS (enable-cors, cors-allow-origin): preflight answered 204 at the edge, headers replace the backend ones',
    async run(t) {
      const pre = await send(`${t.http}/x`, { host: 'cors.test', method: 'OPTIONS', headers: { origin: 'https://a.origin.test' } });
      expect(pre.status).toBe(204);
      expect(pre.headers['access-control-allow-origin']).toBe('https://a.origin.test');
      expect(pre.headers['access-control-max-age']).toBe('1728000');
      expect(pre.headers['content-length']).toBeUndefined();
      expect(pre.text).toBe('');
      const r = await get(t, '/x?set-header=Access-Control-Allow-Origin:*', 'cors.test', { origin: 'https://app.example:8443' });
      expect(echo(r).backend).toBe('b0');
      expect(r.headers['access-control-allow-origin']).toBe('https://app.example:8443');
      expect(r.headers.vary).toBe('Origin');
      // another origin: the backend's answer untouched (a browser then refuses to read it)
      const other = await get(t, '/x?set-header=Access-Control-Allow-Origin:*', 'cors.test', { origin: 'https://a.b.origin.test' });
      expect(other.headers['access-control-allow-origin']).toBe('*');
      const options = await send(`${t.http}/x`, { host: 'cors.test', method: 'OPTIONS', headers: { origin: 'https://app.example' } });
      expect(echo(options).method).toBe('OPTIONS');
    },
  },
  {
    name: "custom-headers (a ConfigMap, allowed by --global-allowed-response-headers): on every status, replacing the backend's",
    async run(t) {
      const r = await get(t, '/x?set-header=X-Frame-Options:SAMEORIGIN', 'headers.test');
      expect(echo(r).backend).toBe('b0');
      expect(r.headers['x-frame-options']).toBe('DENY');
      expect(r.headers['content-security-policy']).toBe("default-src 'self'");
      const err = await get(t, '/status/500', 'headers.test');
      expect(err.status).toBe(500);
      expect(err.headers['x-frame-options']).toBe('DENY');
    },
  },
  {
    name: 'configuration-snippet header directives (snippet.go): more_set_headers and more_clear_headers on every status, add_header on 2xx/3xx only, proxy_set_header to the backend',
    async run(t) {
      const r = await get(t, '/?set-header=X-Upstream-Secret:1', 'snippet.test', { 'x-api-version': '9' });
      expect(r.status).toBe(200);
      expect(echo(r).headers['x-api-version']).toBe('2');
      expect(r.headers.foo1).toBe('Bar1');
      expect(r.headers['x-added']).toBe('yes');
      expect(r.headers['x-upstream-secret']).toBeUndefined();
      const missing = await get(t, '/status/404?set-header=X-Upstream-Secret:1', 'snippet.test');
      expect(missing.status).toBe(404);
      expect(missing.headers.foo1).toBe('Bar1');
      expect(missing.headers['x-added']).toBeUndefined();
      expect(missing.headers['x-upstream-secret']).toBeUndefined();
    },
  },
  {
    name: 'canary (canary-by-header-pattern, canary-by-cookie, canary-weight): the canary backend answers what its rules pick, the main one the rest',
    async run(t) {
      const main = (r: Sent): string => echo(r).backend;
      expect(main(await get(t, '/x', 'canary.test'))).toBe('b0');
      expect(main(await get(t, '/x', 'canary.test', { 'x-canary': 'v2-rc3' }))).toMatch(/^b[12]$/);
      expect(main(await get(t, '/x', 'canary.test', { 'x-canary': 'v1' }))).toBe('b0');
      expect(main(await get(t, '/x', 'canary.test', { cookie: 'a=1; canary=always' }))).toMatch(/^b[12]$/);
      expect(main(await get(t, '/x', 'canary.test', { cookie: 'canary=never' }))).toBe('b0');
      expect(main(await get(t, '/weighted', 'canary.test'))).toMatch(/^b[12]$/);
    },
  },
  {
    name: 'affinity: cookie (affinity.go) and upstream-hash-by (upstreamhashby.go): a session cookie pins the endpoint; one URI, one endpoint',
    async run(t) {
      const first = await get(t, '/', 'affinity.test');
      const raw = first.headers['set-cookie'];
      const ours = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).find((c) => c.startsWith('INGRESSCOOKIE='));
      expect(ours).toMatch(/^INGRESSCOOKIE=[0-9a-f]{32}\|[0-9a-f]{32}; Path=\/; HttpOnly$/);
      const cookie = ours!.split(';')[0]!;
      for (let i = 0; i < 4; i++) expect(echo(await get(t, `/${i}`, 'affinity.test', { cookie })).backend).toBe(echo(first).backend);
      const hashed = new Set<string>();
      for (let i = 0; i < 6; i++) hashed.add(echo(await get(t, '/same', 'hash.test')).backend);
      expect(hashed.size).toBe(1);
    },
  },
  {
    name: 'use-regex + rewrite-target (rewrite.go, docs "Rewrite"): a case-insensitive RE2 path, the upstream sees the rewritten path',
    async run(t) {
      const r = await get(t, '/Something/new/path?a=b', 'rewrite.test');
      expect(echo(r).backend).toBe('b0');
      expect(echo(r).url).toBe('/new/path?a=b');
      expect(echo(await get(t, '/something', 'rewrite.test')).url).toBe('/');
      expect((await get(t, '/somethingelse', 'rewrite.test')).status).toBe(404);
    },
  },
  {
    name: 'limits (limit-rpm + limit-burst-multiplier, limit-connections), per process: 503 beyond the burst; a slot held while a request is in progress',
    async run(t) {
      // limit-rpm "1", multiplier "2": three at once (the first finds an empty bucket), then 503 for half a minute.
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await get(t, '/x', 'limited.test')).status);
      expect(statuses).toEqual([200, 200, 200, 503]);
      // limit-connections "1": a second request while the first's response is streaming is refused; once it
      // ended, not (five chunks 300 ms apart: within the 1 s read timeout between chunks).
      const slow = get(t, '/stream?chunks=5&ms=300', 'limited-conn.test');
      await new Promise((r) => setTimeout(r, 400));
      expect((await get(t, '/x', 'limited-conn.test')).status).toBe(503);
      expect((await slow).status).toBe(200);
      let after = 0;
      for (let i = 0; i < 20 && after !== 200; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 50)); // the slot is freed as the response ends
        after = (await get(t, '/x', 'limited-conn.test')).status;
      }
      expect(after).toBe(200);
    },
  },
  {
    name: 'global rate limit (global-rate-limit "2" per 1h, counted in Redis): 429 beyond the limit',
    unsupported: {
      deno: NOT_BUILT_GLOBAL_LIMIT,
      workerd: NOT_BUILT_GLOBAL_LIMIT,
    },
    async run(t) {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await get(t, '/x', 'global-limited.test')).status);
      expect(statuses).toEqual([200, 200, 429]);
    },
  },
  {
    name: 'the query string reaches the backend unchanged',
    async run(t) {
      expect(echo(await get(t, '/q?a=1&b=two%20words&a=3', 'app.test')).url).toBe('/q?a=1&b=two%20words&a=3');
    },
  },
  // ---- the gateway's own answers ----
  {
    name: '404 for an unknown host, with Server, Content-Type and Content-Length',
    async run(t) {
      const r = await get(t, '/', 'unknown.test');
      expect(r.status).toBe(404);
      expect(r.text).toBe('404 Not Found\n');
      expect(r.headers.server).toBe('portico');
      expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(r.headers['content-length']).toBe('14');
    },
  },
  {
    name: "the gateway's own answers carry a Date header",
    unsupported: { workerd: 'workerd (wrangler dev 4.86) adds no Date header to a Response the worker builds' },
    async run(t) {
      const r = await get(t, '/', 'unknown.test');
      expect(Date.parse(String(r.headers.date))).toBeGreaterThan(Date.now() - 60_000);
    },
  },
  {
    name: '503 when the backend has no ready endpoint',
    async run(t) {
      const r = await get(t, '/down', 'app.test');
      expect(r.status).toBe(503);
      expect(r.text).toBe('503 Service Unavailable\n');
    },
  },
  {
    name: '502 when every endpoint refuses the connection',
    async run(t) {
      const r = await get(t, '/dead', 'app.test');
      expect(r.status).toBe(502);
      expect(r.text).toBe('502 Bad Gateway\n');
      expect(r.headers.server).toBe('portico');
    },
  },
  {
    name: 'a refused endpoint is skipped: the next endpoint answers',
    async run(t) {
      for (let i = 0; i < 4; i++) {
        const r = await get(t, '/flaky', 'app.test');
        expect(r.status).toBe(200);
        expect(echo(r).backend).toBe('b2');
      }
    },
  },
  {
    name: '504 when the upstream sends no headers within the read timeout',
    async run(t) {
      // The upstream would answer after 4 s; a 504 can only come from the 1 s read timeout.
      const r = await get(t, '/slow?ms=4000', 'app.test');
      expect(r.status).toBe(504);
      expect(r.text).toBe('504 Gateway Timeout\n');
    },
  },
  {
    name: 'round robin over the ready endpoints',
    async run(t) {
      const seen = new Set<string>();
      for (let i = 0; i < 4; i++) seen.add(echo(await get(t, '/rr', 'app.test')).backend);
      expect([...seen].sort()).toEqual(['b1', 'b2']);
    },
  },

  // ---- headers ----
  {
    name: "X-Forwarded-For/-Proto/-Host and X-Real-IP are set by the edge; the client's claims are replaced",
    async run(t) {
      const e = echo(
        await get(t, '/', 'app.test', {
          'x-forwarded-for': '6.6.6.6',
          'x-real-ip': '6.6.6.6',
          'x-forwarded-proto': 'https',
          'x-forwarded-host': 'evil.test',
        }),
      );
      expect(e.headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(e.headers['x-real-ip']).toBe('127.0.0.1');
      expect(e.headers['x-forwarded-proto']).toBe('http');
      expect(e.headers['x-forwarded-host']).toBe('app.test');
    },
  },
  // ---- routing filters: redirect and host annotations (gateway/table/redirect.ts) ----
  {
    name: 'permanent-redirect with permanent-redirect-code 302: the URL as written, path and query not kept (redirect.go)',
    async run(t) {
      const r = await get(t, '/x?y=1', 'moved.test');
      expect([r.status, r.headers.location]).toEqual([302, 'https://elsewhere.example/new']);
    },
  },
  {
    name: 'app-root: / is redirected with 302 to the app root, other paths are served (approot.go)',
    async run(t) {
      const r = await get(t, '/', 'rooted.test');
      expect([r.status, r.headers.location]).toEqual([302, 'http://rooted.test/app']);
      expect(echo(await get(t, '/app', 'rooted.test')).url).toBe('/app');
    },
  },
  {
    name: 'force-ssl-redirect: plain HTTP to a host without TLS gets 308 to https, query kept (forcesslredirect.go)',
    async run(t) {
      const r = await get(t, '/x?y=1', 'forced.test');
      expect(r.status).toBe(308);
      expect(r.headers.location).toMatch(/^https:\/\/forced\.test(:\d+)?\/x\?y=1$/);
    },
  },
  {
    name: 'x-forwarded-prefix: the backend gets the annotation value (xforwardedprefix.go)',
    async run(t) {
      expect(echo(await get(t, '/', 'vhost.test', { 'x-forwarded-prefix': '/forged' })).headers['x-forwarded-prefix']).toBe('/prefix');
    },
  },
  {
    name: 'upstream-vhost: the backend gets the annotation value as Host (upstreamvhost.go)',
    unsupported: { workerd: NO_HOST_WORKERD },
    async run(t) {
      expect(echo(await get(t, '/', 'vhost.test')).headers.host).toBe('internal.example');
    },
  },
  {
    name: 'server-alias: the alias routes like the host (alias.go); from-to-www-redirect: www. redirects with 308 (fromtowwwredirect.go)',
    async run(t) {
      expect(echo(await get(t, '/', 'alias.test')).backend).toBe('b0');
      const r = await get(t, '/p?q=1', 'www.aliased.test');
      expect([r.status, r.headers.location]).toEqual([308, 'http://aliased.test/p?q=1']);
    },
  },
  {
    name: 'X-Forwarded-Port is the port the client connected to',
    unsupported: {
      workerd:
        'wrangler dev rebuilds the request URL from the Host header, so the port the client connected to is not visible to the worker',
    },
    async run(t) {
      const e = echo(await get(t, '/', 'app.test'));
      expect(e.headers['x-forwarded-port']).toBe(new URL(t.http).port);
    },
  },
  {
    name: 'Host reaches the backend as the client sent it',
    unsupported: { workerd: NO_HOST_WORKERD },
    async run(t) {
      expect(echo(await get(t, '/', 'app.test:8080')).headers.host).toBe('app.test:8080');
    },
  },
  {
    name: 'X-Request-Id: a well-formed one is kept, a malformed one replaced',
    async run(t) {
      expect(echo(await get(t, '/', 'app.test', { 'x-request-id': 'trace-123' })).headers['x-request-id']).toBe('trace-123');
      expect(echo(await get(t, '/', 'app.test', { 'x-request-id': 'bad id' })).headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    },
  },
  {
    name: 'hop-by-hop headers are stripped in both directions; repeated Set-Cookie survives',
    async run(t) {
      const r = await get(t, '/', 'app.test', {
        te: 'trailers',
        'proxy-connection': 'x',
        'keep-alive': 'timeout=1',
        'x-end-to-end': 'yes',
      });
      const e = echo(r);
      for (const h of ['te', 'proxy-connection', 'keep-alive']) expect(e.headers[h], h).toBeUndefined();
      expect(e.headers['x-end-to-end']).toBe('yes');
      expect(r.headers['x-hop']).toBeUndefined(); // named in the upstream's Connection header
      expect(r.headers['keep-alive']).not.toBe('timeout=5'); // the upstream's value
      expect(r.headers['set-cookie']).toEqual(['a=1', 'b=2']);
      expect(r.headers['x-backend']).toBe('b0');
    },
  },

  {
    name: "a client's Forwarded and header names with an underscore never reach the upstream; the answer carries Server and Date",
    async run(t) {
      const r = await get(t, '/', 'app.test', {
        forwarded: 'for=6.6.6.6;host=evil.test;proto=https',
        x_forwarded_for: '6.6.6.6',
        'x-end-to-end': 'yes',
      });
      const e = echo(r);
      expect(e.headers.forwarded).toBeUndefined();
      expect(e.headers.x_forwarded_for).toBeUndefined();
      expect(e.headers['x-end-to-end']).toBe('yes');
      expect(r.headers.server).toBe('portico'); // the echo backend sends none
      expect(r.headers.date).toBeDefined();
    },
  },
  {
    name: 'a path that leaves its Prefix route once decoded (%5C, ..;), a dot segment beside an empty one, and a NUL (%00) get 400; an encoded slash inside passes',
    async run(t) {
      for (const p of ['/api/..%5Csecret', '/api/..;/secret', '/api/%2F../x', '/api/a%00b'])
        expect((await get(t, p, 'app.test')).status, p).toBe(400);
      const inside = echo(await get(t, '/api/a%2Fb', 'app.test'));
      expect(inside.url).toBe('/api/a%2Fb');
    },
  },
  {
    name: "request headers named in the client's Connection header are stripped",
    unsupported: {
      workerd: "workerd does not show the worker the client's Connection header, so the headers it names cannot be told apart",
    },
    async run(t) {
      const e = echo(await get(t, '/', 'app.test', { connection: 'keep-alive, x-secret', 'x-secret': 'hop', 'x-end-to-end': 'yes' }));
      expect(e.headers['x-secret']).toBeUndefined();
      expect(e.headers['x-end-to-end']).toBe('yes');
    },
  },

  // ---- methods, bodies, streaming ----
  {
    name: 'POST body reaches the backend',
    async run(t) {
      const e = echo(
        await send(`${t.http}/form`, { method: 'POST', host: 'app.test', headers: { 'content-type': 'text/plain' }, body: 'a=1&b=2' }),
      );
      expect(e.method).toBe('POST');
      expect(e.body).toBe('a=1&b=2');
    },
  },
  {
    name: 'a 1 MiB chunked upload streams through whole',
    async run(t) {
      const body = Buffer.alloc(1024 * 1024, 'x');
      const r = await send(`${t.http}/upload`, { method: 'PUT', host: 'app.test', headers: { 'transfer-encoding': 'chunked' }, body });
      expect(JSON.parse(r.text)).toMatchObject({ backend: 'b0', bytes: body.length });
    },
  },
  {
    name: 'HEAD gets the status and headers without a body',
    async run(t) {
      const r = await send(`${t.http}/`, { method: 'HEAD', host: 'app.test' });
      expect(r.status).toBe(200);
      expect(r.headers['x-backend']).toBe('b0');
      expect(r.bytes.length).toBe(0);
    },
  },
  {
    name: 'response bodies stream: the first chunk arrives long before the last',
    async run(t) {
      const r = await get(t, '/stream?chunks=4&ms=400', 'app.test');
      expect(r.status).toBe(200);
      expect(r.text.trim().split('\n')).toHaveLength(4);
      expect(r.endAt - r.firstChunkAt).toBeGreaterThan(900);
    },
  },
  {
    name: 'a response body that stalls longer than the read timeout is cut off: the client sees a broken response',
    unsupported: {
      workerd:
        'workerd ends a response normally when its body stream errors (a chunked body gets its last chunk all the same), so a cut would look complete: only bodies of declared length are timed there',
    },
    async run(t) {
      // First chunk at once, then 2.5 s of silence: over the 1 s read timeout. Without the cut the upstream
      // would finish the body normally, so a broken response can only come from the timeout.
      const outcome = await send(`${t.http}/stream?chunks=3&ms=2500`, { host: 'app.test' }).then(
        (r) => `complete: ${r.text}`,
        (err: Error) => `broken: ${err.message}`,
      );
      expect(outcome).toMatch(/^broken: /);
    },
  },
  {
    name: 'a response body of declared length that stalls longer than the read timeout is cut off: the client sees it short of its length',
    async run(t) {
      // 3 lines of 22 bytes declared; the first at once, then 2.5 s of silence: over the 1 s read timeout.
      const outcome = await send(`${t.http}/stream?chunks=3&ms=2500&length=66`, { host: 'app.test' }).then(
        (r) => `complete: ${r.text}`,
        (err: Error) => `broken: ${err.message}`,
      );
      expect(outcome).toMatch(/^broken: /);
    },
  },
  {
    name: 'many requests in sequence and at once, stalled bodies among them: each stalled body is cut, every other answered whole',
    async run(t) {
      // Each request's timers are its own (workerd cancels a request's timers and I/O when it ends, and refuses I/O
      // of one request from another's): a stalled body is cut whatever came before or runs beside it.
      const stalled = () =>
        send(`${t.http}/stream?chunks=2&ms=2500&length=44`, { host: 'app.test' }).then(
          (r) => `complete: ${r.status} ${r.text}`,
          () => 'broken',
        );
      // The plain requests on a route with a 3 s read timeout: a busy machine does not turn them into 504s.
      const plain = async () => (await get(t, '/', 'read.test')).status;
      for (let i = 0; i < 20; i++) expect(await plain()).toBe(200);
      const [cut, answers] = await Promise.all([
        Promise.all([stalled(), stalled(), stalled()]),
        Promise.all(Array.from({ length: 12 }, plain)),
      ]);
      expect(cut).toEqual(['broken', 'broken', 'broken']);
      expect(answers).toEqual(Array(12).fill(200));
      for (let i = 0; i < 20; i++) expect(await plain()).toBe(200);
      expect(await stalled()).toBe('broken');
    },
  },
  {
    name: "--send-timeout 2s (nginx send_timeout): a client that stops reading a large answer for longer is given up (the answer breaks off), one that reads gets it whole; the route's proxy-send-timeout (1 s) does not cut it sooner",
    async run(t) {
      const MB = 32; // far more than the socket buffers between the gateway and the client hold
      const readAll = (pauseMs: number) =>
        new Promise<string>((resolve) => {
          const req = http.get(`${t.http}/big?mb=${MB}`, { headers: { host: 'client-send.test' }, agent: false }, (res) => {
            if (res.statusCode !== 200) resolve(`status ${res.statusCode}`);
            let got = 0;
            res.on('data', (c: Buffer) => {
              if (got === 0 && pauseMs > 0) {
                res.pause(); // the client stops reading
                setTimeout(() => res.resume(), pauseMs);
              }
              got += c.length;
            });
            res.on('end', () => resolve(got === MB * 1024 * 1024 ? 'whole' : `short: ${got}`));
            res.on('error', (e) => resolve(`broken: ${e.message} after ${got}`));
            res.on('aborted', () => resolve(`broken: aborted after ${got}`));
          });
          req.on('error', (e) => resolve(`broken: ${e.message}`));
        });
      expect(await readAll(0)).toBe('whole');
      expect(await readAll(1_200)).toBe('whole'); // past the route's proxy-send-timeout, within the send bound
      expect(await readAll(5_000)).toMatch(/^broken: /);
    },
  },
  // ---- upstream filters (proxy-* annotations) ----
  {
    name: 'proxy-read-timeout "3": a backend silent for 2 s answers, past the gateway\'s 1 s --read-timeout',
    async run(t) {
      expect((await get(t, '/slow?ms=2000', 'read.test')).status).toBe(200);
      expect((await get(t, '/slow?ms=2000', 'app.test')).status).toBe(504); // the flag, on a route without it
    },
  },
  {
    name: 'proxy-connect-timeout "1": a connect that hangs is given up after about a second (502)',
    unsupported: { deno: NO_CONNECT_PHASE_WEB, workerd: NO_CONNECT_PHASE_WEB },
    async run(t) {
      const started = performance.now();
      expect((await get(t, '/', 'connect.test')).status).toBe(502);
      expect(performance.now() - started).toBeLessThan(2_700);
    },
  },
  {
    name: 'proxy-send-timeout "1": an upstream that stops reading the body gets 504 after about a second',
    unsupported: { deno: NO_SEND_PHASE_WEB, workerd: NO_SEND_PHASE_WEB },
    async run(t) {
      const started = performance.now();
      const r = await send(`${t.http}/upload`, { host: 'send.test', method: 'POST', body: Buffer.alloc(48 * 1024 * 1024, 120) }).catch(
        (e: Error) => e,
      );
      if (!(r instanceof Error)) expect(r.status).toBe(504); // or the connection closed under a client still sending
      expect(performance.now() - started).toBeLessThan(4_000);
    },
  },
  {
    name: 'backend-protocol "HTTPS" (backendprotocol.go): TLS to the upstream, its self-signed certificate not verified',
    unsupported: { deno: NO_BACKEND_PROTOCOL_WEB, workerd: NO_BACKEND_PROTOCOL_WEB },
    async run(t) {
      const r = await get(t, '/', 'https-backend.test');
      expect(r.status).toBe(200);
      expect(r.text).toBe('tls:true');
    },
  },
  {
    name: 'proxy-ssl-secret, proxy-ssl-verify on (proxyssl.go): the upstream checked against ca.crt and proxy-ssl-name, a client certificate presented',
    unsupported: { deno: NO_UPSTREAM_TLS_WEB, workerd: NO_UPSTREAM_TLS_WEB },
    async run(t) {
      const r = await get(t, '/', 'proxy-ssl.test');
      expect(r.status).toBe(200);
      expect(r.text).toBe('tls:true');
    },
  },
  {
    name: 'proxy-ssl-*: where the runtime cannot apply them, the route answers 503 (fail closed)',
    unsupported: { node: 'Node applies proxy-ssl-* (the case above)' },
    async run(t) {
      expect((await get(t, '/', 'proxy-ssl.test')).status).toBe(503);
    },
  },
  {
    name: 'proxy-body-size "1k": a declared Content-Length over it gets 413; one under it passes',
    async run(t) {
      expect((await send(`${t.http}/upload`, { host: 'body.test', method: 'POST', body: Buffer.alloc(1025, 97) })).status).toBe(413);
      expect((await send(`${t.http}/upload`, { host: 'body.test', method: 'POST', body: Buffer.alloc(1000, 97) })).status).toBe(200);
    },
  },
  {
    name: 'proxy-next-upstream-tries "1": a refused endpoint is not moved on (502), where the default rule moves on',
    async run(t) {
      const seen: number[] = [];
      for (let i = 0; i < 4; i++) seen.push((await get(t, '/', 'tries.test')).status);
      expect(seen).toContain(502);
      expect(seen).toContain(200);
    },
  },
  {
    name: 'upstream redirects are passed to the client, not followed',
    async run(t) {
      const r = await get(t, '/redirect?to=/elsewhere', 'app.test');
      expect(r.status).toBe(302);
      expect(r.headers.location).toBe('/elsewhere');
    },
  },
  {
    name: "custom-http-errors + default-backend (customhttperrors.go, default_backend.go): an intercepted 404 and a route without ready endpoints get the error backend's page with X-Code",
    async run(t) {
      const page = await get(t, '/status/404?q=1', 'errors.test', { accept: 'application/json' });
      expect(page.status).toBe(200); // error_page 404 = @custom_...: the error backend's own status
      expect(echo(page).backend).toBe('def');
      expect(echo(page).url).toBe('/');
      expect(echo(page).headers).toMatchObject({
        'x-code': '404',
        'x-format': 'application/json',
        'x-original-uri': '/status/404?q=1',
        'x-namespace': 'default',
        'x-ingress-name': 'error-pages',
        'x-service-name': 'one',
        'x-service-port': '80',
      });
      expect((await get(t, '/status/201', 'errors.test')).status).toBe(201); // not listed: passed through
      const down = await get(t, '/x', 'errors-down.test');
      expect([down.status, echo(down).backend, echo(down).headers['x-code']]).toEqual([200, 'def', '503']);
    },
  },
  {
    name: 'upstream status codes pass through',
    async run(t) {
      expect((await get(t, '/status/201', 'app.test')).status).toBe(201);
      expect((await get(t, '/status/404', 'app.test')).headers['x-backend']).toBe('b0');
    },
  },
  {
    name: 'a gzip response arrives decodable as labelled',
    async run(t) {
      const r = await get(t, '/gzip', 'app.test', { 'accept-encoding': 'gzip' });
      const text = (r.headers['content-encoding'] === 'gzip' ? gunzipSync(r.bytes) : r.bytes).toString();
      expect(text).toBe('gzip from b0\n'.repeat(20));
    },
  },

  // ---- TLS ----
  {
    name: 'plain HTTP to a TLS host redirects to HTTPS with 308',
    async run(t) {
      const r = await get(t, '/a?b=1', 'secure.test');
      expect(r.status).toBe(308);
      expect(r.headers.location).toBe(`https://secure.test${t.redirectPort === 443 ? '' : `:${t.redirectPort}`}/a?b=1`);
    },
  },
  {
    name: 'HTTPS: a request on the TLS listener is forwarded with X-Forwarded-Proto https',
    unsupported: { workerd: NO_TLS_WORKERD },
    async run(t) {
      const r = await send(`https://127.0.0.1:${t.httpsPort}/tls`, { host: 'secure.test' });
      expect(r.status).toBe(200);
      expect(echo(r).headers['x-forwarded-proto']).toBe('https');
    },
  },
  {
    name: 'hsts (controller ConfigMap): an HTTPS answer for a TLS host carries Strict-Transport-Security, plain HTTP none',
    unsupported: { workerd: NO_TLS_WORKERD },
    async run(t) {
      const r = await send(`https://127.0.0.1:${t.httpsPort}/tls?set-header=Strict-Transport-Security:max-age=1`, { host: 'secure.test' });
      expect([r.status, r.headers['strict-transport-security']]).toEqual([200, 'max-age=60; includeSubDomains']);
      expect((await get(t, '/', 'secure.test')).headers['strict-transport-security']).toBeUndefined();
    },
  },
  {
    name: 'HTTPS: the certificate is chosen by SNI',
    unsupported: {
      deno: "Deno.serve takes one certificate per listener and has no SNI callback (Deno 2.9): every name gets one certificate (--tls-host's, else the table's default one, else its first)",
      workerd: NO_TLS_WORKERD,
    },
    async run(t, w) {
      expect((await send(`https://127.0.0.1:${t.httpsPort}/`, { host: 'secure.test' })).peerFingerprint).toBe(w.fingerprints.secure);
      expect((await send(`https://127.0.0.1:${t.httpsPort}/`, { host: 'other.test' })).peerFingerprint).toBe(w.fingerprints.other);
    },
  },
  {
    name: 'HTTPS: a name without a certificate of its own gets the default certificate (--default-ssl-certificate)',
    unsupported: { workerd: NO_TLS_WORKERD },
    async run(t, w) {
      // Deno serves one certificate to every name: the default one, when the table has it and --tls-host is not set.
      expect((await send(`https://127.0.0.1:${t.httpsPort}/`, { host: 'app.test' })).peerFingerprint).toBe(w.fingerprints.fallback);
    },
  },
  {
    name: "HTTPS: ssl-passthrough: a ClientHello naming the host is relayed untouched, so the client sees the upstream's own certificate and answer",
    unsupported: { deno: NO_PASSTHROUGH_DENO, workerd: NO_TLS_WORKERD },
    async run(t, w) {
      // The upstream's certificate is other.test's; the worker would serve passthrough.test (no Secret) its default one.
      const r = await send(`https://127.0.0.1:${t.httpsPort}/`, { host: 'passthrough.test', servername: 'passthrough.test' });
      expect(r.peerFingerprint).toBe(w.fingerprints.other);
      expect(r.text).toBe('tls:true');
    },
  },
  {
    name: 'ssl-passthrough where the runtime cannot relay TLS: the worker logs the host (its routes are served at layer 7)',
    unsupported: { node: 'Node relays it (the case above)' },
    async run(t) {
      expect(t.logs()).toMatch(/ssl-passthrough hosts passthrough\.test: .* cannot read a ClientHello before TLS is terminated/);
    },
  },
  {
    name: 'client certificates (auth-tls-secret): plain HTTP carries none, so a host that requires one answers 400',
    async run(t) {
      expect((await get(t, '/', 'mtls.test')).status).toBe(400);
    },
  },
  {
    name: 'HTTPS: client certificates (auth-tls-secret): 400 without one, 200 with one the authority signed, ssl-client-verify SUCCESS upstream',
    unsupported: { deno: NO_CLIENT_CERT_DENO, workerd: NO_TLS_WORKERD },
    async run(t, w) {
      const url = `https://127.0.0.1:${t.httpsPort}/`;
      expect((await send(url, { host: 'mtls.test' })).status).toBe(400);
      const r = await send(url, { host: 'mtls.test', clientCertificate: w.clientCertificate });
      expect(r.status).toBe(200);
      expect(echo(r).headers['ssl-client-verify']).toBe('SUCCESS');
      expect(echo(r).headers['ssl-client-subject-dn']).toBe('O=Portico tests,CN=client-one');
    },
  },
  {
    name: 'HTTPS: where the runtime cannot see client certificates, a host that requires them answers 503 (fail closed)',
    unsupported: { node: 'Node sees client certificates (the case above)', workerd: NO_TLS_WORKERD },
    async run(t, w) {
      const r = await send(`https://127.0.0.1:${t.httpsPort}/`, { host: 'mtls.test', clientCertificate: w.clientCertificate });
      expect(r.status).toBe(503);
    },
  },

  {
    name: 'HTTPS: HTTP/2 by ALPN, routed by :authority',
    unsupported: { workerd: NO_TLS_WORKERD },
    async run(t) {
      const { connect } = await import('node:http2');
      const session = connect(`https://127.0.0.1:${t.httpsPort}`, { servername: 'secure.test', rejectUnauthorized: false });
      try {
        const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = session.request({ ':path': '/h2', ':authority': 'secure.test' });
          let status = 0;
          let body = '';
          req.on('response', (h) => (status = Number(h[':status'])));
          req.on('data', (c: Buffer) => (body += c.toString()));
          req.on('end', () => resolve({ status, body }));
          req.on('error', reject);
          req.end();
        });
        expect(reply.status).toBe(200);
        expect(JSON.parse(reply.body)).toMatchObject({ backend: 'b0', url: '/h2' });
      } finally {
        session.close();
      }
    },
  },

  // ---- upgrades ----
  {
    name: 'WebSocket upgrades are proxied',
    unsupported: { deno: NOT_BUILT_WS, workerd: NOT_BUILT_WS },
    async run(t) {
      const { default: WebSocket } = await import('ws');
      const ws = new WebSocket(`${t.http.replace('http', 'ws')}/ws`, { headers: { host: 'app.test' } });
      const first = await new Promise<string>((resolve, reject) => {
        ws.once('message', (d) => resolve(String(d)));
        ws.once('error', reject);
      });
      ws.close();
      expect(JSON.parse(first)).toMatchObject({ backend: 'b0', url: '/ws' });
    },
  },
];

/** Run after a second table is published (it adds an Ingress with a default backend, so the first table
 * can answer 404 for unknown hosts): every runtime must follow the new version. */
export const AFTER_UPDATE: Case[] = [
  {
    name: 'a host-level default backend serves paths no rule matches',
    async run(t) {
      expect(echo(await get(t, '/anything', 'fb.test')).backend).toBe('def');
      expect(echo(await get(t, '/only', 'fb.test')).backend).toBe('b0');
    },
  },
  {
    name: "the new table's default backend serves unknown hosts; the route removed from it is gone",
    async run(t) {
      expect(echo(await get(t, '/', 'unknown.test')).backend).toBe('def');
      expect(echo(await get(t, '/dead', 'app.test')).backend).toBe('b0');
    },
  },
];
