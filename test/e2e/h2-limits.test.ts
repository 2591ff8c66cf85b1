// HTTP/2 limits end to end, with the exact frames: hand-written HEADERS, DATA and RST_STREAM on a TLS socket
// (test/support/h2-frames.ts) and node:http2 client sessions, through the real Node gateway to a real loopback
// backend that records what it received (test/support/recording-backend.ts). Each case checks what the client
// saw and what the upstream saw: a request the edge refuses never reaches the upstream as a complete request.
import http2 from 'node:http2';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRecordingBackend, type RecordingBackend } from '../support/recording-backend.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startLocal } from '../support/process.ts';
import { ingress, objects, ourClass, service } from '../support/manifests.ts';
import {
  connectRawH2,
  data,
  ERROR,
  errorCode,
  FRAME,
  headers,
  rstStream,
  SETTINGS_MAX_CONCURRENT_STREAMS,
  type RawH2,
} from '../support/h2-frames.ts';

let backend: RecordingBackend;
/** Default limits (as `portico local` starts with none given). */
let gw: TestGateway;
/** At most 8 upstream connections per endpoint. */
let capped: TestGateway;
/** One upstream connection per endpoint and a 300 ms queue. */
let queued: TestGateway;

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  backend = await startRecordingBackend('127.0.0.1');
  const objs = objects(
    ourClass(),
    service('rec', [{ address: backend.address, port: backend.port }]),
    ingress('h2', { host: 'h2.test', paths: [{ path: '/', service: 'rec' }] }),
    ingress('other', { host: 'other.test', paths: [{ path: '/', service: 'rec' }] }),
  );
  gw = await startTestGateway(objs);
  capped = await startTestGateway(objs, {}, undefined, undefined, undefined, {
    upstreamPool: { maxConnections: 8, queueTimeoutMs: 5_000 },
  });
  queued = await startTestGateway(objs, {}, undefined, undefined, undefined, { upstreamPool: { maxConnections: 1, queueTimeoutMs: 300 } });
});

afterAll(async () => {
  await Promise.all([gw?.close(), capped?.close(), queued?.close()]);
  await backend?.close();
});

const get = (path: string): [string, string][] => [
  [':method', 'GET'],
  [':scheme', 'https'],
  [':authority', 'h2.test'],
  [':path', path],
];

/** Waits until the backend stops receiving (nothing new for `quietMs`), then returns what it received since `from`. */
async function settled(from: number, quietMs = 300) {
  let n = -1;
  while (n !== backend.received.length) {
    n = backend.received.length;
    await wait(quietMs);
  }
  return backend.received.slice(from);
}

/** One request on a node:http2 client session: status and body. */
function h2Request(port: number, head: http2.OutgoingHttpHeaders, body?: string): Promise<{ status: number; body: string }> {
  const client = http2.connect(`https://127.0.0.1:${port}`, { servername: 'h2.test', rejectUnauthorized: false });
  client.on('error', () => {});
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = client.request(head);
    let status = 0;
    let text = '';
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => resolve({ status, body: text }));
    req.on('error', reject);
    req.end(body);
  }).finally(() => client.close());
}

describe('SETTINGS_MAX_CONCURRENT_STREAMS (nginx http2_max_concurrent_streams)', () => {
  /** Opens `n` slow streams in one write; resolves with the responses completed and whether the connection closed. */
  async function burst(n: number): Promise<{ announced: number | undefined; answered: number; closed: boolean; upstream: number }> {
    const from = backend.received.length;
    const c = await connectRawH2(gw.httpsPort);
    try {
      await c.waitFor((f) => f.type === FRAME.SETTINGS);
      const b: Buffer[] = [];
      for (let i = 0; i < n; i++) b.push(headers(1 + 2 * i, get(`/slow?ms=300&i=${i}`), true));
      c.write(Buffer.concat(b));
      const closed = await Promise.race([c.closed.then(() => true), wait(1_500).then(() => false)]);
      const answered = c.frames.filter((f) => f.type === FRAME.DATA && (f.flags & 1) === 1).length;
      return { announced: c.settings.get(SETTINGS_MAX_CONCURRENT_STREAMS), answered, closed, upstream: (await settled(from)).length };
    } finally {
      c.close();
    }
  }
  it('128 is announced by default, and 128 streams at once are all served', async () => {
    expect(await burst(128)).toEqual({ announced: 128, answered: 128, closed: false, upstream: 128 });
  });
  it('a client that opens more than announced loses the connection (nghttp2: PROTOCOL_ERROR, RFC 9113 §5.1.2)', async () => {
    const r = await burst(200);
    expect(r.closed).toBe(true);
    expect(r.answered).toBe(0);
    expect(r.upstream).toBeLessThanOrEqual(128);
  });
});

