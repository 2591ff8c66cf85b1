// The bound on upstream connections per endpoint and the wait for one. undici's Pool opens at most
// `connections` connections and queues the requests past them; it has no limit on how long one waits, so a
// request that has not been given a connection within the queue timeout is answered 503 here, and when its turn
// comes anyway it is dropped before a byte is written (the forwarder throws from undici's onConnect, which fails
// that request alone and keeps the connection). The idea is nginx's `server ... max_conns=N` with `queue N
// timeout=T` (upstream module: past the timeout, an error answer), minus the cap on the queue's length, which
// SETTINGS_MAX_CONCURRENT_STREAMS and the connection limits bound instead.
import { PorticoError } from '../table/portico-error.ts';

export interface PoolLimits {
  /** Upstream connections per endpoint per worker process; 0: no cap (nginx max_conns=0). */
  maxConnections: number;
  /** How long a request may wait for one of them before the 503; 0: no limit. */
  queueTimeoutMs: number;
}

export const DEFAULT_POOL_LIMITS: PoolLimits = { maxConnections: 256, queueTimeoutMs: 5_000 };
export const UNBOUNDED_POOL: PoolLimits = { maxConnections: 0, queueTimeoutMs: 0 };

/** A request waited longer than --upstream-queue-timeout for a connection to its endpoint: 503, never sent. */
export class UpstreamQueueTimeoutError extends PorticoError {
  readonly code = 'PORTICO_UPSTREAM_QUEUE_TIMEOUT';
  constructor(
    readonly endpoint: string,
    readonly ms: number,
  ) {
    super(`no connection to ${endpoint} became free within ${ms} ms (--upstream-queue-timeout)`);
  }
}
