// End-to-end semantics: Ingress objects → compile() → compileMatcher() → which backend a request reaches.
// These pin down the README's "Ingress semantics" through the real matcher, so a compiler that
// stores paths or hosts in a way the matcher reads differently fails here even if its table looks right.
import { describe, expect, it } from 'vitest';
import { compileMatcher, type Matcher } from '../../gateway/table/match.ts';
import type { HTTPIngressPath, Ingress } from '../../sync/compile/types.ts';
import { app, backend, cls, exact, implSpecific, ingress, objects, prefix, rule, type AnyObject } from '../support/builders.ts';
import { run } from './harness.ts';

const CLS = cls();
const SERVICES = ['a', 'b', 'c', 'd', 'e', 'root', 'wild', 'exact', 'any', 'fb', 'dflt', 'gone']
  .filter((s) => s !== 'gone')
  .flatMap((s) => app(s));

function matcher(...list: AnyObject[]): Matcher {
  return compileMatcher(run(objects(CLS, ...SERVICES, ...list)).table);
}

/** Backend service name a request reaches ("404" for no match). */
function reach(m: Matcher, host: string, path: string): string {
  const r = m.match(host, path);
  return r.backend === null ? '404' : r.backend.service.name;
}

function expectRoutes(m: Matcher, cases: [host: string, path: string, expected: string][]): void {
  const got = cases.map(([h, p]) => [h, p, reach(m, h, p)]);
  expect(got).toEqual(cases);
}

const one = (host: string | undefined, ...paths: HTTPIngressPath[]): Ingress => ingress('web', { rules: [rule(host, ...paths)] });

describe('paths through the matcher', () => {
  it('Prefix /aaa matches /aaa, /aaa/ and /aaa/x, not /aaaccc', () => {
    const m = matcher(one('h.com', prefix('/aaa', 'a')));
    expectRoutes(m, [
      ['h.com', '/aaa', 'a'],
      ['h.com', '/aaa/', 'a'],
      ['h.com', '/aaa/x', 'a'],
      ['h.com', '/aaa/x/y', 'a'],
      ['h.com', '/aaaccc', '404'],
      ['h.com', '/aa', '404'],
      ['h.com', '/', '404'],
    ]);
  });

  it('a trailing / in a Prefix rule is ignored', () => {
    const m = matcher(one('h.com', prefix('/aaa/', 'a')));
    expectRoutes(m, [
      ['h.com', '/aaa', 'a'],
      ['h.com', '/aaa/', 'a'],
      ['h.com', '/aaa/b', 'a'],
      ['h.com', '/aaab', '404'],
    ]);
  });

  it('Exact is exact and case-sensitive', () => {
    const m = matcher(one('h.com', exact('/foo', 'a')));
    expectRoutes(m, [
      ['h.com', '/foo', 'a'],
      ['h.com', '/foo/', '404'],
      ['h.com', '/Foo', '404'],
      ['h.com', '/foo/x', '404'],
    ]);
  });

  it('Prefix is case-sensitive', () => {
    expectRoutes(matcher(one('h.com', prefix('/API', 'a'))), [
      ['h.com', '/API/x', 'a'],
      ['h.com', '/api/x', '404'],
    ]);
  });

  it('the longest match wins', () => {
    const m = matcher(one('h.com', prefix('/', 'root'), prefix('/a', 'a'), prefix('/a/b', 'b'), prefix('/a/b/c', 'c')));
    expectRoutes(m, [
      ['h.com', '/a/b/c/d', 'c'],
      ['h.com', '/a/b/c', 'c'],
      ['h.com', '/a/b/cc', 'b'],
      ['h.com', '/a/bb', 'a'],
      ['h.com', '/ab', 'root'],
      ['h.com', '/', 'root'],
    ]);
  });

  it('on a tie Exact beats Prefix, whatever the order in the object', () => {
    for (const paths of [
      [prefix('/foo', 'a'), exact('/foo', 'exact')],
      [exact('/foo', 'exact'), prefix('/foo', 'a')],
    ]) {
      const m = matcher(one('h.com', ...paths));
      expectRoutes(m, [
        ['h.com', '/foo', 'exact'],
        ['h.com', '/foo/', 'a'],
        ['h.com', '/foo/bar', 'a'],
      ]);
    }
  });

  it('Exact / and Prefix / are different: Exact only for the root', () => {
    const m = matcher(one('h.com', exact('/', 'exact'), prefix('/', 'root')));
    expectRoutes(m, [
      ['h.com', '/', 'exact'],
      ['h.com', '/x', 'root'],
    ]);
  });

  it('ImplementationSpecific behaves like Prefix', () => {
    const m = matcher(one('h.com', implSpecific('/docs', 'a')));
    expectRoutes(m, [
      ['h.com', '/docs', 'a'],
      ['h.com', '/docs/intro', 'a'],
      ['h.com', '/docsy', '404'],
    ]);
  });

  it('an nginx-style regex under ImplementationSpecific matches only itself, literally', () => {
    const m = matcher(one('h.com', implSpecific('/api/(.*)', 'a')));
    expectRoutes(m, [
      ['h.com', '/api/users', '404'],
      ['h.com', '/api/(.*)', 'a'],
    ]);
  });

  it('dot segments and encoded unreserved characters in requests cannot escape a prefix', () => {
    const m = matcher(one('h.com', prefix('/admin', 'a'), prefix('/public', 'b')));
    expectRoutes(m, [
      ['h.com', '/public/../admin', 'a'],
      ['h.com', '/%61dmin', 'a'],
      ['h.com', '/public/x', 'b'],
    ]);
  });
});

