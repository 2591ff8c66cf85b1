// The typed annotation allow-list (docs/ARCHITECTURE.md, "Invariants"). Each supported annotation has a parser, a type
// and a documented default; nothing read from an annotation ever becomes configuration text. Unknown
// Portico annotations, ingress-nginx annotations Portico does not implement and malformed values each give
// a diagnostic and are otherwise ignored, except those that guard access, which fail closed
// (see access-control.ts).
import { guardOf, unenforcedMessage, type UnenforcedGuard } from './access-control.ts';
import { parseAccessAnnotations, type ParsedAccess } from './access-annotations.ts';
import { type BackendRequest, parseBackendAnnotations } from './backend-annotations.ts';
import { parsePassthroughAnnotations } from './passthrough-annotations.ts';
import { type CanaryRequest, parseCanaryAnnotations } from './canary-annotations.ts';
import { type ParsedAffinity, parseAffinityAnnotations } from './affinity-annotations.ts';
import { type ClientCertificateRequest, parseClientCertificateAnnotations } from './client-certificates.ts';
import { NGINX_PREFIX, PORTICO_PREFIX } from './annotation-prefixes.ts';
import { parseProtocolAnnotations } from './protocol-annotations.ts';
import { type ProxySslRequest, parseProxySslAnnotations } from './proxy-ssl-annotations.ts';
import { parseRoutingAnnotations, type RoutingRequest } from './routing-annotations.ts';
import { parseSnippetAnnotations, type SnippetRequest } from './snippet-annotations.ts';
import { parseRewriteAnnotations, type ParsedRewrite } from './rewrite-annotations.ts';
import type { DiagnosticCode } from './types.ts';
import { compareStrings, show, type Fields } from './objects.ts';
import { parseUpstreamAnnotations, type UpstreamFilters } from './upstream-annotations.ts';

export { NGINX_PREFIX, PORTICO_PREFIX } from './annotation-prefixes.ts';

/** Per-Ingress settings read from annotations. */
export interface IngressAnnotations {
  /** Redirect plain HTTP to HTTPS (308) on this Ingress's routes when their host has TLS. Default true. */
  sslRedirect: boolean;
  /** Multi-cluster: the share, 0-100 %, of this Ingress's requests that stay in this cluster while a
   * peer cluster also serves the route with a ready endpoint; the rest go to the peer. Default 100: local
   * first, peers only for failover. */
  clusterWeight: number;
}

export const DEFAULT_ANNOTATIONS: Readonly<IngressAnnotations> = Object.freeze({ sslRedirect: true, clusterWeight: 100 });

export interface AnnotationProblem {
  code: DiagnosticCode;
  message: string;
}

interface AnnotationSpec<K extends keyof IngressAnnotations> {
  key: string;
  setting: K;
  /** What a valid value looks like, for messages. */
  expected: string;
  parse(raw: string): IngressAnnotations[K] | undefined;
}

type AnySpec = { [K in keyof IngressAnnotations]: AnnotationSpec<K> }[keyof IngressAnnotations];

function parsePercent(raw: string): number | undefined {
  const v = raw.trim();
  return /^\d{1,3}$/.test(v) && Number(v) <= 100 ? Number(v) : undefined;
}

function parseBoolean(raw: string): boolean | undefined {
  const v = raw.trim().toLowerCase();
  return v === 'true' ? true : v === 'false' ? false : undefined;
}

/** The allow-list. Applied in this order, so a later entry for the same setting overrides an earlier one:
 * the ingress-nginx spelling is accepted for migration and the portico.dev spelling wins over it. */
export const SUPPORTED_ANNOTATIONS: readonly AnySpec[] = [
  { key: `${NGINX_PREFIX}ssl-redirect`, setting: 'sslRedirect', expected: '"true" or "false"', parse: parseBoolean },
  { key: `${PORTICO_PREFIX}ssl-redirect`, setting: 'sslRedirect', expected: '"true" or "false"', parse: parseBoolean },
  { key: `${PORTICO_PREFIX}cluster-weight`, setting: 'clusterWeight', expected: 'a whole number from 0 to 100', parse: parsePercent },
];

const SUPPORTED_KEYS: ReadonlySet<string> = new Set(SUPPORTED_ANNOTATIONS.map((s) => s.key));

