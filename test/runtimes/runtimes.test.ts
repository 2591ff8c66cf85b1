// The shared case table (cases.ts) against the edge worker on Node, Deno and workerd, each a real process
// reading a signed table from a real redis-server and forwarding to real backends on loopback addresses.
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSelfSignedCertificate } from '../../gateway/tls/selfsigned.ts';
import { generateKeySet, loadSigningKeys } from '../../cli/keys.ts';
import { compile } from '../../sync/compile/index.ts';
import { RedisPublisher } from '../../sync/publish/redis.ts';
import https from 'node:https';
import net from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { startBackend, type Backend } from '../support/backends.ts';
import { startBlackhole, type Blackhole } from '../support/blackhole.ts';
import { ingress, objects, ourClass, service, tlsSecret } from '../support/manifests.ts';
import { configMap } from '../support/builders.ts';
import { waitFor } from '../support/process.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { AFTER_UPDATE, CASES, type Case, type World } from './cases.ts';
import { send } from './http.ts';
import { startDeno, startNode, startWorkerd, type ControlPlane, type RuntimeName, type Target } from './launch.ts';
import { type AuthServer, startAuthServer } from '../support/auth-server.ts';
import { makeClientPki } from '../support/client-pki.ts';

const RUNTIMES: RuntimeName[] = ['node', 'deno', 'workerd'];
/** One salt for the whole run: the same objects compile to the same table version. */
const HTPASSWD_HASH = bcrypt.hashSync('bar', 4);
const dir = mkdtempSync(join(tmpdir(), 'portico-runtimes-'));
const certs = {
  secure: generateSelfSignedCertificate({ commonName: 'secure.test', dnsNames: ['secure.test'], keyType: 'ec' }),
  other: generateSelfSignedCertificate({ commonName: 'other.test', dnsNames: ['other.test'], keyType: 'ec' }),
  fallback: generateSelfSignedCertificate({ commonName: 'fallback.test', dnsNames: ['fallback.test'], keyType: 'ec' }),
};
const pki = makeClientPki();
/** JWT: an RS256 and an ES256 key made for this run; their public keys go into the table through a ConfigMap. */
const jwtKeys = {
  rs: await generateKeyPair('RS256', { extractable: true }),
  es: await generateKeyPair('ES256', { extractable: true }),
};
const JWKS = JSON.stringify({
  keys: [
    { ...(await exportJWK(jwtKeys.rs.publicKey)), kid: 'rs' },
    { ...(await exportJWK(jwtKeys.es.publicKey)), kid: 'es' },
  ],
});
const sign = (alg: 'RS256' | 'ES256', exp: string | number) =>
  new SignJWT({ sub: 'alice' })
    .setProtectedHeader({ alg, kid: alg === 'RS256' ? 'rs' : 'es' })
    .setIssuer('https://issuer.test/')
    .setExpirationTime(exp)
    .sign(alg === 'RS256' ? jwtKeys.rs.privateKey : jwtKeys.es.privateKey);
const world: World = {
  fingerprints: {
    secure: new X509Certificate(certs.secure.certPem).fingerprint256,
    other: new X509Certificate(certs.other.certPem).fingerprint256,
    fallback: new X509Certificate(certs.fallback.certPem).fingerprint256,
  },
  clientCertificate: pki.one,
  jwt: { rs256: await sign('RS256', '2h'), es256: await sign('ES256', '2h'), expired: await sign('RS256', 1) },
};

let redis: RedisServer;
let authServer: AuthServer;
let backends: Backend[] = [];
let publisher: RedisPublisher;
/** Connects to it hang (proxy-connect-timeout); `mute` accepts and never reads (proxy-send-timeout). */
let hole: Blackhole;
let mute: net.Server;
/** An HTTPS upstream with a self-signed certificate (backend-protocol: HTTPS). */
let tlsUpstream: https.Server;
const muted: net.Socket[] = [];
const targets = new Map<RuntimeName, Target>();
const failedToStart = new Map<RuntimeName, string>();

