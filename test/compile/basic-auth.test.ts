// auth-type basic, auth-secret, auth-secret-type, auth-realm → the route's basic-auth policy (a reference and a
// revision) and the Secret's entries as material beside the table. Cases mirror ingress-nginx's auth parser
// (internal/ingress/annotations/auth/main.go) and test/e2e/annotations/auth.go, named in each case; what
// ingress-nginx denies (503) fails closed here too.
import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { type BasicAuthMaterial, basicAuthRevision } from '../../gateway/table/basic-auth.ts';
import type { AccessPolicy } from '../../gateway/table/schema.ts';
import { validate } from '../../gateway/table/validate.ts';
import type { CompileResult } from '../../sync/compile/types.ts';
import { type AnyObject, app, cls, ingress, prefix, rule } from '../support/builders.ts';
import { runCase, type Case } from './cases.ts';

const CLS = cls();
const WEB = app('web');
const N = 'nginx.ingress.kubernetes.io/';
const HASH = bcrypt.hashSync('bar', 4);

/** An Opaque Secret, `data` base64 as the API serves it (or `stringData`, as manifests may write it). */
function opaque(name: string, values: Record<string, string>, o: { namespace?: string; plain?: boolean } = {}): AnyObject {
  const data =
    o.plain === true ? { stringData: values } : { data: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, btoa(v)])) };
  return { apiVersion: 'v1', kind: 'Secret', metadata: { namespace: o.namespace ?? 'default', name }, type: 'Opaque', ...data };
}
const authed = (annotations: Record<string, string>, ...more: AnyObject[]): AnyObject[] => [
  CLS,
  ...WEB,
  ...more,
  ingress('web', {
    annotations: { [`${N}auth-type`]: 'basic', [`${N}auth-realm`]: 'test auth', ...annotations },
    rules: [rule('foo.com', prefix('/', 'web'))],
  }),
];
const access = (r: CompileResult): AccessPolicy | undefined => r.table.hosts[0]!.routes[0]!.policies.access;
const route = (suffix: string) => ({ 'foo.com': { routes: [`Prefix "" -> default/web:80 [default/web]${suffix}`] } });
const closed = (...keys: string[]) => route(` closed(${keys.join(', ')})`);

function table(name: string, cases: Case[]): void {
  describe(name, () => {
    for (const c of cases) it(c.name, () => void runCase(c));
  });
}

