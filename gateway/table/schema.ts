// The routing table: the contract between the sync agent (which compiles Kubernetes objects into it)
// and every edge worker (which validates it, compiles it into a matcher and serves it).
// Plain JSON data only, so it can be hashed, signed, stored and diffed. Every array has a canonical
// order (see canonical.ts), so the same objects always give the same bytes.
import type { BasicAuthPolicy } from './basic-auth.ts';
import type { HeaderRules } from './header-rules.ts';
import type { JwtPolicy } from './jwt.ts';
import type { HeaderModifier, HostRedirect, LocationRedirect, PathRedirect, SchemeRedirect, UrlRewrite } from './redirect.ts';

/** The newest schema this code reads and writes. A table is stamped with the OLDEST schema that can carry it,
 * so a worker of an older release keeps reading every table it understands during a rolling upgrade, and
 * refuses (keeping its last good table) one that carries a field it would ignore:
 * - 1: routes, hosts, backends, certificates, ssl-redirect and cluster weights.
 * - 2: also the fail-closed fields (`failClosed`, `fallbackFailClosed`, `defaultBackendFailClosed`). A schema-1
 *   worker would ignore them and serve guarded routes unguarded, so a table that has them must be schema 2.
 * - 3: also access policies on routes (`access`: source ranges, external authentication).
 * - 4: also client certificates on hosts (`clientCertificate`, `clientCertificateAuthorities`), a global rate
 *   limit (`access.globalRateLimit`), JWT verification (`access.jwt`, with its public keys), digest
 *   authentication (`access.basicAuth.scheme: "digest"`, htdigest material beside the table), headers for the
 *   external auth subrequest (`access.externalAuth.proxySetHeaders`) and response headers from a ConfigMap
 *   (`access.customHeaders`) in access policies.
 *   A schema-3 worker refuses an access rule it does not know, but one of an older release might not, and the
 *   schema makes the refusal happen at the manifest, before any part is read.
 * - 5: also routing filters on routes and hosts, named after Gateway API HTTPRoute concepts (redirect.ts):
 *   `redirect` (permanent-redirect, temporal-redirect), `rootRedirect` (app-root), `schemeRedirect`
 *   (force-ssl-redirect), `rewrite` (upstream-vhost), `requestHeaders` (x-forwarded-prefix) on routes and
 *   `redirect` on hosts (from-to-www-redirect); upstream timeouts (`timeouts`), a request body limit (`bodyLimit`)
 *   and a retry policy (`retry`) on routes. A canary backend on a route (`policies.canary`) too. A schema-4 worker would
 *   forward what it should redirect, serve with the global timeouts, no body limit and the default retry rule, and
 *   send every request to the main backend.
 *   Session affinity (`affinity`: affinity, session-cookie-*) and consistent hashing (`balance`: upstream-hash-by*) on
 *   routes; a schema-4 worker would balance round robin and break sessions.
 *   Also regular-expression paths (`pathType: "Regex"`, use-regex and rewrite-target) and a rewritten path
 *   (`rewrite.path`, rewrite-target); a schema-4 worker refuses the path type.
 *   Also the upstream protocol of a route (`policies.backendProtocol`, backend-protocol): a schema-4 worker would
 *   speak HTTP/1.1 in cleartext to a TLS or HTTP/2 upstream.
 *   Also error pages (`errorBackend`: default-backend, `interceptStatuses`: custom-http-errors) on routes and
 *   `serviceUpstream` on backends (service-upstream): a schema-4 worker would answer the upstream's errors and 503
 *   itself instead of the error backend's page.
 * - 6: also upstream TLS of a route (`policies.upstreamTls`: proxy-ssl-secret and the other proxy-ssl-*) with the
 *   authorities and client certificates it names (`upstreamTlsSecrets`; the client's private key travels encrypted
 *   beside the table, as serving keys do). A schema-5 worker would dial the upstream without verifying its
 *   certificate and without presenting the client certificate the upstream may require.
 *   Also the gateway-wide settings of a controller ConfigMap and the agent's flags: `hsts` (hsts, hsts-max-age,
 *   hsts-include-subdomains, hsts-preload) and `defaultCertificate` (--default-ssl-certificate) on the table, and the
 *   refusal statuses of limits (`status`, `connectionStatus`: limit-req-status-code, limit-conn-status-code; `status`
 *   of a global rate limit: global-rate-limit-status-code). A schema-5 worker would send no HSTS header, serve its
 *   generated certificate and refuse with 503 and 429.
 *   Also header rules on routes (`headerRules`: the literal header directives of configuration-snippet and
 *   server-snippet, header-rules.ts). A schema-5 worker would serve those routes without the headers they set and
 *   remove, and a snippet may carry security headers (Content-Security-Policy, X-Frame-Options).
 *   Also TLS passthrough on hosts (`passthrough`, ssl-passthrough): the HTTPS listener relays a connection whose
 *   SNI names the host to its backend without terminating TLS. A schema-5 worker would terminate TLS with its own
 *   (or the default) certificate and serve the host's routes at layer 7, which is not what the owner asked for. */
