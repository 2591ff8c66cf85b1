// In-process cost per request of the access rules, against the same decision with none (not a test): the routing
// decision alone, with an allow list of 1 and of 100 ranges, and the access gate with external authentication
// answered from its cache and from a real auth service on loopback (a fresh subrequest each time), and JWT
// verification (portico.dev/auth-jwt-*) of an RS256 and an ES256 token against keys inside the table, and the
// client-certificate verdict (auth-tls-*) on a connection whose certificate was read already (as for every request
// after a connection's first; the connection here is a stand-in object with that certificate, not a TLS socket), and
// custom-headers through the gate and onto an upstream answer's headers.
// Run: node --import tsx bench/access.ts
import http from 'node:http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { AddressInfo } from 'node:net';
import { AuthCache } from '../gateway/access/auth-cache.ts';
import type { PeerCertificate, TlsClientConnection } from '../gateway/access/client-certificate.ts';
import { generateSelfSignedCertificate } from '../gateway/tls/selfsigned.ts';
import { nodeAuthClient } from '../gateway/access/auth-client-node.ts';
import { type GateRequest, runGate } from '../gateway/access/gate.ts';
import { withResponseAdditions } from '../gateway/proxy/headers.ts';
import { decide, type RequestFacts } from '../gateway/decide.ts';
import { compileMatcher } from '../gateway/table/match.ts';
import type { AccessPolicy } from '../gateway/table/schema.ts';
import { compile } from '../sync/compile/index.ts';
import { ingress, objects, ourClass, service } from '../test/support/manifests.ts';
import { time, timeAsync } from './lib/timing.ts';

const N = 'nginx.ingress.kubernetes.io/';
const hundred = Array.from({ length: 100 }, (_, i) => `10.${i}.0.0/16`).join(',');
const table = compile(
  objects(
    ourClass(),
    service('web', [{ address: '127.0.0.1', port: 9 }]),
    ingress('plain', { host: 'plain.test', paths: [{ path: '/', service: 'web' }] }),
    // Routing filters (gateway/table/redirect.ts): a redirect answered by decide(), and upstream headers.
    ingress('moved', { host: 'moved.test', paths: [{ path: '/', service: 'web' }], annotations: { [`${N}permanent-redirect`]: '/new' } }),
    ingress('forced', { host: 'forced.test', paths: [{ path: '/', service: 'web' }], annotations: { [`${N}force-ssl-redirect`]: 'true' } }),
    ingress('vhost', {
      host: 'vhost.test',
      paths: [{ path: '/', service: 'web' }],
      annotations: { [`${N}upstream-vhost`]: 'internal.example', [`${N}x-forwarded-prefix`]: '/p' },
    }),
    ingress('one', {
      host: 'one.test',
      paths: [{ path: '/', service: 'web' }],
      annotations: { [`${N}allowlist-source-range`]: '192.0.2.0/24' },
    }),
    ingress('many', {
      host: 'many.test',
      paths: [{ path: '/', service: 'web' }],
      annotations: { [`${N}allowlist-source-range`]: `${hundred},192.0.2.0/24` },
    }),
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { namespace: 'default', name: 'ca' },
      type: 'Opaque',
      stringData: { 'ca.crt': generateSelfSignedCertificate({ commonName: 'bench CA', keyType: 'ec' }).certPem },
    },
    ingress('mtls', {
      host: 'mtls.test',
      paths: [{ path: '/', service: 'web' }],
      annotations: { [`${N}auth-tls-secret`]: 'default/ca', [`${N}auth-tls-match-cn`]: 'CN=client' },
    }),
  ),
).table;
const live = { current: { matcher: compileMatcher(table), certificates: new Map(), loadedAt: 0 } };
const facts = (host: string): RequestFacts => ({
  host,
  path: '/api/items',
  search: '?page=2',
  scheme: 'http',
  clientIp: '192.0.2.10',
  localPort: 80,
});

const N_SYNC = 1_000_000;
const base = time('decide(): route without access rules', N_SYNC, () => decide(live, facts('plain.test'), null));
time('decide(): permanent-redirect (path made absolute)', N_SYNC, () => decide(live, facts('moved.test'), null));
time('decide(): force-ssl-redirect', N_SYNC, () => decide(live, facts('forced.test'), null));
time('decide(): upstream-vhost + x-forwarded-prefix', N_SYNC, () => decide(live, facts('vhost.test'), null));
const one = time('decide(): allow list of 1 range (client inside)', N_SYNC, () => decide(live, facts('one.test'), null));
const many = time('decide(): allow list of 101 ranges (client in the last)', N_SYNC, () => decide(live, facts('many.test'), null));
const authority = table.clientCertificateAuthorities![0]!;
const peer: PeerCertificate = {
  verifyError: null,
  intermediates: 0,
  subjectDn: 'O=Acme,CN=client',
  issuerDn: 'CN=bench CA',
  pem: authority.caPem,
};
const connection: TlsClientConnection = { servername: 'mtls.test', askedWith: authority, peer: () => peer };
const mtlsFacts: RequestFacts = { ...facts('mtls.test'), scheme: 'https', tlsClient: connection };
const mtls = time('decide(): client certificate verified, match-cn', N_SYNC, () => decide(live, mtlsFacts, null));

