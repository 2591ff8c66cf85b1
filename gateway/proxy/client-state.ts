// Whether the client of a request is still there to be answered, on HTTP/1.1 and HTTP/2 alike. An HTTP/2
// compatibility response has no `destroyed` (node:http2 Http2ServerResponse is not a Writable): its stream tells.
// Checked right before each upstream dispatch, so a stream the client reset before the request was sent
// upstream (HEADERS and RST_STREAM in one packet, the rapid reset of CVE-2023-44487) is never sent at all.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { PorticoError } from '../table/portico-error.ts';

export function clientGone(incoming: IncomingMessage | Http2ServerRequest, outgoing: ServerResponse | Http2ServerResponse): boolean {
  if ('stream' in incoming) return incoming.stream.closed || incoming.stream.destroyed;
  return (outgoing as ServerResponse).destroyed;
}

/** The client left (or reset its stream) before the request was written upstream: it is dropped unsent. */
export class ClientGoneError extends PorticoError {
  readonly code = 'PORTICO_CLIENT_GONE';
  constructor() {
    super('the client closed the request before it was sent upstream');
  }
}
