// The cost of writing one access line on the Node worker: pino's logger (as the sink wrote lines before) against
// the sink's own line template (gateway/runtime/node-access-sink.ts), both into the same asynchronous destination
// on /dev/null, so only building and buffering the line is measured.
// Usage: taskset -c 0 node --import tsx bench/access-line.ts [lines=200000]
import pino from 'pino';
import type { AccessEntry } from '../gateway/access-log.ts';
import { accessLine } from '../gateway/runtime/node-access-sink.ts';

const n = Number(process.argv[2] ?? 200_000);
const dest = pino.destination({ dest: '/dev/null', sync: false, minLength: 4096 });
const logger = pino({ base: null, timestamp: false, formatters: { level: () => ({ log: 'access' }) } }, dest);
const entry = (i: number): AccessEntry => ({
  time: new Date().toISOString(),
  client: '10.1.2.3',
  method: 'GET',
  host: 'app.example.com',
  path: `/items/${i}`,
  protocol: 'HTTP/1.1',
  status: 200,
  bytesIn: 0,
  bytesOut: 312,
  durationMs: 1.234,
  upstream: '10.0.0.7:8080',
  upstreamStatus: 200,
  upstreamMs: 0.987,
  route: 'default/app app.example.com /',
  requestId: 'f0e1d2c3b4a5968778695a4b3c2d1e0f',
  tls: null,
  sni: null,
});
const ways: [string, (e: AccessEntry) => void][] = [
  ['pino logger.info(entry)', (e) => logger.info(e)],
  ['dest.write(accessLine(entry))', (e) => void dest.write(accessLine(e))],
];
// The two must write the same JSON (pino puts its level slot first, then the entry's fields in order).
const probe = entry(0);
const viaPino = JSON.stringify({ log: 'access', ...probe });
if (JSON.stringify(JSON.parse(accessLine(probe))) !== viaPino) throw new Error(`lines differ:\n${accessLine(probe)}\n${viaPino}`);
await new Promise((r) => dest.once('ready', r));
for (let round = 0; round < 3; round++)
  for (const [name, write] of ways) {
    for (let i = 0; i < 20_000; i++) write(entry(i)); // warm-up
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) write(entry(i));
    const ns = Number(process.hrtime.bigint() - t0) / n;
    console.log(`round ${round + 1}  ${name.padEnd(32)} ${ns.toFixed(0).padStart(6)} ns/line (entry object included)`);
    await new Promise((r) => setTimeout(r, 50));
  }
dest.flushSync();
