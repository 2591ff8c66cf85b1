// limit-rps, limit-rpm, limit-burst-multiplier, limit-connections, limit-allowlist/limit-whitelist → the route's
// limit policy. Cases mirror ingress-nginx's parser tests (internal/ingress/annotations/ratelimit/main_test.go:
// TestRateLimiting, TestAnnotationCIDR), its annotation docs ("Rate Limiting": burst = limit ×
// limit-burst-multiplier, default 5) and test/e2e/annotations/limitconnections.go. A value that does not parse
// fails closed (503 + AccessControlNotEnforced).
import { describe, expect, it } from 'vitest';
import type { LimitPolicy } from '../../gateway/table/schema.ts';
import { validate } from '../../gateway/table/validate.ts';
import type { CompileResult } from '../../sync/compile/types.ts';
import { app, backend, cls, ingress, prefix, rule } from '../support/builders.ts';
import { runCase, type Case } from './cases.ts';

const CLS = cls();
const WEB = app('web');
const N = 'nginx.ingress.kubernetes.io/';
const limited = (annotations: Record<string, string>) => [
  CLS,
  ...WEB,
  ingress('web', { annotations, rules: [rule('foo.com', prefix('/', 'web'))] }),
];
const limitsOf = (r: CompileResult): LimitPolicy | undefined => r.table.hosts[0]!.routes[0]!.policies.access?.limits;
const open = { 'foo.com': { routes: ['Prefix "" -> default/web:80 [default/web]'] } };
const closed = (key: string) => ({ 'foo.com': { routes: [`Prefix "" -> default/web:80 [default/web] closed(${key})`] } });

function table(name: string, cases: Case[]): void {
  describe(name, () => {
    for (const c of cases) it(c.name, () => void runCase(c));
  });
}

/** A case whose route gets exactly `limits` (and is served). */
const enforced = (name: string, annotations: Record<string, string>, limits: LimitPolicy, extra: Partial<Case> = {}): Case => ({
  name,
  objects: limited(annotations),
  hosts: open,
  check: (r) => {
    expect(limitsOf(r)).toEqual(limits);
    expect(r.table.hosts[0]!.routes[0]!.policies.failClosed).toBeUndefined();
    expect(r.table.schema).toBe(3);
  },
  ...extra,
});

table('values and defaults', [
  enforced(
    'limit-rps "5": burst 25, the default multiplier 5 (docs "Rate Limiting")',
    { [`${N}limit-rps`]: '5' },
    { rps: { rate: 5, burst: 25 } },
  ),
  enforced('limit-rpm "300": burst 1500 (docs "Rate Limiting")', { [`${N}limit-rpm`]: '300' }, { rpm: { rate: 300, burst: 1500 } }),
  enforced('limit-connections "8" (limitconnections.go)', { [`${N}limit-connections`]: '8' }, { connections: 8 }),
  enforced(
    'all three (main_test.go TestRateLimiting: connections 5, rps 100 burst 500, rpm 10 burst 50)',
    { [`${N}limit-connections`]: '5', [`${N}limit-rps`]: '100', [`${N}limit-rpm`]: '10' },
    { connections: 5, rps: { rate: 100, burst: 500 }, rpm: { rate: 10, burst: 50 } },
  ),
  enforced(
    'limit-burst-multiplier "3" (main_test.go TestRateLimiting: rps 100 burst 300, rpm 10 burst 30)',
    { [`${N}limit-rps`]: '100', [`${N}limit-rpm`]: '10', [`${N}limit-burst-multiplier`]: '3' },
    { rps: { rate: 100, burst: 300 }, rpm: { rate: 10, burst: 30 } },
  ),
  enforced(
    'limit-burst-multiplier "0": no burst (nginx burst=0)',
    { [`${N}limit-rps`]: '2', [`${N}limit-burst-multiplier`]: '0' },
    { rps: { rate: 2, burst: 0 } },
  ),
  enforced('surrounding spaces are read past', { [`${N}limit-rps`]: ' 7 ' }, { rps: { rate: 7, burst: 35 } }),
  enforced(
    'limit-allowlist "192.168.0.5, 192.168.50.32/24" (main_test.go TestAnnotationCIDR)',
    { [`${N}limit-connections`]: '5', [`${N}limit-allowlist`]: '192.168.0.5, 192.168.50.32/24' },
    { connections: 5, exempt: ['192.168.0.5', '192.168.50.32/24'] },
  ),
  enforced(
    'limit-whitelist, the older name, means the same (main_test.go TestAnnotationCIDR)',
    { [`${N}limit-connections`]: '5', [`${N}limit-whitelist`]: '192.168.0.5, 192.168.50.32/24, 10.10.10.1' },
    { connections: 5, exempt: ['192.168.0.5', '192.168.50.32/24', '10.10.10.1'] },
  ),
  enforced(
    'limit-allowlist wins over limit-whitelist, which is reported as ignored (main_test.go "Parent annotation surpasses any alias")',
    { [`${N}limit-connections`]: '5', [`${N}limit-whitelist`]: '192.168.0.5, 10.10.10.1', [`${N}limit-allowlist`]: '192.168.0.9' },
    { connections: 5, exempt: ['192.168.0.9'] },
    {
      diagnostics: ['UnsupportedAnnotation Ingress default/web'],
      messages: [
        /"nginx\.ingress\.kubernetes\.io\/limit-whitelist" is ignored: "nginx\.ingress\.kubernetes\.io\/limit-allowlist" is also set/,
      ],
    },
  ),
  enforced(
    'limits beside source ranges: one access policy with both',
    { [`${N}limit-rps`]: '1', [`${N}allowlist-source-range`]: '10.0.0.0/8' },
    { rps: { rate: 1, burst: 5 } },
    { hosts: { 'foo.com': { routes: ['Prefix "" -> default/web:80 [default/web] allow=[10.0.0.0/8]'] } } },
  ),
]);

