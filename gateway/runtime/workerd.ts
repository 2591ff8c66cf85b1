// The workerd adapter (Cloudflare Workers; locally `wrangler dev`, see wrangler.toml): the same request
// path as a module worker. TLS, ports and the client address are the platform's (cf-connecting-ip); the
// table comes from Redis over `cloudflare:sockets` through the same follower as every worker (the same
// checks, refusals and heartbeats; no cache file: a worker has no files). An isolate keeps no background
// tasks, so the table is checked on requests: the first request of an isolate waits for it, later ones
// trigger a check in the background at most once per poll interval. The heartbeat is written during those
// checks, so an isolate without requests for three heartbeat intervals drops out of `inspect status`.
import { connect } from 'cloudflare:sockets';
import type { Hono } from 'hono';
import { importJWK, type JWK } from 'jose';
import { LiveTable } from '../live.ts';
import { Metrics } from '../metrics.ts';
import { nonceKeyFrom } from '../access/digest-auth.ts';
import { TableFollower } from '../source/follower.ts';
import { RespTransport } from '../source/resp-transport.ts';
import type { VerifyingKeys } from '../table/bundle.ts';
import { CLIENT_SEND_MS } from '../proxy/client-send.ts';
import { millisecondsSetting, WorkerdConfigError } from './workerd-settings.ts';
import { createWebGatewayApp, logUnrelayedPassthrough, webFacts } from './web.ts';
import { type AccessEntry, sampler } from '../access-log.ts';

/** Vars and secrets (wrangler.toml [vars], `wrangler secret put`, or `wrangler dev --var`). */
export interface WorkerEnv {
  /** redis://[:password@]host:port */
  PORTICO_REDIS: string;
  PORTICO_CLUSTER: string;
  /** The agent's public signing key and the shared encryption key: JWK JSON, or base64url of it. */
  PORTICO_VERIFY_JWK: string;
  PORTICO_DECRYPT_JWK: string;
  PORTICO_POLL_MS?: string;
  PORTICO_READ_TIMEOUT_MS?: string;
  /** The longest silence between response body chunks of a body of declared length (default: the read timeout), or
   * `off`. */
  PORTICO_BODY_TIMEOUT_MS?: string;
  /** The longest the client may leave an answer unread (default 60000, nginx's send_timeout). */
  PORTICO_SEND_TIMEOUT_MS?: string;
  /** `off`, or `console` (the default): one JSON line per request through console.log (web-access-log.ts). */
  PORTICO_ACCESS_LOG?: string;
  /** The fraction of requests logged, above 0 and at most 1 (default 1). */
  PORTICO_ACCESS_LOG_SAMPLE?: string;
  /** The port clients reach HTTPS on, named by redirect Locations (the platform's: 443). */
  PORTICO_PUBLIC_HTTPS_PORT?: string;
  /** The node name heartbeats carry (default: workerd). */
  PORTICO_NODE_NAME?: string;
  /** http://127.0.0.1:PORT of a node-local tunnel (self-hosted workerd): upstream requests go through it. */
  PORTICO_TUNNEL?: string;
  /** The request header the platform writes the client address into (on Cloudflare: cf-connecting-ip). A
   * worker has no TCP peer to read; without this, no header is believed and the client address is unknown, so
   * source ranges refuse every request rather than trust what a client wrote. */
  PORTICO_CLIENT_IP_HEADER?: string;
  /** Refused when set: the platform accepts the connections, so a worker never sees a PROXY protocol header
   * (on Cloudflare, the client address arrives in PORTICO_CLIENT_IP_HEADER instead). */
  PORTICO_PROXY_PROTOCOL?: string;
}

/** workerd's stream that passes exactly `length` bytes and keeps the response's Content-Length (Workers runtime API,
 * "Streams: FixedLengthStream"); ending short of it breaks the response. */
declare const FixedLengthStream: new (length: number) => TransformStream<Uint8Array, Uint8Array>;

export interface ExecutionContext {
  waitUntil(p: Promise<unknown>): void;
  passThroughOnException(): void;
  props: unknown;
}

type WorkerdEnv = { Bindings: WorkerEnv };

interface Instance {
  app: Hono<WorkerdEnv>;
  source: TableFollower;
  live: LiveTable;
  pollMs: number;
  lastCheck: number;
  checking: boolean;
}

const log = (level: string, msg: string, fields: Record<string, unknown> = {}): void =>
  console.log(JSON.stringify({ level, msg, ...fields }));

function jwkOf(text: string): JWK {
  const json = text.trimStart().startsWith('{')
    ? text
    : new TextDecoder().decode(Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)));
  return JSON.parse(json) as JWK;
}

async function keysOf(env: WorkerEnv): Promise<VerifyingKeys> {
  return {
    verify: await importJWK(jwkOf(env.PORTICO_VERIFY_JWK), 'EdDSA'),
    decrypt: await importJWK(jwkOf(env.PORTICO_DECRYPT_JWK), 'dir'),
  };
}

/** The tunnel must be on this machine: a tunnel URL elsewhere would hand requests to another host. */
function loopbackUrl(value: string): string {
  if (!/^http:\/\/(?:127\.\d+\.\d+\.\d+|\[::1\]|localhost):\d{1,5}$/.test(value))
    throw new Error(`PORTICO_TUNNEL: expected http://127.0.0.1:PORT, got ${JSON.stringify(value)}`);
  return value;
}

