// The compiled matcher: built once per table version, then every request is a few map lookups
// (docs/ARCHITECTURE.md, "Invariants"). No per-request scan of the rule list; regular expressions only on hosts
// with Regex routes, compiled once per table into one RE2 automaton per host (regex-paths.ts).
import { DNS_LABEL } from './names.ts';
import { RegexRoutes } from './regex-paths.ts';
import { isDeepFrozen } from './validation-memo.ts';
import { expandRewrite, parseRewrite, type RewriteTemplate } from './rewrite.ts';
import type { Backend, HostRoutes, Route, RoutingTable } from './schema.ts';

export type MatchReason = 'route' | 'host-fallback' | 'default-backend' | 'no-match';

export interface Match {
  reason: MatchReason;
  /** The request path as matched (see normalizePath); what goes upstream unless the route rewrites it. */
  path: string;
  /** The path the upstream gets: `path`, or the route's rewrite (rewrite-target) expanded from its captures. */
  upstreamPath: string;
  /** The host entry that was chosen ("" = rules without a host), or null when no host matched. */
  host: HostRoutes | null;
  route: Route | null;
  /** null only for `no-match` (answer 404). */
  backend: Backend | null;
  /** Access-control annotations guarding what matched that the table says are not enforced: the request
   * must be answered 503, never forwarded (fail closed). null when there are none. */
  failClosed: readonly string[] | null;
}

/** One host entry's index. It holds nothing from outside its entry (backends are looked up by id when a request
 * matches), so the next table that holds the same frozen entry reuses it (CompiledHosts). */
export interface CompiledHost {
  readonly entry: HostRoutes;
  readonly exact: Map<string, Route>;
  /** Prefix rule path (without trailing `/`, "" for `/`) → route. */
  readonly prefix: Map<string, Route>;
  /** The host's Regex routes (then `exact` and `prefix` are empty), or null when it has none. */
  readonly regex: RegexRoutes<Route> | null;
  /** rewrite-target, parsed once per route; null when no route of the host rewrites (most hosts: no Map each). */
  readonly rewrites: Map<Route, RewriteTemplate> | null;
}

/** The host indexes of earlier tables, by entry: a worker that follows a table one change at a time rebuilds only
 * the indexes of the hosts that changed. Only deep-frozen entries (parts as a worker parses them, bundle.ts) are kept,
 * since an entry that could still change would leave its index behind. */
export type CompiledHosts = WeakMap<HostRoutes, CompiledHost>;

export interface Matcher {
  readonly table: RoutingTable;
  /** Host as sent (any case, optional port); path as sent (no query). */
  match(host: string, path: string): Match;
  /** The host entry alone (for TLS and redirect decisions), same rules as match(). */
  lookupHost(host: string): HostRoutes | null;
  backend(id: string): Backend | undefined;
}

/** Lower-cases and strips the port and a trailing dot: `Foo.COM:8080` → `foo.com`, `[::1]:80` → `[::1]`. */
export function normalizeHost(raw: string): string {
  let h = raw;
  if (h.charCodeAt(0) === 91 /* [ */) {
    const end = h.indexOf(']');
    h = end === -1 ? h : h.slice(0, end + 1);
  } else {
    const colon = h.indexOf(':');
    if (colon !== -1) h = h.slice(0, colon);
  }
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h.toLowerCase();
}

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/** The path used for matching: percent-encoded unreserved characters decoded and dot segments resolved
 * (RFC 3986 6.2.2), so `/public/../admin` or `/%61dmin` match the rules for `/admin` and cannot be used to
 * reach a backend through another rule's prefix. Encoded slashes stay encoded. Returns the input when
 * there is nothing to do (the common case, no allocation). */
export function normalizePath(path: string): string {
  if (path.indexOf('%') === -1 && path.indexOf('/.') === -1) return path;
  let p = path.replace(/%[0-9A-Fa-f]{2}/g, (m) => {
    const ch = String.fromCharCode(parseInt(m.slice(1), 16));
    return UNRESERVED.test(ch) ? ch : m.toUpperCase();
  });
  if (p.indexOf('/.') !== -1) {
    const out: string[] = [];
    const segs = p.split('/');
    for (let i = 1; i < segs.length; i++) {
      const s = segs[i]!;
      const last = i === segs.length - 1;
      if (s === '.') {
        if (last) out.push('');
      } else if (s === '..') {
        out.pop();
        if (last) out.push('');
      } else out.push(s);
    }
    p = `/${out.join('/')}`;
  }
  return p;
}

/** The path a rule is chosen by, in nginx's order (ngx_http_parse_complex_uri): the request path decoded (`%2F`
 * included), runs of slashes merged (merge_slashes on), then dot segments removed. `normalized` (normalizePath's
 * form: unreserved characters decoded, dots removed, `%2F` and empty segments kept) is the same thing whenever
 * the path has neither an empty segment nor an encoded slash, which is nearly always. Without the merge,
 * `//admin` or `/x/..%2Fadmin` would get past a guarded `/admin` rule through the host's `/` rule, to a backend
 * that merges or decodes them itself; a path where the order matters (a dot segment beside an empty one) is
 * refused before it is forwarded (request-target.ts). */
