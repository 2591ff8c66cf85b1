// auth-tls-secret, auth-tls-verify-client, auth-tls-verify-depth, auth-tls-error-page,
// auth-tls-pass-certificate-to-upstream, auth-tls-match-cn → the host's client-certificate policy and the authorities
// it is checked against. Cases mirror ingress-nginx's authtls parser (internal/ingress/annotations/authtls) and
// test/e2e/annotations/authtls.go, named in each case; where ingress-nginx falls back quietly (an unknown
// verify-client, a match-cn without `CN=`, a Secret without ca.crt), Portico fails the host closed.
import { describe, expect, it } from 'vitest';
import { validate } from '../../gateway/table/validate.ts';
import { sealTable } from '../../gateway/table/canonical.ts';
import type { RoutingTable } from '../../gateway/table/schema.ts';
import { type AnyObject, app, cls, ingress, prefix, rule, tls } from '../support/builders.ts';
import { runCase, type Case } from './cases.ts';
import { makeCert } from './certs.ts';

const CLS = cls();
const WEB = app('web');
const N = 'nginx.ingress.kubernetes.io/';
const CA = makeCert({ cn: 'Client CA' }).certPem;
const OTHER_CA = makeCert({ cn: 'Other client CA' }).certPem;

function secret(name: string, values: Record<string, string>, namespace = 'default'): AnyObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { namespace, name },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, btoa(v)])),
  };
}
const web = (annotations: Record<string, string>, o: { name?: string; host?: string; path?: string; created?: number } = {}) =>
  ingress(o.name ?? 'web', {
    annotations,
    rules: [rule(o.host ?? 'foo.com', prefix(o.path ?? '/', 'web'))],
    tls: [tls(undefined, o.host ?? 'foo.com')],
    ...(o.created === undefined ? {} : { created: o.created }),
  });
const withCa = (annotations: Record<string, string>, ...more: AnyObject[]): AnyObject[] => [
  CLS,
  ...WEB,
  secret('ca', { 'ca.crt': CA }),
  ...more,
  web({ [`${N}auth-tls-secret`]: 'default/ca', ...annotations }),
];
const ROUTE = 'Prefix "" -> default/web:80 [default/web] redirect';
const host = (clientCertificate: string) => ({ 'foo.com': { tls: null, routes: [ROUTE], clientCertificate } });
const closed = (...keys: string[]) => ({ 'foo.com': { tls: null, routes: [`${ROUTE} closed(${keys.join(', ')})`] } });

function table(name: string, cases: Case[]): void {
  describe(name, () => {
    for (const c of cases) it(c.name, () => void runCase(c));
  });
}

table('client certificates', [
  {
    name: 'authtls.go "should set valid auth-tls-secret": verify on, depth 1, the authority in the table',
    objects: withCa({}),
    hosts: host('verify=on depth=1 ca=default/ca [default/web]'),
    check: (r) => {
      expect(r.table.clientCertificateAuthorities).toEqual([{ id: 'default/ca', caPem: `${CA.trim()}\n` }]);
      expect(r.table.schema).toBe(4);
      expect(validate(r.table)).toEqual([]);
    },
  },
  {
    name: 'authtls.go "sslVerify to off, and sslVerifyDepth to 2"',
    objects: withCa({ [`${N}auth-tls-verify-client`]: 'off', [`${N}auth-tls-verify-depth`]: '2' }),
    hosts: host('verify=off depth=2 ca=default/ca [default/web]'),
  },
  {
    name: 'authtls.go "pass certificate to upstream, and error page"',
    objects: withCa({ [`${N}auth-tls-error-page`]: 'http://foo.com/error', [`${N}auth-tls-pass-certificate-to-upstream`]: 'true' }),
    hosts: host('verify=on depth=1 ca=default/ca [default/web] pass error-page=http://foo.com/error'),
  },
  {
    name: 'verify-client optional and optional_no_ca, match-cn, and depth 0 meaning the default 1 (authtls parser)',
    objects: withCa({
      [`${N}auth-tls-verify-client`]: 'optional_no_ca',
      [`${N}auth-tls-match-cn`]: 'CN=(alpha|beta)',
      [`${N}auth-tls-verify-depth`]: '0',
    }),
    hosts: host('verify=optional_no_ca depth=1 ca=default/ca [default/web] cn=CN=(alpha|beta)'),
  },
  {
    name: 'a revocation list (ca.crl) travels with the authorities',
    objects: [
      CLS,
      ...WEB,
      secret('ca', { 'ca.crt': CA, 'ca.crl': '-----BEGIN X509 CRL-----\nnot checked here\n-----END X509 CRL-----\n' }),
      web({ [`${N}auth-tls-secret`]: 'ca' }),
    ],
    // The worker's context refuses a list that does not parse, so the compiler refuses it first.
    hosts: closed('auth-tls-secret'),
    diagnostics: ['SecretInvalid Ingress default/web'],
    messages: [/revocation list cannot be loaded/],
  },
  {
    name: 'the host check covers a younger Ingress on the host; its different settings are reported, not applied',
    objects: [
      ...withCa({}),
      web(
        { [`${N}auth-tls-secret`]: 'default/ca', [`${N}auth-tls-verify-client`]: 'optional' },
        { name: 'young', path: '/young', created: 10 },
      ),
    ],
    hosts: {
      'foo.com': {
        tls: null,
        routes: ['Prefix "/young" -> default/web:80 [default/young] redirect', ROUTE],
        clientCertificate: 'verify=on depth=1 ca=default/ca [default/web]',
      },
    },
    diagnostics: ['ClientCertificateConflict Ingress default/young'],
  },
]);

