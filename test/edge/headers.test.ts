// Header rules of the proxy hop, on raw header lists (the flat [name, value, ...] form Node and undici use):
// hop-by-hop headers never cross in either direction (RFC 9110 7.6.1), the tunnel's portico-* headers never
// cross, the X-Forwarded-* set and X-Real-IP are the edge's own (an edge is the first hop: whatever a client
// sends there is forged), and X-Request-Id is a client's well-formed one or a new one.
import { describe, expect, it } from 'vitest';
import { downstreamResponseHeaders, requestIdFor, upstreamRequestHeaders, type ForwardFacts } from '../../gateway/proxy/headers.ts';

const FACTS: ForwardFacts = {
  host: 'shop.example.com',
  clientIp: '198.51.100.7',
  scheme: 'https',
  localPort: 8443,
  requestId: 'edge-id-1',
};

/** What the edge always appends, from FACTS. */
const EDGE = [
  'x-forwarded-for',
  '198.51.100.7',
  'x-forwarded-proto',
  'https',
  'x-forwarded-host',
  'shop.example.com',
  'x-forwarded-port',
  '8443',
  'x-real-ip',
  '198.51.100.7',
  'x-request-id',
  'edge-id-1',
];

interface UpCase {
  name: string;
  raw: string[];
  /** The request's Connection header value, as the server parsed it. */
  connection?: string;
  facts?: Partial<ForwardFacts>;
  /** Everything sent upstream between `host` and the edge's own headers. */
  want: string[];
  /** Replaces EDGE when facts differ. */
  edge?: string[];
}

const UP: UpCase[] = [
  {
    name: 'end-to-end headers pass in order, names as sent, repeats kept',
    raw: ['Accept', 'text/html', 'User-Agent', 'curl/8', 'accept', 'application/json'],
    want: ['Accept', 'text/html', 'User-Agent', 'curl/8', 'accept', 'application/json'],
  },
  {
    name: 'hop-by-hop headers are removed, whatever their case (RFC 9110 7.6.1)',
    raw: [
      'Connection',
      'keep-alive',
      'Keep-Alive',
      'timeout=5',
      'Proxy-Connection',
      'keep-alive',
      'Proxy-Authorization',
      'Basic Zm9vOmJhcg==',
      'TE',
      'trailers',
      'Trailer',
      'X-Sum',
      'TRANSFER-ENCODING',
      'chunked',
      'Upgrade',
      'websocket',
      'Accept',
      '*/*',
    ],
    connection: 'keep-alive',
    want: ['Accept', '*/*'],
  },
  {
    name: 'Expect is not forwarded (the edge already answered 100 Continue)',
    raw: ['Expect', '100-continue', 'Content-Length', '3'],
    want: ['Content-Length', '3'],
  },
  {
    name: "HTTP2-Settings belongs to one connection's h2c upgrade (RFC 7540 3.2.1)",
    raw: ['HTTP2-Settings', 'AAMAAABkAAQAoAAAAAIAAAAA', 'Accept', '*/*'],
    want: ['Accept', '*/*'],
  },
  {
    name: 'headers the Connection header lists are hop-by-hop too (RFC 9110 7.6.1)',
    raw: ['Connection', 'close, X-Hop-Secret', 'X-Hop-Secret', 's3cret', 'X-Other', '1'],
    connection: 'close, X-Hop-Secret',
    want: ['X-Other', '1'],
  },
  {
    name: 'a Connection header listing several names, spaced and cased anyhow',
    raw: ['x-a', '1', 'X-B', '2', 'x-c', '3'],
    connection: ' X-A ,x-b,, keep-alive',
    want: ['x-c', '3'],
  },
  {
    name: 'Connection: close lists no other header',
    raw: ['Close', 'not-a-hop-header', 'X-Other', '1'],
    connection: 'close',
    want: ['Close', 'not-a-hop-header', 'X-Other', '1'],
  },
  {
    name: "a client's portico-* headers never reach the tunnel or the application, whatever their case",
    raw: [
      'Portico-Endpoint',
      '10.0.0.1:22',
      'portico-peer',
      'prod',
      'PORTICO-BACKEND',
      'kube-system/api:443',
      'portico-peer-token',
      'eyJ',
      'Portico-Tunnel-Error',
      'ECONNREFUSED',
      'Pragma',
      'no-cache',
      'Porticoish',
      'kept',
    ],
    want: ['Pragma', 'no-cache', 'Porticoish', 'kept'],
  },
  {
    name: "a client's X-Forwarded-*, X-Real-IP and Host are replaced by the edge's own",
    raw: [
      'Host',
      'evil.example',
      'X-Forwarded-For',
      '10.0.0.1',
      'x-forwarded-proto',
      'https',
      'X-Forwarded-Host',
      'admin.internal',
      'X-Forwarded-Port',
      '443',
      'X-Real-IP',
      '127.0.0.1',
      'X-Request-Id',
      'client-id',
      'Accept',
      '*/*',
    ],
    want: ['Accept', '*/*'],
  },
  {
    name: 'HTTP/2 pseudo-headers are not headers of the upstream HTTP/1.1 request',
    raw: [':method', 'GET', ':path', '/x', ':scheme', 'https', ':authority', 'shop.example.com', 'accept', '*/*'],
    want: ['accept', '*/*'],
  },
  {
    name: 'HTTP/2 split cookies are joined into one field with "; " (RFC 9113 8.2.3)',
    raw: ['cookie', 'a=1', 'accept', '*/*', 'cookie', 'b=2', 'Cookie', 'c=3'],
    want: ['accept', '*/*', 'cookie', 'a=1; b=2; c=3'],
  },
  { name: 'one cookie field passes as one field', raw: ['Cookie', 'a=1; b=2'], want: ['cookie', 'a=1; b=2'] },
  {
    name: 'plain HTTP on port 80: the facts of that connection',
    raw: [],
    facts: { host: 'Shop.Example.com:80', clientIp: '2001:db8::7', scheme: 'http', localPort: 80, requestId: 'r2' },
    want: [],
    edge: [
      'x-forwarded-for',
      '2001:db8::7',
      'x-forwarded-proto',
      'http',
      'x-forwarded-host',
      'Shop.Example.com:80',
      'x-forwarded-port',
      '80',
      'x-real-ip',
      '2001:db8::7',
      'x-request-id',
      'r2',
    ],
  },
];

