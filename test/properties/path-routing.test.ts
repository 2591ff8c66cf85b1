// Properties of the path normaliser and matcher (gateway/table/match.ts) and of the path decide() forwards,
// over arbitrary request paths made of the pieces path-confusion attacks use (paths.ts): percent-encodings,
// `%2F`, `%2e`, `..`, `//`, backslashes, NUL, unicode. Tables come from the real compiler.
// A failure prints fast-check's seed and shrunk path; to replay it, pass `{ seed, path }` from that output as
// the third argument of fc.assert (https://fast-check.dev/docs/advanced/replay/).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide } from '../../gateway/decide.ts';
import type { LiveTable } from '../../gateway/live.ts';
import { compileMatcher, type Match } from '../../gateway/table/match.ts';
import type { HostRoutes, Route, RoutingTable } from '../../gateway/table/schema.ts';
import { compile } from '../../sync/compile/index.ts';
import { ingress, objects, ourClass, service } from '../support/manifests.ts';
import { backendView, removeDotSegments, requestPath, within } from './paths.ts';

const RUNS = 400;

const live = (t: RoutingTable): Pick<LiveTable, 'current'> => ({
  current: { matcher: compileMatcher(t), certificates: new Map(), loadedAt: 0 },
});

const facts = (path: string) => ({ host: 'shop.example', path, search: '', scheme: 'http' as const, clientIp: '192.0.2.1', localPort: 80 });

/** One host with nested Prefix rules, an Exact rule inside one of them, and a rule beside them; every rule has its
 * own Service, so the backend names the rule. */
const NESTED = compile(
  objects(
    ourClass(),
    ...['root', 'p', 'pq', 'px', 'admin'].map((s, i) => service(s, [{ address: `10.0.0.${i + 1}`, port: 8080 }])),
    ingress('shop', {
      host: 'shop.example',
      paths: [
        { path: '/', service: 'root' },
        { path: '/p', service: 'p' },
        { path: '/p/q', service: 'pq' },
        { path: '/p/x', pathType: 'Exact', service: 'px' },
        { path: '/admin', service: 'admin' },
      ],
    }),
  ),
).table;
const NESTED_LIVE = live(NESTED);

/** The forwarded path of a request decide() sends upstream through a Prefix rule, with that rule; null when it
 * refuses the request or serves it otherwise. */
function forwardedByPrefix(path: string): { rule: string; forwarded: string } | null {
  const d = decide(NESTED_LIVE, facts(path), null);
  if (d.kind !== 'forward') return null;
  const m = NESTED_LIVE.current!.matcher.match('shop.example', path);
  if (m.route === null || m.route.pathType !== 'Prefix') return null;
  return { rule: m.route.path, forwarded: d.target };
}

/** The path a WHATWG URL parser hands the gateway (Deno and workerd always; @hono/node-server for any path with
 * `%`, a dot segment or a character outside its plain set), or null where the Node runtime refuses it (a
 * backslash before the query: @hono/node-server's validateRequestTarget). */
function parsedPath(raw: string): string | null {
  if (raw.includes('\\')) return null;
  return new URL(`http://shop.example${raw}`).pathname;
}

function staysUnder(view: (forwarded: string) => string, through: (raw: string) => string | null = (raw) => raw) {
  return fc.property(requestPath, (raw) => {
    const path = through(raw);
    if (path === null) return true;
    const f = forwardedByPrefix(path);
    if (f === null) return true;
    const seen = view(f.forwarded);
    if (!within(f.rule, seen))
      throw new Error(`rule ${JSON.stringify(f.rule || '/')}: ${raw} forwarded as ${f.forwarded}, read as ${seen}`);
    return true;
  });
}

/** A backend that also merges slashes (as nginx does with merge_slashes on, and most routers). */
const mergingBackendView = (forwarded: string): string => backendView(forwarded.replace(/%2f/gi, '/').replace(/\/{2,}/g, '/'));

