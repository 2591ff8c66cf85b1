// decide() on canary routes: which backend answers, from a table built by the real compiler. The rules are
// ingress-nginx's balancer.lua (route_to_alternative_balancer) as test/e2e/annotations/canary.go observes them:
// the header first (always/never, or an exact value, or a pattern), then the cookie, then the weight. The random
// source is injected, so weighted cases are exact; a peer cluster never serves a canary route.
import { describe, expect, it } from 'vitest';
import { cookieValue } from '../../gateway/canary.ts';
import { decide, type PeerTable } from '../../gateway/decide.ts';
import type { LiveTable } from '../../gateway/live.ts';
import { compileMatcher } from '../../gateway/table/match.ts';
import type { RoutingTable } from '../../gateway/table/schema.ts';
import { compile } from '../../sync/compile/index.ts';
import { ingress, objects, ourClass, service } from '../support/manifests.ts';

const N = 'nginx.ingress.kubernetes.io/';
const MAIN = 'default/http-svc:80';
const CANARY = 'default/http-svc-canary:80';

function build(canary: Record<string, string>, o: { canaryReady?: boolean; mainReady?: boolean } = {}): RoutingTable {
  return compile(
    objects(
      ourClass(),
      service('http-svc', [{ address: '10.0.0.1', port: 8080, ready: o.mainReady ?? true }]),
      service('http-svc-canary', [{ address: '10.0.0.2', port: 8080, ready: o.canaryReady ?? true }]),
      ingress('foo', { host: 'foo', paths: [{ path: '/', service: 'http-svc' }], created: '2026-01-01T00:00:00Z' }),
      ingress('foo-canary', {
        host: 'foo',
        paths: [{ path: '/', service: 'http-svc-canary' }],
        annotations: { [`${N}canary`]: 'true', ...canary },
      }),
    ),
  ).table;
}
const live = (t: RoutingTable): Pick<LiveTable, 'current'> => ({
  current: { matcher: compileMatcher(t), certificates: new Map(), loadedAt: 0 },
});

const BY_HEADER = { [`${N}canary-by-header`]: 'CanaryByHeader' };
const BY_VALUE = { ...BY_HEADER, [`${N}canary-by-header-value`]: 'DoCanary' };
const BY_PATTERN = { ...BY_HEADER, [`${N}canary-by-header-pattern`]: '^Do[A-Z][a-z]+y$' };
const BY_COOKIE = { [`${N}canary-by-cookie`]: 'Canary-By-Cookie' };

interface Case {
  name: string;
  canary: Record<string, string>;
  headers?: Record<string, string>;
  random?: number;
  ready?: { canaryReady?: boolean; mainReady?: boolean };
  want: string | 503;
}

