// global-rate-limit, -window, -key and -ignored-cidrs → the route's global rate limit policy. Cases from
// ingress-nginx's parser (internal/ingress/annotations/globalratelimit/main.go) and its e2e test
// (test/e2e/annotations/globalratelimit.go: limit 5, window 2m → window_size 120; key
// `${remote_addr}${http_x_api_client}`; ignored_cidrs "192.168.1.1, 234.234.234.0/24"). A value that does not
// parse, and what ingress-nginx silently reads as "no limit", fails closed (503 + AccessControlNotEnforced).
import { describe, expect, it } from 'vitest';
import { sealTable } from '../../gateway/table/canonical.ts';
import type { GlobalRateLimitPolicy } from '../../gateway/table/schema.ts';
import { validate } from '../../gateway/table/validate.ts';
import { goDurationSeconds } from '../../sync/compile/global-rate-limit-annotations.ts';
import type { CompileResult } from '../../sync/compile/types.ts';
import { app, cls, ingress, prefix, rule } from '../support/builders.ts';
import { runCase, type Case } from './cases.ts';

const N = 'nginx.ingress.kubernetes.io/';
const G = `${N}global-rate-limit`;
/** globalratelimit.go's key: nginx variables in `${}` form (not a template string). */
const TWO_VARIABLES = ['$', '{remote_addr}$', '{http_x_api_client}'].join('');
const limited = (annotations: Record<string, string>) => [
  cls(),
  ...app('web'),
  ingress('web', { annotations, rules: [rule('foo.com', prefix('/', 'web'))] }),
];
const policyOf = (r: CompileResult): GlobalRateLimitPolicy | undefined => r.table.hosts[0]!.routes[0]!.policies.access?.globalRateLimit;
const open = { 'foo.com': { routes: ['Prefix "" -> default/web:80 [default/web]'] } };
const closed = (...keys: string[]) => ({ 'foo.com': { routes: [`Prefix "" -> default/web:80 [default/web] closed(${keys.join(', ')})`] } });

function table(name: string, cases: Case[]): void {
  describe(name, () => {
    for (const c of cases) it(c.name, () => void runCase(c));
  });
}

const enforced = (name: string, annotations: Record<string, string>, policy: GlobalRateLimitPolicy, extra: Partial<Case> = {}): Case => ({
  name,
  objects: limited(annotations),
  hosts: open,
  check: (r) => {
    expect(policyOf(r)).toEqual(policy);
    expect(r.table.hosts[0]!.routes[0]!.policies.failClosed).toBeUndefined();
    expect(r.table.schema).toBe(4);
  },
  ...extra,
});

/** A case whose route answers 503 because of `keys`, with one AccessControlNotEnforced per key. */
const failsClosed = (name: string, annotations: Record<string, string>, keys: string[], message: RegExp): Case => ({
  name,
  objects: limited(annotations),
  hosts: closed(...keys),
  diagnostics: keys.map(() => 'AccessControlNotEnforced Ingress default/web'),
  messages: [message],
  check: (r) => expect(policyOf(r)).toBeUndefined(),
});