describe('rapid reset (CVE-2023-44487)', () => {
  it('HEADERS + RST_STREAM repeated: GOAWAY ENHANCE_YOUR_CALM, at most 1 upstream request per 100 streams', async () => {
    const from = backend.received.length;
    const c = await connectRawH2(gw.httpsPort);
    try {
      await c.waitFor((f) => f.type === FRAME.SETTINGS);
      const streams = 2_000;
      for (let batch = 0; batch < streams; batch += 100) {
        const b: Buffer[] = [];
        for (let i = batch; i < batch + 100; i++)
          b.push(headers(1 + 2 * i, get(`/slow?ms=1000&i=${i}`), true), rstStream(1 + 2 * i, ERROR.CANCEL));
        c.write(Buffer.concat(b));
        await wait(5);
      }
      const goaway = await c.waitFor((f) => f.type === FRAME.GOAWAY);
      expect(goaway).not.toBeNull();
      expect(errorCode(goaway!)).toBe(ERROR.ENHANCE_YOUR_CALM);
      await c.closed;
    } finally {
      c.close();
    }
    const got = await settled(from);
    expect(got.length).toBeLessThanOrEqual(2_000 / 100);
  });

  it('a stream reset in the packet that opened it is never dispatched upstream', async () => {
    const from = backend.received.length;
    const c = await connectRawH2(gw.httpsPort);
    try {
      await c.waitFor((f) => f.type === FRAME.SETTINGS);
      const b: Buffer[] = [];
      for (let i = 0; i < 20; i++) b.push(headers(1 + 2 * i, get(`/reset-${i}`), true), rstStream(1 + 2 * i, ERROR.CANCEL));
      c.write(Buffer.concat(b));
      await wait(500);
    } finally {
      c.close();
    }
    expect(await settled(from)).toEqual([]);
  });
});

describe('upstream connections per endpoint (--upstream-max-connections)', () => {
  it('1,000 HEADERS on 8 connections to a slow route open at most the pool cap upstream, and all are answered', async () => {
    const before = backend.connections;
    const clients = await Promise.all(Array.from({ length: 8 }, () => connectRawH2(capped.httpsPort)));
    try {
      for (const c of clients) {
        await c.waitFor((f) => f.type === FRAME.SETTINGS);
        const b: Buffer[] = [];
        for (let i = 0; i < 125; i++) b.push(headers(1 + 2 * i, get(`/slow?ms=20&i=${i}`), true));
        c.write(Buffer.concat(b));
      }
      const answered = await Promise.all(
        clients.map(async (c) => {
          for (let i = 0; i < 200; i++) {
            const ends = c.frames.filter((f) => f.type === FRAME.DATA && (f.flags & 1) === 1).length;
            if (ends === 125) return ends;
            await wait(50);
          }
          return c.frames.filter((f) => f.type === FRAME.DATA && (f.flags & 1) === 1).length;
        }),
      );
      expect(answered).toEqual(Array(8).fill(125));
      expect(backend.connections - before).toBeLessThanOrEqual(8);
    } finally {
      for (const c of clients) c.close();
    }
  });

  it('a request waiting longer than --upstream-queue-timeout gets 503 and never reaches the upstream', async () => {
    const from = backend.received.length;
    const slow = h2Request(queued.httpsPort, { ':path': '/slow?ms=1200', ':authority': 'h2.test' });
    await wait(100);
    const t0 = Date.now();
    const waiting = await h2Request(queued.httpsPort, { ':path': '/queued', ':authority': 'h2.test' });
    expect(waiting.status).toBe(503);
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect((await slow).status).toBe(200);
    const got = await settled(from);
    expect(got.map((r) => r.url)).toEqual(['/slow?ms=1200']);
  });
});

