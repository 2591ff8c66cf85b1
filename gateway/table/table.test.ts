// The table contract on its own: hashing, validation and the matcher, on hand-written tables.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, contentHash, schemaOf, sealTable, serializeTable, type TableContent } from './canonical.ts';
import { compileMatcher, normalizeHost, normalizePath } from './match.ts';
import type { Backend, PathType, Route } from './schema.ts';
import { validate } from './validate.ts';

const backend = (id: string, ...ports: number[]): Backend => ({
  id,
  service: { namespace: 'default', name: id, port: 80 },
  endpoints: ports.map((port) => ({ address: '127.0.0.1', port, zone: null })),
  notReady: 0,
});
const route = (path: string, pathType: PathType, b: string): Route => ({
  path,
  pathType,
  backend: b,
  source: { namespace: 'default', name: 'ing' },
  policies: { sslRedirect: false },
});
const content = (): TableContent => ({
  hosts: [
    {
      host: 'foo.com',
      tls: null,
      fallbackBackend: null,
      routes: [
        route('', 'Prefix', 'root'),
        route('/aaa', 'Prefix', 'aaa'),
        route('/aaa', 'Exact', 'aaa-exact'),
        route('/aaa/bbb', 'Prefix', 'bbb'),
        route('/x/', 'Exact', 'x-slash'),
      ],
    },
    { host: '*.foo.com', tls: null, fallbackBackend: 'wild-fallback', routes: [route('/w', 'Prefix', 'wild')] },
    { host: '', tls: null, fallbackBackend: null, routes: [route('/any', 'Prefix', 'any')] },
  ],
  defaultBackend: 'default',
  backends: ['root', 'aaa', 'aaa-exact', 'bbb', 'x-slash', 'wild', 'wild-fallback', 'any', 'default'].map((id) => backend(id, 8080)),
  certificates: [],
});

describe('canonical form and version', () => {
  it('is independent of input order', () => {
    const a = content();
    const b = content();
    b.hosts.reverse();
    b.backends.reverse();
    b.hosts[0]!.routes.reverse();
    expect(serializeTable(sealTable(a))).toBe(serializeTable(sealTable(b)));
  });
  it('changes the version when content changes', () => {
    const a = content();
    const b = content();
    b.backends[0]!.endpoints[0]!.port = 8081;
    expect(sealTable(a).version).not.toBe(sealTable(b).version);
    expect(sealTable(a).version).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
  // The version's definition (docs/ARCHITECTURE.md, "The table contract"), written out here: contentHash() feeds the
  // hash piece by piece and remembers the last sealed table's hash, and neither may change a byte of the version.
  const definition = (c: TableContent): string =>
    `sha256:${createHash('sha256')
      .update(canonicalJson({ schema: schemaOf(c), ...c }))
      .digest('hex')}`;
  const unsealed = (t: TableContent): TableContent => JSON.parse(JSON.stringify(t)) as TableContent;
  const withoutStamp = ({ version: _v, schema: _s, ...c }: ReturnType<typeof sealTable>): TableContent => c;
  const contents: [string, () => TableContent][] = [
    ['hand-written content, never sealed', content],
    ['a sealed table', () => withoutStamp(sealTable(content()))],
    ['a sealed table read back from JSON', () => unsealed(withoutStamp(sealTable(content())))],
    ['optional fields, a non-ASCII value', () => ({ ...content(), defaultBackendFailClosed: ['b', 'a'], hsts: 'max-age=60; “ünïcode”' })],
    ['an empty table', () => ({ hosts: [], defaultBackend: null, backends: [], certificates: [] })],
  ];
  for (const [name, make] of contents)
    it(`the version is the SHA-256 of the canonical JSON of {schema, ...content}: ${name}`, () => {
      const c = make();
      expect(contentHash(c)).toBe(definition(c));
      expect(contentHash(c)).toBe(definition(c)); // asked again (the agent's validate() before a publish)
    });
  it('a sealed table whose entries are carried into a new table with one changed is hashed anew', () => {
    const first = sealTable(content());
    const changed = { ...first.hosts[0]!, routes: first.hosts[0]!.routes.slice(1) };
    const second = sealTable({ ...withoutStamp(first), hosts: [changed, ...first.hosts.slice(1)] });
    expect(second.version).not.toBe(first.version);
    expect(second.version).toBe(definition(withoutStamp(second)));
    expect(contentHash(withoutStamp(first))).toBe(first.version);
  });
  it('content edited in place after hashing (parsed JSON, not sealed) is hashed anew', () => {
    const c = unsealed(withoutStamp(sealTable(content())));
    const before = contentHash(c);
    c.backends[0]!.endpoints[0]!.port = 9999;
    expect(contentHash(c)).not.toBe(before);
    expect(contentHash(c)).toBe(definition(c));
  });
  it('sorts object keys at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}');
  });
});

