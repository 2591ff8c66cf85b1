// Per-route upstream timeouts, body limit and retries (proxy-connect-timeout, proxy-read-timeout,
// proxy-send-timeout, proxy-body-size, proxy-next-upstream*), through the real Node adapter with real slow,
// silent and failing backends on loopback addresses and tables from the real compiler. Named after ingress-nginx's
// test/e2e/annotations/proxy.go and clientbodybuffersize.go; the gateway's own flags are longer than every route's
// setting, so each test shows the route's value is the one applied.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackend, type Backend, type EchoReply } from '../support/backends.ts';
import { startBlackhole, type Blackhole } from '../support/blackhole.ts';
import { json, request } from '../support/client.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ingress, objects, ourClass, service } from '../support/manifests.ts';

const N = 'nginx.ingress.kubernetes.io/';
let ok: Backend;
let sick: http.Server;
let sickRequests = 0;
let mute: net.Server;
const muted: net.Socket[] = [];
let hole: Blackhole;
let gw: TestGateway;

const ep = (b: { address: string; port: number }) => ({ address: b.address, port: b.port });
const listen = (s: net.Server, address: string, port: number): Promise<number> =>
  new Promise((resolve) => s.listen(port, address, () => resolve((s.address() as AddressInfo).port)));

beforeAll(async () => {
  ok = await startBackend('ok', '127.0.0.41');
  // Answers every request 503 (and reads it whole first), on the same port as `ok`: one service holds both.
  sick = http.createServer((req, res) => {
    sickRequests++;
    req.resume();
    req.on('end', () => res.writeHead(503, { 'x-backend': 'sick' }).end('sick\n'));
  });
  await listen(sick, '127.0.0.42', ok.port);
  hole = await startBlackhole('127.0.0.43');
  // Accepts connections and never reads them: a request body stops flowing once the socket buffers are full.
  mute = net.createServer((s) => {
    s.pause();
    muted.push(s);
  });
  const mutePort = await listen(mute, '127.0.0.44', 0);
  gw = await startTestGateway(
    objects(
      ourClass(),
      service('ok', [ep(ok)]),
      service('sick-then-ok', [{ address: '127.0.0.42', port: ok.port }, ep(ok)]),
      // 127.0.0.45 has no listener: connecting is refused.
      service('refused-then-ok', [{ address: '127.0.0.45', port: ok.port }, ep(ok)]),
      service('hangs', [ep(hole)]),
      service('mute', [{ address: '127.0.0.44', port: mutePort }]),
      ingress('plain', { host: 'plain.test', paths: [{ path: '/', service: 'ok' }] }),
      ingress('read', { host: 'read.test', paths: [{ path: '/', service: 'ok' }], annotations: { [`${N}proxy-read-timeout`]: '1' } }),
      ingress('connect', {
        host: 'connect.test',
        paths: [{ path: '/', service: 'hangs' }],
        annotations: { [`${N}proxy-connect-timeout`]: '1' },
      }),
      ingress('body', { host: 'body.test', paths: [{ path: '/', service: 'ok' }], annotations: { [`${N}proxy-body-size`]: '1k' } }),
      ingress('send', { host: 'send.test', paths: [{ path: '/', service: 'mute' }], annotations: { [`${N}proxy-send-timeout`]: '1' } }),
      ingress('retry', {
        host: 'retry.test',
        paths: [{ path: '/', service: 'sick-then-ok' }],
        annotations: { [`${N}proxy-next-upstream`]: 'http_503' },
      }),
      ingress('retry-any', {
        host: 'retry-any.test',
        paths: [{ path: '/', service: 'sick-then-ok' }],
        annotations: { [`${N}proxy-next-upstream`]: 'http_503 non_idempotent' },
      }),
      ingress('no-retry', { host: 'no-retry.test', paths: [{ path: '/', service: 'sick-then-ok' }] }),
      ingress('flaky', { host: 'flaky.test', paths: [{ path: '/', service: 'refused-then-ok' }] }),
      ingress('one-try', {
        host: 'one-try.test',
        paths: [{ path: '/', service: 'refused-then-ok' }],
        annotations: { [`${N}proxy-next-upstream-tries`]: '1' },
      }),
      ingress('off', {
        host: 'off.test',
        paths: [{ path: '/', service: 'refused-then-ok' }],
        annotations: { [`${N}proxy-next-upstream`]: 'off' },
      }),
    ),
    { connectMs: 4_000, headersMs: 4_000, bodyMs: 4_000 },
  );
});

afterAll(async () => {
  hole?.close();
  for (const s of muted) s.destroy();
  await new Promise((r) => mute?.close(r));
  await new Promise((r) => sick?.close(r));
  await gw?.close();
  await ok?.close();
});

/** Status of each of `n` requests (a new connection each, so round robin moves on between them). */
async function statuses(host: string, n: number, o: { method?: string; path?: string } = {}): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await request(`${gw.httpUrl}${o.path ?? '/'}`, { host, method: o.method ?? 'GET' })).status);
  return out;
}

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await f();
  return [r, performance.now() - t];
}

