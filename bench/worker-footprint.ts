// What an idle `portico worker` costs: startup time to /readyz, resident memory idle, and resident memory per idle
// keep-alive connection (N connections, each having made one proxied request, then idle), first after a short
// warm-up ("fresh": the first N the process holds) and again after those N closed ("warm": memory the first N left
// behind is reused or not). Each RSS but the first is read after the process collected its garbage (GC_PRELOAD). Not a test: numbers go to bench/RESULTS.md.
// Targets, in the same rounds: `before` (BEFORE=DIR, a checkout of an older commit with node_modules linked, run
// with tsx as it was), `after-tsx` (this checkout through tsx) and `after` (this checkout's compiled build, dist/,
// as the image runs it: `npm run build` first), and the floor: Node's http server alone with the same listener
// options. One real redis-server, one agent and one backend serve the workers.
// Run: npm run build && BEFORE=/tmp/footprint-before node --import tsx bench/worker-footprint.ts [rounds=3] [connections=2000]
// Needs: redis-server.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const rounds = Number(process.argv[2] ?? 3);
const connections = Number(process.argv[3] ?? 2000);
/** How long a worker sits idle before the reading without a forced GC: V8's memory reducer gives the young generation
 * back after 10-40 s of quiet, which is what `kubectl top` shows of an idle worker. */
const SETTLE_MS = Number(process.env.SETTLE_MS ?? 45_000);
const REDIS_PORT = 19_531;
const BACKEND_PORT = 19_532;
const HTTP_PORT = 19_533;
const ADMIN_PORT = 19_534;
const HOST = 'footprint.test';
/** Every measured process runs with this preload: SIGUSR2 makes it collect its garbage, so an RSS read after it is
 * what the process holds (V8's memory reducer would give the young generation back too, but only after an
 * unpredictable 10-40 s of quiet). */
const GC_PRELOAD = ['--expose-gc', '--import', join(ROOT, 'bench/lib/gc-on-signal.mjs')];
const work = mkdtempSync(join(tmpdir(), 'portico-footprint-'));
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(1)); // runs the 'exit' cleanup
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rssKiB = (pid: number): number => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(10);
  }
}

