// An in-process gateway (the real Node adapter on real loopback sockets) fed by the real compiler.
import type { TrustConfig } from '../../gateway/access/client-address.ts';
import { LiveTable } from '../../gateway/live.ts';
import { Metrics } from '../../gateway/metrics.ts';
import type { UpstreamTimeouts } from '../../gateway/proxy/pools.ts';
import { startNodeGateway, type NodeGateway, type NodeGatewayOptions } from '../../gateway/runtime/node.ts';
import { compile } from '../../sync/compile/index.ts';
import type { ClusterObjects, CompileOptions, CompileResult } from '../../sync/compile/types.ts';

export interface TestGateway {
  live: LiveTable;
  metrics: Metrics;
  gw: NodeGateway;
  httpUrl: string;
  httpsPort: number;
  /** Compiles and swaps in new objects (with the agent's options, such as --global-allowed-response-headers); returns
   * the compile result for diagnostics checks. */
  apply(objs: ClusterObjects, options?: Partial<CompileOptions>): CompileResult;
  close(): Promise<void>;
}

export async function startTestGateway(
  objs: ClusterObjects,
  timeouts?: Partial<UpstreamTimeouts>,
  defaultCertificate?: { certPem: string; keyPem: string },
  trust?: TrustConfig,
  /** Both listeners require a PROXY protocol header from `trust` (runtime/node-proxy-protocol.ts). */
  proxyProtocol?: { headerTimeoutMs?: number },
  /** Any other option of the Node adapter (ssl-passthrough limits, a tunnel address). */
  extra: Partial<NodeGatewayOptions> = {},
): Promise<TestGateway> {
  const live = new LiveTable();
  const metrics = new Metrics();
  const apply = (o: ClusterObjects, options?: Partial<CompileOptions>): CompileResult => {
    const r = compile(o, options);
    live.swap(r.table, r.certificates, { basicAuth: r.basicAuth });
    return r;
  };
  apply(objs);
  const gw = await startNodeGateway({
    live,
    metrics,
    http: { host: '127.0.0.1', port: 0 },
    https: { host: '127.0.0.1', port: 0 },
    timeouts: { connectMs: 2_000, headersMs: 10_000, bodyMs: 10_000, ...timeouts },
    ...(defaultCertificate ? { defaultCertificate } : {}),
    ...(trust ? { trust } : {}),
    ...(proxyProtocol ? { proxyProtocol } : {}),
    ...extra,
  });
  // The https port is only known after listening; redirects use the listener's configured port, so tests
  // that check redirect Locations read `httpsPort` and compare with the Location they get.
  return {
    live,
    metrics,
    gw,
    apply,
    httpUrl: `http://127.0.0.1:${gw.http!.port}`,
    httpsPort: gw.https!.port,
    close: () => gw.close(),
  };
}
