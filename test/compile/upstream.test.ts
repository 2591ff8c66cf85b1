// proxy-connect-timeout, proxy-read-timeout, proxy-send-timeout, proxy-body-size, proxy-next-upstream,
// proxy-next-upstream-tries, proxy-next-upstream-timeout → the route's timeouts, bodyLimit and retry (schema 5);
// proxy-buffering, proxy-request-buffering, proxy-http-version accepted without effect. Cases are named after
// ingress-nginx's test/e2e/annotations/proxy.go and clientbodybuffersize.go, its parser (annotations/proxy/main.go)
// and docs ("Custom timeouts", "Custom max body size"). A malformed value is a Warning; the route keeps working.
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

/** The route is served with exactly `filters` (besides sslRedirect), in a valid schema-`schema` table. */
const filters = (
  name: string,
  annotations: Record<string, string>,
  expected: Omit<RoutePolicies, 'sslRedirect'>,
  extra: Partial<Case> = {},
  schema = 5,
): Case => ({
  name,
  objects: objects(annotations),
  hosts: served,
  check: (r) => {
    const { sslRedirect: _s, ...rest } = policiesOf(r);
    expect(rest).toEqual(expected);
    expect(r.table.schema).toBe(schema);
    expect(validate(r.table)).toEqual([]);
  },
  ...extra,
});

const invalid = (key: string) => `annotation "${N}${key}" has value`;

function table(name: string, cases: Case[]): void {
  describe(name, () => {
    for (const c of cases) it(c.name, () => void runCase(c));
  });
}

table('timeouts (proxy.go)', [
  filters(
    'should set valid proxy timeouts: connect 50, send 20, read 20 seconds',
    { [`${N}proxy-connect-timeout`]: '50', [`${N}proxy-send-timeout`]: '20', [`${N}proxy-read-timeout`]: '20' },
    { timeouts: { connectMs: 50_000, sendMs: 20_000, readMs: 20_000 } },
  ),
  filters(
    'proxy-read-timeout alone: only readMs, the others take the gateway flags',
    { [`${N}proxy-read-timeout`]: '3' },
    { timeouts: { readMs: 3000 } },
  ),
  filters(
    'should not set invalid proxy timeouts: "50k", "20k", "20k" are warnings and the defaults apply',
    { [`${N}proxy-connect-timeout`]: '50k', [`${N}proxy-send-timeout`]: '20k', [`${N}proxy-read-timeout`]: '20k' },
    {},
    {
      diagnostics: [
        'InvalidAnnotation Ingress default/web',
        'InvalidAnnotation Ingress default/web',
        'InvalidAnnotation Ingress default/web',
      ],
      messages: [
        new RegExp(
          `${invalid('proxy-connect-timeout')} "50k"; expected a whole number of seconds .* so the gateway's --connect-timeout applies`,
        ),
        new RegExp(`${invalid('proxy-read-timeout')} "20k"; .* --read-timeout applies`),
        new RegExp(`${invalid('proxy-send-timeout')} "20k"; .* no send timeout applies`),
      ],
    },
    1,
  ),
  filters(
    'a zero or negative timeout is a warning (nginx would time out at once)',
    { [`${N}proxy-read-timeout`]: '0', [`${N}proxy-connect-timeout`]: '-5' },
    {},
    { diagnostics: ['InvalidAnnotation Ingress default/web', 'InvalidAnnotation Ingress default/web'] },
    1,
  ),
]);

table('body size (proxy.go, clientbodybuffersize.go, docs "Custom max body size")', [
  filters('should set proxy client-max-body-size to 8m', { [`${N}proxy-body-size`]: '8m' }, { bodyLimit: 8 * 1024 * 1024 }),
  filters('1g, upper-case units and bare bytes parse as nginx does', { [`${N}proxy-body-size`]: '1G' }, { bodyLimit: 1024 ** 3 }),
  filters('512k', { [`${N}proxy-body-size`]: '512k' }, { bodyLimit: 512 * 1024 }),
  filters('1000 bytes', { [`${N}proxy-body-size`]: '1000' }, { bodyLimit: 1000 }),
  filters('"0" disables the limit, as nginx reads it: nothing in the table, schema unchanged', { [`${N}proxy-body-size`]: '0' }, {}, {}, 1),
  filters(
    'should not set proxy client-max-body-size to incorrect value "15r": a warning, no limit',
    { [`${N}proxy-body-size`]: '15r' },
    {},
    {
      diagnostics: ['InvalidAnnotation Ingress default/web'],
      messages: [new RegExp(`${invalid('proxy-body-size')} "15r"; expected a size .* so no body limit applies`)],
    },
    1,
  ),
  filters(
    'a fraction is not nginx size syntax ("1.5m")',
    { [`${N}proxy-body-size`]: '1.5m' },
    {},
    { diagnostics: ['InvalidAnnotation Ingress default/web'] },
    1,
  ),
]);

