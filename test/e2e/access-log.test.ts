// Access logs of a real `portico local`: raw bytes in (HTTP/1.1 on a net socket, HTTP/2 over TLS), one JSON line per
// request out, compared with what the client got and what the upstream (a recording backend) received.
import http2 from 'node:http2';
import net from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { stringify } from 'yaml';
import type { AccessEntry } from '../../gateway/access-log.ts';
import { startBackend, type Backend, type EchoReply } from '../support/backends.ts';
import { ingress, ourClass, service } from '../support/manifests.ts';
import { runPortico, startLocal, waitFor, type Running } from '../support/process.ts';

let backend: Backend;
let dir: string;
let logDir: string;
let p: Running;
let logFile: string;

/** Sends `bytes` on a fresh connection and returns everything the gateway sent until it closed. */
function raw(port: number, bytes: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

const lines = (): AccessEntry[] =>
  existsSync(logFile)
    ? readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as AccessEntry)
    : [];

async function lineFor(requestId: string): Promise<AccessEntry> {
  await waitFor(
    () => lines().some((l) => l.requestId === requestId),
    5_000,
    () => `an access log line for ${requestId} in ${JSON.stringify(lines())}`,
  );
  return lines().find((l) => l.requestId === requestId)!;
}

beforeAll(async () => {
  backend = await startBackend('a');
  dir = mkdtempSync(join(tmpdir(), 'portico-alog-'));
  logDir = mkdtempSync(join(tmpdir(), 'portico-alog-out-'));
  logFile = join(logDir, 'sub', 'access.log'); // a directory that does not exist yet: made
  const docs = [ourClass(), ...service('a', [{ address: backend.address, port: backend.port }])];
  writeFileSync(join(dir, 'objects.yaml'), docs.map((d) => stringify(d)).join('---\n'));
  writeFileSync(join(dir, 'ingress.json'), JSON.stringify(ingress('app', { host: 'app.test', paths: [{ path: '/', service: 'a' }] })));
  p = await startLocal(dir, ['--access-log', logFile]);
});
afterAll(async () => {
  await p?.stop();
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(logDir, { recursive: true, force: true });
});

describe('access log lines', () => {
  it('a proxied HTTP/1.1 request: client, route, upstream, its status and request id as the upstream saw it, bytes as sent', async () => {
    const id = 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6';
    const request = `POST /echo/path?q=1 HTTP/1.1\r\nHost: app.test\r\nX-Request-Id: ${id}\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello`;
    const got = await raw(Number(new URL(p.http).port), request);
    const text = got.toString('latin1');
    expect(text.startsWith('HTTP/1.1 200 ')).toBe(true);
    const seen = JSON.parse(text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1)) as EchoReply;
    expect(seen.headers['x-request-id']).toBe(id);
    const l = await lineFor(id);
    expect(l).toMatchObject({
      client: '127.0.0.1',
      method: 'POST',
      host: 'app.test',
      path: '/echo/path',
      protocol: 'HTTP/1.1',
      status: 200,
      upstream: `${backend.address}:${backend.port}`,
      upstreamStatus: 200,
      route: 'default/app app.test /',
      tls: null,
      sni: null,
    });
    expect(l.bytesOut).toBe(got.length);
    expect(l.bytesIn).toBeGreaterThanOrEqual(0);
    expect(l.upstreamMs).toBeGreaterThan(0);
    expect(l.durationMs).toBeGreaterThanOrEqual(l.upstreamMs!);
    expect(Date.parse(l.time)).toBeGreaterThan(Date.now() - 60_000);
    expect(Object.keys(l).sort()).toEqual(
      [
        'log',
        'time',
        'client',
        'method',
        'host',
        'path',
        'protocol',
        'status',
        'bytesIn',
        'bytesOut',
        'durationMs',
        'upstream',
        'upstreamStatus',
        'upstreamMs',
        'route',
        'requestId',
        'tls',
        'sni',
      ].sort(),
    );
  });

  it("the gateway's own answer (no route: 404): logged, no upstream, and the upstream never saw it", async () => {
    const before = backend.requests;
    const id = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
    const got = await raw(
      Number(new URL(p.http).port),
      `GET /nowhere HTTP/1.1\r\nHost: other.test\r\nX-Request-Id: ${id}\r\nConnection: close\r\n\r\n`,
    );
    expect(got.toString('latin1').startsWith('HTTP/1.1 404 ')).toBe(true);
    const l = await lineFor(id);
    expect(l).toMatchObject({ status: 404, host: 'other.test', path: '/nowhere', upstream: null, upstreamStatus: null, upstreamMs: null });
    expect(l.bytesOut).toBe(got.length);
    expect(backend.requests).toBe(before);
  });

  it('HTTP/2 over TLS: protocol, TLS version and SNI', async () => {
    const id = '0123456789abcdef0123456789abcdef';
    const session = http2.connect(`https://127.0.0.1:${p.https}`, { rejectUnauthorized: false, servername: 'app.test' });
    try {
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const s = session.request({ ':path': '/h2', ':authority': 'app.test', 'x-request-id': id });
        let st = 0;
        let b = '';
        s.on('response', (h) => {
          st = Number(h[':status']);
        });
        s.on('data', (d: Buffer) => (b += d));
        s.on('end', () => resolve({ status: st, body: b }));
        s.on('error', reject);
        s.end();
      });
      expect(status).toBe(200);
      const l = await lineFor(id);
      expect(l).toMatchObject({ protocol: 'HTTP/2.0', status: 200, tls: 'TLSv1.3', sni: 'app.test', path: '/h2', upstreamStatus: 200 });
      expect(l.bytesOut).toBe(Buffer.byteLength(body));
    } finally {
      session.close();
    }
  });
});

