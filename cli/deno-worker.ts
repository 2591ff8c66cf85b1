// The edge worker on Deno: the same Redis table source as `portico worker` (ioredis runs under Deno),
// the Web request path on Deno.serve, and the same admin endpoints. Run offline from node_modules:
//   DENO_NO_UPDATE_CHECK=1 npx deno run --cached-only --allow-net --allow-env --allow-read=KEYS \
//     cli/deno-worker.ts --redis URL --cluster NAME --keys KEYS   (the flags and environment of `portico worker`: $PORTICO_REDIS_URL, _PASSWORD, --redis-ca) [--http H:P|off] [--https H:P|off] [--admin H:P|off]
//     [--tls-host NAME] [--read-timeout 60s] [--body-timeout DURATION|off] [--send-timeout 60s] [--poll 2s] [--node-name NAME]
//     [--drain-delay 5s] [--drain-timeout 30s] [--access-log stdout|stderr|off] [--access-log-sample 1.0]
//     [--tunnel 127.0.0.1:PORT]   (upstream requests through the node-local tunnel: --allow-net=127.0.0.1 is then enough)
// --body-timeout (default: the read timeout) is the longest silence between response body chunks; on Deno it
// costs reading every response body through JS (bench/RESULTS.md), so it can be turned off.
import { createAdminApp } from '../gateway/admin.ts';
import { UsageError } from './usage-error.ts';
import { LiveTable } from '../gateway/live.ts';
import { Metrics, renderMetrics } from '../gateway/metrics.ts';
import { deno, startDenoGateway } from '../gateway/runtime/deno.ts';
import { logUnrelayedPassthrough } from '../gateway/runtime/web.ts';
import { RedisTableSource } from '../gateway/source/redis.ts';
import { duration, listenAddress, parseFlags, tunnelAddress } from './args.ts';
import { CONTROL_PLANE_FLAGS, parseControlPlaneFlags } from './control-plane-flags.ts';
import { nonceKeyFrom } from '../gateway/access/digest-auth.ts';
import { loadVerifyingKeys } from './keys.ts';
import { log } from './log.ts';
import { type AccessLogConfig, DRAIN_LOG_FLAGS, parseDrainLogFlags } from './drain-log-flags.ts';
import { sampler } from '../gateway/access-log.ts';
import type { WebAccessLog } from '../gateway/runtime/web-access-log.ts';
import { lineBatcher } from '../gateway/runtime/web-access-sink.ts';