table('next upstream (proxy.go)', [
  filters(
    'should build proxy next upstream: "error timeout http_502", timeout 10, tries 5',
    {
      [`${N}proxy-next-upstream`]: 'error timeout http_502',
      [`${N}proxy-next-upstream-timeout`]: '10',
      [`${N}proxy-next-upstream-tries`]: '5',
    },
    { retry: { on: ['error', 'http_502', 'timeout'], tries: 5, timeoutMs: 10_000 } },
  ),
  filters(
    "proxy-next-upstream alone: tries 3 and timeout 0, ingress-nginx's ConfigMap defaults",
    { [`${N}proxy-next-upstream`]: 'http_503 non_idempotent' },
    { retry: { on: ['http_503', 'non_idempotent'], tries: 3, timeoutMs: 0 } },
  ),
  filters(
    'proxy-next-upstream-tries "0" alone: unlimited tries on "error timeout"',
    { [`${N}proxy-next-upstream-tries`]: '0' },
    { retry: { on: ['error', 'timeout'], tries: 0, timeoutMs: 0 } },
  ),
  filters(
    '"off" disables every condition, even when others are listed',
    { [`${N}proxy-next-upstream`]: 'error off' },
    { retry: { on: [], tries: 3, timeoutMs: 0 } },
  ),
  filters(
    'repeats are dropped and the list sorted',
    { [`${N}proxy-next-upstream`]: 'timeout error timeout' },
    { retry: { on: ['error', 'timeout'], tries: 3, timeoutMs: 0 } },
  ),
  filters(
    'an unknown condition ("http_418") is a warning and nginx\'s default "error timeout" applies',
    { [`${N}proxy-next-upstream`]: 'error http_418' },
    {},
    {
      diagnostics: ['InvalidAnnotation Ingress default/web'],
      messages: [new RegExp(`${invalid('proxy-next-upstream')} "error http_418"; .* so "error timeout" applies`)],
    },
    1,
  ),
  filters(
    'a malformed tries value is a warning; the valid timeout still makes a policy with tries 3',
    { [`${N}proxy-next-upstream-tries`]: 'five', [`${N}proxy-next-upstream-timeout`]: '2' },
    { retry: { on: ['error', 'timeout'], tries: 3, timeoutMs: 2000 } },
    { diagnostics: ['InvalidAnnotation Ingress default/web'] },
  ),
]);

table('accepted without effect (proxy.go)', [
  filters('should turn on proxy-buffering: accepted, no diagnostic, nothing in the table', { [`${N}proxy-buffering`]: 'on' }, {}, {}, 1),
  filters('should turn off proxy-request-buffering: accepted', { [`${N}proxy-request-buffering`]: 'off' }, {}, {}, 1),
  filters('should change the default proxy HTTP version: "1.0" accepted', { [`${N}proxy-http-version`]: '1.0' }, {}, {}, 1),
  filters(
    'a malformed value is still a warning ("2.0", "maybe")',
    { [`${N}proxy-http-version`]: '2.0', [`${N}proxy-buffering`]: 'maybe' },
    {},
    {
      diagnostics: ['InvalidAnnotation Ingress default/web', 'InvalidAnnotation Ingress default/web'],
      messages: [
        /"nginx\.ingress\.kubernetes\.io\/proxy-http-version" has value "2\.0"; expected "1\.0" or "1\.1"; it has no effect either way/,
      ],
    },
    1,
  ),
]);

describe('the table', () => {
  it('a table without the annotations keeps schema 1 and its hash (old tables keep their bytes)', () => {
    const r = runCase({ name: 'plain', objects: objects({}), hosts: served });
    expect(r.table.schema).toBe(1);
    expect(Object.keys(policiesOf(r))).toEqual(['sslRedirect']);
  });
  const broken: [string, (p: Record<string, unknown>) => void, RegExp][] = [
    ['an unknown field inside timeouts', (p) => void (p.timeouts = { readMs: 1000, idleMs: 5 }), /timeouts\.idleMs.*not a field/],
    ['a zero timeout', (p) => void (p.timeouts = { readMs: 0 }), /readMs.*from 1/],
    ['an empty timeouts object', (p) => void (p.timeouts = {}), /names no timeout/],
    ['a negative body limit', (p) => void (p.bodyLimit = -1), /bodyLimit.*from 0/],
    [
      'an unknown retry condition',
      (p) => void (p.retry = { on: ['error', 'http_418'], tries: 3, timeoutMs: 0 }),
      /unknown condition "http_418"/,
    ],
    ['unsorted retry conditions', (p) => void (p.retry = { on: ['timeout', 'error'], tries: 3, timeoutMs: 0 }), /must be sorted/],
    [
      'an unknown field inside retry',
      (p) => void (p.retry = { on: [], tries: 3, timeoutMs: 0, backoff: 1 }),
      /retry\.backoff.*not a field/,
    ],
    ['fractional tries', (p) => void (p.retry = { on: [], tries: 1.5, timeoutMs: 0 }), /tries.*whole number/],
  ];
  for (const [name, mutate, problem] of broken) {
    it(`validate() refuses ${name}`, () => {
      const r = runCase(filters('base', { [`${N}proxy-read-timeout`]: '5' }, { timeouts: { readMs: 5000 } }));
      const t = structuredClone(r.table);
      mutate(t.hosts[0]!.routes[0]!.policies as unknown as Record<string, unknown>);
      const problems = validate(t, { checkHash: false });
      expect(problems.map((p) => `${p.at}: ${p.message}`).join('\n')).toMatch(problem);
    });
  }
  it('validate() refuses a schema-4 stamp on a table with a filter (a schema-4 worker would ignore it)', () => {
    const r = runCase(filters('base', { [`${N}proxy-body-size`]: '1k' }, { bodyLimit: 1024 }));
    const problems = validate({ ...r.table, schema: 4 }, { checkHash: false });
    expect(problems.map((p) => p.message).join('\n')).toMatch(/needs schema 5/);
  });
});