export const SCHEMA_VERSION = 6 as const;
export type SchemaVersion = 1 | 2 | 3 | 4 | 5 | typeof SCHEMA_VERSION;
export const SUPPORTED_SCHEMAS: readonly SchemaVersion[] = [1, 2, 3, 4, 5, 6];

/** `Regex` (schema 5): ingress-nginx's `location ~* "^<path>"`, a case-insensitive regular expression (RE2 syntax,
 * gateway/table/regex-paths.ts) anchored at the start of the path only. Once any Ingress of a host uses regex
 * (use-regex or rewrite-target), every route of that host is `Regex`, tried in table order (longest pattern
 * first) and the first that matches wins, as nginx tries regex locations in the order they appear. */
export type PathType = 'Exact' | 'Prefix' | 'Regex';

/** A namespaced object reference, written `namespace/name` in ids and diagnostics. */
export interface ObjectRef {
  namespace: string;
  name: string;
}

/** Per-route policies parsed from allow-listed annotations (typed, never text). Slots for later policies. */
export interface RoutePolicies {
  /** Redirect plain HTTP to HTTPS with 308; true only on hosts that have TLS. */
  sslRedirect: boolean;
  /** Multi-cluster (annotation portico.dev/cluster-weight): the percentage of requests kept in this
   * cluster while a peer also serves the route; absent means 100 (peers only for failover). */
  localWeight?: number;
  /** Fail closed: access-control annotations that guard this route and that Portico does not enforce (sorted
   * keys). The route answers 503 instead of serving unguarded. Absent when there are none, so tables
   * without them keep their exact form and hash. */
  failClosed?: string[];
  /** Access control the route enforces (ingress-nginx's access-control annotations). Absent: none. */
  access?: AccessPolicy;
  /** permanent-redirect / temporal-redirect: every request is answered with a redirect to a fixed location
   * (an HTTPRoute RequestRedirect filter with a full location). Schema 5. */
  redirect?: LocationRedirect;
  /** app-root: a request for exactly `/` is redirected to this path (a RequestRedirect filter with
   * ReplaceFullPath, on an Exact `/` match). Schema 5. */
  rootRedirect?: PathRedirect;
  /** force-ssl-redirect: plain-HTTP requests are redirected to HTTPS whether or not the host has TLS (a
   * RequestRedirect filter with scheme `https`). Schema 5. */
  schemeRedirect?: SchemeRedirect;
  /** upstream-vhost (`hostname`: the Host header the upstream gets) and rewrite-target (`path`: the path it gets
   * instead of the client's): an HTTPRoute URLRewrite filter. Schema 5. */
  rewrite?: UrlRewrite;
  /** x-forwarded-prefix: headers set on the upstream request (a RequestHeaderModifier filter). Schema 5. */
  requestHeaders?: HeaderModifier;
  /** Upstream timeouts of the route (proxy-connect-timeout, proxy-read-timeout, proxy-send-timeout; Gateway API
   * HTTPRoute `timeouts.backendRequest`, finer grained). Each absent field takes the gateway's flag. Schema 5. */
  timeouts?: UpstreamTimeoutPolicy;
  /** The largest request body in bytes (proxy-body-size, nginx client_max_body_size); a larger one gets 413.
   * Absent or 0: no limit, as nginx reads `0`. No Gateway API equivalent yet. Schema 5. */
  bodyLimit?: number;
  /** When a failed attempt moves to the next endpoint (proxy-next-upstream, proxy-next-upstream-tries,
   * proxy-next-upstream-timeout; Gateway API HTTPRoute `retry`, GEP-1731). Absent: Portico's default rule
   * (gateway/proxy/retry-policy.ts). Schema 5. */
  retry?: RetryPolicy;
  /** canary, canary-by-header*, canary-by-cookie, canary-weight*: an alternative backend from a canary Ingress for
   * the same host and path. Schema 5. Absent: none. */
  canary?: CanaryPolicy;
  /** backend-protocol: how the gateway speaks to the route's endpoints. Absent: HTTP/1.1 over TCP (`HTTP`).
   * Per route rather than on the Backend: two Ingresses may reach the same Service port with different protocols,
   * and ingress-nginx sets it per location (proxy_pass https://, grpc_pass grpc://). Gateway API expresses it on
   * the Service port's `appProtocol` (GEP-1911: `kubernetes.io/h2c`, `kubernetes.io/ws`) or with GRPCRoute and
   * BackendTLSPolicy. Schema 5. */
  backendProtocol?: BackendProtocol;
  /** affinity: cookie and session-cookie-*: requests carrying the route's cookie go back to the endpoint it names
   * (Gateway API session persistence, GEP-1619 `sessionPersistence` with `type: Cookie`). Schema 5. Absent: none. */
  affinity?: AffinityPolicy;
  /** upstream-hash-by (+ -subset, -subset-size): the endpoint is chosen by a consistent hash of a key built from
   * nginx variables (no Gateway API equivalent; Envoy's ring-hash load balancer). Never with `affinity`, which
   * wins in ingress-nginx. Schema 5. Absent: round robin. */
  balance?: BalancePolicy;
  /** default-backend: id of an entry in `RoutingTable.backends` (a Service of the Ingress's namespace, its first
   * port) that serves the route's error pages: when the route's backend has no ready endpoint (with X-Code 503) and
   * for the statuses of `interceptStatuses`. Gateway API has no equivalent (an HTTPRoute sends such requests
   * nowhere); it is ingress-nginx's custom default backend (`@custom_custom-default-backend-...` locations). Schema 5. */
  errorBackend?: string;
  /** custom-http-errors: upstream answers with these statuses (sorted, distinct, 300-599) are replaced by an error
   * page fetched from `errorBackend`, else from the table's `defaultBackend` (nginx proxy_intercept_errors with
   * `error_page <code> = @custom_<upstream>_<code>`). No Gateway API equivalent. Schema 5. */
  interceptStatuses?: number[];
  /** proxy-ssl-secret with proxy-ssl-verify, -verify-depth, -name, -server-name, -ciphers, -protocols: how the
   * gateway authenticates a TLS upstream (nginx's proxy_ssl_* directives; Gateway API's BackendTLSPolicy). Only on
   * routes whose `backendProtocol` is HTTPS or GRPCS: nginx ignores proxy_ssl_* with a cleartext upstream. Schema 6. */
  upstreamTls?: UpstreamTlsPolicy;
  /** configuration-snippet and server-snippet, when they hold only literal header directives (more_set_headers,
   * more_clear_headers, add_header, proxy_set_header, more_set_input_headers, more_clear_input_headers): the headers
   * set on the upstream request and on the client's response (Gateway API RequestHeaderModifier and
   * ResponseHeaderModifier, with add_header's status rule). Schema 6. Absent: none. */
  headerRules?: HeaderRules;
}