table('values and defaults', [
  enforced(
    'globalratelimit.go: limit 5, window 2m → 120 s, key $remote_addr',
    { [G]: '5', [`${G}-window`]: '2m' },
    {
      limit: 5,
      windowSeconds: 120,
      key: '$remote_addr',
    },
  ),
  enforced(
    'globalratelimit.go after the update: a key of two variables and ignored CIDRs',
    {
      [G]: '5',
      [`${G}-window`]: '2m',
      [`${G}-key`]: TWO_VARIABLES,
      [`${G}-ignored-cidrs`]: '192.168.1.1, 234.234.234.0/24',
    },
    { limit: 5, windowSeconds: 120, key: TWO_VARIABLES, ignored: ['192.168.1.1', '234.234.234.0/24'] },
  ),
  enforced(
    'an empty key is the default $remote_addr (main.go defaultKey)',
    { [G]: '10', [`${G}-window`]: '1s', [`${G}-key`]: '' },
    {
      limit: 10,
      windowSeconds: 1,
      key: '$remote_addr',
    },
  ),
  enforced(
    'a window of 1h30m: 5400 s (int(d.Seconds()))',
    { [G]: '1', [`${G}-window`]: '1h30m' },
    {
      limit: 1,
      windowSeconds: 5400,
      key: '$remote_addr',
    },
  ),
  enforced(
    'text around variables is kept: per user per API',
    { [G]: '100', [`${G}-window`]: '1m', [`${G}-key`]: 'api:$http_x_user' },
    {
      limit: 100,
      windowSeconds: 60,
      key: 'api:$http_x_user',
    },
  ),
]);

table('malformed values fail closed', [
  failsClosed('a limit that is not a number', { [G]: 'many', [`${G}-window`]: '1m' }, ['global-rate-limit'], /not a whole number from 1/),
  failsClosed(
    'a limit of 0 (ingress-nginx: no limit at all)',
    { [G]: '0', [`${G}-window`]: '1m' },
    ['global-rate-limit'],
    /not a whole number from 1/,
  ),
  failsClosed('a negative limit', { [G]: '-5', [`${G}-window`]: '1m' }, ['global-rate-limit'], /not a whole number/),
  failsClosed(
    'a limit without a window (ingress-nginx: no limit at all)',
    { [G]: '5' },
    ['global-rate-limit'],
    /needs global-rate-limit-window/,
  ),
  failsClosed(
    'a window that is not a Go duration',
    { [G]: '5', [`${G}-window`]: '2 minutes' },
    ['global-rate-limit-window'],
    /Go duration/,
  ),
  failsClosed('a window without a unit', { [G]: '5', [`${G}-window`]: '60' }, ['global-rate-limit-window'], /Go duration/),
  failsClosed(
    'a window under a second (ingress-nginx: window_size 0, disabled)',
    { [G]: '5', [`${G}-window`]: '500ms' },
    ['global-rate-limit-window'],
    /not from 1s to 24h/,
  ),
  failsClosed('a window over a day', { [G]: '5', [`${G}-window`]: '25h' }, ['global-rate-limit-window'], /not from 1s to 24h/),
  failsClosed(
    'a key with a variable Portico does not have',
    { [G]: '5', [`${G}-window`]: '1m', [`${G}-key`]: '$binary_remote_addr' },
    ['global-rate-limit-key'],
    /\$binary_remote_addr, which Portico does not have/,
  ),
  failsClosed(
    'an ignored-cidrs entry that does not parse',
    { [G]: '5', [`${G}-window`]: '1m', [`${G}-ignored-cidrs`]: '10.0.0.0/8, nope' },
    ['global-rate-limit-ignored-cidrs'],
    /"nope" is not a CIDR/,
  ),
  failsClosed(
    'two malformed values: one diagnostic each',
    { [G]: 'x', [`${G}-window`]: 'y' },
    ['global-rate-limit', 'global-rate-limit-window'],
    /global-rate-limit-window/,
  ),
  {
    name: 'the portico.dev/ spelling is a guard Portico does not read: 503',
    objects: limited({ 'portico.dev/global-rate-limit': '5' }),
    hosts: { 'foo.com': { routes: ['Prefix "" -> default/web:80 [default/web] closed(portico.dev/global-rate-limit)'] } },
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
  },
]);

