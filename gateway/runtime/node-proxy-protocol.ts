// `--proxy-protocol` on the Node listeners: every connection must start with a PROXY protocol header
// (gateway/access/proxy-protocol.ts parses it) before the HTTP request, or, on the HTTPS listener, before the
// TLS ClientHello: nginx's `listen ... proxy_protocol`, which ingress-nginx's `use-proxy-protocol` turns on
// for ports 80 and 443. The header is read in the server's own 'connection' step: the HTTP or TLS server
// listens as usual (its timeouts, connection tracking and close() keep working) and only sees the connection
// once a valid header has been taken off it; the bytes that came with the header are put back first.
//
// Refused, the connection is closed without a byte in answer (nginx does the same):
// - a TCP peer outside the trusted proxies: a header from anyone else is an attempt to choose the address the
//   access rules judge (nginx would keep the peer's address instead; closing also makes a misconfigured
//   --trusted-proxies visible at once instead of silently judging every client as the load balancer);
// - no header, a malformed one, or one over the size limits;
// - no complete header within the header timeout (PROXY_HEADER_TIMEOUT_MS).
import type net from 'node:net';
import tls from 'node:tls';
import { type ProxyHeader, parseProxyHeader } from '../access/proxy-protocol.ts';
import { PorticoError } from '../table/portico-error.ts';

/** How long a connection may take to deliver its whole header. The load balancer writes the header itself,
 * in one piece, as soon as it has the connection (spec §2: "the sender must always ensure that the header is
 * sent at once"), so on a working path it arrives within a round trip. The bound is an absolute deadline, not
 * an idle timeout, so a peer dripping one byte at a time cannot stretch it; 10 s is far above any round trip
 * and still frees a silent connection (a scanner, a hung health check) twice as fast as the 20 s the
 * listeners give a client for its request headers. */
export const PROXY_HEADER_TIMEOUT_MS = 10_000;

/** --proxy-protocol without trusted proxies: every header would come from an untrusted peer. */
export class ProxyProtocolConfigError extends PorticoError {
  readonly code = 'PORTICO_PROXY_PROTOCOL_CONFIG';
}

/** What the header said, kept on the connection for the requests that arrive on it. */
export type ProxiedConnection = Pick<ProxyHeader, 'source' | 'destination'>;

/** Why a connection was closed before its first request (a peer that leaves on its own is not refused). */
export type ProxyRefusal = 'untrusted-peer' | 'invalid-header' | 'timeout';

export interface ProxyProtocolOptions {
  /** Whether this TCP peer may send a header (the trusted proxies). */
  trusted(peer: string): boolean;
  timeoutMs?: number;
  onRefused?(reason: ProxyRefusal, peer: string): void;
}

const PROXIED = Symbol('portico.proxied');
type Tagged = { [PROXIED]?: ProxiedConnection };
/** A connection still waiting for its header: what it sent so far, and its deadline. */
const WAIT = Symbol('portico.proxy-header-wait');
type Waiting = net.Socket & { [WAIT]?: { buf: Buffer; timer: NodeJS.Timeout } };
const EMPTY = Buffer.alloc(0);

/** The header of the connection a request came on. Read through HTTP/2's socket proxy too (it forwards
 * property reads). Undefined when the listener does not require headers, or the connection has none. */
export function proxiedConnection(socket: object | null | undefined): ProxiedConnection | undefined {
  return socket === null || socket === undefined ? undefined : (socket as Tagged)[PROXIED];
}

/** Bytes a connection may send before its header is complete: a header is refused past its size limits, so
 * this is only a guard against a parser bug. */
const MAX_PENDING = 65_536;

/** Makes `server` (an HTTP or a TLS server, not yet listening) take a PROXY header off every connection it
 * accepts. Returns what closing needs: the connections still waiting for their header. */
export function requireProxyHeader(server: net.Server, o: ProxyProtocolOptions): { closePending(): void } {
  const handlers = server.listeners('connection') as ((socket: net.Socket) => void)[];
  server.removeAllListeners('connection');
  const isTls = server instanceof tls.Server;
  const timeoutMs = o.timeoutMs ?? PROXY_HEADER_TIMEOUT_MS;
  const pending = new Set<net.Socket>();
  if (isTls) {
    // A TLS server wraps the accepted socket in a TLSSocket, which keeps it as `_parent` (not documented, there
    // since Node 0.x; the HTTPS cases of test/e2e/proxy-protocol.test.ts fail if it goes): requests see the
    // TLSSocket. Without the record, a request's client is unknown and source ranges refuse it.
    server.prependListener('secureConnection', (s: tls.TLSSocket) => {
      const p = proxiedConnection((s as { _parent?: object })._parent);
      if (p !== undefined) (s as Tagged)[PROXIED] = p;
    });
  }
  // One set of listener functions per server, called with the socket as `this`, and the state of a waiting
  // connection in one object on it: no closures per connection (as the request path allocates none per request).
  const release = (s: Waiting): void => {
    const w = s[WAIT];
    if (w === undefined) return;
    clearTimeout(w.timer);
    s[WAIT] = undefined;
    pending.delete(s);
    s.off('data', onData);
    s.off('error', onError);
    s.off('close', onClose);
    s.off('end', onEnd);
  };
  const refuse = (s: Waiting, reason: ProxyRefusal): void => {
    release(s);
    s.destroy();
    o.onRefused?.(reason, s.remoteAddress ?? '');
  };
  const onTimeout = (s: Waiting): void => refuse(s, 'timeout');
  function onClose(this: Waiting): void {
    release(this);
  }
  // The peer finished sending, or its connection failed, without a whole header (a TCP health check, a client
  // that gave up): nothing more can come. The HTTP server's sockets are half-open ones (allowHalfOpen), so
  // without this they would wait for the deadline. Not a refusal: the peer left.
  function onEnd(this: Waiting): void {
    release(this);
    this.destroy();
  }
  const onError = onEnd;
  function onData(this: Waiting, chunk: Buffer): void {
    const w = this[WAIT];
    if (w === undefined) return;
    w.buf = w.buf.length === 0 ? chunk : Buffer.concat([w.buf, chunk]);
    const r = parseProxyHeader(w.buf);
    if (r.kind === 'more' && w.buf.length < MAX_PENDING) return;
    if (r.kind !== 'header') return refuse(this, 'invalid-header');
    const buf = w.buf;
    release(this);
    (this as Tagged)[PROXIED] = { source: r.header.source, destination: r.header.destination };
    // Hand the connection over paused, with what followed the header back in front: a TLS server reads it
    // from the socket's buffer when it wraps the socket; the HTTP server once the socket flows again.
    this.pause();
    if (buf.length > r.header.length) this.unshift(buf.subarray(r.header.length));
    for (const h of handlers) h.call(server, this);
    if (!isTls) this.resume();
  }
  server.on('connection', (socket: Waiting) => {
    const peer = socket.remoteAddress ?? '';
    if (!o.trusted(peer)) {
      socket.destroy();
      o.onRefused?.('untrusted-peer', peer);
      return;
    }
    socket[WAIT] = { buf: EMPTY, timer: setTimeout(onTimeout, timeoutMs, socket) };
    pending.add(socket);
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.on('end', onEnd);
  });
  return {
    closePending() {
      for (const s of pending) s.destroy();
      pending.clear();
    },
  };
}
