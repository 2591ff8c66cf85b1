// Small POSTs through `portico local` (not a test): wrk sends a 1 KiB body on kept-alive connections to bench/upstream's
// catch-all route, pointed at a keep-alive Node upstream of this script that reads the body and answers 100 bytes.
// With BEFORE=DIR (a checkout of an older commit, node_modules linked) that gateway runs in the same rounds, so the
// cost of reading small bodies whole before dialling (gateway/proxy/client-body.ts) shows as a ratio.
// Gateways pinned to CPU 0, wrk and the upstream to CPU 1; target order rotated every round.
// Run: node --import tsx bench/post-body.ts [rounds=3] [seconds=8]     Needs: wrk, taskset.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { becameReady, cpuSeconds } from './lib/process.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const rounds = Number(process.argv[2] ?? 3);
const seconds = Number(process.argv[3] ?? 8);
const UPSTREAM_PORT = 19_427;
const work = mkdtempSync(join(tmpdir(), 'portico-post-bench-'));
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) if (c.pid !== undefined && c.exitCode === null) process.kill(c.pid, 'SIGTERM');
  rmSync(work, { recursive: true, force: true });
});
writeFileSync(
  join(work, 'bench.yaml'),
  readFileSync(join(ROOT, 'bench/upstream/bench.yaml'), 'utf8').replace('port: 19000', `port: ${UPSTREAM_PORT}`),
);
children.push(
  spawn(
    'taskset',
    [
      '-c',
      '1',
      process.execPath,
      '-e',
      `require('node:http').createServer({ keepAliveTimeout: 60000 }, (q, s) => { q.resume(); q.on('end', () => s.end('x'.repeat(100))); }).listen(${UPSTREAM_PORT}, '127.0.0.1')`,
    ],
    { stdio: 'ignore' },
  ),
);
const lua = join(work, 'post.lua');
writeFileSync(lua, `wrk.method = "POST"\nwrk.body = string.rep("x", 1024)\nwrk.headers["Content-Type"] = "application/octet-stream"\n`);

interface Gateway {
  name: string;
  port: number;
  proc: ChildProcess;
}

async function startGateway(name: string, cwd: string, port: number): Promise<Gateway> {
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
      work,
      '--http',
      `127.0.0.1:${port}`,
      '--https',
      'off',
      '--admin',
      `127.0.0.1:${port + 1}`,
    ],
    { cwd, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  children.push(proc);
  if (await becameReady(`http://127.0.0.1:${port + 1}`)) return { name, port, proc };
  throw new Error(`${name} did not become ready`);
}

function runWrk(g: Gateway, secs: number): { rps: number; cpuUs: number; errors: string } {
  const c0 = cpuSeconds(g.proc.pid!);
  const r = spawnSync('taskset', ['-c', '1', 'wrk', '-t1', '-c50', `-d${secs}s`, '-s', lua, `http://127.0.0.1:${g.port}/`], {
    encoding: 'utf8',
  });
  const cpu = cpuSeconds(g.proc.pid!) - c0;
  const total = Number(/(\d+) requests in/.exec(r.stdout)?.[1] ?? 0);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? 0),
    cpuUs: total > 0 ? (cpu * 1e6) / total : 0,
    errors: /Non-2xx.*/.exec(r.stdout)?.[0] ?? '',
  };
}

const gateways = [await startGateway('after', ROOT, 18_837)];
if (process.env.BEFORE !== undefined) gateways.unshift(await startGateway('before', process.env.BEFORE, 18_847));
for (const g of gateways) runWrk(g, 3); // warm-up (JIT, pools)
const results = new Map<string, { rps: number; cpuUs: number }[]>(gateways.map((g) => [g.name, []]));
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? gateways : [...gateways].reverse();
  for (const g of order) {
    const r = runWrk(g, seconds);
    if (r.errors !== '') console.error(`${g.name}: ${r.errors}`);
    results.get(g.name)!.push(r);
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`# wrk -t1 -c50 -d${seconds}s, POST with a 1024-byte body, ${rounds} rounds`);
console.log('| gateway | req/s median (min..max) | proxy CPU µs/req | ratio to before (per round, median) |');
console.log('|---|---|---|---|');
const base = results.get('before');
for (const [name, rs] of results) {
  const rps = rs.map((r) => r.rps);
  const ratio = base === undefined ? '' : median(rs.map((r, i) => r.rps / base[i]!.rps)).toFixed(3);
  console.log(
    `| ${name} | ${median(rps).toFixed(0)} (${Math.min(...rps).toFixed(0)}..${Math.max(...rps).toFixed(0)}) | ${median(rs.map((r) => r.cpuUs)).toFixed(1)} | ${ratio} |`,
  );
}
process.exit(0);
