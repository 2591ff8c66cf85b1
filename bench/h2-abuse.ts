// HTTP/2 abuse probe (not a test): what one client's frames cost the upstreams and the other clients, against
// `portico local` serving a catch-all route to a loopback upstream that records every request and connection
// (test/support/recording-backend.ts; `/slow?ms=T` holds a request T ms). Frames are hand-written
// (test/support/h2-frames.ts), as an attacker would send them:
//   rapid-reset  20,000 × (HEADERS + RST_STREAM CANCEL) on one TLS connection, written as fast as the socket
//                takes them (CVE-2023-44487); meanwhile a bystander on its own connection sends GET / one after
//                another: its latency before and during the burst
//   fan-out-1    1,000 HEADERS to a slow route (2 s) in one write on one connection
//   fan-out-8    1,000 HEADERS to a slow route (2 s), 125 on each of 8 connections (under the stream limit); with
//                256 upstream connections and a 5 s queue timeout, 3 rounds of 256 are served and the rest get 503
// For each: upstream requests and connections the scenario caused, and how the client's connection ended.
// With BEFORE=DIR (a checkout of an older commit, node_modules linked) that tree runs in the same run.
// Run: node --import tsx bench/h2-abuse.ts            Needs: nothing but Node.
import { type ChildProcess, spawn } from 'node:child_process';
import http2 from 'node:http2';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectRawH2, ERROR, errorCode, FLAG, FRAME, headers, rstStream } from '../test/support/h2-frames.ts';
import { startRecordingBackend } from '../test/support/recording-backend.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'portico-h2-abuse-'));
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) if (c.pid !== undefined && c.exitCode === null) process.kill(c.pid, 'SIGTERM');
  rmSync(work, { recursive: true, force: true });
});
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

const upstream = await startRecordingBackend('127.0.0.1');
writeFileSync(
  join(work, 'abuse.yaml'),
  `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: { name: portico, annotations: { ingressclass.kubernetes.io/is-default-class: "true" } }
spec: { controller: portico.dev/ingress-controller }
---
apiVersion: v1
kind: Service
metadata: { name: upstream, namespace: bench }
spec: { ports: [{ name: http, port: 80 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: upstream-1, namespace: bench, labels: { kubernetes.io/service-name: upstream } }
addressType: IPv4
ports: [{ name: http, port: ${upstream.port} }]
endpoints: [{ addresses: [127.0.0.1] }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: catch-all, namespace: bench }
spec:
  rules:
    - http:
        paths:
          - { path: /, pathType: Prefix, backend: { service: { name: upstream, port: { number: 80 } } } }
`,
);