table('basic authentication', [
  {
    name: 'auth.go "401 when authentication is configured but Authorization header is not configured": auth-file, the policy and the material',
    objects: authed({ [`${N}auth-secret`]: 'test' }, opaque('test', { auth: `foo:${HASH}\n` })),
    hosts: route(' basic=default/test(auth-file)'),
    check: (r) => {
      const material: BasicAuthMaterial = { secret: 'default/test', type: 'auth-file', users: [{ user: 'foo', hash: HASH }] };
      expect(access(r)?.basicAuth).toEqual({
        realm: 'test auth',
        secret: 'default/test',
        type: 'auth-file',
        revision: basicAuthRevision(material),
      });
      expect(r.basicAuth).toEqual([material]);
      expect(r.table.schema).toBe(3);
      // Only the reference and its digest are in the table: no user, no hash.
      expect(JSON.stringify(r.table)).not.toContain(HASH);
      expect(JSON.stringify(r.table)).not.toContain('"foo"');
      expect(validate(r.table)).toEqual([]);
    },
  },
  {
    name: 'auth.go "200 when authentication is configured with a map": auth-map, each key a user',
    objects: authed(
      { [`${N}auth-secret`]: 'test', [`${N}auth-secret-type`]: 'auth-map' },
      opaque('test', { foo: HASH, bar: '{SHA}Ys23Ag/5IOWqZCw9QGaVDdHwH00=' }),
    ),
    hosts: route(' basic=default/test(auth-map)'),
    check: (r) =>
      expect(r.basicAuth[0]!.users).toEqual([
        { user: 'bar', hash: '{SHA}Ys23Ag/5IOWqZCw9QGaVDdHwH00=' },
        { user: 'foo', hash: HASH },
      ]),
  },
  {
    name: 'auth-secret as namespace/name in the Ingress namespace; stringData; comments, CRLF, duplicates (the first counts) and the htpasswd comment field',
    objects: authed(
      { [`${N}auth-secret`]: 'default/test' },
      opaque('test', { auth: `# users\r\nfoo:${HASH}:a comment\r\n\r\nfoo:$apr1$x$0123456789012345678901\r\n` }, { plain: true }),
    ),
    hosts: route(' basic=default/test(auth-file)'),
    check: (r) => expect(r.basicAuth[0]!.users).toEqual([{ user: 'foo', hash: HASH }]),
  },
  {
    name: 'no auth-realm: realm "" as ingress-nginx writes it',
    objects: [
      CLS,
      ...WEB,
      opaque('test', { auth: `foo:${HASH}` }),
      ingress('web', {
        annotations: { [`${N}auth-type`]: 'basic', [`${N}auth-secret`]: 'test' },
        rules: [rule('foo.com', prefix('/', 'web'))],
      }),
    ],
    check: (r) => expect(access(r)?.basicAuth?.realm).toBe(''),
  },
  {
    name: 'two Ingresses naming the same Secret share one material entry',
    objects: [
      ...authed({ [`${N}auth-secret`]: 'test' }, opaque('test', { auth: `foo:${HASH}` })),
      ingress('other', {
        annotations: { [`${N}auth-type`]: 'basic', [`${N}auth-secret`]: 'test' },
        rules: [rule('bar.com', prefix('/', 'web'))],
      }),
    ],
    check: (r) => expect(r.basicAuth).toHaveLength(1),
  },
  {
    name: 'a changed password changes the revision and so the table version',
    objects: authed({ [`${N}auth-secret`]: 'test' }, opaque('test', { auth: `foo:${HASH}` })),
    check: (r) => {
      const again = runCase({
        name: 'changed',
        objects: authed({ [`${N}auth-secret`]: 'test' }, opaque('test', { auth: `foo:${bcrypt.hashSync('other', 4)}` })),
      });
      expect(again.table.version).not.toBe(r.table.version);
    },
  },
]);

table('basic authentication fails closed (503) where ingress-nginx denies the location', [
  {
    name: 'auth.go "503 when authentication is configured with an invalid secret": the Secret does not exist',
    objects: authed({ [`${N}auth-secret`]: 'something' }),
    hosts: closed('auth-secret'),
    diagnostics: ['SecretNotFound Ingress default/web'],
    messages: [/Secret default\/something named by .* does not exist; the routes of this Ingress answer 503/],
    check: (r) => expect(r.basicAuth).toEqual([]),
  },
  {
    name: 'a missing Secret under satisfy any with a source range: the route closes and the table stays valid',
    objects: authed({ [`${N}auth-secret`]: 'something', [`${N}satisfy`]: 'any', [`${N}allowlist-source-range`]: '10.0.0.0/8' }),
    hosts: route(' closed(auth-secret) allow=[10.0.0.0/8]'),
    diagnostics: ['SecretNotFound Ingress default/web'],
  },
  {
    name: 'auth-file without the key "auth" (main.go: "does not contain a key with value auth")',
    objects: authed({ [`${N}auth-secret`]: 'test' }, opaque('test', { users: `foo:${HASH}` })),
    hosts: closed('auth-secret'),
    diagnostics: ['SecretInvalid Ingress default/web'],
    messages: [/has no key "auth"/],
  },
  {
    name: 'a Secret of another namespace (main.go: cross namespace usage of secrets is not allowed, the default)',
    objects: authed({ [`${N}auth-secret`]: 'other/test' }, opaque('test', { auth: `foo:${HASH}` }, { namespace: 'other' })),
    hosts: closed('auth-secret'),
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
    messages: [/another namespace/],
  },
  {
    name: 'auth-type neither basic nor digest (main.go: "invalid authentication type")',
    objects: authed({ [`${N}auth-type`]: 'bearer', [`${N}auth-secret`]: 'test' }, opaque('test', { auth: `foo:${HASH}` })),
    hosts: closed('auth-type'),
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
  },
  {
    name: 'auth-type without auth-secret (main.go: "error reading secret name from annotation")',
    objects: authed({}),
    hosts: closed('auth-type'),
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
  },
  {
    name: 'auth-secret-type neither auth-file nor auth-map',
    objects: authed({ [`${N}auth-secret`]: 'test', [`${N}auth-secret-type`]: 'auth-list' }, opaque('test', { auth: `foo:${HASH}` })),
    hosts: closed('auth-secret-type'),
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
  },
  {
    name: 'a realm a header cannot quote',
    objects: authed({ [`${N}auth-secret`]: 'test', [`${N}auth-realm`]: 'say "hi"' }, opaque('test', { auth: `foo:${HASH}` })),
    hosts: closed('auth-realm'),
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
  },
  {
    name: 'auth-secret that is not a Secret name',
    objects: authed({ [`${N}auth-secret`]: 'a/b/c' }),
    hosts: closed('auth-secret'),
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
  },
  {
    name: 'companions without auth-type stay guards Portico does not enforce',
    objects: [CLS, ...WEB, ingress('web', { annotations: { [`${N}auth-secret`]: 'test' }, rules: [rule('foo.com', prefix('/', 'web'))] })],
    hosts: closed('auth-secret'),
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
  },
]);

