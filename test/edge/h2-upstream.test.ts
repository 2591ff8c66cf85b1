// The HTTP/2 upstream client of backend-protocol GRPC/GRPCS/H2C (gateway/proxy/h2-upstream.ts) against real
// node:http2 servers on loopback (cleartext and TLS with a certificate made here), driven by a dispatch handler as
// the Node forwarder drives it: pausing for back-pressure, aborting, failing.
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyUpstreamError } from '../../gateway/errors.ts';
import { H2Upstream } from '../../gateway/proxy/h2-upstream.ts';
import { makeCert } from '../compile/certs.ts';
import { freePort } from '../support/process.ts';

const MiB = 1024 * 1024;
const cert = makeCert({ cn: 'upstream.internal', sans: ['upstream.internal'] });
let h2c: http2.Http2Server;
let h2s: http2.Http2SecureServer;
/** RST_STREAM codes the servers saw on streams the client abandoned. */
const resets: number[] = [];
const sessions = new Set<http2.ServerHttp2Session>();

/** `/big`: 4 MiB, then trailers at once; `/echo`: the request body back, then trailers; `/hang`: never answers. */
function handle(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
  stream.on('close', () => {
    if (stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) resets.push(stream.rstCode);
  });
  const path = headers[':path'];
  if (path === '/hang') return void stream.resume();
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'x-authority': String(headers[':authority']) }));
  if (path === '/echo') stream.pipe(stream);
  else {
    stream.resume();
    stream.end(Buffer.alloc(4 * MiB, 'x'));
  }
}

beforeAll(async () => {
  h2c = http2.createServer();
  h2s = http2.createSecureServer({ cert: cert.certPem, key: cert.keyPem });
  for (const s of [h2c, h2s]) {
    s.on('session', (x: http2.ServerHttp2Session) => sessions.add(x));
    s.on('stream', handle);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  }
});
afterAll(async () => {
  for (const s of sessions) s.destroy();
  await Promise.all([h2c, h2s].map((s) => new Promise((r) => s.close(r))));
});

interface Outcome {
  status: number;
  bytes: number;
  trailers: Record<string, string | string[]>;
  error: Error | null;
}

/** Dispatches one request; `slow`: the handler pauses after every chunk and resumes 2 ms later, as the forwarder
 * does when its client drains slowly. `abortAfterMs`: the handler aborts then. */
function call(
  up: H2Upstream,
  path: string,
  o: { body?: AsyncIterable<Buffer>; slow?: boolean; abortAfterMs?: number; headersTimeout?: number } = {},
): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { status: 0, bytes: 0, trailers: {}, error: null };
    let resume: () => void = () => {};
    const h: Dispatcher.DispatchHandler = {
      onConnect(abort) {
        if (o.abortAfterMs !== undefined) setTimeout(() => abort(), o.abortAfterMs);
      },
      onHeaders(status, _raw, r) {
        out.status = status;
        resume = r;
        return true;
      },
      onData(chunk) {
        out.bytes += chunk.length;
        if (o.slow !== true) return true;
        setTimeout(resume, 2);
        return false;
      },
      onComplete(trailers) {
        out.trailers = trailers as unknown as Record<string, string>;
        resolve(out);
      },
      onError(err) {
        out.error = err;
        resolve(out);
      },
    };
    up.dispatch(
      {
        path,
        method: 'POST',
        headers: ['host', 'app.test', 'te', 'trailers', 'content-type', 'application/grpc'],
        body: (o.body ?? null) as unknown as null,
        ...(o.headersTimeout === undefined ? {} : { headersTimeout: o.headersTimeout }),
      },
      h,
    );
  });
}

const origin = (s: { address(): AddressInfo | string | null }, scheme: string): string =>
  `${scheme}://127.0.0.1:${(s.address() as AddressInfo).port}`;
const upstream = (o: string): H2Upstream => new H2Upstream({ origin: o, connectMs: 1_000, headersMs: 5_000, bodyMs: 5_000 });

async function* chunks(n: number, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < n; i++) yield Buffer.alloc(size, i % 256);
}

describe.each([
  ['h2c (GRPC, H2C)', () => origin(h2c, 'http')],
  ['TLS with ALPN h2, certificate not verified (GRPCS)', () => origin(h2s, 'https')],
])('%s', (_name, at) => {
  it('a handler that pauses after every chunk gets all 4 MiB before the trailers (undici 7.30.2 lost the tail)', async () => {
    const up = upstream(at());
    const r = await call(up, '/big', { slow: true });
    expect(r.error).toBeNull();
    expect(r.bytes).toBe(4 * MiB);
    expect(r.trailers['grpc-status']).toBe('0');
    expect(r.trailers['x-authority']).toBe('app.test'); // Host became :authority
    await up.close();
  });

  it('a 4 MiB request body streams to the upstream and back, chunk by chunk', async () => {
    const up = upstream(at());
    const r = await call(up, '/echo', { body: chunks(64, 64 * 1024), slow: true });
    expect(r.error).toBeNull();
    expect(r.bytes).toBe(4 * MiB);
    await up.close();
  });

  it('an abort resets the upstream stream with CANCEL', async () => {
    const up = upstream(at());
    const before = resets.length;
    const r = await call(up, '/hang', { abortAfterMs: 50 });
    expect(r.error?.constructor.name).toBe('H2AbortedError');
    await new Promise((res) => setTimeout(res, 100));
    expect(resets.slice(before)).toEqual([http2.constants.NGHTTP2_CANCEL]);
    await up.close();
  });

  it('no response headers within the read timeout: a timeout error, the stream cancelled', async () => {
    const up = upstream(at());
    const r = await call(up, '/hang', { headersTimeout: 100 });
    expect(classifyUpstreamError(r.error, 'x').code).toBe('PORTICO_UPSTREAM_TIMEOUT');
    await up.close();
  });
});

describe('failures to connect', () => {
  it.each([
    ['refused (nothing listens)', 'http'],
    ['refused over TLS', 'https'],
  ])('%s: a connect error, so the next endpoint may be tried', async (_name, scheme) => {
    const port = await freePort();
    const up = upstream(`${scheme}://127.0.0.1:${port}`);
    const r = await call(up, '/');
    expect(classifyUpstreamError(r.error, 'x').code).toBe('PORTICO_UPSTREAM_CONNECT');
    await up.destroy();
  });
});
