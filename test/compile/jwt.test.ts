// portico.dev/auth-jwt-* → the route's JWT policy with its public keys inside the table (from a ConfigMap, a
// Secret or a fetched URL). Portico's own annotations: ingress-nginx has none, so the cases follow the README's
// rules; every value that does not parse, and every key source that cannot be had, fails closed (503).
import { exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import type { JwtPolicy } from '../../gateway/table/jwt.ts';
import { validate } from '../../gateway/table/validate.ts';
import type { CompileResult } from '../../sync/compile/types.ts';
import { type AnyObject, app, cls, configMap, ingress, prefix, rule } from '../support/builders.ts';
import { runCase, type Case } from './cases.ts';

const CLS = cls();
const WEB = app('web');
const P = 'portico.dev/auth-jwt-';
const N = 'nginx.ingress.kubernetes.io/';

const rsa = await exportJWK((await generateKeyPair('RS256', { extractable: true })).publicKey);
const ec = await exportJWK((await generateKeyPair('ES256', { extractable: true })).publicKey);
const ecPrivate = await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey);
const jwks = (...keys: object[]): string => JSON.stringify({ keys });

const secretOf = (name: string, values: Record<string, string>): AnyObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { namespace: 'default', name },
  type: 'Opaque',
  data: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
});
const guarded = (annotations: Record<string, string>, ...more: AnyObject[]): AnyObject[] => [
  CLS,
  ...WEB,
  ...more,
  ingress('web', { annotations, rules: [rule('foo.com', prefix('/', 'web'))] }),
];
const fromCm = (more: Record<string, string> = {}) => ({ [`${P}jwks-configmap`]: 'keys', ...more });
const KEYS = configMap('keys', { 'jwks.json': jwks({ ...rsa, kid: 'r1', x5c: ['MIIB'] }, { ...ec, kid: 'e1' }) });
const jwt = (r: CompileResult): JwtPolicy | undefined => r.table.hosts[0]!.routes[0]!.policies.access?.jwt;
const route = (suffix: string) => ({ 'foo.com': { routes: [`Prefix "" -> default/web:80 [default/web]${suffix}`] } });
const closed = (...keys: string[]) => route(` closed(${keys.join(', ')})`);

function table(name: string, cases: Case[]): void {
  describe(name, () => {
    for (const c of cases) it(c.name, () => void runCase(c));
  });
}