describe('content-length and DATA disagree (RFC 9113 §8.1.1: malformed, stream error PROTOCOL_ERROR)', () => {
  const post = (path: string, length: number | null): [string, string][] => [
    [':method', 'POST'],
    [':scheme', 'https'],
    [':authority', 'h2.test'],
    [':path', path],
    ...(length === null ? [] : [['content-length', String(length)] as [string, string]]),
  ];
  /** Each packet: DATA frames (the last of the last packet with END_STREAM), or a RST_STREAM CANCEL. */
  const cases: { name: string; length: number | null; packets: (Buffer[] | 'reset')[]; refused: boolean }[] = [
    { name: 'consistent (control)', length: 5, packets: [[Buffer.from('hello')]], refused: false },
    { name: 'over-length in one packet', length: 5, packets: [[Buffer.from('0123456789')]], refused: true },
    { name: 'under-length in one packet', length: 10, packets: [[Buffer.from('01234')]], refused: true },
    {
      name: 'declared length sent, then more DATA later',
      length: 5,
      packets: [[Buffer.from('01234')], [Buffer.from('56789')]],
      refused: true,
    },
    { name: 'two DATA frames over the length', length: 6, packets: [[Buffer.from('012'), Buffer.from('3456789')]], refused: true },
    { name: 'no content-length, consistent (control)', length: null, packets: [[Buffer.from('hel'), Buffer.from('lo')]], refused: false },
    {
      name: 'no content-length, reset mid-body (safe before too: guards the body wrapper)',
      length: null,
      packets: [[Buffer.from('01234')], 'reset'],
      refused: true,
    },
    { name: 'declared length sent, then reset', length: 5, packets: [[Buffer.from('01234')], 'reset'], refused: true },
  ];
  for (const k of cases)
    it(k.name, async () => {
      const from = backend.received.length;
      const path = `/cl-${k.name.replace(/\W+/g, '-')}`;
      const c: RawH2 = await connectRawH2(gw.httpsPort);
      try {
        await c.waitFor((f) => f.type === FRAME.SETTINGS);
        for (let p = 0; p < k.packets.length; p++) {
          const last = p === k.packets.length - 1;
          const chunks = k.packets[p]!;
          const frames =
            chunks === 'reset' ? [rstStream(1, ERROR.CANCEL)] : chunks.map((b, i) => data(1, b, last && i === chunks.length - 1));
          c.write(Buffer.concat(p === 0 ? [headers(1, post(path, k.length), false), ...frames] : frames));
          if (!last) await wait(300);
        }
        const reset = k.packets.at(-1) === 'reset';
        const end = await c.waitFor(
          (f) => f.stream === 1 && (f.type === FRAME.RST_STREAM || (f.type === FRAME.DATA && (f.flags & 1) === 1)),
          reset ? 500 : 5_000,
        );
        // The client that reset its stream gets nothing more on it; a malformed one gets RST_STREAM PROTOCOL_ERROR.
        if (reset) expect(end).toBeNull();
        else expect(end?.type).toBe(k.refused ? FRAME.RST_STREAM : FRAME.DATA);
        if (k.refused && !reset) expect(errorCode(end!)).toBe(ERROR.PROTOCOL_ERROR);
      } finally {
        c.close();
      }
      const got = await settled(from);
      if (k.refused) expect(got.filter((r) => r.complete)).toEqual([]);
      else expect(got.map((r) => [r.url, r.body, r.complete])).toEqual([[path, 'hello', true]]);
    });
});

describe('Host and :authority (RFC 9113 §8.3.1)', () => {
  const cases: { name: string; head: http2.OutgoingHttpHeaders; status: number; upstreamHost: string | null }[] = [
    { name: ':authority alone', head: { ':authority': 'h2.test' }, status: 200, upstreamHost: 'h2.test' },
    { name: 'both, the same', head: { ':authority': 'h2.test', host: 'h2.test' }, status: 200, upstreamHost: 'h2.test' },
    { name: 'both, differing in case only', head: { ':authority': 'h2.test', host: 'H2.Test' }, status: 200, upstreamHost: 'H2.Test' },
    { name: 'both, different hosts', head: { ':authority': 'h2.test', host: 'other.test' }, status: 400, upstreamHost: null },
    { name: 'both, different ports', head: { ':authority': 'h2.test', host: 'h2.test:8443' }, status: 400, upstreamHost: null },
  ];
  for (const k of cases)
    it(k.name, async () => {
      const from = backend.received.length;
      const path = `/host-${k.name.replace(/\W+/g, '-')}`;
      const r = await h2Request(gw.httpsPort, { ':path': path, ...k.head });
      expect(r.status).toBe(k.status);
      const got = await settled(from, 100);
      expect(got.map((g) => g.headers.host)).toEqual(k.upstreamHost === null ? [] : [k.upstreamHost]);
    });
});

describe('portico local passes the flags to the listener', () => {
  it('--http2-max-concurrent-streams 7 is what SETTINGS announces', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portico-h2-'));
    const p = await startLocal(dir, ['--http2-max-concurrent-streams', '7']);
    try {
      const c = await connectRawH2(p.https);
      await c.waitFor((f) => f.type === FRAME.SETTINGS);
      expect(c.settings.get(SETTINGS_MAX_CONCURRENT_STREAMS)).toBe(7);
      c.close();
    } finally {
      await p.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
