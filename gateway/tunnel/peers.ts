// The sending side of cross-cluster traffic: the peer clusters a node-local tunnel may send to, each
// at a fixed gateway address given by configuration (never by a request), over TLS checked against the
// configured CA, with a peer token signed by this cluster's tunnel key and scoped to the one backend asked for.
// Tokens are reused until 10 s before they expire: signing is per (peer, backend), not per request.
import type { CryptoKey, KeyObject } from 'jose';
import { buildConnector, Pool } from '../proxy/undici-parts.ts';
import type { UpstreamTimeouts } from '../proxy/pools.ts';
import { MAX_TTL_SECONDS, signPeerToken } from './peer-token.ts';

export interface PeerConfig {
  /** https://host:port of the peer cluster's gateway (`portico tunnel --peer-listen` there). */
  url: string;
}

/** The servername every peer request carries (see the constructor). */
export const PEER_SERVERNAME = 'portico-peer-gateway';
const TOKEN_TTL_SECONDS = 30;
const REUSE_MARGIN_MS = 10_000;

export class Peers {
  private readonly pools = new Map<string, Pool>();
  private readonly tokens = new Map<string, { token: string; until: number }>();

  constructor(
    private readonly cluster: string,
    private readonly key: CryptoKey | KeyObject,
    peers: ReadonlyMap<string, PeerConfig>,
    ca: string | undefined,
    timeouts: UpstreamTimeouts,
  ) {
    for (const [name, p] of peers) {
      // undici names the TLS server after each request's Host header (the application's host, not the peer
      // gateway's) and reconnects whenever it changes: requests carry PEER_SERVERNAME instead, and the connector
      // verifies the gateway's certificate against the configured URL's host, whatever the request says.
      const connector = buildConnector({ timeout: timeouts.connectMs, ...(ca === undefined ? {} : { ca }), minVersion: 'TLSv1.2' });
      this.pools.set(
        name,
        new Pool(p.url, {
          connect: (opts, cb) => connector({ ...opts, servername: undefined }, cb),
          headersTimeout: timeouts.headersMs,
          bodyTimeout: timeouts.bodyMs,
          keepAliveTimeout: 4_000,
          pipelining: 1,
        }),
      );
    }
  }

  pool(peer: string): Pool | undefined {
    return this.pools.get(peer);
  }

  async token(peer: string, backend: string): Promise<string> {
    const k = `${peer}\n${backend}`;
    const cached = this.tokens.get(k);
    if (cached !== undefined && cached.until > Date.now()) return cached.token;
    const token = await signPeerToken(
      this.key,
      { iss: this.cluster, aud: peer, bk: [backend] },
      Math.min(TOKEN_TTL_SECONDS, MAX_TTL_SECONDS),
    );
    if (this.tokens.size > 10_000) this.tokens.clear(); // bounded: backends × peers, far below this
    this.tokens.set(k, { token, until: Date.now() + TOKEN_TTL_SECONDS * 1000 - REUSE_MARGIN_MS });
    return token;
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.destroy().catch(() => {})));
  }
}