table('client certificates fail closed', [
  {
    name: 'a Secret that does not exist: every route of the host answers 503, including other Ingresses on it',
    objects: [CLS, ...WEB, web({ [`${N}auth-tls-secret`]: 'default/nothing' }), web({}, { name: 'other', path: '/other', created: 10 })],
    hosts: {
      'foo.com': {
        tls: null,
        routes: ['Prefix "/other" -> default/web:80 [default/other] redirect closed(auth-tls-secret)', `${ROUTE} closed(auth-tls-secret)`],
      },
    },
    diagnostics: ['SecretNotFound Ingress default/web'],
    check: (r) => expect(r.table.clientCertificateAuthorities).toBeUndefined(),
  },
  {
    name: 'a Secret without ca.crt (ingress-nginx disables mutual authentication then)',
    objects: withCa({ [`${N}auth-tls-secret`]: 'default/tls-only' }, secret('tls-only', { 'tls.crt': CA })),
    hosts: closed('auth-tls-secret'),
    diagnostics: ['SecretInvalid Ingress default/web'],
    messages: [/has no key "ca\.crt"/],
  },
  {
    name: 'a ca.crt without a certificate',
    objects: withCa({ [`${N}auth-tls-secret`]: 'default/junk' }, secret('junk', { 'ca.crt': 'hello' })),
    hosts: closed('auth-tls-secret'),
    diagnostics: ['SecretInvalid Ingress default/web'],
  },
  {
    name: "another namespace's Secret (allow-cross-namespace-resources is off by default)",
    objects: withCa({ [`${N}auth-tls-secret`]: 'other/ca' }, secret('ca', { 'ca.crt': CA }, 'other')),
    hosts: closed('auth-tls-secret'),
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
  },
  ...(
    [
      ['auth-tls-verify-client', 'yes'],
      ['auth-tls-verify-depth', 'two'],
      ['auth-tls-verify-depth', '-1'],
      ['auth-tls-error-page', '/relative'],
      ['auth-tls-pass-certificate-to-upstream', 'sure'],
      ['auth-tls-match-cn', 'client-one'],
      ['auth-tls-match-cn', 'CN=(a+)+$'],
      ['auth-tls-match-cn', 'CN=.*.*.*x'],
      ['auth-tls-secret', 'a/b/c'],
    ] as const
  ).map(
    ([key, value]): Case => ({
      name: `${key}: ${JSON.stringify(value)} does not parse`,
      objects: withCa({ [`${N}${key}`]: value }),
      hosts: closed(key),
      diagnostics: ['AccessControlNotEnforced Ingress default/web'],
    }),
  ),
  {
    name: 'a companion without auth-tls-secret (ingress-nginx ignores it) is a guard Portico does not enforce',
    objects: [CLS, ...WEB, web({ [`${N}auth-tls-verify-client`]: 'on' })],
    hosts: closed('auth-tls-verify-client'),
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
  },
]);

describe('validate() refuses client-certificate fields a worker could not apply', () => {
  const good = runCase({ name: 'base', objects: withCa({ [`${N}auth-tls-match-cn`]: 'CN=a' }) }).table;
  const reseal = (edit: (t: RoutingTable) => void): RoutingTable => {
    const t = structuredClone(good);
    edit(t);
    const { version: _v, schema: _s, ...content } = t;
    return sealTable(content);
  };
  const cases: [string, (t: RoutingTable) => void, RegExp][] = [
    ['an unknown authority', (t) => void (t.hosts[0]!.clientCertificate!.authority = 'default/other'), /unknown authority/],
    ['an unknown verify mode', (t) => void ((t.hosts[0]!.clientCertificate as { verify: string }).verify = 'maybe'), /verify/],
    ['a pattern that backtracks', (t) => void (t.hosts[0]!.clientCertificate!.matchCn = 'CN=(a*)*'), /repeats a group/],
    ['an unknown field', (t) => void Object.assign(t.hosts[0]!.clientCertificate!, { crlCheck: 'off' }), /unknown field/],
    ['authorities without PEM', (t) => void (t.clientCertificateAuthorities![0]!.caPem = 'x'), /PEM/],
    ['a depth beyond 16', (t) => void (t.hosts[0]!.clientCertificate!.depth = 17), /depth/],
  ];
  for (const [name, edit, why] of cases)
    it(name, () => {
      const problems = validate(reseal(edit));
      expect(problems.map((p) => `${p.at}: ${p.message}`).join('\n')).toMatch(why);
    });
  it('a policy in a table stamped schema 3 (a schema-3 worker would serve the host unchecked)', () => {
    expect(
      validate({ ...good, schema: 3 }, { checkHash: false })
        .map((p) => p.message)
        .join(),
    ).toMatch(/needs schema 4/);
  });
  it('the authorities differ: different tables', () => {
    const other = runCase({
      name: 'other',
      objects: [
        CLS,
        ...WEB,
        secret('ca', { 'ca.crt': OTHER_CA }),
        web({ [`${N}auth-tls-secret`]: 'ca', [`${N}auth-tls-match-cn`]: 'CN=a' }),
      ],
    }).table;
    expect(other.version).not.toBe(good.version);
  });
});
