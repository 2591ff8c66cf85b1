// Header rules of the proxy hop (RFC 9110 7.6.1): hop-by-hop headers never cross the proxy in either
// direction, and the X-Forwarded-* set is written by the edge, never trusted from the client (an edge
// gateway is the first hop; a client could otherwise forge its address).
import { HOP_BY_HOP } from '../shared/hop-by-hop.ts';
import { survives } from '../header-rules.ts';
import { ADD_HEADER_STATUSES } from '../table/header-rules.ts';
import { TUNNEL_HEADER_PREFIX } from '../table/tunnel-protocol.ts';
import { SERVER_NAME } from '../responses.ts';

/** Headers the edge sets itself on the request it forwards. */
const EDGE_SET = new Set([
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-real-ip',
  'x-request-id',
  'host',
]);

export interface ForwardFacts {
  /** Host as the client sent it (Host header, or :authority over HTTP/2). */
  host: string;
  clientIp: string;
  scheme: 'http' | 'https';
  /** The port the client connected to. */
  localPort: number;
  requestId: string;
  /** Set only behind a trusted proxy: see RequestFacts. */
  forwardedFor?: string;
  forwardedHost?: string;
  /** The peer is a trusted proxy whose forwarding headers are believed: its `Forwarded` passes. */
  trustedForwarder?: true;
}

/** The usual Connection values, which list no extra header (a fast path: every upstream response has one). */
const PLAIN_CONNECTION = /^\s*(?:keep-alive|close)\s*$/i;

/** Extra hop-by-hop names listed in a Connection header (`Connection: close, x-foo`). */
function connectionListed(value: string | undefined): Set<string> | null {
  if (value === undefined || value === '' || PLAIN_CONNECTION.test(value)) return null;
  let listed: Set<string> | null = null;
  for (const tok of value.split(',')) {
    const t = tok.trim().toLowerCase();
    if (t !== '' && t !== 'close' && t !== 'keep-alive') (listed ??= new Set()).add(t);
  }
  return listed;
}

/** Builds the flat `[name, value, ...]` header list sent upstream from the client's raw headers. */
export function upstreamRequestHeaders(raw: readonly string[], connection: string | undefined, f: ForwardFacts): string[] {
  const listed = connectionListed(connection);
  const out: string[] = ['host', f.host];
  let cookies: string[] | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.charCodeAt(0) === 58 /* : */) continue; // HTTP/2 pseudo-headers
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || EDGE_SET.has(lower) || listed?.has(lower)) continue;
    // nginx's `underscores_in_headers off` with `ignore_invalid_headers on` drops names with an underscore: a CGI-style
    // upstream reads `X_Forwarded_For` as X-Forwarded-For (both become HTTP_X_FORWARDED_FOR).
    if (name.indexOf('_') !== -1) continue;
    // Forwarded (RFC 7239) names the client, host and scheme like the X-Forwarded-* the edge writes: from a client
    // it is a forgery, so only a trusted proxy's passes (gateway/access/client-address.ts).
    if (lower === 'forwarded' && f.trustedForwarder !== true) continue;
    // portico-* headers are the tunnel's protocol (gateway/table/tunnel-protocol.ts): a client never gets to set them.
    if (lower.charCodeAt(0) === 112 /* p */ && lower.startsWith(TUNNEL_HEADER_PREFIX)) continue;
    // HTTP/2 clients split cookies into several fields; HTTP/1.1 upstreams need one (RFC 9113 8.2.3).
    if (lower === 'cookie') (cookies ??= []).push(raw[i + 1]!);
    else out.push(name, raw[i + 1]!);
  }
  if (cookies !== null) out.push('cookie', cookies.join('; '));
  out.push(
    'x-forwarded-for',
    f.forwardedFor ?? f.clientIp,
    'x-forwarded-proto',
    f.scheme,
    'x-forwarded-host',
    f.forwardedHost ?? f.host,
    'x-forwarded-port',
    String(f.localPort),
    'x-real-ip',
    f.clientIp,
    'x-request-id',
    f.requestId,
  );
  return out;
}

/** Filters an upstream response's raw headers (undici gives Buffers) into a flat string list. One pass;
 * a second only in the rare case that the upstream's Connection header names extra headers. */
export function downstreamResponseHeaders(raw: readonly (Buffer | string)[]): string[] {
  const out: string[] = [];
  let listed: Set<string> | null = null;
  let server = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1');
    const lower = name.toLowerCase();
    if (lower === 'server') server = true;
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'connection') listed = connectionListed(raw[i + 1]!.toString('latin1'));
      continue;
    }
    // The tunnel's protocol headers never pass a hop: an application cannot fake a tunnel error report
    // (which would make a worker resend a request) nor leak one to clients.
    if (lower.charCodeAt(0) === 112 /* p */ && lower.startsWith(TUNNEL_HEADER_PREFIX)) continue;
    out.push(name, raw[i + 1]!.toString('latin1'));
  }
  // The ingress-controller conformance suite expects a Server header on every answer; nginx's proxy module sends
  // its own when the upstream's is absent. Portico's name, without a version (as server_tokens off).
  if (!server) out.push('server', SERVER_NAME);
  if (listed === null) return out;
  const kept: string[] = [];
  for (let i = 0; i < out.length; i += 2) if (!listed.has(out[i]!.toLowerCase())) kept.push(out[i]!, out[i + 1]!);
  return kept;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Keeps a client's well-formed X-Request-Id (tracing across hops), else makes a new one. */
export function requestIdFor(incoming: string | undefined, make: () => string): string {
  return incoming !== undefined && REQUEST_ID.test(incoming) ? incoming : make();
}

/** `flat` with every header named in `overrides` replaced by its value there, or removed (null): the headers an
 * auth service's answer sets on the upstream request (auth-response-headers) win over the client's. */
export function withOverrides(flat: readonly string[], overrides: readonly (readonly [string, string | null])[]): string[] {
  const names = new Set(overrides.map(([n]) => n));
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) if (!names.has(flat[i]!.toLowerCase())) out.push(flat[i]!, flat[i + 1]!);
  // validate() refuses such names; this keeps the tunnel protocol's headers out whatever a table says.
  for (const [name, value] of overrides) if (value !== null && !name.toLowerCase().startsWith(TUNNEL_HEADER_PREFIX)) out.push(name, value);
  return out;
}

/** `flat` plus the headers the access gate and the route's header rules add to the client's response with
 * `status`, without the upstream's headers named in `replace` or starting with one of `removePrefixes`
 * (lower-case; CORS headers replace the upstream's, as more_set_headers does). `onSuccess` only on the statuses
 * of nginx's add_header without `always` (ADD_HEADER_STATUSES). */
export function withResponseAdditions(
  flat: string[],
  add:
    | {
        always: readonly (readonly [string, string])[];
        onSuccess: readonly (readonly [string, string])[];
        replace?: readonly string[];
        removePrefixes?: readonly string[];
      }
    | undefined,
  status: number,
): string[] {
  if (add === undefined) return flat;
  const success = ADD_HEADER_STATUSES.has(status);
  const replace = add.replace ?? [];
  const prefixes = add.removePrefixes;
  if (add.always.length === 0 && replace.length === 0 && (prefixes?.length ?? 0) === 0 && (!success || add.onSuccess.length === 0))
    return flat;
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) if (survives(flat[i]!.toLowerCase(), replace, prefixes)) out.push(flat[i]!, flat[i + 1]!);
  for (const [k, v] of add.always) out.push(k, v);
  if (success) for (const [k, v] of add.onSuccess) out.push(k, v);
  return out;
}