// The control plane and the backend, shared by every target.
children.push(spawn('redis-server', ['--port', String(REDIS_PORT), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' }));
http.createServer((_q, s) => s.end('ok')).listen(BACKEND_PORT, '127.0.0.1');
const keys = join(work, 'keys');
spawnSync(process.execPath, ['--import', 'tsx', 'cli/portico.ts', 'keys', 'generate', '--out', keys], { cwd: ROOT });
writeFileSync(
  join(work, 'all.yaml'),
  `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: { name: portico, annotations: { ingressclass.kubernetes.io/is-default-class: "true" } }
spec: { controller: portico.dev/ingress-controller }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: default }
spec: { ports: [{ port: 80, targetPort: ${BACKEND_PORT} }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-1, namespace: default, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
ports: [{ port: ${BACKEND_PORT} }]
endpoints: [{ addresses: [127.0.0.1], conditions: { ready: true } }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: app, namespace: default }
spec:
  rules:
    - host: ${HOST}
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }] }
`,
);
await sleep(300);
const agent = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    'cli/portico.ts',
    'sync',
    '--manifests',
    work,
    '--redis',
    `redis://127.0.0.1:${REDIS_PORT}`,
    '--cluster',
    'fp',
    '--keys',
    keys,
    '--admin',
    '127.0.0.1:19535',
  ],
  { cwd: ROOT, stdio: 'ignore' },
);
children.push(agent);
await until(async () => (await fetch('http://127.0.0.1:19535/readyz')).status === 200, 90_000, 'the agent');

const workerArgs = [
  'worker',
  '--redis',
  `redis://127.0.0.1:${REDIS_PORT}`,
  '--cluster',
  'fp',
  '--keys',
  keys,
  '--cache-file',
  'off',
  '--http',
  `127.0.0.1:${HTTP_PORT}`,
  '--https',
  '127.0.0.1:19536',
  '--admin',
  `127.0.0.1:${ADMIN_PORT}`,
  '--drain-delay',
  '0ms',
];
const targets: { name: string; cwd: string; entry: string[]; args?: string[] }[] = [
  ...(process.env.BEFORE ? [{ name: 'before (tsx)', cwd: process.env.BEFORE, entry: ['--import', 'tsx', 'cli/portico.ts'] }] : []),
  { name: 'after, tsx', cwd: ROOT, entry: ['--import', 'tsx', 'cli/portico.ts'] },
  { name: 'after, compiled', cwd: ROOT, entry: ['dist/cli/portico.js'] },
  // The floor: Node's own http server with the worker's listener options, answering `ok`, no Portico code.
  {
    name: 'node:http alone',
    cwd: ROOT,
    entry: [
      '-e',
      `const http = require('node:http');
       const o = { headersTimeout: 60000, requestTimeout: 0, keepAliveTimeout: 75000, connectionsCheckingInterval: 1000, maxHeaderSize: 16384 };
       http.createServer(o, (q, s) => s.end('ok')).setTimeout(75000).listen(process.argv.at(-3), '127.0.0.1');
       http.createServer((q, s) => s.end('ready')).listen(process.argv.at(-1), '127.0.0.1');`,
    ],
    args: [String(HTTP_PORT), 'admin', String(ADMIN_PORT)],
  },
];

/** Opens n connections, sends one request on each (one at a time: the upstream pool stays one connection) and
 * leaves them open and idle. */
async function openIdle(n: number): Promise<net.Socket[]> {
  const socks: net.Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect(HTTP_PORT, '127.0.0.1');
    s.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      let got = '';
      s.once('error', reject);
      s.on('data', (c: Buffer) => {
        got += c.toString('latin1');
        if (got.includes('\r\n\r\n') && got.endsWith('ok')) {
          s.removeAllListeners('data');
          resolve();
        }
      });
      s.write(`GET / HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
    });
    socks.push(s);
  }
  return socks;
}
/** RSS after the process collected its garbage (GC_PRELOAD). */
async function collectedRss(w: ChildProcess): Promise<number> {
  w.kill('SIGUSR2');
  await sleep(1000);
  return rssKiB(w.pid!);
}
const closeAll = async (socks: net.Socket[], settleMs = 1000) => {
  for (const s of socks) s.destroy();
  await sleep(settleMs);
};

type Row = { startupMs: number; startedMiB: number; settledMiB: number; idleMiB: number; freshKiB: number; warmKiB: number };
const results = new Map<string, Row[]>(targets.map((t) => [t.name, []]));
for (let r = 0; r < rounds; r++) {
  for (const t of r % 2 === 0 ? targets : [...targets].reverse()) {
    const t0 = performance.now();
    const w = spawn(process.execPath, [...GC_PRELOAD, ...t.entry, ...(t.args ?? workerArgs)], { cwd: t.cwd, stdio: 'ignore' });
    children.push(w);
    await until(async () => (await fetch(`http://127.0.0.1:${ADMIN_PORT}/readyz`)).status === 200, 60_000, `${t.name} ready`);
    const startupMs = performance.now() - t0;
    await sleep(3000);
    const started = rssKiB(w.pid!);
    await sleep(SETTLE_MS - 3000);
    const settled = rssKiB(w.pid!);
    const idle = await collectedRss(w);
    // A warm-up first (500 requests on 10 connections), so what the first requests compile and allocate once
    // (JIT code, the upstream pool) is not counted per connection.
    for (let i = 0; i < 50; i++) await closeAll(await openIdle(10), 0);
    const base = await collectedRss(w);
    let socks = await openIdle(connections);
    const fresh = await collectedRss(w);
    await closeAll(socks);
    const before = await collectedRss(w);
    socks = await openIdle(connections);
    const warm = await collectedRss(w);
    await closeAll(socks);
    w.kill('SIGTERM');
    await new Promise((res) => w.once('exit', res));
    const row = {
      startupMs,
      startedMiB: started / 1024,
      settledMiB: settled / 1024,
      idleMiB: idle / 1024,
      freshKiB: (fresh - base) / connections,
      warmKiB: (warm - before) / connections,
    };
    results.get(t.name)!.push(row);
    console.log(
      `round ${r + 1} ${t.name.padEnd(16)} startup ${startupMs.toFixed(0)} ms, RSS at 3 s ${row.startedMiB.toFixed(1)} MiB, at ${SETTLE_MS / 1000} s ${row.settledMiB.toFixed(1)} MiB, after a GC ${row.idleMiB.toFixed(1)} MiB, per connection fresh ${row.freshKiB.toFixed(2)} KiB, warm ${row.warmKiB.toFixed(2)} KiB`,
    );
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const span = (xs: number[], d: number) => `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}..${Math.max(...xs).toFixed(d)})`;
console.log(`\n${connections} idle keep-alive connections, ${rounds} rounds, median (min..max):\n`);
console.log(
  `| worker | startup to /readyz ms | RSS 3 s after ready, MiB | RSS ${SETTLE_MS / 1000} s after ready (no forced GC), MiB | RSS idle after a GC, MiB | RSS per idle connection KiB, fresh | warm |`,
);
console.log('|---|---|---|---|---|---|---|');
for (const [name, rows] of results) {
  console.log(
    `| ${name} | ${span(
      rows.map((x) => x.startupMs),
      0,
    )} | ${span(
      rows.map((x) => x.startedMiB),
      1,
    )} | ${span(
      rows.map((x) => x.settledMiB),
      1,
    )} | ${span(
      rows.map((x) => x.idleMiB),
      1,
    )} | ${span(
      rows.map((x) => x.freshKiB),
      2,
    )} | ${span(
      rows.map((x) => x.warmKiB),
      2,
    )} |`,
  );
}
process.exit(0);
