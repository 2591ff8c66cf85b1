// validate() for a route's access policy: every field typed and bounded, so a worker never acts on an access
// rule it would have to guess at. Each problem is reported as `at`: message.
import { checkBasicAuthPolicy } from './basic-auth.ts';
import { checkCidrList, parseCidr } from './cidr.ts';
import { HEADER_NAME, isCopyableHeader } from './header-names.ts';
import { isRecord, isValidHostName } from './names.ts';
import { checkCors } from './validate-cors.ts';
import { checkCustomHeaders } from './validate-custom-headers.ts';
import { checkGlobalRateLimit } from './validate-global-rate-limit.ts';
import { checkJwtPolicy } from './validate-jwt.ts';
import { checkLimits } from './validate-limits.ts';
import { parseTemplate } from './variables.ts';

const METHOD = /^[A-Z]{1,16}$/;
const QUERY_PARAM = /^[A-Za-z0-9._~-]{1,64}$/;
const MAX_LIST = 256;
const MAX_TEXT = 2048;

const text = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_TEXT;

/** The auth service's URL: http(s), no credentials, no `$` before its path (a client must never pick the host). */
export function authUrlProblem(url: string): string | null {
  const m = /^(https?):\/\/([^/?#]*)([/?#].*)?$/.exec(url);
  if (m === null) return 'is not an http or https URL';
  const authority = m[2]!;
  if (authority.includes('$')) return 'has a variable in its host or port (only the path and query may use variables)';
  if (authority.includes('@')) return 'carries credentials';
  let host: string;
  try {
    host = new URL(url.replaceAll('$', '_')).hostname;
  } catch {
    return 'is not a valid URL';
  }
  // A DNS name (RFC 1123, as a Service's cluster name is), an IPv4 address or a bracketed IPv6 address:
  // `invalid..auth.url` is refused as ingress-nginx refuses it ("invalid url host").
  const ip = host.startsWith('[') ? parseCidr(host.slice(1, -1)) : /^[\d.]+$/.test(host) ? parseCidr(host) : null;
  if (ip === null && !isValidHostName(host)) return `has an invalid host ${JSON.stringify(host)}`;
  return null;
}

/** At most this many auth-proxy-set-headers entries: a ConfigMap of headers for one auth service. */
export const MAX_PROXY_SET_HEADERS = 64;
/** A longer auth-proxy-set-headers value is refused. */
export const MAX_PROXY_SET_HEADER_VALUE = 1024;
/** ingress-nginx's authreq ValidHeader (`^[a-zA-Z\d\-_]+$`), bounded. */
const PROXY_SET_HEADER_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** RFC 9110 §5.5 field-value characters: visible ASCII, space, tab and obs-text; never CR, LF or NUL. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Why one auth-proxy-set-headers entry (ingress-nginx's auth location writes `proxy_set_header '<name>'
 * '<value>';` for each ConfigMap entry) cannot be a header of the auth subrequest, or null. The value may use the
 * variables of variables.ts and no other; a header that frames the request, belongs to one hop, is Host or steers
 * the edge is never set. */
export function proxySetHeaderProblem(name: string, value: string): string | null {
  if (!PROXY_SET_HEADER_NAME.test(name)) return 'is not a header name (letters, digits, "-" and "_", at most 64)';
  if (!isCopyableHeader(name.toLowerCase()))
    return 'may not be set (a header that frames the request, belongs to one hop, is Host, or steers the edge)';
  if (value.length > MAX_PROXY_SET_HEADER_VALUE) return `has a value longer than ${MAX_PROXY_SET_HEADER_VALUE} characters`;
  if (!FIELD_VALUE.test(value)) return 'has a value with a control character (a line break would start another header)';
  const { unknown } = parseTemplate(value);
  if (unknown.length > 0) return `has a value that uses ${unknown.map((u) => `$${u}`).join(', ')}, which Portico does not have`;
  return null;
}

/** auth-proxy-set-headers in a table: [lower-case name, value template] pairs, sorted by name, no repeats. */
function checkProxySetHeaders(v: unknown, at: string, bad: (at: string, message: string) => void): void {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_PROXY_SET_HEADERS)
    return bad(at, `must be a list of 1 to ${MAX_PROXY_SET_HEADERS} [name, value] pairs`);
  let last = '';
  for (const [i, e] of v.entries()) {
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || typeof e[1] !== 'string') {
      bad(`${at}[${i}]`, 'must be a [name, value] pair');
      continue;
    }
    const [name, value] = e as [string, string];
    const problem = name !== name.toLowerCase() ? 'is not lower-case' : proxySetHeaderProblem(name, value);
    if (problem !== null) bad(`${at}[${i}]`, `${JSON.stringify(name)} ${problem}`);
    else if (name <= last) bad(`${at}[${i}]`, `${JSON.stringify(name)} is out of order or repeated`);
    last = name;
  }
}

/** The fields this worker knows, at every level of an access policy: a field it does not know is a rule it
 * would not apply, so the table is refused rather than served with that rule missing. */
const KNOWN: Readonly<Record<string, ReadonlySet<string>>> = {
  access: new Set(['deny', 'allow', 'externalAuth', 'cors', 'limits', 'globalRateLimit', 'basicAuth', 'jwt', 'customHeaders', 'satisfy']),
  externalAuth: new Set([
    'url',
    'method',
    'signin',
    'signinRedirectParam',
    'requestRedirect',
    'responseHeaders',
    'alwaysSetCookie',
    'cache',
    'proxySetHeaders',
  ]),
  cache: new Set(['key', 'seconds']),
  cors: new Set(['origins', 'methods', 'allowHeaders', 'exposeHeaders', 'credentials', 'maxAge']),
  limits: new Set(['rps', 'rpm', 'connections', 'exempt', 'status', 'connectionStatus']),
  rate: new Set(['rate', 'burst']),
  basicAuth: new Set(['realm', 'secret', 'type', 'revision', 'scheme']),
};

function unknownFields(v: unknown, kind: keyof typeof KNOWN, at: string, bad: (at: string, message: string) => void): void {
  if (!isRecord(v)) return;
  for (const k of Object.keys(v)) {
    if (!KNOWN[kind]!.has(k))
      bad(at, kind === 'access' ? `unknown access rule ${JSON.stringify(k)}` : `unknown field ${JSON.stringify(k)}`);
  }
}

function closedSets(v: Record<string, unknown>, at: string, bad: (at: string, message: string) => void): void {
  unknownFields(v, 'access', at, bad);
  unknownFields(v.externalAuth, 'externalAuth', `${at}.externalAuth`, bad);
  if (isRecord(v.externalAuth)) unknownFields(v.externalAuth.cache, 'cache', `${at}.externalAuth.cache`, bad);
  unknownFields(v.cors, 'cors', `${at}.cors`, bad);
  unknownFields(v.limits, 'limits', `${at}.limits`, bad);
  if (isRecord(v.limits)) for (const r of ['rps', 'rpm'] as const) unknownFields(v.limits[r], 'rate', `${at}.limits.${r}`, bad);
  unknownFields(v.basicAuth, 'basicAuth', `${at}.basicAuth`, bad);
}

export function checkAccess(v: unknown, at: string, bad: (at: string, message: string) => void): void {
  if (!isRecord(v)) return bad(at, 'must be an object');
  closedSets(v, at, bad);
  checkCidrList(v.deny, `${at}.deny`, bad);
  checkCidrList(v.allow, `${at}.allow`, bad);
  if (
    v.deny === undefined &&
    v.allow === undefined &&
    v.externalAuth === undefined &&
    v.cors === undefined &&
    v.limits === undefined &&
    v.globalRateLimit === undefined &&
    v.basicAuth === undefined &&
    v.jwt === undefined &&
    v.customHeaders === undefined
  )
    bad(at, 'names no access rule');
  if (v.globalRateLimit !== undefined) checkGlobalRateLimit(v.globalRateLimit, `${at}.globalRateLimit`, bad);
  if (v.basicAuth !== undefined) checkBasicAuthPolicy(v.basicAuth, `${at}.basicAuth`, bad);
  if (isRecord(v.basicAuth) && v.basicAuth.scheme !== undefined) {
    // auth-type digest (schema 4). nginx-http-auth-digest switches itself off for an empty realm
    // (ngx_http_auth_digest_handler declines): a digest policy without one would be no authentication at all.
    if (v.basicAuth.scheme !== 'digest') bad(`${at}.basicAuth.scheme`, 'must be "digest" when present');
    else if (v.basicAuth.realm === '') bad(`${at}.basicAuth.realm`, 'must not be empty with digest authentication');
  }
  if (v.jwt !== undefined) checkJwtPolicy(v.jwt, `${at}.jwt`, bad);
  if (v.cors !== undefined) checkCors(v.cors, `${at}.cors`, bad);
  if (v.customHeaders !== undefined) checkCustomHeaders(v.customHeaders, `${at}.customHeaders`, bad);
  if (v.limits !== undefined) checkLimits(v.limits, `${at}.limits`, bad);
  if (
    v.satisfy !== undefined &&
    (v.satisfy !== 'any' || (v.basicAuth === undefined && v.externalAuth === undefined && v.jwt === undefined))
  ) {
    bad(`${at}.satisfy`, 'must be "any", and only with basic, JWT or external authentication');
  }
  const e = v.externalAuth;
  if (e === undefined) return;
  const eat = `${at}.externalAuth`;
  if (!isRecord(e)) return bad(eat, 'must be an object');
  if (!text(e.url) || authUrlProblem(e.url) !== null)
    bad(`${eat}.url`, `${JSON.stringify(e.url)} ${text(e.url) ? authUrlProblem(e.url) : 'is not a URL'}`);
  if (e.method !== undefined && (typeof e.method !== 'string' || !METHOD.test(e.method)))
    bad(`${eat}.method`, 'must be an upper-case method');
  if (e.signin !== undefined && !text(e.signin)) bad(`${eat}.signin`, 'must be a URL');
  if (e.signinRedirectParam !== undefined && (typeof e.signinRedirectParam !== 'string' || !QUERY_PARAM.test(e.signinRedirectParam))) {
    bad(`${eat}.signinRedirectParam`, 'must be a query parameter name');
  }
  if (e.requestRedirect !== undefined && !text(e.requestRedirect)) bad(`${eat}.requestRedirect`, 'must be text');
  if (
    e.responseHeaders !== undefined &&
    (!Array.isArray(e.responseHeaders) ||
      e.responseHeaders.length > MAX_LIST ||
      !e.responseHeaders.every((h) => typeof h === 'string' && HEADER_NAME.test(h) && isCopyableHeader(h)))
  ) {
    bad(`${eat}.responseHeaders`, 'must be a list of lower-case header names');
  }
  if (e.proxySetHeaders !== undefined) checkProxySetHeaders(e.proxySetHeaders, `${eat}.proxySetHeaders`, bad);
  if (e.alwaysSetCookie !== undefined && typeof e.alwaysSetCookie !== 'boolean') bad(`${eat}.alwaysSetCookie`, 'must be a boolean');
  if (e.cache !== undefined) {
    const c = e.cache;
    const ok =
      isRecord(c) &&
      text(c.key) &&
      isRecord(c.seconds) &&
      Object.entries(c.seconds).every(([k, s]) => /^[1-5]\d\d$/.test(k) && Number.isSafeInteger(s) && (s as number) > 0);
    if (!ok) bad(`${eat}.cache`, 'must be { key, seconds: { status: seconds } }');
  }
}
