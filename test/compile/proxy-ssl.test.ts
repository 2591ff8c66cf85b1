// proxy-ssl-* → the route's upstreamTls (schema 6) and the table's upstreamTlsSecrets, or a fail-closed route. The
// first cases are ingress-nginx's test/e2e/annotations/proxyssl.go, one each; the rest follow its parser
// (internal/ingress/annotations/proxyssl/main.go: read only with proxy-ssl-secret, namespace/name in the Ingress's own
// namespace, a companion it does not accept falls back to its default) and Portico's stated differences (README,
// "Upstream protocol": fail closed where the default would weaken verification).
import { describe, expect, it } from 'vitest';
import type { RoutePolicies, RoutingTable, UpstreamTlsPolicy } from '../../gateway/table/schema.ts';
import { validate } from '../../gateway/table/validate.ts';
import { serializeTable } from '../../gateway/table/canonical.ts';
import type { CompileResult } from '../../sync/compile/types.ts';
import { type AnyObject, app, cls, ingress, prefix, rule } from '../support/builders.ts';
import { makeUpstreamPki } from '../support/upstream-pki.ts';
import { runCase, type Case } from './cases.ts';

const N = 'nginx.ingress.kubernetes.io/';
const BP = `${N}backend-protocol`;
const SECRET = `${N}proxy-ssl-secret`;
const A = (name: string): string => `${N}proxy-ssl-${name}`;
const PKI = makeUpstreamPki();

function opaque(name: string, values: Record<string, string>, namespace = 'default'): AnyObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { namespace, name },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}
/** What framework.CreateIngressMASecret makes: ca.crt, tls.crt, tls.key. */
const FULL = opaque('backend-tls', { 'ca.crt': PKI.caPem, 'tls.crt': PKI.client.certPem, 'tls.key': PKI.client.keyPem });
const CA_ONLY = opaque('backend-tls', { 'ca.crt': PKI.caPem });

const objects = (annotations: Record<string, string>, ...secrets: AnyObject[]): AnyObject[] => [
  cls(),
  ...app('web'),
  ...secrets,
  ingress('web', { annotations, rules: [rule('foo.com', prefix('/', 'web'))] }),
];
const policiesOf = (r: CompileResult): RoutePolicies => r.table.hosts[0]!.routes[0]!.policies;
const served = { 'foo.com': { routes: ['Prefix "" -> default/web:80 [default/web]'] } };
const closed = (key: string) => ({ 'foo.com': { routes: [`Prefix "" -> default/web:80 [default/web] closed(${key})`] } });
const DEFAULTS: Omit<UpstreamTlsPolicy, 'secret'> = { verify: false, depth: 1, serverName: false, protocols: ['TLSv1.2'] };

/** Served with backendProtocol and exactly `tls` as upstreamTls, in a valid schema-6 table. */
const tlsCase = (
  name: string,
  annotations: Record<string, string>,
  tls: Partial<UpstreamTlsPolicy>,
  extra: Partial<Case> = {},
  secrets: AnyObject[] = [FULL],
): Case => ({
  name,
  objects: objects({ [BP]: 'HTTPS', [SECRET]: 'default/backend-tls', ...annotations }, ...secrets),
  hosts: served,
  check: (r) => {
    expect(policiesOf(r).upstreamTls).toEqual({ secret: 'default/backend-tls', ...DEFAULTS, ...tls });
    expect(r.table.schema).toBe(6);
    expect(validate(r.table)).toEqual([]);
  },
  ...extra,
});

