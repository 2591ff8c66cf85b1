// The Deno adapter: Deno.serve for HTTP and HTTPS, the Web forwarder over Deno's fetch(). Deno.serve
// takes one certificate per listener and has no SNI callback (Deno 2.9), so HTTPS serves one certificate
// from the table (that of `tlsHost`, else the table's first) and restarts its listener when a swap
// changes that certificate; per-name certificates need the Node adapter.
import type { Context } from 'hono';
import type { ListenerPorts } from '../app.ts';
import type { UpstreamError } from '../errors.ts';
import type { LiveTable } from '../live.ts';
import type { Metrics } from '../metrics.ts';
import type { FetchLike } from '../proxy/web-forwarder.ts';
import type { CertificateMaterial } from '../table/schema.ts';
import type { DrainTimes } from './node-drain.ts';
import { createWebGatewayApp, webFacts } from './web.ts';
import type { WebAccessLog } from './web-access-log.ts';

// The few Deno APIs used here, declared locally (the project type-checks against Node's types).
export interface DenoServeInfo {
  remoteAddr: { hostname: string; port: number };
}
export interface DenoServer {
  finished: Promise<void>;
  shutdown(): Promise<void>;
}
export interface DenoServeOptions {
  hostname: string;
  port: number;
  cert?: string;
  key?: string;
  onListen?: (addr: { port: number }) => void;
}
export type DenoHandler = (request: Request, info: DenoServeInfo) => Response | Promise<Response>;
export interface DenoApi {
  serve(options: DenoServeOptions, handler: DenoHandler): DenoServer;
  /** `allowHost`: fetch() sends the Host header we set instead of the URL's (the Host the client sent). */
  createHttpClient(options: { allowHost?: boolean }): object;
  args: string[];
  pid: number;
  version: { deno: string };
  addSignalListener(signal: 'SIGTERM' | 'SIGINT', fn: () => void): void;
  stdout: { writeSync(bytes: Uint8Array): number };
  stderr: { writeSync(bytes: Uint8Array): number };
  /** A timer that does not keep the process alive (Node's timer.unref()). */
  unrefTimer(id: ReturnType<typeof setTimeout>): void;
  exit(code: number): never;
}

export const deno = (): DenoApi => (globalThis as unknown as { Deno: DenoApi }).Deno;

type DenoEnv = { Bindings: DenoServeInfo };

export interface ListenAddress {
  host: string;
  port: number;
}

export interface DenoGatewayOptions {
  live: LiveTable;
  metrics: Metrics;
  http: ListenAddress | null;
  /** The port must be given (not 0): it is also the port redirect Locations name. */
  https: ListenAddress | null;
  tlsHost: string | null;
  headersMs: number;
  /** Longest silence between response body chunks (null: none). */
  bodyMs: number | null;
  /** `--send-timeout`: longest the client may leave the answer unread (gateway/proxy/client-send.ts). */
  sendMs?: number;
  /** The node-local tunnel's loopback URL (http://127.0.0.1:PORT), when upstream requests go through it. */
  tunnel?: string;
  onUpstreamError?: (err: UpstreamError) => void;
  /** The HMAC key of digest-auth nonces shared by the cluster (from the table decryption key). */
  digestNonceKey?: Uint8Array;
  /** One console line per sampled request (web-access-log.ts). */
  accessLog?: WebAccessLog;
}

export interface DenoGateway {
  /** True from the start of a drain: /readyz fails, and every response asks its client to close the connection. */
  readonly draining: boolean;
  /** Graceful drain (SIGTERM), in the Node worker's order (node-drain.ts, nginx's graceful stop): responses carry
   * `Connection: close` (RFC 9112 9.6) and readiness fails; after `delayMs` the listeners stop accepting and
   * Deno.serve's shutdown() lets requests in flight finish and closes idle connections; after `timeoutMs` more the
   * drain gives up waiting. Resolves with whether everything finished on its own. */
  drain(times: DrainTimes): Promise<{ forced: boolean }>;
  close(): Promise<void>;
}

/** The certificate HTTPS serves: the one of `tlsHost`'s host entry; else the table's default certificate
 * (--default-ssl-certificate: what the Node worker serves to names without one of their own, and the one
 * certificate here serves every name); else the table's first. */
