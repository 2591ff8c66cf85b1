// `portico dashboard`: a read-only web page of what the edge serves: every cluster's current
// version, fleet convergence, routes, certificates and diagnostics. Server-rendered HTML, no scripts (the page sends
// a CSP that forbids them), every value escaped; it reads Redis on each load and refreshes every 10 s.
import http from 'node:http';
import { Hono } from 'hono';
import { getRequestListener } from '@hono/node-server';
import { createRedisClient, type RedisClient } from '../gateway/shared/redis-client.ts';
import type { VerifyingKeys } from '../gateway/table/bundle.ts';
import type { ListenAddress } from '../gateway/runtime/node.ts';
import { listenAddress, parseFlags } from './args.ts';
import { currentPointer, listClusters, loadVersion, workers } from '../gateway/inspect/read.ts';
import { certRows, routeRows, statusView } from '../gateway/inspect/views.ts';
import { loadVerifyingKeys } from './keys.ts';
import { log } from './log.ts';
import { parseRedisAccess, REDIS_ENV_USAGE, REDIS_FLAGS } from './control-plane-flags.ts';

export const DASHBOARD_USAGE = `usage: portico dashboard --redis URL [--keys DIR] [--listen 127.0.0.1:9280]
${REDIS_ENV_USAGE}`;

const esc = (v: unknown): string => String(v ?? '-').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function tableHtml(rows: readonly object[], empty: string): string {
  if (rows.length === 0) return `<p class="empty">${esc(empty)}</p>`;
  const cols = Object.keys(rows[0]!);
  const cell = (v: unknown) => esc(v !== null && typeof v === 'object' ? JSON.stringify(v) : v);
  return `<table><thead><tr>${cols.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${cols.map((c) => `<td>${cell((r as Record<string, unknown>)[c])}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

const STYLE = `body{font:14px system-ui,sans-serif;margin:24px;color:#1b1f24}h1{font-size:20px}h2{font-size:17px;margin-top:28px}
h3{font-size:15px}table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;font-size:13px}
th{background:#f6f8fa}.ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:600}.empty{color:#57606a}code{font-size:12px}`;

export async function renderDashboard(redis: RedisClient, keys: VerifyingKeys | null, now = new Date()): Promise<string> {
  const sections: string[] = [];
  const clusters = await listClusters(redis);
  for (const cluster of clusters) {
    try {
      sections.push(await clusterSection(redis, cluster, keys, now));
    } catch (err) {
      // One cluster whose table does not verify (or vanished mid-read) must not hide the others.
      sections.push(
        `<section id="cluster-${esc(cluster)}"><h2>Cluster ${esc(cluster)}</h2><p class="bad">Cannot show this cluster: ${esc((err as Error).message)}</p></section>`,
      );
    }
  }
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="10"><title>Portico edge</title><style>${STYLE}</style></head>
<body><h1>Portico edge</h1><p>${esc(now.toISOString())}</p>${sections.join('\n') || '<p class="empty">No cluster has published a table to this Redis yet.</p>'}</body></html>`;
}

async function clusterSection(redis: RedisClient, cluster: string, keys: VerifyingKeys | null, now: Date): Promise<string> {
  const ptr = await currentPointer(redis, cluster);
  const v = await loadVersion(redis, cluster, ptr.version, keys);
  const s = statusView(cluster, ptr, v, await workers(redis, cluster));
  const certs = certRows(v, now);
  return `<section id="cluster-${esc(cluster)}"><h2>Cluster ${esc(cluster)}</h2>
<p>Serving <code>${esc(s.version)}</code> (seq ${esc(s.seq)}), published ${esc(s.publishedAt)} by ${esc(s.publisher)}; signature ${esc(s.signature)}.
${s.rollback ? `<span class="bad">Rollback in force</span> (from <code>${esc(s.rollback.from)}</code> by ${esc(s.rollback.by)} at ${esc(s.rollback.at)}).` : ''}</p>
<p>${esc(s.hosts)} hosts, ${esc(s.routes)} routes, ${esc(s.certificates)} certificates, ${esc(s.diagnostics)} diagnostics.
Fleet: <span class="${s.converged ? 'ok' : 'bad'}">${s.converged ? 'converged' : 'not converged'}</span> (${esc(s.workers.length)} workers).</p>
<h3>Workers</h3>${tableHtml(
    s.workers.map((w) => ({ ...w, version: w.version?.slice(0, 19) ?? null })),
    'no worker heartbeats',
  )}
<h3>Routes</h3>${tableHtml(routeRows(v.table), 'no routes')}
<h3>Certificates</h3>${tableHtml(certs, 'no TLS hosts')}
<h3>Diagnostics</h3>${tableHtml(
    v.diagnostics.map((d) => ({
      object: `${d.object.kind} ${d.object.namespace}/${d.object.name}`,
      severity: d.severity,
      code: d.code,
      message: d.message,
    })),
    'no diagnostics',
  )}</section>`;
}

export function dashboardApp(redis: RedisClient, keys: VerifyingKeys | null): Hono {
  const app = new Hono();
  app.get(
    '/',
    async () =>
      new Response(await renderDashboard(redis, keys), {
        headers: {
          'content-type': 'text/html; charset=utf-8',
          'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
          'x-content-type-options': 'nosniff',
          'cache-control': 'no-store',
        },
      }),
  );
  app.onError(
    (err) => new Response(`dashboard error: ${err.message}\n`, { status: 503, headers: { 'content-type': 'text/plain; charset=utf-8' } }),
  );
  return app;
}

export async function runDashboard(argv: string[]): Promise<{ close(): Promise<void> }> {
  const v = parseFlags(argv, { ...REDIS_FLAGS, keys: { type: 'string' }, listen: { type: 'string' } });
  const access = parseRedisAccess(v);
  const at: ListenAddress = listenAddress('listen', v.listen ?? '127.0.0.1:9280') ?? { host: '127.0.0.1', port: 9280 };
  const keysDir = v.keys ?? process.env.PORTICO_KEYS;
  const keys = keysDir === undefined ? null : await loadVerifyingKeys(keysDir);
  const redis = createRedisClient(access.redis, access.credentials, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    // ioredis's default: reconnect forever, at most 2 s apart.
    retryStrategy: (n: number) => Math.min(n * 50, 2_000),
  });
  redis.on('error', () => {});
  redis.connect().catch(() => {});
  const server = http.createServer(getRequestListener(dashboardApp(redis, keys).fetch, { overrideGlobalObjects: false }));
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(at.port, at.host, () => resolve()));
  log('info', 'dashboard listening', { url: `http://${at.host}:${at.port}/` });
  return {
    async close() {
      server.close();
      redis.disconnect();
    },
  };
}
