// ingress-nginx's backend-protocol (internal/ingress/annotations/backendprotocol) → the route's `backendProtocol`
// (gateway/table/schema.ts).
//
// backend-protocol is read as ingress-nginx reads it: trimmed, case-insensitive; an unknown value is a warning
// and HTTP applies (its parser returns HTTP). AJP and FCGI are valid there but Portico speaks neither: sending
// HTTP to such an upstream would answer garbage, so the routes answer 503 (fail closed) with a warning instead.
// H2C is Portico's own value (HTTP/2 cleartext for any upstream, as GRPC).
//
// proxy-ssl-* are read by proxy-ssl-annotations.ts.
import type { BackendProtocol } from '../../gateway/table/schema.ts';
import { BACKEND_PROTOCOLS } from '../../gateway/table/validate-upstream.ts';
import { NGINX_PREFIX } from './annotation-prefixes.ts';
import type { UnenforcedGuard } from './access-control.ts';
import type { AnnotationProblem } from './annotations.ts';
import { show, type Fields } from './objects.ts';

export const BACKEND_PROTOCOL = `${NGINX_PREFIX}backend-protocol`;
/** Protocols ingress-nginx accepts that Portico cannot speak (ajp_pass, fastcgi_pass). */
const UNSPOKEN: ReadonlySet<string> = new Set(['AJP', 'FCGI']);
/** Values that mean plain HTTP/1.1 (AUTO_HTTP: ingress-nginx's HTTP that also accepts HTTP/2 from the client). */
const PLAIN: ReadonlySet<string> = new Set(['HTTP', 'AUTO_HTTP']);

export interface ParsedProtocol {
  backendProtocol?: BackendProtocol;
  /** The routes answer 503 (AJP, FCGI). */
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
  return out;
}
