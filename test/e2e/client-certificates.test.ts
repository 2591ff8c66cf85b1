// Client certificates (auth-tls-*) end to end: the real Node gateway fed by the real compiler, real TLS handshakes
// with real client certificates, a real backend on loopback. Cases mirror ingress-nginx's
// test/e2e/annotations/authtls.go (named in each case) and its annotation docs; every refused request is checked
// never to reach the backend.
import http2 from 'node:http2';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, type EchoReply, startBackend } from '../support/backends.ts';
import { type ClientPki, makeClientPki } from '../support/client-pki.ts';
import { json, type Reply, request } from '../support/client.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type AnyObject, ingress, objects, ourClass, service, tlsSecret } from '../support/manifests.ts';
import { makeCert } from '../compile/certs.ts';
import type { ClusterObjects } from '../../sync/compile/types.ts';

const N = 'nginx.ingress.kubernetes.io/';
const ERROR_PAGE = 'https://errors.example/auth-tls';

let pki: ClientPki;
let backend: Backend;
let gw: TestGateway;

const caSecret = (name: string, values: Record<string, string>): AnyObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { namespace: 'default', name },
  type: 'Opaque',
  data: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
});

/** One Ingress per host, TLS for every host with one wildcard-free certificate, the client CA in `ca`. */
function cluster(caPem: string): ClusterObjects {
  const hosts = ['on', 'off', 'page', 'optional', 'noca', 'cn', 'depth2', 'shared', 'missing', 'noca-key', 'badverify', 'open'].map(
    (h) => `${h}.test`,
  );
  const cert = makeCert({ cn: 'client-cert tests', sans: hosts });
  const app = (name: string, annotations: Record<string, string>, host = `${name}.test`, created?: string) =>
    ingress(name, {
      host,
      paths: [{ path: name === 'shared-b' ? '/b' : '/', service: 'app' }],
      tls: [{ hosts: [host], secretName: 'site' }],
      annotations,
      ...(created === undefined ? {} : { created }),
    });
  const tls = (more: Record<string, string> = {}) => ({ [`${N}auth-tls-secret`]: 'default/ca', ...more });
  return objects(
    ourClass(),
    service('app', [{ address: backend.address, port: backend.port }]),
    tlsSecret('site', cert.certPem, cert.keyPem),
    caSecret('ca', { 'ca.crt': caPem }),
    caSecret('no-ca-key', { 'tls.crt': caPem }),
    app('on', tls()),
    app('off', tls({ [`${N}auth-tls-verify-client`]: 'off', [`${N}auth-tls-verify-depth`]: '2' })),
    app('page', tls({ [`${N}auth-tls-error-page`]: ERROR_PAGE, [`${N}auth-tls-pass-certificate-to-upstream`]: 'true' })),
    app('optional', tls({ [`${N}auth-tls-verify-client`]: 'optional' })),
    app('noca', tls({ [`${N}auth-tls-verify-client`]: 'optional_no_ca' })),
    app('cn', tls({ [`${N}auth-tls-match-cn`]: 'CN=client-one' })),
    app('depth2', tls({ [`${N}auth-tls-verify-depth`]: '2' })),
    // Two Ingresses on one host: the older one's client certificate check guards the younger one's path too.
    app('shared-a', tls(), 'shared.test', '2026-01-01T00:00:00Z'),
    app('shared-b', {}, 'shared.test', '2026-01-02T00:00:00Z'),
    app('missing', { [`${N}auth-tls-secret`]: 'default/nothing' }),
    app('noca-key', { [`${N}auth-tls-secret`]: 'default/no-ca-key' }),
    app('badverify', tls({ [`${N}auth-tls-verify-client`]: 'yes' })),
    app('open', {}),
  );
}

beforeAll(async () => {
  pki = makeClientPki();
  backend = await startBackend('app', '127.0.0.72');
  gw = await startTestGateway(cluster(pki.caPem));
});