/** TLS versions proxy-ssl-protocols may name (ingress-nginx v1.15's allow-list: `^(TLSv1\.2|TLSv1\.3| )*$`). */
export type UpstreamTlsProtocol = 'TLSv1.2' | 'TLSv1.3';

/** A route's upstream TLS (ingress-nginx's proxyssl Config, internal/ingress/annotations/proxyssl). */
export interface UpstreamTlsPolicy {
  /** Id of the entry in `RoutingTable.upstreamTlsSecrets` (the proxy-ssl-secret, `namespace/name`). */
  secret: string;
  /** proxy-ssl-verify: check the upstream's certificate against the Secret's `ca.crt` and `name` (default off). */
  verify: boolean;
  /** proxy-ssl-verify-depth: how many intermediate certificates may stand between the upstream's and a trusted
   * one (OpenSSL's verify depth; default 1). Only with `verify`. */
  depth: number;
  /** proxy-ssl-name: the name the upstream's certificate must carry and, with `serverName`, the SNI sent. Absent:
   * the Service's DNS name `<service>.<namespace>.svc` (nginx would use its upstream block's name). */
  name?: string;
  /** proxy-ssl-server-name: send the name by SNI (RFC 6066); default off. */
  serverName: boolean;
  /** proxy-ssl-ciphers: an OpenSSL cipher list of names from the allow-list (validate-upstream-tls.ts). Absent:
   * DEFAULT. */
  ciphers?: string;
  /** proxy-ssl-protocols: sorted, distinct, non-empty; the lowest is the minimum version and the highest the maximum.
   * ingress-nginx's default is TLSv1.2 alone. */
  protocols: UpstreamTlsProtocol[];
}

