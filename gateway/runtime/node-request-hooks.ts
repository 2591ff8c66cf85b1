// What the Node listeners do for every request before Hono sees it: `Connection: close` while draining
// (node-drain.ts) and the access log record (node-access-log.ts). One wrapper, so node.ts builds its listeners
// the same way with or without either.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { AccessLogSink } from '../access-log.ts';
import { AccessRecord } from './node-access-log.ts';
import type { Drain } from './node-drain.ts';

type Listener = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => unknown;

export interface AccessLogging {
  sink: AccessLogSink;
  /** Whether this request is logged (`--access-log-sample`). */
  sampled(): boolean;
}

export function hookedListener(handle: Listener, drain: Drain, access: AccessLogging | null): Listener {
  if (access === null)
    return (req, res) => {
      if (drain.draining) drain.markResponse(res);
      return handle(req, res);
    };
  return (req, res) => {
    if (drain.draining) drain.markResponse(res);
    if (access.sampled()) new AccessRecord(access.sink, req, res);
    return handle(req, res);
  };
}