afterAll(async () => {
  await gw?.close();
  await backend?.close();
});

const https = (
  host: string,
  o: { cert?: { certPem: string; keyPem: string }; servername?: string; headers?: Record<string, string> } = {},
) =>
  request(`https://127.0.0.1:${gw.httpsPort}/`, {
    host,
    ...(o.cert === undefined ? {} : { clientCertificate: o.cert }),
    ...(o.servername === undefined ? {} : { servername: o.servername }),
    ...(o.headers === undefined ? {} : { headers: o.headers }),
  });

/** What the backend saw of the client certificate. */
const seen = (r: Reply) => {
  const h = json<EchoReply>(r).headers;
  return {
    verify: h['ssl-client-verify'],
    subject: h['ssl-client-subject-dn'],
    issuer: h['ssl-client-issuer-dn'],
    cert: h['ssl-client-cert'],
  };
};

/** A refused request never reaches the backend. */
async function refused(send: () => Promise<Reply>, status: number): Promise<Reply> {
  const before = backend.requests;
  const r = await send();
  expect(r.status).toBe(status);
  expect(backend.requests).toBe(before);
  return r;
}

describe('auth-tls-secret with the default verify-client "on" (authtls.go: should set valid auth-tls-secret)', () => {
  it('answers 400 without a client certificate', async () => {
    await refused(() => https('on.test'), 400);
  });
  it('serves a client whose certificate the authority signed, and tells the upstream who it is', async () => {
    const r = await https('on.test', { cert: pki.one });
    expect(r.status).toBe(200);
    expect(seen(r)).toEqual({
      verify: 'SUCCESS',
      subject: 'O=Portico tests,CN=client-one',
      issuer: 'CN=Portico test client CA',
      cert: undefined, // only with auth-tls-pass-certificate-to-upstream
    });
  });
  it('answers 400 to a certificate another authority signed', async () => {
    await refused(() => https('on.test', { cert: pki.stranger }), 400);
  });
  it("replaces the client's own ssl-client-* headers", async () => {
    const forged = { 'ssl-client-verify': 'SUCCESS', 'ssl-client-subject-dn': 'CN=admin', 'ssl-client-cert': 'forged' };
    const r = await https('on.test', { cert: pki.two, headers: forged });
    expect(seen(r)).toEqual({
      verify: 'SUCCESS',
      subject: 'O=Portico tests,CN=client-two',
      issuer: 'CN=Portico test client CA',
      cert: undefined,
    });
  });
  it('serves HTTP/2 requests on a verified connection', async () => {
    const session = http2.connect(`https://127.0.0.1:${gw.httpsPort}`, {
      servername: 'on.test',
      rejectUnauthorized: false,
      cert: pki.one.certPem,
      key: pki.one.keyPem,
    });
    try {
      const ask = (authority: string) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const s = session.request({ ':path': '/', ':authority': authority });
          let body = '';
          let status = 0;
          s.on('response', (h) => void (status = Number(h[':status'])));
          s.on('data', (c: Buffer) => void (body += c.toString()));
          s.on('end', () => resolve({ status, body }));
          s.on('error', reject);
          s.end();
        });
      const ok = await ask('on.test');
      expect(ok.status).toBe(200);
      expect((JSON.parse(ok.body) as EchoReply).headers['ssl-client-verify']).toBe('SUCCESS');
      // The same connection reused for a host whose handshake it was not: Misdirected Request, so the client
      // opens a connection of its own for that host (RFC 9110 §15.5.20).
      expect((await ask('optional.test')).status).toBe(421);
    } finally {
      session.close();
    }
  });
});

