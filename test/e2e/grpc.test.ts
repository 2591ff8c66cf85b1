// gRPC end to end: a real @grpc/grpc-js client → `portico local` (a real process, TLS with a certificate made here,
// HTTP/2 by ALPN) → a real @grpc/grpc-js server on loopback, cleartext for backend-protocol GRPC and TLS for GRPCS.
// Named after ingress-nginx v1.15.1's test/e2e/annotations/grpc.go (which dials nginx's :443 with TLS and calls
// grpcbin) and docs/examples/grpc; the other cases are the call shapes and failures a gRPC user meets.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { makeCert } from '../compile/certs.ts';
import { type AuthServer, startAuthServer } from '../support/auth-server.ts';
import {
  type EchoClientInstance,
  type EchoSeen,
  type GrpcServer,
  plainClient,
  startGrpcServer,
  tlsClient,
  unary,
} from '../support/grpc.ts';
import { ingress, ourClass, service, tlsSecret } from '../support/manifests.ts';
import { freePort, type Running, startLocal, waitFor } from '../support/process.ts';

const N = 'nginx.ingress.kubernetes.io/';
const HOSTS = ['grpc.test', 'grpcs.test', 'down.test', 'half.test', 'small.test', 'slow.test', 'auth.test'];
const edgeCert = makeCert({ cn: 'grpc.test', sans: HOSTS });
const upstreamCert = makeCert({ cn: 'grpcbin.internal', sans: ['grpcbin.internal'] });
const MiB = 1024 * 1024;

let plain: GrpcServer;
let secure: GrpcServer;
let auth: AuthServer;
let portico: Running;
let dir: string;
const clients: EchoClientInstance[] = [];

/** A TLS client of the gateway for `host`, closed after the tests. */
function client(host: string): EchoClientInstance {
  const c = tlsClient(portico.https, host, edgeCert.certPem);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  plain = await startGrpcServer('127.0.0.71');
  secure = await startGrpcServer('127.0.0.72', upstreamCert);
  auth = await startAuthServer('127.0.0.73');
  const closed = await freePort('127.0.0.74'); // nothing listens there: the upstream is down
  const route = (name: string, svc: string, annotations: Record<string, string>) =>
    ingress(name, {
      host: `${name}.test`,
      paths: [{ path: '/', service: svc }],
      tls: [{ hosts: [`${name}.test`], secretName: 'edge' }],
      annotations,
    });
  const grpcRoute = { [`${N}backend-protocol`]: 'GRPC' };
  dir = mkdtempSync(join(tmpdir(), 'portico-grpc-'));
  const docs = [
    ourClass(),
    tlsSecret('edge', edgeCert.certPem, edgeCert.keyPem),
    ...service('grpcbin', [{ address: '127.0.0.71', port: plain.port }]),
    ...service('grpcbin-tls', [{ address: '127.0.0.72', port: secure.port }]),
    ...service('gone', [{ address: '127.0.0.74', port: closed }]),
    // Two endpoints, the first with nothing listening (same port, another loopback address).
    ...service('half-up', [
      { address: '127.0.0.75', port: plain.port },
      { address: '127.0.0.71', port: plain.port },
    ]),
    route('grpc', 'grpcbin', grpcRoute),
    route('grpcs', 'grpcbin-tls', { [`${N}backend-protocol`]: 'GRPCS' }),
    route('down', 'gone', grpcRoute),
    route('half', 'half-up', grpcRoute),
    route('small', 'grpcbin', { ...grpcRoute, [`${N}proxy-body-size`]: '1m' }),
    route('slow', 'grpcbin', { ...grpcRoute, [`${N}proxy-read-timeout`]: '1' }),
    route('auth', 'grpcbin', {
      ...grpcRoute,
      [`${N}auth-url`]: `${auth.url}/response-headers?authorization=foo`,
      [`${N}auth-response-headers`]: 'Authorization',
    }),
  ];
  writeFileSync(join(dir, 'all.yaml'), docs.map((d) => stringify(d)).join('---\n'));
  portico = await startLocal(dir);
});

