// TLS cases (rule 7): Secrets → certificates, hosts → TLS, conflicts, and what falls back to the default
// certificate. Certificates are made at test time with openssl (certs.ts).
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Ingress, IngressTLS } from '../../sync/compile/types.ts';
import { app, cls, ingress, prefix, rule, secret, tls, type AnyObject } from '../support/builders.ts';
import { runCase, type Case } from './cases.ts';
import { makeCert, type TestCert } from './certs.ts';

const CLS = cls();
const WEB = app('web');
const FOO = (): TestCert => makeCert({ cn: 'foo.com', sans: ['foo.com', 'www.foo.com'] });
const WILD = (): TestCert => makeCert({ cn: '*.foo.com', sans: ['*.foo.com'], key: 'ec' });
const BAR = (): TestCert => makeCert({ cn: 'bar.com', sans: ['bar.com'], key: 'ec' });
const CN_ONLY = (): TestCert => makeCert({ cn: 'cn.example.com' });
const EXPIRED = (): TestCert => makeCert({ cn: 'old.example.com', sans: ['old.example.com'], key: 'ec', expired: true });
const CHAIN = (): TestCert => makeCert({ cn: 'chain.example.com', sans: ['chain.example.com'], chain: true });

/** An Ingress serving `hosts` (each `/` → web) with the given TLS entries. */
const site = (
  name: string,
  hosts: (string | undefined)[],
  entries: IngressTLS[],
  o: { created?: number; namespace?: string; annotations?: Record<string, string> } = {},
): Ingress => ingress(name, { ...o, tls: entries, rules: hosts.map((h) => rule(h, prefix('/', 'web'))) });
const R = (source = 'default/web', redirect = true): string[] => [`Prefix "" -> default/web:80 [${source}]${redirect ? ' redirect' : ''}`];
const world = (...rest: AnyObject[]): AnyObject[] => [CLS, ...WEB, ...rest];

function table(name: string, cases: Case[]): void {
  describe(name, () => {
    for (const c of cases) it(c.name, () => void runCase(c));
  });
}