/** What a proxy-ssl-secret holds: public material in the table, the client key beside it (encrypted). */
export interface UpstreamTlsSecret {
  /** `namespace/secretName`. */
  id: string;
  /** The Secret's `ca.crt`: the PEM certificates the upstream's certificate is checked against. */
  caPem: string;
  /** SHA-256 fingerprint of the Secret's `tls.crt` leaf when it has `tls.crt` and `tls.key`: the client certificate
   * presented to the upstream, whose material (certificate and key) comes as `CertificateMaterial` with the id
   * `id + UPSTREAM_CLIENT_SUFFIX`. In the table so that a rotated certificate is a new table version. */
  clientFingerprint?: string;
}

/** Ends the id of the CertificateMaterial of an upstream client certificate (so it never shares an id with the
 * serving certificate of the same Secret). */
export const UPSTREAM_CLIENT_SUFFIX = '#proxy-ssl';

/** Cookie session affinity as ingress-nginx's sticky balancers do it (balancer/sticky*.lua). Per route, not per
 * backend: ingress-nginx keeps the setting on the upstream but sets the cookie only on the locations of the
 * Ingress that asked (sticky.lua should_set_cookie), and Portico has no per-upstream state to share. */
export interface AffinityPolicy {
  /** affinity-mode: `balanced` (the cookie carries a random key placed on a consistent-hash ring: scaling up moves
   * some sessions) or `persistent` (the cookie carries a salted hash of the endpoint: a session stays while its
   * endpoint is ready). */
  mode: 'balanced' | 'persistent';
  /** session-cookie-name (an RFC 6265 token; ingress-nginx's default INGRESSCOOKIE). */
  name: string;
  /** session-cookie-path, else the route's path as the Ingress wrote it (nginx's $location_path), filled in by the
   * compiler. */
  path: string;
  /** session-cookie-domain. */
  domain?: string;
  /** session-cookie-secure "true": Secure on plain HTTP too. Requests over HTTPS always get Secure, "false" included
   * (test/e2e/annotations/affinity.go "should set secure in cookie with provided false annotation on https"). */
  secure?: true;
  /** session-cookie-samesite. */
  sameSite?: 'None' | 'Lax' | 'Strict';
  /** session-cookie-conditional-samesite-none: SameSite=None is left out for user agents known to reject it. */
  conditionalSameSiteNone?: true;
  /** session-cookie-expires: Expires is this many seconds after the response. */
  expiresSeconds?: number;
  /** session-cookie-max-age: Max-Age. */
  maxAgeSeconds?: number;
  /** session-cookie-change-on-failure: after a failed attempt the cookie is re-pointed at the endpoint that
   * answered. Absent: the cookie keeps its endpoint. */
  changeOnFailure?: true;
}

/** How a route without cookie affinity spreads requests over its backend's endpoints. */
export interface BalancePolicy {
  /** upstream-hash-by: a template of nginx variables (gateway/table/variables.ts) whose value is hashed onto a
   * consistent-hash ring of the endpoints (balancer/chash.lua), so one key keeps reaching one endpoint. */
  hashBy: string;
  /** upstream-hash-by-subset-size with upstream-hash-by-subset: the key picks a subset of this many endpoints and
   * the request a random one of them (balancer/chashsubset.lua). Absent: one endpoint per key. */
  subsetSize?: number;
}

/** Upstream protocols other than plain HTTP/1.1 (test/e2e/annotations/backendprotocol.go):
 * - `HTTPS`: HTTP/1.1 over TLS, the upstream's certificate not verified (nginx's proxy_ssl_verify off);
 * - `GRPC`: HTTP/2 over TCP with prior knowledge (nginx grpc_pass grpc://), trailers passed back;
 * - `GRPCS`: HTTP/2 over TLS (ALPN h2), not verified;
 * - `H2C`: as GRPC, for any HTTP/2 cleartext upstream (Portico's; ingress-nginx has no such value). */
export type BackendProtocol = 'HTTPS' | 'GRPC' | 'GRPCS' | 'H2C';

/** Per-route upstream timeouts in milliseconds (ingress-nginx writes the annotations' whole seconds). */
export interface UpstreamTimeoutPolicy {
  /** proxy-connect-timeout: establishing the connection to the upstream. */
  connectMs?: number;
  /** proxy-read-timeout: waiting for the response headers, and between two reads of the response body. */
  readMs?: number;
  /** proxy-send-timeout: between two writes of the request body to the upstream. */
  sendMs?: number;
}

