// Header and path edge cases, upgrades and conformance headers, probed side by side with nginx 1.22: each case sends
// exact bytes on a raw socket to the real Node gateway and asserts what the client got and what a real loopback
// backend received (or that it received nothing: a request the edge refuses never reaches an upstream).
import http2 from 'node:http2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Received, type RecordingBackend, startRecordingBackend, valuesOf } from '../support/head-recording-backend.ts';
import { type RawAnswer, rawExchange } from '../support/raw-http.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ingress, objects, ourClass, service } from '../support/manifests.ts';

let pub: RecordingBackend;
let root: RecordingBackend;
let gw: TestGateway;
let port: number;

beforeAll(async () => {
  pub = await startRecordingBackend('127.0.0.1');
  root = await startRecordingBackend('127.0.0.1');
  gw = await startTestGateway(
    objects(
      ourClass(),
      service('pub', [{ address: pub.address, port: pub.port }]),
      service('root', [{ address: root.address, port: root.port }]),
      ingress('edge', {
        host: 'edge.test',
        paths: [{ path: '/public', service: 'pub' }],
      }),
      ingress('rooted', {
        host: 'rooted.test',
        paths: [
          { path: '/', service: 'root' },
          { path: '/public', service: 'pub' },
        ],
      }),
    ),
    undefined,
    undefined,
    // Only 127.0.0.9 is a trusted proxy: the other cases connect from 127.0.0.1.
    { proxies: '127.0.0.9/32', header: 'X-Forwarded-For', fullChain: false },
  );
  port = gw.gw.http!.port;
});

afterAll(async () => {
  await gw?.close();
  await pub?.close();
  await root?.close();
});

beforeEach(() => {
  pub.received.length = 0;
  root.received.length = 0;
});

const head = (lines: string[]): string => `${lines.join('\r\n')}\r\n\r\n`;
const fields = (n: number): string[] => Array.from({ length: n }, (_, i) => `X-Field-${String(i).padStart(4, '0')}: v`);
const seen = (): Received[] => [...pub.received, ...root.received];

interface RawCase {
  name: string;
  bytes: string;
  from?: string;
  status: number;
  /** What the upstream received: nothing (refused), or a check of the one request it got. */
  upstream: 'nothing' | ((r: Received) => void);
  client?: (a: RawAnswer) => void;
}

async function run(c: RawCase): Promise<void> {
  const a = await rawExchange(port, c.bytes, c.from === undefined ? {} : { localAddress: c.from });
  expect(a.status).toBe(c.status);
  // Every answer, the edge's own and proxied ones, carries the conformance headers.
  expect(a.header('server')).toBeDefined();
  expect(a.header('date')).toBeDefined();
  c.client?.(a);
  // A refused request may still be in flight towards nothing; give a forwarded one time to be recorded.
  await new Promise((r) => setTimeout(r, 50));
  if (c.upstream === 'nothing') expect(seen()).toEqual([]);
  else {
    expect(seen()).toHaveLength(1);
    c.upstream(seen()[0]!);
  }
}

describe('forwarding headers a client sends', () => {
  const cases: RawCase[] = [
    {
      name: 'a client’s Forwarded and X_Forwarded_For never reach the upstream; the edge’s X-Forwarded-For does',
      bytes: head([
        'GET /public/a HTTP/1.1',
        'Host: edge.test',
        'Forwarded: for=6.6.6.6;host=evil.test;proto=https',
        'X_Forwarded_For: 6.6.6.6',
        'X-Custom_Name: 1',
        'Connection: close',
      ]),
      status: 200,
      upstream: (r) => {
        expect(valuesOf(r, 'forwarded')).toEqual([]);
        expect(r.rawHeaders.filter((_, i) => i % 2 === 0 && r.rawHeaders[i]!.includes('_'))).toEqual([]);
        expect(valuesOf(r, 'x-forwarded-for')).toEqual(['127.0.0.1']);
      },
    },
    {
      name: 'a trusted proxy’s Forwarded passes (its X-Forwarded-For is believed too); underscores are still dropped',
      from: '127.0.0.9',
      bytes: head([
        'GET /public/a HTTP/1.1',
        'Host: edge.test',
        'Forwarded: for=203.0.113.7;proto=https',
        'X-Forwarded-For: 203.0.113.7',
        'X_Forwarded_For: 6.6.6.6',
        'Connection: close',
      ]),
      status: 200,
      upstream: (r) => {
        expect(valuesOf(r, 'forwarded')).toEqual(['for=203.0.113.7;proto=https']);
        expect(valuesOf(r, 'x_forwarded_for')).toEqual([]);
        expect(valuesOf(r, 'x-forwarded-for')).toEqual(['203.0.113.7']);
      },
    },
  ];
  for (const c of cases) it(c.name, () => run(c));
});

