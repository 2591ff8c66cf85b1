// ssl-passthrough → a host's `passthrough` (schema 6). Cases are named after ingress-nginx's
// test/e2e/settings/ssl_passthrough.go, its parser (annotations/sslpassthrough/main.go) and controller.go
// (createServers: the oldest Ingress of a host decides; buildPassthroughBackends: the root location's backend).
import { describe, expect, it } from 'vitest';
import type { HostRoutes } from '../../gateway/table/schema.ts';
import { validate } from '../../gateway/table/validate.ts';
import { routeRows } from '../../gateway/inspect/views.ts';
import type { CompileResult } from '../../sync/compile/types.ts';
import { app, backend, cls, exact, ingress, prefix, rule, tls } from '../support/builders.ts';
import { runCase, type Case } from './cases.ts';

const PT = 'nginx.ingress.kubernetes.io/ssl-passthrough';
const host = (r: CompileResult, name: string): HostRoutes => r.table.hosts.find((h) => h.host === name)!;
/** The host's passthrough (undefined: TLS terminated), in a valid table of the schema it needs. */
const passes =
  (name: string, expected: HostRoutes['passthrough'], schema = 6) =>
  (r: CompileResult) => {
    expect(host(r, name).passthrough).toEqual(expected);
    expect(r.table.schema).toBe(schema);
    expect(validate(r.table)).toEqual([]);
  };

