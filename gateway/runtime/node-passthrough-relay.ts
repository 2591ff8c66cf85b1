// The relay of an ssl-passthrough connection (node-passthrough.ts decided it names a passthrough host): an endpoint
// of the host's backend from the round-robin counter (the next one when a connect is refused or times out: nginx's
// proxy_next_upstream error timeout, which its stream module applies to connects too), dialled directly or, with
// --tunnel, through the node-local tunnel with an HTTP CONNECT naming it (the tunnel grants it only for endpoints of
// passthrough backends of its own verified table: gateway/tunnel/connect.ts); then bytes both ways, the ClientHello
// first, until either side ends or both are silent for the idle timeout. Only endpoints of the verified table are
// dialled: they come from it.
import http from 'node:http';
import net from 'node:net';
import type { RoundRobin } from '../balance.ts';
import type { Backend, Endpoint } from '../table/schema.ts';
import { ENDPOINT_HEADER, endpointKey, type TunnelAddress } from '../table/tunnel-protocol.ts';

export interface RelayOptions {
  balancer: RoundRobin;
  tunnel: TunnelAddress | null;
  connectTimeoutMs: number;
  idleMs: number;
  onOutcome(outcome: 'relayed' | 'connect-failed'): void;
  /** The connections of the listener that closing destroys: the client and upstream sockets join it. */
  open: Set<net.Socket>;
}

const EMPTY = Buffer.alloc(0);
type Connected = (upstream: net.Socket, head: Buffer) => void;

export function passthroughRelay(o: RelayOptions): (client: net.Socket, hello: Buffer, backend: Backend) => void {
  const { open, idleMs } = o;
  /** Dials the backend's endpoints from the balancer's start, the next one when a connection is refused or times
   * out (nginx's proxy_next_upstream error timeout, which the stream module applies to connects too). */
  const relay = (client: net.Socket, hello: Buffer, backend: Backend): void => {
    open.add(client);
    // The client may reset while an endpoint is dialled: without a listener its error would be thrown.
    client.on('error', () => client.destroy());
    client.once('close', () => open.delete(client));
    const start = o.balancer.start(backend);
    const endpoints = backend.endpoints;
    let tries = 0;
    const dial = (): void => {
      if (client.destroyed) return;
      const e: Endpoint = endpoints[(start + tries) % endpoints.length]!;
      tries++;
      const failed = (): void => {
        if (tries < endpoints.length) return dial();
        open.delete(client);
        client.destroy();
        o.onOutcome('connect-failed');
      };
      const connected = (upstream: net.Socket, head: Buffer): void => {
        o.onOutcome('relayed');
        if (head.length > 0) client.write(head);
        pipe(client, upstream, hello);
      };
      if (o.tunnel === null) direct(e, connected, failed);
      else throughTunnel(o.tunnel, e, connected, failed);
    };
    dial();
  };

  const direct = (e: Endpoint, connected: Connected, failed: () => void): void => {
    const upstream = net.connect({ host: e.address, port: e.port, timeout: o.connectTimeoutMs });
    const fail = (): void => {
      upstream.destroy();
      failed();
    };
    upstream.once('timeout', fail);
    upstream.once('error', fail);
    upstream.once('connect', () => {
      upstream.off('timeout', fail);
      upstream.off('error', fail);
      connected(upstream, EMPTY);
    });
  };

  /** `CONNECT address:port` to the tunnel; its 200 opens the stream, anything else is a failed dial. */
  const throughTunnel = (t: TunnelAddress, e: Endpoint, connected: Connected, failed: () => void): void => {
    const key = endpointKey(e);
    let done = false;
    const fail = (): void => {
      if (done) return;
      done = true;
      req.destroy();
      failed();
    };
    const req = http.request({
      ...('path' in t ? { socketPath: t.path } : { host: t.host, port: t.port }),
      method: 'CONNECT',
      path: key,
      headers: { [ENDPOINT_HEADER]: key },
      agent: false,
      timeout: o.connectTimeoutMs,
    });
    // Kept for the request's life: an error after the stream opened must still have a listener.
    req.on('timeout', fail);
    req.on('error', fail);
    req.once('connect', (res: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      if (done) return socket.destroy();
      if (res.statusCode !== 200) {
        socket.destroy();
        return fail();
      }
      done = true;
      socket.setTimeout(0);
      connected(socket, head);
    });
    req.end();
  };

  /** Both directions, with the ClientHello first; either side's end or error ends both; silence ends both. */
  const pipe = (client: net.Socket, upstream: net.Socket, hello: Buffer): void => {
    open.add(upstream);
    upstream.once('close', () => open.delete(upstream));
    const stop = (): void => {
      client.destroy();
      upstream.destroy();
    };
    upstream.setTimeout(idleMs, stop);
    client.setTimeout(idleMs, stop);
    client.on('error', stop);
    upstream.on('error', stop);
    client.once('close', stop);
    upstream.once('close', stop);
    upstream.write(hello);
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  };
  return relay;
}