describe('request head limits (--max-request-headers 100, --max-request-header-line 8k, --max-request-head 32k)', () => {
  const cases: RawCase[] = [
    {
      name: '2,100 fields then Content-Length and a body: 431, nothing forwarded (Node kept 1,000 and dropped the rest)',
      bytes: `${head(['POST /public/a HTTP/1.1', 'Host: edge.test', ...fields(2100), 'Content-Length: 5'])}hello`,
      status: 431,
      upstream: 'nothing',
    },
    {
      name: '101 fields: 431, nothing forwarded',
      bytes: head(['GET /public/a HTTP/1.1', 'Host: edge.test', ...fields(99), 'Authorization: Bearer x', 'Connection: close']),
      status: 431,
      upstream: 'nothing',
    },
    {
      name: '100 fields: forwarded with every one, the last included',
      bytes: head(['GET /public/a HTTP/1.1', 'Host: edge.test', ...fields(97), 'Authorization: Bearer x', 'Connection: close']),
      status: 200,
      upstream: (r) => {
        expect(r.rawHeaders.filter((v, i) => i % 2 === 0 && v.startsWith('X-Field-'))).toHaveLength(97);
        expect(valuesOf(r, 'authorization')).toEqual(['Bearer x']);
      },
    },
    {
      name: 'one field line over 8k: 431, nothing forwarded',
      bytes: head(['GET /public/a HTTP/1.1', 'Host: edge.test', `X-Big: ${'a'.repeat(8200)}`, 'Connection: close']),
      status: 431,
      upstream: 'nothing',
    },
    {
      name: 'a field line just under 8k: forwarded',
      bytes: head(['GET /public/a HTTP/1.1', 'Host: edge.test', `X-Big: ${'a'.repeat(8000)}`, 'Connection: close']),
      status: 200,
      upstream: (r) => expect(valuesOf(r, 'x-big')[0]).toHaveLength(8000),
    },
    {
      name: 'a head over 32k (5 lines of 7k): 431 from the parser, a complete answer, nothing forwarded',
      bytes: head([
        'GET /public/a HTTP/1.1',
        'Host: edge.test',
        ...[1, 2, 3, 4, 5].map((i) => `X-Big-${i}: ${'a'.repeat(7000)}`),
        'Connection: close',
      ]),
      status: 431,
      upstream: 'nothing',
      client: (a) => expect(a.body).toBe('431 Request Header Fields Too Large\n'),
    },
    {
      name: 'two Host fields: 400, nothing forwarded (RFC 9112 §3.2)',
      bytes: head(['GET /public/a HTTP/1.1', 'Host: edge.test', 'Host: rooted.test', 'Connection: close']),
      status: 400,
      upstream: 'nothing',
    },
  ];
  for (const c of cases) it(c.name, () => run(c));
});