function applySpec<K extends keyof IngressAnnotations>(
  spec: AnnotationSpec<K>,
  raw: unknown,
  out: IngressAnnotations,
  problems: AnnotationProblem[],
): void {
  const value = typeof raw === 'string' ? spec.parse(raw) : undefined;
  if (value === undefined) {
    problems.push({
      code: 'InvalidAnnotation',
      message: `annotation ${JSON.stringify(spec.key)} has value ${show(raw)}; expected ${spec.expected}, so the default (${String(DEFAULT_ANNOTATIONS[spec.setting])}) applies`,
    });
    return;
  }
  out[spec.setting] = value;
}

function unsupported(key: string): AnnotationProblem | null {
  if (key.startsWith(PORTICO_PREFIX)) {
    return {
      code: 'UnknownAnnotation',
      message: `annotation ${JSON.stringify(key)} is not a Portico annotation (supported: ${[...SUPPORTED_KEYS].filter((k) => k.startsWith(PORTICO_PREFIX)).join(', ')}); it is ignored`,
    };
  }
  if (key.startsWith(NGINX_PREFIX)) {
    if (key.endsWith('snippet')) {
      return {
        code: 'UnsupportedAnnotation',
        message: `annotation ${JSON.stringify(key)} is ignored: snippets are never supported, because they inject raw configuration text into the proxy`,
      };
    }
    return {
      code: 'UnsupportedAnnotation',
      message: `annotation ${JSON.stringify(key)} is an ingress-nginx annotation that Portico does not implement; it is ignored`,
    };
  }
  return null;
}

export interface ParsedAnnotations {
  values: IngressAnnotations;
  /** Access control Portico enforces, and the annotations it came from. */
  access: Omit<ParsedAccess, 'malformed' | 'problems' | 'consumed'>;
  /** Access-control annotations Portico does not enforce, or whose value does not parse: the routes they
   * guard answer 503. Key order. */
  unenforced: UnenforcedGuard[];
  problems: AnnotationProblem[];
  /** Client certificates the Ingress asks for on its hosts (auth-tls-*), when they parse. */
  clientCertificate?: ClientCertificateRequest;
  /** TLS to the upstreams (proxy-ssl-*), when proxy-ssl-secret and its companions parse. */
  proxySsl?: ProxySslRequest;
  /** Redirects, upstream-vhost, x-forwarded-prefix, server-alias, from-to-www-redirect (routing-annotations.ts). */
  routing: RoutingRequest;
  /** Upstream timeouts, body limit, retry policy (proxy-* annotations) and protocol (backend-protocol) of the Ingress's routes. */
  upstream: UpstreamFilters;
  /** Set on a canary Ingress (canary: "true"): its paths are alternative backends of other Ingresses' routes. */
  canary?: CanaryRequest;
  /** Regular-expression paths and the rewrite (use-regex, rewrite-target). */
  rewrite: Omit<ParsedRewrite, 'consumed' | 'problems'>;
  /** Session affinity and consistent hashing of the Ingress's routes (affinity, session-cookie-*, upstream-hash-by*). */
  balancing: Omit<ParsedAffinity, 'consumed' | 'problems'>;
  /** Error pages and service-upstream (default-backend, custom-http-errors, service-upstream; backend-annotations.ts). */
  backends: BackendRequest;
  /** Header directives of configuration-snippet and server-snippet that Portico accepted (snippet-annotations.ts). */
  snippets: SnippetRequest;
  /** ssl-passthrough "true" (passthrough-annotations.ts). */
  sslPassthrough: boolean;
}

/** Reads the allow-listed annotations of one Ingress; every other portico.dev/ or ingress-nginx annotation
 * is reported once (a guard as AccessControlNotEnforced, anything else as unknown or unsupported).
 * Annotations of other tools are none of our business and pass silently. */
