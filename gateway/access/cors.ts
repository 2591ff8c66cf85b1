// CORS at the edge, as ingress-nginx's nginx template does it (its CORS section; test/e2e/annotations/cors.go):
//   - `*` (no origin list): every request gets the headers, Access-Control-Allow-Origin `*`, and every OPTIONS
//     request is answered 204 at the edge (the template sets $cors unconditionally).
//   - an origin list: only a request whose Origin is in the list gets the headers, Access-Control-Allow-Origin being
//     that Origin as sent; an OPTIONS request from it is answered 204. Any other request passes untouched ("the
//     client should still receive a response but browsers should block the request"), OPTIONS included.
// The headers go on every response (more_set_headers applies to every status, an auth 401 too: auth.go "should
// return status code 401 and cors headers when authentication and cors is configured") and replace the upstream's
// headers of the same names (more_set_headers replaces, where add_header would add a second one).
// Pure: the gate (gate.ts) asks, the forwarders apply what it says.
import type { CorsPolicy } from '../table/schema.ts';
import { type OriginParts, originAllowed, parseOrigin } from '../table/validate-cors.ts';

export type CorsDecision =
  /** Answer now: 204 with these headers (nginx's `return 204` in its rewrite phase, before auth). */
  | { kind: 'preflight'; headers: [string, string][] }
  /** Go on; `headers` go on every response, replacing the upstream's headers named in `replaces` (lower-case). */
  | { kind: 'pass'; headers: [string, string][]; replaces: string[] };

/** The allowed origins in parts, parsed once per policy (a table is never changed after validate()). */
const parsedOrigins = new WeakMap<CorsPolicy, OriginParts[]>();

function allowedOrigins(p: CorsPolicy, origins: string[]): OriginParts[] {
  let parsed = parsedOrigins.get(p);
  if (parsed === undefined) {
    // validate() refused every origin that does not parse, so nothing is dropped here.
    parsed = origins.map((o) => parseOrigin(o, true)).filter((o): o is OriginParts => o !== null);
    parsedOrigins.set(p, parsed);
  }
  return parsed;
}

/** What `Access-Control-Allow-Origin` says for this request, or null when it gets no CORS headers. */
function allowOrigin(p: CorsPolicy, origin: string | null): string | null {
  if (p.origins === undefined) return '*'; // the template's `set $http_origin *`: even without an Origin header
  if (origin === null) return null;
  const o = parseOrigin(origin.trim(), false);
  if (o === null) return null;
  return allowedOrigins(p, p.origins).some((a) => originAllowed(a, o)) ? origin.trim() : null;
}

export function corsDecision(p: CorsPolicy, method: string, origin: string | null): CorsDecision {
  // With an origin list the answer depends on the Origin header, so caches must key on it (the Fetch standard,
  // "CORS protocol and HTTP caches"; ingress-nginx sends no Vary). Not replacing: the upstream's Vary stays.
  const vary: [string, string][] = p.origins === undefined ? [] : [['vary', 'Origin']];
  const allowed = allowOrigin(p, origin);
  if (allowed === null) return { kind: 'pass', headers: vary, replaces: [] };
  // The template's order: Origin, Credentials, Methods, Headers, Expose-Headers, Max-Age.
  const cors: [string, string][] = [['access-control-allow-origin', allowed]];
  if (p.credentials) cors.push(['access-control-allow-credentials', 'true']);
  cors.push(['access-control-allow-methods', p.methods.join(', ')], ['access-control-allow-headers', p.allowHeaders.join(',')]);
  if (p.exposeHeaders !== undefined) cors.push(['access-control-expose-headers', p.exposeHeaders.join(', ')]);
  cors.push(['access-control-max-age', String(p.maxAge)]);
  // The template's preflight also sets Content-Type `text/plain charset=UTF-8` and Content-Length 0, but nginx's
  // header filter drops both from every 204 (ngx_http_header_filter_module), so a preflight answer carries neither.
  if (method === 'OPTIONS') return { kind: 'preflight', headers: [...cors, ...vary] };
  return { kind: 'pass', headers: [...cors, ...vary], replaces: cors.map(([name]) => name) };
}
