// The Node adapter: plain HTTP and HTTPS (HTTP/2 and HTTP/1.1 by ALPN, certificate per SNI) listeners
// serving the Hono request path, with WebSocket upgrades and a fast undici forwarder.
import http from 'node:http';
import http2 from 'node:http2';
import { constants } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { getRequestListener, RequestError } from '@hono/node-server';
import { plainResponse } from '../responses.ts';
import { AuthCache } from '../access/auth-cache.ts';
import { type TrustConfig, trustedProxies, trustsPeer } from '../access/client-address.ts';
import { nodeAuthClient } from '../access/auth-client-node.ts';
import { digestState } from '../access/digest-auth.ts';
import { GlobalRateLimiter, type SharedWindows } from '../access/global-rate-limit.ts';
import type { Log } from '../shared/log.ts';
import { createGatewayApp, type ListenerPorts } from '../app.ts';
import { RoundRobin } from '../balance.ts';
import type { UpstreamError } from '../errors.ts';
import type { PeerTable } from '../decide.ts';
import type { LiveTable } from '../live.ts';
import type { Metrics } from '../metrics.ts';
import { nodeBindings, type NodeEnv } from '../proxy/node-forwarder.ts';
import { createUpgradeHandler } from '../proxy/node-upgrade.ts';
import { DEFAULT_TIMEOUTS, UpstreamPools, type UpstreamTimeouts } from '../proxy/pools.ts';
import { endpointKey } from '../table/tunnel-protocol.ts';
import { SniContexts } from '../tls/contexts.ts';
import { generateSelfSignedCertificateOffThread } from '../tls/selfsigned.ts';
import { ProxyProtocolConfigError, requireProxyHeader } from './node-proxy-protocol.ts';
import { passThroughTls } from './node-passthrough.ts';
import { DEFAULT_H2_LIMITS, guardResets, h2Settings, type H2Limits, refuseAuthorityConflict } from './node-h2-limits.ts';
import { DEFAULT_POOL_LIMITS, type PoolLimits } from '../proxy/pool-queue.ts';
import { type ClientLimits, DEFAULT_CLIENT_LIMITS, http1ServerOptions, limitTlsServer, tlsServerOptions } from './node-client-limits.ts';
import { DEFAULT_HEAD_LIMITS, headRefusal, refuseHead, type RequestHeadLimits } from './node-request-head.ts';
import { type PlainListener, serveWithoutUpgrade } from './node-plain-upgrade.ts';
import { answerClientError, answerConnect } from './node-client-errors.ts';
import type { TunnelAddress } from '../table/tunnel-protocol.ts';
import { DEFAULT_DRAIN, Drain, type DrainOutcome, type DrainTimes } from './node-drain.ts';
import { type AccessLogging, hookedListener } from './node-request-hooks.ts';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface NodeGatewayOptions {
  live: LiveTable;
  metrics: Metrics;
  http: ListenAddress | null;
  https: ListenAddress | null;
  /** The HTTPS port clients see (redirect Locations); defaults to the HTTPS listen port. */
  publicHttpsPort?: number;
  timeouts?: UpstreamTimeouts;
  defaultCertificate?: { certPem: string; keyPem: string };
  onUpstreamError?: (err: UpstreamError) => void;
  /** Send every upstream request through the node-local tunnel at this address (gateway/tunnel). */
  tunnel?: TunnelAddress | null;
  /** Proxies whose forwarding headers are believed (client address, scheme, host); absent: none. */
  trust?: TrustConfig | null;
  /** Both listeners require a PROXY protocol header from one of `trust` on every connection, and the client is
   * the one it names (node-proxy-protocol.ts). Needs `trust`. `headerTimeoutMs` defaults to PROXY_HEADER_TIMEOUT_MS. */
  proxyProtocol?: { headerTimeoutMs?: number } | null;
  /** ssl-passthrough's limits (node-passthrough.ts); absent: its defaults. Passthrough itself has no switch: it is
   * on while the table has a passthrough host. */
  passthrough?: { helloTimeoutMs?: number; idleTimeoutMs?: number };
  /** Peer clusters' tables for failover (needs `tunnel`). */
  peers?: readonly PeerTable[];
  /** Set when running as one of several processes sharing the ports (node:cluster shares the handles). */
  exclusive?: boolean;
  /** Where global rate limits are counted across workers (Redis on `portico worker`); absent: in this
   * process only (`portico local`). */
  globalLimits?: SharedWindows | null;
  /** The HMAC key of digest-auth nonces shared by every worker of the cluster (nonceKeyFrom the table decryption
   * key, `portico worker`); absent: a random key of this process (`portico local`). */
  digestNonceKey?: Uint8Array | null;
  /** Request-head limits (--max-request-headers, --max-request-header-line, --max-request-head); absent: the defaults. */
  headLimits?: RequestHeadLimits;
  log?: Log;
  /** HTTP/2 limits of the HTTPS listener (node-h2-limits.ts); absent: DEFAULT_H2_LIMITS. */
  http2?: H2Limits;
  /** Upstream connections per endpoint and the wait for one (proxy/pool-queue.ts); absent: DEFAULT_POOL_LIMITS. */
  upstreamPool?: PoolLimits;
  /** --client-header-timeout, --client-body-timeout, --client-body-buffer-size, --keepalive-timeout; absent: the
   * defaults (node-client-limits.ts). */
  clientLimits?: ClientLimits;
  /** `--drain-delay`, `--drain-timeout` (node-drain.ts); absent: DEFAULT_DRAIN. */
  drain?: DrainTimes;
  /** `--access-log`, `--access-log-sample`; absent or null: no access log. */
  accessLog?: AccessLogging | null;
}