describe('timeouts (proxy.go "should set valid proxy timeouts")', () => {
  it('proxy-read-timeout "1": a backend silent for 3 s gets 504 after about a second (the gateway flag is 4 s)', async () => {
    const [r, ms] = await timed(() => request(`${gw.httpUrl}/slow?ms=3000`, { host: 'read.test' }));
    expect(r.status).toBe(504);
    // undici checks its timeouts on a coarse tick: "about a second" is up to half a second more.
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(2_500);
  });
  it('a route without it waits for the same backend (the gateway flag applies)', async () => {
    const r = await request(`${gw.httpUrl}/slow?ms=1500`, { host: 'plain.test' });
    expect(r.status).toBe(200);
  });
  it('proxy-read-timeout covers the body too: a stream pausing 1.5 s between chunks is cut off', async () => {
    const r = await request(`${gw.httpUrl}/stream?chunks=3&ms=1500`, { host: 'read.test' }).catch((e: Error) => e);
    // The head was sent: the client sees a broken response, not a complete one.
    expect(r instanceof Error || !r.body.includes('chunk 2')).toBe(true);
  });
  it('proxy-connect-timeout "1": a connect that hangs fails after about a second (the flag is 4 s)', async () => {
    const [r, ms] = await timed(() => request(`${gw.httpUrl}/`, { host: 'connect.test' }));
    expect(r.status).toBe(502);
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(2_500);
  });
  it('proxy-send-timeout "1": an upstream that stops reading the body gets 504 after about a second', async () => {
    const body = Buffer.alloc(48 * 1024 * 1024, 120); // more than the loopback socket buffers take
    const [r, ms] = await timed(() => request(`${gw.httpUrl}/upload`, { host: 'send.test', method: 'POST', body }).catch((e: Error) => e));
    // The gateway answers 504 once the upstream took nothing for a second; the client, still sending, may see
    // the answer or the connection closing under it. Either way well before the 4 s flags.
    if (!(r instanceof Error)) expect(r.status).toBe(504);
    expect(ms).toBeLessThan(3_500);
  });
});

describe('body size (proxy.go "should set proxy client-max-body-size", docs "Custom max body size")', () => {
  it('a declared Content-Length over proxy-body-size "1k" gets 413 and the backend never sees the request', async () => {
    const before = ok.requests;
    const r = await request(`${gw.httpUrl}/upload`, { host: 'body.test', method: 'POST', body: Buffer.alloc(1025, 97) });
    expect(r.status).toBe(413);
    expect(r.body).toBe('413 Request Entity Too Large\n');
    expect(ok.requests).toBe(before);
  });
  it('a body of exactly the limit passes whole', async () => {
    const r = await request(`${gw.httpUrl}/upload`, { host: 'body.test', method: 'POST', body: Buffer.alloc(1024, 97) });
    expect(r.status).toBe(200);
    expect(json<{ bytes: number }>(r).bytes).toBe(1024);
  });
  it('a chunked body (no length up front) over the limit gets 413 and the upstream never gets a whole request', async () => {
    const r = await request(`${gw.httpUrl}/upload`, {
      host: 'body.test',
      method: 'POST',
      headers: { 'transfer-encoding': 'chunked' },
      body: Buffer.alloc(64 * 1024, 97),
    });
    expect(r.status).toBe(413);
  });
  it('a route without the annotation takes the same body', async () => {
    const r = await request(`${gw.httpUrl}/upload`, { host: 'plain.test', method: 'POST', body: Buffer.alloc(64 * 1024, 97) });
    expect(r.status).toBe(200);
  });
});

describe('next upstream (proxy.go "should build proxy next upstream")', () => {
  it('proxy-next-upstream "http_503": the 503 is dropped and the next endpoint answers, every time', async () => {
    const before = sickRequests;
    expect(await statuses('retry.test', 6)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(sickRequests).toBeGreaterThan(before); // the sick endpoint was asked, and its answer dropped
  });
  it('without it the 503 reaches the client (round robin lands on the sick endpoint)', async () => {
    expect(await statuses('no-retry.test', 4)).toContain(503);
  });
  it("a POST's 503 is passed on: not idempotent and non_idempotent not listed", async () => {
    expect(await statuses('retry.test', 4, { method: 'POST' })).toContain(503);
  });
  it('with non_idempotent a POST without a body is asked again', async () => {
    expect(await statuses('retry-any.test', 4, { method: 'POST' })).toEqual([200, 200, 200, 200]);
  });
  it('proxy-next-upstream-tries "1": a refused connect is not moved on (502), where the default rule moves on', async () => {
    expect(await statuses('one-try.test', 4)).toContain(502);
    expect(await statuses('flaky.test', 4)).toEqual([200, 200, 200, 200]);
  });
  it('proxy-next-upstream "off": a refused connect is answered 502', async () => {
    expect(await statuses('off.test', 4)).toContain(502);
  });
  it('the echo reaches the backend unchanged through a retried route', async () => {
    const r = await request(`${gw.httpUrl}/x?y=1`, { host: 'retry.test' });
    expect(json<EchoReply>(r).url).toBe('/x?y=1');
  });
});
