// Graceful drain of the Node listeners on shutdown (SIGTERM of a rolling update), in nginx's order for a graceful
// stop (`nginx -s quit`: stop accepting, let requests in flight finish, close idle keep-alive connections, give up
// after worker_shutdown_timeout), with a delay first so load balancers see /readyz fail before the listeners go
// (the same reason ingress-nginx's chart sleeps in a preStop hook).
//
//   begin()            draining: every HTTP/1 response from now on carries `Connection: close` (RFC 9112 9.6: the
//                      client must not send another request on that connection), so keep-alive clients re-dial
//                      through the load balancer
//   + delayMs          listeners stop accepting (net.Server.close), idle HTTP/1 connections are closed
//                      (server.closeIdleConnections, Node >= 18.2), HTTP/2 sessions get GOAWAY (Http2Session.close:
//                      streams in flight finish, no new ones: RFC 9113 6.8)
//   + timeoutMs        whatever is left (slow requests, WebSockets) is closed
import type http from 'node:http';
import type http2 from 'node:http2';
import type { Duplex } from 'node:stream';

export interface DrainTimes {
  /** From the signal to closing the listeners: long enough for load balancers to stop sending new connections. */
  delayMs: number;
  /** From closing the listeners to closing what is still open (requests in flight, WebSockets). */
  timeoutMs: number;
}

/** `--drain-delay 5s`, `--drain-timeout 30s`: ingress-nginx's chart waits 5 s in preStop (wait-shutdown), and nginx's
 * worker_shutdown_timeout there is 240 s; 30 s is Kubernetes' default terminationGracePeriodSeconds. */
export const DEFAULT_DRAIN: DrainTimes = { delayMs: 5_000, timeoutMs: 30_000 };

type Server = http.Server | http2.Http2SecureServer;
/** Node's HTTP/1 connection list: on http.Server, and on an Http2SecureServer with allowHTTP1 for its HTTP/1
 * connections (present at runtime on Node 20, absent from its types). */
type ConnectionList = { closeIdleConnections?(): void; closeAllConnections?(): void };

/** What a drain did, for the shutdown log line. */
export interface DrainOutcome {
  /** Connections still open when the timeout struck, closed by force (0: everything finished on its own). */
  forced: number;
}

export class Drain {
  /** Read per HTTP/1 response (one property read on the hot path). */
  draining = false;
  private readonly servers: Server[] = [];
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  /** Upgraded connections (WebSockets): Node's closeAllConnections no longer sees them once upgraded. */
  private readonly upgraded = new Set<Duplex>();

  constructor(private readonly times: DrainTimes) {}

  /** Follows the server's HTTP/2 sessions and upgraded sockets (their own 'session'/'upgrade' listeners: the
   * request path's listeners are untouched). */
  track(server: Server): void {
    this.servers.push(server);
    server.on('session', (s: http2.ServerHttp2Session) => {
      this.sessions.add(s);
      s.once('close', () => this.sessions.delete(s));
      if (this.draining && !this.accepting) s.close();
    });
    server.on('upgrade', (_req: http.IncomingMessage, socket: Duplex) => {
      this.upgraded.add(socket);
      socket.once('close', () => this.upgraded.delete(socket));
    });
  }

  private accepting = true;

  /** `Connection: close` on an HTTP/1 response while draining (Node writes it and closes the socket once the
   * response has been sent: OutgoingMessage.shouldKeepAlive). HTTP/2 responses have no Connection header
   * (RFC 9113 8.2.2): their session gets GOAWAY instead. */
  markResponse(res: http.ServerResponse | http2.Http2ServerResponse): void {
    if (this.draining && !('stream' in res)) res.shouldKeepAlive = false;
  }

  /** The whole drain: resolves once every connection has closed, on its own or at the timeout. */
  async run(): Promise<DrainOutcome> {
    this.draining = true;
    await sleep(this.times.delayMs);
    this.accepting = false;
    const closed = this.servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          s.close(() => resolve());
          (s as ConnectionList).closeIdleConnections?.();
        }),
    );
    for (const s of this.sessions) s.close();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      Promise.all(closed).then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), this.times.timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (!timedOut) return { forced: 0 };
    const forced = (await Promise.all(this.servers.map(connectionCount))).reduce((a, b) => a + b, 0);
    for (const s of this.sessions) s.destroy();
    for (const u of this.upgraded) u.destroy();
    for (const s of this.servers) (s as ConnectionList).closeAllConnections?.();
    // A connection still in its TLS handshake is in no list: the process exits without waiting for it.
    await Promise.race([Promise.all(closed), sleep(1_000)]);
    return { forced };
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Open connections of a server, counted by net.Server (HTTP/1, HTTP/2 and upgraded alike). */
const connectionCount = (s: Server): Promise<number> =>
  new Promise((resolve) => s.getConnections((err, count) => resolve(err ? 0 : count)));