describe('request targets that leave their route, NUL and control characters', () => {
  const get = (target: string, host = 'edge.test'): string => head([`GET ${target} HTTP/1.1`, `Host: ${host}`, 'Connection: close']);
  const cases: RawCase[] = [
    { name: '%00 in the path: 400', bytes: get('/public/a%00b'), status: 400, upstream: 'nothing' },
    { name: 'a raw control character in the path: 400 (Node’s parser)', bytes: get('/public/a\x01b'), status: 400, upstream: 'nothing' },
    { name: 'an encoded backslash climbing out of /public: 400', bytes: get('/public/..%5csecret'), status: 400, upstream: 'nothing' },
    { name: 'a raw backslash climbing out of /public: 400', bytes: get('/public/..\\secret'), status: 400, upstream: 'nothing' },
    {
      name: 'a path parameter dot segment (..;) climbing out of /public: 400',
      bytes: get('/public/..;/secret'),
      status: 400,
      upstream: 'nothing',
    },
    {
      name: 'encoded slashes climbing out of /public, nested: routed as /secret, no route there (404)',
      bytes: get('/public/a/..%2f..%2f..%2fsecret'),
      status: 404,
      upstream: 'nothing',
    },
    {
      // Routed as /secret by the / rule, but a backend that splits the path before decoding it (Express, most
      // routers) reads it under /public: the /public rule's access rules would be passed by.
      name: 'an encoded slash climbing out of /public to the / rule: 400, a backend may read it under /public',
      bytes: get('/public/..%2fsecret', 'rooted.test'),
      status: 400,
      upstream: 'nothing',
    },
    {
      name: 'a path parameter on the prefix (/public;x) routed by /: 400, a servlet container reads /public',
      bytes: get('/public;x/a', 'rooted.test'),
      status: 400,
      upstream: 'nothing',
    },
    {
      name: 'a parameter dot segment climbing into /public from / (/x/..;/public): 400',
      bytes: get('/x/..;/public', 'rooted.test'),
      status: 400,
      upstream: 'nothing',
    },
    {
      name: 'encoded backslashes climbing into /public from / (/x%5C..%5Cpublic): 400',
      bytes: get('/x%5C..%5Cpublic', 'rooted.test'),
      status: 400,
      upstream: 'nothing',
    },
    {
      name: 'an encoded space under the / rule: forwarded as sent, every reading is the / rule',
      bytes: get('/docs/a%20b', 'rooted.test'),
      status: 200,
      upstream: (r) => expect(r.url).toBe('/docs/a%20b'),
    },
    {
      name: 'an encoded slash that stays inside /public: forwarded as sent',
      bytes: get('/public/a%2Fb/..%2Fc'),
      status: 200,
      upstream: (r) => expect(r.url).toBe('/public/a%2Fb/..%2Fc'),
    },
    {
      // nginx's order (decode, merge, remove dots) routes it by /public; a backend that removes dot segments without
      // merging slashes reads /secret/public: through /public's route, the / route's path.
      name: 'a dot segment beside an empty one (/secret/%2F../public): 400, readers disagree where it lands',
      bytes: get('/secret/%2F../public', 'rooted.test'),
      status: 400,
      upstream: 'nothing',
    },
    {
      name: 'the same with literal slashes (/x//../public): 400',
      bytes: get('/x//../public', 'rooted.test'),
      status: 400,
      upstream: 'nothing',
    },
    {
      name: 'empty segments before the prefix (//public/a): routed by /public, forwarded merged, not as //public/a',
      bytes: get('//public/a'),
      status: 200,
      upstream: (r) => expect(r.url).toBe('/public/a'),
    },
    {
      name: 'an encoded slash making an empty segment before the prefix (/%2Fpublic/a): 400',
      bytes: get('/%2Fpublic/a'),
      status: 400,
      upstream: 'nothing',
    },
    {
      name: 'slashes inside the prefix (a URL in the path, as image proxies take it): forwarded as sent',
      bytes: get('/public/fit/https://img.example/a.png?w=1'),
      status: 200,
      upstream: (r) => expect(r.url).toBe('/public/fit/https://img.example/a.png?w=1'),
    },
    {
      name: 'a raw backslash anywhere in the path: 400 (nginx passes it; see README, Proxy behaviour)',
      bytes: get('/public/a\\b'),
      status: 400,
      upstream: 'nothing',
    },
  ];
  for (const c of cases) it(c.name, () => run(c));
});