describe('proxy-ssl-* (proxyssl.go)', () => {
  const cases: Case[] = [
    {
      name: 'should set valid proxy-ssl-secret (the e2e backend is plain HTTP: nothing to apply, as nginx ignores proxy_ssl_* there)',
      objects: objects({ [SECRET]: 'default/backend-tls' }, FULL),
      hosts: served,
      diagnostics: ['InvalidAnnotation Ingress default/web'],
      messages: [/"nginx.ingress.kubernetes.io\/proxy-ssl-secret" has no effect with backend-protocol HTTP/],
      check: (r) => {
        expect(policiesOf(r).upstreamTls).toBeUndefined();
        expect(r.table.upstreamTlsSecrets).toBeUndefined();
        expect(r.table.schema).toBe(1);
      },
    },
    tlsCase('should set valid proxy-ssl-secret (HTTPS upstream): DEFAULT ciphers, TLSv1.2, verify off, depth 1', {}, {}),
    tlsCase(
      'should set valid proxy-ssl-secret, proxy-ssl-verify to on, proxy-ssl-verify-depth to 2, and proxy-ssl-server-name to on',
      { [A('verify')]: 'on', [A('verify-depth')]: '2', [A('server-name')]: 'on' },
      { verify: true, depth: 2, serverName: true },
    ),
    tlsCase('should set valid proxy-ssl-secret, proxy-ssl-ciphers to HIGH:!AES', { [A('ciphers')]: 'HIGH:!AES' }, { ciphers: 'HIGH:!AES' }),
    tlsCase(
      'should set valid proxy-ssl-secret, proxy-ssl-protocols',
      { [A('protocols')]: 'TLSv1.3 TLSv1.2' },
      { protocols: ['TLSv1.2', 'TLSv1.3'] },
    ),
    tlsCase(
      'proxy-ssl-location-only flag should change the nginx config server part (Portico: always per route)',
      { [A('verify')]: 'on', [A('server-name')]: 'on', [A('name')]: 'backend.internal' },
      { verify: true, serverName: true, name: 'backend.internal' },
    ),
  ];
  for (const c of cases) it(c.name, () => void runCase(c));
});

