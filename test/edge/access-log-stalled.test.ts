// The Node worker's access log while its destination takes no writes (gateway/runtime/node-access-sink.ts): a real
// child process writes its access lines to a pipe whose reader stops reading. At most 16 MiB wait; the lines past that
// are dropped, not held until the process runs out of memory, and what arrives once the reader reads again is whole
// lines. The README says so; this is what backs it.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/process.ts';

const LINES = 60_000;
const PATH_BYTES = 700; // each line about 1 KiB: ~60 MiB offered, far past the 16 MiB bound

/** The child: LINES access lines through the sink to stdout, then "written" on stderr, then a flush once the parent
 * reads again, then its exit. */
const CHILD = `
import { pinoAccessSink } from './gateway/runtime/node-access-sink.ts';
const sink = pinoAccessSink('stdout');
const path = '/' + 'x'.repeat(${PATH_BYTES});
for (let i = 0; i < ${LINES}; i++)
  sink.write({ time: new Date().toISOString(), client: '127.0.0.1', method: 'GET', host: 'a.test', path, protocol: 'HTTP/1.1',
    status: 200, bytesIn: 0, bytesOut: 0, durationMs: 1, upstream: null, upstreamStatus: null, upstreamMs: null, route: null,
    requestId: String(i), tls: null, sni: null });
await new Promise((r) => setTimeout(r, 1500)); // the last batch handed over by the flush timer
process.stderr.write('written\\n');
await new Promise((r) => process.stdin.once('data', r));
await sink.flush();
process.exit(0);
`;

describe('access log to a destination that stopped taking writes', () => {
  it('holds at most 16 MiB, drops the rest, and what it writes later is whole lines', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdout.pause(); // the reader that stopped reading
    await new Promise<void>((resolve, reject) => {
      let err = '';
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('written')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`child exited (${code}) before writing: ${err}`)));
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stdout.resume();
    child.stdin.write('go\n');
    await new Promise((resolve) => child.once('exit', resolve));
    const text = Buffer.concat(chunks).toString('utf8');
    const lines = text.split('\n').filter((l) => l !== '');
    const offered = LINES * (PATH_BYTES + 300);
    expect(text.length).toBeLessThan(offered / 2); // most were dropped…
    expect(text.length).toBeLessThan(17 * 1024 * 1024 + 256 * 1024); // …past 16 MiB (plus what the pipe held)
    expect(lines.length).toBeGreaterThan(1000); // …and what fit was written
    for (const l of lines) expect(JSON.parse(l).log).toBe('access'); // whole lines only
  }, 60_000);
});