table('annotations with nothing to limit (a note, not a failure)', [
  {
    name: 'limit-whitelist without a limit: no effect, the route is served (ingress-nginx sets no limit either)',
    objects: limited({ [`${N}limit-whitelist`]: '10.0.0.0/8' }),
    hosts: open,
    diagnostics: ['UnsupportedAnnotation Ingress default/web'],
    messages: [/"nginx\.ingress\.kubernetes\.io\/limit-whitelist" has no effect without a limit/],
    check: (r) => expect(r.table.hosts[0]!.routes[0]!.policies.access).toBeUndefined(),
  },
  {
    name: 'limit-burst-multiplier without limit-rps or limit-rpm: no effect',
    objects: limited({ [`${N}limit-burst-multiplier`]: '3' }),
    hosts: open,
    diagnostics: ['UnsupportedAnnotation Ingress default/web'],
    messages: [/"nginx\.ingress\.kubernetes\.io\/limit-burst-multiplier" has no effect without limit-rps or limit-rpm/],
  },
  {
    name: 'limit-burst-multiplier beside limit-connections alone: no effect (limit_conn has no burst)',
    objects: limited({ [`${N}limit-connections`]: '3', [`${N}limit-burst-multiplier`]: '3' }),
    hosts: open,
    diagnostics: ['UnsupportedAnnotation Ingress default/web'],
    check: (r) => expect(limitsOf(r)).toEqual({ connections: 3 }),
  },
]);

/** A malformed value closes the routes, whatever else is set. */
const malformed = (name: string, annotations: Record<string, string>, key: string, message: RegExp): Case => ({
  name: `${name} → 503 route + AccessControlNotEnforced`,
  objects: limited(annotations),
  hosts: closed(key),
  diagnostics: ['AccessControlNotEnforced Ingress default/web'],
  messages: [message, /the routes of this Ingress answer 503 \(fail closed\)/],
});

table('values that do not parse fail closed', [
  ...[
    ['limit-rps', 'lots'],
    ['limit-rps', '1.5'],
    ['limit-rps', '-3'],
    ['limit-rps', '0'],
    ['limit-rps', ''],
    ['limit-rps', '1000001'],
    ['limit-rpm', '-3'],
    ['limit-rpm', '0'],
    ['limit-rpm', '5r/m'],
    ['limit-connections', '1.5'],
    ['limit-connections', '0'],
    ['limit-connections', '+5'],
  ].map(([name, v]) =>
    malformed(`${name}: ${JSON.stringify(v)}`, { [N + name!]: v! }, name!, /it is not a whole number from 1 to 1000000/),
  ),
  ...['x', '-1', '2.5', '1001'].map((v) =>
    malformed(
      `limit-burst-multiplier: ${JSON.stringify(v)} beside limit-rps "5" (ingress-nginx would read 5)`,
      { [`${N}limit-rps`]: '5', [`${N}limit-burst-multiplier`]: v },
      'limit-burst-multiplier',
      /it is not a whole number from 0 to 1000/,
    ),
  ),
  malformed(
    'limit-burst-multiplier "x" without any limit (it has nothing to apply to, but a malformed guard is never read as none)',
    { [`${N}limit-burst-multiplier`]: 'x' },
    'limit-burst-multiplier',
    /it is not a whole number/,
  ),
  ...[
    ['limit-allowlist', 'everyone', /"everyone" is not a CIDR or an IP address/],
    ['limit-allowlist', '10.0.0.0/8, 10.0.0.0/33', /"10\.0\.0\.0\/33" is not a CIDR/],
    ['limit-whitelist', '010.0.0.1', /"010\.0\.0\.1" is not a CIDR/],
    ['limit-whitelist', ' , ', /it names no address or range/],
  ].map(([name, v, message]) =>
    malformed(
      `${name as string}: ${JSON.stringify(v)} beside limit-connections "5"`,
      { [`${N}limit-connections`]: '5', [N + (name as string)]: v as string },
      name as string,
      message as RegExp,
    ),
  ),
  {
    name: 'a malformed limit beside a good one closes the route (limit-rps "5", limit-rpm "many")',
    objects: limited({ [`${N}limit-rps`]: '5', [`${N}limit-rpm`]: 'many' }),
    hosts: closed('limit-rpm'),
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
  },
]);

