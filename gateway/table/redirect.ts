// Routing filters of schema 5, named after Gateway API HTTPRoute filters (RequestRedirect, URLRewrite,
// RequestHeaderModifier) so that HTTPRoute can later fill the same fields. The ingress-nginx annotations that
// produce them are named on each; the grammar here is shared by the compiler (a value that does not fit is a
// Warning and is ignored) and validate() (a table that carries one is refused), and what validate() checks
// (validate-redirect.ts) is exactly what the request path relies on.
import { HEADER_NAME, isCopyableHeader } from './header-names.ts';
import { isValidHostName } from './names.ts';

/** The redirect codes ingress-nginx accepts for permanent-redirect-code (300-308) and temporal-redirect-code
 * (300-307), internal/ingress/annotations/redirect/redirect.go. */
export type RedirectStatus = 300 | 301 | 302 | 303 | 304 | 305 | 306 | 307 | 308;

/** permanent-redirect (default 301) / temporal-redirect (default 302): nginx's `return <code> <url>;`, so the
 * Location is the value as written and the request's path and query are not appended. */
export interface LocationRedirect {
  statusCode: RedirectStatus;
  /** An absolute http(s) URL, or a path (starting `/`). */
  location: string;
  /** relative-redirects: a path is sent as written (nginx's `absolute_redirect off`); absent: nginx makes it
   * absolute with the request's scheme and host. */
  relative?: true;
}

/** app-root: nginx's `if ($uri = /) { return 302 $scheme://$http_host<path>; }` — the query is not kept. */
export interface PathRedirect {
  statusCode: 302;
  /** The path that replaces `/` (Gateway API ReplaceFullPath). */
  replaceFullPath: string;
}

/** force-ssl-redirect: ingress-nginx's lua_ingress redirect to `https://$redirect_host$request_uri` with the
 * ssl-redirect code (308), for plain-HTTP requests whatever the host's TLS. */
export interface SchemeRedirect {
  scheme: 'https';
  statusCode: 308;
}

/** Gateway API URLRewrite: at least one of the two. */
export interface UrlRewrite {
  /** upstream-vhost: `proxy_set_header Host <value>;`. A DNS name, optionally with `:port`, as the upstream gets it. */
  hostname?: string;
  /** rewrite-target: nginx's `rewrite "(?i)<path>" <target> break;`, which replaces the whole path (the query is
   * kept). A template, never configuration text: `/` followed by URL path characters, where `$1`..`$9` stand for
   * the capture groups of the route's Regex path (an absent group is ""), expanded per request from the captures
   * (gateway/table/rewrite.ts). */
  path?: string;
}

/** Headers set on the upstream request, replacing the client's (Gateway API RequestHeaderModifier `set`):
 * x-forwarded-prefix's `proxy_set_header X-Forwarded-Prefix "<value>";`. */
export interface HeaderModifier {
  /** [lower-case name, value], sorted by name, names distinct. */
  set: [string, string][];
}

/** from-to-www-redirect: the other name's server answers `return 308 $scheme://<hostname>$request_uri;`. */
export interface HostRedirect {
  statusCode: 308;
  hostname: string;
}

export const MAX_LOCATION = 2048;
const VISIBLE = /^[\x21-\x7e]*$/;

/** Why a value cannot be a redirect location (permanent-redirect, temporal-redirect), or null. ingress-nginx's
 * validator takes an http(s) URL; a path is what relative-redirects is for. Visible ASCII only: the value becomes
 * a response header. */
export function locationProblem(v: string): string | null {
  if (v.length === 0 || v.length > MAX_LOCATION) return `must be 1 to ${MAX_LOCATION} characters`;
  if (!VISIBLE.test(v)) return 'must be visible ASCII (no spaces or control characters)';
  if (v.startsWith('/')) return v.startsWith('//') ? 'must not start with "//" (a path, or an http(s) URL)' : null;
  const m = /^https?:\/\/([^/?#]+)(?:[/?#].*)?$/i.exec(v);
  if (m === null) return 'must be an http or https URL, or a path starting with "/"';
  const authority = m[1]!.replace(/:\d{1,5}$/, '').toLowerCase();
  return isValidHostName(authority) || /^\[[0-9a-f:.]+\]$/.test(authority) || /^\d+\.\d+\.\d+\.\d+$/.test(authority)
    ? null
    : 'names no valid host';
}

/** Why a value cannot be an app-root path, or null: a path (ingress-nginx refuses an absolute URL). */
export function rootPathProblem(v: string): string | null {
  if (!v.startsWith('/') || v.startsWith('//')) return 'must be a path starting with a single "/"';
  if (v.length > MAX_LOCATION) return `must be at most ${MAX_LOCATION} characters`;
  return VISIBLE.test(v) ? null : 'must be visible ASCII (no spaces or control characters)';
}

/** Why a value cannot be the upstream's Host (upstream-vhost), or null. */
export function vhostProblem(v: string): string | null {
  const m = /^([^:]+)(?::(\d{1,5}))?$/.exec(v);
  if (m === null || !isValidHostName(m[1]!.toLowerCase())) return 'must be a DNS name, optionally with ":port"';
  if (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535)) return 'has a port outside 1-65535';
  return null;
}

export const MAX_HEADER_VALUE = 1024;
/** Why [name, value] cannot be set on the upstream request, or null. */
export function setHeaderProblem(name: string, value: string): string | null {
  if (!HEADER_NAME.test(name) || !isCopyableHeader(name)) return `${JSON.stringify(name)} is not a header the edge may set`;
  if (value.length === 0 || value.length > MAX_HEADER_VALUE || !/^[\x20-\x7e]+$/.test(value))
    return `the value must be 1 to ${MAX_HEADER_VALUE} visible ASCII characters or spaces`;
  return null;
}
