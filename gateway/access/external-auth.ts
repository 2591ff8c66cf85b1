// External authentication (ingress-nginx's auth-url, nginx auth_request): before a request goes upstream, a
// subrequest without body carrying the client's headers asks the auth service. What the answer means follows
// nginx's auth_request module (https://nginx.org/en/docs/http/ngx_http_auth_request_module.html) and
// ingress-nginx's template and e2e tests (test/e2e/annotations/auth.go):
//   2xx                → the request goes upstream; auth-response-headers are copied onto it, replacing the
//                        client's; the answer's Set-Cookie reaches the client (on 2xx/3xx, or always)
//   401 with a sign-in → 302 to the sign-in URL with the original URL in its `rd` (or chosen) parameter
//   401                → 401 to the client, with the answer's WWW-Authenticate
//   403                → 403 to the client
//   anything else, no answer, a timeout → 500, never the upstream
import { HOP_BY_HOP } from '../shared/hop-by-hop.ts';
import type { ExternalAuthPolicy } from '../table/schema.ts';
import type { AuthCache } from './auth-cache.ts';
import { escapeUriComponent, expand, type RequestVariables } from './variables.ts';

/** One subrequest: the edge's HTTP client of the runtime (undici on Node, fetch elsewhere). */
export interface AuthRequest {
  url: string;
  method: string;
  headers: [string, string][];
}
export interface AuthAnswer {
  status: number;
  /** Lower-case names; a header sent several times appears several times. */
  headers: [string, string][];
}
export type AuthClient = (r: AuthRequest) => Promise<AuthAnswer>;

export type AuthVerdict =
  | {
      kind: 'allow';
      /** Headers to set on the upstream request (null: remove the client's). */
      upstreamHeaders: [string, string | null][];
      /** Set-Cookie values of the auth answer, for the client's response. */
      cookies: string[];
    }
  | { kind: 'respond'; status: 302 | 401 | 403 | 500; headers: [string, string][] };

/** Request headers never passed to the auth service: hop-by-hop (RFC 9110 §7.6.1), the body's (it gets no
 * body), the ones the edge sets itself, and the tunnel protocol's. */
const NOT_PASSED = new Set([
  ...HOP_BY_HOP,
  'content-length',
  'host',
  'x-original-url',
  'x-original-method',
  'x-sent-from',
  'x-real-ip',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-request-id',
  'x-auth-request-redirect',
  'x-original-uri',
  'x-scheme',
]);

export interface AuthContext extends RequestVariables {
  /** The client's headers, lower-case names, in order. */
  headers: readonly (readonly [string, string])[];
  requestId: string;
  /** What a cached answer is scoped to (the route), so two routes never share answers (auth.go: "should deny
   * login for different location on same server"). */
  scope: string;
}

/** The subrequest, as ingress-nginx's external auth location builds it. */
export function authRequest(p: ExternalAuthPolicy, r: AuthContext): AuthRequest {
  const headers: [string, string][] = [];
  for (const [name, value] of r.headers) if (!NOT_PASSED.has(name) && !name.startsWith('portico-')) headers.push([name, value]);
  const requestUri = r.path + r.search;
  headers.push(
    ['x-original-url', `${r.scheme}://${r.httpHost}${requestUri}`],
    ['x-original-method', r.method],
    ['x-sent-from', 'nginx-ingress-controller'], // what auth services written for ingress-nginx look for
    ['x-real-ip', r.clientIp],
    ['x-forwarded-for', r.clientIp],
    ['x-request-id', r.requestId],
    ['x-auth-request-redirect', p.requestRedirect === undefined ? requestUri : expand(p.requestRedirect, r)],
  );
  // With auth-method, ingress-nginx also passes the request URI and scheme (proxy_method changes the request).
  if (p.method !== undefined) headers.push(['x-original-uri', requestUri], ['x-scheme', r.scheme]);
  const url = expand(p.url, r);
  const method = p.method ?? r.method;
  if (p.proxySetHeaders === undefined) return { url, method, headers };
  return { url, method, headers: withProxySetHeaders(headers, p.proxySetHeaders, r) };
}