/** Table 1; `updated` is table 2 (adds default backends, drops /dead). */
function cluster(updated: boolean) {
  const [b0, b1, b2, wild, def] = backends as [Backend, Backend, Backend, Backend, Backend];
  const ep = (b: Backend) => ({ address: b.address, port: b.port });
  const refused = { address: '127.0.0.59', port: b0.port }; // nothing listens there
  const app = [
    { path: '/', service: 'one' },
    { path: '/exact', pathType: 'Exact' as const, service: 'two' },
    { path: '/api', service: 'two' },
    { path: '/rr', service: 'two' },
    { path: '/down', service: 'down' },
    { path: '/flaky', service: 'flaky' },
    ...(updated ? [] : [{ path: '/dead', service: 'dead' }]),
  ];
  return objects(
    ourClass(),
    // The controller ConfigMap (--nginx-configmap): HSTS for a minute; no body limit, unlike ingress-nginx's 1m default.
    configMap('ingress-nginx-controller', { 'hsts-max-age': '60', 'proxy-body-size': '0' }, 'ingress-nginx'),
    service('one', [ep(b0)]),
    service('two', [ep(b1), ep(b2)]),
    service('down', [{ ...ep(b1), ready: false }]),
    service('flaky', [refused, ep(b2)]),
    service('dead', [refused]),
    service('wild', [ep(wild)]),
    service('def', [ep(def)]),
    service('hangs', [{ address: hole.address, port: hole.port }]),
    service('mute', [{ address: '127.0.0.58', port: (mute.address() as AddressInfo).port }]),
    service('tls-upstream', [{ address: '127.0.0.58', port: (tlsUpstream.address() as AddressInfo).port }]),
    // ssl-passthrough: the HTTPS upstream terminates TLS itself with its own certificate (certs.other).
    ingress('passthrough', {
      host: 'passthrough.test',
      paths: [{ path: '/', service: 'tls-upstream' }],
      annotations: { 'nginx.ingress.kubernetes.io/ssl-passthrough': 'true' },
    }),
    ingress('https-backend', {
      host: 'https-backend.test',
      paths: [{ path: '/', service: 'tls-upstream' }],
      annotations: { 'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS' },
    }),
    // proxy-ssl-*: the upstream's self-signed certificate is its own authority; the client certificate's key travels
    // encrypted in the bundle.
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { namespace: 'default', name: 'upstream-tls' },
      type: 'Opaque',
      stringData: { 'ca.crt': certs.other.certPem, 'tls.crt': pki.one.certPem, 'tls.key': pki.one.keyPem },
    },
    ingress('proxy-ssl', {
      host: 'proxy-ssl.test',
      paths: [{ path: '/', service: 'tls-upstream' }],
      annotations: {
        'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS',
        'nginx.ingress.kubernetes.io/proxy-ssl-secret': 'default/upstream-tls',
        'nginx.ingress.kubernetes.io/proxy-ssl-verify': 'on',
        'nginx.ingress.kubernetes.io/proxy-ssl-name': 'other.test',
      },
    }),
    tlsSecret('s-secure', certs.secure.certPem, certs.secure.keyPem),
    tlsSecret('s-other', certs.other.certPem, certs.other.keyPem),
    // The agent's --default-ssl-certificate: what a name without a certificate of its own is served.
    tlsSecret('s-fallback', certs.fallback.certPem, certs.fallback.keyPem),
    ingress('app', { host: 'app.test', paths: app }),
    ingress('wild', { host: '*.wild.test', paths: [{ path: '/', service: 'wild' }] }),
    ingress('secure', {
      host: 'secure.test',
      paths: [{ path: '/', service: 'one' }],
      tls: [{ hosts: ['secure.test'], secretName: 's-secure' }],
    }),
    ingress('other', {
      host: 'other.test',
      paths: [{ path: '/', service: 'one' }],
      tls: [{ hosts: ['other.test'], secretName: 's-other' }],
    }),
    // Fail closed: an access-control annotation Portico does not enforce.
    ingress('guarded', {
      host: 'guarded.test',
      paths: [{ path: '/', service: 'one' }],
      annotations: { 'nginx.ingress.kubernetes.io/auth-type': 'digest' },
    }),
    // External authentication against a real auth service on loopback.
    ingress('authed', {
      host: 'authed.test',
      paths: [{ path: '/', service: 'one' }],
      annotations: {
        'nginx.ingress.kubernetes.io/auth-url': `${authServer.url}/basic-auth/user/password`,
        'nginx.ingress.kubernetes.io/auth-response-headers': 'X-Auth-Seen',
      },
    }),
    // auth-proxy-set-headers: the ConfigMap's Authorization entry (a query argument expanded into it) is what
    // lets the subrequest pass.
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { namespace: 'default', name: 'auth-headers' },
      data: { Authorization: 'Basic $arg_cred' },
    },
    ingress('authed-headers', {
      host: 'authed-headers.test',
      paths: [{ path: '/', service: 'one' }],
      annotations: {
        'nginx.ingress.kubernetes.io/auth-url': `${authServer.url}/basic-auth/user/password`,
        'nginx.ingress.kubernetes.io/auth-proxy-set-headers': 'default/auth-headers',
      },
    }),
    // Basic authentication: an Opaque htpasswd Secret, bcrypt (cost 4: pure JavaScript on every runtime).
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { namespace: 'default', name: 'htpasswd' },
      type: 'Opaque',
      stringData: { auth: `foo:${HTPASSWD_HASH}\napr:$apr1$8LDI562I$fjHvSpnPe0hHcReDmrZu/0` },
    },
    ingress('basic', {
      host: 'basic.test',
      paths: [{ path: '/', service: 'one' }],
      annotations: {
        'nginx.ingress.kubernetes.io/auth-type': 'basic',
        'nginx.ingress.kubernetes.io/auth-secret': 'htpasswd',
        'nginx.ingress.kubernetes.io/auth-realm': 'test auth',
      },
    }),
    // Digest authentication: an htdigest Secret (user foo, password bar, realm "test auth").
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { namespace: 'default', name: 'htdigest' },
      type: 'Opaque',
      stringData: { auth: `foo:test auth:${createHash('md5').update('foo:test auth:bar').digest('hex')}` },
    },
    ingress('digest', {
      host: 'digest.test',
      paths: [{ path: '/', service: 'one' }],
      annotations: {
        'nginx.ingress.kubernetes.io/auth-type': 'digest',
        'nginx.ingress.kubernetes.io/auth-secret': 'htdigest',
        'nginx.ingress.kubernetes.io/auth-realm': 'test auth',
      },
    }),
    // Client certificates (auth-tls-secret): the authority travels in the signed table.
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { namespace: 'default', name: 'client-ca' },
      type: 'Opaque',
      stringData: { 'ca.crt': pki.caPem },
    },
    ingress('mtls', {
      host: 'mtls.test',
      paths: [{ path: '/', service: 'one' }],
      annotations: { 'nginx.ingress.kubernetes.io/auth-tls-secret': 'default/client-ca' },
    }),
    // JWT (portico.dev/auth-jwt-*): public keys from a ConfigMap, verified by jose on every runtime.
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'default', name: 'jwks' }, data: { 'jwks.json': JWKS } },
    ingress('jwt', {
      host: 'jwt.test',
      paths: [{ path: '/', service: 'one' }],
      annotations: {
        'portico.dev/auth-jwt-jwks-configmap': 'jwks',
        'portico.dev/auth-jwt-issuer': 'https://issuer.test/',
        'portico.dev/auth-jwt-realm': 'api',
        'portico.dev/auth-jwt-claims-to-headers': 'sub:X-User',
      },
    }),
    // CORS (enable-cors) with an origin list: the preflight is answered at the edge.
    ingress('cors', {
      host: 'cors.test',
      paths: [{ path: '/', service: 'one' }],
      annotations: {
        'nginx.ingress.kubernetes.io/enable-cors': 'true',
        'nginx.ingress.kubernetes.io/cors-allow-origin': 'https://*.origin.test, https://app.example:8443',
      },
    }),
    // Request and connection limits (per worker process; every test client is one loopback address).
    ingress('limited', {
      host: 'limited.test',
      paths: [{ path: '/', service: 'one' }],
      annotations: { 'nginx.ingress.kubernetes.io/limit-rpm': '1', 'nginx.ingress.kubernetes.io/limit-burst-multiplier': '2' },
    }),
    ingress('limited-conn', {
      host: 'limited-conn.test',
      paths: [{ path: '/', service: 'one' }],
      annotations: { 'nginx.ingress.kubernetes.io/limit-connections': '1' },
    }),
    // The global rate limit: counted in this Redis on Node; Deno and workerd answer 503 (fail closed).
    ingress('global-limited', {
      host: 'global-limited.test',
      paths: [{ path: '/', service: 'one' }],
      annotations: { 'nginx.ingress.kubernetes.io/global-rate-limit': '2', 'nginx.ingress.kubernetes.io/global-rate-limit-window': '1h' },
    }),
    // Source ranges: every test client is on loopback.
    ingress('ranged-in', {
      host: 'ranged-in.test',
      paths: [{ path: '/', service: 'one' }],
      annotations: { 'nginx.ingress.kubernetes.io/allowlist-source-range': '127.0.0.0/8, ::1' },
    }),
    ingress('ranged-out', {
      host: 'ranged-out.test',
      paths: [{ path: '/', service: 'one' }],
      annotations: { 'nginx.ingress.kubernetes.io/allowlist-source-range': '10.0.0.0/8' },
    }),
    // custom-headers: response headers from a ConfigMap, allowed by --global-allowed-response-headers (ALLOWED_RESPONSE_HEADERS).
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { namespace: 'default', name: 'security-headers' },
      data: { 'X-Frame-Options': 'DENY', 'Content-Security-Policy': "default-src 'self'" },
    },
    ingress('headers', {
      host: 'headers.test',
      paths: [{ path: '/', service: 'one' }],
      annotations: { 'nginx.ingress.kubernetes.io/custom-headers': 'security-headers' },
    }),
    // configuration-snippet of literal header directives: typed header rules (schema 6).
    ingress('snippet', {
      host: 'snippet.test',
      paths: [{ path: '/', service: 'one' }],
      annotations: {
        'nginx.ingress.kubernetes.io/configuration-snippet': [
          'more_set_headers "Foo1: Bar1";',
          'more_clear_headers X-Upstream-Secret;',
          'add_header X-Added yes;',
          'proxy_set_header X-Api-Version 2;',
        ].join('\n'),
      },
    }),
    // Redirect and host annotations (test/runtimes/cases.ts, "routing filters").
    ingress('moved', {
      host: 'moved.test',
      paths: [{ path: '/', service: 'one' }],
      annotations: {
        'nginx.ingress.kubernetes.io/permanent-redirect': 'https://elsewhere.example/new',
        'nginx.ingress.kubernetes.io/permanent-redirect-code': '302',
      },
    }),
    ingress('rooted', {
      host: 'rooted.test',
      paths: [{ path: '/', service: 'one' }],
      annotations: { 'nginx.ingress.kubernetes.io/app-root': '/app' },
    }),
    ingress('forced', {
      host: 'forced.test',
      paths: [{ path: '/', service: 'one' }],
      annotations: { 'nginx.ingress.kubernetes.io/force-ssl-redirect': 'true' },
    }),
    ingress('vhost', {
      host: 'vhost.test',
      paths: [{ path: '/', service: 'one' }],
      annotations: {
        'nginx.ingress.kubernetes.io/upstream-vhost': 'internal.example',
        'nginx.ingress.kubernetes.io/x-forwarded-prefix': '/prefix',
      },
    }),
    ingress('aliased', {
      host: 'aliased.test',
      paths: [{ path: '/', service: 'one' }],
      annotations: { 'nginx.ingress.kubernetes.io/server-alias': 'alias.test', 'nginx.ingress.kubernetes.io/from-to-www-redirect': 'true' },
    }),
    // Upstream filters (proxy-* annotations, schema 5).
    ingress('upstream-read', {
      host: 'read.test',
      paths: [{ path: '/', service: 'one' }],
      annotations: { 'nginx.ingress.kubernetes.io/proxy-read-timeout': '3' },
    }),
    ingress('upstream-connect', {
      host: 'connect.test',
      paths: [{ path: '/', service: 'hangs' }],
      annotations: { 'nginx.ingress.kubernetes.io/proxy-connect-timeout': '1' },
    }),
    ingress('upstream-send', {
      host: 'send.test',
      paths: [{ path: '/', service: 'mute' }],
      annotations: { 'nginx.ingress.kubernetes.io/proxy-send-timeout': '1' },
    }),
    // A plain route for the worker's --send-timeout (a client that stops reading the answer): proxy-send-timeout,
    // the bound on sending the request upstream, must not cut a slow reader (route 'upstream-send' above is 1 s).
    ingress('client-send', {
      host: 'client-send.test',
      paths: [{ path: '/', service: 'one' }],
      annotations: { 'nginx.ingress.kubernetes.io/proxy-send-timeout': '1' },
    }),
    ingress('upstream-body', {
      host: 'body.test',
      paths: [{ path: '/', service: 'one' }],
      annotations: { 'nginx.ingress.kubernetes.io/proxy-body-size': '1k' },
    }),
    ingress('upstream-tries', {
      host: 'tries.test',
      paths: [{ path: '/', service: 'flaky' }],
      annotations: { 'nginx.ingress.kubernetes.io/proxy-next-upstream-tries': '1' },
    }),
    // affinity: cookie (persistent) and upstream-hash-by over the two endpoints of `two` (affinity.go, upstreamhashby.go).
    ingress('affinity', {
      host: 'affinity.test',
      paths: [{ path: '/', service: 'two' }],
      annotations: { 'nginx.ingress.kubernetes.io/affinity': 'cookie', 'nginx.ingress.kubernetes.io/affinity-mode': 'persistent' },
    }),
    ingress('hash', {
      host: 'hash.test',
      paths: [{ path: '/', service: 'two' }],
      annotations: { 'nginx.ingress.kubernetes.io/upstream-hash-by': '$request_uri' },
    }),
    // custom-http-errors + default-backend (customhttperrors.go, default_backend.go): pages from the `def` echo backend.
    ingress('error-pages', {
      host: 'errors.test',
      paths: [{ path: '/', service: 'one' }],
      annotations: { 'nginx.ingress.kubernetes.io/custom-http-errors': '404', 'nginx.ingress.kubernetes.io/default-backend': 'def' },
    }),
    ingress('error-pages-down', {
      host: 'errors-down.test',
      paths: [{ path: '/', service: 'down' }],
      annotations: { 'nginx.ingress.kubernetes.io/default-backend': 'def' },
    }),
    // canary-by-header, -value, -pattern, -cookie, -weight: a canary Ingress splitting app-like routes of canary.test.
    ingress('canary-main', { host: 'canary.test', paths: [{ path: '/', service: 'one' }] }),
    ingress('canary-main-w', { host: 'canary.test', paths: [{ path: '/weighted', service: 'one' }] }),
    ingress('canary-canary', {
      host: 'canary.test',
      paths: [{ path: '/', service: 'two' }],
      annotations: {
        'nginx.ingress.kubernetes.io/canary': 'true',
        'nginx.ingress.kubernetes.io/canary-by-header': 'X-Canary',
        'nginx.ingress.kubernetes.io/canary-by-header-pattern': '^v2(-rc[0-9]+)?$',
        'nginx.ingress.kubernetes.io/canary-by-cookie': 'canary',
      },
    }),
    ingress('canary-canary-w', {
      host: 'canary.test',
      paths: [{ path: '/weighted', service: 'two' }],
      annotations: { 'nginx.ingress.kubernetes.io/canary': 'true', 'nginx.ingress.kubernetes.io/canary-weight': '100' },
    }),
    // use-regex + rewrite-target (rewrite.go, docs "Rewrite"): a Regex route whose upstream sees "/$2".
    ingress('rewrite', {
      host: 'rewrite.test',
      paths: [{ path: '/something(/|$)(.*)', pathType: 'ImplementationSpecific', service: 'one' }],
      annotations: { 'nginx.ingress.kubernetes.io/use-regex': 'true', 'nginx.ingress.kubernetes.io/rewrite-target': '/$2' },
    }),
    ...(updated ? [ingress('fb', { host: 'fb.test', paths: [{ path: '/only', service: 'one' }], defaultBackend: 'def' })] : []),
  );
}