/** Paths where the rule the edge routes by and the path a backend reads used to part (shrunk by fast-check, and the
 * worst found), kept as fixed examples. `%2F` decoded and slashes merged before dot segments are removed (nginx's
 * order) but forwarded unmerged, a backend that removes dot segments without merging lets the `..` eat the empty
 * segment: `/admin/%2F../p` (and `/admin/%2F%2e%2e/p`, `/admin%2F%2F..%2Fp`) routed by `/p` is read as `/admin/p`.
 * Those are refused now (a dot segment beside an empty one). `//p`, `/%2Fp`, `/.%2e//p` routed by `/p` went up with
 * an empty first element (`//p`): literal slashes are merged now, an encoded one is refused. */
const STRICT_COUNTEREXAMPLES: [string][] = [
  ['/admin/%2F../p'],
  ['/admin/%2F%2e%2e/p'],
  ['/admin%2F%2F..%2Fp'],
  ['//p'],
  ['/%2Fp'],
  ['/.%2e//p'],
];

describe('a request routed to a Prefix rule stays under it', () => {
  it('the path forwarded, percent-decoded and dot-segment-resolved (RFC 3986 §2.1, §5.2.4), lies under the rule', () => {
    fc.assert(staysUnder(backendView), { numRuns: RUNS, examples: STRICT_COUNTEREXAMPLES });
  });

  it('the same holds for the path a URL parser (the runtimes) hands over', () => {
    fc.assert(staysUnder(backendView, parsedPath), { numRuns: RUNS, examples: STRICT_COUNTEREXAMPLES });
  });

  it('the path forwarded, read by a backend that also merges slashes, lies under the rule', () => {
    fc.assert(staysUnder(mergingBackendView), { numRuns: RUNS });
  });

  it('the same holds for the path a URL parser (the runtimes) hands over, read by a backend that merges slashes', () => {
    fc.assert(staysUnder(mergingBackendView, parsedPath), { numRuns: RUNS });
  });

  // The generator can reach the rules it is about: a property that never sees a forward to /p cannot fail.
  it.each([
    { name: 'plain', path: '/p/a', rule: '/p' },
    { name: 'encoded unreserved', path: '/%70/a', rule: '/p' },
    { name: 'dot segments inside', path: '/p/q/../a', rule: '/p' },
    { name: 'nested rule', path: '/p/q/', rule: '/p/q' },
  ])('sanity: $name reaches $rule', ({ path, rule }) => {
    expect(forwardedByPrefix(path)?.rule).toBe(rule);
  });
});

/** A backend that splits the path on `/` before it decodes each segment (Express, most routers): `%2F` and `%5C` stay
 * inside their segment; dot segments are resolved on what it then reads. */
const splittingBackendView = (forwarded: string): string =>
  removeDotSegments(forwarded.replace(/%(?!2f|5c)([0-9A-Fa-f]{2})/gi, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16))));

describe('no reading of a forwarded path belongs to another rule', () => {
  // Whatever an upstream makes of the path it gets, the edge would route that reading by the same rule: otherwise a
  // rule's access rules could be passed by through another rule that shares the backend.
  const views: [string, (forwarded: string) => string][] = [
    ['decodes everything, resolves dots (RFC 3986)', backendView],
    ['also merges slashes', mergingBackendView],
    ['splits before decoding', splittingBackendView],
  ];
  it.each(views)('a backend that %s', (_name, view) => {
    fc.assert(
      fc.property(requestPath, (raw) => {
        const d = decide(NESTED_LIVE, facts(raw), null);
        if (d.kind !== 'forward') return true;
        const routed = NESTED_LIVE.current!.matcher.match('shop.example', raw).route;
        const read = view(d.target);
        // A read path the edge would refuse (a NUL, a backslash) reaches no rule: not this property's question.
        if (decide(NESTED_LIVE, facts(read), null).kind === 'status') return true;
        const other = NESTED_LIVE.current!.matcher.match('shop.example', read).route;
        if (other !== routed)
          throw new Error(`${raw} routed by ${routed?.path || '/'}, forwarded as ${d.target}, read as ${read}: ${other?.path || '/'}`);
        return true;
      }),
      { numRuns: RUNS, examples: [['/admin;x'], ['/x/..;/admin'], ['/p/a%5C..%5Cq/s'], ['/admin/..%2Fp']] },
    );
  });
});