/** auth-proxy-set-headers: each entry replaces the header of that name (the client's or the edge's), as nginx's
 * proxy_set_header hides the client's copy; a value that expands to "" sends none (nginx: "If the value of a
 * header field is an empty string then this field will not be passed"). Names are lower-case in the table. A
 * variable's value comes from the request, so line breaks are removed (as signinLocation does) and the value is trimmed
 * (RFC 9110 §5.5: a field value has no leading or trailing whitespace). */
function withProxySetHeaders(headers: [string, string][], set: readonly [string, string][], r: RequestVariables): [string, string][] {
  const names = new Set(set.map(([n]) => n));
  const out = headers.filter(([n]) => !names.has(n));
  for (const [name, template] of set) {
    const value = expand(template, r)
      .replace(/[\r\n\0]/g, '')
      .trim();
    if (value !== '') out.push([name, value]);
  }
  return out;
}

/** The sign-in Location (ingress-nginx's buildAuthSignURL): the redirect parameter is added unless the sign-in
 * URL already has it; its value is `$pass_access_scheme://$http_host$escaped_request_uri`. */
export function signinLocation(p: ExternalAuthPolicy, r: RequestVariables): string {
  const signin = p.signin ?? '';
  const param = p.signinRedirectParam ?? 'rd';
  const q = signin.indexOf('?');
  const query = q === -1 ? '' : signin.slice(q + 1);
  const has = query.split('&').some((kv) => kv.split('=')[0] === param && kv.length > param.length + 1);
  // The original URL is appended after expanding the template, so nothing a client sends is read as a variable.
  const base = expand(signin, r);
  const location = has
    ? base
    : `${base}${q === -1 ? '?' : '&'}${param}=${r.scheme}://${r.httpHost}${escapeUriComponent(r.path + r.search)}`;
  return location.replace(/[\r\n]/g, '');
}

const values = (a: AuthAnswer, name: string): string[] => a.headers.filter(([n]) => n === name).map(([, v]) => v);

/** What an answer of the auth service means for the request. */
export function verdictOf(p: ExternalAuthPolicy, a: AuthAnswer, r: RequestVariables): AuthVerdict {
  if (a.status >= 200 && a.status < 300) {
    const upstreamHeaders: [string, string | null][] = (p.responseHeaders ?? []).map((name) => {
      const v = values(a, name);
      return [name, v.length === 0 ? null : v.join(', ')];
    });
    return { kind: 'allow', upstreamHeaders, cookies: values(a, 'set-cookie') };
  }
  if (a.status === 401 && p.signin !== undefined) return { kind: 'respond', status: 302, headers: [['location', signinLocation(p, r)]] };
  if (a.status === 401) return { kind: 'respond', status: 401, headers: values(a, 'www-authenticate').map((v) => ['www-authenticate', v]) };
  if (a.status === 403) return { kind: 'respond', status: 403, headers: [] };
  return { kind: 'respond', status: 500, headers: [] };
}

/** Asks the auth service (or the cache) about one request. A client error (unreachable, timeout) is 500. */
export async function authorize(p: ExternalAuthPolicy, r: AuthContext, client: AuthClient, cache: AuthCache | null): Promise<AuthVerdict> {
  const key = p.cache === undefined || cache === null ? null : `${r.scope}\u0000${expand(p.cache.key, r)}`;
  const cached = key === null ? undefined : cache!.get(key);
  let answer: AuthAnswer;
  if (cached !== undefined) {
    answer = cached;
  } else {
    try {
      answer = await client(authRequest(p, r));
    } catch {
      return { kind: 'respond', status: 500, headers: [] };
    }
    const ttl = p.cache?.seconds[String(answer.status)];
    if (key !== null && ttl !== undefined) cache!.set(key, answer, ttl * 1000);
  }
  return verdictOf(p, answer, r);
}
