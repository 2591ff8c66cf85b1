// A cluster's gateway for its peers: the TLS listener of `portico tunnel --peer-listen` that other
// clusters' tunnels send requests to. Each request names a backend of this cluster and carries a peer token
// signed by a cluster this one trusts, for this cluster and that backend; the gateway picks one of the
// backend's ready endpoints from its own verified table (round robin; the next endpoint when
// gateway/proxy/retry-policy.ts says so, as a worker would) and relays. It dials nothing else: the token
// chooses a backend, never an address.
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { CryptoKey, KeyObject } from 'jose';
import { RoundRobin } from '../balance.ts';
import type { LiveTable } from '../live.ts';
import { UpstreamPools, type UpstreamTimeouts } from '../proxy/pools.ts';
import { type PoolLimits, UNBOUNDED_POOL } from '../proxy/pool-queue.ts';
import type { Backend } from '../table/schema.ts';
import { PeerTokenError, verifyPeerToken } from './peer-token.ts';
import { allowedEndpoints, BACKEND_HEADER, PEER_TOKEN_HEADER } from '../table/tunnel-protocol.ts';
import { relayedHeaders } from './relayed-headers.ts';
import { answer, Relay, type TunnelStats } from './relay.ts';

export interface PeerGatewayOptions {
  live: LiveTable;
  /** This cluster's name: the audience a token must name. */
  cluster: string;
  listen: { host: string; port: number };
  tls: { certPem: string; keyPem: string };
  /** Cluster name → its tunnel's public key. */
  trust: ReadonlyMap<string, CryptoKey | KeyObject>;
  timeouts: UpstreamTimeouts;
  /** The bound on connections per local endpoint, shared with the tunnel's own (server.ts); absent: no cap. */
  upstreamPool?: PoolLimits;
  stats: TunnelStats;
  log(level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
}

export interface PeerGateway {
  address: AddressInfo;
  close(): Promise<void>;
}

const header = (v: string | string[] | undefined) => (typeof v === 'string' ? v : undefined);
/** Connections from peer tunnels (each holds a small keep-alive pool); beyond this a peer is refused. */
const MAX_CONNECTIONS = 4_096;

export async function startPeerGateway(o: PeerGatewayOptions): Promise<PeerGateway> {
  const pools = new UpstreamPools(o.timeouts, null, o.upstreamPool ?? UNBOUNDED_POOL);
  const balancer = new RoundRobin();
  let backends = new Map<string, Backend>();
  const index = (t: { backends: Backend[] }) => new Map(t.backends.map((b) => [b.id, b]));
  if (o.live.current !== null) backends = index(o.live.current.matcher.table);
  let previous = new Set<string>();
  o.live.onSwap((next) => {
    backends = index(next.matcher.table);
    balancer.retain(new Set(backends.keys()));
    // Pools of endpoints that left both this table and the one before are closed (requests in flight finish).
    const current = allowedEndpoints(next.matcher.table);
    pools.retain(new Set([...current, ...previous]));
    previous = current;
  });

  const server = https.createServer(
    {
      cert: o.tls.certPem,
      key: o.tls.keyPem,
      minVersion: 'TLSv1.2',
      headersTimeout: 20_000,
      requestTimeout: 300_000,
      keepAliveTimeout: 75_000,
      maxHeaderSize: 16_384,
    },
    (req, res) => {
      const id = header(req.headers[BACKEND_HEADER]) ?? '';
      verifyPeerToken(header(req.headers[PEER_TOKEN_HEADER]), { trust: o.trust, audience: o.cluster, backend: id }).then(
        () => {
          const backend = backends.get(id);
          if (backend === undefined) return answer(res, 404, `no backend ${id} in this cluster's table`, 'PORTICO_PEER_NO_BACKEND');
          if (backend.endpoints.length === 0)
            return answer(res, 503, `backend ${id} has no ready endpoint here`, 'PORTICO_PEER_NO_ENDPOINTS');
          const first = balancer.start(backend);
          const n = backend.endpoints.length;
          const headers = relayedHeaders(req.rawHeaders);
          const targets = Array.from({ length: n }, (_, k) => ({ dispatcher: pools.get(backend.endpoints[(first + k) % n]!), headers }));
          new Relay(req, res, o.stats, targets, pools.queueTimeoutMs).start();
        },
        (err: unknown) => {
          o.stats.refused++;
          const e = err instanceof PeerTokenError ? err : new PeerTokenError('PORTICO_PEER_TOKEN_INVALID', String(err));
          o.log('warn', `peer gateway refused a request: ${e.message}`, { code: e.code, backend: id, from: req.socket.remoteAddress });
          // The connection ends with the answer: an unauthenticated client neither keeps it nor sends a body into it.
          res.shouldKeepAlive = false;
          answer(res, e.code === 'PORTICO_PEER_TOKEN_SCOPE' ? 403 : 401, e.message, e.code);
          res.once('finish', () => req.socket.destroySoon());
        },
      );
    },
  );
  server.maxConnections = MAX_CONNECTIONS;
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(o.listen.port, o.listen.host, () => resolve()));
  const address = server.address() as AddressInfo;
  o.log('info', 'peer gateway listening', {
    address: `${address.address}:${address.port}`,
    cluster: o.cluster,
    trusts: [...o.trust.keys()],
  });
  return {
    address,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await pools.close();
    },
  };
}
