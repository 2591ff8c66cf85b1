// --proxy-protocol (ingress-nginx's use-proxy-protocol): behind a load balancer that writes a PROXY protocol
// header, the client it names decides the access rules and reaches the backend; every other connection is
// closed without an answer. Real load balancers on loopback (TCP relays writing v1 or v2 headers from a
// trusted or an untrusted address), the real Node gateway, real TLS handshakes, a real backend.
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type Backend, type EchoReply, startBackend } from '../support/backends.ts';
import { json, request } from '../support/client.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ingress, objects, ourClass, service, tlsSecret } from '../support/manifests.ts';
import { type ProxyLb, proxyV1, proxyV2, startProxyLb } from '../support/proxy-protocol.ts';
import { generateSelfSignedCertificate } from '../../gateway/tls/selfsigned.ts';

const N = 'nginx.ingress.kubernetes.io/';
const HEADER_TIMEOUT_MS = 500;
const CLIENT = { address: '203.0.113.5', port: 40000 };
const OUTSIDER = { address: '198.51.100.1', port: 40001 };
const V6_CLIENT = { address: '2001:db8::5', port: 40002 };
const LB_HTTP = { address: '192.0.2.10', port: 80 };
const LB_HTTPS = { address: '192.0.2.10', port: 443 };

let backend: Backend;
let gw: TestGateway;
const lbs: ProxyLb[] = [];
const lb = async (target: number, header: Buffer, localAddress = '127.0.0.1'): Promise<ProxyLb> => {
  const l = await startProxyLb({ target, localAddress, header });
  lbs.push(l);
  return l;
};
let httpPort: number;

beforeAll(async () => {
  backend = await startBackend('behind-lb', '127.0.0.72');
  const cert = generateSelfSignedCertificate({ commonName: 'secure.test', keyType: 'ec' });
  gw = await startTestGateway(
    objects(
      ourClass(),
      service('web', [{ address: backend.address, port: backend.port }]),
      ingress('open', { host: 'open.test', paths: [{ path: '/', service: 'web' }] }),
      ingress('ranged', {
        host: 'ranged.test',
        paths: [{ path: '/', service: 'web' }],
        annotations: { [`${N}allowlist-source-range`]: '203.0.113.0/24' },
      }),
      ingress('secure', {
        host: 'secure.test',
        paths: [{ path: '/', service: 'web' }],
        tls: [{ hosts: ['secure.test'], secretName: 'tls' }],
      }),
      tlsSecret('tls', cert.certPem, cert.keyPem),
    ),
    undefined,
    undefined,
    { proxies: '127.0.0.1/32', header: 'X-Forwarded-For', fullChain: false },
    { headerTimeoutMs: HEADER_TIMEOUT_MS },
  );
  httpPort = gw.gw.http!.port;
});

afterAll(async () => {
  for (const l of lbs) await l.close();
  await gw?.close();
  await backend?.close();
});

/** What a raw connection to the gateway receives before it is closed (or `open` when it is still open at `ms`). */
function rawExchange(
  port: number,
  writes: (Buffer | string)[],
  o: { gapMs?: number; waitMs?: number } = {},
): Promise<{ received: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.1', noDelay: true });
    let received = '';
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ received, closed });
    };
    const timer = setTimeout(() => finish(false), o.waitMs ?? 3_000);
    s.on('data', (d: Buffer) => {
      received += d.toString('latin1');
    });
    s.on('error', () => finish(true));
    s.on('close', () => finish(true));
    s.on('connect', async () => {
      try {
        for (const w of writes) {
          s.write(w);
          await new Promise((r) => setTimeout(r, o.gapMs ?? 0));
        }
      } catch (err) {
        reject(err);
      }
    });
  });
}

/** Connections closed for `reason` so far (portico_proxy_protocol_refusals_total). */
const refusals = (reason: string): number => gw.metrics.snapshot().proxyRefusals[reason] ?? 0;