async function startPortico(dir: string, https: number, admin: number): Promise<void> {
  const c = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'cli/portico.ts',
      'local',
      '--manifests',
      work,
      '--http',
      'off',
      '--https',
      `127.0.0.1:${https}`,
      '--admin',
      `127.0.0.1:${admin}`,
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  children.push(c);
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${admin}/readyz`)).status === 200) return;
    } catch {}
    await wait(100);
  }
  throw new Error(`portico in ${dir} did not become ready`);
}

/** Waits until the upstream has received nothing new for 500 ms and no request is open. */
async function settle(): Promise<void> {
  let n = -1;
  while (n !== upstream.received.length) {
    n = upstream.received.length;
    await wait(500);
  }
}

const get = (path: string): [string, string][] => [
  [':method', 'GET'],
  [':scheme', 'https'],
  [':authority', 'abuse.test'],
  [':path', path],
];

interface Outcome {
  upstreamRequests: number;
  upstreamConnections: number;
  upstreamMaxOpen: number;
  answered: number;
  ended: string;
  ms: number;
}

async function measure(run: () => Promise<{ answered: number; ended: string }>): Promise<Outcome> {
  await settle();
  await wait(2_500); // the slow requests of the scenario before have been answered
  upstream.closeIdle(); // every scenario starts without pooled upstream connections
  await wait(500);
  const r0 = upstream.received.length;
  const c0 = upstream.connections;
  upstream.resetMaxOpen();
  const t0 = performance.now();
  const { answered, ended } = await run();
  const ms = performance.now() - t0;
  await settle();
  return {
    // The bystander's GET / is not the scenario's.
    upstreamRequests: upstream.received.slice(r0).filter((r) => r.url.startsWith('/slow')).length,
    upstreamConnections: upstream.connections - c0,
    upstreamMaxOpen: upstream.maxOpen,
    answered,
    ended,
    ms: Math.round(ms),
  };
}

function endedBy(frames: { type: number; payload: Buffer }[], closed: boolean): string {
  const g = frames.find((f) => f.type === FRAME.GOAWAY);
  if (g !== undefined) {
    const code = errorCode(g as Parameters<typeof errorCode>[0]);
    return `GOAWAY ${Object.entries(ERROR).find(([, v]) => v === code)?.[0] ?? code}`;
  }
  return closed ? 'closed, no GOAWAY' : 'open';
}

/** A bystander on its own, already used connection: GET / one after another for `ms`, latencies in ms. */
async function bystander(port: number, ms: number): Promise<number[]> {
  const client = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false, servername: 'abuse.test' });
  client.on('error', () => {});
  const once = () =>
    new Promise<void>((resolve) => {
      const req = client.request({ ':path': '/', ':authority': 'abuse.test' });
      req.on('error', () => resolve());
      req.on('close', () => resolve());
      req.resume();
      req.end();
    });
  await once(); // the handshake is not part of the latency
  const lat: number[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const t = performance.now();
    await once();
    lat.push(performance.now() - t);
    await wait(10);
  }
  client.close();
  return lat;
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

async function rapidReset(port: number): Promise<Outcome & { bystander: string }> {
  let during: number[] = [];
  let quiet: number[] = [];
  quiet = await bystander(port, 1_000);
  const o = await measure(async () => {
    const c = await connectRawH2(port, 'abuse.test');
    const b = bystander(port, 3_000); // the 3 s from the burst's start
    await c.waitFor((f) => f.type === FRAME.SETTINGS);
    const streams = 20_000;
    for (let batch = 0; batch < streams && !c.socket.destroyed; batch += 500) {
      const parts: Buffer[] = [];
      for (let i = batch; i < batch + 500; i++)
        parts.push(headers(1 + 2 * i, get(`/slow?ms=2000&i=${i}`), true), rstStream(1 + 2 * i, ERROR.CANCEL));
      if (!c.socket.write(Buffer.concat(parts))) await Promise.race([new Promise((r) => c.socket.once('drain', r)), c.closed]);
    }
    const t0 = performance.now();
    await Promise.race([c.closed, wait(3_000)]);
    const burstMs = Math.round(performance.now() - t0);
    during = await b;
    const ended = `${endedBy(c.frames, c.socket.destroyed)} ${burstMs} ms after the last write`;
    c.close();
    return { answered: c.frames.filter((f) => f.type === FRAME.HEADERS).length, ended };
  });
  const f = (x: number) => x.toFixed(1);
  return {
    ...o,
    bystander: `quiet p50 ${f(pct(quiet, 50))} / max ${f(Math.max(...quiet))}; 3 s from burst start p50 ${f(pct(during, 50))} / p99 ${f(pct(during, 99))} / max ${f(Math.max(...during))} (${during.length} req)`,
  };
}

async function fanOut(port: number, connections: number, perConnection: number): Promise<Outcome> {
  return measure(async () => {
    const cs = await Promise.all(Array.from({ length: connections }, () => connectRawH2(port, 'abuse.test')));
    for (const c of cs) {
      await c.waitFor((f) => f.type === FRAME.SETTINGS);
      const parts: Buffer[] = [];
      for (let i = 0; i < perConnection; i++) parts.push(headers(1 + 2 * i, get(`/slow?ms=2000&i=${i}`), true));
      c.write(Buffer.concat(parts));
    }
    const done = () =>
      cs.every(
        (c) =>
          c.socket.destroyed || c.frames.filter((f) => f.type === FRAME.DATA && (f.flags & FLAG.END_STREAM) !== 0).length >= perConnection,
      );
    for (let i = 0; i < 300 && !done(); i++) await wait(100);
    const answered = cs.reduce((n, c) => n + c.frames.filter((f) => f.type === FRAME.DATA && (f.flags & FLAG.END_STREAM) !== 0).length, 0);
    const ended = [...new Set(cs.map((c) => endedBy(c.frames, c.socket.destroyed)))].join(', ');
    for (const c of cs) c.close();
    return { answered, ended };
  });
}

const targets: [string, string][] = [['after', ROOT]];
if (process.env.BEFORE) targets.unshift(['before', process.env.BEFORE]);
const rows: string[] = [];
let port = 18_900;
for (const [name, dir] of targets) {
  const https = port++;
  await startPortico(dir, https, port++);
  const rr = await rapidReset(https);
  rows.push(
    `| ${name} | rapid-reset 20,000 streams | ${rr.upstreamRequests} | ${rr.upstreamConnections} (max open ${rr.upstreamMaxOpen}) | ${rr.ended} | ${rr.bystander} |`,
  );
  const f1 = await fanOut(https, 1, 1_000);
  rows.push(
    `| ${name} | fan-out 1,000 on 1 connection | ${f1.upstreamRequests} | ${f1.upstreamConnections} (max open ${f1.upstreamMaxOpen}) | ${f1.answered} answered, ${f1.ended}, ${f1.ms} ms | |`,
  );
  const f8 = await fanOut(https, 8, 125);
  rows.push(
    `| ${name} | fan-out 1,000 on 8 connections | ${f8.upstreamRequests} | ${f8.upstreamConnections} (max open ${f8.upstreamMaxOpen}) | ${f8.answered} answered, ${f8.ended}, ${f8.ms} ms | |`,
  );
  const c = children.pop()!;
  c.kill('SIGTERM');
  await new Promise((r) => c.once('exit', r));
}
console.log('| target | scenario | upstream requests | upstream connections | client connection | bystander latency ms |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
await upstream.close();
process.exit(0);