describe('auth-tls-verify-client', () => {
  it('"off" asks for no certificate and serves everyone (authtls.go: sslVerify to off, sslVerifyDepth to 2)', async () => {
    const r = await https('off.test');
    expect(r.status).toBe(200);
    expect(seen(r).verify).toBe('NONE');
  });
  it('"optional" serves a client without a certificate and passes the result upstream', async () => {
    const r = await https('optional.test');
    expect(r.status).toBe(200);
    expect(seen(r)).toEqual({ verify: 'NONE', subject: undefined, issuer: undefined, cert: undefined });
  });
  it('"optional" still refuses a certificate that does not verify', async () => {
    await refused(() => https('optional.test', { cert: pki.stranger }), 400);
    expect((await https('optional.test', { cert: pki.one })).status).toBe(200);
  });
  it('"optional_no_ca" serves any certificate and passes the verification failure upstream', async () => {
    const r = await https('noca.test', { cert: pki.stranger });
    expect(r.status).toBe(200);
    expect(seen(r).verify).toMatch(/^FAILED:/);
    expect(seen(r).subject).toBe('O=Portico tests,CN=client-one');
    expect(seen(r).issuer).toBe('CN=Another client CA');
  });
});

describe('auth-tls-error-page and auth-tls-pass-certificate-to-upstream (authtls.go: pass certificate to upstream, and error page)', () => {
  it('redirects a client without a certificate to the error page with 302', async () => {
    const r = await refused(() => https('page.test'), 302);
    expect(r.headers.location).toBe(ERROR_PAGE);
  });
  it('sends the PEM certificate upstream, URL-encoded, as nginx $ssl_client_escaped_cert', async () => {
    const r = await https('page.test', { cert: pki.one });
    expect(r.status).toBe(200);
    expect(decodeURIComponent(seen(r).cert as string)).toBe(pki.one.certPem);
    expect(seen(r).cert).toMatch(/^-----BEGIN%20CERTIFICATE-----%0A/);
  });
});

describe('auth-tls-match-cn', () => {
  it('serves a subject that matches and answers 403 to another one of the same authority', async () => {
    expect((await https('cn.test', { cert: pki.one })).status).toBe(200);
    await refused(() => https('cn.test', { cert: pki.two }), 403);
  });
});

describe('auth-tls-verify-depth (OpenSSL depth: the intermediates allowed below the trusted root)', () => {
  it('the default depth 1 accepts one intermediate and refuses two', async () => {
    expect((await https('on.test', { cert: pki.deep })).status).toBe(200);
    await refused(() => https('on.test', { cert: pki.deeper }), 400);
  });
  it('depth 2 accepts two', async () => {
    expect((await https('depth2.test', { cert: pki.deeper })).status).toBe(200);
  });
});

describe('per host, whatever Ingress owns the path', () => {
  it("guards a younger Ingress's path on the host with the older Ingress's check", async () => {
    await refused(() => request(`https://127.0.0.1:${gw.httpsPort}/b`, { host: 'shared.test' }), 400);
    const r = await request(`https://127.0.0.1:${gw.httpsPort}/b`, { host: 'shared.test', clientCertificate: pki.one });
    expect(r.status).toBe(200);
  });
  it('asks nothing of clients of other hosts', async () => {
    expect((await https('open.test')).status).toBe(200);
  });
  it('answers 421 when the TLS server name was another host than the Host header', async () => {
    await refused(() => https('on.test', { servername: 'open.test', cert: pki.one }), 421);
  });
  it('refuses plain HTTP without a certificate instead of serving it unchecked', async () => {
    // ssl-redirect (on by default for a host with TLS) sends plain HTTP to HTTPS first, as nginx does.
    const redirect = await request(`${gw.httpUrl}/`, { host: 'on.test' });
    expect(redirect.status).toBe(308);
    const noRedirect = gw.apply(
      objects(
        ourClass(),
        service('app', [{ address: backend.address, port: backend.port }]),
        caSecret('ca', { 'ca.crt': pki.caPem }),
        ingress('plain', {
          host: 'plain.test',
          paths: [{ path: '/', service: 'app' }],
          annotations: { [`${N}auth-tls-secret`]: 'default/ca' },
        }),
      ),
    );
    expect(noRedirect.table.hosts.find((h) => h.host === 'plain.test')?.clientCertificate?.verify).toBe('on');
    try {
      await refused(() => request(`${gw.httpUrl}/`, { host: 'plain.test' }), 400);
    } finally {
      gw.apply(cluster(pki.caPem));
    }
  });
});