const cases: Case[] = [
  {
    name: 'should pass unknown traffic to default backend and handle known traffic: the annotated host passes, the other host does not',
    objects: [
      cls(),
      ...app('echopass'),
      ingress('pass', {
        annotations: { [PT]: 'true' },
        rules: [rule('testpassthrough.com', prefix('/', 'echopass'))],
        tls: [tls(undefined, 'testpassthrough.com')],
      }),
      ingress('nopass', {
        created: 1,
        rules: [rule('noannotationnopassthrough.com', prefix('/', 'echopass'))],
        tls: [tls(undefined, 'noannotationnopassthrough.com')],
      }),
    ],
    check: (r) => {
      passes('testpassthrough.com', { backend: 'default/echopass:80' })(r);
      expect(host(r, 'noannotationnopassthrough.com').passthrough).toBeUndefined();
    },
  },
  {
    name: 'ssl-passthrough "false": TLS is terminated, the table keeps its schema',
    objects: [cls(), ...app('web'), ingress('web', { annotations: { [PT]: 'false' }, rules: [rule('foo.com', prefix('/', 'web'))] })],
    check: passes('foo.com', undefined, 1),
  },
  {
    name: 'ssl-passthrough "TRUE" (any case, as the strict boolean parser reads it) passes',
    objects: [cls(), ...app('web'), ingress('web', { annotations: { [PT]: ' TRUE ' }, rules: [rule('foo.com', prefix('/', 'web'))] })],
    check: passes('foo.com', { backend: 'default/web:80' }),
  },
  ...['1', 't', 'yes', ''].map(
    (v): Case => ({
      name: `ssl-passthrough ${JSON.stringify(v)} (strconv.ParseBool would read some of these) → InvalidAnnotation, TLS terminated`,
      objects: [cls(), ...app('web'), ingress('web', { annotations: { [PT]: v }, rules: [rule('foo.com', prefix('/', 'web'))] })],
      diagnostics: ['InvalidAnnotation Ingress default/web'],
      messages: [/"nginx\.ingress\.kubernetes\.io\/ssl-passthrough" has value .*; expected "true" or "false", so the default \("false"/],
      check: passes('foo.com', undefined, 1),
    }),
  ),
  {
    name: 'the "/" path\'s backend gets the stream; the host\'s other paths are ignored for TLS (Ignoring SSL Passthrough for location)',
    objects: [
      cls(),
      ...app('root'),
      ...app('api', ['10.0.0.2']),
      ingress('web', { annotations: { [PT]: 'true' }, rules: [rule('foo.com', prefix('/api', 'api'), prefix('/', 'root'))] }),
    ],
    check: passes('foo.com', { backend: 'default/root:80' }),
  },
  {
    name: 'an Exact "/" path counts as the root location too',
    objects: [cls(), ...app('root'), ingress('web', { annotations: { [PT]: 'true' }, rules: [rule('foo.com', exact('/', 'root'))] })],
    check: passes('foo.com', { backend: 'default/root:80' }),
  },
  {
    name: 'no "/" path: the Ingress\'s spec.defaultBackend (the root location ingress-nginx creates from it)',
    objects: [
      cls(),
      ...app('api'),
      ...app('fallback', ['10.0.0.3']),
      ingress('web', {
        annotations: { [PT]: 'true' },
        defaultBackend: backend('fallback'),
        rules: [rule('foo.com', prefix('/api', 'api'))],
      }),
    ],
    check: passes('foo.com', { backend: 'default/fallback:80' }),
  },
  {
    name: 'no "/" path and no default backend → PassthroughWithoutBackend, the host\'s TLS connections are closed (backend null)',
    objects: [cls(), ...app('api'), ingress('web', { annotations: { [PT]: 'true' }, rules: [rule('foo.com', prefix('/api', 'api'))] })],
    diagnostics: ['PassthroughWithoutBackend Ingress default/web'],
    messages: [/ssl-passthrough host "foo\.com" has no "\/" path and no spec\.defaultBackend/],
    check: passes('foo.com', { backend: null }),
  },
  {
    name: 'a host with a TLS Secret: SNI routing wins, the host passes (its certificate stays for plain-HTTP redirects and inspection)',
    objects: [
      cls(),
      ...app('web'),
      ingress('web', { annotations: { [PT]: 'true' }, rules: [rule('foo.com', prefix('/', 'web'))], tls: [tls(undefined, 'foo.com')] }),
    ],
    check: (r) => {
      passes('foo.com', { backend: 'default/web:80' })(r);
      expect(host(r, 'foo.com').tls).toEqual({ certificate: null });
    },
  },
  {
    name: "the oldest Ingress of the host decides: a younger one's ssl-passthrough → PassthroughIgnored",
    objects: [
      cls(),
      ...app('web'),
      ingress('old', { created: 0, rules: [rule('foo.com', prefix('/', 'web'))] }),
      ingress('young', { created: 5, annotations: { [PT]: 'true' }, rules: [rule('foo.com', prefix('/other', 'web'))] }),
    ],
    diagnostics: ['PassthroughIgnored Ingress default/young'],
    messages: [/ssl-passthrough is ignored for host "foo\.com": the older Ingress default\/old decides/],
    check: passes('foo.com', undefined, 1),
  },
  {
    name: 'the oldest Ingress asks for passthrough: the host passes to the "/" route, whichever Ingress routes it',
    objects: [
      cls(),
      ...app('web'),
      ...app('root', ['10.0.0.9']),
      ingress('old', { created: 0, annotations: { [PT]: 'true' }, rules: [rule('foo.com', prefix('/a', 'web'))] }),
      ingress('young', { created: 5, rules: [rule('foo.com', prefix('/', 'root'))] }),
    ],
    check: passes('foo.com', { backend: 'default/root:80' }),
  },
  {
    name: 'rules without a host → PassthroughIgnored: a ClientHello names a server',
    objects: [cls(), ...app('web'), ingress('web', { annotations: { [PT]: 'true' }, rules: [rule(undefined, prefix('/', 'web'))] })],
    diagnostics: ['PassthroughIgnored Ingress default/web'],
    check: passes('', undefined, 1),
  },
  {
    name: 'a server-alias of a passthrough host is terminated (ingress-nginx compares the SNI with the hostname only)',
    objects: [
      cls(),
      ...app('web'),
      ingress('web', {
        annotations: { [PT]: 'true', 'nginx.ingress.kubernetes.io/server-alias': 'bar.com' },
        rules: [rule('foo.com', prefix('/', 'web'))],
      }),
    ],
    check: (r) => {
      passes('foo.com', { backend: 'default/web:80' })(r);
      expect(host(r, 'bar.com').passthrough).toBeUndefined();
    },
  },
];

describe('ssl-passthrough (settings/ssl_passthrough.go, controller.go)', () => {
  for (const c of cases) it(c.name, () => void runCase(c));
});

describe('portico inspect routes', () => {
  it("shows where a passthrough host's TLS goes instead of its certificate", () => {
    const r = runCase({
      name: 'inspect',
      objects: [
        cls(),
        ...app('web'),
        ...app('api', ['10.0.0.2']),
        ingress('pass', { annotations: { [PT]: 'true' }, rules: [rule('foo.com', prefix('/', 'web'))], tls: [tls(undefined, 'foo.com')] }),
        ingress('closed', { annotations: { [PT]: 'true' }, rules: [rule('bar.com', prefix('/api', 'api'))] }),
      ],
      diagnostics: ['PassthroughWithoutBackend Ingress default/closed'],
    });
    expect(routeRows(r.table).map((row) => [row.host, row.tls])).toEqual([
      ['bar.com', 'passthrough to nothing (closed)'],
      ['foo.com', 'passthrough to default/web:80'],
    ]);
  });
});
