// The bound on a client that stops reading an answer: nginx's send_timeout ("a timeout for transmitting a response
// to the client ... only between two successive write operations", 60 s by default), set per worker with
// `--send-timeout`. Past it the response is given up and the upstream request with it, so a client that reads
// nothing cannot hold an upstream connection (and the pool's slot) for ever. It is not proxy-send-timeout, which
// bounds the request sent to the upstream (body-limit.ts): a route's upstream timeouts never cut a slow reader.
import { PorticoError } from '../table/portico-error.ts';

export const CLIENT_SEND_MS = 60_000;

/** The client took none of a streamed answer for longer than the send bound: the upstream request is given up. */
export class ClientSendTimeoutError extends PorticoError {
  readonly code = 'PORTICO_CLIENT_SEND_TIMEOUT';
  constructor(readonly ms: number) {
    super(`the client took no response body data for ${ms} ms`);
  }
}
