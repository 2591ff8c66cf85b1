// HTTPS through real TLS handshakes: the certificate served per SNI, the default certificate, HTTP/2 by
// ALPN, HTTP → HTTPS redirects, and WebSocket upgrades on both ports.
import { X509Certificate } from 'node:crypto';
import http2 from 'node:http2';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { generateSelfSignedCertificate } from '../../gateway/tls/selfsigned.ts';
import { startBackend, type Backend, type EchoReply } from '../support/backends.ts';
import { json, request } from '../support/client.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ingress, objects, ourClass, service, tlsSecret } from '../support/manifests.ts';

const ca = generateSelfSignedCertificate({ commonName: 'Portico Test CA', isCA: true, keyType: 'ec' });
const leaf = (name: string, keyType: 'rsa' | 'ec') =>
  generateSelfSignedCertificate({ commonName: name, dnsNames: [name], keyType, issuer: ca });
const certs = {
  rsa: leaf('secure.test', 'rsa'),
  ec: leaf('ec.test', 'ec'),
  wild: leaf('*.wild.test', 'rsa'),
  plain: leaf('plain.test', 'ec'),
  default: generateSelfSignedCertificate({ commonName: 'default.invalid', keyType: 'rsa' }),
};
const fp = (pem: string) => new X509Certificate(pem).fingerprint256;

let backend: Backend;
let gw: TestGateway;

/** The cluster of these tests; `secureCert` is the certificate in Secret s-rsa (rotation swaps it). */
const world = (secureCert = certs.rsa) =>
  objects(
    ourClass(),
    service('web', [{ address: backend.address, port: backend.port }]),
    tlsSecret('s-rsa', secureCert.certPem, secureCert.keyPem),
    tlsSecret('s-ec', certs.ec.certPem, certs.ec.keyPem),
    tlsSecret('s-wild', certs.wild.certPem, certs.wild.keyPem),
    tlsSecret('s-plain', certs.plain.certPem, certs.plain.keyPem),
    ingress('secure', {
      host: 'secure.test',
      paths: [{ path: '/', service: 'web' }],
      tls: [{ hosts: ['secure.test'], secretName: 's-rsa' }],
    }),
    ingress('ec', { host: 'ec.test', paths: [{ path: '/', service: 'web' }], tls: [{ hosts: ['ec.test'], secretName: 's-ec' }] }),
    ingress('wild', {
      host: '*.wild.test',
      paths: [{ path: '/', service: 'web' }],
      tls: [{ hosts: ['*.wild.test'], secretName: 's-wild' }],
    }),
    ingress('plain', {
      host: 'plain.test',
      paths: [{ path: '/', service: 'web' }],
      tls: [{ hosts: ['plain.test'], secretName: 's-plain' }],
      annotations: { 'portico.dev/ssl-redirect': 'false' },
    }),
    ingress('nocert', {
      host: 'nocert.test',
      paths: [{ path: '/', service: 'web' }],
      tls: [{ hosts: ['nocert.test'], secretName: 'missing' }],
    }),
    ingress('http-only', { host: 'http.test', paths: [{ path: '/', service: 'web' }] }),
  );

beforeAll(async () => {
  backend = await startBackend('tls-b', '127.0.0.40');
  gw = await startTestGateway(world(), {}, certs.default);
});

afterAll(async () => {
  await gw?.close();
  await backend?.close();
});

/** The certificate a bare TLS handshake gets for `servername` (undefined: no SNI at all). */
function handshake(
  servername: string | undefined,
  alpn = ['http/1.1'],
): Promise<{ fingerprint: string; authorized: boolean; protocol: string | false | null }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect(
      {
        host: '127.0.0.1',
        port: gw.httpsPort,
        ...(servername ? { servername } : {}),
        ca: ca.certPem,
        rejectUnauthorized: false,
        ALPNProtocols: alpn,
      },
      () => {
        resolve({ fingerprint: s.getPeerCertificate().fingerprint256, authorized: s.authorized, protocol: s.alpnProtocol });
        s.end();
      },
    );
    s.on('error', reject);
  });
}

