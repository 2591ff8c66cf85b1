// TLS connection-setup cost of the ssl-passthrough peek (not a test): `portico local` serving the same hosts with
// and without an ssl-passthrough host in its table, every request on a new TLS connection (wrk, `Connection:
// close`) to a host that is NOT a passthrough host, so each connection has its ClientHello read by the peek and is
// then handed to the TLS server (table with a passthrough host) or goes straight to it (table without). With
// BEFORE=DIR (a checkout of the commit before ssl-passthrough, node_modules linked) the table without runs against
// it in the same rounds. (A relayed connection cannot be measured with wrk: it sends the URL's host as SNI.)
// Gateways pinned to CPU 0, wrk and the upstream to CPU 1; target order rotated every round.
// Run: node --import tsx bench/passthrough.ts [rounds=3] [seconds=5]     Needs: wrk, taskset.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseClientHello } from '../gateway/tls/client-hello.ts';
import { capturedClientHello, records } from '../test/support/client-hello.ts';
import { time } from './lib/timing.ts';
import { becameReady, cpuSeconds } from './lib/process.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const rounds = Number(process.argv[2] ?? 3);
const seconds = Number(process.argv[3] ?? 5);
const before = process.env.BEFORE;
const work = mkdtempSync(join(tmpdir(), 'portico-pt-bench-'));
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) if (c.pid !== undefined && c.exitCode === null) process.kill(c.pid, 'SIGTERM');
  rmSync(work, { recursive: true, force: true });
});

// The upstream of bench/upstream's table: 127.0.0.1:19000, a 100-byte body, keep-alive.
children.push(
  spawn(
    'taskset',
    [
      '-c',
      '1',
      process.execPath,
      '-e',
      `require('node:http').createServer({ keepAliveTimeout: 60000 }, (q, s) => s.end('x'.repeat(100))).listen(19000, '127.0.0.1')`,
    ],
    { stdio: 'ignore' },
  ),
);

/** bench/upstream plus, when `passthrough`, an ssl-passthrough host (its endpoint is never dialled here). */
function manifests(name: string, passthrough: boolean): string {
  const dir = join(work, name);
  cpSync(join(ROOT, 'bench/upstream'), dir, { recursive: true });
  if (passthrough)
    writeFileSync(
      join(dir, 'passthrough.yaml'),
      `apiVersion: v1
kind: Service
metadata: { name: tls-upstream, namespace: bench }
spec: { ports: [{ name: https, port: 443 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: tls-upstream-1, namespace: bench, labels: { kubernetes.io/service-name: tls-upstream } }
addressType: IPv4
ports: [{ name: https, port: 19443 }]
endpoints: [{ addresses: [127.0.0.1] }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: pass, namespace: bench, annotations: { nginx.ingress.kubernetes.io/ssl-passthrough: "true" } }
spec:
  rules:
    - host: pass.bench.test
      http:
        paths:
          - { path: /, pathType: Prefix, backend: { service: { name: tls-upstream, port: { number: 443 } } } }
`,
    );
  return dir;
}

interface Gateway {
  name: string;
  port: number;
  proc: ChildProcess;
}

