// ssl-passthrough (ingress-nginx's test/e2e/settings/ssl_passthrough.go): on the HTTPS listener, a connection whose
// ClientHello names a passthrough host is relayed untouched to the host's backend, which terminates TLS itself; every
// other connection is terminated by the worker as before. Real TLS backends on loopback with certificates made here,
// real handshakes through the real Node gateway fed by the real compiler, a real PROXY protocol load balancer.
import { X509Certificate } from 'node:crypto';
import http2 from 'node:http2';
import https from 'node:https';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { generateSelfSignedCertificate } from '../../gateway/tls/selfsigned.ts';
import { type Backend, startBackend } from '../support/backends.ts';
import { request } from '../support/client.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type EndpointSpec, ingress, objects, ourClass, service, tlsSecret } from '../support/manifests.ts';
import { clientHelloMessage, records } from '../support/client-hello.ts';
import { proxyV1, startProxyLb } from '../support/proxy-protocol.ts';
import { freePort, startLocal, waitFor } from '../support/process.ts';
import { startBlackhole } from '../support/blackhole.ts';
import type { ClusterObjects } from '../../sync/compile/types.ts';
import { compile } from '../../sync/compile/index.ts';
import { LiveTable } from '../../gateway/live.ts';
import { startTunnel, type Tunnel } from '../../gateway/tunnel/server.ts';

const PT = { 'nginx.ingress.kubernetes.io/ssl-passthrough': 'true' };
const HELLO_TIMEOUT_MS = 400;
const IDLE_TIMEOUT_MS = 600;
const CONNECT_TIMEOUT_MS = 500;
const certs = {
  backend: generateSelfSignedCertificate({ commonName: 'testpassthrough.test', dnsNames: ['testpassthrough.test'], keyType: 'ec' }),
  secret: generateSelfSignedCertificate({ commonName: 'testpassthrough.test', dnsNames: ['testpassthrough.test'], keyType: 'ec' }),
  normal: generateSelfSignedCertificate({
    commonName: 'noannotationnopassthrough.test',
    dnsNames: ['noannotationnopassthrough.test'],
    keyType: 'ec',
  }),
  default: generateSelfSignedCertificate({ commonName: 'default.invalid', keyType: 'ec' }),
};
const fp = (pem: string): string => new X509Certificate(pem).fingerprint256;

/** A backend that terminates TLS itself (HTTP/1.1 and HTTP/2 by ALPN) and says who it is and what it saw. */
interface TlsBackend {
  address: string;
  port: number;
  connections: number;
  close(): Promise<void>;
}
async function startTlsBackend(address: string): Promise<TlsBackend> {
  const state = { connections: 0 };
  const server = http2.createSecureServer({ cert: certs.backend.certPem, key: certs.backend.keyPem, allowHTTP1: true }, (req, res) => {
    const s = req.socket as tls.TLSSocket;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ backend: 'tls-backend', servername: s.servername, alpn: s.alpnProtocol, path: req.url }));
  });
  server.on('secureConnection', () => state.connections++);
  await new Promise<void>((r) => server.listen(0, address, r));
  return {
    address,
    port: (server.address() as net.AddressInfo).port,
    get connections() {
      return state.connections;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

let tlsBackend: TlsBackend;
let plain: Backend;
let gw: TestGateway;
let closedPort: number;

const world = (o: { passthrough?: boolean; passEndpoints?: EndpointSpec[] } = {}): ClusterObjects =>
  objects(
    ourClass(),
    service('echopass', o.passEndpoints ?? [{ address: tlsBackend.address, port: tlsBackend.port }]),
    service('web', [{ address: plain.address, port: plain.port }]),
    tlsSecret('pass-tls', certs.secret.certPem, certs.secret.keyPem),
    tlsSecret('normal-tls', certs.normal.certPem, certs.normal.keyPem),
    ingress('pass', {
      host: 'testpassthrough.test',
      paths: [{ path: '/', service: 'echopass' }],
      tls: [{ hosts: ['testpassthrough.test'], secretName: 'pass-tls' }],
      annotations: o.passthrough === false ? {} : PT,
    }),
    ingress('nopass', {
      host: 'noannotationnopassthrough.test',
      paths: [{ path: '/', service: 'web' }],
      tls: [{ hosts: ['noannotationnopassthrough.test'], secretName: 'normal-tls' }],
    }),
  );

beforeAll(async () => {
  tlsBackend = await startTlsBackend('127.0.0.81');
  plain = await startBackend('plain', '127.0.0.82');
  closedPort = await freePort('127.0.0.83');
  gw = await startTestGateway(world(), { connectMs: CONNECT_TIMEOUT_MS }, certs.default, undefined, undefined, {
    passthrough: { helloTimeoutMs: HELLO_TIMEOUT_MS, idleTimeoutMs: IDLE_TIMEOUT_MS },
  });
});

afterAll(async () => {
  await gw?.close();
  await tlsBackend?.close();
  await plain?.close();
});

interface Seen {
  fingerprint: string;
  status: number;
  body: string;
  alpn: string | false | null;
}

/** A real HTTPS request through port `port` with `servername` (undefined: no SNI) and Host `host`. */
function get(port: number, servername: string | undefined, host = servername ?? 'x.test', path = '/hello'): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path,
        headers: { host },
        // An empty servername sends no SNI (else https.request takes it from the Host header).
        servername: servername ?? '',
        rejectUnauthorized: false,
        agent: false,
      },
      (res) => {
        const s = res.socket as tls.TLSSocket;
        const fingerprint = s.getPeerX509Certificate()?.fingerprint256 ?? '';
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ fingerprint, status: res.statusCode ?? 0, body, alpn: s.alpnProtocol }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** What a raw connection receives before it is closed (or `closed: false` if still open after `waitMs`). */
function raw(port: number, bytes: Buffer, waitMs = 3_000): Promise<{ received: number; closed: boolean; ms: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const s = net.connect({ host: '127.0.0.1', port });
    let received = 0;
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ received, closed, ms: Date.now() - t0 });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    s.on('data', (d: Buffer) => (received += d.length));
    s.on('error', () => finish(true));
    s.on('close', () => finish(true));
    s.on('connect', () => s.write(bytes));
  });
}