/** nginx proxy_next_upstream conditions, as ingress-nginx's annotation validates them. */
export type RetryCondition =
  | 'error'
  | 'timeout'
  | 'invalid_header'
  | 'http_500'
  | 'http_502'
  | 'http_503'
  | 'http_504'
  | 'http_403'
  | 'http_404'
  | 'http_429'
  | 'non_idempotent';

export interface RetryPolicy {
  /** The conditions that pass a request to the next endpoint, sorted; empty: never (`off`). */
  on: RetryCondition[];
  /** Attempts in all, the first included (proxy-next-upstream-tries); 0: as many as there are endpoints. */
  tries: number;
  /** No further attempt starts this long after the first (proxy-next-upstream-timeout); 0: no limit. */
  timeoutMs: number;
}

/** A canary Ingress's alternative backend for a route (ingress-nginx's alternative backend with its
 * traffic_shaping_policy, chosen by balancer.lua's route_to_alternative_balancer). Checked in this order:
 * 1. `header` (canary-by-header): with `headerValue` (canary-by-header-value), that exact value picks the canary;
 *    else with `headerPattern` (canary-by-header-pattern), a value it matches anywhere picks the canary; else the
 *    value `always` picks the canary and `never` the main backend. Any other value (or none) goes on to 2.
 * 2. `cookie` (canary-by-cookie): `always` picks the canary, `never` the main backend; anything else goes on to 3.
 * 3. `weight` out of `weightTotal` (canary-weight, canary-weight-total) of the remaining requests go to the canary.
 * In Gateway API terms this is an HTTPRoute with two rules for the path: one whose `matches` carry the header
 * (HeaderMatch Exact for `headerValue`, RegularExpression for `headerPattern`, Exact `always`) and the cookie
 * (a RegularExpression HeaderMatch on Cookie) with the canary as its only backendRef, and one with both
 * backendRefs weighted `weightTotal - weight` (main) and `weight` (canary); `never` has no HTTPRoute equivalent
 * other than a rule sending that match to the main backend alone. The route's other policies (access control,
 * redirects) are the main Ingress's and apply to both backends, as in ingress-nginx. */
export interface CanaryPolicy {
  /** Id of an entry in `RoutingTable.backends`: the canary Ingress's backend for this host and path. */
  backend: string;
  /** Request header name, lower-case (an RFC 9110 token). */
  header?: string;
  /** The exact header value that picks the canary (only with `header`). */
  headerValue?: string;
  /** A regular expression in the safe subset of gateway/table/header-pattern.ts (only with `header`, never with
   * `headerValue`, which wins in ingress-nginx). */
  headerPattern?: string;
  /** Cookie name (an RFC 6265 token), matched as nginx's `$cookie_` variable does: case-insensitively. */
  cookie?: string;
  /** Requests out of `weightTotal` sent to the canary when no header or cookie decided: 0 to `weightTotal`. */
  weight: number;
  /** canary-weight-total, at least 100 (balance.lua ignores a smaller total and uses 100). */
  weightTotal: number;
}

/** Access control of one route, checked in this order: source ranges (403), then external authentication.
 * ingress-nginx's order: the access phase runs `deny`/`allow` before `auth_request`. */
export interface AccessPolicy {
  /** CIDRs (IPv4 or IPv6; a bare address is its own /32 or /128) whose clients get 403
   * (denylist-source-range). Checked first: a denied address is denied even when the allow list names it. */
  deny?: string[];
  /** When present, only clients in these CIDRs pass; every other client gets 403
   * (allowlist-source-range, or its older name whitelist-source-range). */
  allow?: string[];
  /** Ask an HTTP service whether the request may pass (auth-url and its companions). */
  externalAuth?: ExternalAuthPolicy;
  /** Cross-origin resource sharing (enable-cors and cors-*): which origins' pages may read the responses.
   * Applied before external authentication, as nginx answers the preflight in its rewrite phase. */
  cors?: CorsPolicy;
  /** Requests and connections per client address (limit-rps, limit-rpm, limit-connections, ...). */
  limits?: LimitPolicy;
  /** Requests per window counted across every worker of the cluster (global-rate-limit*). */
  globalRateLimit?: GlobalRateLimitPolicy;
  /** auth-type basic: user and password checked against a Secret's htpasswd entries; with `scheme: "digest"`,
   * auth-type digest: RFC 2617 digest responses checked against a Secret's htdigest HA1s (gateway/table/basic-auth.ts). */
  basicAuth?: BasicAuthPolicy;
  /** portico.dev/auth-jwt-*: a bearer token (RFC 6750) verified against public keys carried in the table
   * (gateway/table/jwt.ts). Checked in the access phase with basic and external authentication. */
  jwt?: JwtPolicy;
  /** custom-headers: [name, value] pairs set on every response of the route (headers-more's more_set_headers,
   * which replaces a header of the same name), names as the ConfigMap writes them, sorted by lower-case name,
   * values literal (validate-custom-headers.ts). Here rather than in RoutePolicies because the gate's response
   * additions are the one path that sets headers on the upstream's answers and the gate's own, and only routes
   * with an access policy take it: routes without the annotation keep the gate-free path. */
  customHeaders?: [string, string][];
  /** `satisfy: any` (nginx's satisfy directive): the request passes when any of the source ranges, basic
   * authentication, JWT or external authentication grants it, instead of all of them. Absent: all. Set only when
   * there is something to choose between (ranges or an authentication, and at least one authentication). */
  satisfy?: 'any';
}

