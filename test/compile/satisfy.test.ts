// satisfy → AccessPolicy.satisfy: kept only when there is something to choose between (an authentication and
// either ranges or another authentication); ingress-nginx's parser (internal/ingress/annotations/satisfy)
// accepts "any" and "all".
import { describe, expect, it } from 'vitest';
import { app, cls, ingress, prefix, rule } from '../support/builders.ts';
import { runCase, type Case } from './cases.ts';

const CLS = cls();
const N = 'nginx.ingress.kubernetes.io/';
const with_ = (annotations: Record<string, string>) => [
  CLS,
  ...app('web'),
  ingress('web', { annotations, rules: [rule('foo.com', prefix('/', 'web'))] }),
];
const satisfyOf = (r: { table: { hosts: { routes: { policies: { access?: { satisfy?: string } } }[] }[] } }) =>
  r.table.hosts[0]?.routes[0]?.policies.access?.satisfy;
const AUTH = { [`${N}auth-url`]: 'http://auth.svc/check' };

const cases: Case[] = [
  {
    name: 'satisfy alone ("all") changes nothing',
    objects: with_({ [`${N}satisfy`]: 'all' }),
    check: (r) => expect(r.table.hosts[0]!.routes[0]!.policies.access).toBeUndefined(),
  },
  {
    name: 'satisfy alone ("any") changes nothing',
    objects: with_({ [`${N}satisfy`]: 'any' }),
    check: (r) => expect(r.table.hosts[0]!.routes[0]!.policies.access).toBeUndefined(),
  },
  {
    name: '"any" with an authentication is kept',
    objects: with_({ ...AUTH, [`${N}allowlist-source-range`]: '10.0.0.0/8', [`${N}satisfy`]: 'any' }),
    check: (r) => expect(satisfyOf(r)).toBe('any'),
  },
  {
    name: '"all" is the default: no field',
    objects: with_({ ...AUTH, [`${N}satisfy`]: 'all' }),
    check: (r) => expect(satisfyOf(r)).toBeUndefined(),
  },
  {
    name: 'a value other than any or all fails closed',
    objects: with_({ ...AUTH, [`${N}satisfy`]: 'some' }),
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
    messages: [/"nginx\.ingress\.kubernetes\.io\/satisfy" has value "some": it is not "any" or "all"/],
    check: (r) => expect(r.table.hosts[0]!.routes[0]!.policies.failClosed).toEqual([`${N}satisfy`]),
  },
];

describe('satisfy', () => {
  for (const c of cases) it(c.name, () => void runCase(c));
});
