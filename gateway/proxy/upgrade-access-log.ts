// Access log lines for upgrade requests (WebSocket, and upgrades the edge refuses). Node hands them to the server's
// 'upgrade' listener, outside the request listener that runtime/node-access-log.ts wraps, so they get their own
// record: one line when the client's connection closes, as nginx logs a proxied WebSocket (status 101, the bytes of
// the whole connection, the duration its lifetime), or at once for a refusal (the connection closes after it).
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { AccessLogSink } from '../access-log.ts';
import type { RequestFacts } from '../decide.ts';
import { isoNow, loggedRequestId, millis, stripMapped, tlsFields } from '../runtime/node-access-log.ts';

export class UpgradeAccessRecord {
  private readonly start = performance.now();
  private status = 0;
  private route = '';
  private facts: RequestFacts | null = null;
  requestId = '';
  upstream: string | null = null;
  upstreamStatus: number | null = null;
  upstreamMs: number | null = null;
  private readonly read0: number;
  private readonly written0: number;

  constructor(
    private readonly sink: AccessLogSink,
    private readonly req: IncomingMessage,
    private readonly socket: Duplex,
  ) {
    const s = socket as Partial<Socket>;
    this.read0 = s.bytesRead ?? 0;
    this.written0 = s.bytesWritten ?? 0;
    socket.once('close', this.end.bind(this));
  }

  /** What the upgrade path knows once it has decided. */
  decided(facts: RequestFacts): void {
    this.facts = facts;
  }

  /** The answer the client got (the same call that counts it in the metrics). */
  answered(route: string, status: number): void {
    this.route = route;
    this.status = status;
  }

  /** When the upstream's answer came, for `upstreamMs`. */
  upstreamAnswered(status: number): void {
    this.upstreamStatus = status;
    this.upstreamMs = performance.now() - this.start;
  }

  private end(): void {
    const { req, facts } = this;
    const s = this.socket as Partial<TLSSocket>;
    this.sink.write({
      time: isoNow(),
      client: stripMapped(facts?.clientIp ?? req.socket.remoteAddress),
      method: req.method ?? '',
      host: facts?.host ?? req.headers.host ?? '',
      path: facts?.path ?? req.url ?? '',
      protocol: `HTTP/${req.httpVersion}`,
      // nginx logs 499 for a client that left before it was answered.
      status: this.status === 0 ? 499 : this.status,
      bytesIn: (s.bytesRead ?? 0) - this.read0,
      bytesOut: (s.bytesWritten ?? 0) - this.written0,
      durationMs: millis(performance.now() - this.start),
      upstream: this.upstream,
      upstreamStatus: this.upstreamStatus,
      upstreamMs: this.upstreamMs === null ? null : millis(this.upstreamMs),
      route: this.route,
      requestId: this.requestId || loggedRequestId(req),
      ...tlsFields(this.socket),
    });
  }
}
