// Slow and stalled clients, end to end with raw sockets: the client header timeout (request head and TLS handshake),
// the client body timeout, request body buffering before dialling, the keep-alive timeout and TLS renegotiation.
// The gateway runs with short limits (1 s) so each bound is observable; timing assertions keep wide margins (a
// configured timeout is behaviour, its precision is not). A real loopback backend counts the connections it
// accepts and holds, and records what each request delivered.
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ingress, objects, ourClass, service } from '../support/manifests.ts';

const LIMIT_MS = 1_000;
/** Longer than LIMIT_MS: on HTTP/2 the keep-alive timeout is also the idle timeout of a stream (server.setTimeout). */
const KEEPALIVE_MS = 3_000;
const BUFFER = 1_024;

interface Received {
  method: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The request body ended (false: the connection broke off mid-body). */
  complete: boolean;
  /** When its head arrived. */
  receivedAt: number;
  /** The connection that carried it has closed. */
  connectionClosed: boolean;
}

/** Counts connections accepted and open, records each request; answers 200 with the body's length. */
class CountingBackend {
  accepted = 0;
  open = 0;
  requests: Received[] = [];
  private readonly server: http.Server;
  constructor() {
    this.server = http.createServer((req, res) => {
      const r: Received = {
        method: req.method ?? '',
        headers: req.headers,
        body: '',
        complete: false,
        connectionClosed: false,
        receivedAt: performance.now(),
      };
      req.socket.once('close', () => (r.connectionClosed = true));
      this.requests.push(r);
      req.setEncoding('latin1');
      req.on('data', (c: string) => (r.body += c));
      req.on('end', () => {
        r.complete = true;
        res.end(`got ${r.body.length}`);
      });
    });
    this.server.on('connection', (s: net.Socket) => {
      this.accepted++;
      this.open++;
      s.once('close', () => this.open--);
    });
  }
  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return (this.server.address() as net.AddressInfo).port;
  }
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

const backend = new CountingBackend();
let gw: TestGateway;

beforeAll(async () => {
  const port = await backend.listen();
  gw = await startTestGateway(
    objects(
      ourClass(),
      service('web', [{ address: '127.0.0.1', port }]),
      ingress('slow', { host: 'slow.test', paths: [{ path: '/', service: 'web' }] }),
    ),
    {},
    undefined,
    undefined,
    undefined,
    {
      clientLimits: {
        headerTimeoutMs: LIMIT_MS,
        keepAliveTimeoutMs: KEEPALIVE_MS,
        sendMs: 60_000,
        body: { timeoutMs: LIMIT_MS, bufferSize: BUFFER },
      },
    },
  );
});

afterAll(async () => {
  await gw?.close();
  await backend.close();
});

beforeEach(() => {
  backend.requests = [];
  backend.accepted = 0;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the client saw of a connection until it closed: the bytes, and when it closed, from `since`. */
function untilClosed(socket: net.Socket, since: number): Promise<{ text: string; closedAfterMs: number }> {
  return new Promise((resolve) => {
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => (text += c));
    socket.on('error', () => {});
    socket.once('close', () => resolve({ text, closedAfterMs: performance.now() - since }));
  });
}

function connectPlain(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(gw.gw.http!.port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

function connectTls(alpn = 'http/1.1', maxVersion: tls.SecureVersion = 'TLSv1.3'): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect(
      { host: '127.0.0.1', port: gw.httpsPort, servername: 'slow.test', rejectUnauthorized: false, ALPNProtocols: [alpn], maxVersion },
      () => resolve(s),
    );
    s.once('error', reject);
  });
}

/** Closed after the limit (not before half of it) and well before the old defaults (20 s and more). */
function expectClosedNearLimit(closedAfterMs: number, limit = LIMIT_MS): void {
  expect(closedAfterMs).toBeGreaterThan(limit / 2);
  expect(closedAfterMs).toBeLessThan(limit + 4_000);
}

