// limit-connections: nginx's limit_conn as ingress-nginx writes it (`limit_conn <zone> N;`), counting the
// requests of one client address in progress in one zone, per worker process. As in nginx, what is counted
// is a request being processed (an HTTP/2 stream counts as one, a WebSocket for as long as it is open), from
// the moment it passes until its response has ended or the client went away; one more than N is refused.
//
// Memory: an entry exists only while its client has a request in progress (nginx frees the node when the
// count drops to zero), so a client holds at most N entries' worth; and when the store is full a new client
// is refused, as nginx refuses a request whose zone has no room for a new node ("could not allocate node",
// answered with limit_conn_status).

export interface ConnectionLimiterOptions {
  /** Clients counted at most in one zone (default 65,536). Per zone, as nginx sizes each Ingress's zone: a flood
   * against one Ingress cannot fill the store every other Ingress needs. An entry lives only while its
   * client has a request in progress, so all zones together hold at most the requests in progress. */
  maxEntries?: number;
}

export class ConnectionLimiter {
  /** `zone client` → requests in progress (never 0: the entry goes when the count does). */
  private readonly counts = new Map<string, number>();
  /** zone → its entries in `counts`. */
  private readonly zoneSizes = new Map<string, number>();
  private readonly maxEntries: number;

  constructor(o: ConnectionLimiterOptions = {}) {
    this.maxEntries = o.maxEntries ?? 65_536;
  }

  /** Counts one more request of `client` in `zone` when it has fewer than `limit` in progress and returns
   * what ends it (safe to call more than once); null when the request is refused. */
  acquire(zone: string, client: string, limit: number): (() => void) | null {
    const key = `${zone} ${client}`;
    const n = this.counts.get(key) ?? 0;
    if (n >= limit) return null;
    if (n === 0) {
      const size = this.zoneSizes.get(zone) ?? 0;
      if (size >= this.maxEntries) return null;
      this.zoneSizes.set(zone, size + 1);
    }
    this.counts.set(key, n + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const left = (this.counts.get(key) ?? 1) - 1;
      if (left > 0) return void this.counts.set(key, left);
      this.counts.delete(key);
      const size = (this.zoneSizes.get(zone) ?? 1) - 1;
      if (size <= 0) this.zoneSizes.delete(zone);
      else this.zoneSizes.set(zone, size);
    };
  }

  /** Requests of `client` in progress in `zone`. */
  inProgress(zone: string, client: string): number {
    return this.counts.get(`${zone} ${client}`) ?? 0;
  }

  /** Entries held (for tests and bounds). */
  get size(): number {
    return this.counts.size;
  }
}
