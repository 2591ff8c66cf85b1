// ingress-nginx's ssl-passthrough (internal/ingress/annotations/sslpassthrough): "true" asks for the Ingress's hosts'
// TLS connections to be relayed to the backend without being terminated. Read with the repo's strict boolean parser
// ("true"/"false", any case): ingress-nginx's strconv.ParseBool also reads "1", "t" and the like, which here are an
// InvalidAnnotation warning and the default (no passthrough) — never a relay the author did not clearly ask for.
import { NGINX_PREFIX } from './annotation-prefixes.ts';
import { annotationReader, strictBool } from './annotation-reader.ts';
import type { AnnotationProblem } from './annotations.ts';
import type { Fields } from './objects.ts';

export const SSL_PASSTHROUGH = `${NGINX_PREFIX}ssl-passthrough`;

export interface ParsedPassthrough {
  passthrough: boolean;
  consumed: Set<string>;
  problems: AnnotationProblem[];
}

export function parsePassthroughAnnotations(annotations: Fields): ParsedPassthrough {
  const reader = annotationReader(annotations);
  const passthrough =
    reader.read(SSL_PASSTHROUGH, strictBool, '"true" or "false"', 'the default ("false": TLS is terminated by Portico) applies') === true;
  return { passthrough, consumed: reader.consumed, problems: reader.problems };
}
