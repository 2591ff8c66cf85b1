// Graceful drain, as a rolling update does it: a worker under steady load gets SIGTERM. Every request that started
// before the signal completes with 200 and reaches the upstream once; /readyz answers 503 at once; HTTP/1
// responses after the signal carry `Connection: close`; HTTP/2 sessions get GOAWAY when the listeners close; after
// --drain-delay new connections are refused; the process exits 0. Requests are raw bytes on net sockets.
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import WebSocket from 'ws';
import { startBackend } from '../support/backends.ts';
import { ingress, ourClass, service } from '../support/manifests.ts';
import { startLocal, waitFor, type Running } from '../support/process.ts';

/** A backend that records the sequence number (`?n=`) of every request it receives and answers after `?ms=`. */
interface Recorder {
  port: number;
  seen: number[];
  close(): Promise<void>;
}

async function startRecorder(): Promise<Recorder> {
  const seen: number[] = [];
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    seen.push(Number(u.searchParams.get('n') ?? -1));
    setTimeout(() => res.end(`ok ${u.searchParams.get('n')}\n`), Number(u.searchParams.get('ms') ?? 0));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

interface Outcome {
  n: number;
  startedAt: number;
  /** 0: no response (refused, reset). */
  status: number;
  connectionClose: boolean;
  error?: string;
}

/** One keep-alive connection at a time, sending `GET /slow?ms=..&n=..` as raw bytes and reading Content-Length
 * answers; a new connection after `Connection: close`. Stops at `until()` or at the first refused connection. */
async function loadLoop(port: number, next: () => number, ms: number, until: () => boolean, out: Outcome[]): Promise<void> {
  /** One connection's state: each socket its own, so a closed one's late events never touch its successor. */
  interface Conn {
    socket: net.Socket;
    buffered: Buffer;
    closed: boolean;
    waiter: (() => void) | null;
  }
  const open = async (): Promise<Conn> => {
    const c: Conn = { socket: net.connect(port, '127.0.0.1'), buffered: Buffer.alloc(0), closed: false, waiter: null };
    c.socket.on('data', (d: Buffer) => {
      c.buffered = Buffer.concat([c.buffered, d]);
      c.waiter?.();
    });
    c.socket.on('close', () => {
      c.closed = true;
      c.waiter?.();
    });
    await new Promise<void>((resolve, reject) => {
      c.socket.once('connect', () => resolve());
      c.socket.once('error', reject);
    });
    c.socket.on('error', () => {});
    return c;
  };
  let conn: Conn | null = null;
  while (!until()) {
    const n = next();
    const o: Outcome = { n, startedAt: Date.now(), status: 0, connectionClose: false };
    out.push(o);
    try {
      conn ??= await open();
    } catch (err) {
      o.error = (err as NodeJS.ErrnoException).code ?? String(err);
      return;
    }
    const c: Conn = conn;
    c.socket.write(`GET /slow?ms=${ms}&n=${n} HTTP/1.1\r\nHost: app.test\r\n\r\n`);
    for (;;) {
      const head = c.buffered.indexOf('\r\n\r\n');
      if (head !== -1) {
        const text = c.buffered.subarray(0, head).toString('latin1');
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text)?.[1] ?? 0);
        if (c.buffered.length >= head + 4 + length) {
          o.status = Number(text.slice(9, 12));
          o.connectionClose = /\r\nconnection: *close/i.test(text);
          c.buffered = c.buffered.subarray(head + 4 + length);
          break;
        }
      }
      if (c.closed) {
        o.error = 'connection closed before a response';
        break;
      }
      await new Promise<void>((r) => {
        c.waiter = r;
      });
      c.waiter = null;
    }
    if (o.connectionClose || o.status === 0) {
      c.socket.destroy();
      conn = null;
    }
  }
  conn?.socket.destroy();
}

const refusedConnect = (port: number): Promise<string> =>
  new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });

let backend: Recorder;
const dirs: string[] = [];
let dir: string;

