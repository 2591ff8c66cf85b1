// One request relayed by a tunnel to one of a list of targets (an endpoint, or a peer cluster's gateway):
// streams both ways with back-pressure, like the worker's own forwarder, and moves to the next target when the
// worker's own rule says so (gateway/proxy/retry-policy.ts: a refused connect, or a reset of an idempotent request
// whose body nobody streamed yet). When it gives up, the caller gets the tunnel's 502/504 with the upstream error
// code in ERROR_HEADER, so it can apply the same rule in turn.
import type http from 'node:http';
import type { Dispatcher } from 'undici';
import { classifyUpstreamError } from '../errors.ts';
import { downstreamResponseHeaders } from '../proxy/headers.ts';
import { hasRequestBody } from '../proxy/node-forwarder.ts';
import { isIdempotent, retryDecision } from '../proxy/retry-policy.ts';
import { SERVER_NAME } from '../responses.ts';
import { UpstreamQueueTimeoutError } from '../proxy/pool-queue.ts';
import { ClientGoneError } from '../proxy/client-state.ts';
import { ERROR_HEADER, tunnelErrorOf } from '../table/tunnel-protocol.ts';

export interface TunnelStats {
  /** Requests relayed to a response. */
  relayed: number;
  upgrades: number;
  /** Raw TCP streams relayed (CONNECT, ssl-passthrough). */
  streams: number;
  /** Refused: no or malformed target, an address outside the verified tables, a bad peer token. */
  refused: number;
  upstreamErrors: number;
  /** Answered 503: no connection to the endpoint became free within --upstream-queue-timeout. */
  queueTimeouts: number;
}

export const newStats = (): TunnelStats => ({ relayed: 0, upgrades: 0, streams: 0, refused: 0, upstreamErrors: 0, queueTimeouts: 0 });

export function answer(res: http.ServerResponse, status: number, reason: string, code: string): void {
  const body = `${status} ${reason}\n`;
  res.writeHead(status, {
    server: SERVER_NAME,
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    [ERROR_HEADER]: code,
  });
  res.end(body);
}

export interface RelayTarget {
  dispatcher: Dispatcher;
  headers: string[];
  /** A peer cluster's gateway: its own error report (ERROR_HEADER) is passed on to the worker, which fails
   * over on it. Every other portico-* response header is dropped, as from any upstream. */
  peer?: boolean;
  /** TLS targets: a fixed name, so that undici does not derive one from each request's Host (gateway/tunnel/peers.ts). */
  servername?: string;
}

export class Relay implements Dispatcher.DispatchHandler {
  private k = 0;
  private status = 0;
  private abort: ((err?: Error) => void) | null = null;
  private resume: (() => void) | null = null;
  private done = false;
  /** Armed while the request waits for a connection of a full pool (--upstream-max-connections). */
  private queueTimer: NodeJS.Timeout | null = null;
  /** The queue timeout answered: the request is dropped when its turn comes, before a byte is written. */
  private dropped = false;
  private readonly body: http.IncomingMessage | null;

  constructor(
    private readonly req: http.IncomingMessage,
    private readonly res: http.ServerResponse,
    private readonly stats: TunnelStats,
    private readonly targets: readonly RelayTarget[],
    /** --upstream-queue-timeout in ms (0: none), as in the worker (gateway/proxy/pool-queue.ts). */
    private readonly queueTimeoutMs = 0,
  ) {
    this.body = hasRequestBody(req) ? req : null;
    res.once('close', () => {
      if (!this.done) this.abort?.();
    });
  }

  start(): void {
    const t = this.targets[this.k]!;
    const free = t.dispatcher.dispatch(
      {
        path: this.req.url ?? '/',
        method: this.req.method ?? 'GET',
        headers: t.headers,
        body: this.body,
        ...(t.servername === undefined ? {} : { servername: t.servername }),
      },
      this,
    );
    // undici's Pool answers false when the request had to queue behind busy connections.
    if (!free && this.queueTimeoutMs > 0 && this.queueTimer === null)
      this.queueTimer = setTimeout(queueTimedOut, this.queueTimeoutMs, this);
  }

  /** Still waiting when the queue timeout fired: 503 (without the tunnel's error header: the worker passes it on as
   * the answer it is, and proxy-next-upstream http_503 may move on), and the request is dropped when its turn comes. */
  onQueueTimeout(): void {
    this.queueTimer = null;
    if (this.done || this.abort !== null) return;
    this.dropped = true;
    this.done = true;
    this.stats.queueTimeouts++;
    if (this.res.destroyed) return;
    const body = '503 no upstream connection became free in time\n';
    this.res.writeHead(503, {
      server: SERVER_NAME,
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    this.res.end(body);
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.queueTimer !== null) {
      clearTimeout(this.queueTimer);
      this.queueTimer = null;
    }
    // Answered 503 while queued, or the caller is gone: thrown, undici fails this request before writing a byte and
    // keeps the connection (abort() would destroy it, and the request may be written anyway); onError ignores it.
    if (this.dropped) throw new UpstreamQueueTimeoutError('', this.queueTimeoutMs);
    if (this.res.destroyed) {
      this.dropped = true;
      this.done = true;
      throw new ClientGoneError();
    }
    this.abort = abort;
  }

  onHeaders(code: number, raw: Buffer[], resume: () => void): boolean {
    if (code < 200) return true;
    this.status = code;
    this.resume = resume;
    if (this.res.destroyed) return false;
    const headers = downstreamResponseHeaders(raw);
    const reported = this.targets[this.k]!.peer === true && code >= 400 ? tunnelErrorOf(raw) : null;
    if (reported !== null) headers.push(ERROR_HEADER, reported.code);
    this.res.writeHead(code, headers);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.res.destroyed) return false;
    if (this.res.write(chunk)) return true;
    this.res.once('drain', this.resume!);
    return false;
  }

  onComplete(): void {
    this.done = true;
    this.stats.relayed++;
    this.res.end();
  }

  onError(err: Error): void {
    if (this.dropped) return; // answered by the queue timeout; this is its abort
    this.stats.upstreamErrors++;
    if (this.res.destroyed) {
      this.done = true;
      return;
    }
    const d = retryDecision({
      code: classifyUpstreamError(err, '').code,
      bodyStreamed: this.body?.readableDidRead === true,
      responseStarted: this.status !== 0 || this.res.headersSent,
      idempotent: isIdempotent(this.req.method ?? 'GET'),
      attempts: this.k + 1,
      endpoints: this.targets.length,
      peerAvailable: false, // the worker moves between peer clusters, the tunnel only between its targets
    });
    if (d.action === 'next-endpoint') {
      this.k++;
      return this.start();
    }
    this.done = true;
    // Before any response: tell the caller what happened, in the words it would have seen itself.
    if (d.action === 'answer')
      return answer(this.res, d.status, 'upstream failed', String((err as { code?: unknown }).code ?? 'PORTICO_TUNNEL_UPSTREAM'));
    this.res.destroy(err);
  }
}

function queueTimedOut(r: Relay): void {
  r.onQueueTimeout();
}