// https://kubernetes.io/docs/concepts/services-networking/ingress/#examples — every row of the table.
describe('the Kubernetes docs path-matching examples', () => {
  type Row = [kind: string, rules: HTTPIngressPath[], request: string, matches: string];
  const P = (p: string, s = 'a'): HTTPIngressPath => prefix(p, s);
  const E = (p: string, s = 'a'): HTTPIngressPath => exact(p, s);
  const rows: Row[] = [
    ['Prefix', [P('/')], '/anything/at/all', 'a'],
    ['Exact', [E('/foo')], '/foo', 'a'],
    ['Exact', [E('/foo')], '/bar', '404'],
    ['Exact', [E('/foo')], '/foo/', '404'],
    ['Exact', [E('/foo/')], '/foo', '404'],
    ['Prefix', [P('/foo')], '/foo', 'a'],
    ['Prefix', [P('/foo')], '/foo/', 'a'],
    ['Prefix', [P('/foo/')], '/foo', 'a'],
    ['Prefix', [P('/foo/')], '/foo/', 'a'],
    ['Prefix', [P('/aaa/bb')], '/aaa/bbb', '404'],
    ['Prefix', [P('/aaa/bbb')], '/aaa/bbb', 'a'],
    ['Prefix', [P('/aaa/bbb/')], '/aaa/bbb', 'a'],
    ['Prefix', [P('/aaa/bbb')], '/aaa/bbb/', 'a'],
    ['Prefix', [P('/aaa/bbb')], '/aaa/bbb/ccc', 'a'],
    ['Prefix', [P('/aaa/bbb')], '/aaabbb', '404'],
    ['Prefix', [P('/', 'root'), P('/aaa')], '/aaa/ccc', 'a'],
    ['Prefix', [P('/', 'root'), P('/aaa'), P('/aaa/bbb', 'b')], '/aaa/bbb', 'b'],
    ['Prefix', [P('/', 'root'), P('/aaa'), P('/aaa/bbb', 'b')], '/ccc', 'root'],
    ['Prefix', [P('/aaa')], '/ccc', '404'],
    ['Mixed', [P('/foo'), E('/foo', 'exact')], '/foo', 'exact'],
  ];
  for (const [kind, rules, request, expected] of rows) {
    const shown = rules.map((r) => `${r.pathType} ${r.path}`).join(', ');
    it(`${kind}: [${shown}] request ${request} → ${expected === '404' ? 'no match' : expected}`, () => {
      expect(reach(matcher(one('h.com', ...rules)), 'h.com', request)).toBe(expected);
    });
  }
});

