// What Portico does with each `nginx.ingress.kubernetes.io/` annotation of ingress-nginx v1.15 (its annotation docs'
// table, grouped): the one list behind the README's "Every ingress-nginx annotation" table (rendered from here, and a
// test keeps the two equal) and behind `portico migrate`'s verdict per annotation. The compiler's own diagnostics
// still say what happened to a particular value; this says what Portico does with the annotation at all.
import { NGINX_PREFIX } from '../compile/annotation-prefixes.ts';

export type Support =
  /** Exactly as ingress-nginx. */
  | 'honoured'
  /** Honoured; the README item named in `where` states every difference. */
  | 'differs'
  /** Some values are honoured (the README item says which), the rest fail closed. */
  | 'partial'
  /** Read and validated, with nothing to do. */
  | 'accepted'
  /** Not honoured: a Warning, and ignored. */
  | 'not-honoured'
  /** Refused: the routes answer 503 (an access-control setting Portico cannot honour, or a snippet). */
  | 'fails-closed';

export interface AnnotationSupport {
  /** Annotation names without the prefix; a trailing `*` matches any suffix. */
  names: readonly string[];
  support: Support;
  /** Where the README states the details, or why not. */
  where: string;
}

const row = (names: string[], support: Support, where: string): AnnotationSupport => ({ names, support, where });

/** The README's words for each verdict. */
export const SUPPORT_TEXT: Readonly<Record<Support, string>> = {
  honoured: 'honoured',
  differs: 'honoured, with differences',
  partial: 'honoured in part',
  accepted: 'accepted, no effect',
  'not-honoured': 'not honoured',
  'fails-closed': 'fails closed (503)',
};

