// Request targets the edge refuses (400) before routing them anywhere, on every runtime (decide() asks), and the
// path it forwards for the rest:
// - a NUL, raw or as `%00`, or another raw control character (nginx answers 400 to both: ngx_http_parse_complex_uri
//   refuses a decoded NUL, and control characters are not allowed in a request target, RFC 3986 §2 / RFC 9112 §3.2);
// - a path with a dot segment and an empty segment (once `%2F`, `%5C` and `\` are read as `/`): readers disagree on
//   where its `..` lands. nginx merges slashes before it removes dot segments (`/admin//../p` is `/p` to it); RFC 3986
//   §5.2.4 does not merge (the same path is `/admin/p`), and neither do most application servers. Whatever rule the
//   edge chose, some backend would serve another rule's path through it. nginx answers these; browsers and curl
//   never send them (they remove dot segments before sending);
// - a path under a Prefix route that leaves the route once an upstream reads it the way common servers do, leniently
//   (every `%XX` decoded, `%2F` and `%5C` included, `\` taken for `/` (Windows servers, some frameworks), a
//   segment's `;parameters` removed (RFC 3986 §3.3; servlet containers read `..;x` as `..`), empty segments merged,
//   dot segments resolved) or strictly (the same with empty segments kept, RFC 3986 §5.2.4). The matcher routes by
//   the decoded path (table/match.ts routingPath), so `/public/..%2Fsecret` is routed as `/secret`; this covers
//   what it keeps: the forwarded path, read either way, stays inside the prefix that chose the route
//   (`/public/..%5Csecret` and `/public/..;/secret` would otherwise reach `/public`'s backend, which may serve its
//   `/secret`). Nor may any of those readings be a path the edge routes to another rule (`/admin;x` routed by `/`,
//   read as `/admin`): that rule's access rules would be passed by. One exception is forwarded instead of refused: empty segments made by literal slashes before the
//   prefix ends (`//p` routed by `/p`, a client joining URLs carelessly) go upstream merged (`/p`), the path the
//   edge routed by, not as a network-path reference (RFC 3986 §4.2) a backend might build a URL from. Slashes inside
//   or after the prefix are forwarded as sent (image proxies put whole URLs there: `/unsafe/https://...`).
// Not covered: Regex routes (nginx matches them against the decoded path too; their forwarded path is the client's)
// and rewritten paths (rewrite-target chooses the upstream path itself), and an upstream that decodes twice.
import type { Match } from './table/match.ts';
import type { Route } from './table/schema.ts';

// A raw backslash too: not allowed in a URI (RFC 3986 §2), and the Node request path refuses it already
// (@hono/node-server: "Backslash in request path"), so every path (WebSocket upgrades included) does. nginx passes it.
function unsafe(path: string): boolean {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 92 /* backslash */) return true;
    if (c === 37 /* % */ && path.charCodeAt(i + 1) === 48 /* 0 */ && path.charCodeAt(i + 2) === 48) return true; // %00
  }
  return false;
}
/** What makes a path read differently by an upstream than by the matcher (dot segments are resolved already),
 * or by one upstream than another: an encoding, `;parameters`, a backslash, an empty segment. */
const REINTERPRETED = /[%;\\]|\/\//;

const decodeAll = (path: string): string =>
  path.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16))).replace(/\\/g, '/');

/** Every `%XX` decoded but `%2F` and `%5C`, which stay encoded the way the matcher never decodes them (`%252F`): how
 * a server that splits the path before it decodes it (Express, many routers) sees it. */
const decodeButSlashes = (path: string): string =>
  path.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => {
    const c = Number.parseInt(h, 16);
    return c === 0x2f || c === 0x5c ? `%25${h}` : String.fromCharCode(c);
  });

/** The path's segments after the leading `/` as an upstream splits them: decoded by `decode`, each without its
 * `;parameters` (RFC 3986 §3.3; servlet containers read `..;x` as `..`). */
function segments(path: string, decode: (p: string) => string): string[] {
  const segs = decode(path).split('/');
  const out = new Array<string>(segs.length - 1);
  for (let i = 1; i < segs.length; i++) {
    const raw = segs[i]!;
    const semi = raw.indexOf(';');
    out[i - 1] = semi === -1 ? raw : raw.slice(0, semi);
  }
  return out;
}

/** The path as an upstream reads it (see above): `merge` drops empty segments as a lenient one does, otherwise they
 * stay (a trailing slash too). */
function reading(path: string, merge: boolean, decode: (p: string) => string = decodeAll): string {
  const out: string[] = [];
  for (const seg of segments(path, decode)) {
    if (seg === '.' || (seg === '' && merge)) continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return `/${out.join('/')}`;
}

/** Whether the path has both a dot segment and an empty one (not counting a trailing slash), read as upstreams
 * decode it: the order of merging and dot removal then decides which path it is. */
function ambiguous(path: string): boolean {
  const segs = segments(path, decodeAll);
  const last = segs.length - 1;
  return segs.some((s) => s === '.' || s === '..') && segs.some((s, i) => s === '' && i < last);
}

const under = (prefix: string, path: string): boolean => path === prefix || path.startsWith(`${prefix}/`);

/** The route the matcher chooses for a path on the request's host (decide() passes its matcher). */
export type RouteOf = (path: string) => Route | null;

/** The path to forward for the request target (`rawPath`: the path as sent, no query) given what it matched, or null
 * when it is refused with 400. Without an encoding, `;`, a backslash or an empty segment (nearly every request),
 * the matched path goes upstream as it is, with no further work. Otherwise every way an upstream may read the
 * forwarded path (leniently, strictly, splitting before decoding) must be routed by the edge to the same rule: a
 * reading that another rule would take (`/admin;x` or `/x/..;/admin` routed by `/` and read as `/admin` by a servlet
 * container; `/p/a%5C..%5Cq` routed by `/p` and read as `/p/q`) would pass that rule's access rules by. */
export function forwardedPath(rawPath: string, m: Match, routeOf: RouteOf): string | null {
  if (unsafe(rawPath)) return null;
  if (!REINTERPRETED.test(rawPath)) return m.upstreamPath;
  if (ambiguous(rawPath)) return null;
  if (m.backend === null) return m.upstreamPath; // nothing is forwarded (404)
  const route = m.route;
  // A rewritten route chooses the upstream path itself (see above).
  if (route?.policies.rewrite?.path !== undefined) return m.upstreamPath;
  const up = m.upstreamPath;
  const strict = reading(up, false);
  for (const r of [reading(up, true), strict, reading(up, false, decodeButSlashes)]) if (routeOf(r) !== route) return null;
  // An Exact route matched the whole decoded path already; `/` holds every path.
  if (route === null || route.pathType !== 'Prefix' || route.path === '') return up;
  if (under(route.path, strict)) return up;
  const merged = up.replace(/\/{2,}/g, '/');
  return under(route.path, reading(merged, false)) ? merged : null;
}
