// backend-protocol through the real Node adapter, against real upstreams on loopback: an HTTPS server with a
// self-signed certificate (nginx does not verify it by default), HTTP/2 cleartext and HTTP/2-over-TLS servers
// (node:http2) that answer as gRPC servers do (trailers with grpc-status, streaming both ways), and the refusals
// (AJP, FCGI, a proxy-ssl-secret that does not exist). Named after ingress-nginx's test/e2e/annotations/backendprotocol.go
// and grpc.go; those check the nginx configuration, these check what a client gets. proxy-ssl-*: proxy-ssl.test.ts.
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCert } from '../compile/certs.ts';
import { request } from '../support/client.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ingress, objects, ourClass, service } from '../support/manifests.ts';

const N = 'nginx.ingress.kubernetes.io/';
let tlsServer: https.Server;
let h2cServer: http2.Http2Server;
let h2sServer: http2.Http2SecureServer;
let gw: TestGateway;
/** The upstreams' HTTP/2 sessions, destroyed at the end: a server's close() waits for them. */
const sessions = new Set<http2.ServerHttp2Session>();
const cert = makeCert({ cn: 'backend.internal', sans: ['backend.internal'] });
const edgeCert = makeCert({ cn: 'edge.test', sans: ['edge.test'] });

/** What an upstream reports about the request it got. */
interface Seen {
  encrypted: boolean;
  httpVersion: string;
  /** The SNI name, or false when none was sent. */
  servername: string | false;
  te?: string;
  host?: string;
}

const port = (s: { address(): AddressInfo | string | null }): number => (s.address() as AddressInfo).port;

/** A gRPC-like handler: `/unary` answers one message then trailers grpc-status 0; `/stream` echoes each request
 * chunk as soon as it arrives and ends with trailers once the request ends; `/fail` is a trailers-only error. */
function grpcLike(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, encrypted: boolean): void {
  const seen: Seen = {
    encrypted,
    httpVersion: '2.0',
    servername: encrypted && stream.session !== undefined ? ((stream.session.socket as TLSSocket).servername ?? false) : false,
    ...(headers.te === undefined ? {} : { te: String(headers.te) }),
    host: String(headers[':authority']),
  };
  const path = headers[':path'];
  if (path === '/fail') {
    stream.respond(
      { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5', 'grpc-message': 'not found' },
      { endStream: true },
    );
    return;
  }
  stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'x-seen': JSON.stringify(seen) }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'ok' }));
  if (path === '/big') {
    // 4 MiB, then the trailers right behind it: a gateway that pauses for a slow client holds data when they arrive.
    stream.resume();
    stream.on('end', () => stream.end(Buffer.alloc(4 * 1024 * 1024, 'x')));
    return;
  }
  if (path === '/stream') {
    stream.on('data', (chunk: Buffer) => stream.write(`echo:${chunk.toString()}`));
    stream.on('end', () => stream.end());
  } else {
    stream.resume();
    stream.on('end', () => stream.end('unary-reply'));
  }
}