afterAll(async () => {
  for (const c of clients) c.close();
  expect(await portico?.stop()).toBe(0);
  await Promise.all([plain?.close(), secure?.close(), auth?.close()]);
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe.each([
  ['GRPC (grpc.go: "should return OK for service with backend protocol GRPC")', 'grpc.test', () => plain],
  ['GRPCS (grpc.go: "should return OK for service with backend protocol GRPCS")', 'grpcs.test', () => secure],
])('%s', (_name, host, server) => {
  it('unary: the reply, status OK, the server trailing metadata; the request metadata and authority reach the server', async () => {
    const r = await unary(client(host), 'Echo', Buffer.from('hello'), { metadata: { 'x-custom': 'from-client' }, deadlineMs: 10_000 });
    expect(r.code, r.details).toBe(grpc.status.OK);
    const seen = JSON.parse(r.reply!.toString()) as EchoSeen;
    expect(seen.body).toBe('hello');
    expect(seen.metadata['x-custom']).toBe('from-client');
    expect(seen.authority).toBe(host);
    expect(r.trailers['x-trailer']).toBe('done');
    expect(seen.hasDeadline).toBe(true); // grpc-timeout passes through, as through nginx
  });

  it('50 concurrent calls on one channel (one HTTP/2 connection each way) are all answered, each with its own reply', async () => {
    const c = client(host);
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => unary(c, 'Echo', Buffer.from(`n${i}`))));
    expect(replies.map((r) => (JSON.parse(r.reply!.toString()) as EchoSeen).body)).toEqual(Array.from({ length: 50 }, (_, i) => `n${i}`));
  });

  it('a server error status (NOT_FOUND with details) reaches the client with code and details intact', async () => {
    const r = await unary(client(host), 'Echo', Buffer.from('not-found'));
    expect(r.code, r.details).toBe(grpc.status.NOT_FOUND);
    expect(r.details).toBe('no such thing: not-found');
  });

  it('server streaming: 100 messages in order, then OK', async () => {
    const call = client(host).Count!(Buffer.from(JSON.stringify({ n: 100 })));
    const got: string[] = [];
    call.on('data', (m: Buffer) => got.push(m.toString()));
    const status = await new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    expect(status.code).toBe(grpc.status.OK);
    expect(got).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
  });

  it('client streaming: 50 messages, one reply once the client ends', async () => {
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const call = client(host).Sum!((err: grpc.ServiceError | null, res?: Buffer) => (err === null ? resolve(res!) : reject(err)));
      for (let i = 0; i < 50; i++) call.write(Buffer.from(`m${i}`));
      call.end();
    });
    const r = JSON.parse(reply.toString()) as { count: number; joined: string };
    expect(r.count).toBe(50);
    expect(r.joined).toBe(Array.from({ length: 50 }, (_, i) => `m${i}`).join(','));
  });

  it('bidirectional streaming: each echo arrives before the next message is sent', async () => {
    const call = client(host).Chat!();
    const got: string[] = [];
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    let next: (() => void) | null = null;
    call.on('data', (m: Buffer) => {
      got.push(m.toString());
      next?.();
    });
    for (const m of ['a', 'b', 'c', 'd']) {
      const echoed = new Promise<void>((resolve) => {
        next = resolve;
      });
      call.write(Buffer.from(m));
      await echoed; // the request stream is still open: the echo came back through the gateway meanwhile
    }
    call.end();
    expect((await status).code).toBe(grpc.status.OK);
    expect(got).toEqual(['echo:a', 'echo:b', 'echo:c', 'echo:d']);
  });

  it('4 MiB messages both ways (no proxy-body-size: no limit)', async () => {
    const big = Buffer.alloc(4 * MiB);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    const r = await unary(client(host), 'Blob', big);
    expect(r.code, r.details).toBe(grpc.status.OK);
    expect(r.reply!.length).toBe(big.length);
    expect(r.reply!.equals(Buffer.from(big).reverse())).toBe(true);
  });

  it('a client deadline (grpc-timeout) on an upstream that never answers: DEADLINE_EXCEEDED, the upstream call cancelled', async () => {
    const before = { ...server().hangs };
    const r = await unary(client(host), 'Hang', Buffer.from('x'), { deadlineMs: 500 });
    expect(r.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await waitFor(
      () => server().hangs.cancelled === before.cancelled + 1,
      5_000,
      () => 'the upstream call cancelled',
    );
    expect(server().hangs.started).toBe(before.started + 1);
  });

  it('a call the client cancels (no deadline): the upstream call is cancelled too', async () => {
    const before = { ...server().hangs };
    let call: grpc.ClientUnaryCall | null = null;
    const outcome = unary(client(host), 'Hang', Buffer.from('x'), { call: (c) => (call = c) });
    await waitFor(
      () => server().hangs.started === before.started + 1,
      5_000,
      () => 'the call at the upstream',
    );
    (call as grpc.ClientUnaryCall | null)?.cancel();
    expect((await outcome).code).toBe(grpc.status.CANCELLED);
    await waitFor(
      () => server().hangs.cancelled === before.cancelled + 1,
      5_000,
      () => 'the upstream call cancelled',
    );
  });
});