beforeAll(async () => {
  backend = await startRecorder();
  dir = mkdtempSync(join(tmpdir(), 'portico-drain-'));
  dirs.push(dir);
  const docs = [ourClass(), ...service('a', [{ address: '127.0.0.1', port: backend.port }])];
  writeFileSync(join(dir, 'objects.yaml'), docs.map((d) => stringify(d)).join('---\n'));
  writeFileSync(join(dir, 'ingress.json'), JSON.stringify(ingress('app', { host: 'app.test', paths: [{ path: '/', service: 'a' }] })));
});
afterAll(async () => {
  await backend.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const DELAY_MS = 1_500;
const SLOW_MS = 300;

interface Case {
  name: string;
  workers: number;
  /** Which process gets SIGTERM: the primary (the pod's stop) or one worker process (one replaced at a time). */
  signal: 'primary' | 'one worker';
}

const cases: Case[] = [
  { name: 'portico local: SIGTERM to the process', workers: 1, signal: 'primary' },
  { name: 'portico local --workers 2: SIGTERM to the primary', workers: 2, signal: 'primary' },
  { name: 'portico local --workers 2: one worker process replaced', workers: 2, signal: 'one worker' },
];

const workerPids = (primary: number): number[] =>
  execFileSync('ps', ['-o', 'pid=', '--ppid', String(primary)], { encoding: 'utf8' })
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => n > 0);

describe('graceful drain under steady load', () => {
  it.each(cases)(
    '$name',
    async (c) => {
      const p: Running = await startLocal(dir, [
        '--workers',
        String(c.workers),
        '--drain-delay',
        `${DELAY_MS}ms`,
        '--drain-timeout',
        '10s',
        '--access-log',
        'off',
      ]);
      const port = Number(new URL(p.http).port);
      const before = backend.seen.length;
      let seq = 0;
      const outcomes: Outcome[] = [];
      let stopLoad = false;
      const loops = Array.from({ length: 4 }, () =>
        loadLoop(
          port,
          () => seq++,
          SLOW_MS,
          () => stopLoad,
          outcomes,
        ),
      );
      // HTTP/2 on the TLS port: a session with a stream in flight across the listener's close.
      const h2 = http2.connect(`https://127.0.0.1:${p.https}`, { rejectUnauthorized: false, servername: 'app.test' });
      let goaway = false;
      h2.on('goaway', () => {
        goaway = true;
      });
      let h2Error: unknown = null;
      h2.on('error', (e) => {
        h2Error = e;
      });
      await new Promise((r) => setTimeout(r, 1_200));
      expect(h2Error).toBe(null);
      const target = c.signal === 'primary' ? p.child.pid! : workerPids(p.child.pid!)[0]!;
      const long = new Promise<{ status: number; body: string }>((resolve) => {
        const s = h2.request({ ':path': `/slow?ms=${DELAY_MS + 1_000}&n=-2`, ':authority': 'app.test' });
        let status = 0;
        let body = '';
        s.on('response', (h) => {
          status = Number(h[':status']);
        });
        s.on('data', (d: Buffer) => (body += d));
        s.on('close', () => resolve({ status, body }));
      });
      await new Promise((r) => setTimeout(r, 100));
      const signalAt = Date.now();
      const exited = new Promise<number | null>((r) => p.child.once('exit', (code) => r(code)));
      process.kill(target, 'SIGTERM');
      try {
        if (c.signal === 'primary') {
          // /readyz turns 503 at once (the admin port stays up while the workers drain).
          await waitFor(
            async () => (await fetch(`${p.admin}/readyz`)).status === 503,
            1_000,
            () => 'readyz 503',
          );
          // Past the delay, the listeners are closed: a new connection is refused, never reaches an upstream.
          await new Promise((r) => setTimeout(r, Math.max(0, signalAt + DELAY_MS + 500 - Date.now())));
          expect(await refusedConnect(port)).toBe('ECONNREFUSED');
        } else {
          await new Promise((r) => setTimeout(r, DELAY_MS + 1_500));
          // The successor serves; the ports never stopped accepting.
          expect(await refusedConnect(port)).toBe('connected');
          await waitFor(
            async () => (await fetch(`${p.admin}/readyz`)).status === 200,
            10_000,
            () => 'readyz 200 again',
          );
          expect(workerPids(p.child.pid!)).not.toContain(target);
        }
        stopLoad = true;
        await Promise.all(loops);
        const r = await long;
        expect(r).toEqual({ status: 200, body: 'ok -2\n' });
        if (c.signal === 'primary') expect(goaway).toBe(true);

        const started = outcomes.filter((o) => o.startedAt < signalAt);
        expect(started.length).toBeGreaterThanOrEqual(8);
        expect(started.filter((o) => o.status !== 200)).toEqual([]);
        // The upstream received each of them exactly once.
        const seen = backend.seen.slice(before);
        for (const o of started) expect(seen.filter((n) => n === o.n)).toHaveLength(1);
        // Answers after the signal tell HTTP/1 clients to go (from the process that was signalled).
        const after = outcomes.filter((o) => o.startedAt > signalAt + 50 && o.status === 200);
        if (c.signal === 'primary') {
          expect(after.length).toBeGreaterThan(0);
          expect(after.every((o) => o.connectionClose)).toBe(true);
          // Requests that found the listeners closed never reached the upstream.
          const refused = outcomes.filter((o) => o.status === 0);
          for (const o of refused) expect(seen).not.toContain(o.n);
          expect(await exited).toBe(0);
        } else {
          // Replacing one process fails nothing, before or after the signal.
          expect(outcomes.filter((o) => o.status !== 200)).toEqual([]);
        }
      } finally {
        h2.destroy();
        stopLoad = true;
        await Promise.all(loops);
        await p.stop();
      }
    },
    60_000,
  );
});

describe('graceful drain of a WebSocket', () => {
  it('an open WebSocket keeps working after the listeners close, and is closed at --drain-timeout; the process exits 0', async () => {
    const ws = await startBackend('ws');
    const d = mkdtempSync(join(tmpdir(), 'portico-drain-ws-'));
    dirs.push(d);
    const docs = [ourClass(), ...service('a', [{ address: ws.address, port: ws.port }])];
    writeFileSync(join(d, 'objects.yaml'), docs.map((x) => stringify(x)).join('---\n'));
    writeFileSync(join(d, 'ingress.json'), JSON.stringify(ingress('app', { host: 'app.test', paths: [{ path: '/', service: 'a' }] })));
    const p = await startLocal(d, ['--drain-delay', '500ms', '--drain-timeout', '1500ms', '--access-log', 'off']);
    const port = Number(new URL(p.http).port);
    try {
      const client = new WebSocket(`ws://127.0.0.1:${port}/chat`, { headers: { host: 'app.test' } });
      const messages: string[] = [];
      client.on('message', (m) => messages.push(m.toString()));
      await new Promise((r, j) => client.once('open', r).once('error', j));
      const closed = new Promise<number>((r) => client.once('close', () => r(Date.now())));
      const signalAt = Date.now();
      const exited = new Promise<number | null>((r) => p.child.once('exit', (code) => r(code)));
      p.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 900)); // past the delay: the listeners are closed
      expect(await refusedConnect(port)).toBe('ECONNREFUSED');
      client.send('still here');
      await waitFor(
        () => messages.includes('echo:still here'),
        2_000,
        () => 'the echo after the listeners closed',
      );
      const closedAt = await closed;
      // Closed by the drain timeout (500 ms delay + 1500 ms), not at the signal.
      expect(closedAt - signalAt).toBeGreaterThanOrEqual(1_900);
      expect(await exited).toBe(0);
    } finally {
      await p.stop();
      await ws.close();
    }
  }, 30_000);
});

describe('a second signal during the drain', () => {
  it('exits at once with status 1 (an operator pressing Ctrl-C twice does not wait for --drain-delay)', async () => {
    const p = await startLocal(dir, ['--drain-delay', '20s', '--access-log', 'off']);
    try {
      const exited = new Promise<number | null>((r) => p.child.once('exit', (code) => r(code)));
      p.child.kill('SIGTERM');
      await waitFor(
        async () => (await fetch(`${p.admin}/readyz`)).status === 503,
        2_000,
        () => 'readyz 503',
      );
      const again = Date.now();
      p.child.kill('SIGINT');
      expect(await exited).toBe(1);
      expect(Date.now() - again).toBeLessThan(5_000);
      expect(p.logs()).toMatch(/SIGINT again while draining; exiting now/);
    } finally {
      await p.stop();
    }
  });
});