async function startGateway(name: string, cwd: string, manifestDir: string, port: number): Promise<Gateway> {
  const args = ['local', '--manifests', manifestDir, '--http', `127.0.0.1:${port + 2}`, '--https', `127.0.0.1:${port}`];
  const proc = spawn(
    'taskset',
    ['-c', '0', process.execPath, '--import', 'tsx', 'cli/portico.ts', ...args, '--admin', `127.0.0.1:${port + 1}`],
    {
      cwd,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  children.push(proc);
  if (await becameReady(`http://127.0.0.1:${port + 1}`)) return { name, port, proc };
  throw new Error(`${name} did not become ready`);
}

/** wrk sends the URL's host as SNI: 127.0.0.1 names no passthrough host; the Host header picks the route. */
const script = (host: string): string => {
  const file = join(work, `${host}.lua`);
  writeFileSync(file, `wrk.headers = { Host = "${host}", Connection = "close" }\n`);
  return file;
};

interface Target {
  name: string;
  gateway: Gateway;
  url: (g: Gateway) => string;
  script: string;
}

function runWrk(t: Target): { rps: number; cpuUsPerConn: number; errors: string } {
  const pid = t.gateway.proc.pid!;
  const c0 = cpuSeconds(pid);
  const r = spawnSync('taskset', ['-c', '1', 'wrk', '-t1', '-c20', `-d${seconds}s`, '-s', t.script, t.url(t.gateway)], {
    encoding: 'utf8',
  });
  const cpu = cpuSeconds(pid) - c0;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? 0);
  const total = Number(/(\d+) requests in/.exec(r.stdout)?.[1] ?? 0);
  const errors = /Non-2xx.*/.exec(r.stdout)?.[0] ?? '';
  return { rps, cpuUsPerConn: total > 0 ? (cpu * 1e6) / total : 0, errors };
}

const without = await startGateway('without', ROOT, manifests('without', false), 18_811);
const withPt = await startGateway('with', ROOT, manifests('with', true), 18_821);
const old = before === undefined ? null : await startGateway('before', before, manifests('before', false), 18_831);
const https = (g: Gateway): string => `https://127.0.0.1:${g.port}/`;
const targets: Target[] = [
  { name: 'non-passthrough host, table without a passthrough host (no peek)', gateway: without, url: https, script: script('bench.test') },
  {
    name: 'non-passthrough host, table with a passthrough host (peek, then the TLS server)',
    gateway: withPt,
    url: https,
    script: script('bench.test'),
  },
  ...(old === null
    ? []
    : [{ name: 'non-passthrough host, before (no passthrough code)', gateway: old, url: https, script: script('bench.test') }]),
];
// Warm-up, unrecorded; then check every target answers (a refused connection would show as no requests).
for (const t of targets) {
  const w = runWrk(t);
  if (w.rps === 0 || w.errors !== '') throw new Error(`${t.name}: ${w.rps} req/s ${w.errors}`);
}
const results = new Map<string, { rps: number[]; cpu: number[] }>(targets.map((t) => [t.name, { rps: [], cpu: [] }]));
for (let r = 0; r < rounds; r++) {
  const order = targets.map((_, i) => targets[(i + r) % targets.length]!);
  for (const t of order) {
    const w = runWrk(t);
    results.get(t.name)!.rps.push(w.rps);
    results.get(t.name)!.cpu.push(w.cpuUsPerConn);
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const baseCpu = median(results.get(targets[0]!.name)!.cpu);
console.log(`${rounds} rounds × ${seconds} s, wrk -t1 -c20, a new TLS connection per request, gateways on CPU 0, wrk + upstream on CPU 1`);
console.log('| target | connections/s median (min..max) | gateway CPU µs/connection (median) | CPU ratio to no peek |');
console.log('|---|---|---|---|');
for (const t of targets) {
  const x = results.get(t.name)!;
  console.log(
    `| ${t.name} | ${median(x.rps).toFixed(0)} (${Math.min(...x.rps).toFixed(0)}..${Math.max(...x.rps).toFixed(0)}) | ${median(x.cpu).toFixed(1)} | ${(median(x.cpu) / baseCpu).toFixed(3)} |`,
  );
}
// The parse alone, in process: a real node:tls ClientHello (with SNI) in one record and in 64-byte records.
const hello = await capturedClientHello('app-1.bench.test');
const fragmented = records(hello.subarray(5), [64]);
console.log(`\nparseClientHello in process (${hello.length}-byte ClientHello from node:tls):`);
time('one record', 100_000, () => parseClientHello(hello));
time(`${Math.ceil((hello.length - 5) / 64)} records of 64 bytes`, 100_000, () => parseClientHello(fragmented));
process.exit(0);
