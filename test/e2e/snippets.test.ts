// Snippet header directives end to end through `portico local` (a real process reading a manifest directory) to a
// real backend on loopback: what the backend receives (proxy_set_header, more_set_input_headers) and what the client
// receives (more_set_headers, more_clear_headers, add_header with and without `always`). Cases mirror ingress-nginx's
// test/e2e/annotations/snippet.go and serversnippet.go (named), headers-more's README and ngx_http_headers_module.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, type EchoReply, startBackend } from '../support/backends.ts';
import { type Reply, request } from '../support/client.ts';
import { ingress, ourClass, service } from '../support/manifests.ts';
import { type Running, startLocal } from '../support/process.ts';

const N = 'nginx.ingress.kubernetes.io/';
const CONF = `${N}configuration-snippet`;
const SERVER = `${N}server-snippet`;
let backend: Backend;
let p: Running;
let dir: string;

const app = (name: string, host: string, path: string, annotations: Record<string, string>, created = '2026-01-01T00:00:00Z') =>
  ingress(name, { host, paths: [{ path, service: 'app' }], annotations, created });

beforeAll(async () => {
  backend = await startBackend('app', '127.0.0.131');
  dir = mkdtempSync(join(tmpdir(), 'portico-snippets-'));
  const docs = [
    ourClass(),
    ...service('app', [{ address: backend.address, port: backend.port }]),
    // snippet.go: `set snippet "more_set_headers "Foo1: Bar1";" in all locations`
    app('configurationsnippet', 'configurationsnippet.foo.com', '/', { [CONF]: '\n\t\t\t\tmore_set_headers "Foo1: Bar1";' }),
    // serversnippet.go: `add valid directives to server via server snippet`, and a second, younger Ingress of the host.
    app('serversnippet', 'serversnippet.foo.com', '/', {
      [SERVER]: '\n\t\t\t\tmore_set_headers "Foo: Bar";\n\t\t\t\tmore_set_headers "Xpto: Lalala";',
    }),
    app('serversnippet-api', 'serversnippet.foo.com', '/api', {}, '2026-01-02T00:00:00Z'),
    app('request', 'request.test', '/', {
      [CONF]: [
        'proxy_set_header X-Api-Version 2;',
        'proxy_set_header X-Debug "";',
        "more_set_input_headers 'X-Tenant: acme';",
        'more_clear_input_headers Cookie;',
      ].join('\n'),
    }),
    app('response', 'response.test', '/', {
      [CONF]: [
        "more_set_headers 'X-Frame-Options: DENY';",
        "more_clear_headers X-Upstream-Secret 'X-Hidden-*';",
        'add_header X-Added yes;',
        'add_header Strict-Transport-Security "max-age=31536000" always;',
      ].join('\n'),
    }),
    // snippet.go before v1.9: `more_set_headers "Request-Id: $req_id";` — a variable: refused, 503.
    app('variable', 'variable.test', '/', { [CONF]: 'more_set_headers "Request-Id: $req_id";' }),
    app('plain', 'plain.test', '/', {}),
  ];
  writeFileSync(join(dir, 'all.yaml'), docs.map((d) => JSON.stringify(d)).join('\n---\n'));
  p = await startLocal(dir);
});

