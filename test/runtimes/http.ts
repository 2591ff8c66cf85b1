// The client of the runtime cases: node:http(s) on a fresh connection (global fetch would drop the Host
// header we set), raw body bytes (for gzip) and when the first and last body bytes arrived (streaming).
import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';

export interface Sent {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  bytes: Buffer;
  text: string;
  /** ms timestamps of the first body chunk and of the end of the body. */
  firstChunkAt: number;
  endAt: number;
  peerFingerprint: string | null;
}

export interface SendOptions {
  method?: string;
  host?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  servername?: string;
  /** A client certificate and its key (PEM), for HTTPS. */
  clientCertificate?: { certPem: string; keyPem: string };
}

export function send(url: string, o: SendOptions = {}): Promise<Sent> {
  const u = new URL(url);
  const isHttps = u.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (isHttps ? https : http).request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: o.method ?? 'GET',
        agent: false,
        headers: { ...(o.host !== undefined ? { host: o.host } : {}), ...o.headers },
        ...(isHttps ? { servername: o.servername ?? o.host?.replace(/:\d+$/, ''), rejectUnauthorized: false } : {}),
        ...(o.clientCertificate === undefined ? {} : { cert: o.clientCertificate.certPem, key: o.clientCertificate.keyPem }),
      },
      (res) => {
        const fp = isHttps ? ((res.socket as TLSSocket).getPeerCertificate().fingerprint256 ?? null) : null;
        const chunks: Buffer[] = [];
        let firstChunkAt = 0;
        res.on('data', (c: Buffer) => {
          if (firstChunkAt === 0) firstChunkAt = Date.now();
          chunks.push(c);
        });
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            bytes,
            text: bytes.toString(),
            firstChunkAt,
            endAt: Date.now(),
            peerFingerprint: fp,
          });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error(`no answer from ${url} within 30 s`)));
    req.on('error', reject);
    req.end(o.body);
  });
}
