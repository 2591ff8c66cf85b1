// ssl-passthrough on the Node HTTPS listener: before TLS is terminated, the ClientHello's server name is read
// (gateway/tls/client-hello.ts); a connection naming a host with `passthrough` in the table is relayed, ClientHello
// bytes included, to an endpoint of that host's backend, and TLS is never terminated here (ingress-nginx's
// pkg/tcpproxy in front of nginx, which --enable-ssl-passthrough turns on). Every other connection — no SNI, a name
// without passthrough, an unknown name — goes to the TLS server as before, with the bytes read put back first, so
// client certificates, the PROXY protocol and session settings are unchanged.
//
// Only while the table has a passthrough host: otherwise the connection is handed over at once (the peek costs a
// round of buffering per connection; bench/passthrough.ts). The hook sits in the server's own 'connection' step,
// as the PROXY protocol's does (node-proxy-protocol.ts), and below it: with --proxy-protocol the header is taken off
// first, and the ClientHello is read from what follows.
//
// Refused connections are closed without a byte in answer:
// - the first bytes are not a ClientHello, or over its size limit (ingress-nginx hands those to nginx, whose
//   handshake fails on them: the client sees a closed connection either way);
// - no complete ClientHello within CLIENT_HELLO_TIMEOUT_MS;
// - a passthrough host without a backend or without a ready endpoint, or when every endpoint refuses the connection
//   (ingress-nginx: the same, the Go proxy closes the client's connection when its dial fails).
// The relay itself (endpoint choice, direct or through the node-local tunnel, both directions) is
// node-passthrough-relay.ts.
import type net from 'node:net';
import type { RoundRobin } from '../balance.ts';
import type { LiveTable } from '../live.ts';
import type { TunnelAddress } from '../table/tunnel-protocol.ts';
import { parseClientHello } from '../tls/client-hello.ts';
import { passthroughRelay } from './node-passthrough-relay.ts';

/** The same deadline as the PROXY header's (node-proxy-protocol.ts PROXY_HEADER_TIMEOUT_MS): a client sends its
 * ClientHello as soon as it has the connection, in one flight; an absolute deadline, so a peer dripping bytes
 * cannot stretch it. */
export const CLIENT_HELLO_TIMEOUT_MS = 10_000;
/** How long a relayed connection may stay silent in both directions: nginx's stream proxy_timeout default (10 min).
 * ingress-nginx's Go proxy has none; a bound keeps abandoned connections from holding sockets forever. */
export const PASSTHROUGH_IDLE_TIMEOUT_MS = 600_000;

/** What the metric counts (portico_ssl_passthrough_connections_total{outcome}). `relayed` connections reached an
 * endpoint; the others were closed. */
export type PassthroughOutcome =
  | 'relayed'
  | 'invalid-client-hello'
  | 'client-hello-timeout'
  | 'no-backend'
  | 'no-endpoint'
  | 'connect-failed';

export interface PassthroughOptions {
  live: LiveTable;
  balancer: RoundRobin;
  /** Endpoints are reached through the node-local tunnel at this address (a CONNECT per connection). */
  tunnel: TunnelAddress | null;
  connectTimeoutMs: number;
  helloTimeoutMs?: number;
  idleTimeoutMs?: number;
  onOutcome(outcome: PassthroughOutcome): void;
}

const WAIT = Symbol('portico.client-hello-wait');
type Waiting = net.Socket & { [WAIT]?: { buf: Buffer; timer: NodeJS.Timeout } };
const EMPTY = Buffer.alloc(0);
/** A host name as a ClientHello may carry it and a table may name it (RFC 6066 §3: no trailing dot). */
const SNI_NAME = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;

/** Makes the TLS `server` (not yet listening) read the ClientHello of every connection while the table has a
 * passthrough host. Returns what closing needs: the connections still being read or relayed. */
export function passThroughTls(server: net.Server, o: PassthroughOptions): { closeAll(): void } {
  const handlers = server.listeners('connection') as ((socket: net.Socket) => void)[];
  server.removeAllListeners('connection');
  const helloMs = o.helloTimeoutMs ?? CLIENT_HELLO_TIMEOUT_MS;
  const idleMs = o.idleTimeoutMs ?? PASSTHROUGH_IDLE_TIMEOUT_MS;
  const open = new Set<net.Socket>();
  const relay = passthroughRelay({ ...o, idleMs, open });
  let active = false;
  const check = (): void => {
    active = o.live.table?.hosts.some((h) => h.passthrough !== undefined) ?? false;
  };
  o.live.onSwap(check);
  check();

  const handOver = (s: net.Socket): void => {
    for (const h of handlers) h.call(server, s);
  };
  const release = (s: Waiting): void => {
    const w = s[WAIT];
    if (w === undefined) return;
    clearTimeout(w.timer);
    s[WAIT] = undefined;
    open.delete(s);
    s.off('data', onData);
    s.off('error', onEnd);
    s.off('end', onEnd);
    s.off('close', onClose);
  };
  const refuse = (s: Waiting, outcome: PassthroughOutcome): void => {
    release(s);
    s.destroy();
    o.onOutcome(outcome);
  };
  const onTimeout = (s: Waiting): void => refuse(s, 'client-hello-timeout');
  function onClose(this: Waiting): void {
    release(this);
  }
  // The client left before its ClientHello was complete: not a refusal.
  function onEnd(this: Waiting): void {
    release(this);
    this.destroy();
  }
  function onData(this: Waiting, chunk: Buffer): void {
    const w = this[WAIT];
    if (w === undefined) return;
    w.buf = w.buf.length === 0 ? chunk : Buffer.concat([w.buf, chunk]);
    const r = parseClientHello(w.buf);
    if (r.kind === 'more') return;
    if (r.kind === 'invalid') return refuse(this, 'invalid-client-hello');
    const buf = w.buf;
    release(this);
    this.pause();
    const entry = r.serverName !== null && SNI_NAME.test(r.serverName) ? o.live.current?.matcher.lookupHost(r.serverName) : undefined;
    const pass = entry?.passthrough;
    if (pass === undefined) {
      // Not ours to relay: the TLS server reads the bytes back from the socket's buffer when it wraps it.
      this.unshift(buf);
      return handOver(this);
    }
    const backend = pass.backend === null ? undefined : o.live.current?.matcher.backend(pass.backend);
    if (backend === undefined) return refuse(this, 'no-backend');
    if (backend.endpoints.length === 0) return refuse(this, 'no-endpoint');
    relay(this, buf, backend);
  }

  server.on('connection', (socket: Waiting) => {
    if (!active) return handOver(socket);
    socket[WAIT] = { buf: EMPTY, timer: setTimeout(onTimeout, helloMs, socket) };
    open.add(socket);
    socket.on('data', onData);
    socket.on('error', onEnd);
    socket.on('end', onEnd);
    socket.on('close', onClose);
    // Under --proxy-protocol the socket arrives paused, with the bytes after the header put back in front.
    socket.resume();
  });
  return {
    closeAll() {
      for (const s of open) s.destroy();
      open.clear();
    },
  };
}