const outcome = (o: string): number => gw.metrics.snapshot().passthrough?.[o] ?? 0;

describe('should pass unknown traffic to default backend and handle known traffic (settings/ssl_passthrough.go)', () => {
  const cases: { name: string; servername: string | undefined; host?: string; cert: () => string; body: RegExp }[] = [
    {
      name: "the annotated host: the client sees the BACKEND's certificate (not the worker's, not the Secret's) and the backend's answer",
      servername: 'testpassthrough.test',
      cert: () => certs.backend.certPem,
      body: /"backend":"tls-backend","servername":"testpassthrough.test"/,
    },
    {
      name: 'the SNI is matched case-insensitively, as host names are',
      servername: 'TestPassthrough.TEST',
      host: 'testpassthrough.test',
      cert: () => certs.backend.certPem,
      body: /"backend":"tls-backend"/,
    },
    {
      name: "a host without the annotation on the same listener: the worker's certificate for it and the route's backend",
      servername: 'noannotationnopassthrough.test',
      cert: () => certs.normal.certPem,
      body: /"backend":"plain"/,
    },
    {
      name: 'an unknown server name: terminated with the default certificate (no route: 404)',
      servername: 'unknown.test',
      cert: () => certs.default.certPem,
      body: /./,
    },
    {
      name: 'no SNI at all: terminated with the default certificate; Host alone never selects passthrough',
      servername: undefined,
      host: 'noannotationnopassthrough.test',
      cert: () => certs.default.certPem,
      body: /"backend":"plain"/,
    },
  ];
  for (const c of cases)
    it(c.name, async () => {
      const r = await get(gw.httpsPort, c.servername, c.host);
      expect(r.fingerprint).toBe(fp(c.cert()));
      expect(r.body).toMatch(c.body);
    });

  it('HTTP/2 is negotiated with the backend itself (ALPN travels in the relayed ClientHello)', async () => {
    const session = http2.connect(`https://127.0.0.1:${gw.httpsPort}`, { servername: 'testpassthrough.test', rejectUnauthorized: false });
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const req = session.request({ ':path': '/h2', ':authority': 'testpassthrough.test' });
        let b = '';
        req.setEncoding('utf8');
        req.on('data', (c: string) => (b += c));
        req.on('end', () => resolve(b));
        req.on('error', reject);
        req.end();
      });
      expect(JSON.parse(body)).toMatchObject({ backend: 'tls-backend', alpn: 'h2', path: '/h2' });
    } finally {
      session.close();
    }
  });

  it('should enable ssl-passthrough-proxy-port on a different port: Portico has no internal port, and an unknown host still gets 404 over HTTP', async () => {
    const r = await request(`${gw.httpUrl}/`, { host: 'something' });
    expect(r.status).toBe(404);
  });

  it('plain HTTP to the passthrough host is still served at layer 7: the 308 to HTTPS (the host has TLS)', async () => {
    const r = await request(`${gw.httpUrl}/x`, { host: 'testpassthrough.test' });
    expect(r.status).toBe(308);
    expect(r.headers.location).toBe(`https://testpassthrough.test:${gw.httpsPort}/x`);
  });

  it('counts relayed connections (portico_ssl_passthrough_connections_total{outcome="relayed"})', async () => {
    const before = outcome('relayed');
    await get(gw.httpsPort, 'testpassthrough.test');
    expect(outcome('relayed')).toBe(before + 1);
  });
});