beforeAll(async () => {
  tlsServer = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    const s = req.socket as TLSSocket;
    const seen: Seen = { encrypted: s.encrypted === true, httpVersion: req.httpVersion, servername: s.servername ?? false };
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(seen)));
  });
  h2cServer = http2.createServer();
  h2cServer.on('session', (s) => sessions.add(s));
  h2cServer.on('stream', (stream, headers) => grpcLike(stream, headers, false));
  h2sServer = http2.createSecureServer({ cert: cert.certPem, key: cert.keyPem, allowHTTP1: false });
  h2sServer.on('session', (s) => sessions.add(s));
  h2sServer.on('stream', (stream, headers) => grpcLike(stream, headers, true));
  await Promise.all(
    [tlsServer, h2cServer, h2sServer].map((s) => new Promise<void>((resolve) => (s as http.Server).listen(0, '127.0.0.51', resolve))),
  );
  const ep = (s: { address(): AddressInfo | string | null }) => [{ address: '127.0.0.51', port: port(s) }];
  const route = (name: string, svc: string, protocol?: string, extra: Record<string, string> = {}) =>
    ingress(name, {
      host: `${name}.test`,
      paths: [{ path: '/', service: svc }],
      annotations: { ...(protocol === undefined ? {} : { [`${N}backend-protocol`]: protocol }), ...extra },
    });
  gw = await startTestGateway(
    objects(
      ourClass(),
      service('tls', ep(tlsServer)),
      service('h2c', ep(h2cServer)),
      service('h2s', ep(h2sServer)),
      route('https', 'tls', 'HTTPS'),
      route('plain', 'tls'),
      route('grpc', 'h2c', 'GRPC'),
      route('h2c', 'h2c', 'h2c'),
      route('grpcs', 'h2s', 'GRPCS'),
      route('ajp', 'tls', 'AJP'),
      route('fcgi', 'tls', 'FCGI'),
      route('bogus', 'tls', 'SPDY'),
      route('proxyssl', 'tls', 'HTTPS', { [`${N}proxy-ssl-secret`]: 'default/backend-ca', [`${N}proxy-ssl-verify`]: 'on' }),
    ),
    {},
    edgeCert,
  );
});

afterAll(async () => {
  await gw?.close();
  for (const s of sessions) s.destroy();
  await Promise.all([tlsServer, h2cServer, h2sServer].map((s) => new Promise((r) => (s as http.Server).close(r))));
});

/** A gRPC client's exchange through the edge's HTTPS listener (HTTP/2 by ALPN), sending `chunks` one at a time and
 * waiting for each echo when `interleave` (streaming both ways), else all at once. */
