// use-regex, rewrite-target and enable-rewrite-log → Regex routes and the rewrite template (schema 5). Cases follow
// test/e2e/annotations/rewrite.go and ingress-nginx's template (buildLocation's enforceRegex: once a location of a
// server has use-regex or a rewrite-target, every location of it is `location ~* "^<path>"`, longest first).
import { describe, expect, it } from 'vitest';
import { app, cls, exact, implSpecific, ingress, prefix, rule } from '../support/builders.ts';
import { runCase, type Case } from './cases.ts';

const N = 'nginx.ingress.kubernetes.io/';
const HOST = 'rewrite.bar.com';
const objs = (...ings: ReturnType<typeof ingress>[]) => [cls(), ...app('echo'), ...ings];

function table(name: string, cases: Case[]): void {
  describe(name, () => {
    for (const c of cases) it(c.name, () => void runCase(c));
  });
}

table('rewrite-target, use-regex, enable-rewrite-log', [
  {
    name: 'rewrite.go "should write rewrite logs": rewrite-target "/" makes the path a Regex route with the rewrite; enable-rewrite-log is accepted',
    objects: objs(
      ingress('rewrite', {
        annotations: { [`${N}rewrite-target`]: '/', [`${N}enable-rewrite-log`]: 'true' },
        rules: [rule(HOST, prefix('/something', 'echo'))],
      }),
    ),
    hosts: { [HOST]: { routes: ['Regex "/something" -> default/echo:80 [default/rewrite] rewrite=/'] } },
    check: (r) => expect(r.table.schema).toBe(5),
  },
  {
    name: 'rewrite.go "should use correct longest path match": a rewrite on "/" turns the other Ingress\'s path into a regex too, longest first',
    objects: objs(
      ingress('kube-lego', { created: 0, rules: [rule(HOST, prefix('/.well-known/acme/challenge', 'echo'))] }),
      ingress('rewrite-index', {
        created: 1,
        annotations: { [`${N}rewrite-target`]: '/new/backend' },
        rules: [rule(HOST, prefix('/', 'echo'))],
      }),
    ),
    hosts: {
      [HOST]: {
        routes: [
          'Regex "/.well-known/acme/challenge" -> default/echo:80 [default/kube-lego]',
          'Regex "/" -> default/echo:80 [default/rewrite-index] rewrite=/new/backend',
        ],
      },
    },
    diagnostics: ['RegexHost Ingress default/kube-lego (Info)'],
  },
  {
    name: 'rewrite.go "should use ~* location modifier if regex annotation is present": "/foo" (Prefix) and "/foo.+" (use-regex) are both Regex',
    objects: objs(
      ingress('foo', { created: 0, rules: [rule(HOST, prefix('/foo', 'echo'))] }),
      ingress('regex', {
        created: 1,
        annotations: { [`${N}use-regex`]: 'true', [`${N}rewrite-target`]: '/new/backend' },
        rules: [rule(HOST, implSpecific('/foo.+', 'echo'))],
      }),
    ),
    hosts: {
      [HOST]: {
        routes: ['Regex "/foo.+" -> default/echo:80 [default/regex] rewrite=/new/backend', 'Regex "/foo" -> default/echo:80 [default/foo]'],
      },
    },
    diagnostics: ['RegexHost Ingress default/foo (Info)'],
  },
  {
    name: 'rewrite.go "should fail to use longest match for documented warning": the longer pattern comes first',
    objects: objs(
      ingress('foo', { created: 0, rules: [rule(HOST, prefix('/foo/bar/bar', 'echo'))] }),
      ingress('regex', {
        created: 1,
        annotations: { [`${N}use-regex`]: 'true', [`${N}rewrite-target`]: '/new/backend' },
        rules: [rule(HOST, implSpecific('/foo/bar/[a-z]{3}', 'echo'))],
      }),
    ),
    hosts: {
      [HOST]: {
        routes: [
          'Regex "/foo/bar/[a-z]{3}" -> default/echo:80 [default/regex] rewrite=/new/backend',
          'Regex "/foo/bar/bar" -> default/echo:80 [default/foo]',
        ],
      },
    },
    diagnostics: ['RegexHost Ingress default/foo (Info)'],
  },
  {
    name: 'rewrite.go "should allow for custom rewrite parameters": "/new/backend/$1" is kept as a template',
    objects: objs(
      ingress('regex', {
        annotations: { [`${N}use-regex`]: 'true', [`${N}rewrite-target`]: '/new/backend/$1' },
        rules: [rule(HOST, implSpecific('/foo/bar/(.+)', 'echo'))],
      }),
    ),
    hosts: { [HOST]: { routes: ['Regex "/foo/bar/(.+)" -> default/echo:80 [default/regex] rewrite=/new/backend/$1'] } },
  },
  {
    name: 'docs "Rewrite" example: "/something(/|$)(.*)" with "/$2"',
    objects: objs(
      ingress('rewrite', {
        annotations: { [`${N}use-regex`]: 'true', [`${N}rewrite-target`]: '/$2' },
        rules: [rule(HOST, implSpecific('/something(/|$)(.*)', 'echo'))],
      }),
    ),
    hosts: { [HOST]: { routes: ['Regex "/something(/|$)(.*)" -> default/echo:80 [default/rewrite] rewrite=/$2'] } },
  },
  {
    name: 'use-regex alone: Regex routes without a rewrite; other hosts keep Prefix and schema stays per content',
    objects: objs(
      ingress('regex', {
        annotations: { [`${N}use-regex`]: 'true' },
        rules: [rule(HOST, implSpecific('/api/v[0-9]+', 'echo')), rule('plain.com', prefix('/', 'echo'))],
      }),
      ingress('other', { created: 1, rules: [rule('other.com', prefix('/x', 'echo'))] }),
    ),
    hosts: {
      [HOST]: { routes: ['Regex "/api/v[0-9]+" -> default/echo:80 [default/regex]'] },
      'plain.com': { routes: ['Regex "/" -> default/echo:80 [default/regex]'] },
      'other.com': { routes: ['Prefix "/x" -> default/echo:80 [default/other]'] },
    },
  },
  {
    name: 'use-regex "false": an ImplementationSpecific path stays Prefix, and regex syntax in it is an InvalidPath',
    objects: objs(
      ingress('plain', {
        annotations: { [`${N}use-regex`]: 'false' },
        rules: [rule(HOST, implSpecific('/a', 'echo'), implSpecific('/b/[0-9]+', 'echo'))],
      }),
    ),
    hosts: { [HOST]: { routes: ['Prefix "/a" -> default/echo:80 [default/plain]'] } },
    diagnostics: ['InvalidPath Ingress default/plain'],
    check: (r) => expect(r.table.schema).toBe(1),
  },
  {
    name: 'RE2 cannot do backreferences or lookahead: those paths alone are dropped, the others stay',
    objects: objs(
      ingress('regex', {
        annotations: { [`${N}use-regex`]: 'true' },
        rules: [rule(HOST, implSpecific('/(a)\\1', 'echo'), implSpecific('/b(?=c)', 'echo'), implSpecific('/ok/.*', 'echo'))],
      }),
    ),
    hosts: { [HOST]: { routes: ['Regex "/ok/.*" -> default/echo:80 [default/regex]'] } },
    diagnostics: ['InvalidPath Ingress default/regex', 'InvalidPath Ingress default/regex'],
    messages: [/invalid escape sequence.*no backreferences/, /Perl syntax.*no lookaround/],
  },
  {
    name: 'a plain path of another Ingress that is not a valid regex is dropped on a regex host, with its reason',
    objects: objs(
      ingress('plain', { created: 0, rules: [rule(HOST, prefix('/a(b', 'echo'), exact('/exact', 'echo'))] }),
      ingress('regex', { created: 1, annotations: { [`${N}use-regex`]: 'true' }, rules: [rule(HOST, implSpecific('/r.*', 'echo'))] }),
    ),
    hosts: {
      [HOST]: { routes: ['Regex "/exact" -> default/echo:80 [default/plain]', 'Regex "/r.*" -> default/echo:80 [default/regex]'] },
    },
    diagnostics: ['InvalidPath Ingress default/plain', 'RegexHost Ingress default/plain (Info)'],
    messages: [/every path of the host is a case-insensitive regular expression: as a regular expression it is not/],
  },
  {
    name: 'the same pattern twice: the older Ingress keeps it (RouteConflict), whatever the path types',
    objects: objs(
      ingress('old', { created: 0, annotations: { [`${N}use-regex`]: 'true' }, rules: [rule(HOST, implSpecific('/same', 'echo'))] }),
      ingress('new', { created: 1, rules: [rule(HOST, exact('/same', 'echo'))] }),
    ),
    hosts: { [HOST]: { routes: ['Regex "/same" -> default/echo:80 [default/old]'] } },
    diagnostics: ['RegexHost Ingress default/new (Info)', 'RouteConflict Ingress default/new'],
  },
  {
    name: 'malformed values are warnings: use-regex "yes" is false, a rewrite-target that is not a path is not applied',
    objects: objs(
      ingress('a', { annotations: { [`${N}use-regex`]: 'yes' }, rules: [rule('a.com', implSpecific('/a', 'echo'))] }),
      ingress('b', { annotations: { [`${N}rewrite-target`]: 'https://elsewhere/$1' }, rules: [rule('b.com', prefix('/b', 'echo'))] }),
      ingress('c', { annotations: { [`${N}rewrite-target`]: '/x?y=1' }, rules: [rule('c.com', prefix('/c', 'echo'))] }),
      ingress('d', { annotations: { [`${N}rewrite-target`]: '/$host' }, rules: [rule('d.com', prefix('/d', 'echo'))] }),
      ingress('e', { annotations: { [`${N}enable-rewrite-log`]: 'maybe' }, rules: [rule('e.com', prefix('/e', 'echo'))] }),
    ),
    hosts: {
      'a.com': { routes: ['Prefix "/a" -> default/echo:80 [default/a]'] },
      'b.com': { routes: ['Prefix "/b" -> default/echo:80 [default/b]'] },
      'c.com': { routes: ['Prefix "/c" -> default/echo:80 [default/c]'] },
      'd.com': { routes: ['Prefix "/d" -> default/echo:80 [default/d]'] },
      'e.com': { routes: ['Prefix "/e" -> default/echo:80 [default/e]'] },
    },
    diagnostics: [
      'InvalidAnnotation Ingress default/a',
      'InvalidAnnotation Ingress default/b',
      'InvalidAnnotation Ingress default/c',
      'InvalidAnnotation Ingress default/d',
      'InvalidAnnotation Ingress default/e',
    ],
    messages: [/use-regex" has value "yes"/, /must start with "\/"/, /contains "\?"/, /"\$" other than the capture groups/],
  },
  {
    name: 'a regex path on an Ingress that guards access is dropped: its host fails closed, as for any skipped path',
    objects: objs(
      ingress('guarded', {
        annotations: { [`${N}use-regex`]: 'true', [`${N}whitelist-source-range`]: '10.0.0.0/8' },
        rules: [rule(HOST, implSpecific('/(a)\\1', 'echo'), implSpecific('/ok', 'echo'))],
      }),
    ),
    diagnostics: ['AccessControlNotEnforced Ingress default/guarded', 'InvalidPath Ingress default/guarded'],
    check: (r) => expect(r.table.hosts[0]!.routes[0]!.policies.failClosed).toEqual(['nginx.ingress.kubernetes.io/whitelist-source-range']),
  },
]);

describe('rewrite-target beside upstream-vhost', () => {
  it('one URLRewrite carries both the path and the hostname', async () => {
    const { compile } = await import('../../sync/compile/index.ts');
    const { validate } = await import('../../gateway/table/validate.ts');
    const m = await import('../support/manifests.ts');
    const N = 'nginx.ingress.kubernetes.io/';
    const r = compile(
      m.objects(
        m.ourClass(),
        m.service('web', [{ address: '10.0.0.1', port: 80 }]),
        m.ingress('a', {
          host: 'a.test',
          paths: [{ path: '/something(/|$)(.*)', pathType: 'ImplementationSpecific', service: 'web' }],
          annotations: { [`${N}use-regex`]: 'true', [`${N}rewrite-target`]: '/$2', [`${N}upstream-vhost`]: 'internal.example' },
        }),
      ),
    );
    expect(r.table.hosts[0]!.routes[0]!.policies.rewrite).toEqual({ hostname: 'internal.example', path: '/$2' });
    expect(validate(r.table)).toEqual([]);
  });
});