describe('upstreamRequestHeaders(): client request → upstream request', () => {
  for (const c of UP) {
    it(c.name, () => {
      const f = { ...FACTS, ...c.facts };
      expect(upstreamRequestHeaders(c.raw, c.connection, f)).toEqual(['host', f.host, ...c.want, ...(c.edge ?? EDGE)]);
    });
  }
});

interface DownCase {
  name: string;
  raw: (string | Buffer)[];
  want: string[];
}

const b = (s: string) => Buffer.from(s, 'latin1');
/** Added when the upstream sends no Server (the ingress-controller conformance suite expects one on every answer). */
const SERVER = ['server', 'portico'];

const DOWN: DownCase[] = [
  {
    name: 'end-to-end headers pass in order, repeats kept (Set-Cookie is never folded, RFC 9110 5.3)',
    raw: ['Content-Type', 'text/html', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2'],
    want: ['Content-Type', 'text/html', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', ...SERVER],
  },
  {
    name: 'hop-by-hop headers are removed, whatever their case (RFC 9110 7.6.1)',
    raw: [
      'Connection',
      'keep-alive',
      'Keep-Alive',
      'timeout=5',
      'Transfer-Encoding',
      'chunked',
      'TRAILER',
      'X-Sum',
      'Upgrade',
      'h2c',
      'Proxy-Authenticate',
      'Basic',
      'Content-Length',
      '2',
    ],
    want: ['Content-Length', '2', ...SERVER],
  },
  {
    name: 'headers the upstream Connection header lists are removed, even when listed before they appear',
    raw: ['X-Internal', 'a', 'Connection', 'close, x-internal, X-Debug', 'X-Debug', 'b', 'X-Public', 'c'],
    want: ['X-Public', 'c', ...SERVER],
  },
  {
    name: 'a tunnel error report from an application is never passed on',
    raw: ['Portico-Tunnel-Error', 'ECONNREFUSED', 'portico-endpoint', '10.0.0.1:80', 'X-Public', 'c'],
    want: ['X-Public', 'c', ...SERVER],
  },
  {
    name: 'undici Buffers become strings, bytes kept as latin1 (RFC 9110 5.5: obs-text)',
    raw: [b('Content-Type'), b('text/plain'), b('X-Name'), Buffer.from([0x63, 0x61, 0x66, 0xe9])],
    want: ['Content-Type', 'text/plain', 'X-Name', 'caf\u00e9', ...SERVER],
  },
  {
    name: 'a Buffer Connection header listing a name removes it',
    raw: [b('Connection'), b('X-Hop'), b('X-Hop'), b('1'), b('Server'), b('app')],
    want: ['Server', 'app'],
  },
  {
    name: 'an upstream Server is kept, whatever its case, and no second one added',
    raw: ['SERVER', 'app/1.2', 'X-A', '1'],
    want: ['SERVER', 'app/1.2', 'X-A', '1'],
  },
];

describe('downstreamResponseHeaders(): upstream response → client response', () => {
  for (const c of DOWN) {
    it(c.name, () => {
      expect(downstreamResponseHeaders(c.raw)).toEqual(c.want);
    });
  }
});

interface IdCase {
  name: string;
  incoming: string | undefined;
  /** true: the client's id is kept; false: a new one is made. */
  kept: boolean;
}

const IDS: IdCase[] = [
  { name: 'no X-Request-Id: a new one', incoming: undefined, kept: false },
  { name: 'empty: a new one', incoming: '', kept: false },
  { name: 'a UUID is kept (tracing across hops)', incoming: '3f2a8c1e-5b7d-4e09-9a61-0c2d4b8e7f10', kept: true },
  { name: 'letters, digits and . _ : - are kept', incoming: 'svc.a_b:c-1', kept: true },
  { name: '128 characters are kept', incoming: 'a'.repeat(128), kept: true },
  { name: '129 characters: a new one', incoming: 'a'.repeat(129), kept: false },
  { name: 'a space: a new one (it would split log fields)', incoming: 'a b', kept: false },
  { name: 'a line break: a new one (log injection)', incoming: 'abc\nlevel=error', kept: false },
  { name: 'a trailing newline: a new one', incoming: 'abc\n', kept: false },
  { name: 'non-ASCII: a new one', incoming: 'id-\u00e9', kept: false },
  { name: 'quotes and slashes: a new one', incoming: '"x"/../y', kept: false },
];

describe('requestIdFor(): X-Request-Id sent upstream', () => {
  for (const c of IDS) {
    it(c.name, () => {
      expect(requestIdFor(c.incoming, () => 'made-by-edge')).toBe(c.kept ? c.incoming : 'made-by-edge');
    });
  }
});