afterAll(async () => {
  if (p !== undefined) expect(await p.stop()).toBe(0);
  await backend?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const send = (host: string, path = '/', headers: Record<string, string> = {}): Promise<Reply> =>
  request(`${p.http}${path}`, { host, headers });
const seen = (r: Reply): EchoReply => JSON.parse(r.body) as EchoReply;

describe('snippet.go and serversnippet.go', () => {
  it('configuration-snippet `more_set_headers "Foo1: Bar1"`: 200 with Foo1: Bar1', async () => {
    const r = await send('configurationsnippet.foo.com');
    expect(r.status).toBe(200);
    expect(r.headers.foo1).toBe('Bar1');
  });

  it('server-snippet `more_set_headers "Foo: Bar"; more_set_headers "Xpto: Lalala"`: on every route of the server', async () => {
    for (const path of ['/', '/api/x']) {
      const r = await send('serversnippet.foo.com', path);
      expect(r.status, path).toBe(200);
      expect(r.headers.foo, path).toBe('Bar');
      expect(r.headers.xpto, path).toBe('Lalala');
    }
  });

  it('a snippet with a $variable is refused: 503, and the backend is not asked', async () => {
    const before = backend.requests;
    const r = await send('variable.test');
    expect(r.status).toBe(503);
    expect(r.headers['request-id']).toBeUndefined();
    expect(backend.requests).toBe(before);
  });

  it('a route without snippets gets none of the headers', async () => {
    const r = await send('plain.test');
    expect(r.status).toBe(200);
    expect(r.headers['x-frame-options']).toBeUndefined();
    expect(r.headers.foo1).toBeUndefined();
  });
});

describe('what the backend sees: proxy_set_header, more_set_input_headers, more_clear_input_headers', () => {
  it("proxy_set_header replaces the client's header; an empty value removes it", async () => {
    const echo = seen(await send('request.test', '/', { 'x-api-version': '9', 'x-debug': 'on' }));
    expect(echo.headers['x-api-version']).toBe('2');
    expect(echo.headers['x-debug']).toBeUndefined();
  });

  it('more_set_input_headers sets, more_clear_input_headers removes (the cookie never reaches the backend)', async () => {
    const echo = seen(await send('request.test', '/', { cookie: 'session=abc', 'x-tenant': 'evil' }));
    expect(echo.headers['x-tenant']).toBe('acme');
    expect(echo.headers.cookie).toBeUndefined();
  });

  it("the edge's own headers stay (X-Forwarded-For, X-Request-Id)", async () => {
    const echo = seen(await send('request.test'));
    expect(echo.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(echo.headers['x-request-id']).toBeTruthy();
  });
});

describe('what the client sees: more_set_headers, more_clear_headers, add_header', () => {
  it("more_set_headers replaces the upstream's header (one value)", async () => {
    const r = await send('response.test', '/?set-header=X-Frame-Options:SAMEORIGIN');
    expect(r.headers['x-frame-options']).toBe('DENY');
  });

  it('more_clear_headers removes an upstream header by name and by wildcard; others stay', async () => {
    const r = await send('response.test', '/?set-header=X-Upstream-Secret:1&set-header=X-Hidden-A:1&set-header=X-Kept:1');
    expect(r.status).toBe(200);
    expect(r.headers['x-upstream-secret']).toBeUndefined();
    expect(r.headers['x-hidden-a']).toBeUndefined();
    expect(r.headers['x-kept']).toBe('1');
    expect(r.headers['x-backend']).toBe('app');
  });

  it("add_header adds on 200, beside the upstream's own header of that name (it never replaces)", async () => {
    const r = await send('response.test', '/?set-header=X-Added:upstream');
    expect(r.status).toBe(200);
    expect(r.headers['x-added']).toBe('upstream, yes');
  });

  it('on a 404 from the upstream: add_header without always is not added, with always it is; more_set_headers is', async () => {
    const r = await send('response.test', '/status/404');
    expect(r.status).toBe(404);
    expect(r.headers['x-added']).toBeUndefined();
    expect(r.headers['strict-transport-security']).toBe('max-age=31536000');
    expect(r.headers['x-frame-options']).toBe('DENY');
  });

  for (const status of [201, 204, 301, 302, 304, 307, 308]) {
    it(`add_header without always on an upstream ${status}`, async () => {
      const r = await send('response.test', `/status/${status}`);
      expect(r.status).toBe(status);
      expect(r.headers['x-added']).toBe('yes');
    });
  }

  for (const status of [400, 500, 503]) {
    it(`add_header without always is not on an upstream ${status}; always is`, async () => {
      const r = await send('response.test', `/status/${status}`);
      expect(r.status).toBe(status);
      expect(r.headers['x-added']).toBeUndefined();
      expect(r.headers['strict-transport-security']).toBe('max-age=31536000');
    });
  }
});

describe('portico local --workers 2: every worker process validates the schema-6 table it gets over IPC and applies it', () => {
  it('the header on every answer, whichever process serves it', async () => {
    const q = await startLocal(dir, ['--workers', '2']);
    try {
      const replies = await Promise.all(Array.from({ length: 10 }, () => request(`${q.http}/`, { host: 'configurationsnippet.foo.com' })));
      expect(replies.map((r) => `${r.status} ${r.headers.foo1}`)).toEqual(Array(10).fill('200 Bar1'));
    } finally {
      expect(await q.stop()).toBe(0);
    }
  });
});