describe('fail closed', () => {
  for (const [name, host] of [
    ['a Secret that does not exist', 'missing.test'],
    ['a Secret without ca.crt', 'noca-key.test'],
    ['an auth-tls-verify-client ingress-nginx does not know', 'badverify.test'],
  ] as const) {
    it(`${name}: every route of the host answers 503, also with a good certificate`, async () => {
      await refused(() => https(host, { cert: pki.one }), 503);
    });
  }
});

describe('TLS session resumption', () => {
  /** A raw HTTP/1.1 request on a TLS connection that offers `session` (a ticket or id from an earlier handshake). */
  const raw = (servername: string, o: { cert?: { certPem: string; keyPem: string }; session?: Buffer; maxVersion: tls.SecureVersion }) =>
    new Promise<{ status: string; session: Buffer | undefined; reused: boolean }>((resolve, reject) => {
      let session: Buffer | undefined;
      let data = '';
      let reused = false;
      const s = tls.connect({
        host: '127.0.0.1',
        port: gw.httpsPort,
        servername,
        rejectUnauthorized: false,
        maxVersion: o.maxVersion,
        ALPNProtocols: ['http/1.1'],
        ...(o.cert === undefined ? {} : { cert: o.cert.certPem, key: o.cert.keyPem }),
        ...(o.session === undefined ? {} : { session: o.session }),
      });
      s.on('session', (b: Buffer) => void (session = b));
      s.on('secureConnect', () => {
        reused = s.isSessionReused();
        s.write(`GET / HTTP/1.1\r\nhost: ${servername}\r\nconnection: close\r\n\r\n`);
      });
      s.on('data', (d: Buffer) => void (data += d.toString()));
      s.on('end', () => setTimeout(() => resolve({ status: data.split('\r\n')[0]!, session, reused }), 20));
      s.on('error', reject);
    });
  for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const)
    it(`${maxVersion}: a session verified on one host is never resumed into another host that checks certificates`, async () => {
      // A client with a certificate another authority signed is served by "noca" (optional_no_ca) ...
      const first = await raw('noca.test', { cert: pki.stranger, maxVersion });
      expect(first.status).toBe('HTTP/1.1 200 OK');
      // ... and offers that session to "on", whose authority never signed it: a full handshake, without a
      // certificate this time, so 400, and the backend is not reached.
      const before = backend.requests;
      const second = await raw('on.test', { ...(first.session === undefined ? {} : { session: first.session }), maxVersion });
      expect(second.reused).toBe(false);
      expect(second.status).toBe('HTTP/1.1 400 Bad Request');
      expect(backend.requests).toBe(before);
    });
});

describe('a changed authority', () => {
  it('refuses a connection verified with the old authorities (421) and serves a new one verified with the new', async () => {
    const agent = new (await import('node:https')).Agent({ keepAlive: true, maxSockets: 1 });
    const send = () => request(`https://127.0.0.1:${gw.httpsPort}/`, { host: 'on.test', agent, fresh: false, clientCertificate: pki.one });
    try {
      expect((await send()).status).toBe(200);
      gw.apply(cluster(pki.otherCaPem)); // client-one's authority is no longer trusted
      expect((await send()).status).toBe(421);
      agent.destroy();
      await refused(() => https('on.test', { cert: pki.one }), 400);
      expect((await https('on.test', { cert: pki.stranger })).status).toBe(200);
    } finally {
      agent.destroy();
      gw.apply(cluster(pki.caPem));
    }
  });
});