describe('access log lines of upgrades (WebSocket)', () => {
  /** Opens a WebSocket through the gateway, exchanges one message and closes; resolves once the socket is closed. */
  function webSocketRound(path: string, id: string): Promise<{ opened: boolean; status: number | null }> {
    return new Promise((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${new URL(p.http).port}${path}`, { headers: { host: 'app.test', 'x-request-id': id } });
      let opened = false;
      let status: number | null = null;
      ws.on('unexpected-response', (_req, res) => {
        status = res.statusCode ?? null;
        res.resume();
        ws.terminate();
      });
      ws.on('open', () => {
        opened = true;
        ws.send('hi');
      });
      ws.on('message', (data) => {
        if (data.toString() === 'echo:hi') ws.close();
      });
      ws.on('error', () => {});
      ws.on('close', () => resolve({ opened, status }));
    });
  }

  it('a WebSocket: one line when the connection closes, status 101, the upstream, bytes both ways', async () => {
    const id = 'feedfacefeedfacefeedfacefeedface';
    expect((await webSocketRound('/chat', id)).opened).toBe(true);
    const l = await lineFor(id);
    expect(l).toMatchObject({
      method: 'GET',
      host: 'app.test',
      path: '/chat',
      protocol: 'HTTP/1.1',
      status: 101,
      upstream: `${backend.address}:${backend.port}`,
      upstreamStatus: 101,
      route: 'default/app app.test /',
    });
    // The 101 head, the backend's greeting and the echo went out; the client's message and close frame came in.
    expect(l.bytesOut).toBeGreaterThan(100);
    expect(l.bytesIn).toBeGreaterThan(0);
    expect(l.durationMs).toBeGreaterThanOrEqual(l.upstreamMs!);
  });

  it('an upgrade the application refuses (401): logged with the upstream status', async () => {
    const id = 'deadbeefdeadbeefdeadbeefdeadbeef';
    expect(await webSocketRound('/ws-reject', id)).toEqual({ opened: false, status: 401 });
    expect(await lineFor(id)).toMatchObject({
      path: '/ws-reject',
      status: 401,
      upstreamStatus: 401,
      upstream: `${backend.address}:${backend.port}`,
    });
  });

  it('an upgrade the edge refuses (POST, RFC 6455 §4.1): logged as 400, no upstream', async () => {
    const id = 'cafebabecafebabecafebabecafebabe';
    const request = `POST /chat HTTP/1.1\r\nHost: app.test\r\nX-Request-Id: ${id}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;
    const got = await raw(Number(new URL(p.http).port), request);
    expect(got.toString('latin1').startsWith('HTTP/1.1 400 ')).toBe(true);
    expect(await lineFor(id)).toMatchObject({ method: 'POST', status: 400, upstream: null, upstreamStatus: null });
  });
});

describe('access log flags', () => {
  it.each([
    ['a sample above 1', ['--access-log-sample', '1.5'], /--access-log-sample: expected a fraction above 0 and at most 1/],
    ['a sample of 0', ['--access-log-sample', '0'], /--access-log-sample: expected a fraction above 0/],
    ['a sample that is not a number', ['--access-log-sample', 'half'], /--access-log-sample: expected a fraction/],
    ['an empty target', ['--access-log', ''], /--access-log: expected off, stdout, stderr or a file path/],
    ['a drain delay that is not a duration', ['--drain-delay', 'soon'], /--drain-delay: expected a duration/],
    ['a drain timeout of 0', ['--drain-timeout', '0s'], /--drain-timeout: must be between 1ms and 1h/],
  ])('%s: one line, exit 2', (_name, flags, message) => {
    const r = runPortico(['local', '--manifests', dir, ...flags]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('--access-log off writes nothing; stdout gets one line per request', async () => {
    const off = await startLocal(dir, ['--access-log', 'off']);
    const on = await startLocal(dir, ['--access-log', 'stdout']);
    let out = '';
    on.child.stdout!.on('data', (d) => (out += d));
    let offOut = '';
    off.child.stdout!.on('data', (d) => (offOut += d));
    try {
      for (const q of [off, on]) await raw(Number(new URL(q.http).port), 'GET / HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n');
      await waitFor(
        () => out.includes('"status":200'),
        5_000,
        () => 'a line on stdout',
      );
      expect(out.trim().split('\n')).toHaveLength(1);
      expect(offOut).toBe('');
    } finally {
      await off.stop();
      await on.stop();
    }
  });
});