const GET = (host: string): string => `GET /hello HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;

describe('through a trusted load balancer (127.0.0.1) writing PROXY headers', () => {
  it('v1: the backend gets the PROXY source address as X-Forwarded-For and X-Real-IP, the load balancer port as X-Forwarded-Port', async () => {
    const l = await lb(httpPort, proxyV1({ source: CLIENT, destination: LB_HTTP }));
    const r = await request(`http://127.0.0.1:${l.port}/`, { host: 'open.test' });
    expect(r.status).toBe(200);
    const e = json<EchoReply>(r);
    expect(e.headers['x-forwarded-for']).toBe('203.0.113.5');
    expect(e.headers['x-real-ip']).toBe('203.0.113.5');
    expect(e.headers['x-forwarded-port']).toBe('80');
    expect(e.headers['x-forwarded-proto']).toBe('http');
  });

  it('v2 over IPv6: the IPv6 client reaches the backend', async () => {
    const l = await lb(httpPort, proxyV2({ source: V6_CLIENT, destination: { address: '2001:db8::10', port: 80 }, tlvs: 20 }));
    const r = await request(`http://127.0.0.1:${l.port}/`, { host: 'open.test' });
    expect(r.status).toBe(200);
    expect(json<EchoReply>(r).headers['x-forwarded-for']).toBe('2001:db8::5');
  });

  it('v2 LOCAL (the load balancer speaking for itself): the TCP peer is the client', async () => {
    const l = await lb(httpPort, proxyV2({ command: 'local' }));
    const r = await request(`http://127.0.0.1:${l.port}/`, { host: 'open.test' });
    expect(r.status).toBe(200);
    expect(json<EchoReply>(r).headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('an X-Forwarded-For the client wrote is not believed', async () => {
    const l = await lb(httpPort, proxyV2({ source: CLIENT, destination: LB_HTTP }));
    const r = await request(`http://127.0.0.1:${l.port}/`, { host: 'ranged.test', headers: { 'x-forwarded-for': '198.51.100.1' } });
    expect(r.status).toBe(200);
    expect(json<EchoReply>(r).headers['x-forwarded-for']).toBe('203.0.113.5');
  });

  it('allowlist-source-range is judged on the PROXY source address, not the TCP peer', async () => {
    const inside = await lb(httpPort, proxyV1({ source: CLIENT, destination: LB_HTTP }));
    const outside = await lb(httpPort, proxyV1({ source: OUTSIDER, destination: LB_HTTP }));
    expect((await request(`http://127.0.0.1:${inside.port}/`, { host: 'ranged.test' })).status).toBe(200);
    expect((await request(`http://127.0.0.1:${outside.port}/`, { host: 'ranged.test' })).status).toBe(403);
    const outsideV2 = await lb(httpPort, proxyV2({ source: OUTSIDER, destination: LB_HTTP }));
    expect((await request(`http://127.0.0.1:${outsideV2.port}/`, { host: 'ranged.test' })).status).toBe(403);
  });

  it('HTTPS: the header precedes a real TLS handshake (HTTP/1.1), the backend gets the PROXY address', async () => {
    const l = await lb(gw.httpsPort, proxyV2({ source: CLIENT, destination: LB_HTTPS }));
    const r = await request(`https://127.0.0.1:${l.port}/`, { host: 'secure.test' });
    expect(r.status).toBe(200);
    expect(r.peerFingerprint).toBeDefined();
    const e = json<EchoReply>(r);
    expect(e.headers['x-forwarded-for']).toBe('203.0.113.5');
    expect(e.headers['x-forwarded-proto']).toBe('https');
    expect(e.headers['x-forwarded-port']).toBe('443');
  });

  it('HTTPS over HTTP/2: source ranges judge the PROXY address of the connection', async () => {
    const get = async (l: ProxyLb): Promise<{ status: number; body: string }> => {
      const c = http2.connect('https://ranged.test', {
        createConnection: () =>
          tls.connect({ host: '127.0.0.1', port: l.port, servername: 'ranged.test', rejectUnauthorized: false, ALPNProtocols: ['h2'] }),
      });
      try {
        const s = c.request({ ':path': '/', ':authority': 'ranged.test' });
        const status = await new Promise<number>((resolve, reject) => {
          s.once('response', (h) => resolve(Number(h[':status'])));
          s.once('error', reject);
        });
        let body = '';
        s.on('data', (d: Buffer) => {
          body += d.toString();
        });
        await new Promise((r) => s.once('end', r));
        return { status, body };
      } finally {
        c.close();
      }
    };
    const inside = await get(await lb(gw.httpsPort, proxyV1({ source: CLIENT, destination: LB_HTTPS })));
    expect(inside.status).toBe(200);
    expect((JSON.parse(inside.body) as EchoReply).headers['x-forwarded-for']).toBe('203.0.113.5');
    expect((await get(await lb(gw.httpsPort, proxyV1({ source: OUTSIDER, destination: LB_HTTPS })))).status).toBe(403);
  });

  it('a load balancer that terminates TLS (client on its port 443, plain HTTP to the edge) is not redirected to HTTPS', async () => {
    const plain = await lb(httpPort, proxyV1({ source: CLIENT, destination: LB_HTTP }));
    expect((await request(`http://127.0.0.1:${plain.port}/`, { host: 'secure.test' })).status).toBe(308);
    const terminated = await lb(httpPort, proxyV1({ source: CLIENT, destination: LB_HTTPS }));
    const r = await request(`http://127.0.0.1:${terminated.port}/`, { host: 'secure.test' });
    expect(r.status).toBe(200);
    expect(json<EchoReply>(r).headers['x-forwarded-proto']).toBe('https');
  });

  it('a WebSocket upgrade: the backend gets the PROXY source address, source ranges judge it', async () => {
    const open = (l: ProxyLb) =>
      new Promise<{ status: number; first?: { forwardedFor: string } }>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${l.port}/chat`, { headers: { host: 'ranged.test' } });
        ws.once('message', (m) => {
          ws.close();
          resolve({ status: 101, first: JSON.parse(m.toString()) as { forwardedFor: string } });
        });
        ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0 }));
        ws.on('error', reject);
      });
    expect(await open(await lb(httpPort, proxyV2({ source: CLIENT, destination: LB_HTTP })))).toEqual({
      status: 101,
      first: expect.objectContaining({ forwardedFor: '203.0.113.5' }),
    });
    expect((await open(await lb(httpPort, proxyV2({ source: OUTSIDER, destination: LB_HTTP })))).status).toBe(403);
  });

  it('a header split across several TCP packets', async () => {
    const h = proxyV1({ source: CLIENT, destination: LB_HTTP }).toString('latin1');
    const r = await rawExchange(
      httpPort,
      [h.slice(0, 4), h.slice(4, 20), h.slice(20) + GET('open.test').slice(0, 10), GET('open.test').slice(10)],
      {
        gapMs: 40,
      },
    );
    expect(r.received).toMatch(/^HTTP\/1\.1 200 /);
    expect(r.received).toContain('"x-forwarded-for":"203.0.113.5"');
  });

  it('a header and the request in one packet', async () => {
    const r = await rawExchange(httpPort, [
      Buffer.concat([proxyV2({ source: CLIENT, destination: LB_HTTP }), Buffer.from(GET('open.test'))]),
    ]);
    expect(r.received).toMatch(/^HTTP\/1\.1 200 /);
    expect(r.received).toContain('"x-forwarded-for":"203.0.113.5"');
  });
});

describe('connections the listeners close without an answer', () => {
  it('a PROXY header from a peer outside the trusted proxies (127.0.0.2)', async () => {
    const counted = refusals('untrusted-peer');
    const l = await lb(httpPort, proxyV1({ source: CLIENT, destination: LB_HTTP }), '127.0.0.2');
    await expect(request(`http://127.0.0.1:${l.port}/`, { host: 'open.test' })).rejects.toThrow(/socket hang up|ECONNRESET/);
    const tlsLb = await lb(gw.httpsPort, proxyV1({ source: CLIENT, destination: LB_HTTPS }), '127.0.0.2');
    await expect(request(`https://127.0.0.1:${tlsLb.port}/`, { host: 'secure.test' })).rejects.toThrow(/socket|ECONNRESET|TLS/);
    expect(refusals('untrusted-peer')).toBe(counted + 2);
  });

  it.each([
    ['a request without a header (HTTP)', 'http', [GET('open.test')]],
    ['a ClientHello without a header (HTTPS)', 'https', [Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00])]],
    ['a malformed v1 header', 'http', [`PROXY TCP4 203.0.113.5 192.0.2.10 40000 99999\r\n${GET('open.test')}`]],
    ['a v2 header claiming more than the limit', 'http', [proxyV2({ command: 'local' }, 4096)]],
  ] as const)('%s', async (_name, listener, writes) => {
    const counted = refusals('invalid-header');
    const r = await rawExchange(listener === 'http' ? httpPort : gw.httpsPort, [...writes]);
    expect(r).toEqual({ received: '', closed: true });
    expect(refusals('invalid-header')).toBe(counted + 1);
  });

  it.each([
    ['http', () => httpPort],
    ['https', () => gw.httpsPort],
  ])('a silent connection to the %s listener, after the header timeout', async (_name, port) => {
    // Still open well before the timeout (the listener waits for the header) ...
    expect(await rawExchange(port(), [], { waitMs: HEADER_TIMEOUT_MS / 5 })).toEqual({ received: '', closed: false });
    // ... and closed, without a byte, once it has passed.
    const counted = refusals('timeout');
    expect(await rawExchange(port(), [], { waitMs: HEADER_TIMEOUT_MS * 6 })).toEqual({ received: '', closed: true });
    expect(refusals('timeout')).toBe(counted + 1); // the first one left before its deadline: not a refusal
  });

  it('a connection dripping a valid header slower than the timeout', async () => {
    const h = proxyV1({ source: CLIENT, destination: LB_HTTP }).toString('latin1');
    const drip = [...h.slice(0, 12)];
    const r = await rawExchange(httpPort, drip, { gapMs: HEADER_TIMEOUT_MS / 8, waitMs: HEADER_TIMEOUT_MS * 6 });
    expect(r).toEqual({ received: '', closed: true });
  });
});