/** ingress-nginx's local limits, as nginx's limit_req (`burst=N nodelay`) and limit_conn keyed by the client
 * address; the counters are shared by every route of the Ingress (ingress-nginx makes one zone per Ingress).
 * At least one of `rps`, `rpm`, `connections`. A refused request gets 503. */
export interface LimitPolicy {
  /** limit-rps: `rate` requests per second, `burst` more at once (rate × limit-burst-multiplier). */
  rps?: RateLimit;
  /** limit-rpm: `rate` requests per minute, `burst` more at once. */
  rpm?: RateLimit;
  /** limit-connections: requests in progress at once. */
  connections?: number;
  /** CIDRs whose clients no limit applies to (limit-allowlist, or its older name limit-whitelist). */
  exempt?: string[];
  /** The status of a request refused by `rps` or `rpm` (nginx limit_req_status: the ConfigMap's
   * limit-req-status-code). Absent: 503. Schema 6. */
  status?: number;
  /** The status of a request refused by `connections` (limit_conn_status: limit-conn-status-code). Absent: 503.
   * Schema 6. */
  connectionStatus?: number;
}

/** ingress-nginx's global rate limit (internal/ingress/annotations/globalratelimit, run by its
 * global_throttle.lua with lua-resty-global-throttle's sliding window): at most `limit` requests per `window`
 * for each value of `key`, counted in Redis across every worker of the cluster (locally when Redis does not
 * answer), shared by every route of the Ingress. A refused request gets 429. */
export interface GlobalRateLimitPolicy {
  /** global-rate-limit: requests per window. */
  limit: number;
  /** global-rate-limit-window in whole seconds (ingress-nginx truncates the Go duration to seconds). */
  windowSeconds: number;
  /** global-rate-limit-key: a template of nginx variables (gateway/table/variables.ts); default `$remote_addr`.
   * A key that expands to "" counts under the client address, as global_throttle.lua does. */
  key: string;
  /** global-rate-limit-ignored-cidrs: clients in these CIDRs are neither limited nor counted. */
  ignored?: string[];
  /** The status of a refused request (the ConfigMap's global-rate-limit-status-code). Absent: 429. Schema 6. */
  status?: number;
}

export interface RateLimit {
  rate: number;
  burst: number;
}

/** CORS as ingress-nginx's enable-cors does it (its nginx template's CORS section): requests whose Origin is
 * allowed get the Access-Control-* headers on every response (replacing the upstream's), and an OPTIONS request
 * from such an origin is answered 204 at the edge (the preflight). */
export interface CorsPolicy {
  /** The allowed origins (cors-allow-origin), lower-case: `scheme://host[:port]`, `scheme://*.host[:port]` (one
   * label in place of `*`) or `null`. Absent: every origin, and every request gets the headers (`*`). */
  origins?: string[];
  /** Access-Control-Allow-Methods (cors-allow-methods), as written. */
  methods: string[];
  /** Access-Control-Allow-Headers (cors-allow-headers), as written. */
  allowHeaders: string[];
  /** Access-Control-Expose-Headers (cors-expose-headers); absent: none sent. */
  exposeHeaders?: string[];
  /** Send `Access-Control-Allow-Credentials: true` (cors-allow-credentials). */
  credentials: boolean;
  /** Access-Control-Max-Age in seconds (cors-max-age). */
  maxAge: number;
}

/** External authentication as ingress-nginx's auth-url does it (nginx auth_request): a subrequest without body
 * to `url` carrying the client's headers; 2xx lets the request through, 401 redirects to `signin` (or reaches
 * the client), 403 reaches the client, anything else or no answer is 500. */
