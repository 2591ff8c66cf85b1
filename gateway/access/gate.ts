// The access gate: what runs between a routing decision and the upstream for a route with access rules, in
// nginx's phase order (rewrite, preaccess, then access): each step may answer the request itself (a preflight, a
// limit, a refusal) or let it pass, adding headers for the upstream request and for the client's response.
// Source ranges are not here: they need no I/O and decide() applies them before anything else.
import type { BasicAuthMaterial } from '../table/basic-auth.ts';
import type { AccessPolicy } from '../table/schema.ts';
import type { AuthCache } from './auth-cache.ts';
import { basicAuthVerdict } from './basic-auth.ts';
import { corsDecision } from './cors.ts';
import { customHeaderAdditions } from './custom-headers.ts';
import { type DigestState, digestAuthVerdict, digestState } from './digest-auth.ts';
import { type AuthClient, authorize, signinLocation } from './external-auth.ts';
import { type GlobalRateLimiter, globalLimitIgnored } from './global-rate-limit.ts';
import { joinAdditions, survives } from '../header-rules.ts';
import { ADD_HEADER_STATUSES } from '../table/header-rules.ts';
import { jwtVerdict } from './jwt.ts';
import { limitExempt, type LimitState, limitZone, processLimits } from './limits.ts';
import { expand, type RequestVariables } from './variables.ts';

export interface GateRequest extends RequestVariables {
  /** The client's headers, lower-case names, in order. */
  headers: readonly (readonly [string, string])[];
  /** The request id the upstream will see too. */
  requestId: string;
  /** The route (its metrics label): what per-route state (caches, counters) is keyed by. */
  scope: string;
  /** The basic-auth material of the table the request was routed by (LoadedTable.basicAuth); absent: none. */
  credentials?: ReadonlyMap<string, BasicAuthMaterial>;
  /** With `satisfy: any`: whether the source ranges granted the request (decide()'s `sourceGranted`). */
  sourceGranted?: boolean;
}

/** What a runtime gives the gate. A step whose dependency is missing answers 503 (fail closed). */
export interface GateDeps {
  auth?: { client: AuthClient; cache: AuthCache };
  /** Counters of request and connection limits; absent: this process's (limits.ts), which need nothing
   * from the runtime. */
  limits?: LimitState;
  /** Counters of global rate limits (cluster-wide on Node workers, this process's in `portico local`); absent:
   * a route with a global rate limit answers 503 (fail closed: Deno and workerd do not count them yet). */
  globalLimits?: GlobalRateLimiter;
  /** Digest authentication's nonce key and per-process nonce state; absent: this process's, with a random key
   * (a nonce from another process then gets a new challenge). */
  digest?: DigestState;
}

/** Headers for the client's response: `always` on every answer (the gate's own included), `onSuccess` only on
 * the statuses nginx's add_header applies to without `always` (2xx and 3xx). `replace`: lower-case names of the
 * upstream's response headers removed before the additions (headers-more's more_set_headers replaces). */
export interface ResponseAdditions {
  always: [string, string][];
  onSuccess: [string, string][];
  replace: string[];
  /** Lower-case name prefixes: the upstream's headers starting with one go too (headers-more's `more_clear_headers
   * 'X-Hidden-*'`, a route's header rules). Content-Length never goes. */
  removePrefixes?: string[];
}

export type GateOutcome =
  | { kind: 'respond'; status: number; headers: [string, string][] }
  | {
      kind: 'pass';
      upstreamHeaders: [string, string | null][];
      response: ResponseAdditions;
      /** Call once the request has ended (response finished, client gone, upgrade closed): frees what the
       * request holds (a limit-connections slot). Safe to call more than once. */
      onDone?: () => void;
    };

/** What the steps so far have added. */
interface Passing {
  upstreamHeaders: [string, string | null][];
  response: ResponseAdditions;
  onDone?: () => void;
}

/** One step: null lets the request go on (after adding to `passing`), an outcome answers it. */
type Step = (p: AccessPolicy, r: GateRequest, deps: GateDeps, passing: Passing) => Promise<GateOutcome | null> | GateOutcome | null;

