// Upstream connections held by slow uploaders (not a test): 50 clients each POST a small chunked body at one byte
// per second through `portico local`, and a counting upstream reports how many connections the gateway holds open
// while the bodies trickle in. With BEFORE=DIR (a checkout of an older commit, node_modules linked) the same run is
// made against it first. The table is bench/upstream's catch-all route, pointed at this script's own upstream.
// Run: node --import tsx bench/slow-uploads.ts [clients=50] [bytes=10]
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const clients = Number(process.argv[2] ?? 50);
const bytes = Number(process.argv[3] ?? 10);
const UPSTREAM_PORT = 19_417;
const GATEWAY_PORT = 19_418;
const work = mkdtempSync(join(tmpdir(), 'portico-slow-bench-'));
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) if (c.pid !== undefined && c.exitCode === null) process.kill(c.pid, 'SIGTERM');
  rmSync(work, { recursive: true, force: true });
});
writeFileSync(
  join(work, 'bench.yaml'),
  readFileSync(join(ROOT, 'bench/upstream/bench.yaml'), 'utf8').replace('port: 19000', `port: ${UPSTREAM_PORT}`),
);

let open = 0;
let completed = 0;
const upstream = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    completed++;
    res.end('ok');
  });
});
upstream.on('connection', (s: net.Socket) => {
  open++;
  s.once('close', () => open--);
});
await new Promise<void>((r) => upstream.listen(UPSTREAM_PORT, '127.0.0.1', r));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`nothing listens on ${port}`);
}

/** One client: a chunked POST, one byte per second, then the last chunk; resolves with the status line. */
function slowUpload(): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(GATEWAY_PORT, '127.0.0.1');
    let text = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      text += d;
      if (text.includes('\r\n\r\n')) s.destroy();
    });
    s.on('error', () => {});
    s.once('close', () => resolve(text.split('\r\n')[0] ?? ''));
    s.write('POST /upload HTTP/1.1\r\nHost: bench.test\r\nTransfer-Encoding: chunked\r\n\r\n');
    let sent = 0;
    const tick = setInterval(() => {
      if (sent++ < bytes) s.write('1\r\nx\r\n');
      else {
        clearInterval(tick);
        s.write('0\r\n\r\n');
      }
    }, 1_000);
  });
}

async function run(name: string, dir: string): Promise<void> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'cli/portico.ts',
      'local',
      '--manifests',
      work,
      '--http',
      `127.0.0.1:${GATEWAY_PORT}`,
      '--https',
      'off',
      '--admin',
      'off',
    ],
    { cwd: dir, stdio: 'ignore' },
  );
  children.push(child);
  await waitForPort(GATEWAY_PORT);
  completed = 0;
  const started = performance.now();
  const uploads = Array.from({ length: clients }, slowUpload);
  let peak = 0;
  // Sample while every body is still trickling in (the last byte leaves at `bytes` seconds).
  while (performance.now() - started < (bytes - 0.5) * 1_000) {
    peak = Math.max(peak, open);
    await sleep(100);
  }
  const statuses = await Promise.all(uploads);
  const ok = statuses.filter((s) => / 200 /.test(s)).length;
  console.log(
    `| ${name} | ${clients} | ${bytes} B at 1 B/s | ${peak} | ${completed} | ${ok} | ${((performance.now() - started) / 1000).toFixed(1)} s |`,
  );
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await sleep(300);
}

console.log(
  '| gateway | clients | body | upstream connections held while uploading (peak) | requests the upstream completed | 200s | wall time |',
);
console.log('|---|---|---|---|---|---|---|');
if (process.env.BEFORE !== undefined) await run('before', process.env.BEFORE);
await run('after', ROOT);
upstream.close();
upstream.closeAllConnections();
process.exit(0);