table('entries nobody can log in with: 401 for them, never open', [
  {
    name: 'auth.go "401 when authentication is configured with invalid content": `foo:` has no hash',
    objects: authed({ [`${N}auth-secret`]: 'test' }, opaque('test', { auth: 'foo:' })),
    hosts: route(' basic=default/test(auth-file)'),
    diagnostics: ['SecretInvalid Ingress default/web', 'SecretInvalid Ingress default/web'],
    messages: [/line 1 of key "auth" has no password hash/, /no user Portico can check, so every request .* gets 401/],
    check: (r) => expect(r.basicAuth).toEqual([{ secret: 'default/test', type: 'auth-file', users: [] }]),
  },
  {
    name: 'hash formats Portico cannot check ({PLAIN}, DES crypt, $6$) are Warnings naming the line, never the user or the hash',
    objects: authed(
      { [`${N}auth-secret`]: 'test' },
      opaque('test', { auth: `alice:{PLAIN}secret\nbob:abJnggxhB/yWI\ncarol:$6$salt$xyz\nfoo:${HASH}\nnocolon` }),
    ),
    hosts: route(' basic=default/test(auth-file)'),
    diagnostics: Array(4).fill('SecretInvalid Ingress default/web'),
    check: (r) => {
      expect(r.basicAuth[0]!.users).toEqual([{ user: 'foo', hash: HASH }]);
      const text = JSON.stringify(r.diagnostics);
      for (const leak of ['alice', 'bob', 'carol', 'secret', 'abJnggxhB', '$6$salt']) expect(text).not.toContain(leak);
      expect(text).toContain('line 2 of key \\"auth\\" has a password hash in a format Portico cannot check');
    },
  },
  {
    name: 'every format Portico checks is kept: bcrypt $2a$/$2b$/$2y$, {SHA}, {SSHA}, $apr1$, $1$',
    objects: authed(
      { [`${N}auth-secret`]: 'test' },
      opaque('test', {
        auth: [
          `a:${HASH.replace('$2b$', '$2a$')}`,
          `b:${HASH}`,
          `c:${HASH.replace('$2b$', '$2y$')}`,
          'd:{SHA}Ys23Ag/5IOWqZCw9QGaVDdHwH00=',
          'e:{SSHA}lZ9bzsLSZyGHU0yc+MW6+Gm8XrF6bnZ2',
          'f:$apr1$lZL6V/ci$eIMz/iKDkbtys/uU7LEK00',
          'g:$1$saltsalt$qjXMvbEw8oaL.CzflDugX/',
        ].join('\n'),
      }),
    ),
    check: (r) => expect(r.basicAuth[0]!.users.map((u) => u.user)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']),
  },
]);