async function main(): Promise<void> {
  const D = deno();
  const v = parseFlags(D.args, {
    ...CONTROL_PLANE_FLAGS,
    http: { type: 'string' },
    https: { type: 'string' },
    admin: { type: 'string' },
    'tls-host': { type: 'string' },
    tunnel: { type: 'string' },
    'read-timeout': { type: 'string' },
    'body-timeout': { type: 'string' },
    'send-timeout': { type: 'string' },
    poll: { type: 'string' },
    'node-name': { type: 'string' },
    'proxy-protocol': { type: 'boolean' },
    ...DRAIN_LOG_FLAGS,
  });
  // Deno.serve parses HTTP itself from the first byte of a connection; there is no step before it where a
  // PROXY header could be taken off. Refused rather than accepted and ignored: the access rules would judge
  // every client as the load balancer.
  if (v['proxy-protocol'] === true)
    throw new UsageError(
      '--proxy-protocol is not supported on Deno (Deno.serve reads HTTP from the first byte); run portico worker on Node',
    );
  const cp = parseControlPlaneFlags(v);
  const drainLog = parseDrainLogFlags(v);
  const accessLog = denoAccessLog(drainLog.accessLog);
  const http = listenAddress('http', v.http ?? '127.0.0.1:8080');
  const https = listenAddress('https', v.https ?? '127.0.0.1:8443');
  const admin = listenAddress('admin', v.admin ?? '127.0.0.1:9180');
  // As `portico worker --read-timeout`: for the response headers, and the longest silence in the body.
  const readMs = duration('read-timeout', v['read-timeout'] ?? '60s');
  const bodyMs =
    v['body-timeout'] === 'off' ? null : v['body-timeout'] === undefined ? readMs : duration('body-timeout', v['body-timeout']);
  const live = new LiveTable();
  const metrics = new Metrics();
  // Heartbeats name Deno, so `portico inspect status` shows which runtime each worker is.
  const keys = await loadVerifyingKeys(cp.keys);
  const source = new RedisTableSource({
    redis: cp.redis,
    credentials: cp.credentials,
    cluster: cp.cluster,
    keys,
    live,
    cacheFile: null,
    pollMs: duration('poll', v.poll ?? '2s'),
    heartbeatMs: 5_000,
    node: v['node-name'] ?? `deno-${D.pid}`,
    runtime: `deno ${D.version.deno}`,
    log,
  });
  await source.start();
  const tunnel = v.tunnel === undefined ? null : tunnelAddress('tunnel', v.tunnel);
  if (tunnel !== null && 'path' in tunnel)
    throw new UsageError('--tunnel: the Deno worker reaches the tunnel over a loopback HOST:PORT (fetch() has no Unix sockets)');
  const gw = startDenoGateway({
    live,
    metrics,
    http,
    https,
    tlsHost: v['tls-host'] ?? null,
    headersMs: readMs,
    bodyMs,
    // As `portico worker --send-timeout` (nginx's send_timeout): a client that leaves the answer unread is given up.
    sendMs: duration('send-timeout', v['send-timeout'] ?? '60s'),
    ...(tunnel === null ? {} : { tunnel: `http://${tunnel.host.includes(':') ? `[${tunnel.host}]` : tunnel.host}:${tunnel.port}` }),
    onUpstreamError: (e) => log('warn', e.message, { code: e.code }),
    // Digest-auth nonces under the cluster's key: Node and Deno workers accept each other's.
    ...(keys.decrypt instanceof Uint8Array ? { digestNonceKey: nonceKeyFrom(keys.decrypt) } : {}),
    ...(accessLog === null ? {} : { accessLog }),
  });
  if (admin !== null) {
    const app = createAdminApp({
      readiness: () =>
        gw.draining
          ? { ready: false, detail: 'draining: shutting down' }
          : live.current === null || source.served === null
            ? { ready: false, detail: `no routing table loaded yet (redis ${source.connected ? 'connected' : 'connecting'})` }
            : { ready: true, detail: `serving ${source.served.manifest.version} (seq ${source.served.manifest.seq}) from redis on deno` },
      metrics: () => renderMetrics(metrics.snapshot(), live.gauges(source.refusals, 1)),
    });
    D.serve({ hostname: admin.host, port: admin.port, onListen: () => {} }, (req) => app.fetch(req));
  }
  logUnrelayedPassthrough(live, `deno ${D.version.deno}`, log);
  log('info', 'portico deno worker is running', { cluster: cp.cluster, deno: D.version.deno });
  // SIGTERM (a rolling update): the graceful drain of the Node worker (--drain-delay, --drain-timeout), then exit.
  // SIGINT (a developer's Ctrl-C): no delay. A second signal exits at once.
  let stopping = false;
  const stop = (delay: boolean) => (): void => {
    if (stopping) {
      accessLog?.flush();
      D.exit(0);
    }
    stopping = true;
    log('info', 'draining', { delayMs: delay ? drainLog.drain.delayMs : 0, timeoutMs: drainLog.drain.timeoutMs });
    void gw
      .drain({ ...drainLog.drain, delayMs: delay ? drainLog.drain.delayMs : 0 })
      .then(
        (d) => log('info', 'drained', { forced: d.forced }),
        () => {},
      )
      .then(() => source.close())
      .finally(() => {
        accessLog?.flush();
        D.exit(0);
      });
  };
  D.addSignalListener('SIGTERM', stop(true));
  D.addSignalListener('SIGINT', stop(false));
}

/** `--access-log stdout|stderr|off` on Deno: lines in 4 KiB batches (web-access-sink.ts) to the standard stream. */
function denoAccessLog(a: AccessLogConfig | null): (WebAccessLog & { flush(): void }) | null {
  if (a === null) return null;
  if (typeof a.target !== 'string')
    throw new UsageError('--access-log: the Deno worker writes to stdout or stderr (or off), not to a file');
  const D = deno();
  const stream = a.target === 'stdout' ? D.stdout : D.stderr;
  const encoder = new TextEncoder();
  const batch = lineBatcher(
    (text) => {
      const bytes = encoder.encode(text);
      // writeSync may write part of a buffer (a pipe that is nearly full): the rest follows.
      for (let at = 0; at < bytes.length; ) at += stream.writeSync(bytes.subarray(at));
    },
    (t) => D.unrefTimer(t),
  );
  return { sampled: sampler(a.sample), write: (e) => batch.write(JSON.stringify({ log: 'access', ...e })), flush: batch.flush };
}

main().catch((err: unknown) => {
  if (err instanceof UsageError) {
    process.stderr.write(`portico deno worker: ${err.message}\n`);
    deno().exit(2);
  }
  log('error', (err as Error).stack ?? String(err));
  deno().exit(1);
});
