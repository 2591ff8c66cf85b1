// The admin listener: /healthz (the process is up), /readyz (200 only once a table is being served),
// /metrics (Prometheus text). Kept off the traffic ports so probes and scrapes never mix with traffic.
import { Hono } from 'hono';
import type { Readiness } from './shared/readiness.ts';

export interface AdminSource {
  readiness(): Readiness;
  metrics(): string | Promise<string>;
}

export function createAdminApp(src: AdminSource): Hono {
  const app = new Hono();
  const text = (body: string, status: 200 | 503): Response =>
    new Response(body, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  app.get('/healthz', () => text('ok\n', 200));
  app.get('/readyz', () => {
    const r = src.readiness();
    return text(`${r.ready ? 'ready' : 'not ready'}: ${r.detail}\n`, r.ready ? 200 : 503);
  });
  app.get(
    '/metrics',
    async () => new Response(await src.metrics(), { headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' } }),
  );
  app.notFound(() => text('not found: try /healthz, /readyz or /metrics\n', 404 as 200));
  return app;
}