describe('upgrades and CONNECT', () => {
  const cases: RawCase[] = [
    {
      name: 'Upgrade: h2c (curl --http2 http://…) is ignored: served as HTTP/1.1, the upstream sees no Upgrade',
      bytes: head([
        'GET /public/a HTTP/1.1',
        'Host: edge.test',
        'Connection: Upgrade, HTTP2-Settings',
        'Upgrade: h2c',
        'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA',
      ]),
      status: 200,
      upstream: (r) => {
        expect(r.upgrade).toBe(false);
        expect(valuesOf(r, 'upgrade')).toEqual([]);
        expect(valuesOf(r, 'http2-settings')).toEqual([]);
      },
      client: (a) => expect(a.body).toBe('ok\n'),
    },
    {
      name: 'Upgrade: h2c on a POST with a body: 400 (Node stopped reading the body), nothing forwarded',
      bytes: `${head(['POST /public/a HTTP/1.1', 'Host: edge.test', 'Connection: Upgrade', 'Upgrade: h2c', 'Content-Length: 5'])}hello`,
      status: 400,
      upstream: 'nothing',
    },
    {
      name: 'Upgrade: h2c goes through the head checks too: two Host fields, 400',
      bytes: head(['GET /public/a HTTP/1.1', 'Host: edge.test', 'Host: rooted.test', 'Connection: Upgrade', 'Upgrade: h2c']),
      status: 400,
      upstream: 'nothing',
    },
    {
      name: 'a WebSocket upgrade (GET) is switched: 101 and the upstream saw the upgrade',
      bytes: head([
        'GET /public/ws HTTP/1.1',
        'Host: edge.test',
        'Connection: Upgrade',
        'Upgrade: websocket',
        'Sec-WebSocket-Version: 13',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      ]),
      status: 101,
      upstream: (r) => {
        expect(r.upgrade).toBe(true);
        expect(r.method).toBe('GET');
      },
    },
    {
      name: 'a WebSocket upgrade with POST: 400 (RFC 6455 §4.1), nothing forwarded',
      bytes: `${head(['POST /public/ws HTTP/1.1', 'Host: edge.test', 'Connection: Upgrade', 'Upgrade: websocket', 'Content-Length: 5'])}hello`,
      status: 400,
      upstream: 'nothing',
    },
    {
      name: 'a WebSocket upgrade to a path leaving its route (backslash): 400, nothing forwarded',
      bytes: head(['GET /public/..\\secret HTTP/1.1', 'Host: edge.test', 'Connection: Upgrade', 'Upgrade: websocket']),
      status: 400,
      upstream: 'nothing',
    },
    {
      name: 'a WebSocket upgrade with two Host fields: 400, nothing forwarded',
      bytes: head(['GET /public/ws HTTP/1.1', 'Host: edge.test', 'Host: rooted.test', 'Connection: Upgrade', 'Upgrade: websocket']),
      status: 400,
      upstream: 'nothing',
    },
    {
      name: 'a WebSocket upgrade with 101 fields: 431, nothing forwarded',
      bytes: head(['GET /public/ws HTTP/1.1', 'Host: edge.test', 'Connection: Upgrade', 'Upgrade: websocket', ...fields(98)]),
      status: 431,
      upstream: 'nothing',
    },
    {
      name: 'CONNECT gets an answer, 400 as from nginx 1.22, and reaches nothing',
      bytes: head(['CONNECT edge.test:443 HTTP/1.1', 'Host: edge.test:443']),
      status: 400,
      upstream: 'nothing',
      client: (a) => expect(a.body).toBe('400 Bad Request\n'),
    },
  ];
  for (const c of cases) it(c.name, () => run(c));
});