describe('proxy-ssl-secret and its Secret', () => {
  const cases: Case[] = [
    {
      name: 'the client key travels beside the table (encrypted when published), never in it; the table has its fingerprint',
      objects: objects({ [BP]: 'GRPCS', [SECRET]: 'default/backend-tls' }, FULL),
      hosts: served,
      check: (r) => {
        const [s] = r.table.upstreamTlsSecrets ?? [];
        expect(s?.id).toBe('default/backend-tls');
        expect(s?.clientFingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
        expect(r.certificates.map((c) => c.id)).toEqual(['default/backend-tls#proxy-ssl']);
        expect(r.certificates[0]!.keyPem).toBe(PKI.client.keyPem);
        expect(serializeTable(r.table)).not.toContain('PRIVATE KEY');
      },
    },
    tlsCase(
      'a Secret with ca.crt alone: no client certificate',
      {},
      {},
      {
        objects: objects({ [BP]: 'HTTPS', [SECRET]: 'default/backend-tls' }, CA_ONLY),
      },
    ),
    {
      name: 'a missing Secret: 503 with a warning',
      objects: objects({ [BP]: 'HTTPS', [SECRET]: 'default/nope' }),
      hosts: closed('proxy-ssl-secret'),
      diagnostics: ['SecretNotFound Ingress default/web'],
      messages: [/Secret default\/nope named by "nginx.ingress.kubernetes.io\/proxy-ssl-secret" does not exist.*503/],
    },
    {
      name: 'a missing Secret closes the routes with a plain-HTTP upstream too (ingress-nginx denies the location)',
      objects: objects({ [SECRET]: 'default/nope' }),
      hosts: closed('proxy-ssl-secret'),
      diagnostics: ['SecretNotFound Ingress default/web'],
    },
    {
      name: "another namespace's Secret: 503 (cross namespace secrets are not supported)",
      objects: objects({ [BP]: 'HTTPS', [SECRET]: 'other/backend-tls' }, opaque('backend-tls', { 'ca.crt': PKI.caPem }, 'other')),
      hosts: closed('proxy-ssl-secret'),
      diagnostics: ['InvalidAnnotation Ingress default/web'],
      messages: [/names a Secret of namespace other, not the Ingress's own/],
    },
    {
      name: 'a bare Secret name: 503 (k8s.ParseNameNS wants namespace/name)',
      objects: objects({ [BP]: 'HTTPS', [SECRET]: 'backend-tls' }, FULL),
      hosts: closed('proxy-ssl-secret'),
      diagnostics: ['InvalidAnnotation Ingress default/web'],
      messages: [/it is not namespace\/name of a Secret/],
    },
    {
      name: 'a Secret without ca.crt: 503',
      objects: objects(
        { [BP]: 'HTTPS', [SECRET]: 'default/backend-tls' },
        opaque('backend-tls', { 'tls.crt': PKI.client.certPem, 'tls.key': PKI.client.keyPem }),
      ),
      hosts: closed('proxy-ssl-secret'),
      diagnostics: ['SecretInvalid Ingress default/web'],
      messages: [/has no key "ca.crt"/],
    },
    {
      name: 'an unparsable ca.crt: 503',
      objects: objects(
        { [BP]: 'HTTPS', [SECRET]: 'default/backend-tls' },
        opaque('backend-tls', { 'ca.crt': '-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n' }),
      ),
      hosts: closed('proxy-ssl-secret'),
      diagnostics: ['SecretInvalid Ingress default/web'],
      messages: [/certificate 1 of "ca.crt" does not parse/],
    },
    {
      name: 'tls.crt without tls.key: 503',
      objects: objects(
        { [BP]: 'HTTPS', [SECRET]: 'default/backend-tls' },
        opaque('backend-tls', { 'ca.crt': PKI.caPem, 'tls.crt': PKI.client.certPem }),
      ),
      hosts: closed('proxy-ssl-secret'),
      diagnostics: ['SecretInvalid Ingress default/web'],
      messages: [/"tls.crt" without "tls.key"/],
    },
    {
      name: 'a key that is not the certificate’s: 503',
      objects: objects(
        { [BP]: 'HTTPS', [SECRET]: 'default/backend-tls' },
        opaque('backend-tls', { 'ca.crt': PKI.caPem, 'tls.crt': PKI.client.certPem, 'tls.key': PKI.strangerClient.keyPem }),
      ),
      hosts: closed('proxy-ssl-secret'),
      diagnostics: ['SecretInvalid Ingress default/web'],
      messages: [/cannot be used as a client certificate/],
    },
  ];
  for (const c of cases) it(c.name, () => void runCase(c));
});

describe('proxy-ssl-* companions', () => {
  const warned = (n = 1): Partial<Case> => ({ diagnostics: Array(n).fill('InvalidAnnotation Ingress default/web') });
  const cases: Case[] = [
    {
      name: 'proxy-ssl-verify not on/off: 503 (ingress-nginx would verify nothing)',
      objects: objects({ [BP]: 'HTTPS', [SECRET]: 'default/backend-tls', [A('verify')]: 'true' }, FULL),
      hosts: closed('proxy-ssl-verify'),
      diagnostics: ['InvalidAnnotation Ingress default/web'],
      messages: [/"nginx.ingress.kubernetes.io\/proxy-ssl-verify" has value "true": it is not "on" or "off"/],
    },
    tlsCase('proxy-ssl-verify-depth 0 is the default, 1', { [A('verify-depth')]: '0' }, {}),
    tlsCase('proxy-ssl-verify-depth not a number: a warning, depth 1', { [A('verify-depth')]: 'deep' }, {}, warned()),
    {
      name: 'proxy-ssl-name not a DNS name with verify on: 503',
      objects: objects({ [BP]: 'HTTPS', [SECRET]: 'default/backend-tls', [A('verify')]: 'on', [A('name')]: 'bad_name!' }, FULL),
      hosts: closed('proxy-ssl-name'),
      diagnostics: ['InvalidAnnotation Ingress default/web'],
    },
    tlsCase('proxy-ssl-name not a DNS name with verify off: a warning, the Service name', { [A('name')]: 'bad_name!' }, {}, warned()),
    tlsCase(
      'proxy-ssl-name is lower-cased (DNS names compare case-insensitively)',
      { [A('name')]: 'Backend.Internal' },
      { name: 'backend.internal' },
    ),
    tlsCase('proxy-ssl-server-name not on/off: a warning, off', { [A('server-name')]: 'yes' }, {}, warned()),
    tlsCase(
      'proxy-ssl-protocols with TLSv1.1: a warning, TLSv1.2 (v1.15 accepts TLSv1.2 and TLSv1.3 only)',
      { [A('protocols')]: 'TLSv1.1 TLSv1.2' },
      {},
      warned(),
    ),
    tlsCase('proxy-ssl-protocols of spaces: TLSv1.2 (sortProtocols finds none)', { [A('protocols')]: '   ' }, {}),
    tlsCase('proxy-ssl-ciphers with an unknown token: a warning, DEFAULT', { [A('ciphers')]: 'HIGH:SNAKEOIL' }, {}, warned()),
    tlsCase('proxy-ssl-ciphers DEFAULT: nothing stored', { [A('ciphers')]: 'DEFAULT' }, {}),
    tlsCase(
      'proxy-ssl-ciphers excluding anonymous suites is fine',
      { [A('ciphers')]: 'HIGH:!aNULL:!MD5' },
      { ciphers: 'HIGH:!aNULL:!MD5' },
    ),
    tlsCase(
      'proxy-ssl-ciphers naming suites',
      { [A('ciphers')]: 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE+AESGCM' },
      { ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE+AESGCM' },
    ),
    {
      name: 'proxy-ssl-ciphers enabling anonymous suites: 503',
      objects: objects({ [BP]: 'HTTPS', [SECRET]: 'default/backend-tls', [A('ciphers')]: 'HIGH:aNULL' }, FULL),
      hosts: closed('proxy-ssl-ciphers'),
      diagnostics: ['InvalidAnnotation Ingress default/web'],
      messages: [/"aNULL" enables cipher suites without authentication/],
    },
    {
      name: 'companions without proxy-ssl-secret: no effect, a warning each',
      objects: objects({ [BP]: 'HTTPS', [A('verify')]: 'on', [A('name')]: 'backend.internal' }),
      hosts: served,
      diagnostics: ['InvalidAnnotation Ingress default/web', 'InvalidAnnotation Ingress default/web'],
      messages: [/"nginx.ingress.kubernetes.io\/proxy-ssl-verify" has no effect without/],
      check: (r) => expect(policiesOf(r)).toEqual({ sslRedirect: false, backendProtocol: 'HTTPS' }),
    },
  ];
  for (const c of cases) it(c.name, () => void runCase(c));
});

describe('validate() and upstreamTls', () => {
  const base = (): RoutingTable =>
    structuredClone(runCase(tlsCase('base', { [A('verify')]: 'on' }, { verify: true })).table) as RoutingTable;
  const broken: [string, (t: RoutingTable) => void, RegExp][] = [
    [
      'a policy on a cleartext route',
      (t) => delete t.hosts[0]!.routes[0]!.policies.backendProtocol,
      /needs backendProtocol HTTPS or GRPCS/,
    ],
    ['an unknown Secret', (t) => void (t.hosts[0]!.routes[0]!.policies.upstreamTls!.secret = 'default/nope'), /unknown Secret/],
    ['TLSv1.1', (t) => void (t.hosts[0]!.routes[0]!.policies.upstreamTls!.protocols = ['TLSv1.1' as 'TLSv1.2']), /protocols: must be/],
    [
      'unsorted protocols',
      (t) => void (t.hosts[0]!.routes[0]!.policies.upstreamTls!.protocols = ['TLSv1.3', 'TLSv1.2']),
      /protocols: must be/,
    ],
    ['anonymous ciphers', (t) => void (t.hosts[0]!.routes[0]!.policies.upstreamTls!.ciphers = 'aNULL'), /ciphers: must be/],
    ['depth 0', (t) => void (t.hosts[0]!.routes[0]!.policies.upstreamTls!.depth = 0), /depth: must be/],
    [
      'an unknown field',
      (t) => void ((t.hosts[0]!.routes[0]!.policies.upstreamTls as unknown as Record<string, unknown>).skip = true),
      /skip/,
    ],
    ['a Secret without PEM', (t) => void (t.upstreamTlsSecrets![0]!.caPem = 'nope'), /caPem: must be PEM/],
    ['schema 5 stamped on it', (t) => void (t.schema = 5), /content needs schema 6/],
  ];
  for (const [name, edit, problem] of broken) {
    it(`refuses ${name}`, () => {
      const t = base();
      edit(t);
      expect(
        validate(t, { checkHash: false })
          .map((p) => `${p.at}: ${p.message}`)
          .join('\n'),
      ).toMatch(problem);
    });
  }
});
