// What a client may take of the Node listeners' time: nginx's client_header_timeout, client_body_timeout,
// client_body_buffer_size, keepalive_timeout and send_timeout, as Node server settings (the body ones and the send
// bound are applied by the forwarder, gateway/proxy/client-body.ts and client-send.ts), and no TLS renegotiation.
import type http from 'node:http';
import type http2 from 'node:http2';
import type tls from 'node:tls';
import { type ClientBodyLimits, DEFAULT_CLIENT_BODY } from '../proxy/client-body.ts';
import { CLIENT_SEND_MS } from '../proxy/client-send.ts';

export interface ClientLimits {
  /** client_header_timeout: the TLS handshake, and the request head of an HTTP/1.1 request (from the connection, or
   * from the first byte of a following request on a kept-alive one). */
  headerTimeoutMs: number;
  /** keepalive_timeout: how long an idle connection is kept between requests (an HTTP/2 session: while idle). */
  keepAliveTimeoutMs: number;
  /** send_timeout: the longest the client may leave an answer unread (gateway/proxy/client-send.ts). */
  sendMs: number;
  body: ClientBodyLimits;
}

/** nginx's client_header_timeout 60s; ingress-nginx's keep-alive 75 (nginx's own default is 75s too); send_timeout 60s. */
export const DEFAULT_CLIENT_LIMITS: ClientLimits = {
  headerTimeoutMs: 60_000,
  keepAliveTimeoutMs: 75_000,
  sendMs: CLIENT_SEND_MS,
  body: DEFAULT_CLIENT_BODY,
};

/** Node checks the header and request timeouts on a timer (connectionsCheckingInterval, 30 s by default): a check
 * every second, or more often for a shorter timeout, keeps the bound near the configured value. */
const checkEvery = (l: ClientLimits): number => Math.max(100, Math.min(1_000, Math.floor(l.headerTimeoutMs / 2)));

/** The HTTP/1.1 listener's options (Node http.createServer). requestTimeout is off: Node's covers the whole
 * request, body included, and would cut a long upload that keeps sending; nginx has no such limit, the body has
 * its own timeout between reads. */
export function http1ServerOptions(l: ClientLimits): http.ServerOptions {
  return {
    headersTimeout: l.headerTimeoutMs,
    requestTimeout: 0,
    keepAliveTimeout: l.keepAliveTimeoutMs,
    connectionsCheckingInterval: checkEvery(l),
    maxHeaderSize: 16_384,
  };
}

/** The TLS listener's handshake bound (tls.createServer handshakeTimeout, 120 s by default): nginx's
 * client_header_timeout covers the handshake too. */
export function tlsServerOptions(l: ClientLimits): Pick<tls.TlsOptions, 'handshakeTimeout'> {
  return { handshakeTimeout: l.headerTimeoutMs };
}

/** The same limits on the HTTPS listener (HTTP/2, and HTTP/1.1 by ALPN), and renegotiation refused. */
export function limitTlsServer(server: http2.Http2SecureServer, l: ClientLimits): void {
  // allowHTTP1: Node tracks HTTP/1.1 connections of an HTTP/2 server like http.Server's, from these properties,
  // read when the server starts listening.
  const s = server as http2.Http2SecureServer & {
    headersTimeout: number;
    requestTimeout: number;
    keepAliveTimeout: number;
    connectionsCheckingInterval: number;
  };
  s.headersTimeout = l.headerTimeoutMs;
  s.requestTimeout = 0;
  s.keepAliveTimeout = l.keepAliveTimeoutMs;
  s.connectionsCheckingInterval = checkEvery(l);
  server.setTimeout(l.keepAliveTimeoutMs);
  // HTTP/2: the client's connection preface (RFC 9113 3.4, ending with its SETTINGS frame) must arrive within the
  // header timeout too, as nginx reads it under client_header_timeout; a session idle after it is keepalive_timeout's
  // (the server timeout above).
  server.on('session', (session: http2.ServerHttp2Session) => {
    const timer = setTimeout(() => session.destroy(), l.headerTimeoutMs);
    const clear = (): void => clearTimeout(timer);
    session.once('remoteSettings', clear);
    session.once('close', clear);
  });
  // TLS 1.2 client-initiated renegotiation costs the server a full handshake each time; Node allows 3 per 10 min
  // (tls.CLIENT_RENEG_LIMIT), nginx none (ngx_ssl_handshake_callback closes the connection). TLS 1.3 has none.
  // The refused attempt errors the socket, which the HTTP/2 session or the HTTP/1.1 server handles by closing it.
  server.on('secureConnection', (socket: tls.TLSSocket) => void socket.disableRenegotiation());
}