/** External authentication (auth-url): null when it grants the request (its headers and cookies added), else
 * the answer it gives. */
async function externalAuthVerdict(p: AccessPolicy, r: GateRequest, deps: GateDeps, passing: Passing): Promise<GateOutcome | null> {
  if (p.externalAuth === undefined) return null;
  if (deps.auth === undefined) return { kind: 'respond', status: 503, headers: [] };
  const v = await authorize(p.externalAuth, r, deps.auth.client, deps.auth.cache);
  if (v.kind === 'respond') return v;
  passing.upstreamHeaders.push(...v.upstreamHeaders);
  for (const c of v.cookies)
    (p.externalAuth.alwaysSetCookie === true ? passing.response.always : passing.response.onSuccess).push(['set-cookie', c]);
  return null;
}

// limit-rps / limit-rpm (nginx limit_req) and limit-connections (limit_conn): refused with nginx's limit_req_status
// and limit_conn_status, 503 unless the controller ConfigMap's limit-req-status-code / limit-conn-status-code say
// otherwise (the policy's `status`, `connectionStatus`). Both run in nginx's preaccess phase, before
// the access phase's auth_request, and limit_req before limit_conn (nginx runs the handlers of a phase in the
// reverse order of module registration, and limit_conn registers first).
const rateLimit: Step = (p, r, deps) => {
  const l = p.limits;
  if (l === undefined || (l.rps === undefined && l.rpm === undefined) || limitExempt(l, r.clientIp)) return null;
  const admitted = (deps.limits ?? processLimits()).rate.admit(limitZone(r.scope), r.clientIp, l);
  return admitted ? null : { kind: 'respond', status: l.status ?? 503, headers: [] };
};

// global-rate-limit: ingress-nginx runs global_throttle.lua in lua_ingress.rewrite(), at the end of the rewrite
// phase: after the CORS preflight's `return 204` (the rewrite module's), before limit_req and limit_conn. A
// refused request gets the ConfigMap's global-rate-limit-status-code (the policy's `status`, default 429), with no
// RateLimit-* headers (global_throttle.lua sets them only with set_headers, which
// ingress-nginx's template never writes).
const globalRateLimit: Step = async (p, r, deps) => {
  const g = p.globalRateLimit;
  if (g === undefined) return null;
  if (deps.globalLimits === undefined) return { kind: 'respond', status: 503, headers: [] };
  if (globalLimitIgnored(g, r.clientIp)) return null;
  // An empty expansion counts under the client address (global_throttle.lua: DEFAULT_RAW_KEY).
  const value = expand(g.key, r);
  const admitted = await deps.globalLimits.admit(limitZone(r.scope), value === '' ? r.clientIp : value, g);
  return admitted ? null : { kind: 'respond', status: g.status ?? 429, headers: [] };
};

const connectionLimit: Step = (p, r, deps, passing) => {
  const l = p.limits;
  if (l?.connections === undefined || limitExempt(l, r.clientIp)) return null;
  const release = (deps.limits ?? processLimits()).connections.acquire(limitZone(r.scope), r.clientIp, l.connections);
  if (release === null) return { kind: 'respond', status: l.connectionStatus ?? 503, headers: [] };
  const before = passing.onDone;
  passing.onDone =
    before === undefined
      ? release
      : () => {
          before();
          release();
        };
  return null;
};

/** CORS (cors.ts) runs where nginx's CORS section does, in the rewrite phase before every other step: a preflight is
 * answered here (never limited, never sent to the auth service); any other request carries the headers to every
 * answer, the later steps' own refusals included. */
const cors: Step = (p, r, _deps, passing) => {
  if (p.cors === undefined) return null;
  const d = corsDecision(p.cors, r.method, r.header('origin'));
  if (d.kind === 'preflight') return { kind: 'respond', status: 204, headers: d.headers };
  passing.response.always.push(...d.headers);
  passing.response.replace.push(...d.replaces);
  return null;
};