describe('failures at the gateway', () => {
  it('upstream down: UNAVAILABLE (nginx answers 502, which gRPC maps to UNAVAILABLE)', async () => {
    const r = await unary(client('down.test'), 'Echo', Buffer.from('hello'));
    expect(r.code).toBe(grpc.status.UNAVAILABLE);
    expect(r.details).toMatch(/502/);
  });

  it('one of two endpoints down: every call is answered (a refused connect moves on, grpc_next_upstream error)', async () => {
    const c = client('half.test');
    for (let i = 0; i < 4; i++) {
      const r = await unary(c, 'Echo', Buffer.from(`call ${i}`));
      expect(r.code, r.details).toBe(grpc.status.OK);
    }
  });

  it('proxy-read-timeout "1" (nginx grpc_read_timeout) and a call without a deadline that is never answered: 504, seen as UNAVAILABLE; the upstream call cancelled', async () => {
    const before = { ...plain.hangs };
    const started = Date.now();
    const r = await unary(client('slow.test'), 'Hang', Buffer.from('x'));
    expect(r.code).toBe(grpc.status.UNAVAILABLE);
    expect(r.details).toMatch(/504/);
    expect(Date.now() - started).toBeLessThan(5_000);
    await waitFor(
      () => plain.hangs.cancelled === before.cancelled + 1,
      5_000,
      () => 'the upstream call cancelled',
    );
  });

  it('proxy-body-size 1m (client_max_body_size applies to gRPC bodies): a 4 MiB request gets 413, seen as UNKNOWN; 512 KiB passes', async () => {
    const before = plain.calls.length;
    const r = await unary(client('small.test'), 'Blob', Buffer.alloc(4 * MiB));
    expect(r.code).toBe(grpc.status.UNKNOWN);
    expect(r.details).toMatch(/413/);
    expect(plain.calls.length).toBe(before); // the server never completed a call with the broken body
    const ok = await unary(client('small.test'), 'Blob', Buffer.alloc(512 * 1024));
    expect(ok.code, ok.details).toBe(grpc.status.OK);
  });
});

describe('grpc.go: "authorization metadata should be overwritten by external auth response headers"', () => {
  it('the auth service Authorization replaces the client metadata', async () => {
    const r = await unary(client('auth.test'), 'Echo', Buffer.from('hi'), { metadata: { authorization: 'bar' } });
    expect(r.code, r.details).toBe(grpc.status.OK);
    expect((JSON.parse(r.reply!.toString()) as EchoSeen).metadata.authorization).toBe('foo');
  });
});

describe('cleartext gRPC on the HTTP listener (h2c)', () => {
  it('is not served: HTTP/1.1 only there, as ingress-nginx (its port 80 has no http2); the call fails, the upstream sees nothing', async () => {
    const before = plain.calls.length;
    const c = plainClient(Number(new URL(portico.http).port), 'grpc.test');
    clients.push(c);
    const r = await unary(c, 'Echo', Buffer.from('hello'), { deadlineMs: 3_000 });
    expect(r.code).not.toBe(grpc.status.OK);
    expect(plain.calls.length).toBe(before);
  });
});