// biome-ignore lint/suspicious/noExplicitAny: the mutation cases write arbitrary, deliberately invalid JSON into a table
type Loose = any;

describe('validate', () => {
  const sealed = () => JSON.parse(JSON.stringify(sealTable(content()))) as Record<string, Loose>;
  const cases: { name: string; mutate: (t: Record<string, Loose>) => void; problem: RegExp }[] = [
    {
      name: 'edited content keeps the old hash',
      mutate: (t) => {
        t.backends[0].endpoints[0].port = 9999;
      },
      problem: /content hash/,
    },
    {
      name: 'unknown backend in a route',
      mutate: (t) => {
        t.hosts[0].routes[0].backend = 'nope';
      },
      problem: /unknown backend "nope"/,
    },
    {
      name: 'unknown default backend',
      mutate: (t) => {
        t.defaultBackend = 'gone';
      },
      problem: /unknown backend "gone"/,
    },
    {
      name: 'routes out of precedence order',
      mutate: (t) => {
        t.hosts.find((h: Loose) => h.host === 'foo.com').routes.reverse();
      },
      problem: /precedence order/,
    },
    {
      name: 'invalid host',
      mutate: (t) => {
        t.hosts[0].host = 'Bad_Host';
      },
      problem: /invalid host/,
    },
    {
      name: 'duplicate host',
      mutate: (t) => {
        t.hosts[1].host = t.hosts[0].host;
      },
      problem: /duplicate host/,
    },
    {
      name: 'port out of range',
      mutate: (t) => {
        t.backends[0].endpoints[0].port = 70000;
      },
      problem: /invalid port/,
    },
    {
      name: 'unknown certificate',
      mutate: (t) => {
        t.hosts[0].tls = { certificate: 'default/missing' };
      },
      problem: /unknown certificate/,
    },
    {
      name: 'unknown schema',
      mutate: (t) => {
        t.schema = 7 as never;
      },
      problem: /unsupported schema/,
    },
    {
      name: 'schema 2 for a table that schema 1 carries',
      mutate: (t) => {
        t.schema = 2;
      },
      problem: /table says schema 2, its content needs schema 1/,
    },
    {
      name: 'a fail-closed route in a schema-1 table (a schema-1 worker would serve it open)',
      mutate: (t) => {
        t.hosts[0].routes[0].policies.failClosed = ['nginx.ingress.kubernetes.io/auth-url'];
      },
      problem: /table says schema 1, its content needs schema 2/,
    },
    {
      name: 'an access rule in a table that says an older schema (a schema-2 worker would ignore it)',
      mutate: (t) => {
        t.schema = 2;
        t.hosts[0].routes[0].policies.failClosed = ['nginx.ingress.kubernetes.io/auth-url'];
        t.hosts[0].routes[0].policies.access = { allow: ['10.0.0.0/8'] };
      },
      problem: /table says schema 2, its content needs schema 3/,
    },
    {
      name: 'JWT verification in a table that says schema 3 (a schema-3 worker reads schema 3 manifests)',
      mutate: (t) => {
        t.schema = 3;
        t.hosts[0].routes[0].policies.access = {
          jwt: {
            source: 'configmap:default/keys',
            keys: [{ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }],
            algorithms: ['ES256'],
            clockSkew: 0,
            tokenFrom: { kind: 'header' },
            realm: '',
          },
        };
      },
      problem: /table says schema 3, its content needs schema 4/,
    },
    ...[
      { name: 'a source range that is not a CIDR', access: { allow: ['10.0.0.0/8', 'everyone'] }, problem: /"everyone" is not a CIDR/ },
      { name: 'an empty deny list', access: { deny: [] }, problem: /must be a list of 1 to 256 CIDRs/ },
      { name: 'an access policy with no rule', access: {}, problem: /names no access rule/ },
      {
        name: 'an auth URL whose host is a variable',
        access: { externalAuth: { url: 'http://$host/auth' } },
        problem: /variable in its host/,
      },
      { name: 'an auth URL with credentials', access: { externalAuth: { url: 'http://u:p@auth.test/' } }, problem: /carries credentials/ },
      {
        name: 'an auth URL of another scheme',
        access: { externalAuth: { url: 'file:///etc/passwd' } },
        problem: /not an http or https URL/,
      },
      {
        name: 'an auth answer allowed to steer the tunnel (portico-peer in responseHeaders)',
        access: { externalAuth: { url: 'http://auth.test/', responseHeaders: ['x-user', 'portico-peer'] } },
        problem: /must be a list of lower-case header names/,
      },
      {
        name: 'an access field this worker does not know (a guard it would not apply)',
        access: { allow: ['10.0.0.0/8'], mtls: { ca: 'x' } },
        problem: /unknown access rule "mtls"/,
      },
      {
        name: 'a JWT policy with a field this worker does not know',
        access: { jwt: { issuer: 'x', requiredClaims: ['admin'] } },
        problem: /unknown field "requiredClaims"/,
      },
      {
        name: 'a JWT policy carrying a private key',
        access: {
          jwt: {
            source: 'configmap:default/keys',
            keys: [{ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA', d: 'AA' }],
            algorithms: ['ES256'],
            clockSkew: 0,
            tokenFrom: { kind: 'header' },
            realm: '',
          },
        },
        problem: /^has private key members \(d\)$/,
      },
      {
        name: 'a JWT policy allowing HS256',
        access: {
          jwt: {
            source: 'configmap:default/keys',
            keys: [{ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }],
            algorithms: ['HS256'],
            clockSkew: 0,
            tokenFrom: { kind: 'header' },
            realm: '',
          },
        },
        problem: /must list distinct algorithms among/,
      },
      {
        name: 'an external-auth field this worker does not know',
        access: { externalAuth: { url: 'http://auth.test/', mtls: true } },
        problem: /unknown field "mtls"/,
      },
      {
        name: 'a CORS origin that is a pattern, not an origin',
        access: {
          cors: { origins: ['https://.*\\.example\\.com'], methods: ['GET'], allowHeaders: ['DNT'], credentials: true, maxAge: 5 },
        },
        problem: /lower-case origins/,
      },
    ].map((c) => ({
      name: c.name,
      mutate: (t: Record<string, Loose>) => {
        t.schema = 3;
        t.hosts[0].routes[0].policies.access = c.access;
      },
      problem: c.problem,
    })),
    {
      name: 'path with dot segment',
      mutate: (t) => {
        t.hosts[0].routes[0].path = '/a/../b';
      },
      problem: /"\." or "\.\." segments/,
    },
    {
      name: 'policies missing',
      mutate: (t) => {
        delete t.hosts[0].routes[0].policies;
      },
      problem: /policies/,
    },
  ];
  it('accepts a sealed table', () => expect(validate(sealTable(content()))).toEqual([]));
  it.each(cases)('refuses: $name', ({ mutate, problem }) => {
    const t = sealed();
    mutate(t);
    const problems = validate(t);
    expect(problems.map((p) => p.message).join('\n')).toMatch(problem);
  });
  it('reports every problem, not only the first', () => {
    const t = sealed();
    t.hosts[0].routes[0].backend = 'x';
    t.backends[0].endpoints[0].port = 0;
    expect(validate(t).length).toBeGreaterThanOrEqual(2);
  });
  it('refuses things that are not tables', () => {
    for (const v of [null, 42, 'x', [], { schema: 1 }]) expect(validate(v).length).toBeGreaterThan(0);
  });
});

describe('matcher', () => {
  const m = compileMatcher(sealTable(content()));
  const cases: [name: string, host: string, path: string, backend: string | null, reason: string][] = [
    ['prefix matches the element itself', 'foo.com', '/aaa/bbb', 'bbb', 'route'],
    ['prefix matches below the element', 'foo.com', '/aaa/bbb/ccc', 'bbb', 'route'],
    ['prefix ignores a trailing slash in the request', 'foo.com', '/aaa/bbb/', 'bbb', 'route'],
    ['prefix does not match a partial element', 'foo.com', '/aaa/bbbxyz', 'aaa', 'route'],
    ['partial element falls back to a shorter prefix', 'foo.com', '/aaaccc', 'root', 'route'],
    ['exact beats prefix on the same path', 'foo.com', '/aaa', 'aaa-exact', 'route'],
    ['prefix /aaa still matches /aaa/', 'foo.com', '/aaa/', 'aaa', 'route'],
    ['exact with trailing slash is exact', 'foo.com', '/x/', 'x-slash', 'route'],
    ['exact does not match without the slash', 'foo.com', '/x', 'root', 'route'],
    ['exact is case-sensitive', 'foo.com', '/AAA', 'root', 'route'],
    ['root prefix matches everything', 'foo.com', '/zzz/y', 'root', 'route'],
    ['host is case-insensitive and the port is stripped', 'FOO.com:8080', '/aaa/bbb', 'bbb', 'route'],
    ['a trailing dot in the host is ignored', 'foo.com.', '/aaa/bbb', 'bbb', 'route'],
    ['wildcard matches one extra label', 'bar.foo.com', '/w/1', 'wild', 'route'],
    ['wildcard host falls back to its default backend', 'bar.foo.com', '/other', 'wild-fallback', 'host-fallback'],
    ['wildcard does not match two extra labels', 'baz.bar.foo.com', '/any', 'any', 'route'],
    ['wildcard does not match the bare domain', 'foo.com', '/w', 'root', 'route'],
    ['a label with a slash never matches a wildcard', 'a/b.foo.com', '/w', 'default', 'default-backend'],
    ['unknown host goes to the host-less rules', 'other.org', '/any/x', 'any', 'route'],
    ['unknown host and path goes to the default backend', 'other.org', '/nothing', 'default', 'default-backend'],
    ['dot segments are resolved before matching', 'foo.com', '/zzz/../aaa/bbb', 'bbb', 'route'],
    ['encoded unreserved characters are decoded before matching', 'foo.com', '/%61aa/bbb', 'bbb', 'route'],
  ];
  it.each(cases)('%s', (_name, host, path, backendId, reason) => {
    const r = m.match(host, path);
    expect(r.backend?.id ?? null).toBe(backendId);
    expect(r.reason).toBe(reason);
  });
  it('answers no-match when there is no default backend', () => {
    const c = content();
    c.defaultBackend = null;
    c.hosts = c.hosts.filter((h) => h.host !== '');
    const r = compileMatcher(sealTable(c)).match('nope.org', '/');
    expect(r).toMatchObject({ reason: 'no-match', backend: null });
  });
});

describe('normalisation', () => {
  it.each([
    ['/a/b', '/a/b'],
    ['/a/./b', '/a/b'],
    ['/a/../b', '/b'],
    ['/../../b', '/b'],
    ['/a/b/..', '/a/'],
    ['/a/.', '/a/'],
    ['/%7Euser', '/~user'],
    ['/a%2Fb', '/a%2Fb'],
    ['/a%2fb', '/a%2Fb'],
    ['/%2e%2e/x', '/x'],
  ])('path %s → %s', (raw, want) => expect(normalizePath(raw)).toBe(want));
  it.each([
    ['Foo.COM', 'foo.com'],
    ['foo.com:443', 'foo.com'],
    ['[::1]:8080', '[::1]'],
    ['foo.com.', 'foo.com'],
  ])('host %s → %s', (raw, want) => expect(normalizeHost(raw)).toBe(want));
});
