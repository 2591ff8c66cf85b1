// Header rules of a route (schema 6): the typed form of the header directives people write in ingress-nginx's
// configuration-snippet and server-snippet (sync/compile/snippet-headers.ts), applied by the edge on every
// runtime (gateway/header-rules.ts). Named after Gateway API's RequestHeaderModifier and ResponseHeaderModifier
// filters (`set`, `remove`; `add` for responses), plus nginx add_header's status rule. The grammar here is shared
// by the compiler and validate-header-rules.ts, so both refuse the same names and values.
import { HEADER_NAME, isCopyableHeader } from './header-names.ts';

/** The upstream request (proxy_set_header, more_set_input_headers, more_clear_input_headers). */
export interface RequestHeaderRules {
  /** [lower-case name, value], sorted by name, distinct: replaces the client's header of that name. */
  set?: [string, string][];
  /** Lower-case names, sorted, distinct, none also in `set`: the client's header of that name never reaches the
   * upstream. */
  remove?: string[];
}

/** The client's response. Applied in this order, as nginx's filters run: headers-more's filter (`remove`, `set`)
 * before the headers module's add_header (`add`, `addAlways`). */
export interface ResponseHeaderRules {
  /** more_clear_headers (and more_set_headers with no value): lower-case names, or a prefix ending in `*` (the
   * headers-more wildcard), sorted, distinct, no name also in `set`. Removed from every answer. */
  remove?: string[];
  /** more_set_headers: [lower-case name, value] sorted by name, distinct: on every answer, replacing the upstream's
   * header of that name (headers-more applies to every status unless `-s` says otherwise). */
  set?: [string, string][];
  /** add_header: [lower-case name, value] in written order (a name may repeat), added, never replacing, only to the
   * statuses of ADD_HEADER_STATUSES. */
  add?: [string, string][];
  /** add_header ... always: the same on every status. */
  addAlways?: [string, string][];
}

export interface HeaderRules {
  request?: RequestHeaderRules;
  response?: ResponseHeaderRules;
}

/** The statuses nginx's add_header applies to without `always` (ngx_http_headers_module documentation: 200, 201,
 * 204, 206, 301, 302, 303, 304, 307, 308). */
export const ADD_HEADER_STATUSES: ReadonlySet<number> = new Set([200, 201, 204, 206, 301, 302, 303, 304, 307, 308]);

/** Entries in one list of a route's rules. */
export const MAX_HEADER_RULES = 64;
/** Characters in one value (nginx's default large_client_header_buffers line is 8 KiB; half of it). */
export const MAX_RULE_VALUE = 4096;

/** Headers the edge writes itself on every upstream request (gateway/proxy/headers.ts) and that ingress-nginx's
 * template sets with proxy_set_header in every location, so a snippet's copy would be a second line (sent twice by
 * nginx). Host has upstream-vhost. */
const EDGE_REQUEST_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-real-ip',
  'x-request-id',
]);

/** Response headers that frame the message or belong to one hop (RFC 9110 §7.6.1, RFC 9112 §6): the edge writes
 * them for its own connection with the client. headers-more cannot remove Connection either (its Limitations). */
const RESPONSE_FRAMING: ReadonlySet<string> = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
]);

/** A `*` is a token character (RFC 9110 §5.6.2), but headers-more reads a trailing one as a wildcard: names with
 * one are refused, so a name is never a pattern by accident. */
const STAR = 'holds a "*" (headers-more reads a trailing "*" as a wildcard; only more_clear_headers takes one)';

/** Why `name` (lower-case) cannot be set or removed on the upstream request, or null. */
export function requestNameProblem(name: string): string | null {
  if (!HEADER_NAME.test(name)) return 'is not a header name (an RFC 9110 token of 1 to 64 characters)';
  if (name.includes('*')) return STAR;
  if (EDGE_REQUEST_HEADERS.has(name)) return 'is set by the edge itself on every upstream request (use upstream-vhost for Host)';
  if (!isCopyableHeader(name)) return 'frames the message or belongs to one hop (or to the tunnel), so the edge writes it itself';
  return null;
}

/** Why `name` (lower-case) cannot be set, added or removed on the client's response, or null. */
export function responseNameProblem(name: string): string | null {
  if (!HEADER_NAME.test(name)) return 'is not a header name (an RFC 9110 token of 1 to 64 characters)';
  if (name.includes('*')) return STAR;
  if (RESPONSE_FRAMING.has(name) || name.startsWith('portico-'))
    return 'frames the message or belongs to one hop (or to the tunnel), so the edge writes it itself';
  return null;
}

/** Why `p` cannot be a removal prefix (`x-hidden-*`, lower-case, the `*` included), or null. */
export function prefixProblem(p: string): string | null {
  if (!p.endsWith('*') || p.length < 2) return 'a wildcard is a name prefix of at least one character followed by "*"';
  const stem = p.slice(0, -1);
  if (!/^[a-z0-9!#$%&'+.^_`|~-]{1,63}$/.test(stem)) return 'the part before "*" is not the start of a header name (one "*", at the end)';
  if (stem.startsWith('portico-') || 'portico-'.startsWith(stem)) return 'would remove the tunnel protocol headers';
  return null;
}

/** Why `v` cannot be a header value, or null: 1 to MAX_RULE_VALUE visible ASCII characters or spaces, no space
 * at either end (HTTP drops it anyway, RFC 9110 §5.5), never CR, LF or another control character. */
export function valueProblem(v: string): string | null {
  if (v.length === 0 || v.length > MAX_RULE_VALUE) return `must be 1 to ${MAX_RULE_VALUE} characters`;
  if (!/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(v))
    return 'must be visible ASCII characters or spaces (no control characters, no space at either end)';
  return null;
}