const CASES: Case[] = [
  { name: 'canary.go "when canary is created": no header → mainline', canary: BY_HEADER, want: MAIN },
  {
    name: 'canary.go "when canaried by header with no value": always → canary',
    canary: BY_HEADER,
    headers: { canarybyheader: 'always' },
    want: CANARY,
  },
  {
    name: 'canary.go "when canaried by header with no value": never → mainline',
    canary: BY_HEADER,
    headers: { canarybyheader: 'never' },
    want: MAIN,
  },
  {
    name: 'canary.go "when canaried by header with no value": anything else → mainline',
    canary: BY_HEADER,
    headers: { canarybyheader: 'badheadervalue' },
    want: MAIN,
  },
  {
    name: 'canary.go "when canaried by header with value": DoCanary → canary',
    canary: BY_VALUE,
    headers: { canarybyheader: 'DoCanary' },
    want: CANARY,
  },
  {
    name: 'canary.go "when canaried by header with value": always → mainline',
    canary: BY_VALUE,
    headers: { canarybyheader: 'always' },
    want: MAIN,
  },
  {
    name: 'canary.go "when canaried by header with value": never → mainline',
    canary: BY_VALUE,
    headers: { canarybyheader: 'never' },
    want: MAIN,
  },
  { name: 'the header value is compared exactly (case matters)', canary: BY_VALUE, headers: { canarybyheader: 'docanary' }, want: MAIN },
  {
    name: 'canary.go "when canaried by header with value": never with a value set is not a veto: the weight still applies',
    canary: { ...BY_VALUE, [`${N}canary-weight`]: '100' },
    headers: { canarybyheader: 'never' },
    want: CANARY,
  },
  {
    name: 'canary.go "when canaried by header with pattern": DoCanary matches → canary',
    canary: BY_PATTERN,
    headers: { canarybyheader: 'DoCanary' },
    want: CANARY,
  },
  {
    name: 'canary.go "when canaried by header with pattern": always does not match → mainline',
    canary: BY_PATTERN,
    headers: { canarybyheader: 'always' },
    want: MAIN,
  },
  {
    name: 'a pattern is searched, not anchored, unless it says so',
    canary: { ...BY_HEADER, [`${N}canary-by-header-pattern`]: 'beta|rc[0-9]+' },
    headers: { canarybyheader: 'v2-rc12' },
    want: CANARY,
  },
  {
    name: 'canary.go "when canaried by header with value and cookie": header value does not match, cookie always → canary',
    canary: { ...BY_VALUE, [`${N}canary-by-cookie`]: 'CanaryByCookie' },
    headers: { canarybyheader: 'otherheadervalue', cookie: 'CanaryByCookie=always' },
    want: CANARY,
  },
  {
    name: 'the header decides before the cookie: header never, cookie always → mainline',
    canary: { ...BY_HEADER, ...BY_COOKIE },
    headers: { canarybyheader: 'never', cookie: 'Canary-By-Cookie=always' },
    want: MAIN,
  },
  {
    name: 'canary.go "when canaried by cookie": always → canary',
    canary: BY_COOKIE,
    headers: { cookie: 'a=1; Canary-By-Cookie=always' },
    want: CANARY,
  },
  {
    name: 'canary.go "when canaried by cookie": never → mainline',
    canary: { ...BY_COOKIE, [`${N}canary-weight`]: '100' },
    headers: { cookie: 'Canary-By-Cookie=never' },
    want: MAIN,
  },
  {
    name: 'canary.go "when canaried by cookie": anything else → the weight (0: mainline)',
    canary: BY_COOKIE,
    headers: { cookie: 'Canary-By-Cookie=badcookievalue' },
    want: MAIN,
  },
  {
    name: "the cookie name is matched without case, as nginx's $cookie_ is",
    canary: BY_COOKIE,
    headers: { cookie: 'canary-by-cookie=always' },
    want: CANARY,
  },
  {
    name: 'canary.go "when canaried by weight": weight 0 → mainline even when random() is 0',
    canary: { [`${N}canary-weight`]: '0' },
    random: 0,
    want: MAIN,
  },
  {
    name: 'canary.go "when canaried by weight": weight 100 → canary even when random() is almost 1',
    canary: { [`${N}canary-weight`]: '100' },
    random: 0.999999,
    want: CANARY,
  },
  { name: 'weight 30 of 100: random() 0.29 → canary', canary: { [`${N}canary-weight`]: '30' }, random: 0.29, want: CANARY },
  { name: 'weight 30 of 100: random() 0.30 → mainline', canary: { [`${N}canary-weight`]: '30' }, random: 0.3, want: MAIN },
  {
    name: 'canary.go "weight is 100 and weight total is 200": random() 0.49 → canary, (0.5 → mainline below)',
    canary: { [`${N}canary-weight`]: '100', [`${N}canary-weight-total`]: '200' },
    random: 0.49,
    want: CANARY,
  },
  {
    name: 'weight 100 of 200: random() 0.5 → mainline',
    canary: { [`${N}canary-weight`]: '100', [`${N}canary-weight-total`]: '200' },
    random: 0.5,
    want: MAIN,
  },
  {
    name: 'a request sent to a canary without a ready endpoint answers 503 (never quietly the mainline)',
    canary: BY_HEADER,
    headers: { canarybyheader: 'always' },
    ready: { canaryReady: false },
    want: 503,
  },
  {
    name: 'a request for the mainline without a ready endpoint answers 503 even when the canary has one',
    canary: BY_HEADER,
    ready: { mainReady: false },
    want: 503,
  },
  {
    name: 'the canary answers when it is picked even though the mainline has no ready endpoint',
    canary: BY_HEADER,
    headers: { canarybyheader: 'always' },
    ready: { mainReady: false },
    want: CANARY,
  },
];

describe('decide(): canary routes', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const headers = c.headers ?? {};
      const d = decide(
        live(build(c.canary, c.ready)),
        { host: 'foo', path: '/', search: '', scheme: 'http', clientIp: '192.0.2.1', localPort: 80, header: (n) => headers[n] },
        null,
        [],
        () => c.random ?? 0.5,
      );
      expect(d.kind === 'forward' ? d.backend.id : d.kind === 'status' ? d.status : d.kind).toBe(c.want);
    });
  }

  it('a canary route never fails over to a peer cluster, whatever backend is picked', () => {
    const t = build(BY_HEADER, { mainReady: false, canaryReady: false });
    const peerTable = build({}, {});
    const peers: PeerTable[] = [{ cluster: 'b', live: live(peerTable) }];
    for (const v of ['always', 'never']) {
      const d = decide(
        live(t),
        { host: 'foo', path: '/', search: '', scheme: 'http', clientIp: '192.0.2.1', localPort: 80, header: () => v },
        null,
        peers,
      );
      expect(d).toMatchObject({ kind: 'status', status: 503 });
    }
  });

  it('facts without a header reader: header and cookie rules never pick the canary, the weight still does', () => {
    const f = { host: 'foo', path: '/', search: '', scheme: 'http' as const, clientIp: '192.0.2.1', localPort: 80 };
    expect(decide(live(build(BY_HEADER)), f, null, [], () => 0)).toMatchObject({ backend: { id: MAIN } });
    expect(decide(live(build({ [`${N}canary-weight`]: '100' })), f, null, [], () => 0)).toMatchObject({ backend: { id: CANARY } });
  });
});

describe("cookieValue(): nginx's $cookie_<name>", () => {
  const cases: [string, string | undefined, string | undefined][] = [
    ['a=1; b=2', 'b', '2'],
    ['a=1;b=2', 'b', '2'],
    ['B=x', 'b', 'x'],
    ['b=1; b=2', 'b', '1'],
    ['ab=1', 'b', undefined],
    ['b', 'b', undefined],
    ['b="q"', 'b', '"q"'],
  ];
  for (const [header, name, want] of cases)
    it(`${JSON.stringify(header)} → ${String(want)}`, () => expect(cookieValue(header, name!)).toBe(want));
});