describe('refused before TLS: closed without a byte', () => {
  const cases: { name: string; bytes: () => Buffer; outcome: string; slow?: boolean }[] = [
    {
      name: 'plain HTTP on the HTTPS port',
      bytes: () => Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n'),
      outcome: 'invalid-client-hello',
    },
    {
      name: 'a ClientHello with two server names (RFC 6066)',
      bytes: () => records(clientHelloMessage({ serverNames: ['testpassthrough.test', 'noannotationnopassthrough.test'] })),
      outcome: 'invalid-client-hello',
    },
    {
      name: 'a ClientHello announced over 16 KiB',
      bytes: () => Buffer.from([22, 3, 1, 0, 4, 1, 0, 0x50, 0]),
      outcome: 'invalid-client-hello',
    },
    {
      name: 'half a ClientHello, then silence: closed at the ClientHello deadline',
      bytes: () => records(clientHelloMessage({ serverNames: ['testpassthrough.test'] })).subarray(0, 30),
      outcome: 'client-hello-timeout',
      slow: true,
    },
  ];
  for (const c of cases)
    it(c.name, async () => {
      const before = outcome(c.outcome);
      const r = await raw(gw.httpsPort, c.bytes());
      expect(r).toMatchObject({ received: 0, closed: true });
      if (c.slow === true) expect(r.ms).toBeGreaterThanOrEqual(HELLO_TIMEOUT_MS - 50);
      expect(outcome(c.outcome)).toBe(before + 1);
    });

  it('a relayed connection silent in both directions is closed after the idle timeout', async () => {
    const s = tls.connect({ host: '127.0.0.1', port: gw.httpsPort, servername: 'testpassthrough.test', rejectUnauthorized: false });
    const t0 = Date.now();
    await new Promise<void>((resolve, reject) => {
      s.once('secureConnect', () => resolve());
      s.once('error', reject);
    });
    expect(s.getPeerX509Certificate()?.fingerprint256).toBe(fp(certs.backend.certPem));
    await new Promise<void>((resolve) => s.once('close', () => resolve()));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(IDLE_TIMEOUT_MS - 50);
  });
});

