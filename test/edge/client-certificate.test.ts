// The per-request client-certificate verdict (gateway/access/client-certificate.ts), case by case: what nginx's
// ngx_http_process_request answers (400 for 495/496, error_page 495 496 = URL), its 421 for a Host whose server
// verifies client certificates and is not the one the SNI name chose, the auth-tls-match-cn `if` (403), and the
// ssl-client-* headers of ingress-nginx's template. The end-to-end cases with real handshakes are in
// test/e2e/client-certificates.test.ts.
import { describe, expect, it } from 'vitest';
import {
  type ClientCertificateOutcome,
  clientCertificateOutcome,
  type PeerCertificate,
  type TlsClientConnection,
} from '../../gateway/access/client-certificate.ts';
import type { ClientCertificateAuthority, ClientCertificatePolicy } from '../../gateway/table/schema.ts';
import { rfc2253 } from '../../gateway/tls/peer-certificate.ts';

const CA: ClientCertificateAuthority = { id: 'default/ca', caPem: '-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n' };
const ROTATED: ClientCertificateAuthority = { id: 'default/ca', caPem: '-----BEGIN CERTIFICATE-----\nB\n-----END CERTIFICATE-----\n' };
const policy = (p: Partial<ClientCertificatePolicy> = {}): ClientCertificatePolicy => ({
  authority: CA.id,
  verify: 'on',
  depth: 1,
  passCertificate: false,
  source: { namespace: 'default', name: 'web' },
  ...p,
});
const GOOD: PeerCertificate = {
  verifyError: null,
  intermediates: 0,
  subjectDn: 'O=Acme,CN=client-one',
  issuerDn: 'CN=Test CA',
  pem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
};
const conn = (
  peer: PeerCertificate | null,
  o: { servername?: string | null; askedWith?: ClientCertificateAuthority | null | undefined } = {},
): TlsClientConnection => ({
  servername: o.servername === undefined ? 'a.test' : o.servername,
  askedWith: 'askedWith' in o ? o.askedWith : CA,
  peer: () => peer,
});
/** Host entries by server name: a.test and *.w.test (one entry) check certificates, b.test does not. */
const lookup = (name: string): string | null =>
  name === 'a.test' ? 'a.test' : name.endsWith('.w.test') ? '*.w.test' : name === 'b.test' ? 'b.test' : null;
const headers = (verify: string, more: Partial<Record<'subject' | 'issuer' | 'cert', string>> = {}) => ({
  kind: 'pass',
  upstreamHeaders: [
    ['ssl-client-verify', verify],
    ['ssl-client-subject-dn', more.subject ?? null],
    ['ssl-client-issuer-dn', more.issuer ?? null],
    ['ssl-client-cert', more.cert ?? null],
  ],
});
const VERIFIED = headers('SUCCESS', { subject: GOOD.subjectDn, issuer: GOOD.issuerDn });

interface Case {
  name: string;
  policy: ClientCertificatePolicy;
  conn: TlsClientConnection | null | undefined;
  host?: string;
  authority?: ClientCertificateAuthority | null;
  want: ClientCertificateOutcome | ReturnType<typeof headers>;
}