describe('certificate by SNI', () => {
  it.each([
    ['an RSA certificate for its host', 'secure.test', 'rsa', true],
    ['an ECDSA certificate for its host', 'ec.test', 'ec', true],
    ['a wildcard certificate for one extra label', 'a.wild.test', 'wild', true],
    ['the default certificate for an unknown name', 'unknown.test', 'default', false],
    ['the default certificate when the Secret is missing', 'nocert.test', 'default', false],
    ['the default certificate for two extra labels under a wildcard', 'a.b.wild.test', 'default', false],
    ['the right certificate whatever the case of the name', 'SECURE.test', 'rsa', true],
  ] as const)('%s (%s)', async (_n, name, which, trusted) => {
    const h = await handshake(name);
    expect(h.fingerprint).toBe(fp(certs[which].certPem));
    expect(h.authorized).toBe(trusted);
  });

  it('serves the default certificate to a client that sends no SNI', async () => {
    expect((await handshake(undefined)).fingerprint).toBe(fp(certs.default.certPem));
  });

  it('alternates RSA and ECDSA names on one listener without mixing them up', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await handshake('ec.test')).fingerprint).toBe(fp(certs.ec.certPem));
      expect((await handshake('secure.test')).fingerprint).toBe(fp(certs.rsa.certPem));
    }
  });

  it('serves a rotated certificate after a table swap', async () => {
    const rotated = leaf('secure.test', 'ec');
    const before = gw.live.table!.version;
    gw.apply(world(rotated));
    try {
      expect(gw.live.table!.version).not.toBe(before);
      expect((await handshake('secure.test')).fingerprint).toBe(fp(rotated.certPem));
    } finally {
      gw.apply(world());
    }
  });
});

describe('HTTPS requests', () => {
  it('HTTP/1.1 over TLS reaches the backend with X-Forwarded-Proto https', async () => {
    const r = await request(`https://127.0.0.1:${gw.httpsPort}/x`, { host: 'secure.test' });
    expect(r.status).toBe(200);
    expect(r.peerFingerprint).toBe(fp(certs.rsa.certPem));
    const e = json<EchoReply>(r);
    expect(e.headers['x-forwarded-proto']).toBe('https');
    expect(e.headers['x-forwarded-port']).toBe(String(gw.httpsPort));
  });

  it('HTTP/2 is negotiated by ALPN and proxied (upstream hop-by-hop headers do not break it)', async () => {
    expect((await handshake('secure.test', ['h2', 'http/1.1'])).protocol).toBe('h2');
    const client = http2.connect(`https://127.0.0.1:${gw.httpsPort}`, {
      servername: 'secure.test',
      ca: ca.certPem,
      checkServerIdentity: () => undefined,
    });
    try {
      const { status, headers, body } = await new Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }>(
        (resolve, reject) => {
          const req = client.request({
            ':path': '/h2?q=1',
            ':authority': 'secure.test',
            ':method': 'POST',
            'content-type': 'text/plain',
            cookie: ['a=1', 'b=2'],
          });
          let body = '';
          let headers: http2.IncomingHttpHeaders = {};
          req.on('response', (h) => (headers = h));
          req.on('data', (c) => (body += c));
          req.on('end', () => resolve({ status: Number(headers[':status']), headers, body }));
          req.on('error', reject);
          req.end('h2 body');
        },
      );
      expect(status).toBe(200);
      expect(headers['set-cookie']).toEqual(['a=1', 'b=2']);
      const e = JSON.parse(body) as EchoReply;
      expect(e.headers.host).toBe('secure.test');
      expect(e.url).toBe('/h2?q=1');
      expect(e.body).toBe('h2 body');
      // Split h2 cookie fields joined into one HTTP/1.1 field (rawHeaders: Node's parsed headers would join them anyway).
      const cookies = e.rawHeaders.filter((_v, i) => i % 2 === 0 && e.rawHeaders[i]!.toLowerCase() === 'cookie').length;
      expect(cookies).toBe(1);
      expect(e.headers.cookie).toBe('a=1; b=2');
      expect(Object.keys(e.headers).some((k) => k.startsWith(':'))).toBe(false);
    } finally {
      client.close();
    }
  });
});