describe('removeDotSegments follows RFC 3986 §5.2.4', () => {
  // The RFC's own examples (§5.2.4 and §5.4.2), so the reference the property checks against is right itself.
  it.each([
    { input: '/a/b/c/./../../g', output: '/a/g' },
    { input: 'mid/content=5/../6', output: 'mid/6' },
    { input: '/b/c/../../../g', output: '/g' },
    { input: '/b/c/./g/.', output: '/b/c/g/' },
    { input: '/b/c/g/..', output: '/b/c/' },
    { input: '/..', output: '/' },
    { input: '/b//../c', output: '/b/c' },
  ])('$input → $output', ({ input, output }) => {
    expect(removeDotSegments(input)).toBe(output);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The matcher against a naive reference: the rules of docs/ARCHITECTURE.md and the Ingress API, written plainly.

const TABLE_HOSTS = ['a.example', 'b.a.example', '*.a.example', '*.example', undefined] as const;
const REQUEST_HOSTS = [
  'a.example',
  'A.Example:8080',
  'a.example.',
  'b.a.example',
  'c.a.example',
  'x.y.a.example',
  'z.example',
  'a_b.a.example',
  'a/b.a.example',
  '-x.a.example',
  '[::1]:80',
  'unknown',
] as const;
const RULE_SEGMENTS = ['p', 'q', 'admin', 'x'] as const;
const SERVICES = ['s1', 's2', 's3'] as const;

const rulePath = fc
  .tuple(fc.array(fc.constantFrom(...RULE_SEGMENTS), { maxLength: 3 }), fc.boolean())
  .map(([segs, slash]) => (segs.length === 0 ? '/' : `/${segs.join('/')}${slash ? '/' : ''}`));

const ingressSpec = fc.record({
  host: fc.constantFrom(...TABLE_HOSTS),
  paths: fc.array(
    fc.record({ path: rulePath, pathType: fc.constantFrom('Prefix' as const, 'Exact' as const), service: fc.constantFrom(...SERVICES) }),
    { minLength: 1, maxLength: 4 },
  ),
  defaultBackend: fc.option(fc.constantFrom(...SERVICES), { nil: undefined }),
});

type IngressSpec = typeof ingressSpec extends fc.Arbitrary<infer T> ? T : never;

const tableOf = (specs: readonly IngressSpec[]): RoutingTable =>
  compile(
    objects(
      ourClass(),
      ...SERVICES.map((s, i) => service(s, [{ address: `10.0.1.${i + 1}`, port: 8080 }])),
      ...specs.map((s, i) =>
        ingress(`ing-${i}`, {
          ...(s.host === undefined ? {} : { host: s.host }),
          paths: s.paths,
          ...(s.defaultBackend === undefined ? {} : { defaultBackend: s.defaultBackend }),
          created: `2026-01-01T00:00:${String(i).padStart(2, '0')}Z`,
        }),
      ),
    ),
  ).table;

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function refHost(table: RoutingTable, raw: string): HostRoutes | null {
  let h = raw.startsWith('[') ? raw.slice(0, raw.indexOf(']') + 1) : raw.split(':')[0]!;
  if (h.endsWith('.')) h = h.slice(0, -1);
  h = h.toLowerCase();
  const named = table.hosts.find((e) => e.host === h && !e.host.startsWith('*.'));
  if (named !== undefined) return named;
  const dot = h.indexOf('.');
  if (dot > 0 && DNS_LABEL.test(h.slice(0, dot))) {
    const wild = table.hosts.find((e) => e.host === `*.${h.slice(dot + 1)}`);
    if (wild !== undefined) return wild;
  }
  return table.hosts.find((e) => e.host === '') ?? null;
}

const decodeSome = (raw: string, keep: RegExp): string =>
  raw.replace(/%([0-9A-Fa-f]{2})/g, (m, hex: string) => {
    const c = String.fromCharCode(Number.parseInt(hex, 16));
    return keep.test(c) ? c : m.toUpperCase();
  });
const UNRESERVED_OR_SLASH = /^[A-Za-z0-9\-._~/]$/;

/** How nginx chooses a location: the path decoded (`/` included), slashes merged (merge_slashes on), dot segments
 * removed. */
function nginxRoutingPath(raw: string): string {
  return removeDotSegments(decodeSome(raw, UNRESERVED_OR_SLASH).replace(/\/{2,}/g, '/'));
}

const elements = (p: string): string[] => p.split('/').filter((s) => s !== '');

/** Exact first (an exact hit is the longest possible match), then the Prefix rule with the most elements that are
 * all a leading run of the path's elements (Ingress API: "/foo/bar matches /foo/bar/baz, not /foo/barbaz"). */
function refRoute(host: HostRoutes, path: string): Route | null {
  const exact = host.routes.find((r) => r.pathType === 'Exact' && r.path === path);
  if (exact !== undefined) return exact;
  const have = elements(path);
  let best: Route | null = null;
  for (const r of host.routes) {
    if (r.pathType !== 'Prefix') continue;
    const want = elements(r.path);
    if (want.length > have.length || want.some((s, i) => have[i] !== s)) continue;
    if (best === null || want.length > elements(best.path).length) best = r;
  }
  return best;
}

interface Outcome {
  reason: Match['reason'];
  host: string | null;
  route: string | null;
  backend: string | null;
}

function reference(table: RoutingTable, rawHost: string, rawPath: string, routingPath: (raw: string) => string): Outcome {
  const h = refHost(table, rawHost);
  const route = h === null ? null : refRoute(h, routingPath(rawPath));
  const host = h?.host ?? null;
  if (route !== null) return { reason: 'route', host, route: `${route.pathType} ${route.path}`, backend: route.backend };
  if (h?.fallbackBackend != null) return { reason: 'host-fallback', host, route: null, backend: h.fallbackBackend };
  if (table.defaultBackend !== null) return { reason: 'default-backend', host, route: null, backend: table.defaultBackend };
  return { reason: 'no-match', host, route: null, backend: null };
}

const outcome = (m: Match): Outcome => ({
  reason: m.reason,
  host: m.host?.host ?? null,
  route: m.route === null ? null : `${m.route.pathType} ${m.route.path}`,
  backend: m.backend?.id ?? null,
});

const tablesAndRequests = fc.tuple(
  fc.array(ingressSpec, { minLength: 1, maxLength: 4 }),
  fc.array(fc.tuple(fc.constantFrom(...REQUEST_HOSTS), requestPath), { minLength: 1, maxLength: 10 }),
);

function agrees(routingPath: (raw: string) => string) {
  return fc.property(tablesAndRequests, ([specs, requests]) => {
    const table = tableOf(specs);
    const matcher = compileMatcher(table);
    for (const [host, path] of requests)
      expect(outcome(matcher.match(host, path)), `${host} ${path}`).toEqual(reference(table, host, path, routingPath));
  });
}

const prefixOnly = (host: IngressSpec['host'], path: string, pathType: 'Prefix' | 'Exact' = 'Prefix'): IngressSpec => ({
  host,
  paths: [{ path, pathType, service: 's1' }],
  defaultBackend: undefined,
});

describe('the matcher agrees with a naive reference', () => {
  // `/p//..` on a host with only Prefix `/p` (nginx's order gives `/`, no match there; removing dots first would give
  // `/p`) and `/p/p%2F../%2E.` on a host with only Exact `/`: shrunk counterexamples of the order match.ts once had.
  it('on arbitrary tables and requests, with the path normalised in nginx order (decode, merge slashes, remove dots)', () => {
    fc.assert(agrees(nginxRoutingPath), {
      numRuns: 150,
      examples: [
        [[[prefixOnly('b.a.example', '/p')], [['b.a.example', '/p//..']]]],
        [[[prefixOnly('b.a.example', '/', 'Exact')], [['b.a.example', '/p/p%2F../%2E.']]]],
      ],
    });
  });
});