export interface NodeGateway {
  http: AddressInfo | null;
  https: AddressInfo | null;
  /** Graceful drain (node-drain.ts): resolves once every connection has closed; close() afterwards. */
  drain(): Promise<DrainOutcome>;
  close(): Promise<void>;
}

function listen(server: http.Server | http2.Http2SecureServer, a: ListenAddress, exclusive: boolean): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: a.host, port: a.port, exclusive }, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

export async function startNodeGateway(o: NodeGatewayOptions): Promise<NodeGateway> {
  const pools = new UpstreamPools(o.timeouts ?? DEFAULT_TIMEOUTS, o.tunnel ?? null, o.upstreamPool ?? DEFAULT_POOL_LIMITS);
  const h2 = o.http2 ?? DEFAULT_H2_LIMITS;
  const balancer = new RoundRobin();
  const peers = o.peers ?? [];
  const authClient = nodeAuthClient(o.timeouts ?? DEFAULT_TIMEOUTS);
  const globalLimits = new GlobalRateLimiter({
    shared: o.globalLimits ?? null,
    ...(o.log === undefined ? {} : { log: o.log }),
    onFallback: () => o.metrics.globalLimitFallback(),
  });
  const gate = {
    auth: { client: authClient.client, cache: new AuthCache() },
    globalLimits,
    digest: digestState(o.digestNonceKey ?? undefined),
  };
  const trust = o.trust === undefined || o.trust === null ? null : trustedProxies(o.trust);
  const pp = o.proxyProtocol ?? null;
  // Without trusted proxies every header would come from an untrusted peer: refuse to start rather than serve
  // a listener that closes every connection (the command line says the same as a usage error).
  if (pp !== null && trust === null)
    throw new ProxyProtocolConfigError('the PROXY protocol needs trusted proxies: the peers allowed to send the header');
  const limits = o.clientLimits ?? DEFAULT_CLIENT_LIMITS;
  const deps = {
    pools,
    balancer,
    metrics: o.metrics,
    onUpstreamError: o.onUpstreamError,
    peers,
    gate,
    trust,
    proxyProtocol: pp !== null,
    clientBody: limits.body,
    sendMs: limits.sendMs,
  };
  const pending: { closePending(): void }[] = [];
  const passthroughs: { closeAll(): void }[] = [];
  const acceptProxied = (server: http.Server | http2.Http2SecureServer): void => {
    if (pp === null || trust === null) return;
    pending.push(
      requireProxyHeader(server, {
        trusted: (peer) => trustsPeer(peer, trust),
        onRefused: (reason) => o.metrics.proxyRefusal(reason),
        ...(pp.headerTimeoutMs === undefined ? {} : { timeoutMs: pp.headerTimeoutMs }),
      }),
    );
  };
  o.live.onSwap((next) => {
    pools.retain(new Set(next.matcher.table.backends.flatMap((b) => b.endpoints.map(endpointKey))));
    balancer.retain(new Set(next.matcher.table.backends.map((b) => b.id)));
  });
  // Ports as bound (a configured port 0 becomes a real one), read per request for X-Forwarded-Port and
  // redirect Locations.
  const ports: ListenerPorts = { http: o.http?.port ?? 0, https: o.https === null ? null : (o.publicHttpsPort ?? o.https.port) };
  const drain = new Drain(o.drain ?? DEFAULT_DRAIN);
  const head = o.headLimits ?? DEFAULT_HEAD_LIMITS;
  const listenerFor = (scheme: 'http' | 'https') => {
    const serve = hookedListener(
      getRequestListener(
        createGatewayApp<NodeEnv>({ live: o.live, metrics: o.metrics, runtime: nodeBindings(deps, scheme, ports), ports, peers, gate })
          .fetch,
        {
          overrideGlobalObjects: false,
          autoCleanupIncoming: false,
          // A request @hono/node-server cannot make a URL of (a backslash in the path, a Host that is no host name)
          // gets the edge's complete 400 rather than its bare one.
          errorHandler: (e) => plainResponse(e instanceof RequestError ? 400 : 500),
        },
      ),
      drain,
      o.accessLog ?? null,
    );
    // The head checks (node-request-head.ts) come before the request path: a refused head reaches nothing.
    return (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => {
      const refused = headRefusal(req.rawHeaders, head);
      if (refused === 0) return void serve(req, res);
      o.metrics.request('', refused);
      refuseHead(res, refused);
    };
  };
  // Node keeps one field more than the limit, so headRefusal() can tell a request over it (it drops the rest).
  const headOptions = { maxHeaderSize: head.maxHeadBytes };
  const headCount = head.maxHeaders + 1;
  const upgradeFor = (scheme: 'http' | 'https', listener: PlainListener) =>
    createUpgradeHandler({
      ...deps,
      live: o.live,
      scheme,
      ports,
      headLimits: head,
      plain: (req, socket) => serveWithoutUpgrade(req, socket, listener),
      accessLog: o.accessLog ?? null,
    });
  // Node's own refusals (a head over maxHeaderSize, bytes that are not HTTP) and CONNECT get a complete answer.
  const answerOwnErrors = (server: http.Server | http2.Http2SecureServer): void => {
    server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => answerClientError(err, socket, o.metrics));
    server.on('connect', (_req: http.IncomingMessage, socket: Duplex) => answerConnect(socket, o.metrics));
  };
  const exclusive = o.exclusive ?? true;
  const servers: (http.Server | http2.Http2SecureServer)[] = [];
  const sessions = new Set<http2.ServerHttp2Session>(); // HTTP/2 connections, closed on shutdown
  let httpAddr: AddressInfo | null = null;
  let httpsAddr: AddressInfo | null = null;

  if (o.http !== null) {
    const listener = listenerFor('http');
    const server = http.createServer({ ...http1ServerOptions(limits), ...headOptions }, listener);
    server.maxHeadersCount = headCount;
    server.on('upgrade', upgradeFor('http', listener));
    answerOwnErrors(server);
    acceptProxied(server);
    servers.push(server);
    drain.track(server);
    httpAddr = await listen(server, o.http, exclusive);
    ports.http = httpAddr.port;
  }
  if (o.https !== null) {
    const def =
      o.defaultCertificate ?? (await generateSelfSignedCertificateOffThread({ commonName: 'portico-default.invalid', keyType: 'rsa' }));
    const sni = new SniContexts(o.live, def);
    const listener = listenerFor('https');
    const server = http2.createSecureServer(
      {
        allowHTTP1: true,
        cert: def.certPem,
        key: def.keyPem,
        SNICallback: sni.callback,
        maxSessionMemory: 32,
        // No session resumption: a resumed handshake skips the SNI callback, so it would carry a client certificate
        // verified for another host (or against authorities since removed) into a host that checks them; nginx
        // prevents that with a session id context per server's CAs, which Node cannot set per SNI context. Without
        // tickets, and with no session cache on a Node server, every connection makes a full handshake — as
        // ingress-nginx's default ssl-session-tickets: "false" does for tickets.
        secureOptions: constants.SSL_OP_NO_TICKET,
        settings: h2Settings(h2),
        ...tlsServerOptions(limits),
        // HTTP/2 header fields, pseudo-headers (4) and one more than the limit counted: nghttp2 resets a stream past it.
        maxHeaderListPairs: head.maxHeaders + 5,
      },
      refuseAuthorityConflict(listener, () => o.metrics.request('', 400)),
    );
    limitTlsServer(server, limits);
    // HTTP/1.1 on the TLS port is parsed by Node's HTTP/1 server code, which reads these from the server object.
    Object.assign(server, { maxHeaderSize: head.maxHeadBytes, maxHeadersCount: headCount });
    server.on('session', (s: http2.ServerHttp2Session) => {
      sessions.add(s);
      s.once('close', () => sessions.delete(s));
      guardResets(s, h2, (err) => o.log?.('warn', err.message, { code: err.code }));
    });
    // HTTP/1.1 clients on the TLS port may upgrade to WebSocket too.
    server.on('upgrade', upgradeFor('https', listener));
    answerOwnErrors(server);
    // Before the PROXY protocol's hook, so that one runs first and this reads what follows the header.
    passthroughs.push(
      passThroughTls(server, {
        live: o.live,
        balancer,
        tunnel: o.tunnel ?? null,
        connectTimeoutMs: (o.timeouts ?? DEFAULT_TIMEOUTS).connectMs,
        ...(o.passthrough?.helloTimeoutMs === undefined ? {} : { helloTimeoutMs: o.passthrough.helloTimeoutMs }),
        ...(o.passthrough?.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: o.passthrough.idleTimeoutMs }),
        onOutcome: (outcome) => o.metrics.passthrough(outcome),
      }),
    );
    acceptProxied(server);
    servers.push(server);
    drain.track(server);
    httpsAddr = await listen(server, o.https, exclusive);
    if (o.publicHttpsPort === undefined) ports.https = httpsAddr.port;
  }

  return {
    http: httpAddr,
    https: httpsAddr,
    drain: () => drain.run(),
    async close() {
      for (const p of pending) p.closePending();
      for (const p of passthroughs) p.closeAll();
      await Promise.all(
        servers
          .map(
            (s) =>
              new Promise<void>((resolve) => {
                s.close(() => resolve());
                if ('closeAllConnections' in s) s.closeAllConnections();
              }),
          )
          .concat([...sessions].map(async (s) => s.close())),
      );
      await pools.close();
      await authClient.close();
      await o.accessLog?.sink.flush();
    },
  };
}