table('JWT keys inside the table', [
  {
    name: 'a ConfigMap: public keys in the table, the defaults, schema 4',
    objects: guarded(fromCm(), KEYS),
    hosts: route(' jwt=configmap:default/keys(2 keys)'),
    check: (r) => {
      const p = jwt(r)!;
      expect(p.keys).toEqual([
        { ...rsa, kid: 'r1' },
        { ...ec, kid: 'e1' },
      ]);
      expect(p).toMatchObject({ clockSkew: 0, realm: '', tokenFrom: { kind: 'header' } });
      expect(p.algorithms).toEqual(['ES256', 'ES384', 'ES512', 'EdDSA', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512']);
      expect(p.issuer).toBeUndefined();
      expect(r.table.schema).toBe(4);
      expect(validate(r.table)).toEqual([]);
    },
  },
  {
    name: 'a Secret (data base64) and every companion',
    objects: guarded(
      {
        [`${P}jwks-secret`]: 'default/keys',
        [`${P}issuer`]: 'https://issuer.test/',
        [`${P}audiences`]: 'api, web,api',
        [`${P}algorithms`]: 'RS256,ES256',
        [`${P}clock-skew`]: '30',
        [`${P}claims-to-headers`]: 'sub:X-User, email:X-Email',
        [`${P}token-from`]: 'cookie:session',
        [`${P}realm`]: 'api',
      },
      secretOf('keys', { 'jwks.json': jwks(rsa) }),
    ),
    hosts: route(' jwt=secret:default/keys(1 keys)'),
    check: (r) =>
      expect(jwt(r)).toEqual({
        source: 'secret:default/keys',
        keys: [rsa],
        algorithms: ['ES256', 'RS256'],
        issuer: 'https://issuer.test/',
        audiences: ['api', 'web'],
        clockSkew: 30,
        claimsToHeaders: [
          { claim: 'sub', header: 'x-user' },
          { claim: 'email', header: 'x-email' },
        ],
        tokenFrom: { kind: 'cookie', name: 'session' },
        realm: 'api',
      }),
  },
  {
    name: 'a fetched URL',
    objects: guarded({ [`${P}jwks-url`]: 'https://idp.test/jwks' }),
    jwks: [{ url: 'https://idp.test/jwks', body: jwks(ec) }],
    hosts: route(' jwt=url:https://idp.test/jwks(1 keys)'),
  },
  {
    name: 'a rotated key set is a new table version',
    objects: guarded(fromCm(), KEYS),
    check: (r) => {
      const again = runCase({ name: 'rotated', objects: guarded(fromCm(), configMap('keys', { 'jwks.json': jwks(ec) })) });
      expect(again.table.version).not.toBe(r.table.version);
    },
  },
  {
    name: 'an oct key is skipped with a Warning, the public keys stay',
    objects: guarded(fromCm(), configMap('keys', { 'jwks.json': jwks({ kty: 'oct', k: 'c2VjcmV0' }, rsa) })),
    hosts: route(' jwt=configmap:default/keys(1 keys)'),
    diagnostics: ['JwksUnavailable Ingress default/web'],
    messages: [/key 1 is a symmetric \("oct"\) key, which Portico never carries/],
  },
  {
    name: 'satisfy any with JWT and a source range',
    objects: guarded(fromCm({ [`${N}satisfy`]: 'any', [`${N}allowlist-source-range`]: '10.0.0.0/8' }), KEYS),
    check: (r) => expect(r.table.hosts[0]!.routes[0]!.policies.access?.satisfy).toBe('any'),
  },
]);

table('JWT fails closed (503)', [
  {
    name: 'the ConfigMap does not exist',
    objects: guarded(fromCm()),
    hosts: closed('portico.dev/auth-jwt-jwks-configmap'),
    diagnostics: ['JwksUnavailable Ingress default/web'],
    messages: [/ConfigMap default\/keys named by .* does not exist; the routes of this Ingress answer 503/],
  },
  {
    name: 'the Secret has no jwks.json',
    objects: guarded({ [`${P}jwks-secret`]: 'keys' }, secretOf('keys', { other: jwks(rsa) })),
    hosts: closed('portico.dev/auth-jwt-jwks-secret'),
    diagnostics: ['JwksUnavailable Ingress default/web'],
    messages: [/Secret default\/keys has no usable key "jwks.json"/],
  },
  {
    name: 'a ConfigMap of another namespace',
    objects: guarded(fromCm({ [`${P}jwks-configmap`]: 'other/keys' }), configMap('keys', { 'jwks.json': jwks(rsa) }, 'other')),
    hosts: closed('portico.dev/auth-jwt-jwks-configmap'),
    diagnostics: ['JwksUnavailable Ingress default/web'],
    messages: [/another namespace/],
  },
  {
    name: 'a private key in the set refuses the whole set',
    objects: guarded(fromCm(), configMap('keys', { 'jwks.json': jwks(rsa, ecPrivate) })),
    hosts: closed('portico.dev/auth-jwt-jwks-configmap'),
    diagnostics: ['JwksUnavailable Ingress default/web'],
    messages: [/key 2 has private key members \(d\): this is not a set of public keys/],
    check: (r) => expect(JSON.stringify(r.table)).not.toContain(ecPrivate.d),
  },
  {
    name: 'only oct keys: nothing to verify with',
    objects: guarded(fromCm(), configMap('keys', { 'jwks.json': jwks({ kty: 'oct', k: 'c2VjcmV0' }) })),
    hosts: closed('portico.dev/auth-jwt-jwks-configmap'),
    diagnostics: ['JwksUnavailable Ingress default/web'],
    messages: [/has no key Portico can verify with/],
  },
  {
    name: 'jwks.json is not JSON',
    objects: guarded(fromCm(), configMap('keys', { 'jwks.json': '{' })),
    hosts: closed('portico.dev/auth-jwt-jwks-configmap'),
    diagnostics: ['JwksUnavailable Ingress default/web'],
  },
  {
    name: 'the URL could not be fetched (and no last good keys)',
    objects: guarded({ [`${P}jwks-url`]: 'https://idp.test/jwks' }),
    jwks: [{ url: 'https://idp.test/jwks', error: 'HTTP 500' }],
    hosts: closed('portico.dev/auth-jwt-jwks-url'),
    diagnostics: ['JwksUnavailable Ingress default/web'],
    messages: [/could not be fetched \(HTTP 500\)/],
  },
  {
    name: 'the URL has not been fetched yet',
    objects: guarded({ [`${P}jwks-url`]: 'https://idp.test/jwks' }),
    hosts: closed('portico.dev/auth-jwt-jwks-url'),
    diagnostics: ['JwksUnavailable Ingress default/web'],
  },
  {
    name: 'keys gone with satisfy any: the route still closes, satisfy goes with JWT',
    objects: guarded(fromCm({ [`${N}satisfy`]: 'any', [`${N}allowlist-source-range`]: '10.0.0.0/8' })),
    hosts: route(' closed(portico.dev/auth-jwt-jwks-configmap) allow=[10.0.0.0/8]'),
    check: (r) => expect(r.table.hosts[0]!.routes[0]!.policies.access?.satisfy).toBeUndefined(),
    diagnostics: ['JwksUnavailable Ingress default/web'],
  },
  ...(
    [
      ['no key source', { [`${P}issuer`]: 'x' }, 'issuer', /needs its keys/],
      ['two key sources', { [`${P}jwks-configmap`]: 'keys', [`${P}jwks-secret`]: 'keys' }, 'jwks-secret', /exactly one of/],
      ['plain http to another host', { [`${P}jwks-url`]: 'http://idp.test/jwks' }, 'jwks-url', /https is required/],
      ['a URL with credentials', { [`${P}jwks-url`]: 'https://u:p@idp.test/jwks' }, 'jwks-url', /carries credentials/],
      ['algorithm none', fromCm({ [`${P}algorithms`]: 'RS256,none' }), 'algorithms', /"none" is never allowed/],
      ['HS256 (a symmetric algorithm)', fromCm({ [`${P}algorithms`]: 'HS256' }), 'algorithms', /symmetric \("oct"\) key/],
      ['an unknown algorithm', fromCm({ [`${P}algorithms`]: 'RS1' }), 'algorithms', /not one of/],
      ['a clock skew that is not whole seconds', fromCm({ [`${P}clock-skew`]: '1.5' }), 'clock-skew', /whole seconds/],
      ['a clock skew over 600 s', fromCm({ [`${P}clock-skew`]: '601' }), 'clock-skew', /whole seconds/],
      ['a claim into Host', fromCm({ [`${P}claims-to-headers`]: 'sub:Host' }), 'claims-to-headers', /steers the edge/],
      ['a claim into Authorization', fromCm({ [`${P}claims-to-headers`]: 'sub:Authorization' }), 'claims-to-headers', /credentials/],
      ['a claim into portico-endpoint', fromCm({ [`${P}claims-to-headers`]: 'sub:portico-endpoint' }), 'claims-to-headers', /steers/],
      ['a claim entry without a header', fromCm({ [`${P}claims-to-headers`]: 'sub' }), 'claims-to-headers', /claim:Header-Name/],
      ['token-from something else', fromCm({ [`${P}token-from`]: 'body' }), 'token-from', /"header", "cookie:NAME" or "query:NAME"/],
      ['an empty issuer', fromCm({ [`${P}issuer`]: ' ' }), 'issuer', /empty/],
      ['a realm a header cannot quote', fromCm({ [`${P}realm`]: 'say "hi"' }), 'realm', /cannot quote/],
    ] as const
  ).map(
    ([name, annotations, key, message]): Case => ({
      name: `malformed: ${name}`,
      objects: guarded(annotations, KEYS),
      hosts: closed(`portico.dev/auth-jwt-${key}`),
      diagnostics: ['AccessControlNotEnforced Ingress default/web'],
      messages: [message],
    }),
  ),
  {
    name: 'an auth-jwt annotation Portico does not know is a guard',
    objects: guarded(fromCm({ [`${P}required-claims`]: 'admin' }), KEYS),
    hosts: {
      'foo.com': {
        routes: [
          'Prefix "" -> default/web:80 [default/web] closed(portico.dev/auth-jwt-required-claims) jwt=configmap:default/keys(2 keys)',
        ],
      },
    },
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
  },
]);

describe('plain http is accepted to loopback only', () => {
  it.each([
    ['http://127.0.0.1:8080/jwks', true],
    ['http://[::1]/jwks', true],
    ['http://localhost/jwks', true],
    ['http://10.0.0.1/jwks', false],
    ['ftp://127.0.0.1/jwks', false],
  ])('%s', (url, ok) => {
    const r = runCase({
      name: url,
      objects: guarded({ [`${P}jwks-url`]: url }),
      jwks: [{ url, body: jwks(rsa) }],
      ...(ok ? {} : { diagnostics: ['AccessControlNotEnforced Ingress default/web'] }),
    });
    expect(jwt(r) !== undefined).toBe(ok);
  });
});
