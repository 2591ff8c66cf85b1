// Request targets the edge refuses (400) before routing them anywhere, on every runtime (decide() asks):
// - a NUL, raw or as `%00`, or another raw control character (nginx answers 400 to both: ngx_http_parse_complex_uri
//   refuses a decoded NUL, and control characters are not allowed in a request target, RFC 3986 §2 / RFC 9112 §3.2);
// - a path under a Prefix route that leaves the route once an upstream reads it the way common servers do:
//   every `%XX` decoded (`%2F` and `%5C` included), `\` taken for `/` (Windows servers, some frameworks), a segment's
//   `;parameters` removed (RFC 3986 §3.3; servlet containers read `..;x` as `..`), empty segments merged and dot
//   segments resolved (RFC 3986 §5.2.4). The matcher already routes by the decoded path (table/match.ts
//   routingPath), so `/public/..%2Fsecret` is routed as `/secret`; this covers what it keeps: the guarantee is that
//   the forwarded path, read that way, stays inside the prefix that chose the route (`/public/..%5Csecret` and
//   `/public/..;/secret` would otherwise reach `/public`'s backend, which may serve its `/secret`).
// Not covered: Regex routes (nginx matches them against the decoded path too; their forwarded path is the client's)
// and rewritten paths (rewrite-target chooses the upstream path itself), and an upstream that decodes twice.
import type { Match } from './table/match.ts';

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
/** What makes a path read differently by an upstream than by the matcher (dot segments are resolved already). */
const REINTERPRETED = /[%;]/;

/** The path as a lenient upstream reads it (see above); without a trailing slash. */
export function upstreamReading(path: string): string {
  const decoded = path.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16))).replace(/\\/g, '/');
  const out: string[] = [];
  for (const raw of decoded.split('/')) {
    const semi = raw.indexOf(';');
    const seg = semi === -1 ? raw : raw.slice(0, semi);
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return `/${out.join('/')}`;
}

/** Whether the request target (`rawPath`: the path as sent, no query) is refused with 400, given what it matched. */
export function targetRefused(rawPath: string, m: Match): boolean {
  if (unsafe(rawPath)) return true;
  const route = m.route;
  // An Exact route matched the whole decoded path already; Regex and rewritten routes: see above; `/` holds every path.
  if (route === null || route.pathType !== 'Prefix' || route.path === '' || route.policies.rewrite?.path !== undefined) return false;
  if (!REINTERPRETED.test(m.upstreamPath)) return false; // the common case: read the same way by everyone
  const read = upstreamReading(m.upstreamPath);
  return read !== route.path && !read.startsWith(`${route.path}/`);
}
