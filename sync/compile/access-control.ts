// Access-control annotations Portico does not enforce yet, and the fail-closed rule for them.
//
// An Ingress written for ingress-nginx may guard its routes with annotations (forward auth, basic auth,
// source ranges, rate limits, client certificates, CORS, response headers). Serving such a route without
// its guard would turn a private route public on the day of a migration, so until an annotation is
// honoured its routes answer 503 with a Warning diagnostic (fail closed), whatever the value says: an
// unknown, malformed or missing-Secret guard can never mean "no guard".
//
// The names follow ingress-nginx's annotation docs (docs/user-guide/nginx-configuration/annotations.md)
// and its parsers (internal/ingress/annotations/{auth,authreq,authtls,cors,customheaders,globalratelimit,
// ipallowlist,ipdenylist,ratelimit,satisfy}).
import { NGINX_PREFIX, PORTICO_PREFIX } from './annotation-prefixes.ts';
import { goBool } from './annotation-values.ts';

/** Where a guard applies: the Ingress's own routes, or (client certificates, which nginx checks during the
 * TLS handshake of the whole server) every route of the Ingress's hosts, whichever Ingress owns them. */
type GuardScope = 'routes' | 'hosts';

export interface UnenforcedGuard {
  key: string;
  scope: GuardScope;
}

/** ingress-nginx annotation names (without the prefix) that guard access, exactly. */
const NGINX_GUARDS: ReadonlySet<string> = new Set([
  // Source ranges (ipallowlist, ipdenylist)
  'whitelist-source-range',
  'allowlist-source-range',
  'denylist-source-range',
  // Satisfy any/all between auth and source ranges
  'satisfy',
  // CORS: the policy says which origins may read responses; enable-cors "false" asks for nothing. The
  // ingress-nginx spelling of enable-cors and of the cors-* names ingress-nginx reads is enforced
  // (cors-annotations.ts) and never reaches guardOf(); this entry and the `cors-` prefix still close the routes
  // for the portico.dev/ spelling and for cors-* names ingress-nginx does not have.
  'enable-cors',
  // Response headers from a ConfigMap (security headers such as Content-Security-Policy live here). The
  // ingress-nginx spelling is enforced (custom-headers.ts) and never reaches guardOf(); this entry still closes the
  // routes for the portico.dev/ spelling.
  'custom-headers',
  // Snippets are raw nginx configuration, never run; they may hold access rules (`allow`, `deny`,
  // `auth_request`, `if (...) { return 403; }`) Portico cannot see, so they close the routes rather than be
  // ignored. ingress-nginx itself refuses them by default since v1.9 (allow-snippet-annotations: false). The
  // ingress-nginx spelling of configuration-snippet and server-snippet is read by snippet-annotations.ts (literal
  // header directives become header rules, anything else closes as here) and never reaches guardOf(); these entries
  // still close the routes for the portico.dev/ spelling, and modsecurity-snippet always.
  'configuration-snippet',
  'modsecurity-snippet',
]);

/** Snippets at the level of the whole server (nginx `server {}`): they close every route of the hosts (the
 * ingress-nginx spelling through snippet-annotations.ts, when refused). */
const NGINX_HOST_GUARDS: ReadonlySet<string> = new Set(['server-snippet']);

/** ingress-nginx annotation name prefixes that guard access: basic/digest auth, external auth and client
 * certificates (`auth-`), CORS details (`cors-`), request and connection limits (`limit-`, except the
 * response bandwidth limits below), and the global rate limit. The ingress-nginx spelling of limit-rps,
 * limit-rpm, limit-burst-multiplier, limit-connections, limit-allowlist and limit-whitelist is enforced
 * (limit-annotations.ts), and so are global-rate-limit, -window, -key and -ignored-cidrs
 * (global-rate-limit-annotations.ts): none of them reaches guardOf(); the prefixes still close the routes for
 * their portico.dev/ spelling and for any other limit-* or global-rate-limit* name. */
const NGINX_GUARD_PREFIXES: readonly string[] = ['auth-', 'cors-', 'limit-', 'global-rate-limit'];

/** Bandwidth shaping of responses (`limit_rate`), not access control: reported as unsupported instead. */
const NGINX_NOT_GUARDS: ReadonlySet<string> = new Set(['limit-rate', 'limit-rate-after']);

/** Annotations that switch a guard on, read as ingress-nginx does (parser.GetBoolAnnotation: strconv.ParseBool),
 * whose value "false" asks for no guard at all. Any other value, malformed included, fails closed. */
const OFF_SWITCHES: ReadonlySet<string> = new Set(['enable-cors']);

/** `enable-global-auth` only opts an Ingress out of a global auth URL, which Portico does not have: with no
 * global auth there is nothing to enforce, whatever its value. */
const NO_GUARD_WITHOUT_GLOBAL_AUTH = 'enable-global-auth';

function guardScope(name: string): GuardScope | null {
  if (NGINX_NOT_GUARDS.has(name) || name === NO_GUARD_WITHOUT_GLOBAL_AUTH) return null;
  if (name.startsWith('auth-tls-') || NGINX_HOST_GUARDS.has(name)) return 'hosts';
  if (NGINX_GUARDS.has(name) || NGINX_GUARD_PREFIXES.some((p) => name.startsWith(p))) return 'routes';
  return null;
}

/** The guard an annotation asks for, or null when it does not guard access (or is switched off). The same
 * names count under Portico's prefix: the `portico.dev/auth-jwt-*` names Portico reads are enforced
 * (jwt-annotations.ts) and never reach guardOf(), any other `portico.dev/auth-*` name closes the routes, and an
 * ingress-nginx guard written with Portico's prefix by mistake must not leave a route open either. */
export function guardOf(key: string, value: unknown): UnenforcedGuard | null {
  const prefix = key.startsWith(NGINX_PREFIX) ? NGINX_PREFIX : key.startsWith(PORTICO_PREFIX) ? PORTICO_PREFIX : null;
  if (prefix === null) return null;
  const name = key.slice(prefix.length);
  const scope = guardScope(name);
  if (scope === null) return null;
  if (OFF_SWITCHES.has(name) && typeof value === 'string' && goBool(value) === false) return null;
  return { key, scope };
}

export function unenforcedMessage(g: UnenforcedGuard): string {
  const where = g.scope === 'hosts' ? "every route of this Ingress's hosts answers" : 'the routes of this Ingress answer';
  const why = g.key.endsWith('snippet')
    ? 'is never supported (snippets inject raw configuration text into the proxy)'
    : 'is not enforced by Portico yet';
  return `annotation ${JSON.stringify(g.key)} guards access and ${why}, so ${where} 503 (fail closed) instead of serving without the guard`;
}
