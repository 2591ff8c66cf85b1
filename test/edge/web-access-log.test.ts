// The Deno / workerd access log line: createWebGatewayApp with a fetch() that records what the upstream would have
// received, and a console sink that collects the lines.
import { describe, expect, it } from 'vitest';
import type { AccessEntry } from '../../gateway/access-log.ts';
import { LiveTable } from '../../gateway/live.ts';
import { Metrics } from '../../gateway/metrics.ts';
import { createWebGatewayApp } from '../../gateway/runtime/web.ts';
import { compile } from '../../sync/compile/index.ts';
import { app as backendObjects, cls, ingress, objects, prefix, rule } from '../support/builders.ts';

function gateway(sampled: boolean) {
  const live = new LiveTable();
  const r = compile(
    objects(cls(), backendObjects('web', ['10.0.0.7']), ingress('site', { rules: [rule('app.test', prefix('/', 'web'))] })),
  );
  live.swap(r.table, r.certificates, { basicAuth: r.basicAuth });
  const lines: AccessEntry[] = [];
  const upstream: string[] = [];
  const app = createWebGatewayApp({
    live,
    metrics: new Metrics(),
    ports: { http: 80, https: 443 },
    fetch: async (url, init) => {
      upstream.push(`${String(url)} ${new Headers(init?.headers).get('x-request-id')}`);
      return new Response('hello', { status: 201, headers: { 'content-length': '5' } });
    },
    decodesBodies: false,
    headersMs: 1_000,
    bodyMs: null,
    facts: (c) => ({
      host: c.req.header('host') ?? '',
      path: new URL(c.req.url).pathname,
      search: '',
      scheme: 'http',
      clientIp: '198.51.100.9',
      localPort: 80,
      tlsClient: null,
      header: (n) => c.req.header(n),
    }),
    accessLog: { sampled: () => sampled, write: (e) => lines.push(e) },
  });
  return { app, lines, upstream };
}

describe('Web runtimes: one access log line per sampled request', () => {
  it.each([
    { name: 'a routed request', host: 'app.test', status: 201, route: 'default/site app.test /', upstreamCalls: 1 },
    { name: "the gateway's own 404", host: 'nowhere.test', status: 404, route: '', upstreamCalls: 0 },
  ])('$name', async ({ host, status, route, upstreamCalls }) => {
    const g = gateway(true);
    const id = '00112233445566778899aabbccddeeff';
    const res = await g.app.fetch(new Request('http://gw/some/path?x=1', { headers: { host, 'x-request-id': id } }));
    await res.arrayBuffer();
    expect(res.status).toBe(status);
    expect(g.upstream).toHaveLength(upstreamCalls);
    if (upstreamCalls > 0) expect(g.upstream[0]).toContain(id);
    expect(g.lines).toHaveLength(1);
    const l = g.lines[0]!;
    expect(l).toMatchObject({ client: '198.51.100.9', method: 'GET', host, path: '/some/path', status, requestId: id });
    expect(l.route).toBe(route);
    if (status === 201) expect(l.bytesOut).toBe(5);
  });

  it('a request not sampled writes nothing and is still served', async () => {
    const g = gateway(false);
    const res = await g.app.fetch(new Request('http://gw/', { headers: { host: 'app.test' } }));
    expect(res.status).toBe(201);
    expect(g.lines).toEqual([]);
  });
});