async function grpcCall(host: string, path: string, chunks: string[], interleave = false) {
  const session = http2.connect(`https://127.0.0.1:${gw.httpsPort}`, { rejectUnauthorized: false, servername: 'edge.test' });
  try {
    const stream = session.request({
      ':method': 'POST',
      ':path': path,
      ':authority': host,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const out = {
      status: 0,
      headers: {} as http2.IncomingHttpHeaders,
      trailers: {} as http2.IncomingHttpHeaders,
      data: [] as string[],
      /** The response HEADERS frame carried END_STREAM (a Trailers-Only answer). */
      endAfterHeaders: false,
    };
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('response', (h, flags) => {
        out.status = Number(h[':status']);
        out.headers = h;
        out.endAfterHeaders = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
      });
      stream.on('trailers', (t) => {
        out.trailers = t;
      });
      stream.on('data', (d: Buffer) => out.data.push(d.toString()));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    for (const c of chunks) {
      const before = out.data.length;
      stream.write(c);
      if (interleave) {
        // The echo of this chunk arrives while the request is still open: streaming in both directions.
        await new Promise<void>((resolve) => {
          const check = () => (out.data.length > before ? resolve() : setTimeout(check, 5));
          check();
        });
      }
    }
    stream.end();
    await ended;
    return out;
  } finally {
    session.close();
  }
}

describe('backend-protocol (test/e2e/annotations/backendprotocol.go)', () => {
  it('HTTPS: "should set backend protocol to https://": TLS to the endpoint, its self-signed certificate not verified, the Host as SNI', async () => {
    const r = await request(`${gw.httpUrl}/`, { host: 'https.test' });
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.body) as Seen;
    // undici names the request's Host in SNI (nginx sends none unless proxy-ssl-server-name is on; README).
    expect(seen).toMatchObject({ encrypted: true, httpVersion: '1.1', servername: 'https.test' });
  });

  it('without the annotation the same TLS upstream gets cleartext HTTP and the request fails (502)', async () => {
    const r = await request(`${gw.httpUrl}/`, { host: 'plain.test' });
    expect(r.status).toBe(502);
  });

  it.each([
    ['GRPC: "should set backend protocol to grpc://" (HTTP/2 cleartext)', 'grpc.test', false],
    ['H2C (Portico): HTTP/2 cleartext, value case-insensitive', 'h2c.test', false],
    ['GRPCS: "should set backend protocol to grpcs://" (HTTP/2 over TLS)', 'grpcs.test', true],
  ] as const)('%s: a unary call gets its reply and the grpc-status trailers', async (_name, host, encrypted) => {
    const r = await grpcCall(host, '/unary', ['hello']);
    expect(r.status).toBe(200);
    expect(r.data.join('')).toBe('unary-reply');
    expect(r.trailers['grpc-status']).toBe('0');
    expect(r.trailers['grpc-message']).toBe('ok');
    const seen = JSON.parse(String(r.headers['x-seen'])) as Seen;
    expect(seen.encrypted).toBe(encrypted);
    expect(seen.host).toBe(host);
    if (host !== 'h2c.test') expect(seen.te).toBe('trailers');
  });

  it.each(['grpc.test', 'grpcs.test'])('%s: a bidirectional stream gets each echo before the request ends', async (host) => {
    const r = await grpcCall(host, '/stream', ['a', 'b', 'c'], true);
    expect(r.data).toEqual(['echo:a', 'echo:b', 'echo:c']);
    expect(r.trailers['grpc-status']).toBe('0');
  });

  it.each(['grpc.test', 'grpcs.test'])(
    '%s: a client that reads slowly gets the whole 4 MiB body before the trailers (back-pressure, then trailers)',
    async (host) => {
      const session = http2.connect(`https://127.0.0.1:${gw.httpsPort}`, { rejectUnauthorized: false, servername: 'edge.test' });
      try {
        const stream = session.request({ ':method': 'POST', ':path': '/big', ':authority': host, 'content-type': 'application/grpc' });
        stream.end('x');
        let bytes = 0;
        let trailers: http2.IncomingHttpHeaders = {};
        stream.on('trailers', (t) => {
          trailers = t;
        });
        // The client reads slowly, a pause after every chunk: the gateway must pause the upstream, not drop data.
        stream.on('data', (d: Buffer) => {
          bytes += d.length;
          stream.pause();
          setTimeout(() => stream.resume(), 2);
        });
        await new Promise<void>((resolve, reject) => {
          stream.on('end', resolve);
          stream.on('error', reject);
        });
        expect(bytes).toBe(4 * 1024 * 1024);
        expect(trailers['grpc-status']).toBe('0');
      } finally {
        session.close();
      }
    },
  );

  it('GRPC (grpc.go): a trailers-only error answer reaches the client with its grpc-status', async () => {
    const r = await grpcCall('grpc.test', '/fail', []);
    expect(r.status).toBe(200);
    expect(r.headers['grpc-status']).toBe('5');
    expect(r.headers['grpc-message']).toBe('not found');
    // One HEADERS frame with END_STREAM, as gRPC's Trailers-Only requires (grpc-js fails the call otherwise).
    expect(r.endAfterHeaders).toBe(true);
  });

  it('GRPC over HTTP/1.1 from the client: the trailers arrive in the chunked response', async () => {
    const r = await new Promise<{ body: string; trailers: NodeJS.Dict<string> }>((resolve, reject) => {
      const req = http.request(
        `${gw.httpUrl}/unary`,
        { method: 'POST', headers: { host: 'grpc.test', 'content-type': 'application/grpc' } },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => {
            body += d.toString();
          });
          res.on('end', () => resolve({ body, trailers: res.trailers }));
        },
      );
      req.on('error', reject);
      req.end('x');
    });
    expect(r.body).toBe('unary-reply');
    expect(r.trailers['grpc-status']).toBe('0');
  });

  it.each([
    ['AJP: "should set backend protocol to \'\' and use ajp_pass": not spoken, 503', 'ajp.test', 503],
    ['FCGI: "should set backend protocol to \'\' and use fastcgi_pass": not spoken, 503', 'fcgi.test', 503],
    ['an unknown value: HTTP applies (cleartext to the TLS upstream: 502)', 'bogus.test', 502],
    [
      'proxy-ssl-secret naming a Secret that does not exist: the route fails closed with 503 (proxy-ssl.test.ts has the rest)',
      'proxyssl.test',
      503,
    ],
  ])('%s', async (_name, host, status) => {
    expect((await request(`${gw.httpUrl}/`, { host })).status).toBe(status);
  });
});
