// backend-protocol → the route's backendProtocol (schema 5), or a fail-closed route. Cases are named after
// ingress-nginx's test/e2e/annotations/backendprotocol.go and its parser (annotations/backendprotocol/main.go:
// trimmed, upper-cased, an unknown value is HTTP). proxy-ssl-* are in proxy-ssl.test.ts.
import { describe, expect, it } from 'vitest';
import type { RoutePolicies } from '../../gateway/table/schema.ts';
import { validate } from '../../gateway/table/validate.ts';
import type { CompileResult } from '../../sync/compile/types.ts';
import { app, cls, ingress, prefix, rule } from '../support/builders.ts';
import { runCase, type Case } from './cases.ts';

const N = 'nginx.ingress.kubernetes.io/';
const objects = (annotations: Record<string, string>) => [
  cls(),
  ...app('web'),
  ingress('web', { annotations, rules: [rule('foo.com', prefix('/', 'web'))] }),
];
const policiesOf = (r: CompileResult): RoutePolicies => r.table.hosts[0]!.routes[0]!.policies;
const served = { 'foo.com': { routes: ['Prefix "" -> default/web:80 [default/web]'] } };
const closed = (key: string) => ({ 'foo.com': { routes: [`Prefix "" -> default/web:80 [default/web] closed(${key})`] } });

/** The route is served with exactly `expected` (besides sslRedirect), in a valid table of `schema`. */
const policies = (
  name: string,
  annotations: Record<string, string>,
  expected: Omit<RoutePolicies, 'sslRedirect'>,
  extra: Partial<Case> = {},
  schema = 5,
): Case => ({
  name,
  objects: objects(annotations),
  check: (r) => {
    const { sslRedirect: _s, ...rest } = policiesOf(r);
    expect(rest).toEqual(expected);
    expect(r.table.schema).toBe(schema);
    expect(validate(r.table)).toEqual([]);
  },
  hosts: served,
  ...extra,
});

const BP = `${N}backend-protocol`;

describe('backend-protocol (backendprotocol.go)', () => {
  const cases: Case[] = [
    policies('should set backend protocol to https://', { [BP]: 'HTTPS' }, { backendProtocol: 'HTTPS' }),
    policies('should set backend protocol to grpc://', { [BP]: 'GRPC' }, { backendProtocol: 'GRPC' }),
    policies('should set backend protocol to grpcs://', { [BP]: 'GRPCS' }, { backendProtocol: 'GRPCS' }),
    policies('H2C (Portico): HTTP/2 cleartext', { [BP]: 'H2C' }, { backendProtocol: 'H2C' }),
    policies(
      'the value is trimmed and case-insensitive, as ingress-nginx upper-cases it',
      { [BP]: ' grpcs ' },
      { backendProtocol: 'GRPCS' },
    ),
    policies('HTTP: the default, nothing in the table (schema 1)', { [BP]: 'HTTP' }, {}, {}, 1),
    policies('AUTO_HTTP: plain HTTP to the upstream', { [BP]: 'AUTO_HTTP' }, {}, {}, 1),
    policies(
      'an unknown value is a warning and HTTP applies',
      { [BP]: 'SPDY' },
      {},
      {
        diagnostics: ['InvalidAnnotation Ingress default/web'],
        messages: [/"SPDY"; expected HTTP, HTTPS, GRPC, GRPCS or H2C .*so HTTP applies/],
      },
      1,
    ),
    {
      name: "should set backend protocol to '' and use ajp_pass: not spoken, the route answers 503",
      objects: objects({ [BP]: 'AJP' }),
      hosts: closed('backend-protocol'),
      diagnostics: ['UnsupportedAnnotation Ingress default/web'],
      messages: [/does not speak AJP to upstreams, so the routes of this Ingress answer 503/],
    },
    {
      name: "should set backend protocol to '' and use fastcgi_pass: not spoken, the route answers 503",
      objects: objects({ [BP]: 'fcgi' }),
      hosts: closed('backend-protocol'),
      diagnostics: ['UnsupportedAnnotation Ingress default/web'],
      messages: [/does not speak FCGI/],
    },
  ];
  for (const c of cases) it(c.name, () => void runCase(c));
});

describe('validate() and backendProtocol', () => {
  const broken: [string, unknown, RegExp][] = [
    ['HTTP spelled out (its absence is HTTP)', 'HTTP', /backendProtocol: must be one of HTTPS, GRPC, GRPCS, H2C/],
    ['a lower-case value (the compiler upper-cases)', 'grpc', /backendProtocol: must be one of/],
    ['AJP (never spoken)', 'AJP', /backendProtocol: must be one of/],
    ['a non-string', 1, /backendProtocol: must be one of/],
  ];
  for (const [name, value, problem] of broken) {
    it(`refuses ${name}`, () => {
      const t = structuredClone(runCase(policies('base', { [BP]: 'HTTPS' }, { backendProtocol: 'HTTPS' })).table);
      (t.hosts[0]!.routes[0]!.policies as unknown as Record<string, unknown>).backendProtocol = value;
      expect(
        validate(t, { checkHash: false })
          .map((p) => `${p.at}: ${p.message}`)
          .join('\n'),
      ).toMatch(problem);
    });
  }
  it('refuses a schema-4 stamp on a table with a backend protocol (a schema-4 worker would speak HTTP/1.1 in cleartext)', () => {
    const r = runCase(policies('base', { [BP]: 'GRPC' }, { backendProtocol: 'GRPC' }));
    expect(
      validate({ ...r.table, schema: 4 }, { checkHash: false })
        .map((p) => p.message)
        .join('\n'),
    ).toMatch(/needs schema 5/);
  });
});
