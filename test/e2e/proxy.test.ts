// The proxy behaviour users expect, through the real Node adapter, real sockets and real backends on
// loopback addresses (127.0.0.x), with tables from the real compiler.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackend, type Backend, type EchoReply } from '../support/backends.ts';
import { startBlackhole, type Blackhole } from '../support/blackhole.ts';
import { json, request } from '../support/client.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ingress, objects, ourClass, service } from '../support/manifests.ts';

let backends: Backend[] = [];
let gw: TestGateway;
let hole: Blackhole;

const ep = (b: { address: string; port: number }) => ({ address: b.address, port: b.port });

beforeAll(async () => {
  // Ten backends on ten loopback addresses, same port, so one EndpointSlice port serves them all.
  const first = await startBackend('b0', '127.0.0.10');
  backends = [first];
  for (let i = 1; i < 10; i++) backends.push(await startBackend(`b${i}`, `127.0.0.${10 + i}`, first.port));
  hole = await startBlackhole('127.0.0.31');
  backends.push(await startBackend('rescue', '127.0.0.32', hole.port)); // same port as the black hole, other address
  gw = await startTestGateway(
    objects(
      ourClass(),
      service('one', [ep(backends[0]!)]),
      service('ten', backends.slice(0, 10).map(ep)),
      service('none', [{ ...ep(backends[1]!), ready: false }]),
      // 127.0.0.30 has no listener on that port: connecting to it is refused.
      service('flaky', [{ address: '127.0.0.30', port: backends[0]!.port }, ep(backends[2]!)]),
      // Connects to the black hole hang until the connect timeout.
      service('hangs-then-ok', [ep(hole), ep(backends[10]!)]),
      service('hangs', [ep(hole)]),
      ingress('app', {
        host: 'app.test',
        paths: [
          { path: '/', service: 'one' },
          { path: '/rr', service: 'ten' },
          { path: '/down', service: 'none' },
          { path: '/flaky', service: 'flaky' },
        ],
      }),
      ingress('timeouts', {
        host: 'timeouts.test',
        paths: [
          { path: '/hangs', service: 'hangs' },
          { path: '/hangs-then-ok', service: 'hangs-then-ok' },
        ],
      }),
    ),
    { headersMs: 500, connectMs: 300 },
  );
});

afterAll(async () => {
  hole?.close();
  await gw?.close();
  await Promise.all(backends.map((b) => b.close()));
});