describe('client-body-timeout (nginx client_body_timeout)', () => {
  const stalled: { name: string; head: string; sent: string }[] = [
    {
      name: 'chunked POST, one chunk, then silence',
      head: 'POST /upload HTTP/1.1\r\nHost: slow.test\r\nTransfer-Encoding: chunked\r\n\r\n',
      sent: '5\r\nhello\r\n',
    },
    {
      name: 'POST with Content-Length 100, 5 bytes, then silence',
      head: 'POST /upload HTTP/1.1\r\nHost: slow.test\r\nContent-Length: 100\r\n\r\n',
      sent: 'hello',
    },
  ];
  for (const c of stalled) {
    it(`${c.name}: 408 and the connection closed after the timeout; no upstream connection was ever opened`, async () => {
      const s = await connectPlain();
      const t0 = performance.now();
      const seen = untilClosed(s, t0);
      s.write(c.head + c.sent);
      const { text, closedAfterMs } = await seen;
      expect(text).toMatch(/^HTTP\/1\.1 408 /);
      expect(text.toLowerCase()).toContain('connection: close');
      expectClosedNearLimit(closedAfterMs);
      expect(backend.accepted).toBe(0);
      expect(backend.requests).toEqual([]);
    }, 10_000);
  }

  it('HTTP/2: a request stream with a few body bytes, then silence: 408, and the upstream never dialled', async () => {
    const session = http2.connect(`https://127.0.0.1:${gw.httpsPort}`, { rejectUnauthorized: false, servername: 'slow.test' });
    try {
      const t0 = performance.now();
      const stream = session.request({ ':method': 'POST', ':path': '/upload', ':authority': 'slow.test' }, { endStream: false });
      stream.write('hello');
      const status = await new Promise<number>((resolve, reject) => {
        stream.once('response', (h) => resolve(Number(h[':status'])));
        stream.once('error', reject);
      });
      expect(status).toBe(408);
      expect(performance.now() - t0).toBeGreaterThan(LIMIT_MS / 2);
      expect(backend.accepted).toBe(0);
      stream.destroy();
    } finally {
      session.destroy();
    }
  }, 10_000);

  it('a body larger than the buffer, then silence: the upstream request is aborted and its connection freed; the client connection closes without an answer', async () => {
    const s = await connectPlain();
    const part = 'x'.repeat(BUFFER * 2);
    const t0 = performance.now();
    const seen = untilClosed(s, t0);
    s.write(`POST /upload HTTP/1.1\r\nHost: slow.test\r\nTransfer-Encoding: chunked\r\n\r\n${part.length.toString(16)}\r\n${part}\r\n`);
    // Past the buffer, the body streams: the request reaches the backend and holds its connection while the client
    // is silent.
    const deadline = performance.now() + 2_000;
    while (backend.requests.length === 0 && performance.now() < deadline) await sleep(10);
    expect(backend.requests).toHaveLength(1);
    expect(backend.requests[0]!.connectionClosed).toBe(false);
    const { text, closedAfterMs } = await seen;
    expect(text).toBe('');
    expectClosedNearLimit(closedAfterMs);
    // The backend saw part of a request that never completed, and its connection is closed (freed), not kept.
    // (undici then dials a fresh idle connection for its pool: that one carries nothing and serves the next request.)
    await sleep(200);
    expect(backend.requests).toHaveLength(1);
    expect(backend.requests[0]).toMatchObject({ complete: false, connectionClosed: true });
    expect(backend.requests[0]!.body.length).toBeGreaterThan(0);
  }, 10_000);
});

describe('request body buffering before dialling (nginx proxy_request_buffering on, client_body_buffer_size)', () => {
  it('five clients uploading small bodies at one byte per 200 ms hold no upstream connection until each body is complete', async () => {
    const body = '0123456789';
    const uploads = Array.from({ length: 5 }, async () => {
      const s = await connectPlain();
      const seen = untilClosed(s, performance.now());
      s.write('POST /upload HTTP/1.1\r\nHost: slow.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n');
      let dialledWhileUploading = 0;
      for (const ch of body) {
        s.write(`1\r\n${ch}\r\n`);
        dialledWhileUploading = Math.max(dialledWhileUploading, backend.accepted + backend.requests.length);
        await sleep(200);
      }
      const lastByteAt = performance.now();
      s.write('0\r\n\r\n');
      const { text } = await seen;
      return { text, dialledWhileUploading, lastByteAt };
    });
    const results = await Promise.all(uploads);
    for (const r of results) {
      expect(r.dialledWhileUploading).toBe(0);
      expect(r.text).toMatch(/^HTTP\/1\.1 200 /);
      expect(r.text).toContain('got 10');
    }
    // Each request reached the backend whole, with a Content-Length (the chunked framing was the client's hop),
    // on connections opened (or taken from the pool) only after the last upload byte was sent.
    expect(backend.requests).toHaveLength(5);
    const firstLastByte = Math.min(...results.map((r) => r.lastByteAt));
    for (const r of backend.requests) {
      expect(r).toMatchObject({ method: 'POST', body, complete: true });
      expect(r.headers['content-length']).toBe('10');
      expect(r.headers['transfer-encoding']).toBeUndefined();
      expect(r.receivedAt).toBeGreaterThanOrEqual(firstLastByte);
    }
  }, 15_000);
});