table('what the limits cover', [
  {
    name: "the Ingress's spec.defaultBackend is not limited, so what it serves fails closed",
    objects: [
      CLS,
      ...WEB,
      ingress('web', {
        annotations: { [`${N}limit-rps`]: '5', [`${N}limit-burst-multiplier`]: '2' },
        defaultBackend: backend('web'),
        rules: [rule('foo.com', prefix('/app', 'web'))],
      }),
    ],
    // The closed default backend is said once, on its Ingress.
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
    hosts: {
      'foo.com': {
        fallback: 'default/web:80 closed(limit-burst-multiplier, limit-rps)',
        routes: ['Prefix "/app" -> default/web:80 [default/web]'],
      },
    },
    check: (r) => {
      expect(limitsOf(r)).toEqual({ rps: { rate: 5, burst: 10 } });
      expect(r.table.defaultBackendFailClosed).toEqual([`${N}limit-burst-multiplier`, `${N}limit-rps`]);
    },
  },
  {
    name: 'global-rate-limit beside a local limit: both apply',
    objects: limited({ [`${N}limit-rps`]: '5', [`${N}global-rate-limit`]: '100', [`${N}global-rate-limit-window`]: '1m' }),
    hosts: open,
    check: (r) => {
      expect(limitsOf(r)).toEqual({ rps: { rate: 5, burst: 25 } });
      expect(r.table.hosts[0]!.routes[0]!.policies.access?.globalRateLimit).toEqual({ limit: 100, windowSeconds: 60, key: '$remote_addr' });
    },
  },
  {
    name: 'portico.dev/limit-rps (the wrong prefix) still closes the route',
    objects: limited({ 'portico.dev/limit-rps': '5' }),
    hosts: closed('portico.dev/limit-rps'),
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
  },
  {
    name: 'limit-rate and limit-rate-after shape bandwidth: unsupported, not limits (unchanged)',
    objects: limited({ [`${N}limit-rps`]: '5', [`${N}limit-rate`]: '100', [`${N}limit-rate-after`]: '10' }),
    hosts: open,
    diagnostics: ['UnsupportedAnnotation Ingress default/web', 'UnsupportedAnnotation Ingress default/web'],
    check: (r) => expect(limitsOf(r)).toEqual({ rps: { rate: 5, burst: 25 } }),
  },
]);

describe('validate() of a limit policy', () => {
  const base = runCase({ name: 'base', objects: limited({ [`${N}limit-rps`]: '5' }), hosts: open });
  const withLimits = (limits: unknown): string[] => {
    const t = structuredClone(base.table);
    (t.hosts[0]!.routes[0]!.policies.access as { limits: unknown }).limits = limits;
    return validate(t, { checkHash: false }).map((p) => `${p.at}: ${p.message}`);
  };
  const cases: [string, unknown, RegExp | null][] = [
    ['the compiled policy', { rps: { rate: 5, burst: 25 } }, null],
    ['every field', { rps: { rate: 1, burst: 0 }, rpm: { rate: 60, burst: 300 }, connections: 2, exempt: ['10.0.0.0/8', '::1'] }, null],
    ['no limit at all', { exempt: ['10.0.0.0/8'] }, /limits: names no limit/],
    ['a rate of 0', { rps: { rate: 0, burst: 0 } }, /limits\.rps\.rate: must be a whole number from 1/],
    ['a fractional burst', { rpm: { rate: 1, burst: 0.5 } }, /limits\.rpm\.burst: must be a whole number from 0/],
    ['a negative connection count', { connections: -1 }, /limits\.connections: must be a whole number from 1/],
    ['a string for a number', { connections: '5' }, /limits\.connections/],
    ['a bad CIDR', { connections: 5, exempt: ['10.0.0.0/99'] }, /limits\.exempt\[0\]: "10\.0\.0\.0\/99" is not a CIDR/],
    ['an empty exempt list', { connections: 5, exempt: [] }, /limits\.exempt: must be a list of 1 to 256 CIDRs/],
    ['not an object', 5, /limits: must be an object/],
  ];
  for (const [name, limits, problem] of cases) {
    it(`${name}: ${problem === null ? 'accepted' : 'refused'}`, () => {
      const problems = withLimits(limits);
      if (problem === null) expect(problems).toEqual([]);
      else expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
    });
  }
});