// A real auth service on loopback: 200 for every subrequest.
const server = http.createServer((_req, res) => res.writeHead(200, { 'x-auth-user': 'alice' }).end());
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth`;
const client = nodeAuthClient({ connectMs: 2000, headersMs: 5000 });
const request: GateRequest = {
  httpHost: 'auth.test',
  scheme: 'http',
  method: 'GET',
  path: '/api/items',
  search: '?page=2',
  clientIp: '192.0.2.10',
  localPort: 80,
  header: (n) => (n === 'authorization' ? 'Bearer abc' : null),
  headers: [
    ['authorization', 'Bearer abc'],
    ['accept', '*/*'],
  ],
  requestId: '00000000-0000-4000-8000-000000000000',
  scope: 'default/auth auth.test /',
};
const cached: AccessPolicy = {
  externalAuth: { url, responseHeaders: ['x-auth-user'], cache: { key: '$http_authorization', seconds: { 200: 300 } } },
};
const uncached: AccessPolicy = { externalAuth: { url, responseHeaders: ['x-auth-user'] } };
const deps = { auth: { client: client.client, cache: new AuthCache() } };
const hit = await timeAsync('gate: external auth answered from the cache', 200_000, () => runGate(cached, request, deps));
const sub = await timeAsync('gate: external auth, a subrequest to a loopback service', 5_000, () => runGate(uncached, request, deps));
await client.close();
server.close();

// JWT: the policy as the compiler makes it (keys from a ConfigMap), a valid token per request, verified in full.
const rs = await generateKeyPair('RS256', { extractable: true });
const es = await generateKeyPair('ES256', { extractable: true });
const jwks = JSON.stringify({
  keys: [
    { ...(await exportJWK(rs.publicKey)), kid: 'rs' },
    { ...(await exportJWK(es.publicKey)), kid: 'es' },
  ],
});
const jwtTable = compile(
  objects(
    ourClass(),
    service('web', [{ address: '127.0.0.1', port: 9 }]),
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'default', name: 'jwks' }, data: { 'jwks.json': jwks } },
    ingress('jwt', {
      host: 'jwt.test',
      paths: [{ path: '/', service: 'web' }],
      annotations: {
        'portico.dev/auth-jwt-jwks-configmap': 'jwks',
        'portico.dev/auth-jwt-issuer': 'https://issuer.test/',
        'portico.dev/auth-jwt-audiences': 'api',
        'portico.dev/auth-jwt-claims-to-headers': 'sub:X-User',
      },
    }),
  ),
).table;
const jwtPolicy = jwtTable.hosts[0]!.routes[0]!.policies.access!;
const signed = (alg: 'RS256' | 'ES256') =>
  new SignJWT({ sub: 'alice' })
    .setProtectedHeader({ alg, kid: alg === 'RS256' ? 'rs' : 'es' })
    .setIssuer('https://issuer.test/')
    .setAudience('api')
    .setExpirationTime('1h')
    .sign(alg === 'RS256' ? rs.privateKey : es.privateKey);
const withToken = (token: string): GateRequest => ({
  ...request,
  header: (n) => (n === 'authorization' ? `Bearer ${token}` : null),
  headers: [['authorization', `Bearer ${token}`]],
});
const rsReq = withToken(await signed('RS256'));
const esReq = withToken(await signed('ES256'));
const noToken = withToken('');
for (const r of [rsReq, esReq])
  if ((await runGate(jwtPolicy, r, {})).kind !== 'pass') throw new Error('the benchmark token does not verify');
const jwtRs = await timeAsync('gate: JWT RS256 (2048-bit), verified', 20_000, () => runGate(jwtPolicy, rsReq, {}));
const jwtEs = await timeAsync('gate: JWT ES256, verified', 20_000, () => runGate(jwtPolicy, esReq, {}));
const jwtNone = await timeAsync('gate: JWT, no token (401)', 200_000, () => runGate(jwtPolicy, noToken, {}));

// custom-headers: the gate with only the headers of a typical security ConfigMap (4), and what the forwarder then does
// with an upstream answer of 10 headers (one of them replaced), against the same answer with nothing to add.
const headersPolicy: AccessPolicy = {
  customHeaders: [
    ['Content-Security-Policy', "default-src 'self'"],
    ['Referrer-Policy', 'no-referrer'],
    ['X-Content-Type-Options', 'nosniff'],
    ['X-Frame-Options', 'DENY'],
  ],
};
const customGate = await timeAsync('gate: custom-headers (4 headers)', 200_000, () => runGate(headersPolicy, request, {}));
const passed = await runGate(headersPolicy, request, {});
if (passed.kind !== 'pass') throw new Error('custom-headers must pass');
const upstream = Array.from({ length: 10 }, (_, i) => [i === 0 ? 'X-Frame-Options' : `X-Upstream-${i}`, 'value']).flat();
const plainAnswer = time('answer headers: 10 from upstream, nothing added', N_SYNC, () =>
  withResponseAdditions(upstream.slice(), undefined, 200),
);
const customAnswer = time('answer headers: 10 from upstream, 4 custom (1 replaced)', N_SYNC, () =>
  withResponseAdditions(upstream.slice(), passed.response, 200),
);

console.log(
  `\nrelative to decide() without rules (${base.toFixed(0)} ns): allow list of 1 +${(one - base).toFixed(0)} ns, of 101 +${(many - base).toFixed(0)} ns;`,
);
console.log(`client certificate (verified, match-cn): +${(mtls - base).toFixed(0)} ns`);
console.log(
  `custom-headers: gate ${customGate.toFixed(0)} ns; answer headers +${(customAnswer - plainAnswer).toFixed(0)} ns (${(customAnswer / plainAnswer).toFixed(2)}x of ${plainAnswer.toFixed(0)} ns)`,
);
console.log(`external auth: +${hit.toFixed(0)} ns from the cache, +${(sub / 1000).toFixed(0)} µs with a subrequest`);
console.log(
  `JWT: RS256 +${(jwtRs / 1000).toFixed(1)} µs, ES256 +${(jwtEs / 1000).toFixed(1)} µs (ES256/RS256 ${(jwtEs / jwtRs).toFixed(2)}), no token +${jwtNone.toFixed(0)} ns`,
);