table('TLS: certificates', [
  {
    name: 'a valid kubernetes.io/tls Secret: the host gets the certificate, routes redirect, info and material are filled',
    objects: () => world(secret('foo-tls', FOO()), site('web', ['foo.com'], [tls('foo-tls', 'foo.com')])),
    hosts: { 'foo.com': { tls: 'default/foo-tls', routes: R() } },
    check: (r) => {
      const x = new X509Certificate(FOO().certPem);
      expect(r.table.certificates).toEqual([
        {
          id: 'default/foo-tls',
          fingerprint: x.fingerprint256,
          dnsNames: ['foo.com', 'www.foo.com'],
          notBefore: new Date(x.validFrom).toISOString(),
          notAfter: new Date(x.validTo).toISOString(),
        },
      ]);
      expect(r.table.certificates[0]!.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      expect(r.certificates).toEqual([{ id: 'default/foo-tls', certPem: FOO().certPem, keyPem: FOO().keyPem }]);
      expect(JSON.stringify(r.table)).not.toContain('PRIVATE KEY');
    },
  },
  {
    name: 'stringData (plain PEM) is accepted',
    objects: () => world(secret('foo-tls', FOO(), { encoding: 'stringData' }), site('web', ['foo.com'], [tls('foo-tls', 'foo.com')])),
    hosts: { 'foo.com': { tls: 'default/foo-tls', routes: R() } },
  },
  {
    name: 'an Opaque Secret with tls.crt and tls.key is accepted',
    objects: () => world(secret('foo-tls', FOO(), { type: 'Opaque' }), site('web', ['foo.com'], [tls('foo-tls', 'foo.com')])),
    hosts: { 'foo.com': { tls: 'default/foo-tls', routes: R() } },
  },
  {
    name: 'an EC certificate works',
    objects: () => world(secret('bar-tls', BAR()), site('web', ['bar.com'], [tls('bar-tls', 'bar.com')])),
    hosts: { 'bar.com': { tls: 'default/bar-tls', routes: R() } },
  },
  {
    name: 'a chain: material keeps the full chain, info describes the leaf (first PEM block)',
    objects: () => world(secret('chain-tls', CHAIN()), site('web', ['chain.example.com'], [tls('chain-tls', 'chain.example.com')])),
    hosts: { 'chain.example.com': { tls: 'default/chain-tls', routes: R() } },
    check: (r) => {
      expect(r.certificates[0]!.certPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
      expect(r.table.certificates[0]!.fingerprint).toBe(new X509Certificate(CHAIN().certPem).fingerprint256);
      expect(r.table.certificates[0]!.dnsNames).toEqual(['chain.example.com']);
    },
  },
  {
    name: 'a certificate without SANs: dnsNames is the subject CN, which covers the host',
    objects: () => world(secret('cn-tls', CN_ONLY()), site('web', ['cn.example.com'], [tls('cn-tls', 'cn.example.com')])),
    hosts: { 'cn.example.com': { tls: 'default/cn-tls', routes: R() } },
    check: (r) => expect(r.table.certificates[0]!.dnsNames).toEqual(['cn.example.com']),
  },
  {
    name: 'an expired certificate is still used (expiry is the worker’s and the operator’s business); its dates are exact',
    objects: () => world(secret('old-tls', EXPIRED()), site('web', ['old.example.com'], [tls('old-tls', 'old.example.com')])),
    hosts: { 'old.example.com': { tls: 'default/old-tls', routes: R() } },
    check: (r) =>
      expect(r.table.certificates[0]).toMatchObject({ notBefore: '2020-01-01T00:00:00.000Z', notAfter: '2021-01-01T00:00:00.000Z' }),
  },
  {
    name: 'one Secret for two hosts gives one certificate entry',
    objects: () => world(secret('foo-tls', FOO()), site('web', ['foo.com', 'www.foo.com'], [tls('foo-tls', 'foo.com', 'www.foo.com')])),
    hosts: { 'foo.com': { tls: 'default/foo-tls', routes: R() }, 'www.foo.com': { tls: 'default/foo-tls', routes: R() } },
    check: (r) => {
      expect(r.table.certificates.map((c) => c.id)).toEqual(['default/foo-tls']);
      expect(r.certificates.map((c) => c.id)).toEqual(['default/foo-tls']);
    },
  },
  {
    name: 'only certificates that a host uses are in the table and the material',
    objects: () =>
      world(
        secret('foo-tls', FOO()),
        secret('bar-tls', BAR()),
        secret('unused', FOO()),
        site('web', ['foo.com', 'x.com'], [tls('foo-tls', 'foo.com'), tls('bar-tls', 'x.com')]),
      ),
    diagnostics: ['CertificateHostMismatch Ingress default/web'],
    check: (r) => {
      expect(r.table.certificates.map((c) => c.id)).toEqual(['default/foo-tls']);
      expect(r.certificates.map((c) => c.id)).toEqual(['default/foo-tls']);
    },
  },
  {
    name: 'Secrets are per namespace: the same secretName in two namespaces gives two certificates',
    objects: () => [
      CLS,
      ...app('web', ['10.1.0.1'], 'a'),
      ...app('web', ['10.2.0.1'], 'b'),
      secret('tls', FOO(), { namespace: 'a' }),
      secret('tls', BAR(), { namespace: 'b' }),
      site('web', ['foo.com'], [tls('tls', 'foo.com')], { namespace: 'a' }),
      site('web', ['bar.com'], [tls('tls', 'bar.com')], { namespace: 'b' }),
    ],
    check: (r) =>
      expect(r.table.hosts.map((h) => [h.host, h.tls?.certificate])).toEqual([
        ['bar.com', 'b/tls'],
        ['foo.com', 'a/tls'],
      ]),
  },
]);

const badSecret = (s: AnyObject, code: string, message: RegExp): Case => ({
  name: `${code}: ${message.source.replace(/\\/g, '')}`,
  objects: () => world(s, site('web', ['foo.com'], [tls('foo-tls', 'foo.com')])),
  hosts: { 'foo.com': { tls: null, routes: R() } },
  diagnostics: [`${code} Ingress default/web`],
  messages: [message],
  check: (r) => {
    expect(r.table.certificates).toEqual([]);
    expect(r.certificates).toEqual([]);
  },
});

table('TLS: unusable Secrets keep TLS (and the redirect) with the default certificate', [
  {
    ...badSecret(secret('other', FOO()), 'SecretNotFound', /Secret "foo-tls" not found in namespace "default"/),
    name: 'missing Secret → SecretNotFound',
  },
  {
    ...badSecret(secret('foo-tls', FOO(), { namespace: 'elsewhere' }), 'SecretNotFound', /not found in namespace "default"/),
    name: 'a Secret in another namespace is not found',
  },
  {
    ...badSecret(secret('foo-tls', { certPem: 'hello', keyPem: FOO().keyPem }), 'SecretInvalid', /tls\.crt contains no PEM certificate/),
    name: 'tls.crt that is not PEM → SecretInvalid',
  },
  {
    ...badSecret(
      secret('foo-tls', { certPem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', keyPem: FOO().keyPem }),
      'SecretInvalid',
      /tls\.crt could not be parsed/,
    ),
    name: 'a PEM block with garbage inside → SecretInvalid',
  },
  {
    ...badSecret(secret('foo-tls', { certPem: FOO().certPem, keyPem: 'not a key' }), 'SecretInvalid', /tls\.key could not be parsed/),
    name: 'tls.key that is not a key → SecretInvalid',
  },
  {
    ...badSecret(
      secret('foo-tls', {
        certPem: FOO().certPem,
        keyPem: createPrivateKey(FOO().keyPem)
          .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' })
          .toString(),
      }),
      'SecretInvalid',
      /tls\.key could not be parsed/,
    ),
    name: 'an encrypted tls.key → SecretInvalid',
  },
  {
    ...badSecret(secret('foo-tls', { certPem: FOO().certPem }), 'SecretInvalid', /Secret default\/foo-tls has no tls\.key/),
    name: 'kubernetes.io/tls without tls.key → SecretInvalid',
  },
  {
    ...badSecret(
      secret('foo-tls', {}, { type: 'Opaque' }),
      'SecretInvalid',
      /is of type "Opaque", not kubernetes\.io\/tls, and has no tls\.crt and tls\.key/,
    ),
    name: 'an Opaque Secret without tls.crt/tls.key → SecretInvalid',
  },
  {
    ...badSecret(
      {
        kind: 'Secret',
        metadata: { namespace: 'default', name: 'foo-tls' },
        type: 'kubernetes.io/tls',
        data: { 'tls.crt': '***not base64***', 'tls.key': 'AAAA' },
      },
      'SecretInvalid',
      /data\["tls\.crt"\] is not base64/,
    ),
    name: 'data that is not base64 → SecretInvalid',
  },
  {
    ...badSecret(
      secret('foo-tls', { certPem: FOO().certPem, keyPem: BAR().keyPem }),
      'CertificateKeyMismatch',
      /tls\.key is not the private key of the certificate/,
    ),
    name: 'key of another certificate → CertificateKeyMismatch',
  },
  {
    ...badSecret(
      secret('foo-tls', {
        certPem: FOO().certPem,
        keyPem: makeCert({ cn: 'foo.com', sans: ['foo.com', 'www.foo.com'], key: 'ec' }).keyPem,
      }),
      'CertificateKeyMismatch',
      /not the private key/,
    ),
    name: 'an EC key for an RSA certificate → CertificateKeyMismatch',
  },
  {
    name: 'one broken Secret used by two Ingresses: each Ingress is told',
    objects: () => world(site('a', ['foo.com'], [tls('gone', 'foo.com')]), site('b', ['bar.com'], [tls('gone', 'bar.com')])),
    diagnostics: ['SecretNotFound Ingress default/a', 'SecretNotFound Ingress default/b'],
    hosts: { 'bar.com': { tls: null, routes: R('default/b') }, 'foo.com': { tls: null, routes: R('default/a') } },
  },
]);

table('TLS: hosts', [
  {
    name: 'a certificate that does not cover a host → CertificateHostMismatch, default certificate for that host only',
    objects: () => world(secret('foo-tls', FOO()), site('web', ['foo.com', 'bar.com'], [tls('foo-tls', 'foo.com', 'bar.com')])),
    hosts: { 'bar.com': { tls: null, routes: R() }, 'foo.com': { tls: 'default/foo-tls', routes: R() } },
    diagnostics: ['CertificateHostMismatch Ingress default/web'],
    messages: [/Secret default\/foo-tls \(DNS names: foo\.com, www\.foo\.com\) does not cover host "bar\.com"/],
  },
  {
    name: 'SAN coverage is exact: www.foo.com covered, api.foo.com not',
    objects: () =>
      world(secret('foo-tls', FOO()), site('web', ['www.foo.com', 'api.foo.com'], [tls('foo-tls', 'www.foo.com', 'api.foo.com')])),
    hosts: { 'api.foo.com': { tls: null, routes: R() }, 'www.foo.com': { tls: 'default/foo-tls', routes: R() } },
    diagnostics: ['CertificateHostMismatch Ingress default/web'],
  },
  {
    name: 'wildcard host *.foo.com with a *.foo.com SAN',
    objects: () => world(secret('wild', WILD()), site('web', ['*.foo.com'], [tls('wild', '*.foo.com')])),
    hosts: { '*.foo.com': { tls: 'default/wild', routes: R() } },
  },
  {
    name: 'wildcard host *.foo.com needs the wildcard SAN: exact names do not cover it',
    objects: () => world(secret('foo-tls', FOO()), site('web', ['*.foo.com'], [tls('foo-tls', '*.foo.com')])),
    hosts: { '*.foo.com': { tls: null, routes: R() } },
    diagnostics: ['CertificateHostMismatch Ingress default/web'],
  },
  {
    name: 'an exact host one label under a wildcard SAN is covered',
    objects: () => world(secret('wild', WILD()), site('web', ['api.foo.com'], [tls('wild', 'api.foo.com')])),
    hosts: { 'api.foo.com': { tls: 'default/wild', routes: R() } },
  },
  {
    name: 'a wildcard SAN does not cover two labels down',
    objects: () => world(secret('wild', WILD()), site('web', ['a.b.foo.com'], [tls('wild', 'a.b.foo.com')])),
    hosts: { 'a.b.foo.com': { tls: null, routes: R() } },
    diagnostics: ['CertificateHostMismatch Ingress default/web'],
  },
  {
    name: 'a wildcard SAN does not cover the apex',
    objects: () => world(secret('wild', WILD()), site('web', ['foo.com'], [tls('wild', 'foo.com')])),
    hosts: { 'foo.com': { tls: null, routes: R() } },
    diagnostics: ['CertificateHostMismatch Ingress default/web'],
  },
  {
    name: 'a TLS entry without hosts applies to every rule host of the Ingress (checked per host)',
    objects: () => world(secret('foo-tls', FOO()), site('web', ['foo.com', 'www.foo.com', 'bar.com'], [tls('foo-tls')])),
    hosts: {
      'bar.com': { tls: null, routes: R() },
      'foo.com': { tls: 'default/foo-tls', routes: R() },
      'www.foo.com': { tls: 'default/foo-tls', routes: R() },
    },
    diagnostics: ['CertificateHostMismatch Ingress default/web'],
  },
  {
    name: 'a TLS entry without hosts covers the rules without host too (nothing to check there)',
    objects: () => world(secret('foo-tls', FOO()), site('web', [undefined], [tls('foo-tls')])),
    hosts: { '': { tls: 'default/foo-tls', routes: R() } },
  },
  {
    name: 'TLS hosts are case-insensitive',
    objects: () => world(secret('foo-tls', FOO()), site('web', ['foo.com'], [tls('foo-tls', 'FOO.Com')])),
    hosts: { 'foo.com': { tls: 'default/foo-tls', routes: R() } },
  },
  {
    name: 'a TLS host no rule of the Ingress serves → TLSHostWithoutRule (Info); no host entry is made for it',
    objects: () => world(secret('foo-tls', FOO()), site('web', ['foo.com'], [tls('foo-tls', 'foo.com', 'www.foo.com')])),
    hosts: { 'foo.com': { tls: 'default/foo-tls', routes: R() } },
    diagnostics: ['TLSHostWithoutRule Ingress default/web (Info)'],
    messages: [/spec\.tls\[0\] lists host "www\.foo\.com", which no rule of this Ingress serves/],
  },
  {
    name: 'TLS of one Ingress does not apply to a host only another Ingress serves',
    objects: () =>
      world(secret('foo-tls', FOO()), site('a', ['bar.com'], [tls('foo-tls', 'foo.com')]), site('b', ['foo.com'], [], { created: 1 })),
    hosts: { 'bar.com': { routes: R('default/a', false) }, 'foo.com': { routes: R('default/b', false) } },
    diagnostics: ['TLSHostWithoutRule Ingress default/a (Info)'],
  },
  {
    name: 'a TLS entry without secretName: TLS with the default certificate, no diagnostic',
    objects: () => world(site('web', ['foo.com'], [tls(undefined, 'foo.com')])),
    hosts: { 'foo.com': { tls: null, routes: R() } },
  },
  {
    name: 'an invalid host in tls.hosts → InvalidHost, ignored',
    objects: () => world(secret('foo-tls', FOO()), site('web', ['foo.com'], [tls('foo-tls', 'foo.com', 'bad_host')])),
    hosts: { 'foo.com': { tls: 'default/foo-tls', routes: R() } },
    diagnostics: ['InvalidHost Ingress default/web'],
    messages: [/spec\.tls\[0\]\.hosts\[1\] "bad_host"/],
  },
  {
    name: 'a host in two TLS entries of one Ingress with different Secrets → DuplicateRule, the first is used',
    objects: () =>
      world(
        secret('foo-tls', FOO()),
        secret('other', FOO()),
        site('web', ['foo.com'], [tls('foo-tls', 'foo.com'), tls('other', 'foo.com')]),
      ),
    hosts: { 'foo.com': { tls: 'default/foo-tls', routes: R() } },
    diagnostics: ['DuplicateRule Ingress default/web'],
    messages: [/spec\.tls\[1\] gives host "foo\.com" Secret "other", but spec\.tls\[0\] already gives it "foo-tls"/],
  },
  {
    name: 'a host repeated in TLS entries with the same Secret is fine',
    objects: () =>
      world(secret('foo-tls', FOO()), site('web', ['foo.com'], [tls('foo-tls', 'foo.com', 'foo.com'), tls('foo-tls', 'foo.com')])),
    hosts: { 'foo.com': { tls: 'default/foo-tls', routes: R() } },
  },
  {
    name: 'no TLS: no redirect',
    objects: () => world(site('web', ['foo.com'], [])),
    hosts: { 'foo.com': { routes: R('default/web', false) } },
  },
]);

table('TLS: several Ingresses on one host', [
  {
    name: 'different certificates for one host: the oldest Ingress wins, the younger gets RouteConflict',
    objects: () =>
      world(
        secret('one', FOO()),
        secret('two', FOO()),
        site('young', ['foo.com'], [tls('two', 'foo.com')], { created: 5 }),
        site('old', ['foo.com'], [tls('one', 'foo.com')], { created: 1 }),
      ),
    hosts: { 'foo.com': { tls: 'default/one', routes: R('default/old') } },
    diagnostics: ['RouteConflict Ingress default/young', 'RouteConflict Ingress default/young'],
    messages: [
      /TLS for host "foo\.com": the certificate in Secret default\/two is ignored because Ingress default\/old gives the host Secret default\/one/,
    ],
    check: (r) => expect(r.table.certificates.map((c) => c.id)).toEqual(['default/one']),
  },
  {
    name: 'the oldest Ingress’s Secret is missing: a younger Ingress’s valid certificate is used',
    objects: () =>
      world(
        secret('two', FOO()),
        site('old', ['foo.com'], [tls('gone', 'foo.com')], { created: 1 }),
        ingress('young', { created: 5, tls: [tls('two', 'foo.com')], rules: [rule('foo.com', prefix('/y', 'web'))] }),
      ),
    hosts: {
      'foo.com': {
        tls: 'default/two',
        routes: ['Prefix "/y" -> default/web:80 [default/young] redirect', 'Prefix "" -> default/web:80 [default/old] redirect'],
      },
    },
    diagnostics: ['SecretNotFound Ingress default/old'],
  },
  {
    name: 'the same Secret from two Ingresses is not a conflict',
    objects: () =>
      world(
        secret('one', FOO()),
        site('a', ['foo.com'], [tls('one', 'foo.com')], { created: 1 }),
        ingress('b', { created: 2, tls: [tls('one', 'foo.com')], rules: [rule('foo.com', prefix('/b', 'web'))] }),
      ),
    check: (r) => expect(r.table.hosts[0]!.tls).toEqual({ certificate: 'default/one' }),
  },
  {
    name: 'TLS from one Ingress makes another Ingress’s routes on the host redirect',
    objects: () =>
      world(
        secret('one', FOO()),
        site('a', ['foo.com'], [tls('one', 'foo.com')], { created: 1 }),
        ingress('b', { created: 2, rules: [rule('foo.com', prefix('/b', 'web'))] }),
      ),
    hosts: {
      'foo.com': {
        tls: 'default/one',
        routes: ['Prefix "/b" -> default/web:80 [default/b] redirect', 'Prefix "" -> default/web:80 [default/a] redirect'],
      },
    },
  },
]);

describe('TLS certificate material', () => {
  it('certificates material is sorted by id and matches table.certificates one to one', () => {
    const r = runCase({
      name: 'material',
      objects: () =>
        world(
          secret('z-tls', BAR()),
          secret('a-tls', FOO()),
          site('web', ['foo.com', 'bar.com'], [tls('z-tls', 'bar.com'), tls('a-tls', 'foo.com')]),
        ),
    });
    expect(r.certificates.map((c) => c.id)).toEqual(['default/a-tls', 'default/z-tls']);
    expect(r.table.certificates.map((c) => c.id)).toEqual(['default/a-tls', 'default/z-tls']);
    for (const m of r.certificates) expect(new X509Certificate(m.certPem).checkPrivateKey(createPrivateKey(m.keyPem))).toBe(true);
  });
});