describe('client-header-timeout (nginx client_header_timeout) and keepalive-timeout (keepalive_timeout)', () => {
  const cases: { name: string; connect: () => Promise<net.Socket>; send: string }[] = [
    { name: 'HTTP listener: a request head never finished', connect: connectPlain, send: 'GET / HTTP/1.1\r\nHost: slow' },
    { name: 'HTTP listener: a connection that sends nothing', connect: connectPlain, send: '' },
    {
      name: 'HTTPS listener, HTTP/1.1 by ALPN: a request head never finished',
      connect: () => connectTls(),
      send: 'GET / HTTP/1.1\r\nHost: slow',
    },
    {
      name: 'HTTPS listener: a TCP connection that never sends a ClientHello',
      connect: () =>
        new Promise((resolve, reject) => {
          const s = net.connect(gw.httpsPort, '127.0.0.1', () => resolve(s));
          s.once('error', reject);
        }),
      send: '',
    },
  ];
  // RFC 9113 3.4: the client preface, then an empty SETTINGS frame.
  const PREFACE = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]);
  const h2: { name: string; send: Buffer | null; closed: [number, number] }[] = [
    {
      name: 'a session that never sends its preface: closed after the header timeout',
      send: null,
      closed: [LIMIT_MS / 2, KEEPALIVE_MS - 500],
    },
    // nginx: an HTTP/2 connection without streams waits keepalive_timeout, as Node's server timeout does.
    {
      name: 'a session idle after its preface: closed after the keep-alive timeout',
      send: PREFACE,
      closed: [KEEPALIVE_MS - 500, KEEPALIVE_MS + 4_000],
    },
  ];
  for (const c of h2) {
    it(`HTTPS listener, HTTP/2: ${c.name}`, async () => {
      const s = await connectTls('h2');
      expect(s.alpnProtocol).toBe('h2');
      const seen = untilClosed(s, performance.now());
      if (c.send !== null) s.write(c.send);
      const { closedAfterMs } = await seen;
      expect(closedAfterMs).toBeGreaterThan(c.closed[0]);
      expect(closedAfterMs).toBeLessThan(c.closed[1]);
      expect(backend.accepted).toBe(0);
    }, 10_000);
  }

  for (const c of cases) {
    it(`${c.name}: closed after the header timeout, nothing reaches the backend`, async () => {
      const s = await c.connect();
      const seen = untilClosed(s, performance.now());
      if (c.send !== '') s.write(c.send);
      const { closedAfterMs } = await seen;
      expectClosedNearLimit(closedAfterMs);
      expect(backend.accepted).toBe(0);
    }, 10_000);
  }

  const idle: { name: string; connect: () => Promise<net.Socket> }[] = [
    { name: 'HTTP listener', connect: connectPlain },
    { name: 'HTTPS listener, HTTP/1.1', connect: () => connectTls() },
  ];
  for (const c of idle) {
    it(`${c.name}: an idle kept-alive connection closes after the keep-alive timeout`, async () => {
      const s = await c.connect();
      let t0 = 0;
      const seen = new Promise<{ text: string; closedAfterMs: number }>((resolve) => {
        let text = '';
        s.setEncoding('latin1');
        s.on('data', (d: string) => {
          text += d;
          if (t0 === 0 && text.includes('got 0')) t0 = performance.now(); // the answer is in: idle from here
        });
        s.on('error', () => {});
        s.once('close', () => resolve({ text, closedAfterMs: performance.now() - t0 }));
      });
      s.write('GET / HTTP/1.1\r\nHost: slow.test\r\n\r\n');
      const { text, closedAfterMs } = await seen;
      expect(text).toMatch(/^HTTP\/1\.1 200 /);
      expect(text.toLowerCase()).toContain('keep-alive');
      expectClosedNearLimit(closedAfterMs, KEEPALIVE_MS);
    }, 10_000);
  }
});

describe('TLS renegotiation', () => {
  it('a TLS 1.2 client asking to renegotiate is refused and its connection closed', async () => {
    const s = await connectTls('http/1.1', 'TLSv1.2');
    expect(s.getProtocol()).toBe('TLSv1.2');
    const seen = untilClosed(s, performance.now());
    const outcome = await new Promise<string>((resolve) => {
      const ok = s.renegotiate({ rejectUnauthorized: false }, (err) => resolve(err === null ? 'renegotiated' : 'refused'));
      if (!ok) resolve('refused');
      s.once('close', () => resolve('closed'));
    });
    expect(outcome).not.toBe('renegotiated');
    const { closedAfterMs } = await seen;
    expect(closedAfterMs).toBeLessThan(LIMIT_MS / 2); // closed at once, not by a timeout
    expect(backend.accepted).toBe(0);
  }, 10_000);
});
