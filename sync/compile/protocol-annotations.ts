// ingress-nginx's backend-protocol (internal/ingress/annotations/backendprotocol) and proxy-ssl-*
// (internal/ingress/annotations/proxyssl) → the route's `backendProtocol` (gateway/table/schema.ts).
//
// backend-protocol is read as ingress-nginx reads it: trimmed, case-insensitive; an unknown value is a warning
// and HTTP applies (its parser returns HTTP). AJP and FCGI are valid there but Portico speaks neither: sending
// HTTP to such an upstream would answer garbage, so the routes answer 503 (fail closed) with a warning instead.
// H2C is Portico's own value (HTTP/2 cleartext for any upstream, as GRPC).
//
// proxy-ssl-*: ingress-nginx reads every one of them only when proxy-ssl-secret names a Secret it can load (its
// Parse returns an empty config otherwise), and denies the location (503) when the Secret is missing or in
// another namespace. Portico does not verify upstream certificates nor present a client certificate to them
// yet (the Secret's tls.key would have to travel to the workers like serving certificates do), so an Ingress
// with proxy-ssl-secret fails closed: its routes answer 503 rather than talk to the upstream without the
// verification it asked for. Without proxy-ssl-secret the others change nothing, as in ingress-nginx: a warning.
import type { BackendProtocol } from '../../gateway/table/schema.ts';
import { BACKEND_PROTOCOLS } from '../../gateway/table/validate-upstream.ts';
import { NGINX_PREFIX } from './annotation-prefixes.ts';
import type { UnenforcedGuard } from './access-control.ts';
import type { AnnotationProblem } from './annotations.ts';
import { show, type Fields } from './objects.ts';

export const BACKEND_PROTOCOL = `${NGINX_PREFIX}backend-protocol`;
export const PROXY_SSL_SECRET = `${NGINX_PREFIX}proxy-ssl-secret`;
/** Read by ingress-nginx only with proxy-ssl-secret. */
const PROXY_SSL_OTHERS = [
  'proxy-ssl-ciphers',
  'proxy-ssl-name',
  'proxy-ssl-protocols',
  'proxy-ssl-server-name',
  'proxy-ssl-verify',
  'proxy-ssl-verify-depth',
].map((n) => `${NGINX_PREFIX}${n}`);

/** Protocols ingress-nginx accepts that Portico cannot speak (ajp_pass, fastcgi_pass). */
const UNSPOKEN: ReadonlySet<string> = new Set(['AJP', 'FCGI']);
/** Values that mean plain HTTP/1.1 (AUTO_HTTP: ingress-nginx's HTTP that also accepts HTTP/2 from the client). */
const PLAIN: ReadonlySet<string> = new Set(['HTTP', 'AUTO_HTTP']);

export interface ParsedProtocol {
  backendProtocol?: BackendProtocol;
  /** The routes answer 503 (AJP, FCGI, proxy-ssl-secret). */
  malformed: UnenforcedGuard[];
  consumed: Set<string>;
  problems: AnnotationProblem[];
}

export function parseProtocolAnnotations(annotations: Fields): ParsedProtocol {
  const out: ParsedProtocol = { malformed: [], consumed: new Set(), problems: [] };
  if (Object.hasOwn(annotations, BACKEND_PROTOCOL)) {
    out.consumed.add(BACKEND_PROTOCOL);
    const raw = annotations[BACKEND_PROTOCOL];
    const v = typeof raw === 'string' ? raw.trim().toUpperCase() : '';
    if (BACKEND_PROTOCOLS.has(v as BackendProtocol)) out.backendProtocol = v as BackendProtocol;
    else if (UNSPOKEN.has(v)) {
      out.malformed.push({ key: BACKEND_PROTOCOL, scope: 'routes' });
      out.problems.push({
        code: 'UnsupportedAnnotation',
        message: `annotation ${JSON.stringify(BACKEND_PROTOCOL)} has value ${show(raw)}: Portico does not speak ${v} to upstreams, so the routes of this Ingress answer 503 instead of sending HTTP to them`,
      });
    } else if (!PLAIN.has(v)) {
      out.problems.push({
        code: 'InvalidAnnotation',
        message: `annotation ${JSON.stringify(BACKEND_PROTOCOL)} has value ${show(raw)}; expected HTTP, HTTPS, GRPC, GRPCS or H2C (AJP and FCGI are not spoken), so HTTP applies`,
      });
    }
  }
  if (Object.hasOwn(annotations, PROXY_SSL_SECRET)) {
    out.consumed.add(PROXY_SSL_SECRET);
    out.malformed.push({ key: PROXY_SSL_SECRET, scope: 'routes' });
    out.problems.push({
      code: 'UnsupportedAnnotation',
      message: `annotation ${JSON.stringify(PROXY_SSL_SECRET)} (value ${show(annotations[PROXY_SSL_SECRET])}) asks for verified or client-certificate TLS to the upstream, which Portico does not do yet, so the routes of this Ingress answer 503 (fail closed) instead of connecting without it`,
    });
  }
  for (const key of PROXY_SSL_OTHERS) {
    if (!Object.hasOwn(annotations, key)) continue;
    out.consumed.add(key);
    if (!Object.hasOwn(annotations, PROXY_SSL_SECRET))
      out.problems.push({
        code: 'InvalidAnnotation',
        message: `annotation ${JSON.stringify(key)} has no effect without ${JSON.stringify(PROXY_SSL_SECRET)} (as in ingress-nginx), so the upstream's certificate is not verified and no server name is sent`,
      });
  }
  return out;
}