export interface ExternalAuthPolicy {
  /** http or https URL of the auth service. `$variables` may appear in its path and query only (see
   * gateway/access/variables.ts), never in its scheme or authority: the edge never dials a host a client names. */
  url: string;
  /** Method of the subrequest (auth-method); absent: the client's method. */
  method?: string;
  /** Where a 401 sends the client (auth-signin), `$variables` allowed; absent: the 401 reaches the client. */
  signin?: string;
  /** The sign-in URL's query parameter that carries the original URL (auth-signin-redirect-param); default `rd`. */
  signinRedirectParam?: string;
  /** X-Auth-Request-Redirect sent to the auth service (auth-request-redirect); absent: the request URI. */
  requestRedirect?: string;
  /** Headers of the auth service's answer set on the upstream request, replacing the client's
   * (auth-response-headers). Lower-case names. */
  responseHeaders?: string[];
  /** The auth answer's Set-Cookie reaches the client on every response, not only on 2xx/3xx ones
   * (auth-always-set-cookie). */
  alwaysSetCookie?: boolean;
  /** Answers of the auth service kept for a while (auth-cache-key, auth-cache-duration). */
  cache?: ExternalAuthCache;
  /** Headers set on the subrequest (auth-proxy-set-headers: the entries of a ConfigMap), as [lower-case name,
   * value] sorted by name; a value may use `$variables` (gateway/table/variables.ts). Each replaces the client's
   * header and the edge's own of that name; a value that expands to "" sends no such header (nginx's
   * proxy_set_header). Schema 4. */
  proxySetHeaders?: [string, string][];
}

export interface ExternalAuthCache {
  /** The cache key template (`$variables`), combined with the host and route so routes never share answers. */
  key: string;
  /** How long an answer with each status is kept, in seconds (auth-cache-duration `200 202 401 5m`). */
  seconds: Record<string, number>;
}

export interface Route {
  /** For Prefix: the rule path without its trailing `/` ("" for `/`); for Exact and Regex: the path as written
   * (for Regex without the `^` the matcher puts before it). */
  path: string;
  pathType: PathType;
  /** Id of an entry in `RoutingTable.backends`. */
  backend: string;
  /** The Ingress this route came from. */
  source: ObjectRef;
  policies: RoutePolicies;
}

export interface HostTls {
  /** Id of an entry in `RoutingTable.certificates`, or null: TLS is configured but the certificate is
   * missing or invalid, so the worker serves its default certificate for this host. */
  certificate: string | null;
}

export interface HostRoutes {
  /** Lower-case: an exact host (`foo.com`), a one-label wildcard (`*.foo.com`) or "" (rules without host). */
  host: string;
  tls: HostTls | null;
  /** Ordered by precedence: longest path first; on equal length Exact before Prefix (Regex: by path, descending,
   * as ingress-nginx sorts its locations). Either every route is Regex or none is. */
  routes: Route[];
  /** Backend for requests to this host that match no route: the `spec.defaultBackend` of the oldest
   * Ingress that has rules for this host and a default backend (as ingress-nginx does), else null. */
  fallbackBackend: string | null;
  /** Fail closed for the fallback backend: as `RoutePolicies.failClosed`, for the Ingress that provides it. */
  fallbackFailClosed?: string[];
  /** Client certificates (ingress-nginx's auth-tls-*), checked for every request to the host, whichever route
   * or fallback serves it: nginx applies them to the whole server. Absent: none asked for. */
  clientCertificate?: ClientCertificatePolicy;
  /** from-to-www-redirect: every request to this name is redirected to another (an HTTPRoute RequestRedirect
   * filter with a hostname). Such an entry has no routes and no fallback. Schema 5. */
  redirect?: HostRedirect;
  /** ssl-passthrough: TLS connections whose SNI names this host are relayed, ClientHello included, to the backend's
   * endpoints without being terminated (gateway/runtime/node-passthrough.ts); the host's routes, certificate and
   * other annotations do not apply to them. Schema 6. Absent: TLS is terminated as usual. */
  passthrough?: HostPassthrough;
}

/** The layer-4 relay of an ssl-passthrough host (ingress-nginx's SSLPassthroughBackend). */
export interface HostPassthrough {
  /** Id of the backend in `RoutingTable.backends` whose endpoints get the TLS stream: the host's `/` route, else its
   * fallback backend (ingress-nginx: the server's root location). null when the host has neither: its TLS
   * connections are closed (fail closed) rather than served with a certificate the owner did not ask for. */
  backend: string | null;
}

