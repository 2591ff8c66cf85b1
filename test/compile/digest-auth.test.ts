// auth-type digest → the route's policy (scheme "digest", a reference and a revision) and the Secret's htdigest
// lines of the auth-realm as material beside the table. The Secret is read as nginx-http-auth-digest reads the
// file ingress-nginx writes from it (`user:realm:HA1`); what would leave a location open or unusable in
// ingress-nginx fails closed here. Diagnostics never show a user name or an HA1.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type BasicAuthMaterial, basicAuthRevision } from '../../gateway/table/basic-auth.ts';
import { validate } from '../../gateway/table/validate.ts';
import type { CompileResult } from '../../sync/compile/types.ts';
import { type AnyObject, app, cls, ingress, prefix, rule } from '../support/builders.ts';
import { runCase, type Case } from './cases.ts';

const CLS = cls();
const WEB = app('web');
const N = 'nginx.ingress.kubernetes.io/';
const REALM = 'test auth';
const ha1 = (user: string, realm: string, password: string) => createHash('md5').update(`${user}:${realm}:${password}`).digest('hex');
const FOO = ha1('foo', REALM, 'bar');
const OTHER = ha1('bob', 'other realm', 'bar');

function opaque(name: string, values: Record<string, string>): AnyObject {
  const data = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, btoa(v)]));
  return { apiVersion: 'v1', kind: 'Secret', metadata: { namespace: 'default', name }, type: 'Opaque', data };
}
const digest = (annotations: Record<string, string>, ...more: AnyObject[]): AnyObject[] => [
  CLS,
  ...WEB,
  ...more,
  ingress('web', {
    annotations: { [`${N}auth-type`]: 'digest', [`${N}auth-realm`]: REALM, [`${N}auth-secret`]: 'test', ...annotations },
    rules: [rule('foo.com', prefix('/', 'web'))],
  }),
];
const route = (suffix: string) => ({ 'foo.com': { routes: [`Prefix "" -> default/web:80 [default/web]${suffix}`] } });
const closed = (...keys: string[]) => route(` closed(${keys.join(', ')})`);
/** No diagnostic may carry a user name or an HA1 (they are stored and shown in plaintext). */
const leaksNothing = (r: CompileResult, ...secrets: string[]) => {
  const text = JSON.stringify(r.diagnostics);
  for (const s of secrets) expect(text).not.toContain(s);
};

function table(name: string, cases: Case[]): void {
  describe(name, () => {
    for (const c of cases) it(c.name, () => void runCase(c));
  });
}

