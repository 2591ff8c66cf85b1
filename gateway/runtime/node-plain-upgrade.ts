// An HTTP/1.1 request that asks to upgrade to anything but WebSocket (`curl --http2 http://…` sends
// `Upgrade: h2c`) is served as the plain request it also is: RFC 9110 §7.8 lets a server ignore Upgrade, and nginx
// does. Node 20 hands every request with `Connection: upgrade` to the server's 'upgrade' listener once one exists
// (no per-request choice before v24's shouldUpgradeCallback), with its parser already detached: so the answer is
// written by a ServerResponse of our own on the socket, and the connection closes after it (no parser is left to
// read a next request). Upgrade, HTTP2-Settings and Connection are hop-by-hop (shared/hop-by-hop.ts): the upstream
// never sees them.
import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export type PlainListener = (req: IncomingMessage, res: ServerResponse) => void;

/** Whether the upgrade request carries a body: Node has already stopped reading it, so such a request cannot be
 * served as a plain one (the caller refuses it). */
export function upgradeHasBody(req: IncomingMessage): boolean {
  const h = req.headers;
  return h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
}

export function serveWithoutUpgrade(req: IncomingMessage, socket: Duplex, listener: PlainListener): void {
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false; // `Connection: close` on the answer
  res.assignSocket(socket as Socket);
  res.once('finish', () => {
    res.detachSocket(socket as Socket);
    socket.end();
  });
  listener(req, res);
}
