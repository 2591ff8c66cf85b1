// proxy-ssl-* through `portico local` (the real command, manifests from a directory) to real TLS upstreams on
// loopback (node:https, node:http2) with certificates made at test time: one that requires a client certificate
// signed by the Secret's CA (requestCert + rejectUnauthorized), one whose certificate is for another name, one from
// a root nobody trusts, one behind two intermediates, one that speaks TLS 1.3 only. ingress-nginx's
// test/e2e/annotations/proxyssl.go checks the nginx configuration it writes (proxy_ssl_* lines); these check what a
// client gets and what the upstream saw.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, request } from '../support/client.ts';
import { ingress, ourClass, service } from '../support/manifests.ts';
import { type Running, startLocal } from '../support/process.ts';
import { makeUpstreamPki, type Pem } from '../support/upstream-pki.ts';

const N = 'nginx.ingress.kubernetes.io/';
const PKI = makeUpstreamPki();
const HOST = '127.0.0.71';

/** What an upstream saw of the connection its request came on. */
interface Seen {
  servername: string | false;
  client: string | null;
  protocol: string | null;
  cipher: string;
}

const seenOf = (s: TLSSocket): Seen => {
  const peer = s.getPeerCertificate();
  return {
    servername: (s as TLSSocket & { servername?: string | false }).servername ?? false,
    client: peer?.subject?.CN === undefined ? null : String(peer.subject.CN),
    protocol: s.getProtocol(),
    cipher: s.getCipher().name,
  };
};

/** Requests each upstream answered (a failed handshake never gets here). */
const requests = new Map<string, number>();
const servers: { close(cb: () => void): void }[] = [];
const sessions = new Set<http2.ServerHttp2Session>();

async function upstream(name: string, cert: Pem, o: { requireClient?: boolean; tls13Only?: boolean } = {}): Promise<number> {
  const s = https.createServer(
    {
      cert: cert.certPem,
      key: cert.keyPem,
      ...(o.requireClient === true ? { requestCert: true, rejectUnauthorized: true, ca: PKI.caPem } : {}),
      ...(o.tls13Only === true ? { minVersion: 'TLSv1.3' as const } : {}),
    },
    (req, res) => {
      requests.set(name, (requests.get(name) ?? 0) + 1);
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(seenOf(req.socket as TLSSocket)));
    },
  );
  servers.push(s);
  await new Promise<void>((resolve) => s.listen(0, HOST, resolve));
  return (s.address() as AddressInfo).port;
}

async function grpcsUpstream(): Promise<number> {
  const s = http2.createSecureServer({
    cert: PKI.server.certPem,
    key: PKI.server.keyPem,
    requestCert: true,
    rejectUnauthorized: true,
    ca: PKI.caPem,
  });
  s.on('session', (x) => sessions.add(x));
  s.on('stream', (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/json' });
    stream.end(JSON.stringify(seenOf(stream.session!.socket as TLSSocket)));
  });
  servers.push(s);
  await new Promise<void>((resolve) => s.listen(0, HOST, resolve));
  return (s.address() as AddressInfo).port;
}

function opaque(name: string, values: Record<string, string>) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { namespace: 'default', name },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

let p: Running;
let dir: string;

beforeAll(async () => {
  const ports = {
    mtls: await upstream('mtls', PKI.server, { requireClient: true }),
    other: await upstream('other', PKI.otherName),
    stranger: await upstream('stranger', PKI.strangerServer),
    deep: await upstream('deep', PKI.deepServer),
    tls13: await upstream('tls13', PKI.server, { tls13Only: true }),
    secure: await upstream('secure', PKI.serviceServer),
    grpcs: await grpcsUpstream(),
  };
  const route = (name: string, svc: string, annotations: Record<string, string>) =>
    ingress(name, {
      host: `${name}.test`,
      paths: [{ path: '/', service: svc }],
      annotations: { [`${N}backend-protocol`]: 'HTTPS', ...annotations },
    });
  const full = { [`${N}proxy-ssl-secret`]: 'default/backend-tls' };
  const verified = { ...full, [`${N}proxy-ssl-verify`]: 'on', [`${N}proxy-ssl-name`]: 'backend.internal' };
  const objects = [
    ourClass(),
    ...Object.entries(ports).flatMap(([svc, port]) => service(svc, [{ address: HOST, port }])),
    opaque('backend-tls', { 'ca.crt': PKI.caPem, 'tls.crt': PKI.client.certPem, 'tls.key': PKI.client.keyPem }),
    opaque('backend-ca', { 'ca.crt': PKI.caPem }),
    route('sni', 'mtls', { ...verified, [`${N}proxy-ssl-server-name`]: 'on' }),
    route('nosni', 'mtls', verified),
    route('noclient', 'mtls', { [`${N}proxy-ssl-secret`]: 'default/backend-ca' }),
    route('plain', 'mtls', {}),
    route('wrongname', 'other', verified),
    route('wrongname-unverified', 'other', full),
    route('stranger', 'stranger', verified),
    route('deep', 'deep', verified),
    route('deep2', 'deep', { ...verified, [`${N}proxy-ssl-verify-depth`]: '2' }),
    route('tls12', 'tls13', verified),
    route('tls13', 'tls13', { ...verified, [`${N}proxy-ssl-protocols`]: 'TLSv1.2 TLSv1.3' }),
    route('ciphers', 'mtls', { ...verified, [`${N}proxy-ssl-ciphers`]: 'ECDHE-ECDSA-AES256-GCM-SHA384' }),
    route('svcname', 'secure', { ...full, [`${N}proxy-ssl-verify`]: 'on' }),
    route('svcname-wrong', 'mtls', { ...full, [`${N}proxy-ssl-verify`]: 'on' }),
    route('missing', 'mtls', { [`${N}proxy-ssl-secret`]: 'default/nope' }),
    route('grpcs', 'grpcs', { ...verified, [`${N}backend-protocol`]: 'GRPCS' }),
  ];
  dir = mkdtempSync(join(tmpdir(), 'portico-pssl-'));
  objects.forEach((o, i) => void writeFileSync(join(dir, `${String(i).padStart(3, '0')}.json`), JSON.stringify(o)));
  p = await startLocal(dir);
}, 60_000);