describe('hosts through the matcher', () => {
  const hosts = (): Matcher =>
    matcher(
      ingress('w', { rules: [rule('*.foo.com', prefix('/', 'wild'))] }),
      ingress('e', { rules: [rule('exact.foo.com', prefix('/', 'exact')), rule('foo.com', prefix('/', 'root'))] }),
    );

  it('*.foo.com matches bar.foo.com, not foo.com, not baz.bar.foo.com', () => {
    expectRoutes(hosts(), [
      ['bar.foo.com', '/', 'wild'],
      ['foo.com', '/', 'root'],
      ['baz.bar.foo.com', '/', '404'],
      ['xfoo.com', '/', '404'],
    ]);
  });

  it('an exact host beats the wildcard', () => {
    expectRoutes(hosts(), [
      ['exact.foo.com', '/', 'exact'],
      ['other.foo.com', '/', 'wild'],
    ]);
  });

  it('the host is case-insensitive and its port is stripped', () => {
    expectRoutes(hosts(), [
      ['EXACT.Foo.Com', '/', 'exact'],
      ['exact.foo.com:8443', '/', 'exact'],
      ['Bar.FOO.com:80', '/', 'wild'],
      ['FOO.COM', '/', 'root'],
    ]);
  });

  it('a rule host written in upper case still matches', () => {
    expectRoutes(matcher(one('Shop.Example.COM', prefix('/', 'a'))), [['shop.example.com', '/', 'a']]);
  });

  it('rules without host catch every host that matches no entry', () => {
    const m = matcher(
      ingress('any', { rules: [rule(undefined, prefix('/', 'any'))] }),
      ingress('e', { rules: [rule('foo.com', exact('/only', 'exact'))] }),
    );
    expectRoutes(m, [
      ['unknown.example', '/x', 'any'],
      ['10.0.0.1:80', '/x', 'any'],
      ['foo.com', '/only', 'exact'],
      // a matched host entry does not fall through to the hostless rules
      ['foo.com', '/x', '404'],
    ]);
  });
});

describe('fallbacks, default backend and 503s through the matcher', () => {
  it('unmatched path → host fallback; unmatched host → table default backend; otherwise 404', () => {
    const m = matcher(
      ingress('old', { created: 0, defaultBackend: backend('dflt'), rules: [rule('a.com', prefix('/a', 'a'))] }),
      ingress('young', { created: 1, defaultBackend: backend('fb'), rules: [rule('b.com', prefix('/b', 'b'))] }),
    );
    expectRoutes(m, [
      ['a.com', '/a/x', 'a'],
      ['a.com', '/zzz', 'dflt'],
      ['b.com', '/zzz', 'fb'],
      ['c.com', '/', 'dflt'],
    ]);
    expect(m.match('b.com', '/zzz').reason).toBe('host-fallback');
    expect(m.match('c.com', '/').reason).toBe('default-backend');
  });

  it('no default backend: an unmatched request is a 404 (no-match)', () => {
    const m = matcher(one('a.com', prefix('/a', 'a')));
    expect(m.match('a.com', '/b')).toMatchObject({ reason: 'no-match', backend: null });
    expect(m.match('nope.com', '/a')).toMatchObject({ reason: 'no-match', backend: null });
  });

  it('a route to a missing Service reaches a backend with no endpoints (503), not another route', () => {
    const m = matcher(one('a.com', prefix('/', 'root'), prefix('/gone', 'gone')));
    const r = m.match('a.com', '/gone/x');
    expect(r.reason).toBe('route');
    expect(r.backend?.id).toBe('default/gone:80');
    expect(r.backend?.endpoints).toEqual([]);
  });

  it('conflicts: the oldest Ingress’s backend is reached', () => {
    const m = matcher(
      ingress('young', { created: 9, rules: [rule('a.com', prefix('/x', 'b'))] }),
      ingress('old', { created: 1, rules: [rule('a.com', prefix('/x', 'a'))] }),
    );
    expect(reach(m, 'a.com', '/x')).toBe('a');
  });

  it('endpoints reached are the ready ones of the named port', () => {
    const r = run(objects(CLS, ...app('a', ['10.0.0.1', '10.0.0.2']), one('a.com', prefix('/', 'a', 'http'))));
    const m = compileMatcher(r.table);
    expect(m.match('a.com', '/').backend?.endpoints.map((e) => `${e.address}:${e.port}`)).toEqual(['10.0.0.1:8080', '10.0.0.2:8080']);
  });

  it('lookupHost gives the TLS and redirect decision for a host', () => {
    const r = run(objects(CLS, ...app('a'), ingress('t', { tls: [{ hosts: ['a.com'] }], rules: [rule('a.com', prefix('/', 'a'))] })));
    const m = compileMatcher(r.table);
    expect(m.lookupHost('A.com:443')?.tls).toEqual({ certificate: null });
    expect(m.match('a.com', '/').route?.policies.sslRedirect).toBe(true);
    expect(m.lookupHost('b.com')).toBeNull();
  });
});