const CASES: Case[] = [
  { name: 'on: a verified certificate passes with SUCCESS, subject and issuer', policy: policy(), conn: conn(GOOD), want: VERIFIED },
  { name: 'on: no certificate is 400 (nginx 496)', policy: policy(), conn: conn(null), want: { kind: 'refuse', status: 400 } },
  {
    name: 'on: a certificate that does not verify is 400 (nginx 495)',
    policy: policy(),
    conn: conn({ ...GOOD, verifyError: 'unable to get local issuer certificate' }),
    want: { kind: 'refuse', status: 400 },
  },
  {
    name: 'on: more intermediates than auth-tls-verify-depth is 400',
    policy: policy(),
    conn: conn({ ...GOOD, intermediates: 2 }),
    want: { kind: 'refuse', status: 400 },
  },
  { name: 'on, depth 2: two intermediates pass', policy: policy({ depth: 2 }), conn: conn({ ...GOOD, intermediates: 2 }), want: VERIFIED },
  {
    name: 'on with auth-tls-error-page: 302 to it instead of 400',
    policy: policy({ errorPage: 'https://errors.test/cert' }),
    conn: conn(null),
    want: { kind: 'redirect', status: 302, location: 'https://errors.test/cert' },
  },
  {
    name: 'pass-certificate-to-upstream: the PEM URL-encoded in ssl-client-cert',
    policy: policy({ passCertificate: true }),
    conn: conn(GOOD),
    want: headers('SUCCESS', { subject: GOOD.subjectDn, issuer: GOOD.issuerDn, cert: encodeURIComponent(GOOD.pem) }),
  },
  { name: 'optional: no certificate passes with NONE', policy: policy({ verify: 'optional' }), conn: conn(null), want: headers('NONE') },
  {
    name: 'optional: a certificate that does not verify is still 400',
    policy: policy({ verify: 'optional' }),
    conn: conn({ ...GOOD, verifyError: 'certificate has expired' }),
    want: { kind: 'refuse', status: 400 },
  },
  {
    name: 'optional_no_ca: a failed verification passes, with the reason',
    policy: policy({ verify: 'optional_no_ca' }),
    conn: conn({ ...GOOD, verifyError: 'certificate has expired' }),
    want: headers('FAILED:certificate has expired', { subject: GOOD.subjectDn, issuer: GOOD.issuerDn }),
  },
  {
    name: 'optional_no_ca: too deep passes as FAILED:certificate chain too long',
    policy: policy({ verify: 'optional_no_ca' }),
    conn: conn({ ...GOOD, intermediates: 3 }),
    want: headers('FAILED:certificate chain too long', { subject: GOOD.subjectDn, issuer: GOOD.issuerDn }),
  },
  { name: 'off: passes with NONE, whatever the connection', policy: policy({ verify: 'off' }), conn: undefined, want: headers('NONE') },
  { name: 'match-cn that matches passes', policy: policy({ matchCn: 'CN=client-one' }), conn: conn(GOOD), want: VERIFIED },
  {
    name: 'match-cn that does not match is 403',
    policy: policy({ matchCn: 'CN=client-two' }),
    conn: conn(GOOD),
    want: { kind: 'refuse', status: 403 },
  },
  {
    name: 'match-cn with optional and no certificate is 403 (the empty DN does not match)',
    policy: policy({ verify: 'optional', matchCn: 'CN=client' }),
    conn: conn(null),
    want: { kind: 'refuse', status: 403 },
  },
  {
    name: 'a DN longer than 1024 characters never matches',
    policy: policy({ matchCn: 'CN=x' }),
    conn: conn({ ...GOOD, subjectDn: `CN=x,${'O=y,'.repeat(300)}` }),
    want: { kind: 'refuse', status: 403 },
  },
  { name: 'plain HTTP with on: as no certificate, 400', policy: policy(), conn: null, want: { kind: 'refuse', status: 400 } },
  { name: 'plain HTTP with optional: NONE', policy: policy({ verify: 'optional' }), conn: null, want: headers('NONE') },
  {
    name: 'a runtime that cannot see certificates: 503 (fail closed)',
    policy: policy(),
    conn: undefined,
    want: { kind: 'refuse', status: 503 },
  },
  {
    name: 'authorities missing from the table: 503',
    policy: policy(),
    conn: conn(GOOD),
    authority: null,
    want: { kind: 'refuse', status: 503 },
  },
  {
    name: 'SNI named another host than the Host header: 421',
    policy: policy(),
    conn: conn(GOOD, { servername: 'b.test' }),
    want: { kind: 'refuse', status: 421 },
  },
  {
    name: 'SNI that is another name of the same host entry (a wildcard) passes',
    policy: policy(),
    conn: conn(GOOD, { servername: 'x.w.test' }),
    host: '*.w.test',
    want: VERIFIED,
  },
  {
    name: 'the handshake asked with other authorities (rotated since): 421',
    policy: policy(),
    conn: conn(GOOD, { askedWith: ROTATED }),
    want: { kind: 'refuse', status: 421 },
  },
  {
    name: 'the handshake for this name asked for no certificate (switched on since): 421',
    policy: policy(),
    conn: conn(null, { askedWith: null }),
    want: { kind: 'refuse', status: 421 },
  },
  {
    name: 'a handshake whose SNI callback did not run (a resumed session) is refused, not trusted: 421',
    policy: policy(),
    conn: conn(GOOD, { askedWith: undefined }),
    want: { kind: 'refuse', status: 421 },
  },
  {
    name: 'no SNI: nothing was asked, so as no certificate, 400',
    policy: policy(),
    conn: conn(null, { servername: null, askedWith: null }),
    want: { kind: 'refuse', status: 400 },
  },
];