function routingPath(raw: string, normalized: string): string {
  // The common path has neither: no regular expression on it.
  if (raw.indexOf('//') === -1 && raw.indexOf('%') === -1) return normalized;
  if (raw.indexOf('//') === -1 && !/%2f/i.test(raw)) return normalized;
  return normalizePath(raw.replace(/%2f/gi, '/').replace(/\/{2,}/g, '/'));
}

function compileHost(entry: HostRoutes): CompiledHost {
  let rewrites: Map<Route, RewriteTemplate> | null = null;
  const exact = new Map<string, Route>();
  const prefix = new Map<string, Route>();
  const regex: { pattern: string; value: Route; captures: boolean }[] = [];
  for (const r of entry.routes) {
    if (r.policies.rewrite?.path !== undefined) (rewrites ??= new Map()).set(r, parseRewrite(r.policies.rewrite.path));
    if (r.pathType === 'Regex') regex.push({ pattern: r.path, value: r, captures: r.policies.rewrite?.path?.includes('$') === true });
    else (r.pathType === 'Exact' ? exact : prefix).set(r.path, r);
  }
  return { entry, exact, prefix, regex: regex.length === 0 ? null : new RegexRoutes(regex), rewrites };
}

/** Longest match wins; on a tie Exact beats Prefix (the exact path is the longest possible candidate,
 * so checking it first is the tie-break). Prefix matches whole `/`-separated elements. */
function matchPath(h: CompiledHost, path: string): Route | null {
  if (h.exact.size !== 0) {
    const r = h.exact.get(path);
    if (r !== undefined) return r;
  }
  if (h.prefix.size === 0) return null;
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 47 /* / */) end--;
  for (;;) {
    const r = h.prefix.get(end === path.length ? path : path.slice(0, end));
    if (r !== undefined) return r;
    if (end === 0) return null;
    end = path.lastIndexOf('/', end - 1);
    if (end === -1) return null;
  }
}

export function compileMatcher(table: RoutingTable, reuse?: CompiledHosts): Matcher {
  const backends = new Map(table.backends.map((b) => [b.id, b] as const));
  const exactHosts = new Map<string, CompiledHost>();
  const wildcardHosts = new Map<string, CompiledHost>(); // key: the suffix after `*.`
  let anyHost: CompiledHost | null = null;
  for (const h of table.hosts) {
    let c = reuse?.get(h);
    if (c === undefined) {
      c = compileHost(h);
      if (reuse !== undefined && isDeepFrozen(h)) reuse.set(h, c);
    }
    if (h.host === '') anyHost = c;
    else if (h.host.startsWith('*.')) wildcardHosts.set(h.host.slice(2), c);
    else exactHosts.set(h.host, c);
  }
  const defaultBackend = table.defaultBackend === null ? null : (backends.get(table.defaultBackend) ?? null);
  const defaultFailClosed = table.defaultBackendFailClosed ?? null;

  // Exact host beats wildcard; a wildcard covers exactly one extra label; rules without host last.
  const findHost = (rawHost: string): CompiledHost | null => {
    const host = normalizeHost(rawHost);
    const exact = exactHosts.get(host);
    if (exact !== undefined) return exact;
    if (wildcardHosts.size !== 0) {
      const dot = host.indexOf('.');
      // The extra label must itself be a DNS label, so a Host like `a/b.foo.com` never matches `*.foo.com`.
      if (dot > 0 && DNS_LABEL.test(host.slice(0, dot))) {
        const w = wildcardHosts.get(host.slice(dot + 1));
        if (w !== undefined) return w;
      }
    }
    return anyHost;
  };

  return {
    table,
    backend: (id) => backends.get(id),
    lookupHost: (rawHost) => findHost(rawHost)?.entry ?? null,
    match(rawHost, rawPath) {
      const h = findHost(rawHost);
      const path = normalizePath(rawPath);
      if (h !== null) {
        let route: Route | null;
        let captures: readonly string[] | null = null;
        if (h.regex === null) route = matchPath(h, routingPath(rawPath, path));
        else {
          // nginx matches regex locations against the decoded path, and rewrites it from the same captures.
          const hit = h.regex.find(routingPath(rawPath, path));
          route = hit === null ? null : hit.value;
          captures = hit === null ? null : hit.captures;
        }
        const template = route?.policies.rewrite?.path === undefined ? undefined : h.rewrites?.get(route);
        const upstreamPath = template === undefined ? path : expandRewrite(template, captures);
        if (route !== null)
          return {
            reason: 'route',
            path,
            upstreamPath,
            host: h.entry,
            route,
            backend: backends.get(route.backend) ?? null,
            failClosed: route.policies.failClosed ?? null,
          };
        const fallback = h.entry.fallbackBackend === null ? undefined : backends.get(h.entry.fallbackBackend);
        if (fallback !== undefined)
          return {
            reason: 'host-fallback',
            path,
            upstreamPath: path,
            host: h.entry,
            route: null,
            backend: fallback,
            failClosed: h.entry.fallbackFailClosed ?? null,
          };
      }
      if (defaultBackend !== null)
        return {
          reason: 'default-backend',
          path,
          upstreamPath: path,
          host: h?.entry ?? null,
          route: null,
          backend: defaultBackend,
          failClosed: defaultFailClosed,
        };
      return { reason: 'no-match', path, upstreamPath: path, host: h?.entry ?? null, route: null, backend: null, failClosed: null };
    },
  };
}