describe('forwarding', () => {
  it('preserves Host and adds X-Forwarded-* and X-Request-Id', async () => {
    const r = await request(`${gw.httpUrl}/hello?x=1`, {
      host: 'app.test:8080',
      headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https' },
    });
    expect(r.status).toBe(200);
    const e = json<EchoReply>(r);
    expect(e.backend).toBe('b0');
    expect(e.url).toBe('/hello?x=1');
    expect(e.headers.host).toBe('app.test:8080');
    expect(e.headers['x-forwarded-for']).toBe('127.0.0.1'); // the client's claim is not trusted at the edge
    expect(e.headers['x-real-ip']).toBe('127.0.0.1');
    expect(e.headers['x-forwarded-proto']).toBe('http');
    expect(e.headers['x-forwarded-host']).toBe('app.test:8080');
    expect(e.headers['x-forwarded-port']).toBe(String(gw.gw.http!.port));
    expect(e.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('keeps a well-formed client X-Request-Id and replaces a malformed one', async () => {
    const kept = json<EchoReply>(await request(`${gw.httpUrl}/`, { host: 'app.test', headers: { 'x-request-id': 'trace-123' } }));
    expect(kept.headers['x-request-id']).toBe('trace-123');
    const replaced = json<EchoReply>(
      await request(`${gw.httpUrl}/`, { host: 'app.test', headers: { 'x-request-id': 'bad id with spaces' } }),
    );
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('strips hop-by-hop headers in both directions', async () => {
    const r = await request(`${gw.httpUrl}/`, {
      host: 'app.test',
      headers: {
        connection: 'keep-alive, x-secret',
        'x-secret': 'hop',
        'keep-alive': 'timeout=1',
        te: 'trailers',
        'proxy-connection': 'x',
        'x-end-to-end': 'yes',
      },
    });
    const e = json<EchoReply>(r);
    for (const h of ['x-secret', 'keep-alive', 'te', 'proxy-connection']) expect(e.headers[h], h).toBeUndefined();
    expect(e.headers['x-end-to-end']).toBe('yes');
    expect(r.headers['keep-alive']).not.toBe('timeout=5'); // the upstream's value; Node may add its own for our hop
    expect(r.headers['x-hop']).toBeUndefined(); // listed in the upstream's Connection header
    expect(r.headers['set-cookie']).toEqual(['a=1', 'b=2']); // repeated end-to-end headers survive
    expect(r.headers['x-backend']).toBe('b0');
  });

  it('passes methods and bodies through unchanged', async () => {
    const body = `${'x'.repeat(3 * 1024 * 1024)}end`;
    const r = await request(`${gw.httpUrl}/post`, { method: 'POST', host: 'app.test', body, headers: { 'content-type': 'text/plain' } });
    const e = json<EchoReply>(r);
    expect(e.method).toBe('POST');
    expect(e.body.length).toBe(body.length);
    expect(e.body.endsWith('end')).toBe(true);
  });

  it('answers HEAD without a body', async () => {
    const r = await request(`${gw.httpUrl}/`, { method: 'HEAD', host: 'app.test' });
    expect(r.status).toBe(200);
    expect(r.body).toBe('');
  });

  it('passes upstream status codes through', async () => {
    expect((await request(`${gw.httpUrl}/status/418`, { host: 'app.test' })).status).toBe(418);
    expect((await request(`${gw.httpUrl}/status/500`, { host: 'app.test' })).status).toBe(500);
  });
});

describe("the gateway's own answers", () => {
  it('request heads over 32 KiB are refused with 431 before routing (--max-request-head)', async () => {
    const before = backends.reduce((n, b) => n + b.requests, 0);
    const big = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-big-${i}`, 'a'.repeat(7 * 1024)]));
    const r = await request(`${gw.httpUrl}/`, { host: 'app.test', headers: big(5) });
    expect(r.status).toBe(431);
    expect(backends.reduce((n, b) => n + b.requests, 0)).toBe(before);
    // (the echo backend itself keeps Node's 16 KiB limit)
    expect((await request(`${gw.httpUrl}/`, { host: 'app.test', headers: big(2) })).status).toBe(200);
  });

  const checkHeaders = (r: Awaited<ReturnType<typeof request>>, body: string) => {
    expect(r.body).toBe(body);
    expect(r.headers.server).toBe('portico');
    expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(r.headers['content-length']).toBe(String(body.length));
    expect(Date.parse(r.headers.date ?? '')).not.toBeNaN();
  };
  it('404 for an unmatched host', async () => {
    const r = await request(`${gw.httpUrl}/`, { host: 'unknown.test' });
    expect(r.status).toBe(404);
    checkHeaders(r, '404 Not Found\n');
  });
  it('503 when the matched backend has no ready endpoint', async () => {
    const r = await request(`${gw.httpUrl}/down`, { host: 'app.test' });
    expect(r.status).toBe(503);
    checkHeaders(r, '503 Service Unavailable\n');
  });
  it('502 when no endpoint accepts the connection within the connect timeout', async () => {
    const started = Date.now();
    const r = await request(`${gw.httpUrl}/hangs`, { host: 'timeouts.test' });
    expect(r.status).toBe(502);
    checkHeaders(r, '502 Bad Gateway\n');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });
  it('504 when the upstream does not answer within the read timeout', async () => {
    const r = await request(`${gw.httpUrl}/slow?ms=2000`, { host: 'app.test' });
    expect(r.status).toBe(504);
    checkHeaders(r, '504 Gateway Timeout\n');
  });
});

describe('load balancing and upstream connections', () => {
  it('round-robin: 100 requests on new connections reach all 10 endpoints', async () => {
    const seen = new Map<string, number>();
    for (let i = 0; i < 100; i++) {
      const e = json<EchoReply>(await request(`${gw.httpUrl}/rr`, { host: 'app.test' }));
      seen.set(e.backend, (seen.get(e.backend) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual(
      backends
        .slice(0, 10)
        .map((b) => b.name)
        .sort(),
    );
    expect(Math.min(...seen.values())).toBe(10);
  });

  it('a refused connect moves on to the next endpoint', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => request(`${gw.httpUrl}/flaky`, { host: 'app.test' })));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(new Set(results.map((r) => json<EchoReply>(r).backend))).toEqual(new Set(['b2']));
  });

  it('a connect timeout moves on to the next endpoint', async () => {
    const results = await Promise.all(Array.from({ length: 4 }, () => request(`${gw.httpUrl}/hangs-then-ok`, { host: 'timeouts.test' })));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(new Set(results.map((r) => json<EchoReply>(r).backend))).toEqual(new Set(['rescue']));
  });

  it('reuses upstream keep-alive connections', async () => {
    const before = backends[0]!.connections;
    for (let i = 0; i < 50; i++) await request(`${gw.httpUrl}/`, { host: 'app.test' });
    expect(backends[0]!.connections - before).toBeLessThanOrEqual(2);
  });
});

describe('streaming', () => {
  it('streams the response: the first chunk arrives before the backend has sent the last', async () => {
    // Each line the backend writes carries the time it was written (`chunk <i> <ms>`), on the same clock
    // as ours. A gateway that buffers cannot hand over the first line before the last one exists; one that
    // streams does so 1.2 s earlier here, so a busy machine only widens the gap instead of closing it.
    const arrivals: { at: number; text: string }[] = [];
    await new Promise<void>((resolve, reject) => {
      http
        .get(
          { host: '127.0.0.1', port: gw.gw.http!.port, path: '/stream?chunks=5&ms=300', headers: { host: 'app.test' }, agent: false },
          (res) => {
            res.setEncoding('utf8');
            res.on('data', (c: string) => arrivals.push({ at: Date.now(), text: c }));
            res.on('end', () => resolve());
          },
        )
        .on('error', reject);
    });
    const lines = arrivals
      .map((a) => a.text)
      .join('')
      .trim()
      .split('\n');
    expect(lines.map((l) => l.split(' ')[1])).toEqual(['0', '1', '2', '3', '4']);
    const lastWrittenAt = Number(lines.at(-1)!.split(' ')[2]);
    expect(arrivals[0]!.text).not.toContain('chunk 4 ');
    expect(arrivals[0]!.at).toBeLessThan(lastWrittenAt);
  });

  // Bodies up to --client-body-buffer-size (64 KiB by default) are read whole before dialling (client-body.test.ts);
  // a larger one streams from the moment it outgrows the buffer.
  it('streams a request body larger than the client body buffer: the backend sees the first bytes before the client finishes', async () => {
    const reply = await new Promise<{ bytes: number; firstChunkAt: number; endAt: number }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: gw.gw.http!.port,
          path: '/upload',
          method: 'POST',
          headers: { host: 'app.test', 'transfer-encoding': 'chunked' },
          agent: false,
        },
        (res) => {
          let b = '';
          res.on('data', (c) => (b += c));
          res.on('end', () => resolve(JSON.parse(b)));
        },
      );
      req.on('error', reject);
      let n = 0;
      const tick = () => {
        req.write('y'.repeat(n === 0 ? 70_000 : 1000));
        if (++n < 4) setTimeout(tick, 300);
        else req.end();
      };
      tick();
    });
    expect(reply.bytes).toBe(73_000);
    expect(reply.endAt - reply.firstChunkAt).toBeGreaterThanOrEqual(700);
  });
});