table('companions without a limit change nothing (as in ingress-nginx)', [
  {
    name: 'window, key and ignored-cidrs alone: open, each reported',
    objects: limited({ [`${G}-window`]: '1m', [`${G}-key`]: '$remote_addr', [`${G}-ignored-cidrs`]: '10.0.0.0/8' }),
    hosts: open,
    diagnostics: [
      'UnsupportedAnnotation Ingress default/web',
      'UnsupportedAnnotation Ingress default/web',
      'UnsupportedAnnotation Ingress default/web',
    ],
    messages: [/global-rate-limit-window" has no effect without global-rate-limit/],
    check: (r) => {
      expect(policyOf(r)).toBeUndefined();
      expect(r.table.schema).toBe(1);
    },
  },
]);

describe('goDurationSeconds (Go time.ParseDuration, truncated to seconds)', () => {
  const cases: [string, number | null][] = [
    ['1m', 60],
    ['2m', 120],
    ['1h30m', 5400],
    ['1.5m', 90],
    ['1.9s', 1],
    ['1500ms', 1],
    ['0', 0],
    ['.5h', 1800],
    ['1d', null],
    ['m', null],
    ['', null],
    ['60', null],
    ['1 m', null],
  ];
  for (const [text, seconds] of cases) it(`${JSON.stringify(text)} → ${seconds}`, () => expect(goDurationSeconds(text)).toBe(seconds));
});

describe('the table: schema 4 and validate()', () => {
  const base = runCase(enforced('base', { [G]: '5', [`${G}-window`]: '1m' }, { limit: 5, windowSeconds: 60, key: '$remote_addr' }));
  const withPolicy = (policy: unknown): string[] => {
    const t = structuredClone(base.table);
    (t.hosts[0]!.routes[0]!.policies.access as { globalRateLimit: unknown }).globalRateLimit = policy;
    return validate(t, { checkHash: false }).map((p) => `${p.at}: ${p.message}`);
  };
  const cases: [string, unknown, RegExp | null][] = [
    ['the compiled policy', { limit: 5, windowSeconds: 60, key: '$remote_addr' }, null],
    ['every field', { limit: 1, windowSeconds: 86_400, key: 'k$http_x', ignored: ['10.0.0.0/8', '::1'] }, null],
    ['a limit of 0', { limit: 0, windowSeconds: 60, key: '$remote_addr' }, /globalRateLimit\.limit: must be a whole number from 1/],
    ['a fractional window', { limit: 5, windowSeconds: 0.5, key: '$remote_addr' }, /globalRateLimit\.windowSeconds/],
    ['an unknown variable in the key', { limit: 5, windowSeconds: 60, key: '$nope' }, /globalRateLimit\.key: it uses \$nope/],
    ['an empty key', { limit: 5, windowSeconds: 60, key: '' }, /globalRateLimit\.key/],
    ['a bad CIDR', { limit: 5, windowSeconds: 60, key: '$remote_addr', ignored: ['x'] }, /globalRateLimit\.ignored\[0\]/],
    [
      'an unknown field (a rule this worker would not apply)',
      { limit: 5, windowSeconds: 60, key: '$remote_addr', burst: 3 },
      /unknown field "burst"/,
    ],
    ['not an object', 5, /globalRateLimit: must be an object/],
  ];
  for (const [name, policy, problem] of cases) {
    it(`${name}: ${problem === null ? 'accepted' : 'refused'}`, () => {
      const problems = withPolicy(policy);
      if (problem === null) expect(problems).toEqual([]);
      else expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
    });
  }
  it('a table stamped schema 3 that carries a global rate limit is refused (an older worker would ignore it)', () => {
    const t = { ...structuredClone(base.table), schema: 3 as const };
    expect(validate(t, { checkHash: false }).map((p) => p.message)).toEqual(expect.arrayContaining([expect.stringMatching(/schema/)]));
  });
  it('without a global rate limit the same access policy stays schema 3', () => {
    const { schema: _s, version: _v, ...content } = structuredClone(base.table);
    delete content.hosts[0]!.routes[0]!.policies.access!.globalRateLimit;
    content.hosts[0]!.routes[0]!.policies.access!.limits = { connections: 1 };
    expect(sealTable(content).schema).toBe(3);
  });
});