/** The agent's --global-allowed-response-headers for the custom-headers case. */
const ALLOWED_RESPONSE_HEADERS = ['X-Frame-Options', 'Content-Security-Policy'];

async function publish(updated: boolean): Promise<void> {
  const r = compile(cluster(updated), {
    allowedResponseHeaders: ALLOWED_RESPONSE_HEADERS,
    nginxConfigMap: 'ingress-nginx/ingress-nginx-controller',
    defaultSslCertificate: 'default/s-fallback',
  });
  // Info: the 'down' service has no ready endpoint, on purpose; the Warning: the guarded Ingress fails closed, on purpose.
  expect(r.diagnostics.filter((d) => d.severity !== 'Info').map((d) => `${d.code} ${d.object.name}`)).toEqual([
    'AccessControlNotEnforced guarded',
  ]);
  expect((await publisher.publish(r)).kind).toBe('published');
}

beforeAll(async () => {
  redis = await startRedis();
  authServer = await startAuthServer('127.0.0.1');
  const b0 = await startBackend('b0', '127.0.0.50');
  hole = await startBlackhole('127.0.0.57');
  mute = net.createServer((sock) => {
    sock.pause();
    muted.push(sock);
  });
  await new Promise<void>((r) => mute.listen(0, '127.0.0.58', r));
  tlsUpstream = https.createServer({ cert: certs.other.certPem, key: certs.other.keyPem }, (req, res) => {
    res.end(`tls:${(req.socket as TLSSocket).encrypted === true}`);
  });
  await new Promise<void>((r) => tlsUpstream.listen(0, '127.0.0.58', r));
  backends = [b0];
  for (const [i, name] of ['b1', 'b2', 'wild', 'def'].entries()) backends.push(await startBackend(name, `127.0.0.${51 + i}`, b0.port));
  const keysDir = join(dir, 'keys');
  await generateKeySet(keysDir);
  publisher = new RedisPublisher(redis.client(), {
    cluster: 'rt',
    keys: await loadSigningKeys(keysDir),
    history: 10,
    publisher: 'runtimes-test',
  });
  await publish(false);
  const cp: ControlPlane = { redisUrl: redis.url, cluster: 'rt', keysDir };
  // Started one after another: three runtimes booting at once on two busy cores only slows each of them.
  const starters: Record<RuntimeName, () => Promise<Target>> = {
    node: () => startNode(cp),
    deno: () => startDeno(cp),
    workerd: () => startWorkerd(cp, 'app.test'),
  };
  for (const name of RUNTIMES) {
    try {
      targets.set(name, await starters[name]());
    } catch (err) {
      failedToStart.set(name, (err as Error).message);
    }
  }
}, 400_000);