describe('HTTP → HTTPS redirect', () => {
  it('redirects a TLS host with 308 to the HTTPS port, keeping path and query', async () => {
    const r = await request(`${gw.httpUrl}/a/b?c=d`, { host: 'secure.test' });
    expect(r.status).toBe(308);
    expect(r.headers.location).toBe(`https://secure.test:${gw.httpsPort}/a/b?c=d`);
    expect(r.headers.server).toBe('portico');
  });
  it('redirects even when the certificate is missing (the default one is served)', async () => {
    expect((await request(`${gw.httpUrl}/`, { host: 'nocert.test' })).status).toBe(308);
  });
  it('does not redirect when the Ingress turns it off', async () => {
    expect((await request(`${gw.httpUrl}/`, { host: 'plain.test' })).status).toBe(200);
  });
  it('does not redirect hosts without TLS', async () => {
    expect((await request(`${gw.httpUrl}/`, { host: 'http.test' })).status).toBe(200);
  });
  it('lets ACME HTTP-01 challenges through on plain HTTP', async () => {
    const r = await request(`${gw.httpUrl}/.well-known/acme-challenge/token`, { host: 'secure.test' });
    expect(r.status).toBe(200);
  });
});

describe('WebSocket', () => {
  const open = (url: string, o: WebSocket.ClientOptions) =>
    new Promise<{ first: string; echo: string }>((resolve, reject) => {
      const ws = new WebSocket(url, o);
      let first = '';
      ws.on('message', (d) => {
        if (first === '') {
          first = d.toString();
          ws.send('hi');
        } else {
          resolve({ first, echo: d.toString() });
          ws.close();
        }
      });
      ws.on('error', reject);
      ws.on('unexpected-response', (_req, res) => reject(new Error(`unexpected ${res.statusCode}`)));
    });

  it('proxies an upgrade on the HTTP port', async () => {
    const r = await open(`ws://127.0.0.1:${gw.gw.http!.port}/chat`, { headers: { host: 'http.test' } });
    expect(JSON.parse(r.first)).toMatchObject({ backend: 'tls-b', url: '/chat', forwardedFor: '127.0.0.1' });
    expect(r.echo).toBe('echo:hi');
  });

  it('proxies an upgrade on the HTTPS port', async () => {
    const r = await open(`wss://127.0.0.1:${gw.httpsPort}/secure-chat`, {
      headers: { host: 'secure.test' },
      servername: 'secure.test',
      rejectUnauthorized: false,
    } as WebSocket.ClientOptions);
    expect(JSON.parse(r.first)).toMatchObject({ backend: 'tls-b', url: '/secure-chat' });
    expect(r.echo).toBe('echo:hi');
  });

  it('answers an upgrade for an unknown host with 404 instead of hanging', async () => {
    await expect(open(`ws://127.0.0.1:${gw.gw.http!.port}/`, { headers: { host: 'nobody.test' } })).rejects.toThrow('unexpected 404');
  });

  it("passes on the application's refusal of an upgrade (401) instead of hanging", async () => {
    await expect(open(`ws://127.0.0.1:${gw.gw.http!.port}/ws-reject`, { headers: { host: 'http.test' } })).rejects.toThrow(
      'unexpected 401',
    );
  });

  it('redirects a plain-HTTP upgrade on a TLS host', async () => {
    await expect(open(`ws://127.0.0.1:${gw.gw.http!.port}/`, { headers: { host: 'secure.test' } })).rejects.toThrow('unexpected 308');
  });
});