table('digest authentication', [
  {
    name: 'an htdigest file (htdigest -c auth "test auth" foo): the policy (schema 4) and the material of the realm',
    objects: digest({}, opaque('test', { auth: `foo:${REALM}:${FOO}\n` })),
    hosts: route(' digest=default/test(auth-file)'),
    check: (r) => {
      const material: BasicAuthMaterial = {
        secret: 'default/test',
        type: 'auth-file',
        scheme: 'digest',
        realm: REALM,
        users: [{ user: 'foo', hash: FOO }],
      };
      expect(r.table.hosts[0]!.routes[0]!.policies.access?.basicAuth).toEqual({
        realm: REALM,
        secret: 'default/test',
        type: 'auth-file',
        scheme: 'digest',
        revision: basicAuthRevision(material),
      });
      expect(r.basicAuth).toEqual([material]);
      expect(r.table.schema).toBe(4);
      expect(JSON.stringify(r.table)).not.toContain(FOO);
      expect(validate(r.table)).toEqual([]);
    },
  },
  {
    name: 'auth-map: each key a user, its value realm:HA1',
    objects: digest({ [`${N}auth-secret-type`]: 'auth-map' }, opaque('test', { foo: `${REALM}:${FOO}` })),
    hosts: route(' digest=default/test(auth-map)'),
    check: (r) => expect(r.basicAuth[0]!.users).toEqual([{ user: 'foo', hash: FOO }]),
  },
  {
    name: 'a line of another realm never matches (the client answers the auth-realm challenge): reported, left out',
    objects: digest({}, opaque('test', { auth: `foo:${REALM}:${FOO}\nbob:other realm:${OTHER}\n` })),
    hosts: route(' digest=default/test(auth-file)'),
    diagnostics: ['SecretInvalid Ingress default/web'],
    messages: [/line 2 of key "auth" is for another realm/],
    check: (r) => {
      expect(r.basicAuth[0]!.users.map((u) => u.user)).toEqual(['foo']);
      leaksNothing(r, OTHER, 'bob');
    },
  },
  {
    name: 'malformed lines are reported by line number, never with the user or the hash; the good line still counts',
    objects: digest(
      {},
      opaque('test', {
        auth: [
          `foo:${REALM}:${FOO}`,
          `carol:${REALM}:${FOO.toUpperCase()}`,
          'dave:nohash',
          `erin:${REALM}:$apr1$x$y`,
          `:${REALM}:${FOO}`,
        ].join('\n'),
      }),
    ),
    hosts: route(' digest=default/test(auth-file)'),
    diagnostics: [
      'SecretInvalid Ingress default/web',
      'SecretInvalid Ingress default/web',
      'SecretInvalid Ingress default/web',
      'SecretInvalid Ingress default/web',
    ],
    messages: [
      /line 2 of key "auth" has no HA1 of 32 lower-case hex digits/,
      /line 3 of key "auth" is not "user:realm:HA1"/,
      /line 5 of key "auth" has no user name/,
    ],
    check: (r) => {
      expect(r.basicAuth[0]!.users).toEqual([{ user: 'foo', hash: FOO }]);
      leaksNothing(r, FOO, FOO.toUpperCase(), 'carol', 'dave', 'erin', '$apr1$');
    },
  },
  {
    name: 'an htpasswd file given to digest: no usable user (every request 401), said so',
    objects: digest({}, opaque('test', { auth: 'foo:$apr1$OFG3Xybp$ckL0FHDAkoXYIlH9.cysT0\n' })),
    hosts: route(' digest=default/test(auth-file)'),
    diagnostics: ['SecretInvalid Ingress default/web', 'SecretInvalid Ingress default/web'],
    messages: [/no user Portico can check/],
    check: (r) => leaksNothing(r, 'OFG3Xybp'),
  },
  {
    name: 'the Secret is missing: 503 (fail closed), as ingress-nginx denies the location',
    objects: digest({}),
    hosts: closed('auth-secret'),
    diagnostics: ['SecretNotFound Ingress default/web'],
    messages: [/instead of serving without digest authentication/],
  },
  {
    name: 'the Secret has no "auth" key: 503',
    objects: digest({}, opaque('test', { users: `foo:${REALM}:${FOO}` })),
    hosts: closed('auth-secret'),
    diagnostics: ['SecretInvalid Ingress default/web'],
    messages: [/has no key "auth" \(the htdigest file\)/],
  },
  {
    name: 'no auth-realm: nginx-http-auth-digest would switch itself off and serve the location open; 503 instead',
    objects: [
      CLS,
      ...WEB,
      opaque('test', { auth: `foo::${FOO}` }),
      ingress('web', {
        annotations: { [`${N}auth-type`]: 'digest', [`${N}auth-secret`]: 'test' },
        rules: [rule('foo.com', prefix('/', 'web'))],
      }),
    ],
    hosts: closed('auth-type'),
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
    messages: [/digest authentication needs "nginx.ingress.kubernetes.io\/auth-realm"/],
  },
  {
    name: 'auth-realm "off" (also switches the module off): 503',
    objects: digest({ [`${N}auth-realm`]: 'off' }, opaque('test', { auth: `foo:off:${FOO}` })),
    hosts: closed('auth-realm'),
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
  },
  {
    name: 'digest without auth-secret: 503',
    objects: [
      CLS,
      ...WEB,
      ingress('web', {
        annotations: { [`${N}auth-type`]: 'digest', [`${N}auth-realm`]: REALM },
        rules: [rule('foo.com', prefix('/', 'web'))],
      }),
    ],
    hosts: closed('auth-type'),
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
    messages: [/digest authentication needs the Secret/],
  },
]);

describe('the table refuses malformed digest policies', () => {
  it('a scheme other than digest, and digest with the realm ""', () => {
    const r = runCase({
      name: 'base',
      objects: digest({}, opaque('test', { auth: `foo:${REALM}:${FOO}` })),
      hosts: route(' digest=default/test(auth-file)'),
    });
    const policy = r.table.hosts[0]!.routes[0]!.policies.access!.basicAuth!;
    const withPolicy = (p: object) => ({
      ...r.table,
      hosts: [
        { ...r.table.hosts[0]!, routes: [{ ...r.table.hosts[0]!.routes[0]!, policies: { sslRedirect: false, access: { basicAuth: p } } }] },
      ],
    });
    const problems = (p: object) => validate(withPolicy(p)).map((x) => `${x.at}: ${x.message}`);
    expect(problems({ ...policy, scheme: 'ntlm' })).toContainEqual(expect.stringMatching(/basicAuth\.scheme: must be "digest"/));
    expect(problems({ ...policy, realm: '' })).toContainEqual(expect.stringMatching(/basicAuth\.realm: must not be empty with digest/));
    expect(problems(policy).filter((m) => m.includes('basicAuth'))).toEqual([]);
  });
});