describe("the passthrough backend's endpoints", () => {
  it('a one-label wildcard passthrough host: a name under it is relayed, the bare domain and two labels down are not', async () => {
    const withWildcard = world();
    withWildcard.ingresses = [
      ...withWildcard.ingresses,
      ingress('wild', { host: '*.wild.test', paths: [{ path: '/', service: 'echopass' }], annotations: PT }),
    ];
    gw.apply(withWildcard);
    try {
      expect((await get(gw.httpsPort, 'a.wild.test')).fingerprint).toBe(fp(certs.backend.certPem));
      expect((await get(gw.httpsPort, 'wild.test')).fingerprint).toBe(fp(certs.default.certPem));
      expect((await get(gw.httpsPort, 'a.b.wild.test')).fingerprint).toBe(fp(certs.default.certPem));
    } finally {
      gw.apply(world());
    }
  });

  it("a refused endpoint: the next one of the backend is dialled (the balancer's order, then the rest)", async () => {
    gw.apply(
      world({
        passEndpoints: [
          { address: '127.0.0.83', port: tlsBackend.port },
          { address: tlsBackend.address, port: tlsBackend.port },
        ],
      }),
    );
    try {
      for (let i = 0; i < 2; i++) expect((await get(gw.httpsPort, 'testpassthrough.test')).fingerprint).toBe(fp(certs.backend.certPem));
    } finally {
      gw.apply(world());
    }
  });

  it('an endpoint that never answers the connect: given up after the connect timeout, the connection closed (connect-failed)', async () => {
    const hole = await startBlackhole('127.0.0.84');
    gw.apply(world({ passEndpoints: [{ address: hole.address, port: hole.port }] }));
    try {
      const before = outcome('connect-failed');
      const t0 = Date.now();
      await expect(get(gw.httpsPort, 'testpassthrough.test')).rejects.toThrow(/socket hang up|ECONNRESET|disconnected/);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_MS - 100);
      expect(outcome('connect-failed')).toBe(before + 1);
    } finally {
      hole.close();
      gw.apply(world());
    }
  });

  const closedCases: { name: string; objects: () => ClusterObjects; outcome: string }[] = [
    {
      name: "every endpoint refuses: the client's connection is closed (connect-failed)",
      objects: () => world({ passEndpoints: [{ address: '127.0.0.83', port: closedPort }] }),
      outcome: 'connect-failed',
    },
    {
      name: 'no ready endpoint: closed before any dial (no-endpoint)',
      objects: () => world({ passEndpoints: [{ address: tlsBackend.address, port: tlsBackend.port, ready: false }] }),
      outcome: 'no-endpoint',
    },
  ];
  for (const c of closedCases)
    it(c.name, async () => {
      gw.apply(c.objects());
      try {
        const before = outcome(c.outcome);
        await expect(get(gw.httpsPort, 'testpassthrough.test')).rejects.toThrow(/socket hang up|ECONNRESET|disconnected/);
        expect(outcome(c.outcome)).toBe(before + 1);
      } finally {
        gw.apply(world());
      }
    });

  it('without a passthrough host in the table the listener does not read ClientHellos: garbage is refused by the TLS server, uncounted', async () => {
    gw.apply(world({ passthrough: false }));
    try {
      const before = JSON.stringify(gw.metrics.snapshot().passthrough);
      const r = await raw(gw.httpsPort, Buffer.from('GET / HTTP/1.1\r\n\r\n'));
      expect(r.closed).toBe(true);
      expect(JSON.stringify(gw.metrics.snapshot().passthrough)).toBe(before);
      // and the host is terminated with its Secret's certificate
      expect((await get(gw.httpsPort, 'testpassthrough.test')).fingerprint).toBe(fp(certs.secret.certPem));
    } finally {
      gw.apply(world());
    }
  });
});

describe('with --proxy-protocol: the PROXY header first, then the ClientHello', () => {
  let ppGw: TestGateway;
  beforeAll(async () => {
    ppGw = await startTestGateway(
      world(),
      {},
      certs.default,
      { proxies: '127.0.0.1/32', header: 'X-Forwarded-For', fullChain: false },
      { headerTimeoutMs: 1_000 },
    );
  });
  afterAll(async () => ppGw?.close());

  it('the passthrough backend gets the TLS stream alone (no PROXY header is forwarded): its own handshake succeeds', async () => {
    const lb = await startProxyLb({
      target: ppGw.httpsPort,
      localAddress: '127.0.0.1',
      header: proxyV1({ source: { address: '203.0.113.5', port: 40000 }, destination: { address: '192.0.2.10', port: 443 } }),
    });
    try {
      const pass = await get(lb.port, 'testpassthrough.test');
      expect(pass.fingerprint).toBe(fp(certs.backend.certPem));
      expect(pass.body).toMatch(/"backend":"tls-backend"/);
      const normal = await get(lb.port, 'noannotationnopassthrough.test');
      expect(normal.fingerprint).toBe(fp(certs.normal.certPem));
      expect(JSON.parse(normal.body).headers['x-forwarded-for']).toBe('203.0.113.5');
    } finally {
      await lb.close();
    }
  });
});

