// A small JSON REST client for the writes the agent makes (Ingress status, Events, its Lease), on the
// credentials of a KubeConfig. Plain JSON both ways: the generated client's serialiser turns timestamps
// into Date objects and back in ways the apiserver's MicroTime fields do not accept.
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { PorticoError } from '../../gateway/table/portico-error.ts';

export class KubeApiError extends PorticoError {
  constructor(
    readonly status: number,
    readonly method: string,
    readonly path: string,
    readonly body: string,
  ) {
    super(`${method} ${path}: HTTP ${status}${body ? `: ${body.slice(0, 300)}` : ''}`);
  }
  get code(): string {
    return `PORTICO_KUBE_${this.status}`;
  }
}

export class KubeRest {
  private readonly base: URL;
  /** Kept-alive connections for every request. client-node's applyToHTTPSOptions makes a new https.Agent per
   * call, i.e. a TLS handshake per request: after a bulk of new Ingresses, thousands of status and event writes
   * spent most of their time (and the apiserver's CPU) on handshakes. Node pools sockets by the TLS options of
   * each request (https.Agent getName: ca, cert, key, servername...), so credentials that change get new ones. */
  private readonly agent = new https.Agent({ keepAlive: true, maxSockets: 32 });
  constructor(
    private readonly kc: KubeConfig,
    private readonly timeoutMs = 10_000,
  ) {
    const cluster = kc.getCurrentCluster();
    if (cluster === null) throw new Error('kubeconfig has no current cluster');
    this.base = new URL(cluster.server);
  }

  async request<T>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
    contentType = 'application/json',
    timeoutMs = this.timeoutMs,
  ): Promise<T> {
    const opts: https.RequestOptions = {
      method,
      host: this.base.hostname,
      port: this.base.port || 443,
      path: this.base.pathname.replace(/\/$/, '') + path,
      headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': contentType }) },
    };
    await this.kc.applyToHTTPSOptions(opts);
    if (this.kc.getCurrentCluster()?.proxyUrl === undefined) opts.agent = this.agent; // through a proxy: its agent
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = https.request(opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if ((res.statusCode ?? 0) >= 300) return reject(new KubeApiError(res.statusCode ?? 0, method, path, text));
          try {
            resolve((text === '' ? {} : JSON.parse(text)) as T);
          } catch (err) {
            reject(err);
          }
        });
        res.on('error', reject);
      });
      // A deadline for the whole exchange, not only idle time: a leader must never wait past its lease.
      const timer = setTimeout(() => req.destroy(new Error(`${method} ${path}: timed out after ${timeoutMs} ms`)), timeoutMs);
      req.on('close', () => clearTimeout(timer));
      req.on('error', reject);
      req.end(payload);
    });
  }
}