export function parseAnnotations(annotations: Fields, namespace?: string): ParsedAnnotations {
  const values: IngressAnnotations = { ...DEFAULT_ANNOTATIONS };
  const problems: AnnotationProblem[] = [];
  const parsedCanary = parseCanaryAnnotations(annotations);
  problems.push(...parsedCanary.problems);
  if (parsedCanary.canary !== undefined) {
    // A canary Ingress only lends its backends: the main Ingress's annotations (access control included) apply
    // to both backends, and the canary's own are ignored, as ingress-nginx documents ("all non-canary annotations
    // are ignored"; its exceptions load-balance, upstream-hash-by and affinity are ignored too: the main route's apply).
    const ignored = Object.keys(annotations)
      .filter((k) => !parsedCanary.consumed.has(k) && (k.startsWith(NGINX_PREFIX) || k.startsWith(PORTICO_PREFIX)))
      .sort(compareStrings);
    if (ignored.length > 0)
      problems.push({
        code: 'CanaryAnnotationIgnored',
        message: `annotations ${ignored.map((k) => JSON.stringify(k)).join(', ')} are ignored on a canary Ingress: the main Ingress's settings apply to both backends`,
      });
    return {
      values,
      access: { keys: [] },
      unenforced: [],
      problems,
      routing: { filters: {}, fromToWww: false, aliases: [] },
      upstream: {},
      rewrite: { regex: false },
      balancing: {},
      backends: { serviceUpstream: false },
      snippets: {},
      sslPassthrough: false,
      canary: parsedCanary.canary,
    };
  }
  const parsedAccess = parseAccessAnnotations(annotations);
  const parsedTls = parseClientCertificateAnnotations(annotations);
  const parsedRouting = parseRoutingAnnotations(annotations);
  const parsedUpstream = parseUpstreamAnnotations(annotations);
  const parsedRewrite = parseRewriteAnnotations(annotations);
  const parsedProtocol = parseProtocolAnnotations(annotations);
  const parsedProxySsl = parseProxySslAnnotations(annotations, namespace);
  const parsedAffinity = parseAffinityAnnotations(annotations, parsedRewrite.regex);
  const parsedBackends = parseBackendAnnotations(annotations);
  const parsedPassthrough = parsePassthroughAnnotations(annotations);
  const parsedSnippets = parseSnippetAnnotations(annotations);
  const unenforced: UnenforcedGuard[] = [
    ...parsedAccess.malformed,
    ...parsedTls.malformed,
    ...parsedProtocol.malformed,
    ...parsedProxySsl.malformed,
    ...parsedSnippets.malformed,
  ];
  problems.push(
    ...parsedAccess.problems,
    ...parsedTls.problems,
    ...parsedRouting.problems,
    ...parsedUpstream.problems,
    ...parsedRewrite.problems,
    ...parsedProtocol.problems,
    ...parsedProxySsl.problems,
    ...parsedAffinity.problems,
    ...parsedBackends.problems,
    ...parsedSnippets.problems,
    ...parsedPassthrough.problems,
  );
  for (const spec of SUPPORTED_ANNOTATIONS) {
    if (Object.hasOwn(annotations, spec.key))
      applySpec<keyof IngressAnnotations>(spec as AnnotationSpec<keyof IngressAnnotations>, annotations[spec.key], values, problems);
  }
  for (const key of Object.keys(annotations).sort(compareStrings)) {
    if (
      SUPPORTED_KEYS.has(key) ||
      parsedAccess.consumed.has(key) ||
      parsedTls.consumed.has(key) ||
      parsedRouting.consumed.has(key) ||
      parsedUpstream.consumed.has(key) ||
      parsedCanary.consumed.has(key) ||
      parsedRewrite.consumed.has(key) ||
      parsedProtocol.consumed.has(key) ||
      parsedProxySsl.consumed.has(key) ||
      parsedAffinity.consumed.has(key) ||
      parsedBackends.consumed.has(key) ||
      parsedSnippets.consumed.has(key) ||
      parsedPassthrough.consumed.has(key)
    )
      continue;
    const guard = guardOf(key, annotations[key]);
    if (guard !== null) {
      unenforced.push(guard);
      problems.push({ code: 'AccessControlNotEnforced', message: unenforcedMessage(guard) });
      continue;
    }
    const p = unsupported(key);
    if (p !== null) problems.push(p);
  }
  unenforced.sort((a, b) => compareStrings(a.key, b.key));
  const access = parsedAccess.access === undefined ? { keys: parsedAccess.keys } : { access: parsedAccess.access, keys: parsedAccess.keys };
  const rewrite =
    parsedRewrite.target === undefined ? { regex: parsedRewrite.regex } : { regex: parsedRewrite.regex, target: parsedRewrite.target };
  return {
    values,
    access,
    unenforced,
    problems,
    routing: parsedRouting.routing,
    upstream:
      parsedProtocol.backendProtocol === undefined
        ? parsedUpstream.filters
        : { ...parsedUpstream.filters, backendProtocol: parsedProtocol.backendProtocol },
    rewrite,
    balancing: {
      ...(parsedAffinity.affinity === undefined ? {} : { affinity: parsedAffinity.affinity }),
      ...(parsedAffinity.balance === undefined ? {} : { balance: parsedAffinity.balance }),
    },
    backends: parsedBackends.request,
    snippets: parsedSnippets.request,
    sslPassthrough: parsedPassthrough.passthrough,
    ...(parsedTls.request === undefined ? {} : { clientCertificate: parsedTls.request }),
    ...(parsedProxySsl.request === undefined ? {} : { proxySsl: parsedProxySsl.request }),
  };
}
