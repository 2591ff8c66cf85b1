// A plain HTTP(S) client for tests (node:http; global fetch would drop the Host header we set).
import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
  /** SHA-256 fingerprint of the certificate the server presented (HTTPS only). */
  peerFingerprint?: string;
}

export interface RequestOptions {
  method?: string;
  host?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  /** A new connection per request (default true), so requests do not share keep-alive state. */
  fresh?: boolean;
  servername?: string;
  agent?: http.Agent;
  /** The client's own address (a loopback address other than 127.0.0.1, for source-address rules). */
  localAddress?: string;
  /** A client certificate (PEM, with any intermediates after it) and its key, for HTTPS. */
  clientCertificate?: { certPem: string; keyPem: string };
}

export function request(url: string, o: RequestOptions = {}): Promise<Reply> {
  const u = new URL(url);
  const isHttps = u.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (isHttps ? https : http).request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: o.method ?? 'GET',
        headers: { ...(o.host ? { host: o.host } : {}), ...o.headers },
        agent: o.agent ?? (o.fresh === false ? undefined : false),
        ...(o.localAddress === undefined ? {} : { localAddress: o.localAddress }),
        ...(isHttps ? { servername: o.servername ?? o.host?.replace(/:\d+$/, ''), rejectUnauthorized: false } : {}),
        ...(o.clientCertificate === undefined ? {} : { cert: o.clientCertificate.certPem, key: o.clientCertificate.keyPem }),
      },
      (res) => {
        const fingerprint = isHttps ? (res.socket as TLSSocket).getPeerCertificate().fingerprint256 : undefined;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body: Buffer.concat(chunks).toString(),
            ...(fingerprint !== undefined ? { peerFingerprint: fingerprint } : {}),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

export const json = <T>(r: Reply): T => JSON.parse(r.body) as T;