/** auth-type basic (basic-auth.ts): nginx's auth_basic, in the access phase after the limits. A 401 carries
 * `WWW-Authenticate: Basic realm="..."`; material missing for the route's revision is 503 (fail closed).
 * auth-type digest (digest-auth.ts): nginx-http-auth-digest, in the same place; a 401 carries the Digest
 * challenge, a pass adds Authentication-Info to the client's response (the module adds it to headers_out, so
 * it comes with whatever the upstream answers). */
async function basicAuthOutcome(p: AccessPolicy, r: GateRequest, deps: GateDeps, passing: Passing): Promise<GateOutcome | null> {
  if (p.basicAuth === undefined) return null;
  if (p.basicAuth.scheme === 'digest') {
    const d = digestAuthVerdict(
      p.basicAuth,
      { method: r.method, uri: r.path + r.search, clientIp: r.clientIp, authorization: r.header('authorization') },
      r.credentials,
      deps.digest ?? digestState(),
    );
    if (d.kind === 'respond') return d;
    passing.response.always.push(...d.headers);
    return null;
  }
  const v = await basicAuthVerdict(p.basicAuth, r.header('authorization'), r.credentials);
  return v.kind === 'pass' ? null : v;
}

/** portico.dev/auth-jwt-* (jwt.ts): in the access phase with the other authentications, after basic auth and before
 * the auth service (a request without a valid token never costs a subrequest). A 401 carries
 * `WWW-Authenticate: Bearer ...`; the claims it copies are added only when the token verified. */
async function jwtOutcome(p: AccessPolicy, r: GateRequest, passing: Passing): Promise<GateOutcome | null> {
  if (p.jwt === undefined) return null;
  const v = await jwtVerdict(p.jwt, r);
  if (v.kind === 'respond') return v;
  passing.upstreamHeaders.push(...v.upstreamHeaders);
  return null;
}

/** A refusal that means "authenticate" (401, or the sign-in redirect a 401 becomes): what nginx keeps as the
 * answer under `satisfy any` over a 403 (ngx_http_core_access_phase: an UNAUTHORIZED access_code is not
 * overwritten). */
const asksToAuthenticate = (o: GateOutcome): boolean => o.kind === 'respond' && (o.status === 401 || o.status === 302);

/** The access phase: basic authentication, JWT, then external authentication (nginx's auth_basic and auth_request;
 * JWT is Portico's own and takes part as one more authentication).
 * `satisfy all` (the default): each present must grant. `satisfy any`: the first that grants is enough, the
 * source ranges included (decide() tells whether they did); when none grants, the answer is the one asking to
 * authenticate if any did, else the refusal, as nginx's core access phase decides; an error (500, 503) ends at
 * once, as it does in nginx. */
const authentication: Step = async (p, r, deps, passing) => {
  // The client's copies of the headers an auth answer sets never reach the upstream, also when the request
  // passes without asking the auth service (satisfy any: the ranges or basic auth granted it), as nginx sends
  // them empty then.
  for (const name of p.externalAuth?.responseHeaders ?? []) passing.upstreamHeaders.push([name, null]);
  // Basic and digest credentials never reach the upstream: ingress-nginx's template sets `proxy_set_header
  // Authorization ""` in every location with auth-type (nginx.tmpl, BasicDigestAuth.Secured). First, so an auth
  // answer's Authorization (auth-response-headers) still replaces it.
  if (p.basicAuth !== undefined) passing.upstreamHeaders.unshift(['authorization', null]);
  // The same for the headers JWT claims are copied into: a client never sets them, whether or not a token verified.
  for (const { header } of p.jwt?.claimsToHeaders ?? []) passing.upstreamHeaders.push([header, null]);
  return signinFor401(p, r, await accessPhase(p, r, deps, passing));
};

/** auth-signin is nginx's `error_page 401` for the whole location: a 401 from any authentication (basic auth
 * under `satisfy all` included) becomes the sign-in redirect. */
function signinFor401(p: AccessPolicy, r: GateRequest, o: GateOutcome | null): GateOutcome | null {
  if (o === null || o.kind !== 'respond' || o.status !== 401 || p.externalAuth?.signin === undefined) return o;
  return { kind: 'respond', status: 302, headers: [['location', signinLocation(p.externalAuth, r)]] };
}

