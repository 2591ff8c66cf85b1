// canary-by-header-pattern's matcher (gateway/table/header-pattern.ts): the same answers as a regular expression
// for every pattern of the subset, refusals for what is outside it, and validate()'s checks of policies.canary.
import { describe, expect, it } from 'vitest';
import { sealTable } from '../../gateway/table/canonical.ts';
import { compileHeaderPattern, headerPatternProblem } from '../../gateway/table/header-pattern.ts';
import type { CanaryPolicy, RoutingTable } from '../../gateway/table/schema.ts';
import { validate } from '../../gateway/table/validate.ts';

describe('header patterns: the same answer as PCRE/JavaScript for the subset', () => {
  const cases: [string, string, boolean][] = [
    ['^Do[A-Z][a-z]+y$', 'DoCanary', true],
    ['^Do[A-Z][a-z]+y$', 'always', false],
    ['^Do[A-Z][a-z]+y$', 'xDoCanary', false],
    ['Canary', 'isCanaryx', true],
    ['beta|rc[0-9]+', 'v2-rc12', true],
    ['^(ab)+$', 'ababab', true],
    ['^(?:ab)+$', 'ababa', false],
    ['^a{2,3}$', 'aaa', true],
    ['^a{2,3}$', 'aaaa', false],
    ['^a{2,}$', 'aaaaa', true],
    ['^a{2}$', 'aa', true],
    ['x*', '', true],
    ['^$', '', true],
    ['^$', 'a', false],
    ['[^0-9]', '123', false],
    ['[^0-9]', '12a', true],
    ['\\d+\\.\\d+', 'v1.2', true],
    ['^\\w+\\s\\S$', 'ab c', true],
    ['[-a]', '-', true],
    ['[a\\-z]', 'b', false],
    ['a.c', 'a\nc', false],
    ['^a+?b', 'aab', true],
    ['a{', 'a{', true],
  ];
  for (const [pattern, value, want] of cases)
    it(`${pattern} on ${JSON.stringify(value)} → ${want}`, () => {
      expect(compileHeaderPattern(pattern).test(value)).toBe(want);
      expect(new RegExp(pattern).test(value)).toBe(want);
    });

  it('a pattern that makes a backtracking engine take exponential time answers (no match) on a long value', () => {
    expect(compileHeaderPattern('(a+)+b').test(`${'a'.repeat(4096)}c`)).toBe(false);
    expect(compileHeaderPattern('(a|aa)*$').test(`${'a'.repeat(4096)}`)).toBe(true);
  });
});

describe('header patterns outside the subset are refused, saying why', () => {
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['(a', /unclosed group/],
    ['a)', /unexpected "\)"/],
    ['(a)\\1', /escape \\1/],
    ['(?=a)', /group other than/],
    ['(?i)a', /group other than/],
    ['(?<n>a)', /group other than/],
    ['a++', /possessive/],
    ['*a', /nothing to repeat/],
    ['a**', /quantifier after a quantifier/],
    ['a{101}', /count above 100/],
    ['a{3,2}', /out of order/],
    ['\\bword', /escape \\b/],
    ['\\p{L}', /escape \\p/],
    ['[z-a]', /range out of order/],
    ['[[:alpha:]]', /POSIX class/],
    ['^*', /nothing to repeat|anchor/],
    ['(((a{100}){100}){100})', /more than 4000 steps/],
    ['a'.repeat(257), /longer than 256/],
  ];
  for (const [pattern, why] of cases)
    it(`${JSON.stringify(pattern.slice(0, 40))}: ${why.source}`, () => expect(headerPatternProblem(pattern)).toMatch(why));
});

describe('validate(): policies.canary', () => {
  const base = (canary: unknown): RoutingTable =>
    sealTable({
      hosts: [
        {
          host: 'foo',
          tls: null,
          fallbackBackend: null,
          routes: [
            {
              path: '',
              pathType: 'Prefix',
              backend: 'default/main:80',
              source: { namespace: 'default', name: 'foo' },
              policies: { sslRedirect: false, canary: canary as CanaryPolicy },
            },
          ],
        },
      ],
      defaultBackend: null,
      backends: ['main', 'canary'].map((n) => ({
        id: `default/${n}:80`,
        service: { namespace: 'default', name: n, port: 80 },
        endpoints: [],
        notReady: 0,
      })),
      certificates: [],
    });
  const ok: CanaryPolicy = {
    backend: 'default/canary:80',
    header: 'x-canary',
    headerPattern: '^v2',
    cookie: 'canary',
    weight: 10,
    weightTotal: 100,
  };
  it('a valid canary passes and makes the table schema 5', () => {
    expect(validate(base(ok))).toEqual([]);
    expect(base(ok).schema).toBe(5);
  });
  const cases: [string, unknown, RegExp][] = [
    ['an unknown field', { ...ok, query: 'x' }, /canary\.query: unknown field/],
    ['an unknown backend', { ...ok, backend: 'default/nope:80' }, /unknown backend/],
    ['an upper-case header name', { ...ok, header: 'X-Canary' }, /lower-case header name/],
    ['a value without header', { backend: 'default/canary:80', headerValue: 'x', weight: 0, weightTotal: 100 }, /needs header/],
    ['value and pattern together', { ...ok, headerValue: 'x' }, /not used with headerValue/],
    ['a pattern outside the subset', { ...ok, headerPattern: '(?=x)' }, /outside the supported pattern subset/],
    ['a control character in a value', { ...ok, headerPattern: undefined, headerValue: 'a\nb' }, /visible ASCII/],
    ['weight above the total', { ...ok, weight: 101 }, /weight: must be a whole number from 0 to weightTotal/],
    ['total under 100', { ...ok, weightTotal: 50, weight: 1 }, /weightTotal: must be a whole number from 100/],
    ['a fractional weight', { ...ok, weight: 1.5 }, /weight/],
    ['not an object', 'canary', /must be an object/],
  ];
  for (const [name, canary, problem] of cases)
    it(`refuses ${name}`, () =>
      expect(
        validate(base(canary))
          .map((p) => `${p.at}: ${p.message}`)
          .join('\n'),
      ).toMatch(problem));
});
