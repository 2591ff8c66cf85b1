// ingress-nginx's backend annotations (internal/ingress/annotations/defaultbackend, customhttperrors,
// serviceupstream, preservetrailingslash) → typed requests the compiler turns into route filters and backends:
// - default-backend: a Service of the Ingress's namespace (its first port, resolved in error-backends.ts) that
//   serves the routes' error pages;
// - custom-http-errors: the upstream statuses replaced by an error page (`404,503`, spaces allowed);
//   enable-custom-http-errors "false" turns them off for this Ingress (customhttperrors.go, "when disabled");
// - service-upstream: the backends are the Services' ClusterIPs rather than their pods;
// - preserve-trailing-slash: read and validated; Portico's HTTPS redirect always keeps the path as sent (README).
//
// Routing annotations, not access control: a malformed value is an InvalidAnnotation warning and the annotation
// does not apply, as ingress-nginx's parsers drop an annotation that does not parse.
import { MAX_INTERCEPT_STATUS, MIN_INTERCEPT_STATUS } from '../../gateway/table/validate-error-pages.ts';
import { NGINX_PREFIX } from './annotation-prefixes.ts';
import { annotationReader, strictBool } from './annotation-reader.ts';
import type { AnnotationProblem } from './annotations.ts';
import type { Fields } from './objects.ts';

const DEFAULT_BACKEND = `${NGINX_PREFIX}default-backend`;
const CUSTOM_HTTP_ERRORS = `${NGINX_PREFIX}custom-http-errors`;
const ENABLE_CUSTOM_HTTP_ERRORS = `${NGINX_PREFIX}enable-custom-http-errors`;
const SERVICE_UPSTREAM = `${NGINX_PREFIX}service-upstream`;
const PRESERVE_TRAILING_SLASH = `${NGINX_PREFIX}preserve-trailing-slash`;

/** A Service name (an RFC 1035 label), as the apiserver allows it. */
const SERVICE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

export interface BackendRequest {
  /** default-backend: the Service's name, in the Ingress's namespace. */
  errorService?: string;
  /** custom-http-errors: sorted, distinct. */
  interceptStatuses?: number[];
  /** service-upstream "true". */
  serviceUpstream: boolean;
}

export interface ParsedBackendAnnotations {
  request: BackendRequest;
  consumed: Set<string>;
  problems: AnnotationProblem[];
}

/** `404, 503` → [404, 503]; null when an entry is not a status nginx's error_page accepts. */
export function parseStatuses(raw: unknown): number[] | null {
  if (typeof raw !== 'string') return null;
  const out = new Set<number>();
  for (const part of raw.split(',')) {
    const v = part.trim();
    if (!/^\d{3}$/.test(v)) return null;
    const n = Number(v);
    if (n < MIN_INTERCEPT_STATUS || n > MAX_INTERCEPT_STATUS) return null;
    out.add(n);
  }
  return [...out].sort((a, b) => a - b);
}

export function parseBackendAnnotations(annotations: Fields): ParsedBackendAnnotations {
  const reader = annotationReader(annotations);
  const { consumed, problems } = reader;
  const read = reader.read;
  const request: BackendRequest = { serviceUpstream: false };
  const service = read(
    DEFAULT_BACKEND,
    (r) => (typeof r === 'string' && SERVICE_NAME.test(r.trim()) ? r.trim() : null),
    "the name of a Service in the Ingress's namespace",
    'no error backend applies',
  );
  if (service !== undefined) request.errorService = service;
  const enabled = read(ENABLE_CUSTOM_HTTP_ERRORS, strictBool, '"true" or "false"', 'the default ("true") applies');
  const statuses = read(
    CUSTOM_HTTP_ERRORS,
    parseStatuses,
    `statuses from ${MIN_INTERCEPT_STATUS} to ${MAX_INTERCEPT_STATUS} separated by commas, such as "404,503"`,
    'upstream errors reach the client unchanged',
  );
  if (statuses !== undefined && enabled !== false) request.interceptStatuses = statuses;
  request.serviceUpstream = read(SERVICE_UPSTREAM, strictBool, '"true" or "false"', 'the default ("false": the pods) applies') === true;
  // "false" is ingress-nginx's default (its HTTPS redirect drops one trailing "/"); Portico always keeps the path as
  // sent, which is what "true" asks for (preservetrailingslash.go). README, "Ingress semantics".
  read(PRESERVE_TRAILING_SLASH, strictBool, '"true" or "false"', 'the HTTPS redirect keeps the path as sent, as always in Portico');
  return { request, consumed, problems };
}
