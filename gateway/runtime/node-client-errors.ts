// Answers for what Node's HTTP server refuses or does not route, so that a client gets the same complete answer
// (Server, Date, Content-Type, Content-Length) as from every other refusal of the edge, never a bare status line or
// a closed connection:
// - `clientError`: Node's parser refused the bytes. Node's default writes a bare `HTTP/1.1 400` (431 for a head over
//   maxHeaderSize, 408 for a request that took too long) and closes; the status is kept, the answer completed
//   (https://nodejs.org/docs/latest-v20.x/api/http.html#event-clienterror).
// - CONNECT: an edge is not a forward proxy. Node closes the connection when no 'connect' listener exists; nginx 1.22
//   answers 400 (it parses no authority-form request target), and so does this.
import type { Duplex } from 'node:stream';
import type { Metrics } from '../metrics.ts';
import { rawAnswer } from '../proxy/raw-answer.ts';

/** The status Node's own default answer would have had. */
function clientErrorStatus(code: string | undefined): 400 | 408 | 431 {
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  return 400;
}

export function answerClientError(err: Error & { code?: string }, socket: Duplex, metrics: Pick<Metrics, 'request'>): void {
  // A connection the client reset, or one already answered: nothing to say.
  const pending = (socket as { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  // A TLS failure (a handshake that timed out or failed) has no HTTP to answer in: the connection just closes, as
  // Node's default does and nginx does.
  const tlsFailure = err.code?.startsWith('ERR_TLS') === true || err.code?.startsWith('ERR_SSL') === true;
  if (err.code === 'ECONNRESET' || tlsFailure || !socket.writable || pending?.headersSent === true) {
    socket.destroy();
    return;
  }
  const status = clientErrorStatus(err.code);
  metrics.request('', status);
  rawAnswer(socket, status);
}

export function answerConnect(socket: Duplex, metrics: Pick<Metrics, 'request'>): void {
  socket.on('error', () => socket.destroy());
  metrics.request('', 400);
  rawAnswer(socket, 400);
}