describe('through the node-local tunnel (--tunnel): an HTTP CONNECT per relayed connection', () => {
  let tunnel: Tunnel;
  let tgw: TestGateway;
  const socketPath = join(mkdtempSync(join(tmpdir(), 'portico-pt-tunnel-')), 'tunnel.sock');
  beforeAll(async () => {
    const live = new LiveTable();
    const r = compile(world());
    live.swap(r.table, r.certificates);
    tunnel = await startTunnel({
      live,
      listen: { path: socketPath },
      timeouts: { connectMs: CONNECT_TIMEOUT_MS, headersMs: 5_000, bodyMs: 5_000 },
      log: () => {},
    });
    tgw = await startTestGateway(world(), {}, certs.default, undefined, undefined, { tunnel: { path: socketPath } });
  });
  afterAll(async () => {
    await tgw?.close();
    await tunnel?.close();
  });

  it("the passthrough host: the backend's certificate and answer, through one tunnel stream", async () => {
    const streams = tunnel.stats.streams;
    const r = await get(tgw.httpsPort, 'testpassthrough.test');
    expect(r.fingerprint).toBe(fp(certs.backend.certPem));
    expect(r.body).toMatch(/"backend":"tls-backend"/);
    expect(tunnel.stats.streams).toBe(streams + 1);
    expect(tgw.metrics.snapshot().passthrough?.relayed).toBe(1);
  });

  it('another host on the same listener: terminated by the worker, its request relayed over HTTP by the tunnel', async () => {
    const r = await get(tgw.httpsPort, 'noannotationnopassthrough.test');
    expect(r.fingerprint).toBe(fp(certs.normal.certPem));
    expect(r.body).toMatch(/"backend":"plain"/);
  });

  /** The status line the tunnel answers a raw CONNECT with, and its portico-tunnel-error. */
  const connect = (target: string, endpointHeader: string | null): Promise<{ status: string; error: string | null }> =>
    new Promise((resolve, reject) => {
      const s = net.connect({ path: socketPath });
      let got = '';
      s.on('data', (d: Buffer) => {
        got += d.toString('latin1');
        if (got.includes('\r\n\r\n')) {
          s.destroy();
          resolve({ status: got.slice(0, got.indexOf('\r\n')), error: /portico-tunnel-error: (\S+)/i.exec(got)?.[1] ?? null });
        }
      });
      s.on('error', reject);
      s.write(
        `CONNECT ${target} HTTP/1.1\r\nhost: ${target}\r\n${endpointHeader === null ? '' : `portico-endpoint: ${endpointHeader}\r\n`}\r\n`,
      );
    });
  const tlsKey = () => `${tlsBackend.address}:${tlsBackend.port}`;
  const plainKey = () => `${plain.address}:${plain.port}`;
  const cases: { name: string; target: () => string; header: () => string | null; status: RegExp; error: string | null }[] = [
    { name: 'an endpoint of a passthrough backend: 200, the stream opens', target: tlsKey, header: tlsKey, status: / 200 /, error: null },
    {
      name: 'an endpoint the table reaches over HTTP only: 403, never a raw stream',
      target: plainKey,
      header: plainKey,
      status: / 403 /,
      error: 'PORTICO_TUNNEL_DENIED',
    },
    {
      name: 'an address outside the verified table: 403',
      target: () => '127.0.0.99:443',
      header: () => '127.0.0.99:443',
      status: / 403 /,
      error: 'PORTICO_TUNNEL_DENIED',
    },
    { name: 'no portico-endpoint header: 400', target: tlsKey, header: () => null, status: / 400 /, error: 'PORTICO_TUNNEL_BAD_REQUEST' },
    {
      name: 'a header that is not the CONNECT target: 400',
      target: plainKey,
      header: tlsKey,
      status: / 400 /,
      error: 'PORTICO_TUNNEL_BAD_REQUEST',
    },
  ];
  for (const c of cases)
    it(`CONNECT to the tunnel: ${c.name}`, async () => {
      const r = await connect(c.target(), c.header());
      expect(r.status).toMatch(c.status);
      expect(r.error).toBe(c.error);
    });
});

describe('portico local (a real process) with an ssl-passthrough Ingress', () => {
  it.each([1, 2])("with %i worker process(es): the backend's certificate and answer, the metric on /metrics", async (workers) => {
    const dir = mkdtempSync(join(tmpdir(), 'portico-pt-'));
    try {
      writeFileSync(
        join(dir, 'app.yaml'),
        [
          ourClass(),
          ...service('echopass', [{ address: tlsBackend.address, port: tlsBackend.port }]),
          ingress('pass', { host: 'testpassthrough.test', paths: [{ path: '/', service: 'echopass' }], annotations: PT }),
        ]
          .map((o) => stringify(o))
          .join('---\n'),
      );
      const p = await startLocal(dir, ['--workers', String(workers)]);
      try {
        for (let i = 0; i < 2; i++) {
          const r = await get(p.https, 'testpassthrough.test');
          expect(r.fingerprint).toBe(fp(certs.backend.certPem));
          expect(r.body).toMatch(/"backend":"tls-backend"/);
        }
        const other = await get(p.https, 'other.test');
        expect(other.fingerprint).not.toBe(fp(certs.backend.certPem));
        await waitFor(async () =>
          /^portico_ssl_passthrough_connections_total\{outcome="relayed"\} 2$/m.test(await (await fetch(`${p.admin}/metrics`)).text()),
        );
      } finally {
        expect(await p.stop()).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