export function chosenCertificate(live: LiveTable, tlsHost: string | null): CertificateMaterial | null {
  const loaded = live.current;
  if (loaded === null) return null;
  const table = loaded.matcher.table;
  const named: string | undefined = tlsHost === null ? undefined : (loaded.matcher.lookupHost(tlsHost)?.tls?.certificate ?? undefined);
  const id = named ?? table.defaultCertificate ?? (tlsHost === null ? table.certificates[0]?.id : undefined);
  return id === undefined ? null : (loaded.certificates.get(id) ?? null);
}

export function startDenoGateway(o: DenoGatewayOptions): DenoGateway {
  const D = deno();
  const client = D.createHttpClient({ allowHost: true });
  const fetchWithHost: FetchLike = (url, init) => fetch(url, { ...init, client } as RequestInit);
  const ports: ListenerPorts = { http: o.http?.port ?? 0, https: o.https?.port ?? null };
  const appFor = (scheme: 'http' | 'https', port: number) =>
    createWebGatewayApp<DenoEnv>({
      live: o.live,
      metrics: o.metrics,
      ports,
      fetch: fetchWithHost,
      decodesBodies: true,
      headersMs: o.headersMs,
      bodyMs: o.bodyMs,
      ...(o.sendMs === undefined ? {} : { sendMs: o.sendMs }),
      ...(o.tunnel === undefined ? {} : { tunnel: o.tunnel }),
      facts: (c: Context<DenoEnv>) => webFacts(c.req.raw, scheme, c.env.remoteAddr.hostname, port),
      ...(o.onUpstreamError ? { onUpstreamError: o.onUpstreamError } : {}),
      ...(o.digestNonceKey === undefined ? {} : { digestNonceKey: o.digestNonceKey }),
      ...(o.accessLog === undefined ? {} : { accessLog: o.accessLog }),
    });
  const state = { draining: false };
  /** While draining, each response asks the client to close its connection (Deno.serve then closes it once the
   * response is sent), so keep-alive clients dial again through the load balancer. */
  const handler =
    (app: { fetch(req: Request, info: DenoServeInfo): Response | Promise<Response> }): DenoHandler =>
    async (req, info) => {
      const res = await app.fetch(req, info);
      // (A client that asked to close gets it from Deno.serve already.)
      if (state.draining && !/close/i.test(req.headers.get('connection') ?? '')) {
        try {
          res.headers.set('connection', 'close');
        } catch {
          // Response.redirect() and some others have immutable headers: the connection is closed at shutdown.
        }
      }
      return res;
    };
  const servers: DenoServer[] = [];
  if (o.http !== null) {
    const app = appFor('http', o.http.port);
    servers.push(D.serve({ hostname: o.http.host, port: o.http.port, onListen: () => {} }, handler(app)));
  }
  const tls: { server: DenoServer | null; cert: CertificateMaterial | null } = { server: null, cert: null };
  const https = o.https;
  if (https !== null) {
    const app = appFor('https', https.port);
    const serveTls = async (): Promise<void> => {
      const cert = chosenCertificate(o.live, o.tlsHost);
      if (cert === null || (tls.cert !== null && tls.cert.certPem === cert.certPem && tls.cert.keyPem === cert.keyPem)) return;
      tls.cert = cert;
      // The new listener can bind only once the old one is gone: connections in the gap are refused.
      if (tls.server !== null) await tls.server.shutdown();
      tls.server = D.serve(
        { hostname: https.host, port: https.port, cert: cert.certPem, key: cert.keyPem, onListen: () => {} },
        handler(app),
      );
    };
    void serveTls();
    o.live.onSwap(() => {
      if (!state.draining) void serveTls();
    });
  }
  const all = (): DenoServer[] => [...servers, ...(tls.server === null ? [] : [tls.server])];
  return {
    get draining() {
      return state.draining;
    },
    async drain(times) {
      state.draining = true;
      await sleep(times.delayMs);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const forced = await Promise.race([
        Promise.all(all().map((s) => s.shutdown())).then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), times.timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      return { forced };
    },
    async close() {
      await Promise.all(all().map((s) => s.shutdown()));
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
