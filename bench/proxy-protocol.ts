// Connection-setup cost of --proxy-protocol (not a test): `portico local` with and without the flag, every
// request on a new TCP connection (wrk, `Connection: close`; with the flag, a wrk script writes a v1 or v2
// header in front of each request, in the same packet, as a load balancer does), plus keep-alive rows without
// the flag to show the request path did not get slower. With BEFORE=DIR (a checkout of the commit before the
// PROXY protocol, node_modules linked) the same flag-off rows run against it in the same rounds.
// Gateways pinned to CPU 0, wrk and the upstream to CPU 1; target order rotated every round.
// Run: node --import tsx bench/proxy-protocol.ts [rounds=3] [seconds=5]     Needs: wrk, taskset.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { becameReady, cpuSeconds } from './lib/process.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const rounds = Number(process.argv[2] ?? 3);
const seconds = Number(process.argv[3] ?? 5);
const before = process.env.BEFORE;
const work = mkdtempSync(join(tmpdir(), 'portico-pp-bench-'));
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) if (c.pid !== undefined && c.exitCode === null) process.kill(c.pid, 'SIGTERM');
  rmSync(work, { recursive: true, force: true });
});

// The upstream bench/upstream's table points at: 127.0.0.1:19000, a 100-byte body, keep-alive.
const upstream = spawn(
  'taskset',
  [
    '-c',
    '1',
    process.execPath,
    '-e',
    `require('node:http').createServer({ keepAliveTimeout: 60000 }, (q, s) => s.end('x'.repeat(100))).listen(19000, '127.0.0.1')`,
  ],
  { stdio: 'ignore' },
);
children.push(upstream);

interface Gateway {
  name: string;
  port: number;
  proc: ChildProcess;
}

async function startGateway(name: string, dir: string, port: number, extra: string[]): Promise<Gateway> {
  const proc = spawn(
    'taskset',
    [
      '-c',
      '0',
      process.execPath,
      '--import',
      'tsx',
      'cli/portico.ts',
      'local',
      '--manifests',
      'bench/upstream',
      '--http',
      `127.0.0.1:${port}`,
      '--https',
      'off',
      '--admin',
      `127.0.0.1:${port + 1}`,
      ...extra,
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  children.push(proc);
  if (await becameReady(`http://127.0.0.1:${port + 1}`)) return { name, port, proc };
  throw new Error(`${name} did not become ready`);
}

// wrk scripts: a new connection per request (Connection: close), with or without a PROXY header before it.
const V1 = 'PROXY TCP4 203.0.113.5 192.0.2.10 40000 80\\r\\n';
const V2 = '\\13\\10\\13\\10\\0\\13\\10QUIT\\10\\33\\17\\0\\12\\203\\0\\113\\5\\192\\0\\2\\10\\156\\64\\0\\80';
const script = (prefix: string | null, close: boolean): string => {
  const file = join(work, `s-${prefix === null ? 'none' : prefix.length}-${close}.lua`);
  const headers = `{ Host = "bench.test"${close ? ', Connection = "close"' : ''} }`;
  writeFileSync(
    file,
    prefix === null
      ? `wrk.headers = ${headers}\n`
      : // wrk parses the first request() result as HTTP before the run (script_verify_request): that one goes
        // without the header, every request sent gets it.
        `local req = wrk.format("GET", "/", ${headers})\nlocal n = 0\nrequest = function()\n  n = n + 1\n  if n == 1 then return req end\n  return "${prefix}" .. req\nend\n`,
  );
  return file;
};

interface Target {
  name: string;
  gateway: Gateway;
  script: string;
  connections: number;
}

function runWrk(t: Target): { rps: number; cpuUsPerReq: number; errors: string } {
  const pid = t.gateway.proc.pid!;
  const c0 = cpuSeconds(pid);
  const r = spawnSync(
    'taskset',
    ['-c', '1', 'wrk', '-t1', `-c${t.connections}`, `-d${seconds}s`, '-s', t.script, `http://127.0.0.1:${t.gateway.port}/`],
    { encoding: 'utf8' },
  );
  const cpu = cpuSeconds(pid) - c0;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? 0);
  const total = Number(/(\d+) requests in/.exec(r.stdout)?.[1] ?? 0);
  const errors = /Socket errors:.*|Non-2xx.*/.exec(r.stdout)?.[0] ?? '';
  return { rps, cpuUsPerReq: total > 0 ? (cpu * 1e6) / total : 0, errors };
}

const off = await startGateway('off', ROOT, 18_801, []);
const on = await startGateway('on', ROOT, 18_803, ['--trusted-proxies', '127.0.0.1', '--proxy-protocol']);
const old = before === undefined ? null : await startGateway('before', before, 18_805, []);
const targets: Target[] = [
  { name: 'new connection per request, flag off', gateway: off, script: script(null, true), connections: 20 },
  { name: 'new connection per request, --proxy-protocol, v1 header', gateway: on, script: script(V1, true), connections: 20 },
  { name: 'new connection per request, --proxy-protocol, v2 header', gateway: on, script: script(V2, true), connections: 20 },
  { name: 'keep-alive, flag off', gateway: off, script: script(null, false), connections: 50 },
  ...(old === null
    ? []
    : [
        { name: 'new connection per request, before (no PROXY code)', gateway: old, script: script(null, true), connections: 20 },
        { name: 'keep-alive, before (no PROXY code)', gateway: old, script: script(null, false), connections: 50 },
      ]),
];
// Warm-up, unrecorded; then check every target answers 200 (a refused header would show as socket errors).
for (const t of targets) {
  const w = runWrk({ ...t });
  if (w.rps === 0 || w.errors !== '') throw new Error(`${t.name}: ${w.rps} req/s ${w.errors}`);
}
const results = new Map<string, { rps: number[]; cpu: number[] }>(targets.map((t) => [t.name, { rps: [], cpu: [] }]));
for (let r = 0; r < rounds; r++) {
  const order = targets.map((_, i) => targets[(i + r) % targets.length]!);
  for (const t of order) {
    const w = runWrk(t);
    results.get(t.name)!.rps.push(w.rps);
    results.get(t.name)!.cpu.push(w.cpuUsPerReq);
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const baseCpu = median(results.get(targets[0]!.name)!.cpu);
console.log(`${rounds} rounds × ${seconds} s, wrk -t1, gateways on CPU 0, wrk + upstream on CPU 1`);
console.log('| target | req/s median (min..max) | gateway CPU µs/req (median) | CPU ratio to flag off, new connections |');
console.log('|---|---|---|---|');
for (const t of targets) {
  const x = results.get(t.name)!;
  console.log(
    `| ${t.name} | ${median(x.rps).toFixed(0)} (${Math.min(...x.rps).toFixed(0)}..${Math.max(...x.rps).toFixed(0)}) | ${median(x.cpu).toFixed(1)} | ${(median(x.cpu) / baseCpu).toFixed(3)} |`,
  );
}
process.exit(0);
