// Access logs: one JSON object per request, with the fields of ingress-nginx's default log_format (upstreaminfo)
// that an operator searches by. The shape is shared by every runtime; each writes it its own way (Node: pino with
// an asynchronous destination, runtime/node-access-log.ts; Deno and workerd: console.log, runtime/web.ts).

/** One request's line. Names follow nginx's variables where one exists (comment: the variable). */
export interface AccessEntry {
  /** When the request ended, ISO 8601 ($time_iso8601, with milliseconds). */
  time: string;
  /** The client, after trusted proxies and the PROXY protocol ($remote_addr with realip). */
  client: string;
  method: string;
  /** Host header or :authority as sent ($host, unnormalised). */
  host: string;
  /** The path, without the query ($uri before rewriting). */
  path: string;
  /** `HTTP/1.1`, `HTTP/2.0` ($server_protocol). */
  protocol: string;
  /** What the client got; 499 when it left before the response began (nginx's own code for that). */
  status: number;
  /** Bytes received from the client for this request ($request_length: see the README for what each runtime counts). */
  bytesIn: number;
  /** Bytes sent to the client ($bytes_sent, idem). */
  bytesOut: number;
  /** Milliseconds from the request's headers to the response's end ($request_time). */
  durationMs: number;
  /** `ADDRESS:PORT` of the last upstream attempt, null when no upstream was asked ($upstream_addr). */
  upstream: string | null;
  /** Its status, null without an answer ($upstream_status). */
  upstreamStatus: number | null;
  /** Milliseconds to its response headers ($upstream_header_time). */
  upstreamMs: number | null;
  /** The route (metrics label: namespace/ingress/host/path, or why there was none) ($proxy_upstream_name). */
  route: string;
  /** The X-Request-Id sent upstream, or the one made for the log ($req_id). */
  requestId: string;
  /** `TLSv1.3`, null on plain HTTP ($ssl_protocol). */
  tls: string | null;
  /** The TLS server name, null without one ($ssl_server_name). */
  sni: string | null;
}

export interface AccessLogSink {
  write(entry: AccessEntry): void;
  /** Writes out what is buffered (shutdown). */
  flush(): Promise<void>;
}

/** `--access-log-sample`: the fraction of requests logged, decided per request (nginx's `access_log ... if=`
 * with split_clients). 1: every request; 0 is `--access-log off`. */
export function sampler(fraction: number): () => boolean {
  if (fraction >= 1) return () => true;
  return () => Math.random() < fraction;
}