export const ANNOTATION_SUPPORT: readonly AnnotationSupport[] = [
  row(['app-root'], 'differs', 'Redirects and host names'),
  row(['affinity', 'affinity-mode', 'session-cookie-*'], 'differs', 'Session affinity and hashing (Node, Deno, workerd)'),
  row(['affinity-canary-behavior'], 'not-honoured', 'Portico routes canary requests by the canary rules alone'),
  row(['auth-realm', 'auth-secret', 'auth-secret-type', 'auth-type'], 'differs', 'Basic authentication; Digest authentication'),
  row(
    [
      'auth-tls-secret',
      'auth-tls-verify-depth',
      'auth-tls-verify-client',
      'auth-tls-error-page',
      'auth-tls-pass-certificate-to-upstream',
      'auth-tls-match-cn',
    ],
    'differs',
    'Client certificates',
  ),
  row(
    [
      'auth-url',
      'auth-method',
      'auth-signin',
      'auth-signin-redirect-param',
      'auth-request-redirect',
      'auth-response-headers',
      'auth-always-set-cookie',
      'auth-cache-key',
      'auth-cache-duration',
      'auth-keepalive*',
    ],
    'differs',
    'External authentication',
  ),
  row(['auth-proxy-set-headers'], 'differs', 'External authentication'),
  row(['auth-snippet'], 'fails-closed', 'never supported: configuration text'),
  row(['enable-global-auth'], 'honoured', "with the controller ConfigMap's `global-auth-url` (Moving from ingress-nginx)"),
  row(
    ['backend-protocol'],
    'differs',
    'Upstream protocol (HTTPS, GRPC, GRPCS, H2C on Node; AJP/FCGI fail closed; Deno/workerd answer 502)',
  ),
  row(
    [
      'canary',
      'canary-by-header',
      'canary-by-header-value',
      'canary-by-header-pattern',
      'canary-by-cookie',
      'canary-weight',
      'canary-weight-total',
    ],
    'differs',
    'Canary',
  ),
  row(
    ['client-body-buffer-size'],
    'not-honoured',
    "the worker's --client-body-buffer-size applies to every route; nothing is buffered to disk",
  ),
  row(['configuration-snippet'], 'partial', 'Snippets: literal header directives become header rules; anything else fails closed (503)'),
  row(
    ['custom-http-errors'],
    'differs',
    "Error pages and backends (the error backend's status reaches the client, as default_backend.go asserts)",
  ),
  row(['default-backend'], 'differs', 'Error pages and backends'),
  row(
    [
      'enable-cors',
      'cors-allow-origin',
      'cors-allow-methods',
      'cors-allow-headers',
      'cors-expose-headers',
      'cors-allow-credentials',
      'cors-max-age',
    ],
    'differs',
    'CORS',
  ),
  row(['custom-headers'], 'differs', 'Custom response headers (needs --global-allowed-response-headers)'),
  row(
    [
      'force-ssl-redirect',
      'from-to-www-redirect',
      'permanent-redirect',
      'permanent-redirect-code',
      'temporal-redirect',
      'temporal-redirect-code',
      'relative-redirects',
      'server-alias',
      'upstream-vhost',
      'x-forwarded-prefix',
    ],
    'differs',
    'Redirects and host names',
  ),
  row(['http2-push-preload'], 'not-honoured', 'HTTP/2 server push is not offered (browsers removed it)'),
  row(
    ['limit-connections', 'limit-rps', 'limit-rpm', 'limit-burst-multiplier', 'limit-allowlist', 'limit-whitelist'],
    'differs',
    'Request and connection limits',
  ),
  row(
    ['global-rate-limit', 'global-rate-limit-window', 'global-rate-limit-key', 'global-rate-limit-ignored-cidrs'],
    'differs',
    'Global rate limit',
  ),
  row(['limit-rate', 'limit-rate-after'], 'not-honoured', 'response bandwidth shaping is not built'),
  row(['preserve-trailing-slash'], 'accepted', 'the HTTPS redirect always keeps the path as sent'),
  row(
    [
      'proxy-body-size',
      'proxy-connect-timeout',
      'proxy-send-timeout',
      'proxy-read-timeout',
      'proxy-next-upstream',
      'proxy-next-upstream-timeout',
      'proxy-next-upstream-tries',
    ],
    'differs',
    'Upstream timeouts, body size and retries',
  ),
  row(
    ['proxy-buffering', 'proxy-request-buffering', 'proxy-http-version'],
    'accepted',
    'validated; Portico streams and speaks HTTP/1.1 (or the backend protocol) upstream',
  ),
  row(['proxy-buffers-number', 'proxy-buffer-size', 'proxy-max-temp-file-size'], 'not-honoured', 'nginx buffer tuning has no counterpart'),
  row(
    ['proxy-cookie-domain', 'proxy-cookie-path', 'proxy-redirect-from', 'proxy-redirect-to'],
    'not-honoured',
    'response rewriting is not built',
  ),
  row(
    [
      'proxy-ssl-secret',
      'proxy-ssl-verify',
      'proxy-ssl-verify-depth',
      'proxy-ssl-name',
      'proxy-ssl-server-name',
      'proxy-ssl-ciphers',
      'proxy-ssl-protocols',
    ],
    'differs',
    "Upstream TLS (Node, with backend-protocol HTTPS/GRPCS; an unusable Secret, a non on/off verify and anonymous ciphers fail closed; without proxy-ssl-name the Service's DNS name is checked; Deno/workerd answer 503)",
  ),
  row(['rewrite-target', 'use-regex', 'enable-rewrite-log'], 'differs', 'Regex paths and rewrites (`enable-rewrite-log` accepted)'),
  row(['satisfy'], 'honoured', 'satisfy'),
  row(
    ['server-snippet'],
    'partial',
    'Snippets: literal header directives on every route of the host; anything else fails closed (503) on the host',
  ),
  row(['modsecurity-snippet'], 'fails-closed', 'never supported: configuration text'),
  row(['stream-snippet'], 'not-honoured', 'reported only (Portico has no TCP/UDP proxying)'),
  row(['service-upstream'], 'differs', 'Error pages and backends (the ClusterIP as the one endpoint)'),
  row(['ssl-redirect'], 'honoured', 'TLS'),
  row(
    ['ssl-passthrough'],
    'differs',
    'TLS passthrough (Node workers; no `--enable-ssl-passthrough` flag needed; Deno and workerd terminate TLS and log it)',
  ),
  row(
    ['upstream-hash-by', 'upstream-hash-by-subset', 'upstream-hash-by-subset-size', 'load-balance'],
    'differs',
    'Session affinity and hashing (`load-balance: ewma` balances round robin, with a Warning)',
  ),
  row(['allowlist-source-range', 'whitelist-source-range', 'denylist-source-range'], 'differs', 'Source ranges'),
  row(['ssl-ciphers', 'ssl-prefer-server-ciphers'], 'not-honoured', "Node's TLS defaults (TLS 1.2+) apply"),
  row(['connection-proxy-header'], 'not-honoured', 'Portico manages upstream connections itself'),
  row(
    ['enable-access-log', 'enable-opentracing', 'opentracing-trust-incoming-span', 'enable-influxdb', 'influxdb-*'],
    'not-honoured',
    "observability is Portico's own: metrics, and access logs per process (`--access-log`), not per Ingress",
  ),
  row(['enable-modsecurity', 'enable-owasp-core-rules', 'modsecurity-transaction-id'], 'not-honoured', 'no WAF; reported as unsupported'),
  row(['mirror-request-body', 'mirror-target', 'mirror-host'], 'not-honoured', 'request mirroring is not built'),
];

const matches = (pattern: string, name: string): boolean =>
  pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : pattern === name;

/** The row of an ingress-nginx annotation (full key or bare name), or null: not an annotation ingress-nginx v1.15
 * documents, which Portico reports as unsupported. */
export function annotationSupport(key: string): AnnotationSupport | null {
  const name = key.startsWith(NGINX_PREFIX) ? key.slice(NGINX_PREFIX.length) : key;
  return ANNOTATION_SUPPORT.find((r) => r.names.some((n) => matches(n, name))) ?? null;
}

/** The README table (`node --import tsx sync/migrate/annotation-table.ts` prints it). */
export function annotationTable(): string {
  return [
    '| annotations | Portico | where, or why not |',
    '|---|---|---|',
    ...ANNOTATION_SUPPORT.map((r) => `| ${r.names.map((n) => `\`${n}\``).join(', ')} | ${SUPPORT_TEXT[r.support]} | ${r.where} |`),
  ].join('\n');
}
