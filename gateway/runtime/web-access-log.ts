// Access logs on Deno and workerd: the same JSON line as Node's (access-log.ts), through console.log (workerd has no
// file or stream of its own: its console is the platform's log, Workers Logs / `wrangler tail`). The Web runtimes
// hand a Response back rather than writing into a socket, so the line is written when the response head is ready:
// `durationMs` ends there, `bytesOut` is the declared Content-Length (0 when streamed without one), `bytesIn` the
// declared request length; the upstream fields stay null (the fetch() forwarder does not report them yet) and the
// TLS fields too (neither runtime exposes the handshake to the handler).
import type { MiddlewareHandler } from 'hono';
import type { AccessEntry } from '../access-log.ts';
import type { RequestFacts } from '../decide.ts';
import { requestIdFor } from '../proxy/headers.ts';

export interface WebAccessLog {
  sampled(): boolean;
  write(entry: AccessEntry): void;
}

/** What the request path decided, per logged request (Hono's per-request variables would type every app's Env). */
const seen = new WeakMap<Request, { facts: RequestFacts | null; route: string }>();

/** RuntimeBindings.observe for the Web runtimes: remembers the facts of logged requests. */
export function observeForLog(request: Request, facts: RequestFacts, route: string): void {
  if (seen.has(request)) seen.set(request, { facts, route });
}

/** The middleware in front of the gateway app: one line per sampled request. */
export function webAccessLog(log: WebAccessLog): MiddlewareHandler {
  return async (c, next) => {
    if (!log.sampled()) return next();
    const req = c.req.raw;
    const start = performance.now();
    seen.set(req, { facts: null, route: '' });
    await next();
    const s = seen.get(req);
    seen.delete(req);
    // The host and path the request path read (no second parse of the URL); a request answered before routing
    // (no facts) has its URL parsed here.
    const u = s?.facts == null ? new URL(req.url) : null;
    const res = c.res;
    log.write({
      time: new Date().toISOString(),
      client: s?.facts?.clientIp ?? '',
      method: req.method,
      host: s?.facts?.host ?? u?.host ?? '',
      path: s?.facts?.path ?? u?.pathname ?? '',
      protocol: 'HTTP/1.1',
      status: res.status,
      bytesIn: Number(req.headers.get('content-length') ?? 0) || 0,
      bytesOut: Number(res.headers.get('content-length') ?? 0) || 0,
      durationMs: Math.round((performance.now() - start) * 1000) / 1000,
      upstream: null,
      upstreamStatus: null,
      upstreamMs: null,
      route: s?.route ?? '',
      requestId: requestIdFor(req.headers.get('x-request-id') ?? undefined, () => crypto.randomUUID()),
      tls: null,
      sni: null,
    });
  };
}