async function accessPhase(p: AccessPolicy, r: GateRequest, deps: GateDeps, passing: Passing): Promise<GateOutcome | null> {
  if (p.satisfy !== 'any') {
    const basic = await basicAuthOutcome(p, r, deps, passing);
    if (basic !== null) return basic;
    const jwt = await jwtOutcome(p, r, passing);
    return jwt ?? externalAuthVerdict(p, r, deps, passing);
  }
  if (r.sourceGranted === true) return null;
  let refusal: GateOutcome | null = r.sourceGranted === false ? { kind: 'respond', status: 403, headers: [] } : null;
  // Only the authentications the route has take part: an absent one grants nothing.
  const checks: (() => Promise<GateOutcome | null>)[] = [];
  if (p.basicAuth !== undefined) checks.push(() => basicAuthOutcome(p, r, deps, passing));
  if (p.jwt !== undefined) checks.push(() => jwtOutcome(p, r, passing));
  if (p.externalAuth !== undefined) checks.push(() => externalAuthVerdict(p, r, deps, passing));
  for (const check of checks) {
    const o = await check();
    if (o === null) return null;
    if (o.kind === 'respond' && o.status !== 401 && o.status !== 302 && o.status !== 403) return o;
    if (refusal === null || !asksToAuthenticate(refusal)) refusal = o;
  }
  return refusal;
}

/** custom-headers (custom-headers.ts): more_set_headers in the location, applied by nginx's header filter to
 * whatever the location answers, so it comes first and every later answer carries the headers: a preflight's 204,
 * a limit's 503 or 429, an authentication's 401, and the upstream's response (whose headers of the same names go). */
const customHeaders: Step = (p, _r, _deps, passing) => {
  if (p.customHeaders === undefined) return null;
  const a = customHeaderAdditions(p.customHeaders);
  passing.response.always.push(...a.headers);
  passing.response.replace.push(...a.replaces);
  return null;
};

/** The steps in nginx's order. */
const STEPS: readonly Step[] = [customHeaders, cors, globalRateLimit, rateLimit, connectionLimit, authentication];

/** Whether a route's access policy needs the gate at all (source ranges alone do not). */
export function needsGate(p: AccessPolicy): boolean {
  return (
    p.externalAuth !== undefined ||
    p.limits !== undefined ||
    p.globalRateLimit !== undefined ||
    p.cors !== undefined ||
    p.basicAuth !== undefined ||
    p.jwt !== undefined ||
    p.customHeaders !== undefined
  );
}

/** `route`: the route's own response additions (its header rules, gateway/header-rules.ts), which nginx's header
 * filters apply to every answer of the location, the gate's own included. */
export async function runGate(p: AccessPolicy, r: GateRequest, deps: GateDeps, route?: ResponseAdditions): Promise<GateOutcome> {
  const passing: Passing = { upstreamHeaders: [], response: { always: [], onSuccess: [], replace: [] } };
  try {
    for (const step of STEPS) {
      const outcome = await step(p, r, deps, passing);
      if (outcome === null) continue;
      if (outcome.kind === 'respond') {
        // A request answered here ends here: what an earlier step took for it (a connection slot) is given back.
        passing.onDone?.();
        // The gate's own answer carries what every answer gets (for example CORS headers on a 401), and a header
        // that more_set_headers sets replaces the answer's own of that name (custom-headers naming WWW-Authenticate).
        const add = joinAdditions(passing.response, route)!;
        const own = outcome.headers.filter(([n]) => survives(n.toLowerCase(), add.replace, add.removePrefixes));
        const onSuccess = ADD_HEADER_STATUSES.has(outcome.status) ? add.onSuccess : [];
        return { ...outcome, headers: [...own, ...add.always, ...onSuccess] };
      }
      return passing.onDone === undefined ? outcome : { ...outcome, onDone: passing.onDone };
    }
  } catch (err) {
    passing.onDone?.();
    throw err;
  }
  return { kind: 'pass', ...passing };
}