describe('clientCertificateOutcome', () => {
  for (const c of CASES)
    it(c.name, () => {
      const authority = c.authority === undefined ? CA : c.authority;
      expect(clientCertificateOutcome(c.policy, authority, c.host ?? 'a.test', c.conn, lookup)).toEqual(c.want);
    });
});

describe('rfc2253: nginx $ssl_client_s_dn from node:crypto subject lines', () => {
  const cases: [string, string, string][] = [
    ['one RDN', 'CN=client one', 'CN=client one'],
    ['most specific first', 'C=DE\nO=Acme\nCN=client one', 'CN=client one,O=Acme,C=DE'],
    // Checked against nginx 1.22 with `/CN=deep,client/O=Acme+OU=Ops`: `O=Acme+OU=Ops,CN=deep\,client`.
    ['a multi-valued RDN in reverse, escaped commas kept', 'CN=deep\\,client\nOU=Ops + O=Acme', 'O=Acme+OU=Ops,CN=deep\\,client'],
    ['empty', '', ''],
    // nginx (ASN1_STRFLGS_ESC_MSB): `CN=Zoë中` is `CN=Zo\C3\AB\E4\B8\AD`.
    ['non-ASCII as escaped UTF-8 bytes', 'CN=Zoë中', 'CN=Zo\\C3\\AB\\E4\\B8\\AD'],
  ];
  for (const [name, lines, dn] of cases) it(name, () => expect(rfc2253(lines)).toBe(dn));
});

describe('peer clusters never serve a host that checks client certificates', () => {
  it('a request this cluster has no route for is not relayed to a peer whose host checks them', async () => {
    const { compile } = await import('../../sync/compile/index.ts');
    const { compileMatcher } = await import('../../gateway/table/match.ts');
    const { decide } = await import('../../gateway/decide.ts');
    const { generateSelfSignedCertificate } = await import('../../gateway/tls/selfsigned.ts');
    const { ingress, objects, ourClass, service } = await import('../support/manifests.ts');
    const ca = generateSelfSignedCertificate({ commonName: 'peer CA', keyType: 'ec' }).certPem;
    const peer = compile(
      objects(
        ourClass(),
        service('web', [{ address: '10.1.0.1', port: 8080 }]),
        { apiVersion: 'v1', kind: 'Secret', metadata: { namespace: 'default', name: 'ca' }, type: 'Opaque', stringData: { 'ca.crt': ca } },
        ingress('m', {
          host: 'm.test',
          paths: [{ path: '/', service: 'web' }],
          annotations: { 'nginx.ingress.kubernetes.io/auth-tls-secret': 'default/ca' },
        }),
      ),
    ).table;
    expect(peer.hosts[0]!.clientCertificate?.verify).toBe('on');
    const local = compile(objects(ourClass())).table;
    const live = (t: typeof peer) => ({ current: { matcher: compileMatcher(t), certificates: new Map(), loadedAt: 0 } });
    for (const scheme of ['https', 'http'] as const) {
      const d = decide(
        live(local),
        { host: 'm.test', path: '/', search: '', scheme, clientIp: '192.0.2.1', localPort: 443, tlsClient: null },
        443,
        [{ cluster: 'b', live: live(peer) }],
      );
      expect(d).toMatchObject({ kind: 'status', status: 404 });
    }
  });
});
