// Source-range annotations → the route's access policy. Cases mirror ingress-nginx's e2e tests
// (test/e2e/annotations/{ipallowlist,ipwhitelist,ipdenylist}.go) and its parser (internal/ingress/annotations/
// ipallowlist: allowlist-source-range, with whitelist-source-range as its older alias). A value that does not
// parse fails closed (503), as ingress-nginx denies the location (LocationDeniedError).
import { describe, expect, it } from 'vitest';
import { app, backend, cls, ingress, prefix, rule } from '../support/builders.ts';
import { runCase, type Case } from './cases.ts';

const CLS = cls();
const WEB = app('web');
const N = 'nginx.ingress.kubernetes.io/';
const ranged = (annotations: Record<string, string>) => [
  CLS,
  ...WEB,
  ingress('web', { annotations, rules: [rule('foo.com', prefix('/', 'web'))] }),
];
const route = (suffix: string) => ({ 'foo.com': { routes: [`Prefix "" -> default/web:80 [default/web]${suffix}`] } });

function table(name: string, cases: Case[]): void {
  describe(name, () => {
    for (const c of cases) it(c.name, () => void runCase(c));
  });
}

table('source ranges', [
  {
    name: 'allowlist-source-range "18.0.0.0/8, 56.0.0.0/8" (ipallowlist.go: allow both, deny all others)',
    objects: ranged({ [`${N}allowlist-source-range`]: '18.0.0.0/8, 56.0.0.0/8' }),
    hosts: route(' allow=[18.0.0.0/8,56.0.0.0/8]'),
    check: (r) => expect(r.table.schema).toBe(3),
  },
  {
    name: 'whitelist-source-range, the older name, means the same (ipwhitelist.go)',
    objects: ranged({ [`${N}whitelist-source-range`]: '18.0.0.0/8, 56.0.0.0/8' }),
    hosts: route(' allow=[18.0.0.0/8,56.0.0.0/8]'),
  },
  {
    name: 'denylist-source-range "18.0.0.0/8, 56.0.0.0/8" (ipdenylist.go)',
    objects: ranged({ [`${N}denylist-source-range`]: '18.0.0.0/8, 56.0.0.0/8' }),
    hosts: route(' deny=[18.0.0.0/8,56.0.0.0/8]'),
  },
  {
    name: 'denylist and whitelist together (ipdenylist.go "when whitelist is set")',
    objects: ranged({ [`${N}denylist-source-range`]: '18.0.0.0/8, 56.0.0.0/8', [`${N}whitelist-source-range`]: '17.0.0.0/8, 55.0.0.0/8' }),
    hosts: route(' deny=[18.0.0.0/8,56.0.0.0/8] allow=[17.0.0.0/8,55.0.0.0/8]'),
  },
  {
    name: 'allowlist-source-range wins over whitelist-source-range, which is reported as ignored',
    objects: ranged({ [`${N}allowlist-source-range`]: '10.0.0.0/8', [`${N}whitelist-source-range`]: '192.168.0.0/16' }),
    hosts: route(' allow=[10.0.0.0/8]'),
    diagnostics: ['UnsupportedAnnotation Ingress default/web'],
    messages: [
      /"nginx\.ingress\.kubernetes\.io\/whitelist-source-range" is ignored: "nginx\.ingress\.kubernetes\.io\/allowlist-source-range", its newer name, is also set/,
    ],
  },
  {
    name: 'bare addresses, IPv6, spaces and repeats',
    objects: ranged({ [`${N}allowlist-source-range`]: ' 172.10.0.1 ,2001:db8::/32,, 172.10.0.1,::1' }),
    hosts: route(' allow=[172.10.0.1,2001:db8::/32,::1]'),
  },
  ...[
    ['not-a-cidr', /"not-a-cidr" is not a CIDR or an IP address/],
    ['10.0.0.0/8, nope', /"nope" is not a CIDR or an IP address/],
    ['10.0.0.0/33', /"10\.0\.0\.0\/33" is not a CIDR/],
    ['010.0.0.1/8', /"010\.0\.0\.1\/8" is not a CIDR/],
    ['1.2.3', /"1\.2\.3" is not a CIDR/],
    ['', /it names no address or range/],
    [' , ', /it names no address or range/],
  ].map(
    ([v, message]): Case => ({
      name: `a value that does not parse (${JSON.stringify(v)}) fails closed: 503 and AccessControlNotEnforced, never an open route`,
      objects: ranged({ [`${N}allowlist-source-range`]: v as string }),
      hosts: route(' closed(allowlist-source-range)'),
      diagnostics: ['AccessControlNotEnforced Ingress default/web'],
      messages: [message as RegExp, /the routes of this Ingress answer 503 \(fail closed\)/],
    }),
  ),
  {
    name: 'a malformed deny list closes the route even when the allow list parses',
    objects: ranged({ [`${N}denylist-source-range`]: 'everyone', [`${N}allowlist-source-range`]: '10.0.0.0/8' }),
    hosts: route(' closed(denylist-source-range) allow=[10.0.0.0/8]'),
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
  },
  {
    name: "the Ingress's spec.defaultBackend is not range-checked, so what it serves fails closed",
    objects: [
      CLS,
      ...WEB,
      ingress('web', {
        annotations: { [`${N}allowlist-source-range`]: '10.0.0.0/8' },
        defaultBackend: backend('web'),
        rules: [rule('foo.com', prefix('/app', 'web'))],
      }),
    ],
    // The closed default backend is said once, on its Ingress.
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
    hosts: {
      'foo.com': {
        fallback: 'default/web:80 closed(allowlist-source-range)',
        routes: ['Prefix "/app" -> default/web:80 [default/web] allow=[10.0.0.0/8]'],
      },
    },
    check: (r) => expect(r.table.defaultBackendFailClosed).toEqual([`${N}allowlist-source-range`]),
  },
  {
    name: 'another Ingress on the same host is not range-checked',
    objects: [
      CLS,
      ...WEB,
      ingress('admin', {
        annotations: { [`${N}allowlist-source-range`]: '10.0.0.0/8' },
        rules: [rule('foo.com', prefix('/admin', 'web'))],
      }),
      ingress('web', { created: 1, rules: [rule('foo.com', prefix('/', 'web'))] }),
    ],
    hosts: {
      'foo.com': {
        routes: ['Prefix "/admin" -> default/web:80 [default/admin] allow=[10.0.0.0/8]', 'Prefix "" -> default/web:80 [default/web]'],
      },
    },
  },
  {
    name: 'a table without access rules stays schema 1 (older workers keep reading it)',
    objects: ranged({}),
    hosts: route(''),
    check: (r) => expect(r.table.schema).toBe(1),
  },
]);