/** How a host treats client certificates (auth-tls-verify-client):
 * - `on`: a certificate signed by the authority is required (none or a bad one: 400);
 * - `optional`: asked for; none passes, a bad one is 400;
 * - `optional_no_ca`: asked for and passed upstream, never refused;
 * - `off`: not asked for; the upstream still gets `ssl-client-verify: NONE`. */
export type ClientCertificateVerify = 'on' | 'off' | 'optional' | 'optional_no_ca';

export interface ClientCertificatePolicy {
  /** Id of the entry in `RoutingTable.clientCertificateAuthorities` (the auth-tls-secret, `namespace/name`). */
  authority: string;
  verify: ClientCertificateVerify;
  /** How many certificates may stand between the client's and a trusted one (auth-tls-verify-depth). */
  depth: number;
  /** Where a refused client is redirected with 302 instead of a 400 (auth-tls-error-page); absent: 400. */
  errorPage?: string;
  /** Send the client's certificate upstream in `ssl-client-cert` (auth-tls-pass-certificate-to-upstream). */
  passCertificate: boolean;
  /** auth-tls-match-cn: a regular expression (starting `CN=`) the subject DN must match, else 403. */
  matchCn?: string;
  /** The Ingress whose annotations these are (the oldest on the host that has them, as in ingress-nginx). */
  source: ObjectRef;
}

/** The certificate authorities an auth-tls-secret holds: public certificates, so they travel in the table. */
export interface ClientCertificateAuthority {
  /** `namespace/secretName`. */
  id: string;
  /** The Secret's `ca.crt`: one or more PEM certificates. */
  caPem: string;
  /** The Secret's `ca.crl`, when it has one: PEM revocation lists checked with the authorities. */
  crlPem?: string;
}

export interface Endpoint {
  address: string;
  port: number;
  zone: string | null;
}

export interface Backend {
  /** `namespace/service:port`, where port is the number or name as written in the Ingress. */
  id: string;
  service: ObjectRef & { port: number | string };
  /** Ready endpoints only; empty means the backend answers 503. */
  endpoints: Endpoint[];
  /** Endpoints that exist but are not ready: never routed to, counted for inspection (ready/total). */
  notReady: number;
  /** service-upstream: the one endpoint is the Service's ClusterIP and port, not its pods (kube-proxy balances);
   * the id then ends in `SERVICE_UPSTREAM_SUFFIX`, so the same Service port can also be a backend of pods.
   * Schema 5. Absent: pods. */
  serviceUpstream?: true;
}

/** Ends the id of a backend that is the Service's ClusterIP (service-upstream). */
export const SERVICE_UPSTREAM_SUFFIX = '#cluster-ip';

export interface CertificateInfo {
  /** `namespace/secretName`. */
  id: string;
  /** SHA-256 fingerprint of the leaf certificate (colon-separated hex, as node:crypto prints it). */
  fingerprint: string;
  /** DNS names the leaf covers (subjectAltName DNS entries). */
  dnsNames: string[];
  notBefore: string;
  notAfter: string;
}

export interface RoutingTable {
  schema: SchemaVersion;
  /** `sha256:` + hex digest of the canonical serialisation of every other field. */
  version: string;
  hosts: HostRoutes[];
  /** Backend for requests that match no host (the oldest Ingress's `spec.defaultBackend`), or null: 404. */
  defaultBackend: string | null;
  /** Fail closed for the default backend: as `RoutePolicies.failClosed`, for the Ingress that provides it. */
  defaultBackendFailClosed?: string[];
  backends: Backend[];
  certificates: CertificateInfo[];
  /** The authorities hosts' client certificates are checked against; absent when no host asks for them. */
  clientCertificateAuthorities?: ClientCertificateAuthority[];
  /** The proxy-ssl-secrets routes' `upstreamTls` names; absent when none does. Schema 6. */
  upstreamTlsSecrets?: UpstreamTlsSecret[];
  /** The value of the Strict-Transport-Security header every HTTPS answer for a host with TLS carries (the
   * ConfigMap's hsts, hsts-max-age, hsts-include-subdomains, hsts-preload), replacing the upstream's. Absent: none.
   * Schema 6. */
  hsts?: string;
  /** Id of an entry in `certificates` served instead of the worker's generated certificate: to clients with no or
   * an unknown server name and for hosts whose own certificate is missing (--default-ssl-certificate). Schema 6. */
  defaultCertificate?: string;
}

/** Certificate material, kept out of the table: the table references certificates by id only. */
export interface CertificateMaterial {
  id: string;
  certPem: string;
  keyPem: string;
}