afterAll(async () => {
  await p?.stop();
  for (const s of sessions) s.destroy();
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  rmSync(dir, { recursive: true, force: true });
});

const get = (host: string) => request(`${p.http}/`, { host: `${host}.test` });

describe('proxy-ssl-* through portico local (proxyssl.go)', () => {
  const served: [string, string, Partial<Seen>][] = [
    [
      'proxy-ssl-verify on, proxy-ssl-server-name on: the client certificate is presented, the name is checked and sent by SNI, TLSv1.2 (the default)',
      'sni',
      { servername: 'backend.internal', client: 'portico-gateway', protocol: 'TLSv1.2' },
    ],
    ['proxy-ssl-server-name off (the default): no SNI, still verified', 'nosni', { servername: false, client: 'portico-gateway' }],
    ['proxy-ssl-verify off (the default): a certificate for another name is not checked', 'wrongname-unverified', {}],
    ['proxy-ssl-verify-depth 2: two intermediates pass', 'deep2', {}],
    ['proxy-ssl-protocols TLSv1.2 TLSv1.3: a TLS 1.3-only upstream is reached', 'tls13', { protocol: 'TLSv1.3' }],
    ['proxy-ssl-ciphers: the one suite named is the one used', 'ciphers', { cipher: 'ECDHE-ECDSA-AES256-GCM-SHA384' }],
    ['without proxy-ssl-name the Service DNS name is checked (secure.default.svc)', 'svcname', {}],
  ];
  for (const [name, host, seen] of served) {
    it(name, async () => {
      const r = await get(host);
      expect(r.status, r.body).toBe(200);
      expect(json<Seen>(r)).toMatchObject(seen);
    });
  }

  const refused: [string, string, number, string | null][] = [
    ['an upstream that requires a client certificate refuses a Secret with ca.crt alone: 502', 'noclient', 502, null],
    ['a certificate for another name, verified: 502, and no request reaches it (no retry in cleartext)', 'wrongname', 502, 'other'],
    ['a certificate from a root not in ca.crt: 502', 'stranger', 502, 'stranger'],
    ['proxy-ssl-verify-depth 1 (the default): two intermediates are too many, 502', 'deep', 502, 'deep'],
    ['the default protocols (TLSv1.2) against a TLS 1.3-only upstream: 502', 'tls12', 502, null],
    ["without proxy-ssl-name, a certificate without the Service's name: 502", 'svcname-wrong', 502, null],
    ['a missing Secret: 503 before any connection', 'missing', 503, null],
  ];
  for (const [name, host, status, upstreamName] of refused) {
    it(name, async () => {
      const before = upstreamName === null ? 0 : (requests.get(upstreamName) ?? 0);
      expect((await get(host)).status).toBe(status);
      if (upstreamName !== null) expect(requests.get(upstreamName) ?? 0).toBe(before);
    });
  }

  it('two routes to the same endpoint with different TLS never share a connection', async () => {
    // The client-certificate route's kept-alive connection must not carry the plain HTTPS route's request.
    for (const host of ['sni', 'plain', 'sni', 'plain']) {
      const r = await get(host);
      expect(r.status, host).toBe(host === 'sni' ? 200 : 502);
    }
  });

  it('a WebSocket upgrade on such a route answers 503 (the upgrade path would dial without the TLS asked for)', async () => {
    const before = requests.get('mtls') ?? 0;
    const url = new URL(p.http);
    const status = await new Promise<string>((resolve, reject) => {
      const s = connect(Number(url.port), url.hostname, () =>
        s.write(
          'GET / HTTP/1.1\r\nHost: sni.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
        ),
      );
      s.once('data', (d: Buffer) => {
        resolve(d.toString().split('\r\n')[0]!);
        s.destroy();
      });
      s.once('error', reject);
    });
    expect(status).toMatch(/^HTTP\/1\.1 503 /);
    expect(requests.get('mtls') ?? 0).toBe(before);
  });

  it('GRPCS: HTTP/2 over TLS with the client certificate, verified', async () => {
    const session = http2.connect(`https://127.0.0.1:${p.https}`, { rejectUnauthorized: false });
    try {
      const stream = session.request({
        ':method': 'POST',
        ':path': '/svc/Call',
        ':authority': 'grpcs.test',
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      stream.end();
      let body = '';
      let status = 0;
      stream.on('response', (h) => void (status = Number(h[':status'])));
      stream.on('data', (c: Buffer) => void (body += c.toString()));
      await new Promise<void>((resolve, reject) => {
        stream.on('end', resolve);
        stream.on('error', reject);
      });
      expect(status, body).toBe(200);
      expect(JSON.parse(body)).toMatchObject({ client: 'portico-gateway', protocol: 'TLSv1.2' });
    } finally {
      session.close();
    }
  });
});