async function create(env: WorkerEnv): Promise<Instance> {
  if (env.PORTICO_PROXY_PROTOCOL !== undefined)
    throw new WorkerdConfigError(
      'PORTICO_PROXY_PROTOCOL: the PROXY protocol is not supported on workerd (the platform accepts the connections)',
    );
  const redis = new URL(env.PORTICO_REDIS);
  const live = new LiveTable();
  const metrics = new Metrics();
  const transport = new RespTransport({
    connect: () => connect({ hostname: redis.hostname, port: Number(redis.port || 6379) }),
    ...(redis.password ? { password: decodeURIComponent(redis.password) } : {}),
    ...(redis.password && redis.username ? { username: decodeURIComponent(redis.username) } : {}),
    log,
  });
  const pollMs = millisecondsSetting('PORTICO_POLL_MS', env.PORTICO_POLL_MS, 2_000);
  // An isolate has no pid: a random name tells isolates of one node apart in the fleet view.
  const node = env.PORTICO_NODE_NAME ?? 'workerd';
  const isolate = [...crypto.getRandomValues(new Uint8Array(4))].map((b) => b.toString(16).padStart(2, '0')).join('');
  const keys = await keysOf(env);
  const source = new TableFollower({
    transport,
    cluster: env.PORTICO_CLUSTER,
    keys,
    live,
    cache: null,
    pollMs,
    heartbeatMs: 5_000,
    identity: { id: `${node}:isolate-${isolate}`, node, pid: 0, runtime: 'workerd' },
    log,
  });
  const httpsPort = Number(env.PORTICO_PUBLIC_HTTPS_PORT ?? 443);
  const clientIpHeader = env.PORTICO_CLIENT_IP_HEADER?.toLowerCase();
  const readMs = millisecondsSetting('PORTICO_READ_TIMEOUT_MS', env.PORTICO_READ_TIMEOUT_MS, 60_000);
  const app = createWebGatewayApp<WorkerdEnv>({
    live,
    metrics,
    ports: { http: 80, https: httpsPort },
    fetch: (url, init) => fetch(url, init),
    decodesBodies: false,
    // Every isolate holds the decryption key: each accepts the digest-auth nonces the others issued.
    ...(keys.decrypt instanceof Uint8Array ? { digestNonceKey: nonceKeyFrom(keys.decrypt) } : {}),
    // The body timers on workerd: it ends a response normally when its body stream errors (a chunked body gets its
    // last chunk all the same, and a Content-Length of a stream is dropped), so a timed body is held at its declared
    // length by a FixedLengthStream (a cut is then short of it: the client sees it broken), and a body without a
    // declared length is not timed (a cut would pass for its end).
    headersMs: readMs,
    bodyMs:
      env.PORTICO_BODY_TIMEOUT_MS === 'off' ? null : millisecondsSetting('PORTICO_BODY_TIMEOUT_MS', env.PORTICO_BODY_TIMEOUT_MS, readMs),
    keepLength: (length) => new FixedLengthStream(length),
    sendMs: millisecondsSetting('PORTICO_SEND_TIMEOUT_MS', env.PORTICO_SEND_TIMEOUT_MS, CLIENT_SEND_MS),
    ...(env.PORTICO_TUNNEL ? { tunnel: loopbackUrl(env.PORTICO_TUNNEL) } : {}),
    facts: (c) => {
      const u = c.req.raw.url;
      const https = u.startsWith('https:');
      const port = /^https?:\/\/[^/]*:(\d+)/.exec(u)?.[1];
      return webFacts(
        c.req.raw,
        https ? 'https' : 'http',
        clientIpHeader === undefined ? '' : (c.req.header(clientIpHeader) ?? ''),
        port !== undefined ? Number(port) : https ? 443 : 80,
      );
    },
    onUpstreamError: (e) => log('warn', e.message, { code: e.code }),
    ...(env.PORTICO_ACCESS_LOG === 'off'
      ? {}
      : {
          accessLog: {
            sampled: sampler(accessSample(env.PORTICO_ACCESS_LOG_SAMPLE)),
            write: (e: AccessEntry) => console.log(JSON.stringify({ log: 'access', ...e })),
          },
        }),
  });
  logUnrelayedPassthrough(live, 'workerd', log);
  return { app, source, live, pollMs, lastCheck: 0, checking: false };
}

/** PORTICO_ACCESS_LOG_SAMPLE: a bad value logs every request rather than none (there is no command line to refuse). */
function accessSample(v: string | undefined): number {
  const n = Number(v ?? 1);
  return n > 0 && n <= 1 ? n : 1;
}

let instance: Instance | null = null;

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
    const w = (instance ??= await create(env));
    if (w.live.current === null) {
      // Nothing to serve yet: this request waits for its own check (an I/O object such as a socket
      // cannot be shared between requests in workerd, so concurrent first requests each check).
      w.lastCheck = Date.now();
      await w.source.checkOnce();
    } else if (!w.checking && Date.now() - w.lastCheck >= w.pollMs) {
      w.lastCheck = Date.now();
      w.checking = true;
      ctx.waitUntil(w.source.checkOnce().finally(() => (w.checking = false)));
    }
    return w.app.fetch(request, env, ctx);
  },
};