describe('conformance headers: Content-Length, Content-Type, Date and Server on every answer', () => {
  const cases: RawCase[] = [
    {
      name: 'a proxied answer without Server or Date gets the edge’s Server (no version) and a Date',
      bytes: head(['GET /public/a HTTP/1.1', 'Host: edge.test', 'Connection: close']),
      status: 200,
      upstream: () => {},
      client: (a) => {
        expect(a.header('server')).toBe('portico');
        expect(Number.isNaN(Date.parse(a.header('date')!))).toBe(false);
        expect(a.header('content-type')).toBe('text/plain');
        expect(a.header('content-length')).toBe('3');
      },
    },
    {
      name: 'an upstream’s own Server is kept, once',
      bytes: head(['GET /public/a?server=app-1 HTTP/1.1', 'Host: edge.test', 'Connection: close']),
      status: 200,
      upstream: () => {},
      client: (a) => expect(a.headers.filter(([k]) => k === 'server')).toEqual([['server', 'app-1']]),
    },
    {
      name: 'the edge’s own 404',
      bytes: head(['GET /nowhere HTTP/1.1', 'Host: edge.test', 'Connection: close']),
      status: 404,
      upstream: 'nothing',
      client: (a) => {
        expect(a.header('server')).toBe('portico');
        expect(a.header('content-type')).toBe('text/plain; charset=utf-8');
        expect(a.header('content-length')).toBe(String(a.body.length));
      },
    },
    {
      name: 'bytes that are not HTTP: a complete 400 from the edge',
      bytes: 'HELLO\r\n\r\n',
      status: 400,
      upstream: 'nothing',
      client: (a) => expect(a.header('content-length')).toBe(String(a.body.length)),
    },
  ];
  for (const c of cases) it(c.name, () => run(c));
});

describe('the same rules over HTTP/2 (TLS port, ALPN h2)', () => {
  interface H2Case {
    name: string;
    path: string;
    headers: Record<string, string>;
    status: number;
    upstream: 'nothing' | ((r: Received) => void);
  }
  const h2 = async (path: string, headers: Record<string, string>): Promise<{ status: number; headers: http2.IncomingHttpHeaders }> => {
    const session = http2.connect(`https://127.0.0.1:${gw.httpsPort}`, { rejectUnauthorized: false, servername: 'edge.test' });
    try {
      return await new Promise((resolve, reject) => {
        const s = session.request({ ':method': 'GET', ':path': path, ':authority': 'edge.test', ...headers });
        s.on('response', (h) => {
          s.resume();
          s.on('end', () => resolve({ status: Number(h[':status']), headers: h }));
        });
        s.on('error', reject);
        s.end();
      });
    } finally {
      session.close();
    }
  };
  const cases: H2Case[] = [
    {
      name: 'h2: a client’s forwarded and x_forwarded_for are dropped; the answer gets Server and Date',
      path: '/public/a',
      headers: { forwarded: 'for=6.6.6.6;host=evil.test', x_forwarded_for: '6.6.6.6' },
      status: 200,
      upstream: (r) => {
        expect(valuesOf(r, 'forwarded')).toEqual([]);
        expect(valuesOf(r, 'x_forwarded_for')).toEqual([]);
      },
    },
    {
      name: 'h2: 101 fields: 431, nothing forwarded',
      path: '/public/a',
      headers: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`x-field-${i}`, 'v'])),
      status: 431,
      upstream: 'nothing',
    },
    { name: 'h2: %00 in the path: 400, nothing forwarded', path: '/public/a%00b', headers: {}, status: 400, upstream: 'nothing' },
    { name: 'h2: an encoded backslash leaving /public: 400', path: '/public/..%5Csecret', headers: {}, status: 400, upstream: 'nothing' },
    { name: 'h2: a dot segment beside an empty one: 400', path: '/public/%2F../x', headers: {}, status: 400, upstream: 'nothing' },
  ];
  for (const c of cases)
    it(c.name, async () => {
      const a = await h2(c.path, c.headers);
      expect(a.status).toBe(c.status);
      expect(a.headers.server).toBeDefined();
      expect(a.headers.date).toBeDefined();
      await new Promise((r) => setTimeout(r, 50));
      if (c.upstream === 'nothing') expect(seen()).toEqual([]);
      else {
        expect(seen()).toHaveLength(1);
        c.upstream(seen()[0]!);
      }
    });
});