afterAll(async () => {
  for (const t of targets.values()) await t.stop();
  await redis?.stop();
  await authServer?.close();
  await Promise.all(backends.map((b) => b.close()));
  hole?.close();
  for (const sock of muted) sock.destroy();
  mute?.close();
  tlsUpstream?.close();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

function target(name: RuntimeName): Target {
  const t = targets.get(name);
  if (t === undefined) throw new Error(`the ${name} runtime did not start: ${failedToStart.get(name) ?? 'unknown reason'}`);
  return t;
}

/** PORTICO_CHECK_UNSUPPORTED=1 runs the unsupported cases too, expecting each to fail: a reason that has
 * stopped being true shows up as a failure. */
const checkUnsupported = process.env.PORTICO_CHECK_UNSUPPORTED === '1';

function runCases(name: RuntimeName, cases: readonly Case[]): void {
  for (const c of cases) {
    const reason = c.unsupported?.[name];
    if (reason !== undefined && checkUnsupported)
      it.fails(`${c.name} — fails on ${name} as stated: ${reason}`, () => c.run(target(name), world), 30_000);
    else if (reason !== undefined) it.skip(`${c.name} — unsupported on ${name}: ${reason}`, () => {});
    else it(c.name, () => c.run(target(name), world), 30_000);
  }
}

for (const name of RUNTIMES) describe(`${name}: table 1`, () => runCases(name, CASES));

describe('digest authentication across workers', () => {
  // Every worker derives the nonce key from the cluster's decryption key: a nonce one runtime's worker issued is
  // answered at another's (a client's next request may reach any worker of the cluster).
  const md5 = (s: string) => createHash('md5').update(s).digest('hex');
  for (const [from, to] of [
    ['node', 'deno'],
    ['deno', 'workerd'],
    ['workerd', 'node'],
  ] as const)
    it(`a nonce from the ${from} worker is accepted by the ${to} worker`, async () => {
      const challenge = String((await send(`${target(from).http}/x`, { host: 'digest.test' })).headers['www-authenticate']);
      const nonce = /nonce="([0-9a-f]+)"/.exec(challenge)![1]!;
      const response = md5(`${md5('foo:test auth:bar')}:${nonce}:00000001:xyz:auth:${md5('GET:/x')}`);
      const authorization = `Digest username="foo", realm="test auth", nonce="${nonce}", uri="/x", qop=auth, nc=00000001, cnonce="xyz", response="${response}"`;
      expect((await send(`${target(to).http}/x`, { host: 'digest.test', headers: { authorization } })).status).toBe(200);
    });
});

describe('a newly published table', () => {
  beforeAll(async () => {
    await publish(true);
    // Node and Deno are told by pub/sub; workerd checks at most every 500 ms, on requests.
    for (const t of targets.values()) {
      await waitFor(
        async () => (await send(`${t.http}/anything`, { host: 'fb.test' })).status === 200,
        30_000,
        () => `${t.runtime} to serve the new table:\n${t.logs().slice(-2000)}`,
      );
    }
  }, 120_000);
  for (const name of RUNTIMES) describe(name, () => runCases(name, AFTER_UPDATE));
});
