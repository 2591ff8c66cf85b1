// What a request gets, decided from the live table alone: a redirect, one of the gateway's own status
// answers, or a backend to forward to. Pure and shared by the Hono request path and the WebSocket
// upgrade path, so both follow exactly the same rules.
import type { LiveTable } from './live.ts';
import type { Backend, Route } from './table/schema.ts';

export interface RequestFacts {
  /** Host header (or :authority), as sent. */
  host: string;
  /** Path without query, as sent. */
  path: string;
  /** Query including its `?`, or "". */
  search: string;
  scheme: 'http' | 'https';
  clientIp: string;
  localPort: number;
}

export type Decision =
  | { kind: 'redirect'; location: string; label: string }
  | { kind: 'status'; status: 400 | 404 | 503; label: string }
  | { kind: 'forward'; backend: Backend; target: string; label: string };

// ACME HTTP-01 challenges must reach their solver over plain HTTP (RFC 8555 8.3); ingress-nginx exempts them too.
const ACME_PREFIX = '/.well-known/acme-challenge/';
const SAFE_HOST = /^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])$/;

/** Metrics label: `namespace/ingress host path` (`=` marks Exact), or how an unrouted request was served. */
export function routeLabel(route: Route | null, host: string | null, reason: string): string {
  if (route === null) return reason === 'no-match' ? '' : reason;
  return `${route.source.namespace}/${route.source.name} ${host === '' || host === null ? '*' : host} ${route.pathType === 'Exact' ? '=' : ''}${route.path || '/'}`;
}

/** `httpsPort` is where HTTPS is served (for redirect Locations), or null when there is no HTTPS listener. */
export function decide(live: Pick<LiveTable, 'current'>, f: RequestFacts, httpsPort: number | null): Decision {
  const loaded = live.current;
  if (loaded === null) return { kind: 'status', status: 503, label: '' };
  const m = loaded.matcher.match(f.host, f.path);
  const label = routeLabel(m.route, m.host?.host ?? null, m.reason);
  if (m.route !== null && m.route.policies.sslRedirect && f.scheme === 'http' && httpsPort !== null && !m.path.startsWith(ACME_PREFIX)) {
    const name = f.host.replace(/:\d+$/, '').toLowerCase();
    if (!SAFE_HOST.test(name)) return { kind: 'status', status: 400, label };
    const port = httpsPort === 443 ? '' : `:${httpsPort}`;
    return { kind: 'redirect', location: `https://${name}${port}${m.path}${f.search}`, label };
  }
  if (m.backend === null) return { kind: 'status', status: 404, label };
  if (m.backend.endpoints.length === 0) return { kind: 'status', status: 503, label };
  return { kind: 'forward', backend: m.backend, target: m.path + f.search, label };
}
